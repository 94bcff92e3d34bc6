/**
 * The `bedrock-embed` command line, on `effect/cli`:
 *
 *   bedrock-embed serve [--config config.yaml] [--port 4000] [--host 127.0.0.1]
 *   bedrock-embed embed --model M --in docs.jsonl --out vectors.jsonl [...]
 *   bedrock-embed emulator [emulator options]
 *
 * Every command answers `--help` (and `bedrock-embed help [command]`); `bedrock-embed --version`
 * prints the version. `serve` without
 * `--config` starts the embedded Bedrock emulator and a built-in configuration naming every model,
 * and says so in its banner. The emulator is the optional package `@bedrock-embed/emulator`,
 * loaded only by `serve` without `--config` and by `emulator`.
 *
 * Exit codes (mapped from the program's outcome in one place, {@link exitCode}):
 *
 * | code | meaning                                                                          |
 * | ---- | -------------------------------------------------------------------------------- |
 * | 0    | done; `serve` and `emulator` stopped by SIGINT or SIGTERM after closing; help    |
 * | 1    | runtime failure: invalid config, cannot listen, emulator not installed, embed failure |
 * | 2    | usage error: unknown command or flag, bad or missing value                       |
 * | 3    | `embed` finished but some inputs failed (see `<out>.errors.jsonl`; re-run to retry) |
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Layer, Runtime, Schema } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag } from "effect/cli"
import { embed } from "./internal/cli/embed.ts"
import { emulator, runEmulator } from "./internal/cli/emulator.ts"
import { serve } from "./internal/cli/serve.ts"
import { type CliFailure, ExitCode, lines } from "./internal/cli/shared.ts"

export {
  /**
   * A failure the command line reports to its user (on stderr) and the exit code it ends with.
   *
   * @category errors
   * @since 0.1.0
   */
  CliFailure,
  /**
   * The exit codes of `bedrock-embed`.
   *
   * @category constants
   * @since 0.1.0
   */
  ExitCode
} from "./internal/cli/shared.ts"

/**
 * The `bedrock-embed` command and its subcommands.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("bedrock-embed").pipe(
  Command.withDescription(
    lines(
      "AWS Bedrock embeddings: an OpenAI-compatible gateway, a corpus embedder and a local emulator.",
      "Exit codes: 0 ok (serve and emulator: stopped by SIGINT/SIGTERM), 1 runtime failure (invalid",
      "config, cannot listen, embed failure), 2 usage error, 3 embed finished with failed inputs.",
      "bedrock-embed help <command> (or <command> --help) shows a command's flags."
    )
  ),
  Command.withSubcommands([serve, embed, emulator])
)

/**
 * The exit code of a run: the one place outcomes become codes. Success and a stop by signal
 * (interruption) are 0; `effect/cli` usage errors are 2; a {@link CliFailure} (also the
 * emulator's) carries its code; anything else is 1.
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
 * How `effect/cli` output looks: help and version as usual; errors as `bedrock-embed: <message>`
 * on stderr, followed by where to find the usage.
 *
 * @category running
 * @since 0.1.0
 */
export const layerOutput: Layer.Layer<never> = (() => {
  const base = CliOutput.defaultFormatter()
  const line = (error: { readonly message: string }) => `${command.name}: ${error.message}`
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
})()

const version = (): string =>
  Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Struct({ version: Schema.String })))(
    readFileSync(new URL("../package.json", import.meta.url), "utf8")
  ).version

/**
 * Runs the command line on the given arguments (without the program name).
 *
 * @category running
 * @since 0.1.0
 */
export const run = (args: ReadonlyArray<string>): Effect.Effect<void, CliFailure | CliError.CliError> => {
  const argv = helpArgs(args)
  return argv[0] === "emulator"
    ? runEmulator(argv.slice(1))
    : Command.runWith(command, { version: version() })(argv).pipe(
        Effect.provide(Layer.merge(NodeServices.layer, layerOutput))
      )
}

const commandNames: ReadonlyArray<string> = [serve.name, embed.name, emulator.name]

/**
 * `help [command]` as `[command] --help`: the word users try first after `--help`, answered with
 * the same text (`effect/cli` knows only the flag). `help <unknown>` stays an unknown command.
 *
 * @category running
 * @since 0.1.0
 */
export const helpArgs = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (args[0] !== "help") return args
  const [name] = args.slice(1)
  return name === undefined || commandNames.includes(name) ? [...args.slice(1), "--help"] : args.slice(1)
}

/**
 * The program's entry point: runs {@link run} on `process.argv`, closes everything on SIGINT or
 * SIGTERM and exits with {@link exitCode}.
 *
 * @category running
 * @since 0.1.0
 */
export const main = (): void =>
  NodeRuntime.runMain(run(process.argv.slice(2)), { teardown: (exit, onExit) => onExit(exitCode(exit)) })
