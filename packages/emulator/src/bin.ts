#!/usr/bin/env node
/** `bedrock-embed-emulator`: starts a local Bedrock Runtime and prints its URL. */
import { main } from "./Cli.ts"

main()
