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
import { Embeddings, Jobs } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"
import { Presets, SingleBar } from "cli-progress"
import { Effect, ManagedRuntime, Result, Schedule, Stream } from "effect"

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
    throw new Error(`${options.input}:${at + 1}: not a JSON object`)
  }
  const id = String(record[options.idField ?? "id"] ?? at)
  if (done.has(id)) return undefined
  const text = record[field]
  if (typeof text !== "string") throw new Error(`${options.input}:${at + 1}: field "${field}" is not a string`)
  return { id, text }
}

/** The inputs of the file not yet in the output, in file order. */
const pendingInputs = async (options: Options, done: ReadonlySet<string>) => {
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
}

/** Batch mode: one batch inference job for what is missing, awaited, then written in input order. */
const runBatch = async (options: Options, batch: BatchOptions): Promise<Summary> => {
  const started = performance.now()
  const done = resume(options.output)
  const { ids, texts, total } = await pendingInputs(options, done)
  const model = options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`
  const empty = { total, skipped: done.size, embedded: 0, failed: 0, tokens: 0, cost: 0, calls: 0, throttles: 0 }
  if (ids.length === 0) return { ...empty, seconds: (performance.now() - started) / 1000 }
  const request = { ...options.request, model, input: texts }
  const showBar = options.progress ?? process.stderr.isTTY === true
  const bar = progressBar(" {bar} {value}/{total} records | job {status} | {elapsed}s")
  const runtime = ManagedRuntime.make(
    BedrockEmbed.layer(options.engine === undefined ? {} : { engine: options.engine })
  )
  try {
    // The job's name and token derive from the records: a re-run after a crash finds the same job
    // instead of starting a second one.
    const submitted = await runtime.runPromise(
      Jobs.Jobs.use((jobs) => jobs.submit(request, { ...request, s3Uri: batch.s3Uri, roleArn: batch.roleArn }))
    )
    process.stderr.write(
      `submitted ${submitted.records} records as batch inference job ${submitted.jobArn} (inputs in ${submitted.inputUri})\n`
    )
    if (showBar) bar.start(submitted.records, 0, { status: "Submitted" })
    await runtime.runPromise(
      Jobs.Jobs.use((jobs) =>
        jobs.await(submitted.jobArn, {
          // The request's region, endpoints and identity; its `timeout` is a per-call one, not the wait's.
          ...request,
          timeout: undefined,
          schedule: Schedule.spaced(`${batch.pollSeconds ?? 30} seconds`),
          onStatus: (status) => {
            const processed = status.request_counts.completed + status.request_counts.failed
            if (showBar) bar.update(processed, { status: status.metadata.bedrock_status })
          }
        })
      )
    )
    if (showBar) bar.update(submitted.records, { status: "Completed" })
    const results = await runtime.runPromise(Jobs.Jobs.use((jobs) => jobs.batchResults(submitted.jobArn, request)))
    const fd = openSync(options.output, "a")
    const errors = openSync(`${options.output}.errors.jsonl`, "w")
    let embedded = 0
    let failed = 0
    try {
      for (const item of results.items) {
        const id = ids[item.index]!
        if ("error" in item) {
          failed++
          writeSync(errors, `${JSON.stringify({ id, error: item.error._tag, message: item.error.message })}\n`)
        } else {
          embedded++
          writeSync(fd, `${JSON.stringify({ id, embedding: Array.from(item.embedding) })}\n`)
        }
      }
    } finally {
      closeSync(fd)
      closeSync(errors)
    }
    return {
      ...empty,
      embedded,
      failed,
      tokens: results.tokens,
      cost: results.cost,
      calls: submitted.records,
      seconds: (performance.now() - started) / 1000,
      jobArn: submitted.jobArn
    }
  } finally {
    if (showBar) bar.stop()
    await runtime.dispose()
  }
}

/**
 * Runs the command.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = async (options: Options): Promise<Summary> => {
  if (options.mode === "batch") {
    if (options.batch === undefined) throw new Error("batch mode needs an S3 working folder and a role ARN")
    return runBatch(options, options.batch)
  }
  const started = performance.now()
  const done = resume(options.output)
  const total = await countLines(options.input)
  const showBar = options.progress ?? process.stderr.isTTY === true
  const bar = progressBar(
    " {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | throttles {throttles} | failed {failed}"
  )
  if (showBar) bar.start(total, 0, { rate: "0", throttles: 0, failed: 0 })

  const runtime = ManagedRuntime.make(
    BedrockEmbed.layer(options.engine === undefined ? {} : { engine: options.engine })
  )
  const fd = openSync(options.output, "a")
  const errors = openSync(`${options.output}.errors.jsonl`, "w")
  const pending = new Map<number, string>()
  let fed = 0
  let embedded = 0
  let failed = 0
  let tokens = 0
  let cost = 0
  let lineNumber = 0
  const source = Stream.fromAsyncIterable(
    createInterface({ input: createReadStream(options.input), crlfDelay: Number.POSITIVE_INFINITY }),
    (error) => error
  ).pipe(
    Stream.filterMap((line: string) => {
      if (line.trim().length === 0) return Result.fail(undefined)
      const input = readInput(options, line, lineNumber++, done)
      if (input === undefined) return Result.fail(undefined)
      pending.set(fed++, input.id)
      return Result.succeed(input.text)
    })
  )
  try {
    await runtime.runPromise(
      Embeddings.Embeddings.use((engine) =>
        engine
          .embedStream(
            {
              ...options.request,
              model: options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`
            },
            source as Stream.Stream<string>
          )
          .pipe(
            Stream.runForEach((item) =>
              Effect.sync(() => {
                const id = pending.get(item.index)!
                pending.delete(item.index)
                if ("error" in item) {
                  failed++
                  writeSync(errors, `${JSON.stringify({ id, error: item.error._tag, message: item.error.message })}\n`)
                } else {
                  embedded++
                  tokens += item.tokens ?? 0
                  cost += item.cost ?? 0
                  // One write per line: a crash tears at most this line, which the next run drops.
                  writeSync(fd, `${JSON.stringify({ id, embedding: Array.from(item.embedding) })}\n`)
                }
                if (showBar) {
                  const seconds = (performance.now() - started) / 1000
                  bar.update(done.size + embedded + failed, {
                    rate: ((embedded + failed) / Math.max(seconds, 0.001)).toFixed(0),
                    throttles: engine.stats().throttles,
                    failed
                  })
                }
              })
            )
          )
      )
    )
    const stats = await runtime.runPromise(Embeddings.Embeddings.useSync((engine) => engine.stats()))
    return {
      total,
      skipped: done.size,
      embedded,
      failed,
      tokens,
      cost,
      seconds: (performance.now() - started) / 1000,
      calls: stats.calls,
      throttles: stats.throttles
    }
  } finally {
    if (showBar) bar.stop()
    closeSync(fd)
    closeSync(errors)
    await runtime.dispose()
  }
}
