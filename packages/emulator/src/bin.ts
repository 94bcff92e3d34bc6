#!/usr/bin/env node
/** `bedrock-embed-emulator`: starts a local Bedrock Runtime and prints its URL. */
import { run } from "./Cli.ts"

await run(process.argv.slice(2))
