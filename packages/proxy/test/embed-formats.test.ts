/**
 * `bedrock-embed embed --format jsonl|parquet|arrow|npy`: float32 vectors beside their ids, read
 * back with readers independent of the writer (DuckDB for Parquet, the Arrow JS reader for the
 * Arrow IPC file, an NPY reader written here from the format's spec), resumable after kill -9.
 */
import { once } from "node:events"
import { existsSync, readFileSync, statSync } from "node:fs"
import { copyFile, mkdtemp, readFile, truncate, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { tableFromIPC } from "apache-arrow"
import { EmbedFile } from "@bedrock-embed/proxy"
import { bedrockEmbedInProcess, embedCommand } from "./cliInProcess.ts"

let emulator: Emulator
let dir: string
beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 300 })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-formats-"))
  // Batch mode's working bucket exists, as it must on AWS.
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: "formats" }))
  s3.destroy()
})
afterAll(() => emulator.close())

type Format = "parquet" | "arrow" | "npy"
const formats: ReadonlyArray<Format> = ["parquet", "arrow", "npy"]

/** Ids and vectors, in file order. */
interface Rows {
  readonly ids: ReadonlyArray<unknown>
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
}

const model = ["--model", "amazon.titan-embed-text-v2:0", "--dimensions", "256"]

/** `bedrock-embed embed` run in this process (the kill -9 tests spawn it: {@link spawnEmbed}). */
const { embed, spawnEmbed } = embedCommand(() => emulator.url)

/** A corpus whose texts repeat now and then (a repeated text's vector is copied, not re-sent). */
const corpus = async (name: string, count: number, idOf: (i: number) => unknown = (i) => `doc-${i}`) => {
  const file = join(dir, name)
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: idOf(i), text: `document ${i % 97 === 5 ? 5 : i} on topic ${i % 23}` })
  )
  await writeFile(file, `${lines.join("\n")}\n`)
  return file
}

const readJsonl = async (file: string): Promise<Rows> => {
  const rows = (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { id: unknown; embedding: Array<number> })
  return { ids: rows.map((row) => row.id), vectors: rows.map((row) => row.embedding) }
}

/** Parquet through DuckDB: `SELECT id, embedding FROM 'file.parquet'`. */
const readParquet = async (file: string): Promise<Rows & { readonly idType: string }> => {
  const instance = await DuckDBInstance.create()
  const connection = await instance.connect()
  try {
    const result = await connection.runAndReadAll(`SELECT id, embedding FROM '${file.replaceAll("'", "''")}'`)
    const rows = result.getRowsJS() as Array<[unknown, Array<number>]>
    const described = await connection.runAndReadAll(`DESCRIBE SELECT id FROM '${file.replaceAll("'", "''")}'`)
    const idType = String((described.getRowsJS()[0] as Array<unknown>)[1])
    return {
      ids: rows.map(([id]) => (typeof id === "bigint" ? Number(id) : id)),
      vectors: rows.map(([, embedding]) => Array.from(embedding)),
      idType
    }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** The Arrow IPC file through the Arrow JS reader. */
const readArrow = (file: string): Rows => {
  const table = tableFromIPC(readFileSync(file))
  const ids: Array<unknown> = []
  const vectors: Array<Array<number>> = []
  for (const row of table) {
    const id = row.id as unknown
    ids.push(typeof id === "bigint" ? Number(id) : id)
    vectors.push(Array.from(row.embedding as Iterable<number>))
  }
  return { ids, vectors }
}

/**
 * An NPY file read from the format's spec (numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic `\x93NUMPY`, a major and a minor version byte, a little-endian header length (2 bytes in
 * version 1, 4 in 2 and 3), a Python dict literal with `descr`, `fortran_order` and `shape`, then
 * the data.
 */
const readNpy = (file: string) => {
  const bytes = readFileSync(file)
  assert.strictEqual(bytes.toString("latin1", 0, 6), "\x93NUMPY")
  const major = bytes[6]!
  const lengthBytes = major === 1 ? 2 : 4
  const headerLength = lengthBytes === 2 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8)
  const start = 8 + lengthBytes + headerLength
  assert.strictEqual(start % 64, 0, "the data is aligned to 64 bytes")
  const header = bytes.toString("latin1", 8 + lengthBytes, start)
  assert.match(header, /'descr': '<f4'/)
  assert.match(header, /'fortran_order': False/)
  const [, rows, columns] = /'shape': \((\d+), (\d+)\)/.exec(header)!.map(Number) as [number, number, number]
  assert.strictEqual(bytes.length - start, rows * columns * 4, "the data is the shape's size")
  const vectors: Array<Array<number>> = []
  for (let r = 0; r < rows; r++) {
    const row: Array<number> = []
    for (let c = 0; c < columns; c++) row.push(bytes.readFloatLE(start + (r * columns + c) * 4))
    vectors.push(row)
  }
  return { rows, columns, vectors }
}

const readOutput = async (format: Format, file: string): Promise<Rows> => {
  if (format === "parquet") return readParquet(file)
  if (format === "arrow") return readArrow(file)
  const { vectors } = readNpy(file)
  const ids = (await readFile(`${file}.ids.jsonl`, "utf8"))
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown)
  return { ids, vectors }
}

