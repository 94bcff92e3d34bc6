/**
 * `bedrock-embed embed` on real corpora: ids are JSON identities, dirty lines are reported and
 * skipped, each distinct text is sent once, and resume reads the output a chunk at a time.
 */
import { once } from "node:events"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Embeddings, Jobs } from "@bedrock-embed/core"
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { EmbedFile } from "@bedrock-embed/proxy"
import { bedrockEmbedInProcess } from "./cliInProcess.ts"

let emulator: Emulator
let dir: string
beforeAll(async () => {
  emulator = await startEmulator({ s3: false })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-ids-"))
})
afterAll(async () => {
  await emulator.close()
  await rm(dir, { recursive: true, force: true })
})
beforeEach(() => emulator.clearInvocations())

const titan = ["--model", "amazon.titan-embed-text-v2:0", "--dimensions", "256"]

/** `bedrock-embed embed` run in this process. */
const embed = (args: ReadonlyArray<string>) =>
  bedrockEmbedInProcess(["embed", "--endpoint", emulator.url, "--region", "us-east-1", "--no-progress", ...args])

/** Writes the lines (strings as they are, anything else as JSON) as a JSONL file. */
const file = async (name: string, rows: ReadonlyArray<unknown>) => {
  const path = join(dir, name)
  await writeFile(path, `${rows.map((row) => (typeof row === "string" ? row : JSON.stringify(row))).join("\n")}\n`)
  return path
}

const jsonl = async <A>(path: string): Promise<Array<A>> =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as A)

type Row = { id: unknown; embedding: Array<number> }
type ErrorRow = { id?: unknown; line?: number; error: string; message: string }

