#!/usr/bin/env node
/**
 * `bedrock-embed-emulator`: starts a local Bedrock Runtime and prints its URL.
 *
 * The Node.js version is checked first: this module statically imports only `internal/nodeVersion.ts`
 * (which imports nothing), so an older Node prints one line and exits 1; the emulator is loaded
 * by dynamic `import()` after the check.
 */
import { nodeTooOld } from "./internal/nodeVersion.ts"

const tooOld = nodeTooOld("bedrock-embed-emulator", process.version)
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`)
  process.exitCode = 1
} else {
  const { main } = await import("./Cli.ts")
  main()
}
