/**
 * What the sections that measure the `serve` gateway share (`bench/gateway.ts`, `bench/team.ts`):
 * starting and stopping its processes and the Bedrock stand-in (`bench/standin.ts`), the gateway's
 * LiteLLM-style config, keep-alive requests to it, a load loop, percentiles, and CPU and RSS read
 * from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { cleanEnv } from "./processes.ts"

export const root = fileURLToPath(new URL("../", import.meta.url))
export const MODEL = "amazon.titan-embed-text-v2:0"
export const DIMENSIONS = 1024
/** The stand-in's fixed delay per call. */
export const LATENCY_MS = 20
/** Concurrent requests in the throughput runs (and the client agent's sockets). */
export const CONCURRENCY = 64
export const banner = /listening on (http:\/\/\S+)/

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly url: string
  /** Throws if the process has exited: a measurement against it would be meaningless. */
  readonly alive: () => void
  readonly stderr: () => string
}

/**
 * Spawns `node <args>` (the real binary, so the pid is the one doing the work) and waits for its
 * banner; the child is added to `children` (killed when the section exits).
 */
export const start = (children: Set<ChildProcess>, name: string, args: ReadonlyArray<string>) =>
  new Promise<Child>((resolve, reject) => {
    // stdin is a pipe the stand-in watches (--exit-with-stdin); the gateway ignores it.
    const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], env: cleanEnv })
    children.add(child)
    let out = ""
    let err = ""
    let url: string | undefined
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${name} printed no "listening on" banner within 30 s: ${err.slice(-600)}`))
    }, 30_000)
    // After the banner, stdout keeps being read and dropped (the gateway's request log lines):
    // a pipe nobody reads would block the writer.
    child.stdout!.on("data", (chunk: Buffer) => {
      if (url !== undefined) return
      out += chunk
      const match = banner.exec(out)
      if (match === null) return
      url = match[1]!
      clearTimeout(timer)
      out = ""
      resolve({
        name,
        process: child,
        url,
        alive: () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}): ${err.slice(-600)}`)
        },
        stderr: () => err
      })
    })
    child.stderr!.on("data", (chunk: Buffer) => {
      err = (err + chunk).slice(-4000)
    })
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(new Error(`${name} could not start: ${error.message}`))
    })
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      if (url === undefined)
        reject(new Error(`${name} exited (${code ?? signal}) before listening: ${err.slice(-600)}`))
    })
  })

/** SIGTERM, then SIGKILL after 3 s; resolves when the child has exited. */
export const stop = async (child: Child | undefined) => {
  if (child === undefined) return
  const proc = child.process
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  proc.kill("SIGTERM")
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000)
  await exited
  clearTimeout(timer)
}

/** The stand-in Bedrock, answering after {@link LATENCY_MS}. */
export const startStandin = (children: Set<ChildProcess>) =>
  start(children, "stand-in", [
    `${root}bench/standin.ts`,
    "--port",
    "0",
    "--latency-ms",
    String(LATENCY_MS),
    "--exit-with-stdin"
  ])

/**
 * A LiteLLM-style config with one alias, `titan`, on the stand-in; `extra` lines (e.g. a
 * `general_settings:` block) are appended.
 */
export const gatewayConfig = (standinUrl: string, extra: ReadonlyArray<string> = []) =>
  [
    "model_list:",
    "  - model_name: titan",
    "    litellm_params:",
    `      model: ${JSON.stringify(`bedrock/${MODEL}`)}`,
    `      aws_region_name: "us-east-1"`,
    `      aws_bedrock_runtime_endpoint: ${JSON.stringify(standinUrl)}`,
    `      aws_access_key_id: "x"`,
    `      aws_secret_access_key: "y"`,
    ...extra,
    ""
  ].join("\n")

/**
 * The gateway (`packages/proxy/src/bin.ts serve --config <config> --port 0`), with `nodeFlags`
 * (e.g. `--cpu-prof`) before the script; checks its pid runs the node binary itself.
 */
export const startGateway = async (
  children: Set<ChildProcess>,
  name: string,
  config: string,
  nodeFlags: ReadonlyArray<string> = []
) => {
  const gateway = await start(children, name, [
    ...nodeFlags,
    `${root}packages/proxy/src/bin.ts`,
    "serve",
    "--config",
    config,
    "--port",
    "0"
  ])
  const pid = gateway.process.pid!
  const exe = readlinkSync(`/proc/${pid}/exe`)
  if (exe !== realpathSync(process.execPath))
    throw new Error(`${name} pid ${pid} runs ${exe}, not the node binary: its CPU and RSS would be another process's`)
  return gateway
}

// ---------------------------------------------------------------------------------------------
// /proc

export const clockTicks = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
})()

/** Fields of /proc/<pid>/stat from field 3 (state) on: the comm field may hold spaces. */
const statFields = (pid: number) => {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8")
  return text.slice(text.lastIndexOf(")") + 2).split(" ")
}

/** The process and its descendants (a gateway may fork workers). */
const tree = (pid: number): ReadonlyArray<number> => {
  const byParent = new Map<number, Array<number>>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ppid = Number(statFields(Number(entry))[1])
      const list = byParent.get(ppid) ?? []
      list.push(Number(entry))
      byParent.set(ppid, list)
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]!) ?? []))
  return out
}

