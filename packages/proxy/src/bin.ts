#!/usr/bin/env node
/** `bedrock-embed`: the gateway, corpus embedder and emulator command line. */
import { main } from "./Cli.ts"

main()
