/**
 * Batch inference results joined back through the manifest written at submission (record id →
 * input position and id), not through the request or a corpus held in memory: `Jobs.submit`
 * writes it, `Jobs.batchResults` reads a job back from its ARN alone, and `embed --mode batch`
 * submits job by job and writes each id from its job's manifest — on the emulator and its S3
 * (s3rver).
 */
import { once } from "node:events"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3"
import { AwsCredentials, Embeddings, Jobs, ObjectStore, Target } from "@bedrock-embed/core"
import { EMULATOR_CREDENTIALS, type Emulator } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Layer, Schedule } from "effect"
import { batchArgs, dir, emulator, paramsOf, ROLE, s3Of, small, TITAN, useBatchEmulators } from "./batchFixture.ts"
import { bedrockEmbed } from "./cli.ts"
import { bedrockEmbedInProcess } from "./cliInProcess.ts"

useBatchEmulators("batch-manifest")

/** An object's text, or `undefined` when it does not exist. */
const objectText = async (at: Emulator, uri: string) => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!
  const s3 = s3Of(at)
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: match[1]!, Key: match[2]! }))
    return await got.Body!.transformToString()
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined
    throw error
  } finally {
    s3.destroy()
  }
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

type Services = Jobs.Jobs | Embeddings.Embeddings | ObjectStore.ObjectStore | AwsCredentials.AwsCredentials
const run = <A, E>(effect: Effect.Effect<A, E, Services>) =>
  Effect.runPromise(
    effect.pipe(Effect.provide(Layer.mergeAll(BedrockEmbed.layer(), ObjectStore.layer, AwsCredentials.layer)))
  )

/** Ids of every JSON kind the bulk command accepts: strings, numbers, objects. */
const idOf = (i: number): unknown => (i % 3 === 0 ? `doc-${i}` : i % 3 === 1 ? i * 10 : { shard: i % 7, n: i })

