/**
 * Where the keys-on gateway's extra time goes, from the profiles `BENCH_CPU_PROF=<dir> pnpm bench
 * team` writes:
 *
 *   node bench/cpuprofile-diff.ts <dir> [latency|throughput] [--by function|file] [--top 30]
 *
 * Reads `off.cpuprofile`, `on.cpuprofile` and `phases.json` (each phase's window on the profiles'
 * monotonic clock and the requests each gateway served in it), keeps the samples inside the
 * phase's window (default: throughput), drops the idle ones, and prints each function's (or
 * file's) self time in µs per request for keys on, keys off and the difference, largest
 * difference first. Sampled time is wall time while the thread was busy, so on a loaded machine it
 * includes time the process waited for a CPU; the difference between the two gateways is the
 * point.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface Profile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: CallFrame }>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}
type Windows = Record<string, { from: number; to: number; off: number; on: number }>

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { by: { type: "string", default: "function" }, top: { type: "string", default: "30" } }
})
const [dir, phaseName = "throughput"] = positionals
if (dir === undefined || (values.by !== "function" && values.by !== "file")) {
  console.error("usage: node bench/cpuprofile-diff.ts <dir> [latency|throughput] [--by function|file] [--top 30]")
  process.exit(2)
}
const windows = JSON.parse(readFileSync(join(dir, "phases.json"), "utf8")) as Windows
const window = windows[phaseName]
if (window === undefined) {
  console.error(`phases.json has no phase "${phaseName}": ${Object.keys(windows).join(", ")}`)
  process.exit(2)
}

const shortUrl = (url: string) =>
  url.replace(/^file:\/\/.*?\/(packages|bench)\//, "$1/").replace(/^file:\/\/.*\/node_modules\/(?!\.pnpm)/, "")

const keyOf = (frame: CallFrame) => {
  const url = shortUrl(frame.url)
  if (values.by === "file") return url === "" ? `(${frame.functionName || "native"})` : url
  return `${frame.functionName || "(anonymous)"} ${url}${url === "" ? "" : `:${frame.lineNumber + 1}`}`
}

/** Self µs per key inside the window (idle samples dropped), and the total. */
const selfTimes = (file: string) => {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const self = new Map<string, number>()
  let t = profile.startTime
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    const frame = frames.get(profile.samples[i]!)!
    const dt = profile.timeDeltas[i + 1] ?? 0
    if (t < window.from || t > window.to || frame.functionName === "(idle)") continue
    const key = keyOf(frame)
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  }
  return { self, total }
}

const off = selfTimes("off.cpuprofile")
const on = selfTimes("on.cpuprofile")
const perRequest = (us: number, requests: number) => us / Math.max(1, requests)
console.log(
  `phase ${phaseName} (${((window.to - window.from) / 1e6).toFixed(1)} s): keys off ${window.off} requests, ${perRequest(off.total, window.off).toFixed(0)} µs busy / request; keys on ${window.on} requests, ${perRequest(on.total, window.on).toFixed(0)} µs busy / request`
)
const rows = [...new Set([...off.self.keys(), ...on.self.keys()])].map((key) => {
  const a = perRequest(off.self.get(key) ?? 0, window.off)
  const b = perRequest(on.self.get(key) ?? 0, window.on)
  return { key, a, b, diff: b - a }
})
rows.sort((x, y) => y.diff - x.diff)
console.log("  on − off   on      off     µs self time / request")
for (const row of rows.slice(0, Number(values.top)))
  console.log(
    `  ${row.diff.toFixed(1).padStart(7)}  ${row.b.toFixed(1).padStart(6)}  ${row.a.toFixed(1).padStart(6)}   ${row.key}`
  )
