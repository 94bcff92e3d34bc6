/**
 * The bulk command's output file, in one of its formats, resumed (a torn tail cut, the ids of the
 * rest kept) and appended to one vector at a time; and its errors file.
 *
 * - `jsonl` (default): `{"id": …, "embedding": [...]}` lines, one write each.
 * - `npy`: `<out>` a 2-D float32 NPY array, `<out>.ids.jsonl` one JSON id per row
 *   (`formats/rows.ts`): appended to directly.
 * - `parquet`, `arrow` (Arrow IPC file): written through a journal beside the output and
 *   rewritten at the end of the run (`formats/columnar.ts`).
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs"
import type { Embeddings } from "@bedrock-embed/core"
import { Effect } from "effect"
import type { Options } from "../../EmbedFile.ts"
import { vectorJson } from "../../ResponseBody.ts"
import { OutputFileError } from "./errors.ts"
import type { Columnar } from "./formats/columnar.ts"
import {
  appendRow,
  closeRows,
  copyRow,
  journalOf,
  openRows,
  type RowPaths,
  type Rows,
  type RowWritten,
  recoverRows
} from "./formats/rows.ts"
import { idKey } from "./inputs.ts"

/** The output formats. */
export const formats = ["jsonl", "parquet", "arrow", "npy"] as const

/** An output format. */
export type Format = (typeof formats)[number]

/** The run's output format, or a typed error naming the formats. */
const formatOf = (options: Options): Effect.Effect<Format, OutputFileError> => {
  const format = options.format ?? "jsonl"
  return (formats as ReadonlyArray<string>).includes(format)
    ? Effect.succeed(format as Format)
    : Effect.fail(
        new OutputFileError({
          message: `unknown output format ${JSON.stringify(format)}: use one of ${formats.join(", ")} (--format)`
        })
      )
}

/** The files of an `npy` output: the array, and its ids beside it. */
const npyPaths = (output: string): RowPaths => ({ vectors: output, ids: `${output}.ids.jsonl` })

const columnar = () => import("./formats/columnar.ts")

