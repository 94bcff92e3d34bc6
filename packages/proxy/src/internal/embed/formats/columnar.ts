/**
 * The `parquet` and `arrow` outputs: files with a footer, which cannot be appended to after a
 * crash. A run appends to a journal beside the output (`<out>.partial.npy` and
 * `<out>.partial.ids.jsonl`, a {@link Rows} store) and, at its end, rewrites the output in one
 * streaming pass — its rows, then the journal's, a bounded batch at a time — into a temporary file
 * renamed over it; the journal is then removed. A crash before the rename leaves the output and
 * the journal as they were; one after it leaves a journal whose ids are all in the output, which
 * the next run drops.
 *
 * Columns: `id` (the id itself when every id is a string, an `int64` when every id is an integer,
 * else its JSON text; the choice is in the schema metadata under `bedrock-embed:id`) and
 * `embedding`, a fixed-size list of float32.
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, fsyncSync, openAsBlob, openSync, renameSync, unlinkSync, writeSync } from "node:fs"
import { open } from "node:fs/promises"
import * as Arrow from "apache-arrow"
import { OutputFileError } from "../errors.ts"
import { fileLines, idKey } from "../inputs.ts"
import type { IdSet } from "../output.ts"
import { firstId, journalOf, type RowPaths, readRows, recoverRows, removeRows, scanIds, seedRows } from "./rows.ts"

/** A format written through the journal. */
export type Columnar = "parquet" | "arrow"

/** How the `id` column holds the ids. */
type IdEncoding = "string" | "integer" | "json"

const encodingKey = "bedrock-embed:id"

/**
 * Rows of a batch (and of a Parquet row group): about 4 MiB of vectors, so memory stays bounded
 * whatever the corpus (the Parquet writer's working memory is a few such batches).
 */
const batchRows = (dim: number) => Math.max(1, Math.min(65_536, Math.floor((4 << 20) / (4 * Math.max(1, dim)))))

const kindOf = (id: unknown): IdEncoding =>
  typeof id === "string" ? "string" : typeof id === "number" && Number.isSafeInteger(id) ? "integer" : "json"

const mergeEncoding = (a: IdEncoding | undefined, b: IdEncoding): IdEncoding =>
  a === undefined || a === b ? b : "json"

/** Where the output is rewritten before it is renamed over the old one. */
const temporaryOf = (output: string) => `${output}.tmp`

/** A run of rows: their ids (JSON values) and their vectors, one after another. */
interface Chunk {
  readonly ids: ReadonlyArray<unknown>
  readonly vectors: Float32Array
}

const notOurs = (path: string, why: string) =>
  new OutputFileError({
    message: `${path} is not a vector file written by bedrock-embed (${why}): move it away, or choose another --out`
  })

/** The ids of a record batch of ours, as JSON values. */
const idsOf = (batch: Arrow.RecordBatch, encoding: IdEncoding, path: string): Array<unknown> => {
  const idColumn = batch.getChild("id")
  if (idColumn === null) throw notOurs(path, "no id column")
  const ids: Array<unknown> = []
  for (let i = 0; i < batch.numRows; i++) {
    const value: unknown = idColumn.get(i)
    ids.push(
      encoding === "json" ? JSON.parse(value as string) : encoding === "integer" ? Number(value as bigint) : value
    )
  }
  return ids
}

/** The rows of a record batch of ours. */
const chunkOf = (batch: Arrow.RecordBatch, encoding: IdEncoding, path: string): Chunk => {
  const embedding = batch.getChild("embedding")
  if (embedding === null || !Arrow.DataType.isFixedSizeList(embedding.type)) {
    throw notOurs(path, "no fixed-size-list embedding column")
  }
  const dim = (embedding.type as Arrow.FixedSizeList).listSize
  const data = embedding.data[0]!
  const child = data.children[0]!
  if (!(child.values instanceof Float32Array)) throw notOurs(path, "the embeddings are not float32")
  const start = (child.offset + data.offset) * dim
  const vectors = child.values.subarray(start, start + batch.numRows * dim)
  return { ids: idsOf(batch, encoding, path), vectors }
}

/** The schema of a file of `dim`-sized vectors and ids held as `encoding`. */
const schemaOf = (dim: number, encoding: IdEncoding) =>
  new Arrow.Schema(
    [
      new Arrow.Field("id", encoding === "integer" ? new Arrow.Int64() : new Arrow.Utf8(), false),
      new Arrow.Field(
        "embedding",
        new Arrow.FixedSizeList(dim, new Arrow.Field("item", new Arrow.Float32(), false)),
        false
      )
    ],
    new Map([[encodingKey, encoding]])
  )