const references = new Map<string, Promise<Rows>>()

/** The JSONL output of the same corpus and model (once per corpus): the reference. */
const reference = (input: string, args: ReadonlyArray<string> = model) => {
  const known = references.get(input)
  if (known !== undefined) return known
  const output = `${input}.reference.jsonl`
  const rows = embed([...args, "--in", input, "--out", output]).then((run) => {
    assert.strictEqual(run.code, 0, run.err)
    return readJsonl(output)
  })
  references.set(input, rows)
  return rows
}

/** A corpus made once, for all formats. */
const shared = new Map<string, Promise<string>>()
const sharedCorpus = (name: string, count: number) => {
  const known = shared.get(name)
  if (known !== undefined) return known
  const file = corpus(name, count)
  shared.set(name, file)
  return file
}

/** Same ids in the same order, each vector exactly (float32) equal to the reference's. */
const assertSameRows = (actual: Rows, expected: Rows) => {
  assert.deepStrictEqual(actual.ids, expected.ids)
  assert.strictEqual(actual.vectors.length, expected.vectors.length)
  for (let i = 0; i < expected.vectors.length; i++) {
    const want = expected.vectors[i]!
    assert.isTrue(
      want.every((x) => x === Math.fround(x)),
      "the reference's numbers are float32"
    )
    assert.deepStrictEqual(actual.vectors[i], want, `row ${i} (${JSON.stringify(actual.ids[i])})`)
  }
}

/** Same rows as the reference, in any order, each id once. */
const assertSameSet = (actual: Rows, expected: Rows) => {
  assert.strictEqual(new Set(actual.ids.map((id) => JSON.stringify(id))).size, actual.ids.length, "each id once")
  const want = new Map(expected.ids.map((id, i) => [JSON.stringify(id), expected.vectors[i]!]))
  assert.strictEqual(actual.ids.length, want.size)
  actual.ids.forEach((id, i) => {
    assert.deepStrictEqual(actual.vectors[i], want.get(JSON.stringify(id)))
  })
}

/** The file that grows while a run of `format` writes `output`. */
const growing = (format: Format, output: string) => (format === "npy" ? output : `${output}.partial.npy`)

