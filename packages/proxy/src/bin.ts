#!/usr/bin/env node
/** `bedrock-embed`: the gateway and emulator command line. */
import { run } from "./Cli.ts"

await run(process.argv.slice(2))
