/**
 * The bulk command's output file: resumed (a torn last line cut, the ids of the rest kept) and
 * appended to one line at a time; and its errors file.
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs"
import type { Embeddings } from "@bedrock-embed/core"
import { Effect } from "effect"
import type { Options } from "../../EmbedFile.ts"
import { idKey } from "./inputs.ts"

/** The ids (as {@link idKey}s) a run has seen: a `Set<string>`, or a more compact one. */
export interface IdSet {
  add(key: string): unknown
  has(key: string): boolean
  readonly size: number
}

export const chunkBytes = 1 << 20
/** Longer than any vector line (3072 floats ≈ 70 KB): a line past it is not ours. */
export const maxLineBytes = 256 << 20

/** The length of the file up to its last newline: what follows it is a torn line. */
export const completeLength = (fd: number, size: number): number => {
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
export const parsedId = (line: Buffer): string | undefined => {
  try {
    const row = JSON.parse(line.toString("utf8")) as { readonly id?: unknown; readonly embedding?: unknown } | null
    if (row === null || typeof row !== "object" || row.id === undefined || !Array.isArray(row.embedding)) return
    return idKey(row.id)
  } catch {
    return
  }
}

export const lineHead = Buffer.from(`{"id":`)
export const vectorStart = Buffer.from(`,"embedding":[`)
export const lineEnd = Buffer.from("]}")

/**
 * The id of one output line, or `undefined` when the line is not one (the valid prefix ends). In
 * the lines this module writes, the vector holds numbers only, so the last `,"embedding":[` ends
 * the id and only the id is parsed; the last line, which a crash may have garbled, and any line
 * in another layout are parsed whole.
 */
export const outputId = (line: Buffer, last: boolean): string | undefined => {
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
export const scanOutput = (fd: number, end: number, done: IdSet): number => {
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
export const resume = (options: Options, done: IdSet = new Set<string>()): IdSet => {
  const output = options.output
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

/** The open output (`size`: its length, kept up to date by the writes) and errors files. */
export interface OutputFiles {
  readonly fd: number
  readonly errors: number
  size: number
}

/** The output and errors files, open for the run and closed after it, whatever its end. */
export const outputFiles = ({ output }: Options) =>
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

/** Where a vector line is in the output: its offset, length, and the length of its `{"id":…,` head. */
export interface Written {
  readonly offset: number
  readonly length: number
  readonly head: number
}

/** Appends one output line, in one write: a crash tears at most this line, which the next run drops. */
export const appendLine = (files: OutputFiles, head: string, rest: Buffer | string): Written => {
  const bytes = Buffer.concat([Buffer.from(head), typeof rest === "string" ? Buffer.from(rest) : rest])
  writeSync(files.fd, bytes)
  const written = { offset: files.size, length: bytes.length, head: Buffer.byteLength(head) }
  files.size += bytes.length
  return written
}

export const idHead = (id: unknown) => `{"id":${JSON.stringify(id)},`

/** The id's JSON value as given, then the vector. */
export const writeVector = (files: OutputFiles, id: unknown, embedding: Float32Array): Written =>
  appendLine(files, idHead(id), `"embedding":${JSON.stringify(Array.from(embedding))}}\n`)

/** One line of the errors file: the id when the line has one, the line number when known. */
export const writeError = (
  files: OutputFiles,
  at: { readonly id?: unknown; readonly line?: number | undefined },
  error: string,
  message: string
) => {
  writeSync(files.errors, `${JSON.stringify({ id: at.id, line: at.line, error, message })}\n`)
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

/** Appends a line for `id` with the vector of an earlier line (a repeated text's). */
export const copyVector = (files: OutputFiles, from: Written, id: unknown): Written => {
  const rest = Buffer.allocUnsafe(from.length - from.head)
  readSync(files.fd, rest, 0, rest.length, from.offset + from.head)
  return appendLine(files, idHead(id), rest)
}
