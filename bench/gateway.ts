/**
 * The gateway section of `pnpm bench` (alone: `pnpm bench gateway`), in its own process.
 *
 * Three processes: a Bedrock stand-in (`bench/standin.ts`: plain HTTP/1.1, Titan Text v2 bodies
 * after a fixed 20 ms, no SigV4 check), the gateway (`packages/proxy/src/bin.ts serve` on the real
 * node binary, a LiteLLM-style config pointing at the stand-in), and this one, which calls either
 * the gateway over keep-alive HTTP/1.1 or the library in-process (`BedrockEmbed.make()`, the
 * direct baseline) against the same stand-in. Measures:
 *
 *   1. added latency: gateway p50 − direct p50, concurrency 1, 1-input requests;
 *   2. gateway CPU (utime + stime of its process tree, from /proc) per embedding over 16-input
 *      requests, float and `encoding_format: "base64"`, and per 1-input request;
 *   3. throughput at 64 concurrent 1-input requests, gateway vs direct;
 *   4. gateway idle RSS after start, warm-up and a short idle.
 *
 * A missed target is reported, not fatal; a measurement that cannot be taken (a process that does
 * not start or dies, a non-200 answer, a malformed vector) exits 1. Children are killed on exit.
 * `BENCH_SCALE` (< 1) shortens the runs; `BENCH_DEBUG=1` prints each phase's end time to stderr.
 * The last line says how much CPU other processes used meanwhile: on a busy machine every figure
 * is skewed. The process, request and /proc helpers live in `bench/gateway-kit.ts` (shared with
 * `bench/team.ts`).
 */
import { writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { BedrockEmbed } from "bedrock-embed"
import {
  agent,
  CONCURRENCY,
  type Child,
  cpuSeconds,
  clockTicks,
  DIMENSIONS,
  type Format,
  gatewayConfig,
  invocations,
  LATENCY_MS,
  load,
  MODEL,
  mark,
  othersLine,
  percentile,
  phaser,
  post,
  rssBytes,
  sleep,
  startGateway,
  startStandin,
  stop,
  texts,
  viaGateway
} from "./gateway-kit.ts"
import { scratch } from "./processes.ts"
import { table } from "./table.ts"

const scale = Math.min(1, Number(process.env.BENCH_SCALE ?? 1))
const WARMUP = 30
const SAMPLES = Math.max(100, Math.round(300 * scale))
const CPU_SECONDS = Math.max(2, 3 * scale)
const THROUGHPUT_SECONDS = Math.max(2, 5 * scale)
const WARMUP_SECONDS = 0.5
const CEILING_SECONDS = 2
const IDLE_MS = 2000
const AFTER_LOAD_IDLE_MS = 1000
const BATCH = 16
/** Concurrent 16-input requests in the CPU runs: 4 × 16 = 64 Bedrock calls in flight. */
const BATCH_CONCURRENCY = CONCURRENCY / BATCH
const ANCHORS = "/work/shared/research/anchors-2026-12.md"

const targets = {
  addedLatencyMs: 0.5,
  cpuFloatUs: 250,
  cpuBase64Us: 150,
  throughputRatio: 0.8,
  idleRssMb: 100
}

const { children, dir } = scratch("gateway")

const viaLibrary = async (client: BedrockEmbed.Client, standin: string, count: number) => {
  const t0 = performance.now()
  const response = await client.embedding({
    model: `bedrock/${MODEL}`,
    input: texts(count),
    dimensions: DIMENSIONS,
    aws_bedrock_runtime_endpoint: standin,
    aws_region_name: "us-east-1",
    aws_access_key_id: "x",
    aws_secret_access_key: "y"
  })
  const ms = performance.now() - t0
  if (response.data.length !== count || response.data.some((d) => d.embedding.length !== DIMENSIONS))
    throw new Error(`the library returned ${response.data.length} vectors for ${count} inputs, or a malformed one`)
  return ms
}

// ---------------------------------------------------------------------------------------------

const T0 = performance.now()
const phase = phaser(T0)

const main = async () => {
  const since = mark()
  let standin: Child | undefined
  let gateway: Child | undefined
  const client = BedrockEmbed.make()
  try {
    standin = await startStandin(children)
    const config = join(dir, "config.yaml")
    writeFileSync(config, gatewayConfig(standin.url))
    gateway = await startGateway(children, "gateway", config)
    phase("gateway up")
    const pid = gateway.process.pid!
    const standinPid = standin.process.pid!
    const gatewayUrl = new URL("/v1/embeddings", gateway.url)
    const checkAlive = () => {
      standin!.alive()
      gateway!.alive()
    }

    // Warm-up: every request shape, both paths, then a short idle before the idle RSS.
    for (let i = 0; i < WARMUP; i++) {
      await viaLibrary(client, standin.url, 1)
      await viaGateway(gatewayUrl, 1, "float", true)
    }
    for (let i = 0; i < 5; i++) {
      await viaGateway(gatewayUrl, BATCH, "float", true)
      await viaGateway(gatewayUrl, BATCH, "base64", true)
    }
    phase("warm-up done")
    checkAlive()
    await sleep(IDLE_MS)
    const idleRss = rssBytes(pid)

    // 1. Added latency at concurrency 1, alternating so drift hits both alike.
    const direct: Array<number> = []
    const proxied: Array<number> = []
    for (let i = 0; i < SAMPLES; i++) {
      direct.push(await viaLibrary(client, standin.url, 1))
      proxied.push(await viaGateway(gatewayUrl, 1, "float", true))
    }
    checkAlive()
    phase("latency done")
    const directP50 = percentile(direct, 0.5)
    const proxiedP50 = percentile(proxied, 0.5)
    const added = proxiedP50 - directP50

    // 2. Gateway CPU per embedding, 16-input requests.
    const cpuRun = async (format: Format) => {
      await load(BATCH_CONCURRENCY, WARMUP_SECONDS, () => viaGateway(gatewayUrl, BATCH, format, false))
      const calls0 = await invocations(standin!.url)
      const cpu0 = cpuSeconds(pid)
      const run = await load(BATCH_CONCURRENCY, CPU_SECONDS, (i) => viaGateway(gatewayUrl, BATCH, format, i % 16 === 0))
      const cpu = cpuSeconds(pid) - cpu0
      const calls = (await invocations(standin!.url)) - calls0
      checkAlive()
      const embeddings = run.done * BATCH
      if (calls < embeddings) throw new Error(`the stand-in saw ${calls} calls for ${embeddings} embeddings served`)
      if (cpu <= 0) throw new Error(`no gateway CPU time measured over ${run.seconds.toFixed(1)} s`)
      return { ...run, cpu, embeddings, calls, usPerEmbedding: (cpu * 1e6) / embeddings }
    }
    const cpuFloat = await cpuRun("float")
    phase("cpu float done")
    const cpuBase64 = await cpuRun("base64")

    phase("cpu base64 done")
    // 3. Throughput at 64 concurrent 1-input requests (and the gateway's CPU per request there),
    // with the cores each process used, and the stand-in's own ceiling to a bare HTTP client.
    const cores = async <A extends { readonly seconds: number }>(run: () => Promise<A>) => {
      const bench0 = process.cpuUsage()
      const gateway0 = cpuSeconds(pid)
      const standin0 = cpuSeconds(standinPid)
      const result = await run()
      const bench = process.cpuUsage(bench0)
      const gatewayCpu = cpuSeconds(pid) - gateway0
      return {
        ...result,
        gatewayCpu,
        cores: {
          bench: (bench.user + bench.system) / 1e6 / result.seconds,
          gateway: gatewayCpu / result.seconds,
          standin: (cpuSeconds(standinPid) - standin0) / result.seconds
        }
      }
    }
    const standinUrl = new URL(`/model/${encodeURIComponent(MODEL)}/invoke`, standin.url)
    const bare = () => post(standinUrl, JSON.stringify({ inputText: texts(1)[0], dimensions: DIMENSIONS }))
    await load(CONCURRENCY, WARMUP_SECONDS, bare)
    const ceiling = await cores(() =>
      load(CONCURRENCY, CEILING_SECONDS, async () => {
        const response = await bare()
        if (response.status !== 200) throw new Error(`the stand-in answered ${response.status}`)
      })
    )
    await load(CONCURRENCY, WARMUP_SECONDS, () => viaLibrary(client, standin!.url, 1))
    const directRun = await cores(() =>
      load(CONCURRENCY, THROUGHPUT_SECONDS, () => viaLibrary(client, standin!.url, 1))
    )
    phase("direct throughput done")
    await load(CONCURRENCY, WARMUP_SECONDS, () => viaGateway(gatewayUrl, 1, "float", false))
    const gatewayRun = await cores(() =>
      load(CONCURRENCY, THROUGHPUT_SECONDS, (i) => viaGateway(gatewayUrl, 1, "float", i % 16 === 0))
    )
    const gatewayRunCpu = gatewayRun.gatewayCpu
    checkAlive()
    const directRps = directRun.done / directRun.seconds
    const gatewayRps = gatewayRun.done / gatewayRun.seconds
    const ceilingRps = ceiling.done / ceiling.seconds
    const ratio = gatewayRps / directRps
    const usPerRequest = (gatewayRunCpu * 1e6) / gatewayRun.done

    phase("gateway throughput done")
    await sleep(AFTER_LOAD_IDLE_MS)
    const rssAfter = rssBytes(pid)
    checkAlive()

    // -----------------------------------------------------------------------------------------
    const pass = (met: boolean) => (met ? "PASS" : "FAIL")
    const ms = (v: number) => `${v.toFixed(2)} ms`
    const mb = (v: number) => `${(v / 1e6).toFixed(1)} MB`
    table(
      `gateway — packages/proxy \`serve\` (own process) vs the library in-process, Titan Text v2 ${DIMENSIONS}-dim, stand-in Bedrock (own process, ${LATENCY_MS} ms per call); Node ${process.version}, ${Os.cpus().length} CPUs shared by all three`,
      ["figure", "measured", "target", "result"],
      [
        [
          `1. added latency p50, concurrency 1, 1 input (${SAMPLES} requests each)`,
          `${added >= 0 ? "+" : ""}${ms(added)} (gateway ${ms(proxiedP50)} − direct ${ms(directP50)})`,
          `≤ ${targets.addedLatencyMs} ms`,
          pass(added <= targets.addedLatencyMs)
        ],
        [
          `2. gateway CPU / embedding, 16-input requests, float (${BATCH_CONCURRENCY} concurrent)`,
          `${cpuFloat.usPerEmbedding.toFixed(0)} µs (${cpuFloat.cpu.toFixed(2)} s CPU / ${cpuFloat.embeddings} embeddings)`,
          `≤ ${targets.cpuFloatUs} µs`,
          pass(cpuFloat.usPerEmbedding <= targets.cpuFloatUs)
        ],
        [
          `   gateway CPU / embedding, 16-input requests, base64 (${BATCH_CONCURRENCY} concurrent)`,
          `${cpuBase64.usPerEmbedding.toFixed(0)} µs (${cpuBase64.cpu.toFixed(2)} s CPU / ${cpuBase64.embeddings} embeddings)`,
          `≤ ${targets.cpuBase64Us} µs`,
          pass(cpuBase64.usPerEmbedding <= targets.cpuBase64Us)
        ],
        [
          `   gateway CPU / 1-input request (${CONCURRENCY} concurrent, the run below)`,
          `${usPerRequest.toFixed(0)} µs (${gatewayRunCpu.toFixed(2)} s CPU / ${gatewayRun.done} requests)`,
          "—",
          ""
        ],
        [
          `3. throughput, ${CONCURRENCY} concurrent 1-input requests, ${THROUGHPUT_SECONDS} s each`,
          `${(100 * ratio).toFixed(1)} % (gateway ${gatewayRps.toFixed(0)} req/s vs direct ${directRps.toFixed(0)} req/s)`,
          `≥ ${100 * targets.throughputRatio} %`,
          pass(ratio >= targets.throughputRatio)
        ],
        [
          `4. gateway idle RSS (after start, warm-up, ${IDLE_MS / 1000} s idle)`,
          mb(idleRss),
          `≤ ${targets.idleRssMb} MB`,
          pass(idleRss <= targets.idleRssMb * 1e6)
        ]
      ]
    )
    const spread = (samples: ReadonlyArray<number>) =>
      [0.1, 0.5, 0.9, 0.99].map((q) => percentile(samples, q).toFixed(2)).join(" / ")
    console.log(`    latency p10 / p50 / p90 / p99 ms — direct ${spread(direct)}; gateway ${spread(proxied)}`)
    console.log(
      `    16-input runs: float ${cpuFloat.done} requests in ${cpuFloat.seconds.toFixed(1)} s (${(cpuFloat.embeddings / cpuFloat.seconds).toFixed(0)} embeddings/s), base64 ${cpuBase64.done} in ${cpuBase64.seconds.toFixed(1)} s (${(cpuBase64.embeddings / cpuBase64.seconds).toFixed(0)} embeddings/s); CPU from /proc/${pid}/stat at ${clockTicks} ticks/s`
    )
    const used = (c: { bench: number; gateway: number; standin: number }, bench: string) =>
      `${bench} ${c.bench.toFixed(2)}, gateway ${c.gateway.toFixed(2)}, stand-in ${c.standin.toFixed(2)} cores`
    console.log(
      `    ${CONCURRENCY} concurrent: direct ${directRps.toFixed(0)} req/s (${used(directRun.cores, "library")}); gateway ${gatewayRps.toFixed(0)} req/s (${used(gatewayRun.cores, "client")})`
    )
    console.log(
      `    stand-in ceiling, a bare keep-alive node:http client, ${CONCURRENCY} concurrent: ${ceilingRps.toFixed(0)} req/s (${used(ceiling.cores, "client")}); ${CONCURRENCY} / ${LATENCY_MS} ms = ${((1000 * CONCURRENCY) / LATENCY_MS).toFixed(0)} req/s`
    )
    console.log(`    gateway RSS after the load and ${AFTER_LOAD_IDLE_MS / 1000} s idle: ${mb(rssAfter)}`)
    console.log(
      "    published anchors (sequential added latency vs a local mock, chat completions): LiteLLM proxy 1.91.1 +4.34 ms,"
    )
    console.log(
      `    Bifrost +0.44 ms (portkey-oss +2.37 ms) — ${ANCHORS} §4, from cuihuan/llm-gateway-bench:data/overhead.json (2026-07-09)`
    )
    // What the rest of the machine used meanwhile: all busy CPU minus this process, the gateway and the stand-in.
    console.log(othersLine("gateway", since, [pid, standinPid]))
  } finally {
    phase("cleanup")
    await client.dispose().catch(() => undefined)
    agent.destroy()
    await stop(gateway)
    await stop(standin)
    phase("stopped")
  }
}

try {
  await main()
  process.exit(0)
} catch (error) {
  console.error(`\ngateway section FAILED — a measurement could not be taken: ${(error as Error).message}`)
  process.exit(1)
}
