/**
 * The throttling section of `pnpm bench` (alone: `pnpm bench throttle`), in its own process.
 *
 * The bulk CLI (`bedrock-embed embed`, `packages/proxy/src/bin.ts`, its own process) embeds one
 * corpus of 3 000 texts of mixed length (Titan Text v2, 256 dimensions) against the Bedrock
 * stand-in (`bench/standin.ts`, its own process, 20 ms per call), fresh for each mode (none and
 * random twice each, interleaved, keeping the faster run of each):
 *
 *   none     no throttling: the baseline wall time;
 *   random   2 % of calls refused at random (not congestion);
 *   rpm      a fixed-window request quota (N per 1 s window);
 *   tpm      a tokens-per-minute quota as AWS enforces it: a token bucket, here holding one second
 *            of refill (AWS's bucket holds a minute, which would swallow a run of seconds whole).
 *
 * Each refusal is Bedrock's 429 ThrottlingException. For each run it prints the CLI's wall time
 * (its own summary line), the stand-in's calls, throttled share and accepted tokens, what came back
 * (every id exactly once, each vector 256 numbers) and the targets of issue 13 item 6:
 *
 *   random: wall time ≤ 1.3 × the unthrottled run;
 *   rpm, tpm: < 5 % of calls throttled and wall time ≤ 1.05 × the quota's floor
 *             (floor = work / quota rate: calls / calls per s, or tokens / tokens per s);
 *   every mode: 100 % delivered, no duplicates.
 *
 * A missed target is reported, not fatal; a run that cannot be measured (a process that does not
 * start, a CLI that fails) exits 1. `BENCH_SCALE` (< 1) shrinks the corpus and the quotas together.
 */
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { cleanEnv, scratch } from "./processes.ts"
import { table } from "./table.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const scale = Math.min(1, Number(process.env.BENCH_SCALE ?? 1))
const MODEL = "amazon.titan-embed-text-v2:0"
const DIMENSIONS = 256
const LATENCY_MS = 20
const DOCS = Math.max(300, Math.round(3000 * scale))
/** The request quota: calls per second, in 1 s windows. */
const RPS = Math.max(30, Math.round(300 * scale))
/** The token quota, tokens per second (the bucket holds one second of them). */
const TPS = Math.max(2000, Math.round(20_000 * scale))
const RANDOM = 0.02

const targets = { randomRatio: 1.3, throttledShare: 0.05, floorRatio: 1.05 }

const { children, dir } = scratch("throttle")

// ---------------------------------------------------------------------------------------------
// The corpus: mixed lengths (40 to 640 characters), so calls differ in tokens.

const corpus = join(dir, "docs.jsonl")
const words = ["bedrock", "embedding", "quota", "token", "vector", "throttle", "window", "bucket", "recovery"]
{
  let seed = 7
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const lines: Array<string> = []
  for (let i = 0; i < DOCS; i++) {
    const length = 40 + Math.floor(next() * 600)
    let text = `document ${i}:`
    while (text.length < length) text += ` ${words[Math.floor(next() * words.length)]}`
    lines.push(JSON.stringify({ id: `doc-${i}`, text: text.slice(0, length) }))
  }
  writeFileSync(corpus, `${lines.join("\n")}\n`)
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Spawns `node <args>`, collecting stdout and the tail of stderr; resolves on exit. */
const run = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, onStdout?: (text: string) => void) => {
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], env })
  children.add(child)
  let out = ""
  let err = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk
    onStdout?.(out)
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    err = (err + chunk).slice(-4000)
  })
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    child.once("error", reject)
    child.once("exit", (code) => {
      children.delete(child)
      resolve({ code, out, err })
    })
  })
  return { child, exited }
}

interface Stats {
  readonly invocations: number
  readonly requests: number
  readonly throttled: number
  readonly tokens: number
  readonly firstMs: number
  readonly lastMs: number
}

