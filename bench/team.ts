/**
 * The team section of `pnpm bench` (alone: `pnpm bench team`), in its own process: what virtual
 * keys and spend logging cost the `serve` gateway.
 *
 * One Bedrock stand-in (`bench/standin.ts`, 20 ms per call) and two gateways on it, both up for the
 * whole run (`packages/proxy/src/bin.ts serve` on the real node binary, the LiteLLM-style config
 * of `bench/gateway.ts`):
 *
 *   off — no `general_settings` (no master key: no key lookup, no spend);
 *   on  — `general_settings.master_key` and `database_url: sqlite:///<scratch>/keys.db`, and every
 *         request sent with a virtual key made by `POST /key/generate` (`models`, `max_budget`,
 *         `rpm_limit`, `tpm_limit` far above what the run uses), so each one is a key lookup, a
 *         model and budget check and a spend row.
 *
 * Measures, with the two interleaved so drift does not pass for overhead:
 *
 *   1. latency at concurrency 1, 1-input requests: p50/p90/p99 of each and the p50 difference,
 *      requests alternating off/on within blocks (every other block starting with on), with the
 *      spread of the per-block p50 differences;
 *   2. throughput at 64 concurrent 1-input requests, in short runs paired off, on, then on, off
 *      (and so on): the median drop of on against off over the pairs, their spread, and each
 *      gateway's CPU per request (also given for 1.);
 *   3. spend rows: `/spend/logs?api_key=<key>` (and a count in the SQLite file) against the
 *      requests sent with the key, and the key's spend (`/key/info`) against the rows' sum.
 *
 * A missed target is reported, not fatal; a measurement that cannot be taken (a process that does
 * not start or dies, a non-200 answer, a malformed vector, no spend logs to read) exits 1.
 * `BENCH_SCALE` (< 1) shortens the runs; `BENCH_DEBUG=1` prints each phase's end time to stderr;
 * `BENCH_CPU_PROF=<dir>` starts both gateways with `--cpu-prof` into that directory
 * (`off.cpuprofile`, `on.cpuprofile`, written when they exit) with `phases.json`; then
 * `node bench/cpuprofile-diff.ts <dir> throughput` says which functions the extra µs per request
 * of keys on are spent in.
 */
import { createHash, randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join, resolve } from "node:path"
import {
  agent,
  CONCURRENCY,
  type Child,
  clockTicks,
  cpuSeconds,
  DIMENSIONS,
  gatewayConfig,
  LATENCY_MS,
  load,
  mark,
  othersLine,
  othersSince,
  percentile,
  phaser,
  post,
  request,
  startGateway,
  startStandin,
  stop,
  viaGateway
} from "./gateway-kit.ts"
import { scratch } from "./processes.ts"
import { table } from "./table.ts"

const scale = Math.min(1, Number(process.env.BENCH_SCALE ?? 1))
const WARMUP = 50
const BLOCKS = 4
/** Latency samples per gateway, over all blocks. */
const SAMPLES = BLOCKS * Math.max(50, Math.round(250 * scale))
/**
 * Throughput pairs (off, on, then on, off, …): many short runs, so that load from other processes
 * hits both runs of a pair alike.
 */
const PAIRS = Math.max(5, Math.round(15 * scale))
const THROUGHPUT_SECONDS = 1
const WARMUP_SECONDS = 0.25
/** Other processes' CPU cores above which a pair's figures are skewed (as bench/gateway.ts says). */
const QUIET = 0.25
const targets = { addedLatencyMs: 0.3, throughputDrop: 0.1 }
const profileDir = process.env.BENCH_CPU_PROF
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })

const { children, dir } = scratch("team")
const T0 = performance.now()
const phase = phaser(T0)

interface Gateway {
  readonly name: "off" | "on"
  readonly child: Child
  readonly url: URL
  /** The virtual key every request is sent with (keys on only). */
  readonly token?: string
  /** Requests answered 200 (with the token, when there is one). */
  sent: number
}