/** One record batch of `schema` holding `chunk`. */
const batchOf = (schema: Arrow.Schema, dim: number, encoding: IdEncoding, chunk: Chunk) => {
  const length = chunk.ids.length
  const id =
    encoding === "integer"
      ? Arrow.makeData({
          type: new Arrow.Int64(),
          length,
          nullCount: 0,
          data: BigInt64Array.from(chunk.ids, (value) => BigInt(value as number))
        })
      : Arrow.vectorFromArray(
          chunk.ids.map((value) => (encoding === "json" ? JSON.stringify(value) : (value as string))),
          new Arrow.Utf8()
        ).data[0]!
  const embedding = Arrow.makeData({
    type: schema.fields[1]!.type as Arrow.FixedSizeList<Arrow.Float32>,
    length,
    nullCount: 0,
    child: Arrow.makeData({ type: new Arrow.Float32(), length: length * dim, nullCount: 0, data: chunk.vectors })
  })
  const struct = Arrow.makeData({
    type: new Arrow.Struct(schema.fields),
    length,
    nullCount: 0,
    children: [id, embedding]
  })
  return new Arrow.RecordBatch(schema, struct)
}

/** An output file of ours, read a batch at a time. */
interface FinalFile {
  readonly dim: number
  readonly rows: number
  readonly encoding: IdEncoding
  readonly chunks: () => AsyncIterable<Chunk>
  /** Its ids only (a Parquet file's id column alone). */
  readonly ids: () => AsyncIterable<ReadonlyArray<unknown>>
}

const describe = (schema: Arrow.Schema, path: string) => {
  const embedding = schema.fields.find((field) => field.name === "embedding")
  if (embedding === undefined || !Arrow.DataType.isFixedSizeList(embedding.type)) {
    throw notOurs(path, "no fixed-size-list embedding column")
  }
  const encoding = (schema.metadata.get(encodingKey) ?? "string") as IdEncoding
  if (!["string", "integer", "json"].includes(encoding)) throw notOurs(path, `unknown ${encodingKey} ${encoding}`)
  return { dim: (embedding.type as Arrow.FixedSizeList).listSize, encoding }
}

/** The record batches of a wasm stream as arrow-js ones. */
async function* fromWasm(stream: ReadableStream<{ intoIPCStream(): Uint8Array }>) {
  for await (const batch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
    yield* Arrow.tableFromIPC(batch.intoIPCStream()).batches
  }
}

const parquetWasm = () => import("parquet-wasm/node")

const readParquet = async (path: string): Promise<FinalFile> => {
  const wasm = await parquetWasm()
  const file = await wasm.ParquetFile.fromFile(await openAsBlob(path))
  const rows = Number(file.metadata().fileMetadata().numRows())
  const schema = Arrow.tableFromIPC(file.schema().intoIPCStream()).schema
  const { dim, encoding } = describe(schema, path)
  return {
    dim,
    rows,
    encoding,
    chunks: async function* () {
      for await (const batch of fromWasm(await file.stream({ batchSize: batchRows(dim) }))) {
        yield chunkOf(batch, encoding, path)
      }
    },
    ids: async function* () {
      for await (const batch of fromWasm(await file.stream({ batchSize: 65_536, columns: ["id"] }))) {
        yield idsOf(batch, encoding, path)
      }
    }
  }
}

const readArrow = async (path: string): Promise<FinalFile> => {
  const handle = await open(path, "r")
  let described: { readonly dim: number; readonly encoding: IdEncoding; readonly batches: number }
  try {
    const reader = await Arrow.RecordBatchReader.from(handle)
    await reader.open()
    if (!reader.isFile()) throw notOurs(path, "not an Arrow IPC file")
    described = { ...describe(reader.schema, path), batches: reader.numRecordBatches }
  } finally {
    await handle.close()
  }
  const { dim, encoding, batches } = described
  const chunks = async function* () {
    const again = await open(path, "r")
    try {
      for await (const batch of await Arrow.RecordBatchReader.from(again)) yield chunkOf(batch, encoding, path)
    } finally {
      await again.close()
    }
  }
  return {
    dim,
    rows: batches > 0 ? -1 : 0,
    encoding,
    chunks,
    ids: async function* () {
      for await (const chunk of chunks()) yield chunk.ids
    }
  }
}

