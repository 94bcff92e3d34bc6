import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { scratch, runWorker, startServer } from "./processes.ts"
import { table } from "./table.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const scale = Math.min(1, Number(process.env.BENCH_SCALE ?? 1))
const MODEL = "amazon.titan-embed-text-v2:0"
const CORPORA = [2000, 10_000].map((n) => Math.max(200, Math.round(n * scale)))
const FAULTS = "server-error=0.3"
const TARGET = 1.5

const { children } = scratch("stream-faults")

interface Run {
  readonly docs: number
  readonly mode: "stream" | "batch"
  readonly wallMs: number
  readonly completed: number
  readonly missing: number
  readonly duplicates: number
  readonly calls: number
  readonly faults: number
  readonly error?: string | undefined
}

const startStandin = () =>
  startServer(
    [`${root}packages/proxy/test/chaos/standin.ts`, "--port", "0", "--mix", FAULTS, "--seed", "7"],
    "chaos stand-in",
    children
  )

const worker = (mode: Run["mode"], docs: number, url: string) =>
  runWorker<Record<string, unknown>>(["bedrock-embed", MODEL, String(docs), url, mode], `worker ${mode}`, children)

const measure = async (mode: Run["mode"], docs: number): Promise<Run> => {
  const standin = await startStandin()
  try {
    const result = await worker(mode, docs, standin.url)
    const stats = (await (await fetch(`${standin.url}/_chaos`)).json()) as { calls: Record<string, number> }
    const calls = Object.values(stats.calls).reduce((sum, n) => sum + n, 0)
    return {
      docs,
      mode,
      wallMs: result.wallMs as number,
      completed: result.completed as number,
      missing: result.missing as number,
      duplicates: result.duplicates as number,
      calls,
      faults: stats.calls["server-error"] ?? 0,
      error: result.error as string | undefined
    }
  } finally {
    standin.stop()
  }
}

console.log(
  `embedStream vs embedding() under faults — Node ${process.version}, ${Os.cpus().length} CPUs: Titan Text v2 docs, ` +
    `chaos stand-in answering 30 % of calls with HTTP 500 (${FAULTS}, seed 7), default engine options.`
)
const runs: Array<Run> = []
try {
  for (const docs of CORPORA)
    for (let round = 0; round < 2; round++)
      for (const mode of ["batch", "stream"] as const) runs.push(await measure(mode, docs))
} catch (error) {
  console.error(`stream-faults: ${(error as Error).message}`)
  process.exit(1)
}
table(
  `embedStream vs embedding() wall time on the same docs under 30 % injected faults`,
  ["docs", "path", "wall ms", "delivered", "missing", "duplicates", "calls", "500s", "first error"],
  runs.map((r) => [
    String(r.docs),
    r.mode === "stream" ? "Embeddings.embedStream" : "embedding()",
    r.wallMs.toFixed(0),
    String(r.completed),
    String(r.missing),
    String(r.duplicates),
    String(r.calls),
    String(r.faults),
    r.error ?? ""
  ])
)
for (const docs of CORPORA) {
  const of = runs.filter((r) => r.docs === docs)
  const best = (mode: Run["mode"]) => Math.min(...of.filter((r) => r.mode === mode).map((r) => r.wallMs))
  const ratio = best("stream") / best("batch")
  const whole = of.every((r) => r.completed === docs && r.duplicates === 0)
  console.log(
    `    ${docs} docs: embedStream ${(best("stream") / 1000).toFixed(1)} s vs embedding() ${(best("batch") / 1000).toFixed(1)} s ` +
      `(faster of two runs each): ${ratio.toFixed(2)}× — target ≤ ${TARGET}×: ${ratio <= TARGET ? "met" : "MISSED"}; ` +
      `every doc delivered exactly once: ${whole ? "yes" : "NO"}`
  )
}