describe("embed: ids are identities", () => {
  it('keeps each id\'s JSON value: 1 and "1" differ, objects are written back as given', async () => {
    const input = await file("kinds.jsonl", [
      { id: 1, text: "one" },
      { id: "1", text: "the string one" },
      { id: { shard: 2, n: 7 }, text: "an object id" },
      { id: [1, "a"], text: "an array id" }
    ])
    const output = join(dir, "kinds.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 4 of 4 \(skipped 0 already done, failed 0\)/)
    assert.deepStrictEqual(
      (await jsonl<Row>(output)).map((r) => r.id),
      [1, "1", { shard: 2, n: 7 }, [1, "a"]]
    )
    const again = await embed([...titan, "--in", input, "--out", output])
    assert.match(again.out, /embedded 0 of 4 \(skipped 4 already done, failed 0\)/)
    assert.strictEqual((await jsonl<Row>(output)).length, 4)
  })

  it("refuses a repeated id before any call, naming both lines, and exits 2", async () => {
    const input = await file("dup.jsonl", [
      { id: { a: 1, b: 2 }, text: "first" },
      { id: "x", text: "other" },
      { id: { b: 2, a: 1 }, text: "same id, keys in another order" }
    ])
    const output = join(dir, "dup.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 2, run.err)
    assert.include(run.err, `the id {"b":2,"a":1} is on lines 1 and 3`)
    assert.include(run.err, "--on-duplicate first")
    assert.strictEqual(emulator.invocations.length, 0)
  })

  it("--on-duplicate first embeds each id's first line and reports the others with their line", async () => {
    const input = await file("dup-first.jsonl", [
      { id: "a", text: "first a" },
      { id: "b", text: "b" },
      { id: "a", text: "second a" }
    ])
    const output = join(dir, "dup-first.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output, "--on-duplicate", "first"])
    assert.strictEqual(run.code, 3, run.err)
    assert.match(run.out, /embedded 2 of 3 \(skipped 0 already done, failed 1\)/)
    assert.deepStrictEqual(
      (await jsonl<Row>(output)).map((r) => r.id),
      ["a", "b"]
    )
    const errors = await jsonl<ErrorRow>(`${output}.errors.jsonl`)
    assert.deepStrictEqual(
      errors.map((e) => [e.id, e.line, e.error]),
      [["a", 3, "DuplicateIdError"]]
    )
    assert.include(errors[0]!.message, "also on line 1")
  })

  it("a line without an id is an error for that line; --positional numbers the lines from 1", async () => {
    const input = await file("noid.jsonl", [{ id: "0", text: "has an id" }, { text: "has none" }, ""])
    const output = join(dir, "noid.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 3, run.err)
    assert.match(run.out, /embedded 1 of 2 \(skipped 0 already done, failed 1\)/)
    assert.deepStrictEqual(
      (await jsonl<Row>(output)).map((r) => r.id),
      ["0"]
    )
    const errors = await jsonl<ErrorRow>(`${output}.errors.jsonl`)
    assert.deepStrictEqual(
      errors.map((e) => [e.line, e.error]),
      [[2, "InputFileError"]]
    )
    assert.include(errors[0]!.message, "--positional")

    const blankFirst = await file("positional.jsonl", ["", { text: "a" }, { id: "ignored", text: "b" }])
    const numbered = join(dir, "positional.out.jsonl")
    const positional = await embed([...titan, "--in", blankFirst, "--out", numbered, "--positional"])
    assert.strictEqual(positional.code, 0, positional.err)
    assert.match(positional.out, /embedded 2 of 2/)
    assert.deepStrictEqual(
      (await jsonl<Row>(numbered)).map((r) => r.id),
      [2, 3]
    )
  })
})

describe("embed: dirty lines", () => {
  it("reports every bad line with its number and reason, embeds the rest, and exits 3", async () => {
    const input = await file("dirty.jsonl", [
      { id: "ok-1", text: "fine" },
      "{not json",
      "null",
      "42",
      "[1, 2]",
      { id: "no-text" },
      { id: "number-text", text: 42 },
      { id: "empty", text: "" },
      { id: "ok-2", text: "fine too" }
    ])
    const output = join(dir, "dirty.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 3, run.err)
    assert.notInclude(run.err, "TypeError")
    assert.match(run.out, /embedded 2 of 9 \(skipped 0 already done, failed 7\)/)
    assert.strictEqual(emulator.invocations.length, 2, "one call per valid text, none for the bad lines")
    assert.deepStrictEqual(
      (await jsonl<Row>(output)).map((r) => r.id),
      ["ok-1", "ok-2"]
    )
    const errors = (await jsonl<ErrorRow>(`${output}.errors.jsonl`)).sort((a, b) => a.line! - b.line!)
    assert.deepStrictEqual(
      errors.map((e) => [e.line, e.id, e.error]),
      [
        [2, undefined, "InputFileError"],
        [3, undefined, "InputFileError"],
        [4, undefined, "InputFileError"],
        [5, undefined, "InputFileError"],
        [6, "no-text", "InputFileError"],
        [7, "number-text", "InputFileError"],
        [8, "empty", "InvalidRequestError"]
      ]
    )
    const reasons = errors.map((e) => e.message)
    assert.include(reasons[0], `${input}:2: not JSON`)
    assert.include(reasons[1], "null, not an object")
    assert.include(reasons[2], "a number, not an object")
    assert.include(reasons[3], "an array, not an object")
    assert.include(reasons[4], `the text field "text" is missing`)
    assert.include(reasons[5], `the text field "text" is a number, not a string`)
  })
})

describe("embed: each distinct text once", () => {
  it("sends a repeated text once and writes its vector for every id that has it", async () => {
    const texts = ["alpha", "beta", "gamma"]
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: `d${i}`, text: texts[i % 3] }))
    const input = await file("repeat.jsonl", rows)
    const output = join(dir, "repeat.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 30 of 30 .* 3 Bedrock calls, 0 throttled, 27 duplicate texts embedded once/)
    assert.strictEqual(emulator.invocations.length, 3)
    const vectors = await jsonl<Row>(output)
    assert.deepStrictEqual(
      vectors.map((r) => r.id),
      rows.map((r) => r.id)
    )

    // The vectors are each text's own: the same as a run over the distinct texts alone.
    const distinct = await file(
      "distinct.jsonl",
      texts.map((text) => ({ id: text, text }))
    )
    const reference = join(dir, "distinct.out.jsonl")
    await embed([...titan, "--in", distinct, "--out", reference])
    const byText = new Map((await jsonl<Row>(reference)).map((r) => [r.id, r.embedding]))
    assert.notDeepEqual(byText.get("alpha"), byText.get("beta"))
    for (const [i, row] of vectors.entries()) assert.deepStrictEqual(row.embedding, byText.get(texts[i % 3]!))
  })

  it("writes every repeated line when the calls finish before the input is read on", async () => {
    // One call at a time: the engine reads the next input only once the last one is back.
    const rows = Array.from({ length: 120 }, (_, i) => ({ id: `p${i}`, text: `pair ${i >> 1}` }))
    const input = await file("pairs.jsonl", rows)
    const output = join(dir, "pairs.out.jsonl")
    const run = await embed([...titan, "--in", input, "--out", output, "--concurrency", "1"])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 120 of 120 .* 60 Bedrock calls, 0 throttled, 60 duplicate texts embedded once/)
    const vectors = await jsonl<Row>(output)
    assert.deepStrictEqual(
      vectors.map((r) => r.id),
      rows.map((r) => r.id)
    )
    for (let i = 0; i < 120; i += 2) assert.deepStrictEqual(vectors[i + 1]!.embedding, vectors[i]!.embedding)
  })

  it("after a resume, a repeated text whose first line is done is embedded for the rest", async () => {
    const input = await file("repeat-resume.jsonl", [
      { id: "a", text: "shared" },
      { id: "b", text: "own" },
      { id: "c", text: "shared" }
    ])
    const output = join(dir, "repeat-resume.out.jsonl")
    await embed([...titan, "--in", input, "--out", output])
    const [first] = await jsonl<Row>(output)
    await writeFile(output, `${JSON.stringify(first)}\n`)
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 2 of 3 \(skipped 1 already done, failed 0\)/)
    const rows = await jsonl<Row>(output)
    assert.deepStrictEqual(
      rows.map((r) => r.id),
      ["a", "b", "c"]
    )
    assert.deepStrictEqual(rows[2]!.embedding, rows[0]!.embedding)
  })
})

/** Counts the newlines of a file, streamed. */
const countLines = async (path: string) => {
  let count = 0
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) count++
  }
  return count
}

