/**
 * `pnpm bench`: bedrock-embed against the raw AWS SDK loop, `@langchain/aws` `BedrockEmbeddings`
 * and `@ai-sdk/amazon-bedrock` `embedMany`, on the emulator (its own process, fresh per
 * measurement), in one run. Every measurement runs in its own process. Prints one table per
 * scenario, the targets, and ratios against the best peer library and the raw SDK loop.
 * Then the gateway section (`bench/gateway.ts`): the `serve` gateway against the library itself,
 * both on a separate Bedrock stand-in process (`bench/standin.ts`), for added latency, CPU per
 * embedding, throughput and idle memory. Then the throttling section (`bench/throttle.ts`): the
 * bulk CLI against the stand-in with random throttles, a fixed-window request quota and a
 * tokens-per-minute quota, for wall time against the unthrottled run and the quota's floor.
 * Last the scale section (`bench/scale.ts`): the bulk CLI on up to 1 000 000 docs against the
 * emulator, for docs/s and peak RSS, then a kill -9 at ~60 % and a resume to exactly every line.
 *
 *   pnpm bench                    # the full run (about fifteen minutes on two cores, plus seven for scale)
 *   pnpm bench gateway            # the gateway section alone (under a minute)
 *   pnpm bench throttle           # the throttling section alone (about a minute; bench/throttle.ts)
 *   pnpm bench notations          # embedStream on full-precision numbers vs the raw SDK loop (bench/notations.ts)
 *   pnpm bench overhead           # embedStream's own CPU per embedding with an instant in-process transport, against the float reader (bench/overhead.ts)
 *   pnpm bench float32json        # the float reader alone, ns per number per notation (bench/float32json.ts)
 *   pnpm bench stream-faults      # embedStream vs embedding() under 30 % HTTP 500s (about three minutes; bench/stream-faults.ts)
 *   pnpm bench scale              # the bulk CLI on 10 000, 100 000 and 1 000 000 docs, kill -9 and resume (about seven minutes; bench/scale.ts)
 *   pnpm bench team               # the gateway with virtual keys + spend logging vs without: added latency, throughput drop, spend rows (bench/team.ts)
 *   pnpm bench formats            # the output formats: 100 000 × 1024 float32 as a journal, Parquet and Arrow; sizes, MB/s, RSS (bench/formats.ts)
 *   BENCH_SCALE=0.1 pnpm bench    # a quick, smaller run
 *
 * Figures depend on the machine (the emulator shares its cores); the ratios are the point.
 */
import { spawn } from "node:child_process"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { runWorker } from "./processes.ts"
import { table } from "./table.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const [section, ...extra] = process.argv.slice(2)
const sections = [
  "gateway",
  "throttle",
  "notations",
  "overhead",
  "float32json",
  "stream-faults",
  "scale",
  "formats",
  "team"
] as const
if ((section !== undefined && !(sections as ReadonlyArray<string>).includes(section)) || extra.length > 0) {
  console.error(`usage: node bench/run.ts [${sections.join("|")}]   (no argument: every section)`)
  process.exit(2)
}
const scale = Number(process.env.BENCH_SCALE ?? 1)
const n = (count: number) => Math.max(96, Math.round(count * scale))
const contenders = ["bedrock-embed", "raw-sdk", "langchain-aws", "ai-sdk"] as const
type Contender = (typeof contenders)[number] | "raw-sdk-h2"
const libraries: ReadonlyArray<Contender> = ["langchain-aws", "ai-sdk"]
const TITAN = "amazon.titan-embed-text-v2:0"
const COHERE = "cohere.embed-english-v3"

interface Result {
  readonly wallMs: number
  readonly cpuMs: number
  readonly completed: number
  readonly missing: number
  readonly duplicates: number
  readonly extraRss: number
  readonly error?: string
  /** From the emulator: InvokeModel requests this measurement made, and how many were throttled. */
  readonly requests: number
  readonly throttled: number
}

