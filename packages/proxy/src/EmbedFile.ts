/**
 * `bedrock-embed embed`: embeds a JSONL corpus into a JSONL file of vectors, resumably.
 *
 * Each input line is an object with an id and a text field; each output line is
 * `{"id": …, "embedding": [...]}`, in input order. Lines are appended one write at a time, so a
 * crash (even `kill -9`) loses at most the line being written; a re-run drops a torn last line,
 * skips every id already written and never writes one twice. Inputs that fail after retries go to
 * `<out>.errors.jsonl` (and are retried by the next run), not into the vectors.
 *
 * Stream mode reads the input twice: a first pass, before any call, keeps each id's first line
 * and the hash of each text (so a repeated id refuses the run, and a text on several lines is
 * sent once); the second sends the texts, reports bad lines with their line numbers and writes
 * each repeated line by copying its first line's vector from the output. Resume reads the output
 * a chunk at a time and keeps only its ids.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs"
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
  /** The id field of each input line; default `id`. A line without one is an error for that line. */
  readonly idField?: string | undefined
  /**
   * Every line's id is its line number (1-based, blank lines counted) and the id field is not
   * read; default false.
   */
  readonly positional?: boolean | undefined
  /**
   * Two lines with the same id: `error` (default) refuses the run before any call, naming both
   * lines; `first` embeds the first and reports the others in the errors file.
   */
  readonly onDuplicate?: "error" | "first" | undefined
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
  /** Bedrock's quota "Records per batch inference job": more inputs run as several jobs; default 50 000. */
  readonly recordsPerJob?: number | undefined
  /** Bedrock's quota "Records per input file per batch inference job"; default 50 000. */
  readonly recordsPerFile?: number | undefined
  /** Bedrock's quota "Minimum number of records per batch inference job": fewer are refused before anything is written; default 100. */
  readonly minRecords?: number | undefined
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
  /** Stream mode: inputs not sent because an identical text earlier in the run was. */
  readonly deduplicated?: number | undefined
  /** Batch mode: the jobs' ARNs, space-separated (several when the inputs exceed a job's record quota). */
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
 * Two input lines with the same id (and `onDuplicate` is `error`): the run is refused before any
 * call.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateIdError extends Schema.TaggedError<DuplicateIdError>()("DuplicateIdError", {
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
  | DuplicateIdError
  | Errors.EmbeddingError
  | Errors.AsyncJobFailedError
  | Errors.AsyncJobTimeoutError
  | Errors.ObjectStoreError
  | Errors.CredentialsError
  | Errors.UnsupportedModelError

/**
 * An id's identity: its JSON value with object keys sorted, so `1` and `"1"` differ and objects
 * compare by value, whatever their key order.
 */
const idKey = (id: unknown): string => JSON.stringify(canonical(id))

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (value === null || typeof value !== "object") return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, canonical(record[key])])
  )
}

const chunkBytes = 1 << 20
/** Longer than any vector line (3072 floats ≈ 70 KB): a line past it is not ours. */
const maxLineBytes = 256 << 20

/** The length of the file up to its last newline: what follows it is a torn line. */
const completeLength = (fd: number, size: number): number => {
  const chunk = Buffer.allocUnsafe(64 << 10)
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length)
    const read = readSync(fd, chunk, 0, end - start, start)
    const at = chunk.subarray(0, read).lastIndexOf(10)
    if (at >= 0) return start + at + 1
    end = start
  }
  return 0
}

/** Any JSON output line's id, or `undefined` when the line is not one. */
const parsedId = (line: Buffer): string | undefined => {
  try {
    const row = JSON.parse(line.toString("utf8")) as { readonly id?: unknown; readonly embedding?: unknown } | null
    if (row === null || typeof row !== "object" || row.id === undefined || !Array.isArray(row.embedding)) return
    return idKey(row.id)
  } catch {
    return
  }
}

const lineHead = Buffer.from(`{"id":`)
const vectorStart = Buffer.from(`,"embedding":[`)
const lineEnd = Buffer.from("]}")

/**
 * The id of one output line, or `undefined` when the line is not one (the valid prefix ends). In
 * the lines this module writes, the vector holds numbers only, so the last `,"embedding":[` ends
 * the id and only the id is parsed; the last line, which a crash may have garbled, and any line
 * in another layout are parsed whole.
 */
