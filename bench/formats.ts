/**
 * Output formats of `bedrock-embed embed` (issue 14 item 6), alone: `node bench/formats.ts`.
 *
 * Writes N × 1024 float32 vectors (N = 100 000; `BENCH_FORMATS_ROWS` to change it) with string ids
 * through the modules a run uses, no emulator: appended one at a time to the run's journal
 * (`formats/rows.ts`, as the npy output is), then the journal rewritten as a Parquet and as an
 * Arrow IPC file (`formats/columnar.ts`), then the ids read back as a resume does. For each step
 * it prints the time, MB/s of float32 data, the file's size against the raw float32 size, and
 * the process's peak RSS growth over the step (VmHWM, reset before each step where the kernel
 * allows it; otherwise sampled VmRSS).
 *
 * Targets: Parquet ≈ the raw float32 size (≈ 0.41 GB at 100 000 × 1024, not the ≈ 1.2 GB of
 * JSONL text); peak RSS growth bounded by a batch (≤ ~64 MB of vectors in flight), flat in N.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { table } from "./table.ts"

// The proxy's internal modules, loaded by URL: they are outside this project's sources.
interface RowPaths {
  readonly vectors: string
  readonly ids: string
}
const formats = new URL("../packages/proxy/src/internal/embed/formats/", import.meta.url)
const { appendRow, closeRows, journalOf, openRows } = (await import(new URL("rows.ts", formats).href)) as {
  readonly appendRow: (rows: unknown, id: unknown, embedding: Float32Array) => unknown
  readonly closeRows: (rows: unknown) => void
  readonly journalOf: (output: string) => RowPaths
  readonly openRows: (paths: RowPaths) => unknown
}
const { finishColumnar, resumeColumnar } = (await import(new URL("columnar.ts", formats).href)) as {
  readonly finishColumnar: (format: "parquet" | "arrow", output: string, dim: number, rows: number) => Promise<void>
  readonly resumeColumnar: (format: "parquet" | "arrow", output: string, done: Set<string>) => Promise<Set<string>>
}

const rows = Number(process.env.BENCH_FORMATS_ROWS ?? 100_000)
const dim = 1024
const dir = mkdtempSync(join(tmpdir(), "bench-formats-"))
const rawMb = (rows * dim * 4) / 1e6

const rssMb = () => {
  const status = readFileSync("/proc/self/status", "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

/** Runs a step, sampling RSS every 20 ms; its seconds and peak RSS growth in MB. */
const measure = async (step: () => unknown) => {
  const before = rssMb()
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb())
  }, 20)
  const started = performance.now()
  await step()
  const seconds = (performance.now() - started) / 1000
  clearInterval(timer)
  peak = Math.max(peak, rssMb())
  return { seconds, growth: peak - before }
}

const results: Array<Array<string>> = []
const report = (step: string, m: { seconds: number; growth: number }, file?: string) => {
  const size = file === undefined ? undefined : statSync(file).size / 1e6
  results.push([
    step,
    m.seconds.toFixed(2),
    (rawMb / m.seconds).toFixed(0),
    size === undefined ? "" : size.toFixed(1),
    size === undefined ? "" : (size / rawMb).toFixed(3),
    m.growth.toFixed(0)
  ])
}

/** 64 made-up vectors, taken in turn: the step times the writes, not the making. */
const vectors = Array.from({ length: 64 }, (_, v) => Float32Array.from({ length: dim }, (_, j) => Math.sin(v * 31 + j)))
const journalRun = async (output: string) => {
  const store = openRows(journalOf(output))
  for (let i = 0; i < rows; i++) appendRow(store, `doc-${i}`, vectors[i % 64]!)
  closeRows(store)
}

try {
  const parquet = join(dir, "vectors.parquet")
  report("append to the journal (npy rows + ids)", await measure(() => journalRun(parquet)), journalOf(parquet).vectors)
  const arrow = join(dir, "vectors.arrow")
  copyFileSync(journalOf(parquet).vectors, journalOf(arrow).vectors)
  copyFileSync(journalOf(parquet).ids, journalOf(arrow).ids)
  report("journal → Parquet", await measure(() => finishColumnar("parquet", parquet, dim, rows)), parquet)
  report("journal → Arrow IPC file", await measure(() => finishColumnar("arrow", arrow, dim, rows)), arrow)
  for (const [name, file, format] of [
    ["Parquet", parquet, "parquet"],
    ["Arrow", arrow, "arrow"]
  ] as const) {
    let count = 0
    const m = await measure(async () => {
      count = (await resumeColumnar(format, file, new Set<string>())).size
    })
    if (count !== rows) throw new Error(`${name}: resume found ${count} ids, not ${rows}`)
    report(`resume: ids of the ${name} file`, m)
  }
  const jsonlMb = (rows * (dim * 12 + 20)) / 1e6
  const title = `Output formats: ${rows} × ${dim} float32 (raw ${rawMb.toFixed(1)} MB; JSONL ≈ ${jsonlMb.toFixed(0)} MB of text)`
  table(title, ["step", "s", "MB/s (float32)", "file MB", "× raw float32", "peak RSS growth MB"], results)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
