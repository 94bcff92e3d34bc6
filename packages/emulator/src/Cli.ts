/**
 * The emulator's command line: `bedrock-embed-emulator [options]`, on `effect/cli`.
 *
 * Exit codes:
 *
 * | code | meaning                                                               |
 * | ---- | --------------------------------------------------------------------- |
 * | 0    | stopped by SIGINT or SIGTERM after closing, or `--help` / `--version` |
 * | 1    | runtime failure: the emulator cannot start (port taken, bad host)     |
 * | 2    | usage error: unknown flag, bad value                                  |
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Config, Console, Effect, Exit, Layer, Option, Runtime, Schema } from "effect"
import { CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import { EMULATOR_CREDENTIALS } from "./Auth.ts"
import { type Emulator, type EmulatorOptions, startEmulator } from "./Server.ts"

/**
 * The exit codes of `bedrock-embed-emulator`.
 *
 * @category constants
 * @since 0.1.0
 */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const

/**
 * A failure the command line reports to its user (on stderr, through `effect/cli`) and the exit
 * code it ends the process with.
 *
 * @category errors
 * @since 0.1.0
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  message: Schema.String,
  exitCode: Schema.Number
}) {
  /** `effect/cli` prints handler failures that carry a user message. */
  override get [CliError.userMessage](): string {
    return this.message
  }
  /** The runtime's teardown reads the exit code from here. */
  override get [Runtime.errorExitCode](): number {
    return this.exitCode
  }
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** `--name N`: a number in a range, else a usage error naming the flag; from `env` when absent. */
const numberFlag = (
  name: string,
  options: {
    readonly min: number
    readonly max?: number
    readonly integer?: boolean
    readonly env?: string
    readonly description: string
  }
): Flag.Flag<Option.Option<number>> => {
  const max = options.max ?? Number.POSITIVE_INFINITY
  const kind = options.integer === true ? "an integer" : "a number"
  const range = Number.isFinite(max) ? `from ${options.min} to ${max}` : `of at least ${options.min}`
  const flag = Flag.String(name).pipe(
    Flag.withMetavar("N"),
    Flag.withDescription(
      options.env === undefined ? options.description : `${options.description} (env ${options.env})`
    )
  )
  return (options.env === undefined ? flag : flag.pipe(Flag.withFallbackConfig(Config.String(options.env)))).pipe(
    Flag.mapEffect((raw) => {
      const n = raw.trim() === "" ? Number.NaN : Number(raw)
      return Number.isFinite(n) && n >= options.min && n <= max && (options.integer !== true || Number.isInteger(n))
        ? Effect.succeed(n)
        : Effect.fail(new CliError.ValidationError({ message: `--${name} must be ${kind} ${range}; got "${raw}"` }))
    }),
    Flag.optional
  )
}

/**
 * The emulator's flags, as `effect/cli` parses them.
 *
 * @category flags
 * @since 0.1.0
 */
export const flags = {
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
  s3Endpoint: Flag.String("s3-endpoint").pipe(
    Flag.withMetavar("URL"),
    Flag.withDescription("use this S3 endpoint for async jobs instead of starting one"),
    Flag.optional
  ),
  noS3: Flag.Boolean("no-s3").pipe(
    Flag.withoutNegation,
    Flag.withDefault(false),
    Flag.withDescription("start no S3 server (async jobs then fail)")
  ),
  noVerifySignatures: Flag.Boolean("no-verify-signatures").pipe(
    Flag.withoutNegation,
    Flag.withDefault(false),
    Flag.withDescription("accept any SigV4 signature")
  )
}

/**
 * The parsed flags.
 *
 * @category models
 * @since 0.1.0
 */
export type Flags = Command.Command.Config.Infer<typeof flags>

/**
 * The emulator options the flags describe.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toOptions = (parsed: Flags): EmulatorOptions => ({
  port: Option.getOrElse(parsed.port, () => 4010),
  host: parsed.host,
  region: parsed.region,
  latencyMs: Option.getOrUndefined(parsed.latencyMs),
  throttleRps: Option.getOrUndefined(parsed.throttleRps),
  errorRate: Option.getOrUndefined(parsed.errorRate),
  seed: Option.getOrUndefined(parsed.seed),
  asyncDelayMs: Option.getOrUndefined(parsed.asyncDelayMs),
  s3Endpoint: Option.getOrUndefined(parsed.s3Endpoint),
  s3: !parsed.noS3,
  verifySignatures: !parsed.noVerifySignatures
})

/** What to change when the listening socket is refused, by Node's error code. */
const listenHints: Readonly<Record<string, string>> = {
  EADDRINUSE: "stop what listens there, or pick another --port (--port 0 picks a free one)",
  EACCES: "ports below 1024 need privileges; pick --port 1024 or above (--port 0 picks a free one)",
  EADDRNOTAVAIL: "pass --host 127.0.0.1, 0.0.0.0 (every interface) or one of this machine's addresses",
  ENOTFOUND: "pass --host an IP address or a name this machine resolves"
}

/** Why the emulator cannot listen (Node's reason) and what to change. */
const listenFailure = (options: EmulatorOptions, cause: unknown): string => {
  const code = (cause as { readonly code?: unknown } | undefined)?.code
  const hint = typeof code === "string" ? listenHints[code] : undefined
  const where = `${options.host ?? "127.0.0.1"}:${options.port ?? 4010}`
  return `cannot listen on ${where}: ${messageOf(cause) || "no reason given"}${hint === undefined ? "" : `; ${hint}`}`
}

