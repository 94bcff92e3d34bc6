/**
 * The scale section of `pnpm bench` (alone: `pnpm bench scale`), in its own process.
 *
 * The bulk CLI (`bedrock-embed embed`, `packages/proxy/src/bin.ts`, stream mode, its own process)
 * embeds 10 000, 100 000 and 1 000 000 short generated docs (distinct texts, numeric ids) with
 * Cohere Embed v4 at 256 dimensions (96 texts a call) against the emulator (its own process, fresh
 * per run, 1 ms per call, signatures not checked). For each run it prints docs/s and the CLI
 * process's peak RSS (VmHWM and VmRSS from /proc/<pid>/status, sampled every 100 ms). Then the
 * largest corpus again, the CLI killed with SIGKILL once its output holds ~60 % of the lines, and a
 * resume run; the output is then checked in one streaming pass: every id present exactly once,
 * each line whole with 256 numbers.
 *
 * Targets (issue 14 item 9): peak RSS flat in N (largest ≤ 1.25 × smallest) and ≤ 300 MB at 1M;
 * exactly 1 000 000 lines after the resume, no duplicates. A missed target is reported, not
 * fatal; a run that cannot be measured (a process that does not start, a CLI that fails) exits 1.
 * `BENCH_SCALE` (< 1) shrinks the corpora (0.01: 100, 1 000 and 10 000 docs).
 */
import { spawn } from "node:child_process"
import { closeSync, createWriteStream, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { cleanEnv, scratch, startServer } from "./processes.ts"
import { table } from "./table.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const scale = Math.min(1, Number(process.env.BENCH_SCALE ?? 1))
const MODEL = "cohere.embed-v4:0"
const DIMENSIONS = 256
const LATENCY_MS = 1
const SIZES = [10_000, 100_000, 1_000_000].map((n) => Math.max(100, Math.round(n * scale)))
const KILL_AT = 0.6
const targets = { rssMb: 300, flat: 1.25 }

const { children, dir } = scratch("scale")

// ---------------------------------------------------------------------------------------------
// The corpora: short distinct texts (about 60 characters), ids 0 … n − 1.

const words = ["bedrock", "embedding", "vector", "corpus", "resume", "memory", "stream", "million", "ledger"]

const writeCorpus = async (n: number) => {
  const file = join(dir, `docs-${n}.jsonl`)
  const out = createWriteStream(file)
  for (let start = 0; start < n; start += 10_000) {
    let chunk = ""
    for (let i = start; i < Math.min(n, start + 10_000); i++)
      chunk += `${JSON.stringify({ id: i, text: `document ${i}: ${words[i % 9]} ${words[(i >> 3) % 9]} ${words[(i >> 6) % 9]} and more` })}\n`
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return file
}

// ---------------------------------------------------------------------------------------------
// One CLI run, its memory sampled

/** VmRSS and VmHWM (the peak) of a live process, in bytes; undefined once it is gone. */
const memoryOf = (pid: number) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") }
  } catch {
    return undefined
  }
}

interface CliRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly wallMs: number
  readonly peakRss: number
  readonly summary:
    | { readonly embedded: number; readonly skipped: number; readonly failed: number; readonly seconds: number }
    | undefined
  readonly err: string
}

/**
 * Runs `embed` on `corpus` into `output` against a fresh emulator; with `killAtBytes`, SIGKILLs
 * the CLI once the output has grown that large.
 */