describe("the batch manifest", () => {
  const texts = Array.from({ length: 120 }, (_, i) => `manifest text ${i} on topic ${i % 11}`)
  texts[5] = "" // fails its checks: reported, not submitted
  const ids = texts.map((_, i) => idOf(i))
  const params = () => paramsOf(emulator)
  const request = () => ({ ...params(), model: `bedrock/${TITAN}`, input: texts, dimensions: 256 })
  let submitted: Jobs.Submitted

  it("Jobs.submit writes the manifest beside the records: record id → input position and id", async () => {
    submitted = await run(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        return yield* jobs.submit(request(), { ...params(), ids, roleArn: ROLE, s3Uri: "s3://embed-jobs/manifest" })
      })
    )
    assert.strictEqual(submitted.manifestUri, `s3://embed-jobs/manifest/${submitted.jobName}/manifest.jsonl`)
    const text = await objectText(emulator, submitted.manifestUri)
    assert.isDefined(text, "the manifest is in S3")
    const [header, ...rest] = jsonLines(text!)
    assert.include(header, { model: `bedrock/${TITAN}`, modelId: TITAN, inputs: 120, records: 119 })
    assert.strictEqual((header!.options as { dimensions: number }).dimensions, 256)
    // Nothing of the identity is written.
    assert.notInclude(text!, EMULATOR_CREDENTIALS.secretAccessKey)
    const records = rest.filter((line) => "recordId" in line)
    assert.strictEqual(records.length, 119)
    // Record n is the n-th submitted input: positions skip the rejected one, ids follow them.
    const positions = texts.map((_, i) => i).filter((i) => i !== 5)
    records.forEach((line, n) => {
      assert.deepStrictEqual(line, {
        recordId: `R${String(n).padStart(10, "0")}`,
        inputs: [positions[n]],
        ids: [ids[positions[n]!]]
      })
    })
    const rejected = rest.filter((line) => "rejected" in line)
    assert.strictEqual(rejected.length, 1)
    assert.include(rejected[0], { rejected: 5 })
    assert.deepStrictEqual(rejected[0]!.id, ids[5])
  })

  it("the same inputs under other ids are another job: one run's manifest never rewrites another's", async () => {
    const others = ids.map((id) => ({ other: id }))
    const again = await run(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const job = { ...params(), roleArn: ROLE, s3Uri: "s3://embed-jobs/manifest" }
        return {
          same: yield* jobs.submit(request(), { ...job, ids }),
          other: yield* jobs.submit(request(), { ...job, ids: others })
        }
      })
    )
    assert.strictEqual(again.same.jobArn, submitted.jobArn, "the same ids: the same job")
    assert.notStrictEqual(again.other.jobArn, submitted.jobArn)
    assert.notStrictEqual(again.other.manifestUri, submitted.manifestUri)
    const firstIds = (uri: string) =>
      objectText(emulator, uri).then((text) => jsonLines(text!).find((line) => "recordId" in line)!.ids)
    assert.deepStrictEqual(await firstIds(submitted.manifestUri), [ids[0]])
    assert.deepStrictEqual(await firstIds(again.other.manifestUri), [others[0]])
  })

  it("Jobs.batchResults reads a job back from its ARN alone: vectors in input order, with their ids", async () => {
    const { results, reference } = await run(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        yield* jobs.await(submitted.jobArn, { ...params(), schedule: Schedule.spaced("200 millis") })
        // No request: region, endpoints and identity only.
        const results = yield* jobs.batchResults(submitted.jobArn, params())
        const embeddings = yield* Embeddings.Embeddings
        const good = texts.filter((_, i) => i !== 5)
        const reference = yield* embeddings.embed({ ...request(), input: good })
        return { results, reference }
      })
    )
    assert.strictEqual(results.items.length, 120)
    assert.deepStrictEqual(
      results.items.map((item) => item.index),
      texts.map((_, i) => i)
    )
    assert.deepStrictEqual(
      results.items.map((item) => item.id),
      ids
    )
    const bad = results.items[5]!
    assert.isTrue("error" in bad && bad.error._tag === "InvalidRequestError")
    const vectors = results.items.filter((item) => "embedding" in item)
    assert.strictEqual(vectors.length, 119)
    vectors.forEach((item, n) => {
      const expected = reference.data[n]!.embedding as ReadonlyArray<number>
      const got = (item as { embedding: Float32Array }).embedding
      assert.strictEqual(got.length, 256)
      for (const d of [0, 1, 128, 255]) assert.closeTo(got[d]!, expected[d]!, 1e-6)
    })
    assert.isAbove(results.tokens, 0)
    assert.isAbove(results.cost, 0)
  })

  it("a job without its manifest fails, naming where the manifest should be", async () => {
    const s3 = s3Of(emulator)
    await s3.send(
      new DeleteObjectCommand({ Bucket: "embed-jobs", Key: `manifest/${submitted.jobName}/manifest.jsonl` })
    )
    s3.destroy()
    const error = await run(
      Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        return yield* Effect.flip(jobs.batchResults(submitted.jobArn, params()))
      })
    )
    assert.strictEqual(error._tag, "InvalidRequestError")
    assert.include(error.message, submitted.manifestUri)
    assert.include(error.message, "Jobs.submit")
  })

  it("ObjectStore.getBytes reads a byte range of an object", async () => {
    const uri = "s3://embed-jobs/ranges/one.txt"
    const bytes = await run(
      Effect.gen(function* () {
        const store = yield* ObjectStore.ObjectStore
        const target = yield* Target.objectStore(params(), "us-east-1")
        yield* store.put(uri, "0123456789abcdef", target)
        return [
          yield* store.getBytes(uri, target, { offset: 3, length: 5 }),
          yield* store.getBytes(uri, target, { offset: 12, length: 100 }),
          // s3rver answers `bytes=0-0` with the whole object (and says so in Content-Range).
          yield* store.getBytes(uri, target, { offset: 0, length: 1 }),
          yield* store.getBytes(uri, target)
        ].map((b) => Buffer.from(b).toString())
      })
    )
    assert.deepStrictEqual(bytes, ["34567", "cdef", "0", "0123456789abcdef"])
  })
})

/** `embed --mode batch`'s arguments on the low-quota emulator: 100 records a job, 40 a file, 10 at least. */
const smallBatchArgs = (input: string, output: string, s3Uri: string) =>
  batchArgs(small, { input, output, s3Uri }, [
    "--records-per-job",
    "100",
    "--records-per-file",
    "40",
    "--min-records",
    "10"
  ])

/** `embed --mode batch` on the low-quota emulator, run in this process. */
const batchRun = (input: string, output: string, s3Uri: string) =>
  bedrockEmbedInProcess(smallBatchArgs(input, output, s3Uri))

const corpus = async (name: string, count: number) => {
  const file = join(dir, name)
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: idOf(i), text: `${name} text ${i}` }))
  await writeFile(file, `${lines.join("\n")}\n`)
  return file
}

const rows = async (file: string) =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { id: unknown; embedding: ReadonlyArray<number> })

/** The manifests of the jobs a run made, in submission order. */
const manifests = async (at: Emulator, jobs: ReadonlyArray<unknown>) =>
  Promise.all(
    (jobs as ReadonlyArray<{ inputDataConfig: { s3InputDataConfig: { s3Uri: string } } }>).map(async (job) => {
      const base = job.inputDataConfig.s3InputDataConfig.s3Uri.replace(/\/input\/$/, "")
      return jsonLines((await objectText(at, `${base}/manifest.jsonl`)) ?? "")
    })
  )