const startEmulator = (flags: ReadonlyArray<string>) =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}packages/emulator/src/bin.ts`, "--port", "0", "--no-s3", ...flags], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve({ url: match[1]!, stop: () => child.kill("SIGTERM") })
    })
    child.once("exit", (code) => reject(new Error(`emulator exited ${code}`)))
  })

const emulatorStats = async (url: string) =>
  (await (await fetch(`${url}/_emulator/stats`)).json()) as { invocations: number; throttled: number }

const worker = (contender: Contender, model: string, count: number, url: string, mode: string) =>
  // Every contender gets the emulator's keys explicitly; nothing from the environment.
  runWorker<Omit<Result, "requests" | "throttled">>(
    [contender, model, String(count), url, mode],
    `${contender} ${model}`
  )

const measure = async (
  contender: Contender,
  model: string,
  count: number,
  flags: ReadonlyArray<string>,
  mode = "batch"
): Promise<Result> => {
  const emulator = await startEmulator(flags)
  try {
    const before = await emulatorStats(emulator.url)
    const result = await worker(contender, model, count, emulator.url, mode)
    const after = await emulatorStats(emulator.url)
    return {
      ...result,
      requests: after.invocations - before.invocations,
      throttled: after.throttled - before.throttled
    }
  } finally {
    emulator.stop()
  }
}

// A contender that cannot embed one text of a model (with its retries off) is reported, not timed.
const unsupported = new Map<string, string>()
const probe = async (contender: Contender, model: string) => {
  const result = await measure(contender, model, 1, [], "probe")
  if (result.completed !== 1) unsupported.set(`${contender} ${model}`, result.error ?? "no vector")
}

const scenario = async (
  model: string,
  count: number,
  flags: ReadonlyArray<string>,
  ourMode = "batch",
  who: ReadonlyArray<Contender> = contenders
) => {
  const results = new Map<Contender, Result | string>()
  for (const contender of who) {
    const reason = unsupported.get(`${contender} ${model}`)
    if (reason !== undefined) {
      results.set(contender, `unsupported: ${reason}`)
      continue
    }
    try {
      results.set(
        contender,
        await measure(contender, model, count, flags, contender === "bedrock-embed" ? ourMode : "batch")
      )
    } catch (error) {
      results.set(contender, `failed: ${(error as Error).message}`)
    }
  }
  return results
}

const ok = (r: Result | string | undefined, count: number): r is Result =>
  typeof r === "object" && r.completed === count && r.duplicates === 0
const x = (value: number) => `${value.toFixed(2)}×`
const verdict = (met: boolean) => (met ? "met" : "NOT met")
const rowOf = (
  name: string,
  r: Result | string | undefined,
  cells: (r: Result) => ReadonlyArray<string>,
  width: number
) =>
  typeof r === "object" ? [name, ...cells(r)] : [name, (r ?? "not run").split(":")[0]!, ...Array(width - 2).fill("")]

/** Ratio of a peer's figure to ours (how many times better we are), for lower-is-better figures. */
const versus = (results: Map<Contender, Result | string>, count: number, figure: (r: Result) => number) => {
  const ours = results.get("bedrock-embed")
  if (!ok(ours, count)) return { best: undefined, raw: undefined, bestName: undefined }
  const peers = libraries
    .map((name) => [name, results.get(name)] as const)
    .filter((entry): entry is readonly [Contender, Result] => ok(entry[1], count))
  const best = peers.sort((a, b) => figure(a[1]) - figure(b[1]))[0]
  const raw = results.get("raw-sdk")
  return {
    best: best === undefined ? undefined : figure(best[1]) / figure(ours),
    bestName: best?.[0],
    raw: ok(raw, count) ? figure(raw) / figure(ours) : undefined
  }
}

/** A section in its own process (it starts its own stand-in and the rest); its exit code. */
const sectionProcess = (name: (typeof sections)[number]) =>
  new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [`${root}bench/${name}.ts`], { stdio: "inherit" })
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    process.once("SIGINT", forward)
    process.once("SIGTERM", forward)
    child.once("exit", (code, signal) => {
      process.off("SIGINT", forward)
      process.off("SIGTERM", forward)
      if (code !== 0) console.error(`bench: the ${name} section failed (${code ?? signal})`)
      resolve(code ?? 1)
    })
  })

const gatewaySection = () => sectionProcess("gateway")
if (section === "gateway") process.exit(await gatewaySection())
if (section !== undefined) process.exit(await sectionProcess(section as (typeof sections)[number]))

console.log(
  `bedrock-embed benchmark — Node ${process.version}, ${Os.cpus().length} CPUs, scale ${scale}; the emulator runs in its own process on the same machine.`
)
console.log(
  'Peers: "raw-sdk" is a hand-written @aws-sdk/client-bedrock-runtime loop (16 workers, keep-alive, batches of 96'
)
console.log(
  "for Cohere); the peer libraries are @langchain/aws BedrockEmbeddings.embedDocuments and the AI SDK's embedMany."
)

for (const contender of contenders) for (const model of [TITAN, COHERE]) await probe(contender, model)
for (const [key, reason] of unsupported) console.log(`  probe: ${key} cannot embed one text: ${reason}`)

// (a) client CPU per embedding at zero latency.
{
  const count = n(2000)
  const a = await scenario(TITAN, count, [], "batch", [...contenders, "raw-sdk-h2"])
  const perEmbedding = (r: Result) => (r.cpuMs * 1000) / Math.max(1, r.completed)
  table(
    `(a) client CPU per embedding — Titan Text v2, ${count} texts, no added latency`,
    ["contender", "µs CPU / embedding", "delivered", "wall ms"],
    [...contenders, "raw-sdk-h2" as const].map((c) =>
      rowOf(
        c === "raw-sdk-h2" ? "raw-sdk (SDK default HTTP/2 handler)" : c,
        a.get(c),
        (r) => [perEmbedding(r).toFixed(0), `${r.completed}/${count}`, r.wallMs.toFixed(0)],
        4
      )
    )
  )
  const ours = a.get("bedrock-embed")
  const raw = a.get("raw-sdk")
  if (ok(ours, count) && ok(raw, count)) {
    const ratio = perEmbedding(ours) / perEmbedding(raw)
    console.log(
      `    target: CPU within 1.2× of the raw SDK loop — bedrock-embed uses ${x(ratio)} of its CPU: ${verdict(ratio <= 1.2)}`
    )
  }
}

// (b) wall time at 20 ms latency.
for (const [model, label] of [
  [TITAN, "Titan Text v2"],
  [COHERE, "Cohere English v3"]
] as const) {
  const count = n(10_000)
  const b = await scenario(model, count, ["--latency-ms", "20"])
  const minimalCalls = model === COHERE ? Math.ceil(count / 96) : count
  table(
    `(b) wall time — ${label}, ${count} texts, 20 ms latency per call`,
    ["contender", "wall ms", "delivered", "Bedrock calls", "texts / s"],
    contenders.map((c) =>
      rowOf(
        c,
        b.get(c),
        (r) => [
          r.wallMs.toFixed(0),
          `${r.completed}/${count}`,
          String(r.requests),
          ((1000 * r.completed) / r.wallMs).toFixed(0)
        ],
        5
      )
    )
  )
  const { best, bestName, raw } = versus(b, count, (r) => r.wallMs)
  if (best !== undefined)
    console.log(
      `    target: ≥ 1.5× faster than the best peer library (${bestName}): ${x(best)} — ${verdict(best >= 1.5)}`
    )
  if (raw !== undefined) console.log(`    vs the raw SDK loop: ${x(raw)} faster`)
  const ours = b.get("bedrock-embed")
  if (model === COHERE && typeof ours === "object")
    console.log(
      `    target: Cohere calls always full — bedrock-embed made ${ours.requests} calls for ${count} texts (minimum ${minimalCalls}): ${verdict(ours.requests === minimalCalls)}`
    )
}

// (c) the same with the emulator throttling above 200 requests/s.
for (const [model, label] of [
  [TITAN, "Titan Text v2"],
  [COHERE, "Cohere English v3"]
] as const) {
  const count = n(10_000)
  const c = await scenario(model, count, ["--latency-ms", "20", "--throttle-rps", "200"])
  table(
    `(c) throttled above 200 requests/s — ${label}, ${count} texts, 20 ms latency`,
    ["contender", "delivered", "missing", "duplicates", "wall ms", "requests", "throttled", "throttled %"],
    contenders.map((name) =>
      rowOf(
        name,
        c.get(name),
        (r) => [
          `${r.completed}/${count}`,
          String(r.missing),
          String(r.duplicates),
          r.wallMs.toFixed(0),
          String(r.requests),
          String(r.throttled),
          `${((100 * r.throttled) / Math.max(1, r.requests)).toFixed(1)} %`
        ],
        8
      )
    )
  )
  const ours = c.get("bedrock-embed")
  if (typeof ours === "object") {
    const share = ours.throttled / Math.max(1, ours.requests)
    console.log(
      `    target: 100 % delivered, no duplicates, throttles < 10 % of requests — ${((100 * ours.completed) / count).toFixed(1)} %, ${ours.duplicates} duplicates, ${(100 * share).toFixed(1)} %: ${verdict(ours.completed === count && ours.duplicates === 0 && share < 0.1)}`
    )
  }
  const { best, bestName } = versus(c, count, (r) => r.wallMs)
  if (best !== undefined)
    console.log(`    wall time vs the best peer library that delivered everything (${bestName}): ${x(best)}`)
}

// (d) peak memory holding the vectors.
{
  const count = n(100_000)
  const raw = count * 1024 * 4
  const d = await scenario(COHERE, count, [], "stream")
  table(
    `(d) peak memory — ${count} × 1024-dim vectors held (Cohere English v3); raw float32 size ${(raw / 1e6).toFixed(0)} MB`,
    ["contender", "RSS growth MB", "× raw float32", "delivered", "wall ms"],
    contenders.map((name) =>
      rowOf(
        name,
        d.get(name),
        (r) => [
          (r.extraRss / 1e6).toFixed(0),
          (r.extraRss / raw).toFixed(2),
          `${r.completed}/${count}`,
          r.wallMs.toFixed(0)
        ],
        5
      )
    )
  )
  const ours = d.get("bedrock-embed")
  if (typeof ours === "object")
    console.log(
      `    target: within 1.3× of the raw float32 size — ${x(ours.extraRss / raw)}: ${verdict(ours.extraRss / raw <= 1.3)}`
    )
  const { best, bestName } = versus(d, count, (r) => r.extraRss)
  if (best !== undefined) console.log(`    vs the best peer library (${bestName}): ${x(best)} less memory`)
  console.log(
    "    (bedrock-embed here is Embeddings.embedStream, which yields Float32Array; the peers return number[]. RSS growth is\n" +
      "     measured from after each contender's own imports to the peak.)"
  )
}

// (e) the gateway: added latency, CPU per embedding, throughput and idle memory.
const gatewayCode = await gatewaySection()
// (f) throttling: recovery after random throttles, convergence under RPM and TPM quotas.
const throttleCode = await sectionProcess("throttle")
// (g) embedStream on full-precision number text (real Titan's), against the raw SDK loop.
const notationsCode = await sectionProcess("notations")
// (g') the library's own CPU per embedding, no network: the steady figure behind (g)'s.
const overheadCode = await sectionProcess("overhead")
// (h) embedStream against embedding() on the same docs under 30 % injected 5xx faults.
const streamFaultsCode = await sectionProcess("stream-faults")
// (i) the bulk CLI at scale: docs/s and peak RSS up to 1 000 000 docs, kill -9 and resume.
const scaleCode = await sectionProcess("scale")
process.exitCode =
  [gatewayCode, throttleCode, notationsCode, overheadCode, streamFaultsCode, scaleCode].find((code) => code !== 0) ?? 0
