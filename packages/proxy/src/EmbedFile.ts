/**
 * `bedrock-embed embed`: embeds a JSONL corpus into a JSONL file of vectors, resumably.
 *
 * Each input line is an object with an id and a text field; each output line is
 * `{"id": …, "embedding": [...]}`, in input order. Lines are appended one write at a time, so a
 * crash (even `kill -9`) loses at most the line being written; a re-run drops a torn last line,
 * skips every id already written and never writes one twice. Inputs that fail after retries go to
 * `<out>.errors.jsonl` (and are retried by the next run), not into the vectors.
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs"
import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import { Embeddings, type Errors, Jobs } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"
import { Presets, SingleBar } from "cli-progress"
import { Effect, ManagedRuntime, Result, Schedule, Schema, Stream } from "effect"

/**
 * Options of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly model: string
  readonly input: string
  readonly output: string
  /** The text field of each input line; default `text`. */
  readonly field?: string | undefined
  /** The id field of each input line; default `id` (the line number when absent). */
  readonly idField?: string | undefined
  /** Other request parameters: `dimensions`, region, endpoint, model parameters. */
  readonly request?: Readonly<Record<string, unknown>> | undefined
  /** Engine options (concurrency, retries). */
  readonly engine?: BedrockEmbed.Options["engine"]
  /** Show a progress bar (default: when stderr is a terminal). */
  readonly progress?: boolean | undefined
  /**
   * `stream` (default): InvokeModel calls from this machine. `batch`: one Bedrock batch inference
   * job (CreateModelInvocationJob) for the inputs not yet in the output — for corpora beyond one
   * machine; needs `batch.s3Uri` and `batch.roleArn`.
   */
  readonly mode?: "stream" | "batch" | undefined
  readonly batch?: BatchOptions | undefined
}

/**
 * Batch mode settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchOptions {
  /** Working folder for records and results, `s3://bucket/prefix`. */
  readonly s3Uri: string
  /** The IAM service role Bedrock assumes to read and write there. */
  readonly roleArn: string
  /** Seconds between status checks; default 30. */
  readonly pollSeconds?: number | undefined
}

/**
 * What a run did.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly total: number
  readonly skipped: number
  readonly embedded: number
  readonly failed: number
  readonly tokens: number
  readonly cost: number
  readonly seconds: number
  readonly calls: number
  readonly throttles: number
  /** Batch mode: the job's ARN. */
  readonly jobArn?: string | undefined
}

/**
 * A line of the input file that is not an input: not a JSON object, or without its text field.
 *
 * @category errors
 * @since 0.1.0
 */
export class InputFileError extends Schema.TaggedError<InputFileError>()("InputFileError", {
  message: Schema.String
}) {}

/**
 * What a run can fail with: a bad input line, the engine's or the jobs service's typed errors, or
 * the files themselves.
 *
 * @category errors
 * @since 0.1.0
 */
export type RunError =
  | InputFileError
  | Errors.EmbeddingError
  | Errors.AsyncJobFailedError
  | Errors.AsyncJobTimeoutError
  | Errors.ObjectStoreError
  | Errors.CredentialsError
  | Errors.UnsupportedModelError

/** Ids already in the output; a torn last line (no newline, or not JSON) is cut off first. */
const resume = (output: string): Set<string> => {
  const done = new Set<string>()
  if (!existsSync(output)) return done
  const text = readFileSync(output, "utf8")
  const lines = text.split("\n")
  // The last element is "" after a final newline, or a torn line without one: never kept.
  lines.pop()
  let kept = 0
  for (const line of lines) {
    try {
      done.add(String((JSON.parse(line) as { id: unknown }).id))
    } catch {
      // A corrupt line ends the valid prefix: everything after it is redone.
      break
    }
    kept += Buffer.byteLength(line) + 1
  }
  if (kept < statSync(output).size) truncateSync(output, kept)
  return done
}

const countLines = async (file: string): Promise<number> => {
  let count = 0
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim().length > 0) count++
  }
  return count
}

/** A progress bar on stderr. */
const progressBar = (format: string) =>
  new SingleBar({ format, stream: process.stderr, hideCursor: true, noTTYOutput: false }, Presets.shades_classic)

/**
 * One non-blank input line (the `at`-th, from 0): its id (the position when it has none) and
 * text, or `undefined` when the id is already done.
 */
