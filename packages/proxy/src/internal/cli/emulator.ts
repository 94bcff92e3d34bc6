/**
 * `bedrock-embed emulator`: the optional emulator's own command line, loaded when it runs. The
 * arguments after `emulator` go to it unparsed, so its flags, help and exit codes are its own
 * (declared once, in `@bedrock-embed/emulator`); this command only lists it in the help.
 *
 * @internal
 */
import type { CliError } from "effect/cli"
import { Console, Effect, Runtime } from "effect"
import { Command } from "effect/cli"
import { type CliFailure, lines, loadEmulator } from "./shared.ts"

/** Runs the emulator's command line on the arguments after `emulator`. */
export const runEmulator = (args: ReadonlyArray<string>): Effect.Effect<void, CliFailure | CliError.CliError> =>
  loadEmulator("the emulator command").pipe(
    // Outside `effect/cli`'s own run, so said here as it would say it.
    Effect.tapError((failure) =>
      Console.error(`bedrock-embed: ${failure.message}`).pipe(
        // Reported: the runtime must not log it again, with a stack (as `effect/cli` marks its own).
        Effect.andThen(Effect.sync(() => Object.assign(failure, { [Runtime.errorReported]: false })))
      )
    ),
    Effect.flatMap(({ Cli }) => Cli.run(args, "bedrock-embed emulator"))
  )

/** The entry in the help; `Cli.run` hands `emulator …` to {@link runEmulator} before parsing. */
export const emulator = Command.make("emulator").pipe(
  Command.withShortDescription("A local Bedrock Runtime (as bedrock-embed-emulator)"),
  Command.withDescription(
    lines(
      "A local AWS Bedrock Runtime for embedding models that the official AWS SDK accepts unchanged,",
      "as bedrock-embed-emulator (the optional package @bedrock-embed/emulator). Runs until SIGINT or SIGTERM.",
      "See bedrock-embed emulator --help for its flags."
    )
  )
)