const startStandin = (flags: ReadonlyArray<string>) =>
  new Promise<{ url: string; stats: () => Promise<Stats>; stop: () => Promise<void> }>((resolve, reject) => {
    let url: string | undefined
    const { child, exited } = run(
      [`${root}bench/standin.ts`, "--port", "0", "--latency-ms", String(LATENCY_MS), "--exit-with-stdin", ...flags],
      cleanEnv,
      (out) => {
        const match = /listening on (http:\/\/\S+)/.exec(out)
        if (match === null || url !== undefined) return
        url = match[1]!
        resolve({
          url,
          stats: async () => (await (await fetch(`${url}/_standin/stats`)).json()) as Stats,
          stop: async () => {
            child.kill("SIGTERM")
            await exited
          }
        })
      }
    )
    void exited.then(({ code, err }) => {
      if (url === undefined) reject(new Error(`the stand-in exited (${code}) before listening: ${err.slice(-600)}`))
    })
  })

interface Outcome {
  readonly mode: string
  readonly seconds: number
  readonly stats: Stats
  readonly delivered: number
  readonly duplicates: number
  readonly malformed: number
  readonly failed: number
  /** Busy cores of the whole machine during the run (the CLI and the stand-in included). */
  readonly cores: number
}

/** What came back: ids seen once with a 256-number vector, ids seen twice or more, bad lines. */
const check = (file: string) => {
  const seen = new Map<string, number>()
  let malformed = 0
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.length === 0) continue
    try {
      const record = JSON.parse(line) as { id?: unknown; embedding?: unknown }
      const ok =
        typeof record.id === "string" &&
        Array.isArray(record.embedding) &&
        record.embedding.length === DIMENSIONS &&
        record.embedding.every((v) => typeof v === "number" && Number.isFinite(v))
      if (!ok) malformed++
      else seen.set(record.id as string, (seen.get(record.id as string) ?? 0) + 1)
    } catch {
      malformed++
    }
  }
  let delivered = 0
  let duplicates = 0
  for (let i = 0; i < DOCS; i++) {
    const count = seen.get(`doc-${i}`) ?? 0
    if (count >= 1) delivered++
    if (count > 1) duplicates += count - 1
  }
  // Ids that are not in the corpus count as malformed.
  for (const id of seen.keys()) if (!/^doc-\d+$/.test(id) || Number(id.slice(4)) >= DOCS) malformed++
  return { delivered, duplicates, malformed }
}

/** Busy CPU seconds of the whole machine, from /proc/stat (0 where there is none). */
const machineBusy = () => {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
    const [user, nice, system, , , irq, softirq, steal] = fields as Array<number>
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100
  } catch {
    return 0
  }
}

let runCount = 0