describe("bedrock-embed embed --format", () => {
  for (const format of formats) {
    it(`${format}: float32 vectors and ids that an independent reader reads back as the JSONL's`, async () => {
      const input = await sharedCorpus("read.jsonl", 300)
      const expected = await reference(input)
      const output = join(dir, `read.${format}`)
      const run = await embed([...model, "--format", format, "--in", input, "--out", output])
      assert.strictEqual(run.code, 0, run.err)
      assert.match(run.out, /embedded 300 of 300 \(skipped 0 already done, failed 0\)/)
      assertSameRows(await readOutput(format, output), expected)
      assert.isFalse(existsSync(`${output}.partial.npy`), "no journal left")
      assert.isFalse(existsSync(`${output}.partial.ids.jsonl`), "no journal left")
    })
  }

  it("parquet: string ids as VARCHAR, integer ids as BIGINT, mixed ids as their JSON text", async () => {
    const cases: ReadonlyArray<readonly [string, (i: number) => unknown, string]> = [
      ["strings", (i) => `doc-${i}`, "VARCHAR"],
      ["integers", (i) => i * 7, "BIGINT"],
      ["mixed", (i) => (i % 3 === 0 ? i : i % 3 === 1 ? `${i}` : { n: i }), "VARCHAR"]
    ]
    for (const [name, idOf, type] of cases) {
      const input = await corpus(`ids-${name}.jsonl`, 40, idOf)
      const output = join(dir, `ids-${name}.parquet`)
      const run = await embed([...model, "--format", "parquet", "--in", input, "--out", output])
      assert.strictEqual(run.code, 0, run.err)
      const rows = await readParquet(output)
      assert.strictEqual(rows.idType, type, name)
      const ids = name === "mixed" ? rows.ids.map((id) => JSON.parse(id as string) as unknown) : rows.ids
      assert.deepStrictEqual(
        ids,
        Array.from({ length: 40 }, (_, i) => idOf(i))
      )
    }
  })

  it("100 docs × 1024 float32 as Parquet take about 4 bytes a number, not the JSONL's text", async () => {
    const input = await corpus("size.jsonl", 100)
    const output = join(dir, "size.parquet")
    const args = ["--model", "cohere.embed-english-v3"]
    const expected = await reference(input, args)
    const run = await embed([...args, "--format", "parquet", "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assertSameRows(await readParquet(output), expected)
    const size = statSync(output).size
    assert.isAbove(size, 100 * 1024 * 4)
    assert.isBelow(size, 100 * 1024 * 4 * 1.1)
    assert.isAbove(statSync(`${input}.reference.jsonl`).size, 2.5 * size)
  })

  for (const format of formats) {
    it(`${format}: after kill -9 mid-run, a re-run writes exactly one row per id`, async () => {
      const count = 2000
      const input = await sharedCorpus("kill.jsonl", count)
      const expected = await reference(input)
      const output = join(dir, `kill.${format}`)
      emulator.setFaults({ latencyMs: 30 })
      const child = spawnEmbed([...model, "--format", format, "--in", input, "--out", output, "--concurrency", "2"])
      const file = growing(format, output)
      for (let i = 0; i < 800 && !(existsSync(file) && statSync(file).size > 200 * 1024); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      child.kill("SIGKILL")
      const [, signal] = await once(child, "exit")
      emulator.setFaults({ latencyMs: 0 })
      assert.strictEqual(signal, "SIGKILL")
      const rowsWritten = Math.floor((statSync(file).size - 128) / (256 * 4))
      assert.isAbove(rowsWritten, 0)
      assert.isBelow(rowsWritten, count, "killed before the end")

      const rerun = await embed([...model, "--format", format, "--in", input, "--out", output])
      assert.strictEqual(rerun.code, 0, rerun.err)
      const skipped = Number(/skipped (\d+) already done/.exec(rerun.out)?.[1])
      assert.isAbove(skipped, 0, rerun.out)
      assert.isAtMost(skipped, rowsWritten)
      assertSameSet(await readOutput(format, output), expected)
      const again = await embed([...model, "--format", format, "--in", input, "--out", output])
      assert.match(again.out, new RegExp(`embedded 0 of ${count} \\(skipped ${count} already done`))
      assertSameSet(await readOutput(format, output), expected)
    }, 180_000)
  }

  for (const format of formats) {
    it(`${format}: a vector and an id cut mid-row are dropped and redone`, async () => {
      const input = await sharedCorpus("torn.jsonl", 20)
      const expected = await reference(input)
      const output = join(dir, `torn.${format}`)
      // A journal as a crash leaves it: the npy output is its own journal; parquet and arrow ones
      // are made from an npy run's files.
      const npy = join(dir, `torn-journal-${format}.npy`)
      assert.strictEqual((await embed([...model, "--format", "npy", "--in", input, "--out", npy])).code, 0)
      const [vectors, ids] =
        format === "npy" ? [output, `${output}.ids.jsonl`] : [`${output}.partial.npy`, `${output}.partial.ids.jsonl`]
      await copyFile(npy, vectors)
      await copyFile(`${npy}.ids.jsonl`, ids)
      // 19 whole rows and part of the 20th; 18 ids and part of the 19th.
      await truncate(vectors, 128 + 19 * 1024 + 100)
      const idLines = (await readFile(ids, "utf8")).split("\n")
      await writeFile(ids, `${idLines.slice(0, 18).join("\n")}\n${idLines[18]!.slice(0, 3)}`)

      const run = await embed([...model, "--format", format, "--in", input, "--out", output])
      assert.strictEqual(run.code, 0, run.err)
      assert.match(run.out, /embedded 2 of 20 \(skipped 18 already done/)
      assertSameRows(await readOutput(format, output), expected)
    })
  }

  for (const format of formats) {
    it(`${format}: a finished output and new inputs: the new rows are added, the old kept`, async () => {
      const whole = await sharedCorpus("grow.jsonl", 120)
      const expected = await reference(whole)
      const half = join(dir, `grow-half-${format}.jsonl`)
      await writeFile(half, `${(await readFile(whole, "utf8")).split("\n").slice(0, 60).join("\n")}\n`)
      const output = join(dir, `grow.${format}`)
      const first = await embed([...model, "--format", format, "--in", half, "--out", output])
      assert.strictEqual(first.code, 0, first.err)
      const second = await embed([...model, "--format", format, "--in", whole, "--out", output])
      assert.strictEqual(second.code, 0, second.err)
      assert.match(second.out, /embedded 60 of 120 \(skipped 60 already done/)
      assertSameRows(await readOutput(format, output), expected)
    })
  }

  for (const format of ["parquet", "arrow"] as const) {
    it(`${format}: a journal left by a crash after the output was rewritten is not added twice`, async () => {
      const input = await sharedCorpus("stale.jsonl", 50)
      const expected = await reference(input)
      const output = join(dir, `stale.${format}`)
      const npy = join(dir, `stale-journal-${format}.npy`)
      assert.strictEqual((await embed([...model, "--format", "npy", "--in", input, "--out", npy])).code, 0)
      // The run rewrote the output with its journal, then died before removing the journal.
      assert.strictEqual((await embed([...model, "--format", format, "--in", input, "--out", output])).code, 0)
      await copyFile(npy, `${output}.partial.npy`)
      await copyFile(`${npy}.ids.jsonl`, `${output}.partial.ids.jsonl`)
      const run = await embed([...model, "--format", format, "--in", input, "--out", output])
      assert.strictEqual(run.code, 0, run.err)
      assert.match(run.out, /embedded 0 of 50 \(skipped 50 already done/)
      assertSameRows(await readOutput(format, output), expected)
      assert.isFalse(existsSync(`${output}.partial.npy`), "the stale journal is removed")
    })
  }

  for (const format of ["npy", "parquet"] as const) {
    it(`${format}: vectors of another size than the file's are refused at the first one, the file kept`, async () => {
      const input = await sharedCorpus("dims.jsonl", 10)
      const output = join(dir, `dims.${format}`)
      const half = join(dir, "dims-half.jsonl")
      await writeFile(half, `${(await readFile(input, "utf8")).split("\n").slice(0, 5).join("\n")}\n`)
      assert.strictEqual((await embed([...model, "--format", format, "--in", half, "--out", output])).code, 0)
      const other = ["--model", "amazon.titan-embed-text-v2:0", "--dimensions", "512"]
      const run = await embed([...other, "--format", format, "--in", input, "--out", output])
      assert.notStrictEqual(run.code, 0)
      assert.include(run.out + run.err, "holds vectors of 256 dimensions; this one has 512")
      const rows = await readOutput(format, output)
      assert.strictEqual(rows.ids.length, 5)
      assert.isTrue(rows.vectors.every((vector) => vector.length === 256))
    })
  }

  it("a file of another format is refused, not cut", async () => {
    const input = await sharedCorpus("other.jsonl", 10)
    const parquet = join(dir, "other.parquet")
    assert.strictEqual((await embed([...model, "--format", "parquet", "--in", input, "--out", parquet])).code, 0)
    const notes = join(dir, "notes.txt")
    await writeFile(notes, "my notes, not vectors\n")
    const cases = [
      [parquet, "jsonl", "is a parquet file, not JSONL: pass --format parquet"],
      [notes, "npy", "is not a float32 NPY file written by bedrock-embed"],
      [notes, "arrow", "is not a vector file written by bedrock-embed"]
    ] as const
    for (const [file, format, message] of cases) {
      const before = await readFile(file)
      const run = await embed([...model, "--format", format, "--in", input, "--out", file])
      assert.notStrictEqual(run.code, 0, format)
      assert.include(run.err, message)
      assert.isTrue((await readFile(file)).equals(before), `${file} is unchanged`)
    }
  })

  it("batch mode writes the same Parquet file as stream mode", async () => {
    const input = await corpus("batch.jsonl", 150)
    const expected = await reference(input)
    const output = join(dir, "batch.parquet")
    const jobs = ["--mode", "batch", "--s3-endpoint", emulator.s3Url!, "--s3-uri", "s3://formats/jobs"]
    const role = ["--role-arn", "arn:aws:iam::123456789012:role/BedrockBatch", "--poll-seconds", "1"]
    const run = await embed([...model, ...jobs, ...role, "--format", "parquet", "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 150 of 150/)
    assertSameRows(await readParquet(output), expected)
    assert.isFalse(existsSync(`${output}.partial.npy`), "no journal left")
  })

  it("an unknown format is refused, naming the formats", async () => {
    const input = await corpus("bad-format.jsonl", 3)
    const output = join(dir, "bad-format.out")
    const cli = await embed([...model, "--format", "csv", "--in", input, "--out", output])
    assert.strictEqual(cli.code, 2)
    assert.match(cli.err, /jsonl/)
    assert.match(cli.err, /parquet/)
    assert.match(cli.err, /arrow/)
    assert.match(cli.err, /npy/)
    const error = await EmbedFile.run({
      model: "amazon.titan-embed-text-v2:0",
      input,
      output,
      format: "csv" as "jsonl",
      request: { aws_bedrock_runtime_endpoint: emulator.url, aws_region_name: "us-east-1" }
    }).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.instanceOf(error, EmbedFile.OutputFileError)
    assert.strictEqual(
      (error as EmbedFile.OutputFileError).message,
      'unknown output format "csv": use one of jsonl, parquet, arrow, npy (--format)'
    )
    assert.isFalse(existsSync(output), "nothing written")
    const help = await bedrockEmbedInProcess(["embed", "--help"])
    assert.match(help.out, /--format[\s\S]*jsonl[\s\S]*parquet[\s\S]*arrow[\s\S]*npy/)
  })
})