const readInput = (
  options: Options,
  line: string,
  at: number,
  done: ReadonlySet<string>
): { readonly id: string; readonly text: string } | undefined => {
  const field = options.field ?? "text"
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    throw new InputFileError({ message: `${options.input}:${at + 1}: not a JSON object` })
  }
  const id = String(record[options.idField ?? "id"] ?? at)
  if (done.has(id)) return undefined
  const text = record[field]
  if (typeof text !== "string") {
    throw new InputFileError({ message: `${options.input}:${at + 1}: field "${field}" is not a string` })
  }
  return { id, text }
}

/** The inputs of the file not yet in the output, in file order. */
const pendingInputs = (options: Options, done: ReadonlySet<string>) =>
  Effect.tryPromise({
    try: async () => {
      const ids: Array<string> = []
      const texts: Array<string> = []
      let at = 0
      for await (const line of createInterface({
        input: createReadStream(options.input),
        crlfDelay: Number.POSITIVE_INFINITY
      })) {
        if (line.trim().length === 0) continue
        const input = readInput(options, line, at++, done)
        if (input === undefined) continue
        ids.push(input.id)
        texts.push(input.text)
      }
      return { ids, texts, total: at }
    },
    catch: (cause) =>
      cause instanceof InputFileError
        ? cause
        : new InputFileError({
            message: `cannot read ${options.input}: ${cause instanceof Error ? cause.message : String(cause)}`
          })
  })

