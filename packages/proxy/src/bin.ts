#!/usr/bin/env node
/**
 * `bedrock-embed`: the gateway, corpus embedder and emulator command line.
 *
 * The Node.js version is checked first: this module statically imports only `internal/nodeVersion.ts`
 * (which imports nothing), so an older Node prints one line and exits 1; the rest is loaded by
 * dynamic `import()` after the check.
 */
import { nodeTooOld } from "./internal/nodeVersion.ts"

const tooOld = nodeTooOld("bedrock-embed", process.version)
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`)
  process.exitCode = 1
} else {
  const { embedNodeFlags } = await import("./internal/cli/nodeFlags.ts")
  const flags = embedNodeFlags(process.argv, process.execArgv, process.env.NODE_OPTIONS)
  if (flags.length > 0 && typeof process.execve === "function") {
    // Same process (same pid, signals, stdio), restarted before anything else is loaded.
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)])
  }
  const { main } = await import("./Cli.ts")
  main()
}
