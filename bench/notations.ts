import { fileURLToPath } from "node:url"
import { scratch, runWorker, startServer } from "./processes.ts"
import { table } from "./table.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const count = Number(process.argv[2] ?? Math.max(200, Math.round(5000 * Number(process.env.BENCH_SCALE ?? 1))))
const TITAN = "amazon.titan-embed-text-v2:0"
const FLOOR = "floor: bare node:http + Float32Json"
const { children } = scratch("notations")
// The stand-in and the client each on a core of its own (where the machine has two), as if the
// server were another machine: sharing cores, the client's CPU and wall figures moved by ±20 %
// from run to run with the stand-in's load.
const STANDIN_CPU = 1
const CLIENT_CPU = 0

interface Result {
  readonly wallMs: number
  readonly cpuMs: number
  readonly completed: number
  readonly extraRss: number
  readonly error?: string
}

const startStandin = (notation: string) =>
  startServer(
    [`${root}bench/standin.ts`, "--port", "0", "--latency-ms", "0", "--notation", notation, "--exit-with-stdin"],
    "stand-in",
    children,
    STANDIN_CPU
  )

const worker = (contender: string, url: string, mode: string, texts = count) =>
  runWorker<Result>([contender, TITAN, String(texts), url, mode], contender, children, CLIENT_CPU)

const contenders = [
  ["embedStream", "bedrock-embed", "stream"],
  ["Promise API (embedding)", "bedrock-embed", "batch"],
  ["raw SDK loop, HTTP/1.1", "raw-sdk", "batch"],
  ["LangChain BedrockEmbeddings (HTTP/1.1 client)", "langchain-aws-h1", "batch"],
  ["AI SDK embedMany", "ai-sdk", "batch"],
  // Not a contender: the bare exchange (node:http, no signing, no retries) plus the float reader.
  [FLOOR, "floor", "batch"]
] as const

const verdict = (met: boolean) => (met ? "met" : "NOT met")
const perEmbedding = (r: Result) => (r.cpuMs * 1000) / Math.max(1, r.completed)
console.log(
  `embedStream on the stand-in — Node ${process.version}, ${count} Titan Text v2 texts (1024 dims) per measurement, no added latency`
)
for (const notation of ["full", "mixed"] as const) {
  const results = new Map<string, Result>()
  for (const [name, contender, mode] of contenders) {
    const standin = await startStandin(notation)
    try {
      results.set(name, await worker(contender, standin.url, mode))
    } finally {
      standin.stop()
    }
  }
  table(
    `numbers written "${notation}"`,
    ["contender", "µs CPU / embedding", "delivered", "wall ms", "RSS growth MB"],
    contenders.map(([name]) => {
      const r = results.get(name)!
      return [
        name,
        perEmbedding(r).toFixed(0),
        `${r.completed}/${count}${r.error === undefined ? "" : ` (${r.error.slice(0, 60)})`}`,
        r.wallMs.toFixed(0),
        (r.extraRss / 1e6).toFixed(0)
      ]
    })
  )
  const stream = results.get("embedStream")!
  const promise = results.get("Promise API (embedding)")!
  const raw = results.get("raw SDK loop, HTTP/1.1")!
  const vsRaw = perEmbedding(stream) / perEmbedding(raw)
  const vsPromise = perEmbedding(stream) / perEmbedding(promise)
  console.log(`    target: embedStream CPU ≤ 0.5× the raw SDK loop's — ${vsRaw.toFixed(2)}×: ${verdict(vsRaw <= 0.5)}`)
  console.log(`    target: embedStream CPU ≤ the Promise API's — ${vsPromise.toFixed(2)}×: ${verdict(vsPromise <= 1)}`)
  const peers = [...results].filter(([name]) => name.startsWith("LangChain") || name.startsWith("AI SDK"))
  const delivered = peers.filter(([, r]) => r.completed === count)
  if (delivered.length > 0) {
    const [bestName, best] = delivered.reduce((a, b) => (b[1].wallMs < a[1].wallMs ? b : a))
    const speedup = best.wallMs / stream.wallMs
    console.log(
      `    target: embedStream wall time ≥ 2× as fast as the best peer (${bestName}, ${best.wallMs.toFixed(0)} ms) — ${speedup.toFixed(2)}×: ${verdict(speedup >= 2)}`
    )
  } else console.log("    target: wall time against the peers — no peer delivered every embedding: not measured")
  const floor = results.get(FLOOR)!
  console.log(
    `    floor: the bare exchange and float reader alone take ${(perEmbedding(floor) / perEmbedding(raw)).toFixed(2)}× the raw SDK loop's CPU; embedStream adds ${(perEmbedding(stream) - perEmbedding(floor)).toFixed(0)} µs per embedding to it`
  )
}

// Memory: RSS growth is only meaningful once the vectors dwarf the heap's own growth.
{
  const held = count * 10
  const standin = await startStandin("full")
  try {
    const r = await worker("bedrock-embed", standin.url, "stream", held)
    const bytes = held * 1024 * 4
    const rss = r.extraRss / bytes
    console.log(
      `\n    target: embedStream holding ${held} vectors ("full" numbers), RSS growth ≤ 1.1× their float32 size (${(bytes / 1e6).toFixed(0)} MB) — ${(r.extraRss / 1e6).toFixed(0)} MB, ${rss.toFixed(2)}×: ${verdict(rss <= 1.1)} (${perEmbedding(r).toFixed(0)} µs CPU / embedding, ${r.completed}/${held} delivered)`
    )
    // What any Node client holding these vectors grows by: V8's young generation and the bodies
    // awaiting collection come on top of the vectors whatever the library.
    const floor = await worker("floor", standin.url, "batch", held)
    console.log(
      `    ${FLOOR} holding the same ${held} vectors — ${(floor.extraRss / 1e6).toFixed(0)} MB, ${(floor.extraRss / bytes).toFixed(2)}× (${floor.completed}/${held} delivered)`
    )
  } finally {
    standin.stop()
  }
}
