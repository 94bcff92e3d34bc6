/** `bedrock-embed embed --mode batch`: a corpus through Bedrock batch inference, on the emulator and its S3. */
import { once } from "node:events"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { embedCommand } from "./cliInProcess.ts"

const ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
let emulator: Emulator
let dir: string
beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 300 })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-batch-"))
  // The working bucket exists, as it must on AWS (Bedrock's role writes into it).
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: "embed-jobs" }))
  s3.destroy()
})
afterAll(() => emulator.close())

const corpus = async (name: string, texts: ReadonlyArray<string>) => {
  const file = join(dir, name)
  await writeFile(file, `${texts.map((text, i) => JSON.stringify({ id: `doc-${i}`, text })).join("\n")}\n`)
  return file
}
const documents = (count: number) => Array.from({ length: count }, (_, i) => `document ${i} on topic ${i % 23}`)

/** `bedrock-embed embed` run in this process (the kill -9 test spawns it: {@link spawnEmbed}). */
const { embed, spawnEmbed } = embedCommand(
  () => emulator.url,
  () => ["--s3-endpoint", emulator.s3Url!, "--poll-seconds", "1"]
)

const rows = async (file: string) =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { id: string; embedding: Array<number> })
const batch = (model: string, input: string, output: string, extra: ReadonlyArray<string> = []) => [
  "--mode",
  "batch",
  "--model",
  model,
  "--in",
  input,
  "--out",
  output,
  "--s3-uri",
  "s3://embed-jobs/corpora",
  "--role-arn",
  ROLE,
  ...extra
]

describe("bedrock-embed embed --mode batch", () => {
  it("runs one batch inference job and writes the vectors in input order, equal to InvokeModel's", async () => {
    const input = await corpus("titan.jsonl", documents(250))
    const output = join(dir, "titan.out.jsonl")
    const jobsBefore = emulator.batchJobs().length
    const run = await embed(batch("amazon.titan-embed-text-v2:0", input, output, ["--dimensions", "256"]))
    assert.strictEqual(run.code, 0, run.err)
    assert.match(
      run.out,
      /^batch inference job arn:aws:bedrock:us-east-1:123456789012:model-invocation-job\/[a-z0-9]{12}: embedded 250 of 250 \(skipped 0 already done, failed 0\) in [\d.]+ s — 250 records — [1-9]\d* tokens, \$0\.\d+ at the batch price/
    )
    assert.strictEqual(emulator.batchJobs().length, jobsBefore + 1)
    const vectors = await rows(output)
    assert.deepStrictEqual(
      vectors.map((r) => r.id),
      Array.from({ length: 250 }, (_, i) => `doc-${i}`)
    )
    assert.isTrue(vectors.every((r) => r.embedding.length === 256))

    // The same corpus through InvokeModel gives the same vectors (float32 precision).
    const streamed = join(dir, "titan.stream.jsonl")
    const direct = await embed([
      "--model",
      "amazon.titan-embed-text-v2:0",
      "--in",
      input,
      "--out",
      streamed,
      "--dimensions",
      "256"
    ])
    assert.strictEqual(direct.code, 0, direct.err)
    const reference = await rows(streamed)
    for (const i of [0, 1, 124, 249]) {
      for (let d = 0; d < 256; d++) assert.closeTo(vectors[i]!.embedding[d]!, reference[i]!.embedding[d]!, 1e-6)
    }

    // The records are the documented InvokeModel bodies.
    const job = emulator.batchJobs().at(-1) as { jobName: string }
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: emulator.s3Url!,
      forcePathStyle: true,
      credentials: EMULATOR_CREDENTIALS
    })
    const first = (
      await (
        await s3.send(
          new GetObjectCommand({ Bucket: "embed-jobs", Key: `corpora/${job.jobName}/input/part-00001.jsonl` })
        )
      ).Body!.transformToString()
    ).split("\n")[0]!
    s3.destroy()
    assert.deepStrictEqual(JSON.parse(first), {
      recordId: "R0000000000",
      modelInput: { inputText: "document 0 on topic 0", dimensions: 256 }
    })

    // Everything is written: a re-run has nothing to do and starts no job.
    const again = await embed(batch("amazon.titan-embed-text-v2:0", input, output, ["--dimensions", "256"]))
    assert.strictEqual(again.code, 0, again.err)
    assert.include(again.out, "embedded 0 of 250 (skipped 250 already done, failed 0)")
    assert.strictEqual(emulator.batchJobs().length, jobsBefore + 1)
  })

  it("after kill -9 while the job runs, a re-run finds the same job instead of starting another", async () => {
    emulator.setAsyncDelay(2_500)
    try {
      const input = await corpus("crash.jsonl", documents(120))
      const output = join(dir, "crash.out.jsonl")
      const before = emulator.batchJobs().length
      const child = spawnEmbed(batch("amazon.titan-embed-text-v2:0", input, output))
      let err = ""
      child.stderr!.on("data", (d) => {
        err += d
      })
      const deadline = Date.now() + 20_000
      while (!err.includes("submitted 120 records")) {
        assert.isBelow(Date.now(), deadline, `never submitted: ${err}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      child.kill("SIGKILL")
      await once(child, "exit")
      assert.strictEqual(emulator.batchJobs().length, before + 1)
      const rerun = await embed(batch("amazon.titan-embed-text-v2:0", input, output))
      assert.strictEqual(rerun.code, 0, rerun.err)
      assert.strictEqual(emulator.batchJobs().length, before + 1, "no second job")
      const ids = (await rows(output)).map((r) => r.id)
      assert.strictEqual(ids.length, 120)
      assert.strictEqual(new Set(ids).size, 120)
    } finally {
      emulator.setAsyncDelay(300)
    }
  })

  it("puts inputs that fail their checks in the errors file and submits the rest", async () => {
    const texts = documents(110)
    texts[5] = ""
    const input = await corpus("bad.jsonl", texts)
    const output = join(dir, "bad.out.jsonl")
    const run = await embed(batch("amazon.titan-embed-text-v2:0", input, output))
    assert.strictEqual(run.code, 3, run.err)
    assert.include(run.out, "embedded 109 of 110")
    const errors = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
    assert.deepStrictEqual(
      errors.map((e: { id: string; error: string }) => [e.id, e.error]),
      [["doc-5", "InvalidRequestError"]]
    )
    assert.notInclude(
      (await rows(output)).map((r) => r.id),
      "doc-5"
    )
  })

  it("refuses models without batch inference and missing settings before any job", async () => {
    const input = await corpus("cohere.jsonl", documents(150))
    const before = emulator.batchJobs().length
    const cohere = await embed(batch("cohere.embed-english-v3", input, join(dir, "cohere.out.jsonl")))
    assert.strictEqual(cohere.code, 1)
    assert.include(cohere.err, "cohere.embed-english-v3 does not run as Bedrock batch inference")
    assert.include(cohere.err, "amazon.titan-embed-text-v2:0")
    const noRole = await embed([
      "--mode",
      "batch",
      "--model",
      "amazon.titan-embed-text-v2:0",
      "--in",
      input,
      "--out",
      join(dir, "x.jsonl"),
      "--s3-uri",
      "s3://b/p"
    ])
    assert.strictEqual(noRole.code, 2)
    assert.include(noRole.err, "--mode batch needs --role-arn")
    assert.strictEqual(emulator.batchJobs().length, before)
  })
})