const outputId = (line: Buffer, last: boolean): string | undefined => {
  if (last || !line.subarray(0, lineHead.length).equals(lineHead) || !line.subarray(-2).equals(lineEnd)) {
    return parsedId(line)
  }
  const at = line.lastIndexOf(vectorStart)
  if (at <= lineHead.length) return parsedId(line)
  try {
    return idKey(JSON.parse(line.toString("utf8", lineHead.length, at)))
  } catch {
    return parsedId(line)
  }
}

/**
 * Reads the complete lines of `[0, end)` a chunk at a time, adding each id to `done`; the length of
 * the valid prefix (a corrupt line ends it: everything after it is redone).
 */
const scanOutput = (fd: number, end: number, done: Set<string>): number => {
  const chunk = Buffer.allocUnsafe(chunkBytes)
  let parts: Array<Buffer> = []
  let partBytes = 0
  let lineStart = 0
  for (let position = 0; position < end; ) {
    const read = readSync(fd, chunk, 0, Math.min(chunk.length, end - position), position)
    let from = 0
    for (let at = chunk.indexOf(10, from); at >= 0 && at < read; at = chunk.indexOf(10, from)) {
      parts.push(chunk.subarray(from, at))
      const id = outputId(parts.length === 1 ? parts[0]! : Buffer.concat(parts), position + at + 1 === end)
      if (id === undefined) return lineStart
      done.add(id)
      lineStart = position + at + 1
      parts = []
      partBytes = 0
      from = at + 1
    }
    if (from < read) {
      // A line across chunks: its piece is copied, the chunk is reused.
      parts.push(Buffer.from(chunk.subarray(from, read)))
      partBytes += read - from
      if (partBytes > maxLineBytes) return lineStart
    }
    position += read
  }
  return lineStart
}

/**
 * Ids already in the output (as {@link idKey}s), in memory bounded by the ids: the file is read a
 * chunk at a time, a torn last line (no newline, found from the tail, or not JSON) is cut off.
 */
const resume = (output: string): Set<string> => {
  const done = new Set<string>()
  if (!existsSync(output)) return done
  const fd = openSync(output, "r+")
  try {
    const size = fstatSync(fd).size
    const kept = scanOutput(fd, completeLength(fd, size), done)
    if (kept < size) ftruncateSync(fd, kept)
  } finally {
    closeSync(fd)
  }
  return done
}

/** The lines of a file, streamed. */
const fileLines = (file: string) =>
  createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })

/** A progress bar on stderr. */
const progressBar = (format: string) =>
  new SingleBar({ format, stream: process.stderr, hideCursor: true, noTTYOutput: false }, Presets.shades_classic)

/** One input line: its id (as given, and as {@link idKey}) and text, or why it is not an input. */
type InputLine =
  | { readonly id: unknown; readonly key: string; readonly text: string }
  | { readonly id?: unknown; readonly reason: string }

const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

/** Reads one non-blank line (`lineNumber` from 1, blank lines counted); never throws. */
const readInput = (options: Options, line: string, lineNumber: number): InputLine => {
  const where = `${options.input}:${lineNumber}`
  let record: unknown
  try {
    record = JSON.parse(line)
  } catch {
    return { reason: `${where}: not JSON; each line is an object such as {"id": "doc-1", "text": "…"}` }
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return { reason: `${where}: ${kindOf(record)}, not an object such as {"id": "doc-1", "text": "…"}` }
  }
  const fields = record as Record<string, unknown>
  const idField = options.idField ?? "id"
  const id = options.positional === true ? lineNumber : fields[idField]
  if (id === undefined || id === null) {
    return { reason: `${where}: no "${idField}" field; give every line an id, or pass --positional for line numbers` }
  }
  const field = options.field ?? "text"
  const text = fields[field]
  if (typeof text !== "string") {
    const what = text === undefined ? "missing" : `${kindOf(text)}, not a string`
    return { id, reason: `${where}: the text field "${field}" is ${what} (--field names another field)` }
  }
  return { id, key: idKey(id), text }
}

/** The input file's non-blank lines, each read as an input, with its 1-based line number. */
async function* inputsOf(options: Options) {
  let lineNumber = 0
  for await (const line of fileLines(options.input)) {
    lineNumber++
    if (line.trim().length > 0) yield { lineNumber, input: readInput(options, line, lineNumber) }
  }
}

const readError = (options: Options, cause: unknown) =>
  cause instanceof InputFileError || cause instanceof DuplicateIdError
    ? cause
    : new InputFileError({
        message: `cannot read ${options.input}: ${cause instanceof Error ? cause.message : String(cause)}`
      })