/** A failure reading or writing the output, as a typed error. */
export const outputError = (output: string) => (cause: unknown) =>
  cause instanceof OutputFileError
    ? cause
    : new OutputFileError({ message: `${output}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** The ids (as {@link idKey}s) a run has seen: a `Set<string>`, or a more compact one. */
export interface IdSet {
  add(key: string): unknown
  has(key: string): boolean
  readonly size: number
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
const scanOutput = (fd: number, end: number, done: IdSet): number => {
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

/** The binary formats by their files' first bytes: a JSONL run refuses to cut such a file. */
const magics: ReadonlyArray<readonly [Format, Buffer]> = [
  ["parquet", Buffer.from("PAR1")],
  ["arrow", Buffer.from("ARROW1")],
  ["npy", Buffer.from("\x93NUMPY", "latin1")]
]

const refuseBinary = (fd: number, output: string) => {
  const head = Buffer.alloc(8)
  const read = readSync(fd, head, 0, head.length, 0)
  const found = magics.find(([, magic]) => read >= magic.length && head.subarray(0, magic.length).equals(magic))
  if (found !== undefined) {
    throw new OutputFileError({
      message: `${output} is a ${found[0]} file, not JSONL: pass --format ${found[0]} to add to it, or choose another --out`
    })
  }
}

/** JSONL: the ids already in the output; a torn last line (no newline, or not JSON) is cut off. */
const resumeJsonl = (output: string, done: IdSet): IdSet => {
  if (!existsSync(output)) return done
  const fd = openSync(output, "r+")
  try {
    refuseBinary(fd, output)
    const size = fstatSync(fd).size
    const kept = scanOutput(fd, completeLength(fd, size), done)
    if (kept < size) ftruncateSync(fd, kept)
  } finally {
    closeSync(fd)
  }
  return done
}

/**
 * Ids already in the output (as {@link idKey}s), in memory bounded by the ids, whatever the
 * format: the files are read a chunk (or a batch) at a time, a torn tail is cut off.
 */
export const resume = (options: Options, done: IdSet): Effect.Effect<IdSet, OutputFileError> =>
  Effect.flatMap(formatOf(options), (format) => {
    if (format === "jsonl")
      return Effect.try({ try: () => resumeJsonl(options.output, done), catch: outputError(options.output) })
    if (format === "npy") {
      return Effect.try({
        try: () => {
          recoverRows(npyPaths(options.output), done)
          return done
        },
        catch: outputError(options.output)
      })
    }
    return Effect.tryPromise({
      try: async () => (await columnar()).resumeColumnar(format, options.output, done),
      catch: outputError(options.output)
    })
  })

/** Where a vector is in the output: a JSONL line, or a row. */
export type Written = LineWritten | RowWritten

/** Where the vectors go: appended one at a time, or copied from an earlier one. */
interface VectorSink {
  write(id: unknown, embedding: Float32Array): Written
  copy(from: Written, id: unknown): Written
  /** At the end of the run, whatever its end: the files closed (a columnar output rewritten). */
  readonly close: Effect.Effect<void>
}

/** The open output (its vectors) and errors files. */
export interface OutputFiles {
  readonly vectors: VectorSink
  readonly errors: ErrorsFile
}

/**
 * `<out>.errors.jsonl`: the failures of this run only, so an earlier run's file is removed when
 * this one starts, and the file is created with its first line: a run without failures leaves none.
 */
interface ErrorsFile {
  readonly path: string
  fd: number | undefined
}

const errorsFile = (output: string): ErrorsFile => {
  const path = `${output}.errors.jsonl`
  rmSync(path, { force: true })
  return { path, fd: undefined }
}

/** JSONL: lines appended to the output (`size`: its length, kept up to date by the writes). */
interface JsonlFile {
  readonly fd: number
  size: number
}

const jsonlSink = (output: string): VectorSink => {
  // Read as well as appended to: a repeated text's vector is copied from its first line.
  const fd = openSync(output, "a+")
  const file: JsonlFile = { fd, size: fstatSync(fd).size }
  return {
    write: (id, embedding) => appendLine(file, idHead(id), vectorRest(embedding)),
    copy: (from, id) => copyLine(file, from as LineWritten, id),
    close: Effect.sync(() => closeSync(fd))
  }
}

const rowSink = (rows: Rows, finish: (rows: Rows) => Effect.Effect<void>): VectorSink => ({
  write: (id, embedding) => appendRow(rows, id, embedding),
  copy: (from, id) => copyRow(rows, from as RowWritten, id),
  close: Effect.suspend(() => {
    closeRows(rows)
    return finish(rows)
  })
})

/**
 * A failure rewriting a columnar output at the end of the run: the vectors stay in the journal,
 * which the next run picks up; the run ends with the error (a defect: a finalizer cannot fail).
 */
const finishColumnar = (format: Columnar, output: string) => (rows: Rows) =>
  Effect.tryPromise({
    try: async () => (await columnar()).finishColumnar(format, output, rows.dim, rows.rows),
    catch: outputError(output)
  }).pipe(Effect.orDie)

const sinkOf = (format: Format, output: string): VectorSink => {
  if (format === "jsonl") return jsonlSink(output)
  if (format === "npy") return rowSink(openRows(npyPaths(output)), () => Effect.void)
  return rowSink(openRows(journalOf(output)), finishColumnar(format, output))
}

/** The output and errors files, open for the run and closed after it, whatever its end. */
export const outputFiles = (options: Options) =>
  Effect.acquireRelease(
    Effect.flatMap(formatOf(options), (format) =>
      Effect.try({
        try: (): OutputFiles => ({
          vectors: sinkOf(format, options.output),
          errors: errorsFile(options.output)
        }),
        catch: outputError(options.output)
      })
    ),
    ({ vectors, errors }) =>
      Effect.andThen(
        Effect.sync(() => {
          if (errors.fd !== undefined) closeSync(errors.fd)
        }),
        vectors.close
      )
  )

/** Where a vector line is in the output: its offset, length, and the length of its `{"id":…,` head. */
interface LineWritten {
  readonly offset: number
  readonly length: number
  readonly head: number
}

/** Appends one output line, in one write: a crash tears at most this line, which the next run drops. */
const appendLine = (file: JsonlFile, head: string, rest: Buffer | string): LineWritten => {
  const bytes = Buffer.concat([Buffer.from(head), typeof rest === "string" ? Buffer.from(rest) : rest])
  writeSync(file.fd, bytes)
  const written = { offset: file.size, length: bytes.length, head: Buffer.byteLength(head) }
  file.size += bytes.length
  return written
}

const idHead = (id: unknown) => `{"id":${JSON.stringify(id)},`

const vectorRest = (embedding: Float32Array) => `"embedding":${vectorJson(embedding)}}\n`

/** Appends a line for `id` with the vector of an earlier line. */
const copyLine = (file: JsonlFile, from: LineWritten, id: unknown): LineWritten => {
  const rest = Buffer.allocUnsafe(from.length - from.head)
  readSync(file.fd, rest, 0, rest.length, from.offset + from.head)
  return appendLine(file, idHead(id), rest)
}

/** The id's JSON value as given, then the vector (in the run's format). */
export const writeVector = (files: OutputFiles, id: unknown, embedding: Float32Array): Written =>
  files.vectors.write(id, embedding)

/** One line of the errors file: the id when the line has one, the line number when known. */
export const writeError = (
  files: OutputFiles,
  at: { readonly id?: unknown; readonly line?: number | undefined },
  error: string,
  message: string
) => {
  const errors = files.errors
  errors.fd ??= openSync(errors.path, "w")
  writeSync(errors.fd, `${JSON.stringify({ id: at.id, line: at.line, error, message })}\n`)
}

/** Writes one result line: the vector to the output, a failure to the errors file. */
export const writeItem = (files: OutputFiles, id: unknown, item: Embeddings.StreamItem, line?: number) => {
  if ("error" in item) {
    writeError(files, { id, line }, item.error._tag, item.error.message)
    return false
  }
  writeVector(files, id, item.embedding)
  return true
}

/** Appends a vector for `id` equal to an earlier one (a repeated text's). */
export const copyVector = (files: OutputFiles, from: Written, id: unknown): Written => files.vectors.copy(from, id)
