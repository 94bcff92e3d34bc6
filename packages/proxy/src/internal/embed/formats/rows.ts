/**
 * A resumable store of float32 vectors: an NPY file (a 2-D little-endian float32 C-order array
 * whose header is padded to a fixed size, so its shape is rewritten in place) and beside it one
 * JSON id per line. Both are only appended to, a vector before its id: after a crash (even
 * `kill -9`) the rows that have both are kept, a torn tail of either is cut by arithmetic, and a
 * row is found by its index. It is the `npy` output itself, and the journal of `parquet` and
 * `arrow` runs.
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs"
import { OutputFileError } from "../errors.ts"
import { idKey } from "../inputs.ts"
import type { IdSet } from "../output.ts"

const magic = Buffer.from("\x93NUMPY", "latin1")

/** The NPY header's length: room for any shape, a multiple of 64 as the format asks. */
const headerBytes = 128

/** The NPY (version 1.0) header of a `rows` × `dim` float32 array, padded to {@link headerBytes}. */
const npyHeader = (rows: number, dim: number): Buffer => {
  const header = Buffer.alloc(headerBytes, 0x20)
  header.write("\x93NUMPY", 0, "latin1")
  header[6] = 1
  header[7] = 0
  header.writeUInt16LE(headerBytes - 10, 8)
  header.write(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`, 10, "latin1")
  header[headerBytes - 1] = 0x0a
  return header
}

const notNpy = (path: string) =>
  new OutputFileError({
    message: `${path} is not a float32 NPY file written by bedrock-embed: move it away, or choose another --out`
  })

/** The vector size an NPY header of ours gives, or why the file is not one. */
const headerDim = (header: Buffer, path: string): number => {
  const text = header.toString("latin1", 10, headerBytes)
  const shape = /^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \}/.exec(text)
  if (!header.subarray(0, 6).equals(magic) || shape === null) throw notNpy(path)
  return Number(shape[2])
}

/** The two files of a store. */
export interface RowPaths {
  readonly vectors: string
  readonly ids: string
}

/** The journal of a `parquet` or `arrow` run writing `output`. */
export const journalOf = (output: string): RowPaths => ({
  vectors: `${output}.partial.npy`,
  ids: `${output}.partial.ids.jsonl`
})

/** An open store: `dim` is 0 until the first vector is written. */
export interface Rows {
  readonly paths: RowPaths
  readonly vectors: number
  readonly ids: number
  dim: number
  rows: number
  idsSize: number
}

const readHeader = (fd: number, path: string): number => {
  const header = Buffer.alloc(headerBytes)
  readSync(fd, header, 0, headerBytes, 0)
  return headerDim(header, path)
}

/** The first id of a store (as an {@link idKey}), or `undefined` when it has none. */
export const firstId = (paths: RowPaths): string | undefined => {
  if (!existsSync(paths.ids)) return undefined
  const fd = openSync(paths.ids, "r")
  try {
    const chunk = Buffer.alloc(64 << 10)
    const read = readSync(fd, chunk, 0, chunk.length, 0)
    const end = chunk.subarray(0, read).indexOf(10)
    return end < 0 ? undefined : idKey(JSON.parse(chunk.toString("utf8", 0, end)))
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads the first `limit` complete id lines, adding each id to `done` (`onId`); the number of
 * lines read and where the last ends. A line that is not JSON ends the valid prefix.
 */
export const scanIds = (fd: number, limit: number, onId: (id: unknown) => void) => {
  const size = fstatSync(fd).size
  const chunk = Buffer.allocUnsafe(1 << 20)
  let parts: Array<Buffer> = []
  let count = 0
  let end = 0
  for (let position = 0; position < size && count < limit; ) {
    const read = readSync(fd, chunk, 0, Math.min(chunk.length, size - position), position)
    let from = 0
    for (let at = chunk.indexOf(10, from); at >= 0 && at < read && count < limit; at = chunk.indexOf(10, from)) {
      parts.push(chunk.subarray(from, at))
      try {
        onId(JSON.parse(Buffer.concat(parts).toString("utf8")))
      } catch {
        return { count, end }
      }
      parts = []
      count++
      end = position + at + 1
      from = at + 1
    }
    if (from < read) parts.push(Buffer.from(chunk.subarray(from, read)))
    position += read
  }
  return { count, end }
}

/**
 * Cuts a store back to its complete rows (a vector and its id), adding their ids to `done`; the
 * vector size and the rows kept. A missing vectors file, or one shorter than its header, holds no
 * rows.
 */
export const recoverRows = (paths: RowPaths, done: IdSet): { readonly dim: number; readonly rows: number } => {
  if (!existsSync(paths.vectors)) {
    if (existsSync(paths.ids)) unlinkSync(paths.ids)
    return { dim: 0, rows: 0 }
  }
  const vectors = openSync(paths.vectors, "r+")
  const ids = openSync(paths.ids, existsSync(paths.ids) ? "r+" : "w+")
  try {
    const size = fstatSync(vectors).size
    if (size < headerBytes) {
      // A header a crash cut short; anything else is not ours to cut.
      const head = Buffer.alloc(size)
      readSync(vectors, head, 0, size, 0)
      if (!magic.subarray(0, size).equals(head.subarray(0, magic.length))) throw notNpy(paths.vectors)
      ftruncateSync(vectors, 0)
      ftruncateSync(ids, 0)
      return { dim: 0, rows: 0 }
    }
    const dim = readHeader(vectors, paths.vectors)
    const whole = dim === 0 ? 0 : Math.floor((size - headerBytes) / (4 * dim))
    const { count, end } = scanIds(ids, whole, (id) => done.add(idKey(id)))
    ftruncateSync(ids, end)
    ftruncateSync(vectors, headerBytes + count * 4 * dim)
    writeSync(vectors, npyHeader(count, dim), 0, headerBytes, 0)
    return { dim, rows: count }
  } finally {
    closeSync(vectors)
    closeSync(ids)
  }
}

/** Gives an empty store its vector size (that of the output it will be added to). */
export const seedRows = (paths: RowPaths, dim: number) => {
  const vectors = openSync(paths.vectors, "w")
  writeSync(vectors, npyHeader(0, dim), 0, headerBytes, 0)
  closeSync(vectors)
  closeSync(openSync(paths.ids, "w"))
}

/** Opens a store (recovered first) to append to. */
export const openRows = (paths: RowPaths): Rows => {
  const vectors = openSync(paths.vectors, existsSync(paths.vectors) ? "r+" : "w+")
  const ids = openSync(paths.ids, existsSync(paths.ids) ? "r+" : "w+")
  const size = fstatSync(vectors).size
  const dim = size < headerBytes ? 0 : readHeader(vectors, paths.vectors)
  const rows = dim === 0 ? 0 : Math.floor((size - headerBytes) / (4 * dim))
  return { paths, vectors, ids, dim, rows, idsSize: fstatSync(ids).size }
}

/** Where a row is: its index. */
export interface RowWritten {
  readonly row: number
}

const appendBytes = (rows: Rows, id: unknown, vector: Uint8Array): RowWritten => {
  writeSync(rows.vectors, vector, 0, vector.byteLength, headerBytes + rows.rows * 4 * rows.dim)
  const line = Buffer.from(`${JSON.stringify(id)}\n`)
  writeSync(rows.ids, line, 0, line.length, rows.idsSize)
  rows.idsSize += line.length
  return { row: rows.rows++ }
}

/**
 * Appends a vector then its id; the first vector of a store without a size sets it, one of
 * another size is refused.
 */
export const appendRow = (rows: Rows, id: unknown, embedding: Float32Array): RowWritten => {
  if (rows.dim === 0) {
    rows.dim = embedding.length
    ftruncateSync(rows.vectors, 0)
    writeSync(rows.vectors, npyHeader(0, rows.dim), 0, headerBytes, 0)
  }
  if (embedding.length !== rows.dim) {
    throw new OutputFileError({
      message: `${rows.paths.vectors} holds vectors of ${rows.dim} dimensions; this one has ${embedding.length}: run with the same model and --dimensions, or choose another --out`
    })
  }
  return appendBytes(rows, id, new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength))
}

/** Appends a row for `id` with the vector of an earlier row. */
export const copyRow = (rows: Rows, from: RowWritten, id: unknown): RowWritten => {
  const vector = Buffer.allocUnsafe(4 * rows.dim)
  readSync(rows.vectors, vector, 0, vector.length, headerBytes + from.row * vector.length)
  return appendBytes(rows, id, vector)
}

/** Reads `count` rows from `start` into `into` (a new array by default); the rows read. */
export const readRows = (
  fd: number,
  dim: number,
  start: number,
  count: number,
  into: Float32Array = new Float32Array(count * dim)
): Float32Array => {
  const values = into.subarray(0, count * dim)
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  for (let done = 0; done < bytes.length; ) {
    const read = readSync(fd, bytes, done, bytes.length - done, headerBytes + start * 4 * dim + done)
    if (read === 0) throw new Error("the vectors file ended early")
    done += read
  }
  return values
}

/** Writes the shape into the header (an empty store gets a `0 × 0` one) and closes the files. */
export const closeRows = (rows: Rows) => {
  writeSync(rows.vectors, npyHeader(rows.rows, rows.dim), 0, headerBytes, 0)
  closeSync(rows.vectors)
  closeSync(rows.ids)
}

/** Removes a store's files. */
export const removeRows = (paths: RowPaths) => {
  for (const path of [paths.vectors, paths.ids]) if (existsSync(path)) unlinkSync(path)
}