const runCli = async (corpus: string, output: string, killAtBytes?: number): Promise<CliRun> => {
  const emulator = await startServer(
    [
      `${root}packages/emulator/src/bin.ts`,
      "--port",
      "0",
      "--no-s3",
      "--no-verify-signatures",
      "--latency-ms",
      String(LATENCY_MS)
    ],
    "the emulator",
    children
  )
  try {
    const args = [`${root}packages/proxy/src/bin.ts`, "embed", "--model", MODEL, "--dimensions", String(DIMENSIONS)]
    args.push("--in", corpus, "--out", output, "--endpoint", emulator.url, "--region", "us-east-1", "--no-progress")
    const t0 = performance.now()
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...cleanEnv, AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench" }
    })
    children.add(child)
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => {
      out += d
    })
    child.stderr.on("data", (d) => {
      err = (err + d).slice(-4000)
    })
    let peakRss = 0
    const sample = setInterval(() => {
      const memory = child.pid === undefined ? undefined : memoryOf(child.pid)
      if (memory !== undefined) peakRss = Math.max(peakRss, memory.rss, memory.hwm)
      if (killAtBytes !== undefined && size(output) >= killAtBytes) child.kill("SIGKILL")
    }, 100)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject)
      child.once("exit", (c, s) => resolve([c, s]))
    })
    clearInterval(sample)
    children.delete(child)
    const match = /embedded (\d+) of \d+ \(skipped (\d+) already done, failed (\d+)\) in ([\d.]+) s/.exec(out)
    const summary =
      match === null
        ? undefined
        : { embedded: Number(match[1]), skipped: Number(match[2]), failed: Number(match[3]), seconds: Number(match[4]) }
    return { code, signal, wallMs: performance.now() - t0, peakRss, summary, err }
  } finally {
    emulator.stop()
  }
}

const size = (file: string) => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

// ---------------------------------------------------------------------------------------------
// The check: one streaming pass over the output, a bitmap of ids

interface Check {
  readonly lines: number
  readonly present: number
  readonly duplicates: number
  /** Lines that are not `{"id":<0…n−1>,"embedding":[<256 numbers>]}` whole. */
  readonly malformed: number
}

const PREFIX = Buffer.from('{"id":')
const MIDDLE = Buffer.from(',"embedding":[')

/** The id of a line `{"id":N,"embedding":[…]}` with exactly DIMENSIONS numbers, else -1. */
const idOfLine = (buf: Buffer, start: number, end: number) => {
  if (buf.compare(PREFIX, 0, PREFIX.length, start, start + PREFIX.length) !== 0) return -1
  let i = start + PREFIX.length
  let id = 0
  const first = i
  while (i < end && buf[i]! >= 48 && buf[i]! <= 57) id = id * 10 + buf[i++]! - 48
  if (i === first || buf.compare(MIDDLE, 0, MIDDLE.length, i, i + MIDDLE.length) !== 0) return -1
  if (buf[end - 2] !== 93 || buf[end - 1] !== 125) return -1
  let commas = 0
  for (let j = i + MIDDLE.length; j < end - 2; j++) if (buf[j] === 44) commas++
  return commas + 1 === DIMENSIONS ? id : -1
}

const check = (file: string, n: number): Check => {
  const seen = new Uint8Array(n)
  let lines = 0
  let duplicates = 0
  let malformed = 0
  const fd = openSync(file, "r")
  try {
    let buf = Buffer.allocUnsafe(1 << 24)
    let kept = 0
    for (;;) {
      if (kept === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)])
      const read = readSync(fd, buf, kept, buf.length - kept, null)
      const end = kept + read
      let start = 0
      for (let nl = buf.indexOf(10, start); nl !== -1 && nl < end; nl = buf.indexOf(10, start)) {
        lines++
        const id = idOfLine(buf, start, nl)
        if (id < 0 || id >= n) malformed++
        else if (seen[id] === 1) duplicates++
        else seen[id] = 1
        start = nl + 1
      }
      if (read === 0) {
        // A torn last line.
        if (end > start) {
          lines++
          malformed++
        }
        break
      }
      buf.copy(buf, 0, start, end)
      kept = end - start
    }
  } finally {
    closeSync(fd)
  }
  let present = 0
  for (let i = 0; i < n; i++) present += seen[i]!
  return { lines, present, duplicates, malformed }
}