const modelOf = (options: Options) =>
  options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`

/** The output and errors files, open for the run and closed after it, whatever its end. */
const outputFiles = (output: string) =>
  Effect.acquireRelease(
    Effect.sync(() => ({ fd: openSync(output, "a"), errors: openSync(`${output}.errors.jsonl`, "w") })),
    ({ fd, errors }) =>
      Effect.sync(() => {
        closeSync(fd)
        closeSync(errors)
      })
  )

/** A progress bar on stderr, stopped with the scope. */
const scopedBar = (format: string, show: boolean) =>
  Effect.acquireRelease(
    Effect.sync(() => progressBar(format)),
    (bar) => Effect.sync(() => show && bar.stop())
  )

/** Writes one result line: the vector to the output, a failure to the errors file. */
const writeItem = (
  files: { readonly fd: number; readonly errors: number },
  id: string,
  item: Embeddings.StreamItem
) => {
  if ("error" in item) {
    writeSync(files.errors, `${JSON.stringify({ id, error: item.error._tag, message: item.error.message })}\n`)
    return false
  }
  // One write per line: a crash tears at most this line, which the next run drops.
  writeSync(files.fd, `${JSON.stringify({ id, embedding: Array.from(item.embedding) })}\n`)
  return true
}

/** Batch mode: one batch inference job for what is missing, awaited, then written in input order. */
const batchProgram = (options: Options, batch: BatchOptions) =>
  Effect.gen(function* () {
    const started = performance.now()
    const done = resume(options.output)
    const { ids, texts, total } = yield* pendingInputs(options, done)
    const empty = { total, skipped: done.size, embedded: 0, failed: 0, tokens: 0, cost: 0, calls: 0, throttles: 0 }
    if (ids.length === 0) return { ...empty, seconds: (performance.now() - started) / 1000 } satisfies Summary
    const request = { ...options.request, model: modelOf(options), input: texts }
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(" {bar} {value}/{total} records | job {status} | {elapsed}s", showBar)
    const jobs = yield* Jobs.Jobs
    // The job's name and token derive from the records: a re-run after a crash finds the same job
    // instead of starting a second one.
    const submitted = yield* jobs.submit(request, { ...request, s3Uri: batch.s3Uri, roleArn: batch.roleArn })
    process.stderr.write(
      `submitted ${submitted.records} records as batch inference job ${submitted.jobArn} (inputs in ${submitted.inputUri})\n`
    )
    if (showBar) bar.start(submitted.records, 0, { status: "Submitted" })
    yield* jobs.await(submitted.jobArn, {
      // The request's region, endpoints and identity; its `timeout` is a per-call one, not the wait's.
      ...request,
      timeout: undefined,
      schedule: Schedule.spaced(`${batch.pollSeconds ?? 30} seconds`),
      onStatus: (status) => {
        const processed = status.request_counts.completed + status.request_counts.failed
        if (showBar) bar.update(processed, { status: status.metadata.bedrock_status })
      }
    })
    if (showBar) bar.update(submitted.records, { status: "Completed" })
    const results = yield* jobs.batchResults(submitted.jobArn, request)
    const files = yield* outputFiles(options.output)
    let embedded = 0
    for (const item of results.items) if (writeItem(files, ids[item.index]!, item)) embedded++
    return {
      ...empty,
      embedded,
      failed: results.items.length - embedded,
      tokens: results.tokens,
      cost: results.cost,
      calls: submitted.records,
      seconds: (performance.now() - started) / 1000,
      jobArn: submitted.jobArn
    } satisfies Summary
  }).pipe(Effect.scoped)

/** The input file's lines as inputs, each id remembered by its position among the inputs. */
const inputStream = (options: Options, done: ReadonlySet<string>, pending: Map<number, string>) => {
  let fed = 0
  let lineNumber = 0
  return Stream.fromAsyncIterable(
    createInterface({ input: createReadStream(options.input), crlfDelay: Number.POSITIVE_INFINITY }),
    (cause) => new InputFileError({ message: `cannot read ${options.input}: ${String(cause)}` })
  ).pipe(
    Stream.mapEffect((line: string) =>
      Effect.try({
        try: () => (line.trim().length === 0 ? undefined : readInput(options, line, lineNumber++, done)),
        catch: (cause) => (cause instanceof InputFileError ? cause : new InputFileError({ message: String(cause) }))
      })
    ),
    Stream.filterMap((input) => {
      if (input === undefined) return Result.fail(undefined)
      pending.set(fed++, input.id)
      return Result.succeed(input.text)
    })
  )
}

/** Stream mode: InvokeModel calls from this machine, results written in input order as they come. */
const streamProgram = (options: Options) =>
  Effect.gen(function* () {
    const started = performance.now()
    const done = resume(options.output)
    const total = yield* Effect.promise(() => countLines(options.input))
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(
      " {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | throttles {throttles} | failed {failed}",
      showBar
    )
    if (showBar) bar.start(total, 0, { rate: "0", throttles: 0, failed: 0 })
    const engine = yield* Embeddings.Embeddings
    const files = yield* outputFiles(options.output)
    const pending = new Map<number, string>()
    const counts = { embedded: 0, failed: 0, tokens: 0, cost: 0 }
    const before = engine.stats()
    yield* engine
      .embedStream({ ...options.request, model: modelOf(options) }, inputStream(options, done, pending))
      .pipe(
        Stream.runForEach((item) =>
          Effect.sync(() => {
            const id = pending.get(item.index)!
            pending.delete(item.index)
            writeItem(files, id, item)
            if ("error" in item) counts.failed++
            else {
              counts.embedded++
              counts.tokens += item.tokens ?? 0
              counts.cost += item.cost ?? 0
            }
            if (showBar) {
              const seconds = (performance.now() - started) / 1000
              bar.update(done.size + counts.embedded + counts.failed, {
                rate: ((counts.embedded + counts.failed) / Math.max(seconds, 0.001)).toFixed(0),
                throttles: engine.stats().throttles - before.throttles,
                failed: counts.failed
              })
            }
          })
        )
      )
    const stats = engine.stats()
    return {
      total,
      skipped: done.size,
      ...counts,
      seconds: (performance.now() - started) / 1000,
      calls: stats.calls - before.calls,
      throttles: stats.throttles - before.throttles
    } satisfies Summary
  }).pipe(Effect.scoped)

/**
 * The command as an Effect program on the engine and the jobs service (provide
 * `BedrockEmbed.layer`): interrupting it stops the calls in flight and keeps what was written.
 *
 * @category constructors
 * @since 0.1.0
 */
export const program = (options: Options): Effect.Effect<Summary, RunError, Embeddings.Embeddings | Jobs.Jobs> => {
  if (options.mode !== "batch") return streamProgram(options)
  if (options.batch === undefined) {
    return Effect.fail(new InputFileError({ message: "batch mode needs an S3 working folder and a role ARN" }))
  }
  return batchProgram(options, options.batch)
}

/**
 * Runs the command with its own engine (`options.engine`); rejects with the typed error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = async (options: Options): Promise<Summary> => {
  const runtime = ManagedRuntime.make(
    BedrockEmbed.layer(options.engine === undefined ? {} : { engine: options.engine })
  )
  try {
    return await runtime.runPromise(program(options))
  } finally {
    await runtime.dispose()
  }
}
