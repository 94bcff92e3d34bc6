#!/usr/bin/env node
/** `bedrock-embed`: the gateway, corpus embedder and emulator command line. */
import { embedNodeFlags } from "./internal/cli/nodeFlags.ts"

const flags = embedNodeFlags(process.argv, process.execArgv, process.env.NODE_OPTIONS)
if (flags.length > 0 && typeof process.execve === "function") {
  // Same process (same pid, signals, stdio), restarted before anything is loaded.
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)])
}
const { main } = await import("./Cli.ts")
main()
