/** `bedrock-embed embed`: a corpus to vectors, resumable after kill -9, against the emulator. */
import { once } from "node:events"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { finish } from "./cli.ts"
import { embedCommand } from "./cliInProcess.ts"

let emulator: Emulator
let dir: string
beforeAll(async () => {
  emulator = await startEmulator({ s3: false })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-embed-"))
})
afterAll(() => emulator.close())

const corpus = async (name: string, count: number) => {
  const file = join(dir, name)
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: `doc-${i}`, text: `document ${i} on topic ${i % 23}` })
  )
  await writeFile(file, `${lines.join("\n")}\n`)
  return file
}

/** `bedrock-embed embed` run in this process (the kill -9 test spawns it: {@link spawnEmbed}). */
const { embed, spawnEmbed } = embedCommand(() => emulator.url)

const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((l) => l.length > 0)

describe("bedrock-embed embed", () => {
  it("embeds a corpus in order, one line per id, with a summary of tokens and cost", async () => {
    const input = await corpus("small.jsonl", 300)
    const output = join(dir, "small.out.jsonl")
    const { code, out } = await embed(["--model", "cohere.embed-english-v3", "--in", input, "--out", output])
    assert.strictEqual(code, 0)
    const rows = (await lines(output)).map((l) => JSON.parse(l) as { id: string; embedding: Array<number> })
    assert.deepStrictEqual(
      rows.map((r) => r.id),
      Array.from({ length: 300 }, (_, i) => `doc-${i}`)
    )
    assert.isTrue(rows.every((r) => r.embedding.length === 1024))
    assert.match(
      out,
      /embedded 300 of 300 \(skipped 0 already done, failed 0\) in [\d.]+ s — 4 Bedrock calls, 0 throttled — [1-9]\d* tokens, \$0\.\d+/
    )
  })

  it("after kill -9, a re-run writes exactly one line per input id", async () => {
    emulator.setFaults({ latencyMs: 40 })
    const input = await corpus("big.jsonl", 20_000)
    const output = join(dir, "big.out.jsonl")
    const child = spawnEmbed([
      "--model",
      "cohere.embed-english-v3",
      "--in",
      input,
      "--out",
      output,
      "--concurrency",
      "2"
    ])
    // Kill it hard once it is well under way.
    for (let i = 0; i < 400 && !(existsSync(output) && statSync(output).size > 2_000_000); i++) {
      await new Promise((r) => setTimeout(r, 25))
    }
    child.kill("SIGKILL")
    const [, signal] = await once(child, "exit")
    assert.strictEqual(signal, "SIGKILL")
    const partial = (await readFile(output, "utf8")).split("\n").length - 1
    assert.isAbove(partial, 0)
    assert.isBelow(partial, 20_000, "killed before the end")
    emulator.setFaults({ latencyMs: 0 })

    // The re-run in a process of its own too: 20 000 vectors go faster with the emulator on another core.
    const rerun = await finish(spawnEmbed(["--model", "cohere.embed-english-v3", "--in", input, "--out", output]))
    assert.strictEqual(rerun.code, 0, rerun.err)
    assert.match(rerun.out, new RegExp(`skipped ${partial} already done`))
    const ids = (await lines(output)).map((l) => (JSON.parse(l) as { id: string }).id)
    assert.strictEqual(ids.length, 20_000)
    assert.strictEqual(new Set(ids).size, 20_000)
    const again = await embed(["--model", "cohere.embed-english-v3", "--in", input, "--out", output])
    assert.match(again.out, /embedded 0 of 20000 \(skipped 20000 already done/)
    assert.strictEqual((await lines(output)).length, 20_000)
  }, 180_000)

  it("drops a torn last line before resuming", async () => {
    const input = await corpus("torn.jsonl", 10)
    const output = join(dir, "torn.out.jsonl")
    await embed(["--model", "amazon.titan-embed-text-v2:0", "--dimensions", "256", "--in", input, "--out", output])

    const whole = await readFile(output, "utf8")
    // Simulate a crash mid-write: the last line loses its tail and its newline.
    await writeFile(output, whole.slice(0, whole.length - 40))
    const { code, out } = await embed([
      "--model",
      "amazon.titan-embed-text-v2:0",
      "--dimensions",
      "256",
      "--in",
      input,
      "--out",
      output
    ])
    assert.strictEqual(code, 0)
    assert.match(out, /embedded 1 of 10 \(skipped 9 already done/)
    const ids = (await lines(output)).map((l) => (JSON.parse(l) as { id: string }).id)
    assert.deepStrictEqual(
      ids,
      Array.from({ length: 10 }, (_, i) => `doc-${i}`)
    )
  })

  it("reports failed inputs in <out>.errors.jsonl, keeps them out of the vectors, and exits 3", async () => {
    const input = join(dir, "bad.jsonl")
    await writeFile(
      input,
      `${JSON.stringify({ id: "a", text: "fine" })}\n${JSON.stringify({ id: "b", text: "" })}\n${JSON.stringify({ id: "c", text: "fine too" })}\n`
    )
    const output = join(dir, "bad.out.jsonl")
    const { code, err } = await embed(["--model", "cohere.embed-english-v3", "--in", input, "--out", output])
    assert.strictEqual(code, 3)
    assert.include(err, "1 inputs failed")
    assert.deepStrictEqual(
      (await lines(output)).map((l) => (JSON.parse(l) as { id: string }).id),
      ["a", "c"]
    )
    const errors = (await lines(`${output}.errors.jsonl`)).map((l) => JSON.parse(l) as { id: string; error: string })
    assert.deepStrictEqual(
      errors.map((e) => [e.id, e.error]),
      [["b", "InvalidRequestError"]]
    )
  })
})
