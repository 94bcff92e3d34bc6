/**
 * What every benchmark section that starts processes needs: a scratch directory and a set of
 * children, both gone when the section exits (normally, by an error, or by a signal), and an
 * environment without AWS or Bedrock settings, so no child reaches a real account.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** A scratch directory and the children to kill, for one section; cleaned up when the process exits. */
export const scratch = (name: string) => {
  const children = new Set<ChildProcess>()
  const dir = mkdtempSync(join(Os.tmpdir(), `bedrock-embed-bench-${name}-`))
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  }
  process.on("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.once(signal, () => {
      killAll()
      process.exit(130)
    })
  return { children, dir }
}

/** This process's environment without `AWS_*` and `BEDROCK_*` variables. */
export const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_") && !key.startsWith("BEDROCK_"))
)

const benchDir = new URL("./", import.meta.url)

/**
 * `command args` run on one CPU (`taskset -c cpu`) when `cpu` is given, the machine has more
 * than one and `taskset` exists; else unchanged. Pinning a stand-in and a client to different
 * cores keeps one from taking the other's CPU, as when the server is another machine: the
 * client's figures then vary far less from run to run.
 */
const pinned = (command: string, args: ReadonlyArray<string>, cpu: number | undefined): [string, Array<string>] =>
  cpu !== undefined && cpu < Os.availableParallelism() && hasTaskset()
    ? ["taskset", ["-c", String(cpu), command, ...args]]
    : [command, [...args]]
let taskset: boolean | undefined
const hasTaskset = () => (taskset ??= spawnSync("taskset", ["-V"], { stdio: "ignore" }).status === 0)

/**
 * Runs `bench/worker.ts <args>` in its own process (with {@link cleanEnv}) and resolves with the
 * JSON of its last stdout line; rejects with `what` and the tail of its stderr when it prints none.
 * The child is added to `children`, when given, so a killed section takes it down too; with `cpu`
 * it runs on that CPU alone.
 */
export const runWorker = <A>(
  args: ReadonlyArray<string>,
  what: string,
  children?: Set<ChildProcess>,
  cpu?: number
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const [command, argv] = pinned(process.execPath, [fileURLToPath(new URL("worker.ts", benchDir)), ...args], cpu)
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv })
    children?.add(child)
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => {
      out += d
    })
    child.stderr.on("data", (d) => {
      err = (err + d).slice(-2000)
    })
    child.once("exit", (code) => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as A)
      } catch {
        reject(new Error(`${what}: worker exited ${code}: ${err.slice(-400)}`))
      }
    })
  })

/**
 * Starts `node <args>` (a stand-in server) and resolves with the URL from its `listening on …`
 * banner and a `stop`; rejects if it exits first. The child is added to `children`; with `cpu` it
 * runs on that CPU alone.
 */
export const startServer = (args: ReadonlyArray<string>, what: string, children: Set<ChildProcess>, cpu?: number) =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const [command, argv] = pinned(process.execPath, args, cpu)
    // stdin stays a pipe: a server started with --exit-with-stdin exits when this process does.
    const child = spawn(command, argv, { stdio: ["pipe", "pipe", "inherit"], env: cleanEnv })
    children.add(child)
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve({ url: match[1]!, stop: () => child.kill("SIGTERM") })
    })
    child.once("exit", (code) => reject(new Error(`${what} exited ${code}`)))
  })