const measure = async (mode: string, flags: ReadonlyArray<string>): Promise<Outcome> => {
  const busy0 = machineBusy()
  const t0 = performance.now()
  const standin = await startStandin(flags)
  try {
    // A fresh output per run: the CLI resumes from an existing one.
    const output = join(dir, `${mode}-${++runCount}.jsonl`)
    const cli = run(
      [
        `${root}packages/proxy/src/bin.ts`,
        "embed",
        "--model",
        MODEL,
        "--in",
        corpus,
        "--out",
        output,
        "--endpoint",
        standin.url,
        "--region",
        "us-east-1",
        "--dimensions",
        String(DIMENSIONS),
        "--no-progress"
      ],
      { ...cleanEnv, AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench" }
    )
    const { code, out, err } = await cli.exited
    const summary = /embedded (\d+) of (\d+) \(skipped \d+ already done, failed (\d+)\) in ([\d.]+) s/.exec(out)
    if (summary === null) throw new Error(`${mode}: the CLI exited ${code} without a summary: ${err.slice(-600)}`)
    const stats = await standin.stats()
    const cores = (machineBusy() - busy0) / ((performance.now() - t0) / 1000)
    return { mode, seconds: Number(summary[4]), stats, cores, failed: Number(summary[3]), ...check(output) }
  } finally {
    await standin.stop()
  }
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  const t0 = performance.now()
  // The ratio of two short runs is the noisiest figure here: each is run twice, interleaved, and
  // the faster run of each kept (a busy machine only ever adds time).
  const runs: Array<Outcome> = []
  for (let i = 0; i < 2; i++) {
    runs.push(await measure("none", []))
    runs.push(await measure("random", ["--throttle-fraction", String(RANDOM)]))
  }
  const best = (mode: string) => runs.filter((o) => o.mode === mode).reduce((a, b) => (b.seconds < a.seconds ? b : a))
  const none = best("none")
  const random = best("random")
  const rpm = await measure("rpm", ["--rpm", String(RPS * 60), "--window-ms", "1000"])
  const tpm = await measure("tpm", ["--tpm", String(TPS * 60), "--bucket-ms", "1000"])

  const pass = (met: boolean) => (met ? "PASS" : "FAIL")
  const share = (o: Outcome) => o.stats.throttled / Math.max(1, o.stats.requests)
  const complete = (o: Outcome) => o.delivered === DOCS && o.duplicates === 0 && o.malformed === 0 && o.failed === 0
  const rpmFloor = DOCS / RPS
  const tpmFloor = tpm.stats.tokens / TPS
  const row = (o: Outcome, quota: string, target: string, met: boolean) => [
    o.mode,
    quota,
    `${o.seconds.toFixed(1)} s`,
    `${((o.stats.lastMs - o.stats.firstMs) / 1000).toFixed(2)} s`,
    String(o.stats.requests),
    `${(100 * share(o)).toFixed(1)} %`,
    `${o.delivered}/${DOCS}`,
    String(o.duplicates + o.malformed),
    o.cores.toFixed(2),
    target,
    pass(met && complete(o))
  ]
  const randomRatio = random.seconds / none.seconds
  const rpmRatio = rpm.seconds / rpmFloor
  const tpmRatio = tpm.seconds / tpmFloor
  table(
    `throttling — the bulk CLI (\`bedrock-embed embed\`, own process), ${DOCS} texts of 40–640 characters, Titan Text v2 ${DIMENSIONS}-dim, stand-in Bedrock (own process, ${LATENCY_MS} ms per call); Node ${process.version}, ${Os.cpus().length} CPUs`,
    [
      "mode",
      "quota",
      "CLI wall",
      "stand-in span",
      "calls",
      "throttled",
      "delivered",
      "dup/bad",
      "busy cores",
      "target",
      "result"
    ],
    [
      row(none, "—", "100 % delivered, no duplicates", true),
      row(
        random,
        `${100 * RANDOM} % of calls at random`,
        `≤ ${targets.randomRatio}× unthrottled: ${randomRatio.toFixed(2)}×`,
        randomRatio <= targets.randomRatio
      ),
      row(
        rpm,
        `${RPS} calls / 1 s window (floor ${rpmFloor.toFixed(1)} s)`,
        `< 5 % throttled, ≤ ${targets.floorRatio}× floor: ${rpmRatio.toFixed(2)}×`,
        share(rpm) < targets.throttledShare && rpmRatio <= targets.floorRatio
      ),
      row(
        tpm,
        `${TPS * 60} TPM, bucket of 1 s (floor ${tpmFloor.toFixed(1)} s)`,
        `< 5 % throttled, ≤ ${targets.floorRatio}× floor: ${tpmRatio.toFixed(2)}×`,
        share(tpm) < targets.throttledShare && tpmRatio <= targets.floorRatio
      )
    ]
  )
  // The bucket starts full: one second of tokens needs no waiting at all.
  const strictTpmFloor = (tpm.stats.tokens - TPS) / TPS
  console.log(
    `    floor = work / quota rate: ${DOCS} calls / ${RPS} per s; ${tpm.stats.tokens} accepted tokens / ${TPS} per s. A fixed window and a full bucket let the first second's worth through at once, so a run can beat its floor by up to a second: against (tokens − the full bucket) / rate = ${strictTpmFloor.toFixed(1)} s, tpm took ${(tpm.seconds / strictTpmFloor).toFixed(2)}×.`
  )
  console.log(
    `    none and random ran twice each, interleaved; the faster of each is shown (none ${runs
      .filter((o) => o.mode === "none")
      .map((o) => `${o.seconds.toFixed(1)} s`)
      .join(", ")}; random ${runs
      .filter((o) => o.mode === "random")
      .map((o) => `${o.seconds.toFixed(1)} s`)
      .join(", ")}).`
  )
  console.log(
    `    busy cores: the whole machine's, during the run, the CLI and the stand-in included (${Os.cpus().length} CPUs): near the CPU count, the CLI was starved and every figure is skewed.`
  )
  console.log(
    `    CLI wall is the CLI's own summary (\`in N s\`, reading the corpus to the last line written); stand-in span is first call received to last answer sent. (throttling section: ${((performance.now() - t0) / 1000).toFixed(0)} s)`
  )
}

try {
  await main()
  process.exit(0)
} catch (error) {
  console.error(`\nthrottling section FAILED — a measurement could not be taken: ${(error as Error).message}`)
  process.exit(1)
}