const banner = (emulator: Emulator): string =>
  `Bedrock emulator listening on ${emulator.url}\n` +
  `  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=${emulator.url}\n` +
  (emulator.s3Url === undefined ? "" : `  export AWS_ENDPOINT_URL_S3=${emulator.s3Url}\n`) +
  `  export AWS_ACCESS_KEY_ID=${EMULATOR_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${EMULATOR_CREDENTIALS.secretAccessKey} AWS_REGION=${emulator.region}`

/**
 * Starts an emulator, prints its URL and the environment that points the AWS SDK at it, and
 * serves until interrupted (SIGINT or SIGTERM under {@link main}); the emulator is closed then.
 *
 * @category constructors
 * @since 0.1.0
 */
export const serve = (options: EmulatorOptions): Effect.Effect<never, CliFailure> =>
  Effect.scoped(
    Effect.gen(function* () {
      const emulator = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => startEmulator(options),
          catch: (cause) => new CliFailure({ message: listenFailure(options, cause), exitCode: ExitCode.Failure })
        }),
        (emulator) => Effect.promise(() => emulator.close())
      )
      yield* Console.log(banner(emulator))
      return yield* Effect.never
    })
  )

/**
 * The emulator's command under a name: `bedrock-embed-emulator`, or `bedrock-embed emulator` when
 * the gateway's command line runs it.
 *
 * @category commands
 * @since 0.1.0
 */
export const commandNamed = (name: string) =>
  Command.make(name, flags, (parsed) => serve(toOptions(parsed))).pipe(
    Command.withDescription(
      "A local AWS Bedrock Runtime for embedding models that the official AWS SDK accepts unchanged.\n" +
        "  Runs until SIGINT or SIGTERM. Exit codes: 0 stopped or help shown, 1 cannot start, 2 usage error."
    ),
    Command.withExamples([
      { command: `${name} --port 4010`, description: "serve on http://127.0.0.1:4010" },
      { command: `${name} --port 0 --error-rate 0.1`, description: "a free port, 10% of calls 5xx" }
    ])
  )

/**
 * The `bedrock-embed-emulator` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = commandNamed("bedrock-embed-emulator")

/**
 * The exit code of a run: the one place outcomes become codes. Success and a stop by signal
 * (interruption) are 0; `effect/cli` usage errors are 2; a {@link CliFailure} carries its code;
 * anything else is 1.
 *
 * @category running
 * @since 0.1.0
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return ExitCode.Ok
  const error = Cause.squash(exit.cause)
  if (CliError.isCliError(error) && error._tag !== "UserError") {
    // Help with no errors is what a command without a handler shows when called bare.
    return error._tag === "ShowHelp" && error.errors.length === 0 ? ExitCode.Ok : ExitCode.Usage
  }
  return Runtime.getErrorExitCode(error)
}

/**
 * How `effect/cli` output looks: help and version as usual; errors as `<name>: <message>` on
 * stderr, followed by where to find the usage (not the whole help, which goes to stdout only
 * when asked for).
 *
 * @category running
 * @since 0.1.0
 */
export const layerOutput = (name: string): Layer.Layer<never> => {
  const base = CliOutput.defaultFormatter({ globalFlags: "summary" })
  const line = (error: { readonly message: string }) => `${name}: ${error.message}`
  const formatter: CliOutput.Formatter = {
    ...base,
    formatError: line,
    formatErrors: (errors) => errors.map(line).join("\n")
  }
  const presenter: CliOutput.Presenter = {
    present: (event) =>
      event._tag === "InvalidInvocation"
        ? Console.error(
            `${formatter.formatErrors(event.errors)}\nRun "${event.commandPath.join(" ")} --help" for usage.`
          )
        : CliOutput.defaultPresenter.present(event)
  }
  return Layer.mergeAll(
    CliOutput.layer(formatter),
    CliOutput.layerPresenter(presenter),
    CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })
  )
}

/**
 * The `version` of the package.json next to `src/` or `dist/`.
 *
 * @category running
 * @since 0.1.0
 */
export const packageVersion = (from: string): string =>
  Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Struct({ version: Schema.String })))(
    readFileSync(new URL("../package.json", from), "utf8")
  ).version

/**
 * Runs the command line on the given arguments (without the program name); `name` is the
 * command's name in its help and messages.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (
  args: ReadonlyArray<string>,
  name: string = command.name
): Effect.Effect<void, CliFailure | CliError.CliError> =>
  Command.runWith(name === command.name ? command : commandNamed(name), { version: packageVersion(import.meta.url) })(
    // `help` as `--help`: the word users try first, answered with the same text.
    args[0] === "help" ? ["--help"] : args
  ).pipe(Effect.provide(Layer.merge(NodeServices.layer, layerOutput(name))))

/**
 * The program's entry point: runs {@link run} on `process.argv`, closes everything on SIGINT or
 * SIGTERM and exits with {@link exitCode}.
 *
 * @category running
 * @since 0.1.0
 */
export const main = (): void =>
  NodeRuntime.runMain(run(process.argv.slice(2)), { teardown: (exit, onExit) => onExit(exitCode(exit)) })