/** Every id of the corpus once, in order, with InvokeModel's vector for its text. */
/** `embed` in stream mode on the low-quota emulator, Titan, with `extra` flags. */
const streamRun = (input: string, output: string, extra: ReadonlyArray<string> = []) =>
  bedrockEmbedInProcess([
    "embed",
    "--endpoint",
    small.url,
    ...extra,
    "--no-progress",
    "--model",
    TITAN,
    "--in",
    input,
    "--out",
    output
  ])

const assertSameAsStream = async (input: string, output: string) => {
  const streamed = `${output}.stream.jsonl`
  const direct = await streamRun(input, streamed)
  assert.strictEqual(direct.code, 0, direct.err)
  const reference = await rows(streamed)
  const got = await rows(output)
  assert.deepStrictEqual(
    got.map((r) => r.id),
    reference.map((r) => r.id)
  )
  got.forEach((row, i) => {
    for (const d of [0, 511, 1023]) assert.closeTo(row.embedding[d]!, reference[i]!.embedding[d]!, 1e-6)
  })
}

describe("embed --bedrock-endpoint", () => {
  it("is accepted by stream mode too: a target parameter, not a model one", async () => {
    const input = await corpus("control.jsonl", 3)
    const output = join(dir, "control.out.jsonl")
    const result = await streamRun(input, output, ["--bedrock-endpoint", small.url])
    assert.strictEqual(result.code, 0, result.err)
    assert.notInclude(result.err, "not supported")
    assert.strictEqual((await rows(output)).length, 3)
  })
})

describe("embed --mode batch through the manifests", () => {
  it("250 inputs as 3 jobs: each job's manifest names its inputs' ids, each id written once with its vector", async () => {
    const input = await corpus("three.jsonl", 250)
    const output = join(dir, "three.out.jsonl")
    const before = small.batchJobs().length
    const result = await batchRun(input, output, "s3://embed-jobs/three")
    assert.strictEqual(result.code, 0, result.err)
    assert.include(result.out, "embedded 250 of 250")
    const made = small.batchJobs().slice(before)
    assert.strictEqual(made.length, 3)
    // 100 + 100 + 50, each id in its job's manifest in input order.
    const byJob = (await manifests(small, made)).map((lines) =>
      lines.filter((line) => "recordId" in line).flatMap((line) => line.ids as ReadonlyArray<unknown>)
    )
    assert.deepStrictEqual(
      byJob.map((jobIds) => jobIds.length),
      [100, 100, 50]
    )
    assert.deepStrictEqual(
      byJob.flat(),
      Array.from({ length: 250 }, (_, i) => idOf(i))
    )
    await assertSameAsStream(input, output)
  })

  it("after kill -9 between submission and results, a re-run finds the same 3 jobs and writes every id once", async () => {
    small.setAsyncDelay(4_000)
    try {
      const input = await corpus("crash3.jsonl", 250)
      const output = join(dir, "crash3.out.jsonl")
      const before = small.batchJobs().length
      const child = bedrockEmbed(smallBatchArgs(input, output, "s3://embed-jobs/crash3"))
      let err = ""
      child.stderr!.on("data", (d) => {
        err += d
      })
      const deadline = Date.now() + 30_000
      while ((err.match(/submitted \d+ records/g) ?? []).length < 3) {
        assert.isBelow(Date.now(), deadline, `never submitted 3 jobs: ${err}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      child.kill("SIGKILL")
      await once(child, "exit")
      const made = small.batchJobs().slice(before)
      assert.strictEqual(made.length, 3)
      // Nothing written yet; what joins the results back is in S3, not in the dead process.
      assert.deepStrictEqual(
        (await manifests(small, made)).map((lines) => lines.filter((line) => "recordId" in line).length),
        [100, 100, 50]
      )
      const rerun = await batchRun(input, output, "s3://embed-jobs/crash3")
      assert.strictEqual(rerun.code, 0, rerun.err)
      assert.strictEqual(small.batchJobs().length, before + 3, "no new CreateModelInvocationJob")
      assert.deepStrictEqual(
        rerun.out.match(/model-invocation-job\/[a-z0-9]+/g),
        (made as ReadonlyArray<{ jobArn: string }>).map((job) => job.jobArn.slice(job.jobArn.indexOf("model-")))
      )
      await assertSameAsStream(input, output)
    } finally {
      small.setAsyncDelay(300)
    }
  })
})
