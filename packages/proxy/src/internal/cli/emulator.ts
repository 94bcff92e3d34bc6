/**
 * `bedrock-embed emulator`: the optional emulator's command, loaded when it runs.
 *
 * @internal
 */
import type { Cli as EmulatorCli } from "@bedrock-embed/emulator"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { lines, loadEmulator, numberFlag, switchFlag, text } from "./shared.ts"

// emulator: the same flags as `bedrock-embed-emulator`, parsed here because the package that
// defines them is loaded only once this command runs (test/cli.test.ts checks they agree).

const emulatorFlags = {
  port: numberFlag("port", {
    min: 0,
    max: 65535,
    integer: true,
    description: "port to listen on (default 4010; 0 picks a free port)"
  }),
  host: Flag.String("host").pipe(
    Flag.withMetavar("HOST"),
    Flag.withDefault("127.0.0.1"),
    Flag.withDescription("address to bind (default 127.0.0.1)")
  ),
  region: Flag.String("region").pipe(
    Flag.withMetavar("R"),
    Flag.withDefault("us-east-1"),
    Flag.withDescription("region used in ARNs (default us-east-1)")
  ),
  latencyMs: numberFlag("latency-ms", {
    min: 0,
    env: "BEDROCK_EMULATOR_LATENCY_MS",
    description: "add N ms to every InvokeModel call"
  }),
  throttleRps: numberFlag("throttle-rps", {
    min: 0,
    env: "BEDROCK_EMULATOR_THROTTLE_RPS",
    description: "throttle calls above N per second"
  }),
  errorRate: numberFlag("error-rate", {
    min: 0,
    max: 1,
    env: "BEDROCK_EMULATOR_ERROR_RATE",
    description: "answer a ratio N (0-1) of calls 5xx"
  }),
  seed: numberFlag("seed", { min: 0, env: "BEDROCK_EMULATOR_SEED", description: "seed of the fault generator" }),
  asyncDelayMs: numberFlag("async-delay-ms", {
    min: 0,
    env: "BEDROCK_EMULATOR_ASYNC_DELAY_MS",
    description: "how long async jobs stay InProgress"
  }),
  s3Endpoint: text("s3-endpoint", "URL", "use this S3 endpoint for async jobs instead of starting one"),
  noS3: switchFlag("no-s3", "start no S3 server (async jobs then fail)"),
  noVerifySignatures: switchFlag("no-verify-signatures", "accept any SigV4 signature")
}

const emulatorHandler = (flags: EmulatorCli.Flags) =>
  Effect.gen(function* () {
    const { Cli } = yield* loadEmulator("the emulator command")
    return yield* Cli.serve(Cli.toOptions(flags))
  })

export const emulator = Command.make("emulator", emulatorFlags, emulatorHandler).pipe(
  Command.withShortDescription("A local Bedrock Runtime (as bedrock-embed-emulator)"),
  Command.withDescription(
    lines(
      "A local AWS Bedrock Runtime for embedding models that the official AWS SDK accepts unchanged,",
      "as bedrock-embed-emulator (the optional package @bedrock-embed/emulator). Runs until SIGINT or SIGTERM."
    )
  )
)