/** utime + stime of the tree, in seconds. */
export const cpuSeconds = (pid: number) => {
  let ticks = 0
  for (const p of tree(pid)) {
    const fields = statFields(p)
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / clockTicks
}

/** VmRSS of the tree, in bytes. */
export const rssBytes = (pid: number) => {
  let kb = 0
  for (const p of tree(pid)) {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))
    if (match === null) throw new Error(`no VmRSS in /proc/${p}/status`)
    kb += Number(match[1])
  }
  return kb * 1024
}

/** Busy CPU seconds of the whole machine, from /proc/stat. */
export const machineBusy = () => {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/)
  // user nice system idle iowait irq softirq steal
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number) as Array<number>
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / clockTicks
}

/** A point to measure the CPU other processes use from: see {@link othersSince}. */
export interface Mark {
  readonly t: number
  readonly busy: number
  readonly own: NodeJS.CpuUsage
  /** CPU seconds the `pids` given had used. */
  readonly pids: number
}

const pidsCpu = (pids: ReadonlyArray<number>) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)

/** Now, for {@link othersSince}; `pids` are processes of ours already running (none: all started later). */
export const mark = (pids: ReadonlyArray<number> = []): Mark => ({
  t: performance.now(),
  busy: machineBusy(),
  own: process.cpuUsage(),
  pids: pidsCpu(pids)
})

/** The CPU cores other processes than this one and `pids` used since `from`: all busy CPU minus ours. */
export const othersSince = (from: Mark, pids: ReadonlyArray<number>) => {
  const seconds = (performance.now() - from.t) / 1000
  const own = process.cpuUsage(from.own)
  const ours = (own.user + own.system) / 1e6 + pidsCpu(pids) - from.pids
  return Math.max(0, (machineBusy() - from.busy - ours) / seconds)
}

/** The section's closing line: how long it took and how much CPU other processes used meanwhile. */
export const othersLine = (section: string, from: Mark, pids: ReadonlyArray<number>) => {
  const seconds = (performance.now() - from.t) / 1000
  const others = othersSince(from, pids)
  return `    (${section} section: ${seconds.toFixed(0)} s; other processes used ${others.toFixed(2)} of ${Os.cpus().length} CPUs meanwhile${others > 0.25 ? " — the machine was not quiet: every figure is skewed" : ""})`
}

// ---------------------------------------------------------------------------------------------
// Requests

export const agent = new Http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY })

/** A keep-alive request; `body` makes it a POST, else a GET. */
export const request = (url: URL, body?: string, headers: Readonly<Record<string, string>> = {}) =>
  new Promise<{ readonly status: number; readonly body: Buffer; readonly ms: number }>((resolve, reject) => {
    const t0 = performance.now()
    const req = Http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: body === undefined ? "GET" : "POST",
        agent,
        headers:
          body === undefined
            ? headers
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.once("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - t0 })
        )
        res.once("error", reject)
      }
    )
    req.once("error", reject)
    req.end(body)
  })

/** A keep-alive JSON POST. */
export const post = (url: URL, body: string, headers?: Readonly<Record<string, string>>) => request(url, body, headers)

let sequence = 0
/** `count` distinct texts. */
export const texts = (count: number) =>
  Array.from({ length: count }, () => {
    const i = sequence++
    return `gateway benchmark text ${i} about topic ${i % 37} and a few more words`
  })

export type Format = "float" | "base64"

/**
 * One gateway request (with `token` as its bearer key, when given); `check` parses the answer and
 * checks every vector (outside the timing). Resolves with the request's milliseconds.
 */
export const viaGateway = async (url: URL, count: number, format: Format, check: boolean, token?: string) => {
  const response = await post(
    url,
    JSON.stringify({
      model: "titan",
      input: texts(count),
      dimensions: DIMENSIONS,
      ...(format === "base64" ? { encoding_format: "base64" } : {})
    }),
    token === undefined ? undefined : { authorization: `Bearer ${token}` }
  )
  if (response.status !== 200)
    throw new Error(`gateway answered ${response.status}: ${response.body.toString("utf8").slice(0, 300)}`)
  if (check) {
    const json = JSON.parse(response.body.toString("utf8")) as {
      data?: ReadonlyArray<{ index: number; embedding: ReadonlyArray<number> | string }>
    }
    if (json.data?.length !== count)
      throw new Error(`gateway returned ${json.data?.length} vectors for ${count} inputs`)
    for (const d of json.data) {
      const length =
        typeof d.embedding === "string" ? Buffer.from(d.embedding, "base64").length / 4 : d.embedding.length
      if (length !== DIMENSIONS || typeof d.embedding !== (format === "base64" ? "string" : "object"))
        throw new Error(`gateway returned a malformed ${format} vector (${length} numbers)`)
    }
  }
  return response.ms
}

/** `concurrency` loops calling `once` until `seconds` have passed; completed calls and elapsed seconds. */
export const load = async (concurrency: number, seconds: number, once: (i: number) => Promise<unknown>) => {
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let done = 0
  const loop = async () => {
    while (performance.now() < end) await once(done++)
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return { done, seconds: (performance.now() - t0) / 1000 }
}

/** The `q` quantile (0–1) of `samples`, interpolated. */
export const percentile = (samples: ReadonlyArray<number>, q: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** InvokeModel calls the stand-in answered with 200 so far. */
export const invocations = async (standin: string) =>
  ((await (await fetch(`${standin}/_standin/stats`)).json()) as { invocations: number }).invocations

/** `BENCH_DEBUG=1`: each phase's end time (since `t0`, ms) on stderr. */
export const phaser = (t0: number) => (name: string) => {
  if (process.env.BENCH_DEBUG) console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${name}`)
}