/**
 * Batch mode: the inputs of the file not yet in the output, in file order; a bad line fails, so
 * does a repeated id unless `onDuplicate` is `first` (the later lines are then left out).
 */
const pendingInputs = (options: Options, done: ReadonlySet<string>) =>
  Effect.tryPromise({
    try: async () => {
      const ids: Array<unknown> = []
      const texts: Array<string> = []
      const lines = new Map<string, number>()
      let total = 0
      for await (const { lineNumber, input } of inputsOf(options)) {
        total++
        if ("reason" in input) throw new InputFileError({ message: input.reason })
        const first = lines.get(input.key)
        if (first !== undefined) {
          if (options.onDuplicate === "first") continue
          throw duplicateError(options, [[input.id, first, lineNumber]], 1)
        }
        lines.set(input.key, lineNumber)
        if (done.has(input.key)) continue
        ids.push(input.id)
        texts.push(input.text)
      }
      return { ids, texts, total }
    },
    catch: (cause) => readError(options, cause)
  })

/** A text's identity within a run (the model and parameters are the run's): 132 bits of SHA-256. */
const textHash = (text: string): string => createHash("sha256").update(text).digest("base64url").slice(0, 22)

/** What the first pass over the input learns, holding ids and text hashes only. */
interface InputPlan {
  /** Non-blank lines. */
  readonly total: number
  /** The line each id is first on. */
  readonly lines: ReadonlyMap<string, number>
  /** Texts (by {@link textHash}) on more than one line still to embed, and on how many. */
  readonly repeated: ReadonlyMap<string, number>
}

const duplicateError = (options: Options, found: ReadonlyArray<readonly [unknown, number, number]>, count: number) => {
  const [id, first, again] = found[0]!
  const more = count > 1 ? ` (and ${count - 1} more repeated ids)` : ""
  return new DuplicateIdError({
    message:
      `${options.input}: the id ${JSON.stringify(id)} is on lines ${first} and ${again}${more}; ids name inputs and ` +
      "must be unique: fix the input, or pass --on-duplicate first to embed each id's first line and report the others"
  })
}

/**
 * The first pass: every id's first line and the repeated texts, before any call, so that a
 * duplicate id refuses the run up front and each distinct text is sent once.
 */
const planInputs = (options: Options, done: ReadonlySet<string>) =>
  Effect.tryPromise({
    try: async (): Promise<InputPlan> => {
      const lines = new Map<string, number>()
      const texts = new Map<string, number>()
      const found: Array<readonly [unknown, number, number]> = []
      let duplicates = 0
      let total = 0
      for await (const { lineNumber, input } of inputsOf(options)) {
        total++
        if ("reason" in input) continue
        const first = lines.get(input.key)
        if (first !== undefined) {
          if (duplicates++ === 0) found.push([input.id, first, lineNumber])
          continue
        }
        lines.set(input.key, lineNumber)
        if (done.has(input.key)) continue
        const hash = textHash(input.text)
        texts.set(hash, (texts.get(hash) ?? 0) + 1)
      }
      if (duplicates > 0 && options.onDuplicate !== "first") throw duplicateError(options, found, duplicates)
      for (const [hash, count] of texts) if (count === 1) texts.delete(hash)
      return { total, lines, repeated: texts }
    },
    catch: (cause) => readError(options, cause)
  })

