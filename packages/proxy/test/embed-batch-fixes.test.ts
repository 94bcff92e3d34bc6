/**
 * `bedrock-embed embed --mode batch` as a new user meets it: the control-plane endpoint flag, job
 * identity across folders and roles, the minimum-records quota, Nova's token count, and corpora
 * split per Bedrock's record quotas — on the emulator and its S3.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { ListObjectsV2Command } from "@aws-sdk/client-s3"
import { Jobs } from "@bedrock-embed/core"
import type { Emulator } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect } from "effect"
import { batchArgs, dir, emulator, paramsOf, ROLE, s3Of, small, TITAN, useBatchEmulators } from "./batchFixture.ts"
import { bedrockEmbedInProcess } from "./cliInProcess.ts"

const OTHER_ROLE = "arn:aws:iam::123456789012:role/OtherBatchRole"
const NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"

useBatchEmulators("batch-fixes")

const corpus = async (name: string, count: number) => {
  const file = join(dir, name)
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `${name} text ${i}` }))
  await writeFile(file, `${lines.join("\n")}\n`)
  return file
}

const ids = async (file: string) =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => (JSON.parse(l) as { id: string }).id)

/** The objects under a prefix of the working bucket. */
const objects = async (at: Emulator, prefix: string) => {
  const s3 = s3Of(at)
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "embed-jobs", Prefix: prefix }))
    return (listed.Contents ?? []).map((object) => object.Key!)
  } finally {
    s3.destroy()
  }
}

/** `embed --mode batch` with the emulator as Bedrock Runtime and S3 unless `endpoints` says otherwise. */
/** `bedrock-embed embed --mode batch` run in this process. */
const run = (...args: Parameters<typeof batchArgs>) => bedrockEmbedInProcess(batchArgs(...args))

