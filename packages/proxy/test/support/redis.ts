/**
 * A real `redis-server` (Debian's `redis-server` package; `.ci/run` installs it) on a free port,
 * with no persistence, for tests. Without the binary the tests skip with a reason, except under
 * `CI=true`, where they fail: CI must run them.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { once } from "node:events"
import { createServer } from "node:net"

/** A running server: its port, and how to stop it. */
export interface RedisServer {
  readonly port: number
  readonly stop: () => Promise<void>
}

const binary = (): string | undefined => {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

/** The path of `redis-server`, or why the tests cannot run (a failure under CI, a skip otherwise). */
export const redisBinary = (): { readonly path: string } | { readonly missing: string } => {
  const path = binary()
  if (path !== undefined) return { path }
  const missing = "redis-server is not installed (Debian: apt-get install redis-server)"
  if (process.env.CI === "true") throw new Error(`${missing}; CI must run the Redis tests`)
  return { missing }
}

const freePort = async (): Promise<number> => {
  const server = createServer()
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const address = server.address()
  server.close()
  if (address === null || typeof address === "string") throw new Error("no port")
  return address.port
}

/** Starts `redis-server` and resolves once it accepts connections; `password` sets `requirepass`. */
export const startRedis = async (path: string, password?: string): Promise<RedisServer> => {
  const port = await freePort()
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
  if (password !== undefined) args.push("--requirepass", password)
  const child: ChildProcess = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const until = Date.now() + 10_000
  while (!output.includes("Ready to accept connections")) {
    if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${output.slice(-500)}`)
    if (Date.now() > until) throw new Error(`redis-server did not start within 10 s: ${output.slice(-500)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, "exit")
      child.kill("SIGTERM")
      await exited
    }
  }
}