const modelOf = (options: Options) =>
  options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`

/** The open output (`size`: its length, kept up to date by the writes) and errors files. */
interface OutputFiles {
  readonly fd: number
  readonly errors: number
  size: number
}

/** The output and errors files, open for the run and closed after it, whatever its end. */
const outputFiles = (output: string) =>
  Effect.acquireRelease(
    Effect.sync((): OutputFiles => {
      // Read as well as appended to: a repeated text's vector is copied from its first line.
      const fd = openSync(output, "a+")
      return { fd, errors: openSync(`${output}.errors.jsonl`, "w"), size: fstatSync(fd).size }
    }),
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

/** Where a vector line is in the output: its offset, length, and the length of its `{"id":…,` head. */
interface Written {
  readonly offset: number
  readonly length: number
  readonly head: number
}

/** Appends one output line, in one write: a crash tears at most this line, which the next run drops. */
const appendLine = (files: OutputFiles, head: string, rest: Buffer | string): Written => {
  const bytes = Buffer.concat([Buffer.from(head), typeof rest === "string" ? Buffer.from(rest) : rest])
  writeSync(files.fd, bytes)
  const written = { offset: files.size, length: bytes.length, head: Buffer.byteLength(head) }
  files.size += bytes.length
  return written
}

const idHead = (id: unknown) => `{"id":${JSON.stringify(id)},`

/** The id's JSON value as given, then the vector. */
const writeVector = (files: OutputFiles, id: unknown, embedding: Float32Array): Written =>
  appendLine(files, idHead(id), `"embedding":${JSON.stringify(Array.from(embedding))}}\n`)

/** One line of the errors file: the id when the line has one, the line number when known. */
const writeError = (
  files: OutputFiles,
  at: { readonly id?: unknown; readonly line?: number | undefined },
  error: string,
  message: string
) => {
  writeSync(files.errors, `${JSON.stringify({ id: at.id, line: at.line, error, message })}\n`)
}

/** Writes one result line: the vector to the output, a failure to the errors file. */
const writeItem = (files: OutputFiles, id: unknown, item: Embeddings.StreamItem, line?: number) => {
  if ("error" in item) {
    writeError(files, { id, line }, item.error._tag, item.error.message)
    return false
  }
  writeVector(files, id, item.embedding)
  return true
}

/** The batch quotas of a run: Bedrock's defaults unless set. */
const quotasOf = (batch: BatchOptions) => ({
  minRecords: batch.minRecords ?? 100,
  recordsPerJob: Math.max(1, batch.recordsPerJob ?? 50_000),
  recordsPerFile: Math.max(1, batch.recordsPerFile ?? 50_000)
})

/**
 * The pending inputs split into jobs, as `[start, end)` ranges: full jobs of `recordsPerJob`, the
 * last two evened out when the last would fall under the minimum. A re-run after whole jobs were
 * written splits the rest the same way, so it finds the same jobs again.
 */
const splitJobs = (count: number, quotas: ReturnType<typeof quotasOf>): ReadonlyArray<readonly [number, number]> => {
  const ranges: Array<readonly [number, number]> = []
  for (let start = 0; start < count; start += quotas.recordsPerJob) {
    ranges.push([start, Math.min(count, start + quotas.recordsPerJob)])
  }
  const last = ranges.at(-1)!
  if (ranges.length > 1 && last[1] - last[0] < quotas.minRecords) {
    const from = ranges.at(-2)![0]
    const middle = from + Math.ceil((count - from) / 2)
    ranges.splice(-2, 2, [from, middle], [middle, count])
  }
  return ranges
}

/** Fewer pending inputs than a batch job takes: refused before any S3 object or job. */
const tooFewForBatch = (count: number, minimum: number) =>
  new InputFileError({
    message:
      `${count} inputs to embed, fewer than the ${minimum} records a batch inference job needs at least (Bedrock's quota ` +
      `"Minimum number of records per batch inference job"). Nothing was uploaded and no job was created: run without --mode batch to embed them with InvokeModel.`
  })

