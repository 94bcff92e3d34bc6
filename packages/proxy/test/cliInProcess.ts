/**
 * `bedrock-embed` run in the test's own process: `Cli.run` on the arguments, as `main` runs it
 * (the same error reporting and {@link exitCode}), with what it prints captured instead of
 * written. Spawning the binary costs a Node start and the type stripping of the whole proxy
 * (1–2 s a run); tests about what the command does to files use this, tests about the process
 * itself (signals, kill -9, the real exit status) spawn it with `bedrockEmbed` from `./cli.ts`.
 *
 * Runs are one at a time: while one runs, `process.env` holds its environment and
 * `process.stdout`/`process.stderr` writes (the progress bar, batch mode's notes) are its output.
 */
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import { EMULATOR_CREDENTIALS } from "@bedrock-embed/emulator"
import { Cause, Console, Effect, Runtime } from "effect"
import { exitCode, run } from "../src/Cli.ts"
import { bedrockEmbed } from "./cli.ts"

/** What a run printed and the exit code `bedrock-embed` would have ended with. */
export interface Outcome {
  readonly code: number
  readonly out: string
  readonly err: string
}

/** A stream that appends what is written to `sink`. */
const collector = (sink: (text: string) => void) =>
  new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      sink(chunk.toString())
      callback()
    }
  })

/** `process.env` with `env` (`""` included, as a spawn passes it) until the returned undo. */
const withEnv = (env: Record<string, string>) => {
  const before = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]))
  Object.assign(process.env, env)
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** The process's own writes to `stream` go to `sink` until the returned undo. */
const redirect = (stream: NodeJS.WriteStream, sink: (text: string) => void) => {
  const write = stream.write
  stream.write = ((chunk: Uint8Array | string, ...rest: Array<unknown>) => {
    sink(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString())
    const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined
    callback?.()
    return true
  }) as typeof stream.write
  return () => {
    stream.write = write
  }
}

/** As `Runtime.makeRunMain` reports a failure nobody reported yet (`NodeRuntime.runMain`'s default). */
const reported = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.tapCause(effect, (cause) =>
    Cause.hasInterruptsOnly(cause) || !Runtime.getErrorReported(Cause.squash(cause))
      ? Effect.void
      : Effect.logError(cause)
  )

const once = async (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Outcome> => {
  let out = ""
  let err = ""
  const toOut = (text: string) => {
    out += text
  }
  const toErr = (text: string) => {
    err += text
  }
  const console = new NodeConsole({ stdout: collector(toOut), stderr: collector(toErr), colorMode: false })
  const undo = [
    withEnv({
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_PROFILE: "",
      ...env
    }),
    redirect(process.stdout, toOut),
    redirect(process.stderr, toErr)
  ]
  try {
    const exit = await Effect.runPromiseExit(
      reported(run(args)).pipe(Effect.provideService(Console.Console, console as Console.Console))
    )
    return { code: exitCode(exit), out, err }
  } finally {
    for (const restore of undo.reverse()) restore()
  }
}

let queue: Promise<unknown> = Promise.resolve()

/**
 * Runs `bedrock-embed <args>` in this process, after the runs already asked for, with the
 * emulator's identity in the environment (as `bedrockEmbed` spawns it) and `env` on top.
 */
export const bedrockEmbedInProcess = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<Outcome> => {
  const outcome = queue.then(() => once(args, env))
  queue = outcome.catch(() => undefined)
  return outcome
}

/**
 * `bedrock-embed embed` against an endpoint (`endpoint` and `extra` are read when called: an
 * emulator started in `beforeAll`), with `--region us-east-1 --no-progress` and `extra` before each call's own
 * arguments: `embed` runs it in this process, `spawnEmbed` as a child (for kill -9 and the like).
 */
export const embedCommand = (endpoint: () => string, extra: () => ReadonlyArray<string> = () => []) => {
  const argsOf = (args: ReadonlyArray<string>) => [
    "embed",
    "--endpoint",
    endpoint(),
    "--region",
    "us-east-1",
    "--no-progress",
    ...extra(),
    ...args
  ]
  return {
    embed: (args: ReadonlyArray<string>) => bedrockEmbedInProcess(argsOf(args)),
    spawnEmbed: (args: ReadonlyArray<string>) => bedrockEmbed(argsOf(args))
  }
}