describe("embed: resume reads the output a chunk at a time", () => {
  // Past 512 MiB a file no longer fits one JS string: a whole-file read fails there. The lines are
  // long (256 KiB, across read chunks) so the ids stay few and the file is quick to write.
  it("resumes over a 600 MB output with a 40 MB torn tail", { timeout: 120_000 }, async () => {
    const lineCount = 2400
    const padding = `[${"0.1234567,".repeat(26_214)}0.5]`
    const output = join(dir, "huge.out.jsonl")
    const stream = createWriteStream(output)
    for (let i = 0; i < lineCount; i++) {
      if (!stream.write(`{"id":"doc-${i}","embedding":${padding}}\n`)) await once(stream, "drain")
    }
    // A crash mid-write: a line that never got its end or its newline.
    const torn = `{"id":"doc-${lineCount}","embedding":[${"0.25,".repeat(8_000_000)}`
    await new Promise<void>((resolve, reject) => stream.end(torn, () => resolve()).on("error", reject))
    const before = (await stat(output)).size
    assert.isAbove(before, 600_000_000)

    const input = await file(
      "huge.jsonl",
      Array.from({ length: lineCount + 3 }, (_, i) => ({ id: `doc-${i}`, text: `document ${i}` }))
    )
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(
      run.out,
      new RegExp(`embedded 3 of ${lineCount + 3} \\(skipped ${lineCount} already done, failed 0\\)`)
    )
    assert.strictEqual(await countLines(output), lineCount + 3)
    const handle = await open(output)
    const size = (await handle.stat()).size
    const tail = Buffer.alloc(8192)
    await handle.read(tail, 0, tail.length, size - tail.length)
    await handle.close()
    const last = tail.toString("utf8").trimEnd().split("\n").pop()!
    assert.strictEqual((JSON.parse(last) as Row).id, `doc-${lineCount + 2}`)
    await rm(output)
  })

  it("cuts a corrupt line and everything after it, keeps the lines before", async () => {
    const input = await file(
      "corrupt.jsonl",
      Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, text: `corrupt test ${i}` }))
    )
    const output = join(dir, "corrupt.out.jsonl")
    await embed([...titan, "--in", input, "--out", output])
    const rows = (await readFile(output, "utf8")).split("\n")
    rows[2] = rows[2]!.slice(0, 50)
    await writeFile(output, rows.join("\n"))
    const run = await embed([...titan, "--in", input, "--out", output])
    assert.strictEqual(run.code, 0, run.err)
    assert.match(run.out, /embedded 4 of 6 \(skipped 2 already done, failed 0\)/)
    assert.deepStrictEqual(
      (await jsonl<Row>(output)).map((r) => r.id),
      ["c0", "c1", "c2", "c3", "c4", "c5"]
    )
  })
})

describe("embed: repeated texts, whatever the engine's pace", () => {
  // An engine that takes the next input only once the last result is written (the real one reads
  // ahead): a repeated line then arrives after the line it waits for is out.
  const lockstep = Embeddings.Embeddings.of({
    embedStream: (_request: unknown, inputs: Stream.Stream<unknown>) =>
      inputs.pipe(
        Stream.map((input, index) => ({ index, embedding: Float32Array.from([String(input).length, index]) }))
      ),
    stats: () => ({ calls: 0, throttles: 0, retries: 0 })
  } as unknown as Embeddings.Service)

  it.effect("writes a repeated line whose first line is written already", () =>
    Effect.gen(function* () {
      const input = yield* Effect.promise(() =>
        file("lockstep.jsonl", [
          { id: "a", text: "same" },
          { id: "b", text: "same" },
          { id: "c", text: "other" },
          { id: "d", text: "same" }
        ])
      )
      const output = join(dir, "lockstep.out.jsonl")
      const summary = yield* EmbedFile.program({
        model: "amazon.titan-embed-text-v2:0",
        input,
        output,
        progress: false
      }).pipe(
        Effect.provideService(Embeddings.Embeddings, lockstep),
        Effect.provideService(Jobs.Jobs, {} as Jobs.Service)
      )
      assert.deepStrictEqual([summary.embedded, summary.deduplicated], [4, 2])
      const rows = yield* Effect.promise(() => jsonl<Row>(output))
      assert.deepStrictEqual(
        rows.map((r) => [r.id, r.embedding]),
        [
          ["a", [4, 0]],
          ["b", [4, 0]],
          ["c", [5, 1]],
          ["d", [4, 0]]
        ]
      )
    })
  )
})
