/**
 * What every benchmark section that starts processes needs: a scratch directory and a set of
 * children, both gone when the section exits (normally, by an error, or by a signal), and an
 * environment without AWS or Bedrock settings, so no child reaches a real account.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"

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
