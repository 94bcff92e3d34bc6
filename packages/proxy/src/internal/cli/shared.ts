/**
 * What the commands share: exit codes, the failure they report, flag builders, the optional emulator.
 *
 * @internal
 */
import { Config as EffectConfig, Effect, type Option, Runtime, Schema } from "effect"
import { CliError, Flag } from "effect/cli"

/**
 * The exit codes of `bedrock-embed`.
 *
 * @category constants
 * @since 0.1.0
 */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2, InputsFailed: 3 } as const

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

export const failure = (message: string) => new CliFailure({ message, exitCode: ExitCode.Failure })
export const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
/** Help descriptions are printed indented by two spaces; so are their continuation lines. */
export const lines = (...text: ReadonlyArray<string>) => text.join("\n  ")

/** `--name N`: a number in a range, else a usage error naming the flag; from `env` when absent. */
export const numberFlag = (
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
  return (options.env === undefined ? flag : flag.pipe(Flag.withFallbackConfig(EffectConfig.String(options.env)))).pipe(
    Flag.mapEffect((raw) => {
      const n = raw.trim() === "" ? Number.NaN : Number(raw)
      return Number.isFinite(n) && n >= options.min && n <= max && (options.integer !== true || Number.isInteger(n))
        ? Effect.succeed(n)
        : Effect.fail(new CliError.ValidationError({ message: `--${name} must be ${kind} ${range}; got "${raw}"` }))
    }),
    Flag.optional
  )
}

export const positive = (name: string, description: string) => numberFlag(name, { min: 1, integer: true, description })
export const text = (name: string, metavar: string, description: string) =>
  Flag.String(name).pipe(Flag.withMetavar(metavar), Flag.withDescription(description), Flag.optional)
export const switchFlag = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withoutNegation, Flag.withDefault(false), Flag.withDescription(description))

/** Whether an `import()` of `pkg` failed because `pkg` itself is not installed (not one of its own imports). */
export const isMissingPackage = (cause: unknown, pkg: string): boolean => {
  const { code, message } = (cause ?? {}) as { readonly code?: unknown; readonly message?: unknown }
  return (
    code === "ERR_MODULE_NOT_FOUND" &&
    typeof message === "string" &&
    (message.includes(`'${pkg}'`) || message.includes(`'${pkg}/`))
  )
}

/**
 * The failure of loading the optional emulator for `who` (a command): one line naming the package
 * to install when it is missing, else what went wrong loading it.
 */
export const emulatorLoadFailure = (who: string, cause: unknown, pkg = "@bedrock-embed/emulator"): CliFailure =>
  failure(
    isMissingPackage(cause, pkg)
      ? `${who} needs the optional package ${pkg}, which is not installed: npm install ${pkg} (next to @bedrock-embed/proxy)` +
          (who === "serve without --config" ? ", or pass --config config.yaml to serve your own models" : "")
      : `${who} cannot load ${pkg}: ${messageOf(cause).split("\n")[0]}`
  )

/** The emulator, imported only when a command needs it: it is an optional peer dependency. */
export const loadEmulator = (who: string) =>
  Effect.tryPromise({
    try: () => import("@bedrock-embed/emulator"),
    catch: (cause) => emulatorLoadFailure(who, cause)
  })