const startOne = (name: "off" | "on", standinUrl: string, extra: ReadonlyArray<string>) => {
  const config = join(dir, `${name}.yaml`)
  writeFileSync(config, gatewayConfig(standinUrl, extra))
  const flags =
    profileDir === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`, `--cpu-prof-name=${name}.cpuprofile`]
  return startGateway(children, `gateway (keys ${name})`, config, flags)
}

const json = async (url: URL, what: string, body?: unknown, token?: string) => {
  const response = await request(
    url,
    body === undefined ? undefined : JSON.stringify(body),
    token === undefined ? {} : { authorization: `Bearer ${token}` }
  )
  if (response.status !== 200)
    throw new Error(`${what} answered ${response.status}: ${response.body.toString("utf8").slice(0, 300)}`)
  return JSON.parse(response.body.toString("utf8")) as unknown
}

/** A virtual key allowed `titan`, with a budget and limits the run never reaches. */
const generateKey = async (gateway: URL, master: string) => {
  const answer = (await json(
    new URL("/key/generate", gateway),
    "POST /key/generate",
    {
      models: ["titan"],
      max_budget: 1_000_000,
      rpm_limit: 1_000_000_000,
      tpm_limit: 1_000_000_000_000,
      key_alias: "bench"
    },
    master
  )) as { key?: unknown }
  if (typeof answer.key !== "string" || answer.key === "")
    throw new Error(`POST /key/generate returned no key: ${JSON.stringify(answer).slice(0, 300)}`)
  return answer.key
}

/** One checked or unchecked 1-input request, counted. */
const once = async (gateway: Gateway, check: boolean) => {
  const ms = await viaGateway(gateway.url, 1, "float", check, gateway.token)
  gateway.sent++
  return ms
}

/**
 * With `BENCH_CPU_PROF`: each phase's window on the monotonic clock the profiles use (µs) and the
 * requests each gateway served in it, written to `phases.json` next to the profiles, so a profile
 * can be cut to one phase and divided by its requests.
 */
const windows: Record<string, { from: number; to: number; off: number; on: number }> = {}
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)
const timed = async <A>(name: string, off: Gateway, on: Gateway, run: () => Promise<A>) => {
  const from = monotonicUs()
  const before = { off: off.sent, on: on.sent }
  const result = await run()
  windows[name] = { from, to: monotonicUs(), off: off.sent - before.off, on: on.sent - before.on }
  phase(`${name} done`)
  return result
}

/**
 * Latency blocks: requests alternating off/on, odd blocks starting with on; each gateway's CPU
 * µs per request over all of them.
 */
const latency = async (off: Gateway, on: Gateway) => {
  const samples = { off: [] as Array<number>, on: [] as Array<number> }
  const blockDiffs: Array<number> = []
  const perBlock = SAMPLES / BLOCKS
  const cpu = (g: Gateway) => cpuSeconds(g.child.process.pid!)
  const cpu0 = { off: cpu(off), on: cpu(on) }
  for (let block = 0; block < BLOCKS; block++) {
    const order = block % 2 === 0 ? [off, on] : [on, off]
    const here = { off: [] as Array<number>, on: [] as Array<number> }
    for (let i = 0; i < perBlock; i++) for (const g of order) here[g.name].push(await once(g, i % 16 === 0))
    blockDiffs.push(percentile(here.on, 0.5) - percentile(here.off, 0.5))
    samples.off.push(...here.off)
    samples.on.push(...here.on)
  }
  const usPerRequest = (g: Gateway) => ((cpu(g) - cpu0[g.name]) * 1e6) / SAMPLES
  // Each on request against the off request next to it: drift cancels within the pair.
  const paired = percentile(
    samples.on.map((v, i) => v - samples.off[i]!),
    0.5
  )
  return { ...samples, blockDiffs, paired, cpu: { off: usPerRequest(off), on: usPerRequest(on) } }
}

/** One throughput run at {@link CONCURRENCY} (after a short warm-up): requests/s and gateway CPU µs per request. */
const throughputRun = async (gateway: Gateway) => {
  await load(CONCURRENCY, WARMUP_SECONDS, () => once(gateway, false))
  const pid = gateway.child.process.pid!
  const c0 = cpuSeconds(pid)
  const run = await load(CONCURRENCY, THROUGHPUT_SECONDS, (i) => once(gateway, i % 64 === 0))
  const cpu = cpuSeconds(pid) - c0
  gateway.child.alive()
  return { rps: run.done / run.seconds, usPerRequest: (cpu * 1e6) / run.done }
}

type Run = Awaited<ReturnType<typeof throughputRun>>

/**
 * Runs off, on, then on, off (alternating per pair); each pair's drop of on against off, and the
 * CPU cores processes other than ours (`pids` and this one) used during it.
 */
const throughput = async (off: Gateway, on: Gateway, pids: ReadonlyArray<number>) => {
  const runs = { off: [] as Array<Run>, on: [] as Array<Run> }
  const drops: Array<number> = []
  const others: Array<number> = []
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? [off, on] : [on, off]
    const from = mark(pids)
    for (const g of order) runs[g.name].push(await throughputRun(g))
    others.push(othersSince(from, pids))
    drops.push(1 - runs.on[pair]!.rps / runs.off[pair]!.rps)
  }
  return { ...runs, drops, others }
}

interface SpendLog {
  readonly request_id?: unknown
  readonly spend?: unknown
}

/** The key's rows from `/spend/logs`, its rows in the SQLite file, and its spend from `/key/info`. */
const spendRecords = async (on: Gateway, master: string, database: string) => {
  const token = on.token!
  const logs = await json(
    new URL(`/spend/logs?api_key=${encodeURIComponent(token)}`, on.url),
    "GET /spend/logs",
    undefined,
    master
  )
  if (!Array.isArray(logs)) throw new Error(`GET /spend/logs returned no list: ${JSON.stringify(logs).slice(0, 300)}`)
  const rows = logs as ReadonlyArray<SpendLog>
  const ids = new Set(rows.map((row) => row.request_id))
  const sum = rows.reduce((total, row) => total + (typeof row.spend === "number" ? row.spend : Number.NaN), 0)
  const info = (await json(
    new URL(`/key/info?key=${encodeURIComponent(token)}`, on.url),
    "GET /key/info",
    undefined,
    master
  )) as { info?: { spend?: unknown } }
  const keySpend = typeof info.info?.spend === "number" ? info.info.spend : Number.NaN
  return { rows: rows.length, distinct: ids.size, sum, keySpend, file: await fileCount(database, token) }
}

/** Rows of the key in the SQLite file's `spend_logs`, or why they cannot be counted (reported, not fatal). */
const fileCount = async (database: string, token: string): Promise<number | string> => {
  try {
    const { DatabaseSync } = await import("node:sqlite")
    const db = new DatabaseSync(database, { readOnly: true })
    try {
      const hash = createHash("sha256").update(token).digest("hex")
      const row = db.prepare("SELECT COUNT(*) AS n FROM spend_logs WHERE key_hash = ?").get(hash) as { n: number }
      return Number(row.n)
    } finally {
      db.close()
    }
  } catch (error) {
    return `not counted: ${(error as Error).message}`
  }
}

const main = async () => {
  const since = mark()
  let standin: Child | undefined
  const started: Array<Child> = []
  const pids = () => [standin, ...started].flatMap((child) => (child === undefined ? [] : [child.process.pid!]))
  try {
    standin = await startStandin(children)
    const master = `sk-bench-master-${randomBytes(12).toString("base64url")}`
    const database = join(dir, "keys.db")
    const offChild = await startOne("off", standin.url, [])
    started.push(offChild)
    const onChild = await startOne("on", standin.url, [
      "general_settings:",
      `  master_key: ${JSON.stringify(master)}`,
      `  database_url: ${JSON.stringify(`sqlite://${database}`)}`
    ])
    started.push(onChild)
    phase("gateways up")
    const onUrl = new URL("/v1/embeddings", onChild.url)
    // Keys really on: a request without a key is refused.
    const anonymous = await post(onUrl, JSON.stringify({ model: "titan", input: ["x"], dimensions: DIMENSIONS }))
    if (anonymous.status !== 401)
      throw new Error(`the keys-on gateway answered ${anonymous.status} to a request without a key, not 401`)
    const off: Gateway = { name: "off", child: offChild, url: new URL("/v1/embeddings", offChild.url), sent: 0 }
    const on: Gateway = {
      name: "on",
      child: onChild,
      url: onUrl,
      token: await generateKey(onUrl, master),
      sent: 0
    }
    const checkAlive = () => {
      standin!.alive()
      for (const child of started) child.alive()
    }
    for (let i = 0; i < WARMUP; i++) for (const g of [off, on]) await once(g, true)
    checkAlive()
    phase("warm-up done")

    const lat = await timed("latency", off, on, () => latency(off, on))
    checkAlive()
    const tp = await timed("throughput", off, on, () => throughput(off, on, pids()))
    checkAlive()
    if (profileDir !== undefined) writeFileSync(join(profileDir, "phases.json"), JSON.stringify(windows, null, 2))
    const spend = await spendRecords(on, master, database)
    phase("spend read")

    report(lat, tp, spend, on.sent)
    console.log(othersLine("team", since, pids()))
  } finally {
    phase("cleanup")
    agent.destroy()
    for (const child of started) await stop(child)
    await stop(standin)
    phase("stopped")
  }
}

const median = (values: ReadonlyArray<number>) => percentile(values, 0.5)
const ms = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(2)} ms`
const pct = (v: number) => `${(100 * v).toFixed(1)} %`
const pass = (met: boolean) => (met ? "PASS" : "FAIL")
const range = (values: ReadonlyArray<number>, format: (v: number) => string) =>
  `${format(Math.min(...values))} … ${format(Math.max(...values))}`

const report = (
  lat: Awaited<ReturnType<typeof latency>>,
  tp: Awaited<ReturnType<typeof throughput>>,
  spend: Awaited<ReturnType<typeof spendRecords>>,
  sent: number
) => {
  const added = median(lat.on) - median(lat.off)
  const rps = { off: median(tp.off.map((r) => r.rps)), on: median(tp.on.map((r) => r.rps)) }
  const drop = median(tp.drops)
  const quiet = tp.drops.filter((_, i) => tp.others[i]! <= QUIET)
  const cpu = { off: median(tp.off.map((r) => r.usPerRequest)), on: median(tp.on.map((r) => r.usPerRequest)) }
  const spendMatches = Math.abs(spend.sum - spend.keySpend) <= 1e-9 * Math.max(1, Math.abs(spend.sum))
  table(
    `team — the \`serve\` gateway with virtual keys + spend logging (SQLite file) vs without, both on one stand-in Bedrock (${LATENCY_MS} ms per call), Titan Text v2 ${DIMENSIONS}-dim; Node ${process.version}, ${Os.cpus().length} CPUs shared by all`,
    ["figure", "measured", "target", "result"],
    [
      [
        `1. added latency p50, concurrency 1, 1 input (${SAMPLES} requests each, interleaved)`,
        `${ms(added)} (keys on ${median(lat.on).toFixed(2)} ms − off ${median(lat.off).toFixed(2)} ms)`,
        `≤ ${targets.addedLatencyMs} ms`,
        pass(added <= targets.addedLatencyMs)
      ],
      [
        `2. throughput drop, ${CONCURRENCY} concurrent 1-input requests (${2 * PAIRS} runs of ${THROUGHPUT_SECONDS} s each)`,
        `${pct(drop)} (median of ${PAIRS} pairs; medians keys on ${rps.on.toFixed(0)} req/s, off ${rps.off.toFixed(0)} req/s)`,
        `≤ ${100 * targets.throughputDrop} %`,
        pass(drop <= targets.throughputDrop)
      ],
      [
        "3. spend rows for the key (/spend/logs) = requests sent with it",
        `${spend.rows} rows (${spend.distinct} request ids) for ${sent} requests; SQLite file: ${spend.file}`,
        "equal",
        pass(spend.rows === sent && spend.distinct === sent && spend.file === sent)
      ],
      [
        "   key spend (/key/info) = sum of its rows' spend",
        `${spend.keySpend} vs ${spend.sum}`,
        "equal",
        pass(spendMatches)
      ]
    ]
  )
  const spread = (samples: ReadonlyArray<number>) =>
    [0.5, 0.9, 0.99].map((q) => percentile(samples, q).toFixed(2)).join(" / ")
  console.log(`    latency p50 / p90 / p99 ms — keys off ${spread(lat.off)}; keys on ${spread(lat.on)}`)
  console.log(
    `    p50 difference per block of ${SAMPLES / BLOCKS} (on − off): ${lat.blockDiffs.map((d) => ms(d)).join(", ")}; spread ${range(lat.blockDiffs, ms)}; median of paired differences ${ms(lat.paired)}`
  )
  console.log(
    `    gateway CPU / request at concurrency 1: keys off ${lat.cpu.off.toFixed(0)} µs, keys on ${lat.cpu.on.toFixed(0)} µs (+${(lat.cpu.on - lat.cpu.off).toFixed(0)} µs; /proc ticks of ${1000 / clockTicks} ms over ${SAMPLES} requests)`
  )
  const runs = (list: ReadonlyArray<{ rps: number }>) => list.map((r) => r.rps.toFixed(0)).join(", ")
  console.log(
    `    throughput runs req/s (order off, on, on, off, …) — keys off ${runs(tp.off)}; keys on ${runs(tp.on)}; drop per pair ${tp.drops.map(pct).join(", ")}; spread ${range(tp.drops, pct)}`
  )
  console.log(
    `    CPUs other processes used per pair: ${tp.others.map((c) => c.toFixed(2)).join(", ")}${Math.max(...tp.others) > QUIET ? ` (above ${QUIET}: that pair's drop is skewed)` : ""}; median drop over the ${quiet.length} quieter pairs: ${quiet.length === 0 ? "none" : pct(median(quiet))}`
  )
  console.log(
    `    gateway CPU / request at ${CONCURRENCY} concurrent (medians): keys off ${cpu.off.toFixed(0)} µs, keys on ${cpu.on.toFixed(0)} µs (+${(cpu.on - cpu.off).toFixed(0)} µs)`
  )
}

try {
  await main()
  process.exit(0)
} catch (error) {
  console.error(`\nteam section FAILED — a measurement could not be taken: ${(error as Error).message}`)
  process.exit(1)
}