/** Batch mode: batch inference jobs (split per Bedrock's record quotas) for what is missing, awaited, then written in input order. */
const batchProgram = (options: Options, batch: BatchOptions) =>
  Effect.gen(function* () {
    const started = performance.now()
    const done = resume(options.output)
    const { ids, texts, total } = yield* pendingInputs(options, done)
    const empty = { total, skipped: done.size, embedded: 0, failed: 0, tokens: 0, cost: 0, calls: 0, throttles: 0 }
    if (ids.length === 0) return { ...empty, seconds: (performance.now() - started) / 1000 } satisfies Summary
    const quotas = quotasOf(batch)
    if (quotas.recordsPerJob < quotas.minRecords) {
      return yield* new InputFileError({
        message: `records per job (${quotas.recordsPerJob}) must be at least the minimum records per job (${quotas.minRecords}): raise --records-per-job or lower --min-records to your account's quotas`
      })
    }
    if (ids.length < quotas.minRecords) return yield* tooFewForBatch(ids.length, quotas.minRecords)
    const ranges = splitJobs(ids.length, quotas)
    const requestOf = ([start, end]: readonly [number, number]) => ({
      ...options.request,
      model: modelOf(options),
      input: texts.slice(start, end)
    })
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(" {bar} {value}/{total} records | jobs {status} | {elapsed}s", showBar)
    const jobs = yield* Jobs.Jobs
    // Each job's name and token derive from its records, model, folder and role: a re-run after
    // a crash finds the same jobs instead of starting more.
    const submitted = yield* Effect.forEach(ranges, (range) => {
      const request = requestOf(range)
      return jobs.submit(request, { ...request, ...quotas, s3Uri: batch.s3Uri, roleArn: batch.roleArn })
    })
    for (const job of submitted) {
      process.stderr.write(
        `submitted ${job.records} records as batch inference job ${job.jobArn} (inputs in ${job.inputUri})\n`
      )
    }
    const records = submitted.reduce((sum, job) => sum + job.records, 0)
    const processed = submitted.map(() => 0)
    if (showBar) bar.start(records, 0, { status: "Submitted" })
    yield* Effect.forEach(submitted, (job, j) =>
      jobs.await(job.jobArn, {
        // The request's region, endpoints and identity; its `timeout` is a per-call one, not the wait's.
        ...options.request,
        timeout: undefined,
        schedule: Schedule.spaced(`${batch.pollSeconds ?? 30} seconds`),
        onStatus: (status) => {
          processed[j] = status.request_counts.completed + status.request_counts.failed
          const sum = processed.reduce((a, b) => a + b, 0)
          if (showBar) bar.update(sum, { status: `${j + 1}/${submitted.length} ${status.metadata.bedrock_status}` })
        }
      })
    )
    if (showBar) bar.update(records, { status: "Completed" })
    const files = yield* outputFiles(options.output)
    const counts = { embedded: 0, failed: 0, tokens: 0, cost: 0, uncounted: false }
    for (let j = 0; j < submitted.length; j++) {
      const range = ranges[j]!
      const results = yield* jobs.batchResults(submitted[j]!.jobArn, requestOf(range))
      for (const item of results.items) {
        if (writeItem(files, ids[range[0] + item.index]!, item)) counts.embedded++
        else counts.failed++
      }
      counts.tokens += results.tokens
      counts.cost += results.cost
      counts.uncounted ||= !results.tokensKnown
    }
    if (counts.uncounted) {
      process.stderr.write(
        "Bedrock gave no token count for some records (neither in the records nor in the job's manifest.json.out): tokens and cost are lower bounds.\n"
      )
    }
    const { uncounted: _, ...totals } = counts
    return {
      ...empty,
      ...totals,
      calls: records,
      seconds: (performance.now() - started) / 1000,
      jobArn: submitted.map((job) => job.jobArn).join(" ")
    } satisfies Summary
  }).pipe(Effect.scoped)

/** An input sent to the engine, or one waiting for an identical text's vector. */
interface Entry {
  readonly id: unknown
  readonly line: number
  /** Set when the text is on several lines. */
  readonly hash?: string | undefined
}

/** A repeated text: how many of its lines still wait, and its first line's outcome once known. */
interface Group {
  remaining: number
  outcome?: Written | { readonly error: string; readonly message: string } | undefined
}

/** What the second pass keeps: the entries in flight (by engine index) and the repeated texts. */
interface RunState {
  readonly plan: InputPlan
  readonly done: ReadonlySet<string>
  readonly files: OutputFiles
  readonly sent: Map<number, Entry>
  /** Lines to write right after the engine's item of this index, in input order. */
  readonly followers: Map<number, Array<Entry>>
  readonly groups: Map<string, Group>
  readonly counts: {
    fed: number
    skipped: number
    embedded: number
    failed: number
    deduplicated: number
    tokens: number
    cost: number
  }
}

/** One input line: its text when it is to be sent; otherwise it is reported, skipped or deferred. */
const admit = (options: Options, run: RunState, lineNumber: number, input: InputLine): string | undefined => {
  const { counts } = run
  if ("reason" in input) {
    counts.failed++
    writeError(run.files, { id: input.id, line: lineNumber }, "InputFileError", input.reason)
    return undefined
  }
  const first = run.plan.lines.get(input.key)
  if (first !== lineNumber) {
    counts.failed++
    const message = `${options.input}:${lineNumber}: the id ${JSON.stringify(input.id)} is also on line ${first}, which is embedded instead`
    writeError(run.files, { id: input.id, line: lineNumber }, "DuplicateIdError", message)
    return undefined
  }
  if (run.done.has(input.key)) {
    counts.skipped++
    return undefined
  }
  const hash = run.plan.repeated.size === 0 ? undefined : textHash(input.text)
  if (hash === undefined || !run.plan.repeated.has(hash)) {
    run.sent.set(counts.fed++, { id: input.id, line: lineNumber })
    return input.text
  }
  const group = run.groups.get(hash)
  if (group !== undefined) {
    // Sent already, earlier in the input: written after the item sent last, in input order, or
    // now when that item is written already (items are written in order: so are all before it).
    counts.deduplicated++
    const after = counts.fed - 1
    const entry = { id: input.id, line: lineNumber, hash }
    const waiting = run.followers.get(after)
    if (!run.sent.has(after)) writeFollower(run, entry)
    else if (waiting === undefined) run.followers.set(after, [entry])
    else waiting.push(entry)
    return undefined
  }
  run.groups.set(hash, { remaining: run.plan.repeated.get(hash)! - 1 })
  run.sent.set(counts.fed++, { id: input.id, line: lineNumber, hash })
  return input.text
}