/** Opens an output file of ours (its schema read; its rows not yet). */
const readFinal = async (format: Columnar, path: string): Promise<FinalFile> => {
  try {
    return format === "parquet" ? await readParquet(path) : await readArrow(path)
  } catch (cause) {
    if (cause instanceof OutputFileError) throw cause
    throw notOurs(path, `${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/**
 * Ids already written (as {@link idKey}s): the output's, streamed a batch at a time, then the
 * journal's. A journal whose first id is in the output was merged already (a crash between the
 * rename and its removal) and is dropped; a torn journal tail is cut.
 */
export const resumeColumnar = async (format: Columnar, output: string, done: IdSet): Promise<IdSet> => {
  const journal = journalOf(output)
  // A rewrite a crash interrupted: the output and the journal are as they were before it.
  if (existsSync(temporaryOf(output))) unlinkSync(temporaryOf(output))
  const final = existsSync(output) ? await readFinal(format, output) : undefined
  if (final !== undefined) {
    for await (const ids of final.ids()) for (const id of ids) done.add(idKey(id))
    const first = firstId(journal)
    if (first !== undefined && done.has(first)) removeRows(journal)
  }
  // New vectors of another size than the output's are refused as they come, not at the end.
  if (recoverRows(journal, done).rows === 0 && final !== undefined && final.rows !== 0) seedRows(journal, final.dim)
  return done
}

/** The journal's rows, a bounded batch at a time, and the encoding its ids need. */
const journalRows = (paths: RowPaths, dim: number, rows: number) => {
  let encoding: IdEncoding | undefined
  const ids = openSync(paths.ids, "r")
  try {
    scanIds(ids, rows, (id) => {
      encoding = mergeEncoding(encoding, kindOf(id))
    })
  } finally {
    closeSync(ids)
  }
  return {
    encoding,
    chunks: async function* (): AsyncIterable<Chunk> {
      const vectors = openSync(paths.vectors, "r")
      try {
        let batch: Array<unknown> = []
        let start = 0
        const size = batchRows(dim)
        // One buffer for every batch: each is written out before the next is read.
        const buffer = new Float32Array(size * dim)
        for await (const line of fileLines(paths.ids)) {
          if (start + batch.length === rows) break
          batch.push(JSON.parse(line))
          if (batch.length === size) {
            yield { ids: batch, vectors: readRows(vectors, dim, start, batch.length, buffer) }
            start += batch.length
            batch = []
          }
        }
        if (batch.length > 0) yield { ids: batch, vectors: readRows(vectors, dim, start, batch.length, buffer) }
      } finally {
        closeSync(vectors)
      }
    }
  }
}

/** An arrow-js byte sink writing straight to a file, so the writer holds no bytes. */
class FileSink extends Arrow.AsyncByteQueue {
  readonly fd: number
  constructor(fd: number) {
    super()
    this.fd = fd
  }
  override write(value: Parameters<Arrow.AsyncByteQueue["write"]>[0]) {
    const bytes = ArrayBuffer.isView(value)
      ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
      : typeof value === "string"
        ? Buffer.from(value)
        : new Uint8Array(value as ArrayBufferLike)
    writeSync(this.fd, bytes)
  }
}

const writeArrow = async (fd: number, schema: Arrow.Schema, batches: AsyncIterable<Arrow.RecordBatch>) => {
  const writer = new Arrow.RecordBatchFileWriter()
  writer.reset(new FileSink(fd), schema)
  for await (const batch of batches) writer.write(batch)
  writer.finish()
}

const writeParquet = async (fd: number, dim: number, batches: AsyncIterable<Arrow.RecordBatch>) => {
  const wasm = await parquetWasm()
  const properties = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.UNCOMPRESSED)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(batchRows(dim))
    .build()
  const iterator = batches[Symbol.asyncIterator]()
  const source = new ReadableStream({
    pull: async (controller) => {
      const next = await iterator.next()
      if (next.done === true) return controller.close()
      const table = wasm.Table.fromIPCStream(Arrow.tableToIPC(new Arrow.Table(next.value), "stream"))
      for (const batch of table.recordBatches()) controller.enqueue(batch)
      table.free()
    }
  })
  const output = await wasm.transformParquetStream(source, properties)
  for await (const bytes of output as unknown as AsyncIterable<Uint8Array>) writeSync(fd, bytes)
}

async function* batchesOf(
  schema: Arrow.Schema,
  dim: number,
  encoding: IdEncoding,
  sources: ReadonlyArray<() => AsyncIterable<Chunk>>
) {
  for (const source of sources) for await (const chunk of source()) yield batchOf(schema, dim, encoding, chunk)
}

/**
 * Rewrites the output with the journal's rows after its own, in one streaming pass into a
 * temporary file renamed over it, then removes the journal. Nothing to add: the journal is removed
 * (a run that wrote no vector and found no output leaves no file).
 */
export const finishColumnar = async (format: Columnar, output: string, dim: number, rows: number) => {
  const journal = journalOf(output)
  const final = existsSync(output) ? await readFinal(format, output) : undefined
  if (rows === 0) return removeRows(journal)
  const sources: Array<() => AsyncIterable<Chunk>> = []
  let encoding: IdEncoding | undefined
  let size = dim
  if (final !== undefined && final.rows !== 0) {
    if (rows > 0 && final.dim !== dim) {
      throw new OutputFileError({
        message: `${output} holds vectors of ${final.dim} dimensions, the new ones have ${dim}: run with the same model and --dimensions, or choose another --out (the new vectors stay in ${journal.vectors})`
      })
    }
    size = final.dim
    encoding = final.encoding
    sources.push(final.chunks)
  }
  if (rows > 0) {
    const rowsOf = journalRows(journal, dim, rows)
    encoding = mergeEncoding(encoding, rowsOf.encoding ?? "string")
    sources.push(rowsOf.chunks)
  }
  const schema = schemaOf(size, encoding ?? "string")
  const temporary = temporaryOf(output)
  const fd = openSync(temporary, "w")
  try {
    const batches = batchesOf(schema, size, encoding ?? "string", sources)
    await (format === "parquet" ? writeParquet(fd, size, batches) : writeArrow(fd, schema, batches))
    fsyncSync(fd)
  } catch (cause) {
    closeSync(fd)
    unlinkSync(temporary)
    throw cause
  }
  closeSync(fd)
  renameSync(temporary, output)
  removeRows(journal)
}