describe("embed --mode batch fixes", () => {
  it("--bedrock-endpoint sends the job calls there (no --endpoint needed)", async () => {
    const input = await corpus("control.jsonl", 100)
    const output = join(dir, "control.out.jsonl")
    const before = emulator.batchJobs().length
    const result = await run(emulator, { input, output }, [], ["--bedrock-endpoint", emulator.url])
    assert.strictEqual(result.code, 0, result.err)
    assert.notInclude(result.err, "not supported")
    assert.include(result.out, "embedded 100 of 100")
    assert.strictEqual(emulator.batchJobs().length, before + 1)
    assert.strictEqual((await ids(output)).length, 100)
  })

  it("the same records in another S3 folder or as another role are other jobs, not a ConflictException", async () => {
    const input = await corpus("identity.jsonl", 100)
    const before = emulator.batchJobs().length
    const first = await run(emulator, { input, output: join(dir, "identity.a.jsonl"), s3Uri: "s3://embed-jobs/a" })
    assert.strictEqual(first.code, 0, first.err)
    const folder = await run(emulator, { input, output: join(dir, "identity.b.jsonl"), s3Uri: "s3://embed-jobs/b" })
    assert.strictEqual(folder.code, 0, folder.err)
    assert.notInclude(folder.err, "ConflictException")
    const role = await run(emulator, {
      input,
      output: join(dir, "identity.c.jsonl"),
      s3Uri: "s3://embed-jobs/a",
      role: OTHER_ROLE
    })
    assert.strictEqual(role.code, 0, role.err)
    const made = emulator.batchJobs().slice(before) as ReadonlyArray<{ clientRequestToken: string; roleArn: string }>
    assert.strictEqual(made.length, 3)
    assert.strictEqual(new Set(made.map((job) => job.clientRequestToken)).size, 3)
    assert.deepStrictEqual(
      made.map((job) => job.roleArn),
      [ROLE, ROLE, OTHER_ROLE]
    )
    // The same request again is the same job: idempotent, not a fourth.
    const again = await run(emulator, { input, output: join(dir, "identity.d.jsonl"), s3Uri: "s3://embed-jobs/b" })
    assert.strictEqual(again.code, 0, again.err)
    assert.strictEqual(emulator.batchJobs().length, before + 3)
  })

  it("a ConflictException from Bedrock says what it means and what to do", async () => {
    const texts = Array.from({ length: 100 }, (_, i) => `conflict text ${i}`)
    const params = paramsOf(emulator)
    const request = { ...params, model: `bedrock/${TITAN}`, input: texts }
    const job = { ...params, roleArn: ROLE, clientRequestToken: "reused-token-1", jobName: "conflict-one" }
    const error = await Effect.runPromise(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* jobs.submit(request, { ...job, s3Uri: "s3://embed-jobs/conflict-a" })
        return yield* Effect.flip(
          jobs.submit(request, { ...job, jobName: "conflict-two", s3Uri: "s3://embed-jobs/conflict-b" })
        )
      }).pipe(Effect.provide(BedrockEmbed.layer()))
    )
    assert.strictEqual(error._tag, "BedrockValidationError")
    assert.include(error.message, "ConflictException")
    assert.include(error.message, 'idempotency token "reused-token-1"')
    assert.include(error.message, "Pass another clientRequestToken")
  })

  it("fewer than 100 records is refused before anything is uploaded or any job created, naming the quota", async () => {
    const input = await corpus("few.jsonl", 50)
    const before = emulator.batchJobs().length
    const result = await run(emulator, { input, output: join(dir, "few.out.jsonl"), s3Uri: "s3://embed-jobs/few" })
    assert.strictEqual(result.code, 1, result.err)
    assert.include(result.err, '"Minimum number of records per batch inference job"')
    assert.include(result.err, "50 inputs")
    assert.include(result.err, "at least")
    assert.strictEqual(emulator.batchJobs().length, before)
    assert.deepStrictEqual(await objects(emulator, "few/"), [])
  })

  it("Jobs.submit refuses fewer records than the minimum before writing to S3", async () => {
    const params = paramsOf(emulator)
    const before = emulator.batchJobs().length
    const request = { ...params, model: `bedrock/${TITAN}`, input: ["one", "two", "three"] }
    const error = await Effect.runPromise(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        return yield* Effect.flip(jobs.submit(request, { ...params, roleArn: ROLE, s3Uri: "s3://embed-jobs/lib-few" }))
      }).pipe(Effect.provide(BedrockEmbed.layer()))
    )
    assert.strictEqual(error._tag, "InvalidRequestError")
    assert.include(error.message, 'quota "Minimum number of records per batch inference job"')
    assert.include(error.message, "this one has 3")
    assert.deepStrictEqual(await objects(emulator, "lib-few/"), [])
    assert.strictEqual(emulator.batchJobs().length, before)
  })

  it("Nova batch reports Bedrock's token count and a cost, not 0 and $0", async () => {
    const input = await corpus("nova.jsonl", 100)
    const result = await run(emulator, { model: NOVA, input, output: join(dir, "nova.out.jsonl") })
    assert.strictEqual(result.code, 0, result.err)
    const summary = /— (\d+) tokens, \$(\d+\.\d+) at the batch price/.exec(result.out)
    assert.isNotNull(summary, result.out)
    assert.isAbove(Number(summary![1]), 0)
    assert.isAbove(Number(summary![2]), 0)
  })

  it("splits 250 inputs per the record quotas into 3 jobs, files within the per-file quota, vectors in order", async () => {
    const input = await corpus("split.jsonl", 250)
    const output = join(dir, "split.out.jsonl")
    const before = small.batchJobs().length
    const quotas = ["--records-per-job", "100", "--records-per-file", "40", "--min-records", "10"]
    const result = await run(small, { input, output, s3Uri: "s3://embed-jobs/split" }, quotas)
    assert.strictEqual(result.code, 0, result.err)
    assert.match(
      result.out,
      /^batch inference jobs (arn:\S+model-invocation-job\/[a-z0-9]+(, |: )){3}embedded 250 of 250/
    )
    assert.strictEqual(small.batchJobs().length, before + 3)
    assert.deepStrictEqual(
      await ids(output),
      Array.from({ length: 250 }, (_, i) => `doc-${i}`)
    )
    const inputs = (await objects(small, "split/")).filter((key) => key.includes("/input/"))
    // 100 + 100 + 50 records: 3 + 3 + 2 files of at most 40.
    assert.strictEqual(inputs.length, 8)
    // A re-run has nothing left and starts no job.
    const again = await run(small, { input, output, s3Uri: "s3://embed-jobs/split" }, quotas)
    assert.strictEqual(again.code, 0, again.err)
    assert.strictEqual(small.batchJobs().length, before + 3)
  })

  it("dirty lines don't stop batch mode: each goes to the errors file with its line, the rest is embedded, exit 3", async () => {
    const good = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `dirty batch text ${i}` }))
    const lines = [
      ...good.slice(0, 4),
      "not json",
      "null",
      '{"id":"no-text"}',
      ...good.slice(4),
      '{"id":"doc-0","text":"again"}'
    ]
    const input = join(dir, "dirty.jsonl")
    await writeFile(input, `${lines.join("\n")}\n`)
    const output = join(dir, "dirty.out.jsonl")
    const quotas = ["--min-records", "10", "--records-per-job", "100", "--on-duplicate", "first"]
    const result = await run(small, { input, output, s3Uri: "s3://embed-jobs/dirty" }, quotas)
    assert.strictEqual(result.code, 3, result.err)
    assert.deepStrictEqual(
      await ids(output),
      good.map((_, i) => `doc-${i}`)
    )
    const errors = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id?: string; line: number; error: string; message: string })
    assert.deepStrictEqual(
      errors.map((e) => [e.line, e.error]),
      [
        [5, "InputFileError"],
        [6, "InputFileError"],
        [7, "InputFileError"],
        [16, "DuplicateIdError"]
      ]
    )
    assert.include(errors[1]!.message, "null, not an object")
    assert.include(errors[3]!.message, "also on line 1")
  })
})
