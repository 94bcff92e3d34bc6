/**
 * A real, throwaway Postgres server for tests: Debian's `postgresql` binaries (`initdb`,
 * `postgres`), a data directory in a temp dir, trust auth on 127.0.0.1 and a free port. Postgres
 * refuses to run as root, so under root (CI containers) the server runs as the `postgres` user
 * through `runuser`, in a temp dir chowned to it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A running server: its URL (database `bedrock_embed`), a `psql` runner, and stop. */
export interface Postgres {
  readonly url: string
  readonly port: number
  /** Runs one SQL statement with psql; its rows as lines of `|`-separated columns. */
  readonly query: (sql: string) => ReadonlyArray<string>
  /** The server's log since it last started (statements too, with `logStatements`). */
  readonly log: () => string
  /** Stops the server, keeping its data, as an outage would. */
  readonly pause: () => Promise<void>
  /** Starts the paused server again on the same port and data. */
  readonly resume: () => Promise<void>
  /** Stops the server and removes its data. */
  readonly stop: () => Promise<void>
}

/** The newest installed Postgres's `bin` directory, or undefined. */
export const binDir = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "postgres")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length === 0 ? undefined : join(root, versions[0]!, "bin")
}

/**
 * Why Postgres tests cannot run here, or undefined when they can. Under `CI=true` a missing
 * server is a failure (`.ci/run` installs it), elsewhere a reason to skip.
 */
export const unavailable = (): string | undefined =>
  binDir() === undefined
    ? "Postgres binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    : undefined

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const asRoot = typeof process.getuid === "function" && process.getuid() === 0

/** Runs a server binary as the `postgres` user under root, else as ourselves. */
const command = (bin: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, [...args]]

const ready = (child: ChildProcess, log: () => string): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`postgres did not start in 30 s:\n${log()}`)), 30_000)
    const check = () => {
      if (/ready to accept connections/.test(log())) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stderr!.on("data", check)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`postgres exited with ${code} before it was ready:\n${log()}`))
    })
  })

/**
 * Starts a fresh server with an empty database `bedrock_embed`; call `stop` when done. With
 * `logStatements`, every statement the server runs is in its `log()`.
 */
export const startPostgres = async (options: { readonly logStatements?: boolean } = {}): Promise<Postgres> => {
  const bin = binDir()
  if (bin === undefined) throw new Error(unavailable())
  const dir = await mkdtemp(join(tmpdir(), "bedrock-embed-pg-"))
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    await chown(dir, uid, gid)
  }
  const data = join(dir, "data")
  const [init, initArgs] = command(join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions"
  ])
  execFileSync(init, initArgs, { stdio: "pipe" })
  const port = await freePort()
  // Durability off: a test server need not survive a power cut, and fsyncs would slow every test.
  const [server, serverArgs] = command(join(bin, "postgres"), [
    "-D",
    data,
    "-k",
    dir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    ...(options.logStatements === true ? ["-c", "log_statement=all"] : [])
  ])
  let child: ChildProcess | undefined
  let log = ""
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const launch = async () => {
    if (running()) return
    log = ""
    const started = spawn(server, serverArgs, { stdio: ["ignore", "ignore", "pipe"] })
    child = started
    started.stderr!.on("data", (chunk) => {
      log += chunk
    })
    await ready(started, () => log)
  }
  const pause = async () => {
    const running = child
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const [ctl, ctlArgs] = command(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "fast", "-s"])
    try {
      execFileSync(ctl, ctlArgs, { stdio: "pipe" })
    } catch {
      running.kill("SIGINT")
    }
    if (running.exitCode === null && running.signalCode === null) {
      await new Promise((resolve) => running.once("exit", resolve))
    }
  }
  const stop = async () => {
    await pause()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await launch()
    const psql = (database: string, sql: string) =>
      execFileSync(
        join(bin, "psql"),
        ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1"],
        { input: sql, encoding: "utf8" }
      )
    psql("postgres", "CREATE DATABASE bedrock_embed")
    return {
      url: `postgres://postgres@127.0.0.1:${port}/bedrock_embed`,
      port,
      query: (sql) =>
        psql("bedrock_embed", sql)
          .split("\n")
          .filter((line) => line !== ""),
      log: () => log,
      pause,
      resume: launch,
      stop
    }
  } catch (cause) {
    await stop()
    throw cause
  }
}