// ---------------------------------------------------------------------------------------------

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`
const verdict = (met: boolean) => (met ? "met" : "NOT met")

const measured = (what: string, run: CliRun) => {
  if (run.code !== 0 || run.summary === undefined)
    throw new Error(`${what}: the CLI exited ${run.code ?? run.signal} without a summary: ${run.err.slice(-600)}`)
  return run.summary
}

const main = async () => {
  const t0 = performance.now()
  const rows: Array<ReadonlyArray<string>> = []
  const peaks: Array<number> = []
  let bytesPerLine = 0
  for (const n of SIZES) {
    const corpus = await writeCorpus(n)
    const output = join(dir, `vectors-${n}.jsonl`)
    const run = await runCli(corpus, output)
    const summary = measured(`${n} docs`, run)
    const result = check(output, n)
    bytesPerLine = size(output) / Math.max(1, result.lines)
    peaks.push(run.peakRss)
    rows.push([
      String(n),
      `${summary.seconds.toFixed(1)} s`,
      (summary.embedded / summary.seconds).toFixed(0),
      mb(run.peakRss),
      mb(size(output)),
      `${result.present}/${n}`,
      String(result.duplicates + result.malformed),
      String(summary.failed)
    ])
    if (n !== SIZES[SIZES.length - 1]) rmSync(corpus)
    rmSync(output)
  }
  table(
    `scale — the bulk CLI (\`bedrock-embed embed\`, stream mode, own process), short docs (~60 characters), ${MODEL} ${DIMENSIONS}-dim (96 texts a call), emulator (own process, ${LATENCY_MS} ms per call); Node ${process.version}, ${Os.cpus().length} CPUs`,
    ["docs", "CLI wall", "docs / s", "peak RSS", "output", "delivered", "dup/bad", "failed"],
    rows
  )
  const largest = peaks[peaks.length - 1]!
  const growth = largest / Math.min(...peaks)
  console.log(
    `    target: peak RSS flat in N (largest ≤ ${targets.flat}× smallest): ${growth.toFixed(2)}× — ${verdict(growth <= targets.flat)}; ` +
      `≤ ${targets.rssMb} MB at ${SIZES[SIZES.length - 1]} docs: ${mb(largest)} — ${verdict(largest <= targets.rssMb * 1e6)}`
  )
  // What each further doc costs: the growth between the two largest runs over the docs between them.
  const perDoc = (largest - peaks[peaks.length - 2]!) / (SIZES[SIZES.length - 1]! - SIZES[SIZES.length - 2]!)
  console.log(
    `    peak RSS per further doc between the two largest runs: ${perDoc.toFixed(0)} bytes (the smallest run is too short for the process to reach its steady state)`
  )

  // kill -9 at ~60 %, then resume.
  const n = SIZES[SIZES.length - 1]!
  const corpus = join(dir, `docs-${n}.jsonl`)
  const output = join(dir, `resumed-${n}.jsonl`)
  const killed = await runCli(corpus, output, Math.round(KILL_AT * n * bytesPerLine))
  if (killed.signal !== "SIGKILL")
    throw new Error(`the CLI to kill ended by itself (${killed.code}) before ${KILL_AT * 100} % of the output`)
  const before = check(output, n)
  const resumed = await runCli(corpus, output)
  const summary = measured("the resume run", resumed)
  const after = check(output, n)
  const exact = after.lines === n && after.present === n && after.duplicates === 0 && after.malformed === 0
  table(
    `kill -9 at ~${KILL_AT * 100} % of the ${n}-doc run, then a resume run`,
    ["run", "wall", "peak RSS", "lines after", "ids present", "duplicates", "bad/torn lines", "summary"],
    [
      [
        "killed (SIGKILL)",
        `${(killed.wallMs / 1000).toFixed(1)} s`,
        mb(killed.peakRss),
        String(before.lines),
        `${before.present} (${((100 * before.present) / n).toFixed(1)} %)`,
        String(before.duplicates),
        String(before.malformed),
        "—"
      ],
      [
        "resume",
        `${summary.seconds.toFixed(1)} s`,
        mb(resumed.peakRss),
        String(after.lines),
        String(after.present),
        String(after.duplicates),
        String(after.malformed),
        `embedded ${summary.embedded}, skipped ${summary.skipped}, failed ${summary.failed}`
      ]
    ]
  )
  console.log(
    `    target: exactly ${n} lines after the resume, each id once: ${after.lines} lines, ${after.present} ids, ${after.duplicates} duplicates — ${verdict(exact)}`
  )
  console.log(
    `    peak RSS is the CLI process's own (VmHWM, sampled every 100 ms); docs/s from the CLI's summary (\`in N s\`). The emulator shares the machine's cores. (scale section: ${((performance.now() - t0) / 1000).toFixed(0)} s)`
  )
}

try {
  await main()
  process.exit(0)
} catch (error) {
  console.error(`\nscale section FAILED — a measurement could not be taken: ${(error as Error).message}`)
  process.exit(1)
}
