/**
 * A signal sent to `pnpm start` reaches the gateway. The root scripts run the project's Node
 * through `node_modules/.bin/node`, a shim that starts the real binary as a child and forwards
 * no signal: pnpm passed SIGTERM to its child (the shell, then the shim) and the gateway kept
 * its port with no parent. Each case starts the README's command (`npx -y pnpm@10.34.9 start`)
 * in a process group of its own, signals the pnpm process — what a terminal, systemd or docker
 * does — and then reads `/proc`: nothing of the group may still run, and the port is closed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))

interface Proc {
  readonly pid: number
  readonly ppid: number
  readonly pgid: number
  readonly state: string
  readonly argv: ReadonlyArray<string>
}

/** One `/proc/<pid>` entry, or undefined if it went away while being read. */
const proc = (pid: number): Proc | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name sits in parentheses and may hold spaces: the fields start after the last ")".
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "")
    return { pid, ppid: Number(ppid), pgid: Number(pgid), state: state ?? "?", argv }
  } catch {
    return undefined
  }
}

/** The live (not zombie) processes of a process group. */
const group = (pgid: number): ReadonlyArray<Proc> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => proc(Number(name)))
    .filter((p): p is Proc => p !== undefined && p.pgid === pgid && p.state !== "Z")

const isShell = (argv0: string | undefined) => /(^|\/)(ba|da)?sh$/.test(argv0 ?? "")

/** The pnpm process above `pid`: the nearest ancestor running pnpm's own script on Node, not a shell. */
const pnpmAbove = (pid: number): Proc | undefined => {
  for (let p = proc(pid); p !== undefined && p.pid > 1; p = proc(p.ppid)) {
    if (p.pid !== pid && !isShell(p.argv[0]) && p.argv.some((a) => /(^|\/)pnpm(\.c?js)?$/.test(a))) return p
  }
  return undefined
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Whatever a failed case left behind: the whole group it started, by its id. */
const killGroup = (child: ChildProcess) => {
  if (child.pid !== undefined && group(child.pid).length > 0) {
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {}
  }
}

/** Runs `pnpm <script> <args>` in a new process group; resolves with its group id and listening port. */
const launch = (args: ReadonlyArray<string>, listening: RegExp, onFinished: (cleanup: () => void) => void) =>
  new Promise<{ readonly pgid: number; readonly port: number; readonly output: () => string }>((resolve, reject) => {
    const child = spawn("npx", ["-y", "pnpm@10.34.9", ...args], { cwd: root, detached: true, stdio: "pipe" })
    onFinished(() => killGroup(child))
    let output = ""
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s:\n${output}`)), 30_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const match = listening.exec(output)
      if (match !== null && child.pid !== undefined) {
        clearTimeout(timer)
        resolve({ pgid: child.pid, port: Number(match[1]), output: () => output })
      }
    }
    child.stdout.on("data", read)
    child.stderr.on("data", read)
    child.once("exit", (code) => reject(new Error(`pnpm exited (${code}) before listening:\n${output}`)))
  })

/** Polls until nothing of the group runs and the port is closed, or `ms` pass; returns what is left. */
const settle = async (pgid: number, port: number, ms: number) => {
  const until = Date.now() + ms
  for (;;) {
    const left = group(pgid)
    const open = await portOpen(port)
    if ((left.length === 0 && !open) || Date.now() > until) return { left, open }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const GATEWAY = /gateway listening on http:\/\/127\.0\.0\.1:(\d+)/
const EMULATOR = /emulator listening on http:\/\/127\.0\.0\.1:(\d+)/

const cases: ReadonlyArray<{
  readonly args: ReadonlyArray<string>
  readonly signal: NodeJS.Signals
  readonly listening: RegExp
  readonly server: string
}> = [
  { args: ["start", "--port", "0"], signal: "SIGTERM", listening: GATEWAY, server: "packages/proxy/src/bin.ts" },
  { args: ["start", "--port", "0"], signal: "SIGINT", listening: GATEWAY, server: "packages/proxy/src/bin.ts" },
  {
    args: ["bedrock-embed", "emulator", "--port", "0"],
    signal: "SIGTERM",
    listening: EMULATOR,
    server: "packages/proxy/src/bin.ts"
  },
  { args: ["emulator", "--port", "0"], signal: "SIGTERM", listening: EMULATOR, server: "packages/emulator/src/bin.ts" }
]

describe.skipIf(process.platform !== "linux")("signals sent to pnpm", () => {
  for (const c of cases) {
    it.concurrent(`pnpm ${c.args.join(" ")}: ${c.signal} to pnpm stops the server and frees its port`, async ({
      onTestFinished
    }) => {
      const run = await launch(c.args, c.listening, onTestFinished)
      const server = group(run.pgid).find((p) => p.argv.includes(c.server))
      assert.isDefined(server, `no process runs ${c.server}`)
      const pnpm = pnpmAbove(server!.pid)
      assert.isDefined(pnpm, "no pnpm process above the server")
      // Nothing in between (no shim, no shell) that a `kill -9` could remove and leave the server behind.
      assert.strictEqual(
        server!.ppid,
        pnpm!.pid,
        `the server's parent is not pnpm: ${proc(server!.ppid)?.argv.join(" ")}`
      )
      process.kill(pnpm!.pid, c.signal)
      const { left, open } = await settle(run.pgid, run.port, 8_000)
      assert.isFalse(open, `port ${run.port} still accepts connections 8 s after ${c.signal}`)
      assert.deepStrictEqual(
        left.map((p) => p.argv.join(" ")),
        [],
        `still running 8 s after ${c.signal} to pnpm (pid ${pnpm!.pid})`
      )
    })
  }
})