/** The input file's texts to send, in file order; the other lines are handled on the way. */
const inputStream = (options: Options, run: RunState) =>
  Stream.fromAsyncIterable(inputsOf(options), (cause) => readError(options, cause)).pipe(
    Stream.filterMap(({ lineNumber, input }) => {
      const text = admit(options, run, lineNumber, input)
      return text === undefined ? Result.fail(undefined) : Result.succeed(text)
    })
  )

/** A line whose text was sent for an earlier line: that line's vector (copied from the output) or error. */
const writeFollower = (run: RunState, entry: Entry) => {
  const group = run.groups.get(entry.hash!)!
  if (--group.remaining === 0) run.groups.delete(entry.hash!)
  const outcome = group.outcome!
  if ("error" in outcome) {
    run.counts.failed++
    writeError(run.files, entry, outcome.error, outcome.message)
    return
  }
  const rest = Buffer.allocUnsafe(outcome.length - outcome.head)
  readSync(run.files.fd, rest, 0, rest.length, outcome.offset + outcome.head)
  appendLine(run.files, idHead(entry.id), rest)
  run.counts.embedded++
}

/** One item of the engine: its line, then the lines waiting for it. */
const writeResult = (run: RunState, item: Embeddings.StreamItem) => {
  const entry = run.sent.get(item.index)!
  run.sent.delete(item.index)
  const { counts } = run
  let outcome: Group["outcome"]
  if ("error" in item) {
    counts.failed++
    writeError(run.files, entry, item.error._tag, item.error.message)
    outcome = { error: item.error._tag, message: item.error.message }
  } else {
    counts.embedded++
    counts.tokens += item.tokens ?? 0
    counts.cost += item.cost ?? 0
    outcome = writeVector(run.files, entry.id, item.embedding)
  }
  if (entry.hash !== undefined) run.groups.get(entry.hash)!.outcome = outcome
  const waiting = run.followers.get(item.index)
  if (waiting === undefined) return
  run.followers.delete(item.index)
  for (const follower of waiting) writeFollower(run, follower)
}

/** Stream mode: InvokeModel calls from this machine, results written in input order as they come. */
const streamProgram = (options: Options) =>
  Effect.gen(function* () {
    const started = performance.now()
    const done = resume(options.output)
    const plan = yield* planInputs(options, done)
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(
      " {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | throttles {throttles} | failed {failed}",
      showBar
    )
    if (showBar) bar.start(plan.total, 0, { rate: "0", throttles: 0, failed: 0 })
    const engine = yield* Embeddings.Embeddings
    const files = yield* outputFiles(options.output)
    const counts = { fed: 0, skipped: 0, embedded: 0, failed: 0, deduplicated: 0, tokens: 0, cost: 0 }
    const run: RunState = { plan, done, files, sent: new Map(), followers: new Map(), groups: new Map(), counts }
    const before = engine.stats()
    yield* engine.embedStream({ ...options.request, model: modelOf(options) }, inputStream(options, run)).pipe(
      Stream.runForEach((item) =>
        Effect.sync(() => {
          writeResult(run, item)
          if (showBar) {
            const seconds = (performance.now() - started) / 1000
            const processed = counts.embedded + counts.failed
            bar.update(counts.skipped + processed, {
              rate: (processed / Math.max(seconds, 0.001)).toFixed(0),
              throttles: engine.stats().throttles - before.throttles,
              failed: counts.failed
            })
          }
        })
      )
    )
    const stats = engine.stats()
    return {
      total: plan.total,
      skipped: counts.skipped,
      embedded: counts.embedded,
      failed: counts.failed,
      deduplicated: counts.deduplicated,
      tokens: counts.tokens,
      cost: counts.cost,
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
