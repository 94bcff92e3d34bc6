/** Batch inference on the emulator through the official SDKs: Bedrock (control plane) for jobs, S3 for data. */
import {
  BedrockClient,
  ConflictException,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  ListModelInvocationJobsCommand,
  StopModelInvocationJobCommand,
  ValidationException
} from "@aws-sdk/client-bedrock"
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

let emulator: Emulator
let bedrock: BedrockClient
let s3: S3Client
beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 150 })
  bedrock = new BedrockClient({ region: "us-east-1", endpoint: emulator.url, credentials: EMULATOR_CREDENTIALS })
  s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new PutObjectCommand({ Bucket: "batch", Key: "keep", Body: "" })).catch(async () => {
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3")
    await s3.send(new CreateBucketCommand({ Bucket: "batch" }))
  })
})
afterAll(async () => {
  bedrock.destroy()
  s3.destroy()
  await emulator.close()
})

const ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
const text = async (key: string) =>
  (await (await s3.send(new GetObjectCommand({ Bucket: "batch", Key: key }))).Body!.transformToString()) as string
const put = (key: string, lines: ReadonlyArray<unknown>) =>
  s3.send(
    new PutObjectCommand({ Bucket: "batch", Key: key, Body: `${lines.map((l) => JSON.stringify(l)).join("\n")}\n` })
  )
const create = (name: string, input: string, extra: Record<string, unknown> = {}) =>
  bedrock.send(
    new CreateModelInvocationJobCommand({
      jobName: name,
      roleArn: ROLE,
      modelId: "amazon.titan-embed-text-v2:0",
      inputDataConfig: { s3InputDataConfig: { s3Uri: input, s3InputFormat: "JSONL" } },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://batch/output/" } },
      ...extra
    })
  )
const settle = async (jobArn: string) => {
  const seen = new Set<string>()
  for (let i = 0; i < 100; i++) {
    const job = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }))
    seen.add(job.status!)
    if (job.status === "Completed" || job.status === "Failed" || job.status === "Stopped") return { job, seen }
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error("the job never finished")
}

describe("batch inference", () => {
  it("runs a JSONL of records: outputs keyed by recordId (not in input order), error lines, a manifest", async () => {
    const records = Array.from({ length: 150 }, (_, i) => ({
      recordId: `REC${String(i).padStart(8, "0")}`,
      modelInput: { inputText: `document number ${i}`, dimensions: i === 7 ? 300 : 256 }
    }))
    await put("in/docs.jsonl", records)
    const { jobArn } = await create("docs-1", "s3://batch/in/")
    assert.match(jobArn!, /^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job\/[a-z0-9]{12}$/)
    const { job, seen } = await settle(jobArn!)
    assert.strictEqual(job.status, "Completed")
    assert.isTrue(seen.has("Submitted") || seen.has("Validating") || seen.has("InProgress"), [...seen].join())
    assert.strictEqual(job.totalRecordCount, 150)
    assert.strictEqual(job.successRecordCount, 149)
    assert.strictEqual(job.errorRecordCount, 1)
    assert.instanceOf(job.submitTime, Date)

    const jobId = jobArn!.slice(jobArn!.lastIndexOf("/") + 1)
    const lines = (await text(`output/${jobId}/docs.jsonl.out`))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
    assert.lengthOf(lines, 150)
    assert.notDeepEqual(
      lines.map((l) => l.recordId),
      records.map((r) => r.recordId),
      "output order is not input order"
    )
    const byId = new Map(lines.map((l) => [l.recordId, l]))
    assert.lengthOf(byId.get("REC00000000").modelOutput.embedding, 256)
    assert.deepEqual(byId.get("REC00000042").modelInput, records[42]!.modelInput)
    assert.strictEqual(byId.get("REC00000007").error.errorCode, 400)
    assert.isUndefined(byId.get("REC00000007").modelOutput)
    const manifest = JSON.parse(await text(`output/${jobId}/manifest.json.out`))
    assert.deepInclude(manifest, { totalRecordCount: 150, successRecordCount: 149, errorRecordCount: 1 })
    assert.isAbove(manifest.inputTokenCount, 0)

    const listed = await bedrock.send(new ListModelInvocationJobsCommand({ nameContains: "docs-1" }))
    assert.deepEqual(
      listed.invocationJobSummaries?.map((j) => j.jobArn),
      [jobArn]
    )
  })

  it("validates like Bedrock: unsupported model, bad role, too few records, token reuse, stop", async () => {
    const unsupported = await bedrock
      .send(
        new CreateModelInvocationJobCommand({
          jobName: "cohere-1",
          roleArn: ROLE,
          modelId: "cohere.embed-english-v3",
          inputDataConfig: { s3InputDataConfig: { s3Uri: "s3://batch/in/" } },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://batch/output/" } }
        })
      )
      .catch((e: unknown) => e)
    assert.instanceOf(unsupported, ValidationException)
    assert.include((unsupported as Error).message, "not supported for batch inference")
    const role = await create("role-1", "s3://batch/in/", { roleArn: "BedrockBatch" }).catch((e: unknown) => e)
    assert.instanceOf(role, ValidationException)
    assert.include((role as Error).message, "roleArn")

    await put("few/docs.jsonl", [{ recordId: "A", modelInput: { inputText: "x" } }])
    const few = await settle((await create("few-1", "s3://batch/few/docs.jsonl")).jobArn!)
    assert.strictEqual(few.job.status, "Failed")
    assert.include(few.job.message, "minimum of 100 records")

    const first = await create("token-1", "s3://batch/in/", { clientRequestToken: "t-1" })
    const again = await create("token-1", "s3://batch/in/", { clientRequestToken: "t-1" })
    assert.strictEqual(again.jobArn, first.jobArn)
    const conflict = await create("token-2", "s3://batch/in/", { clientRequestToken: "t-1" }).catch((e: unknown) => e)
    assert.instanceOf(conflict, ConflictException)

    emulator.setAsyncDelay(60_000)
    const slow = await create("stop-1", "s3://batch/in/")
    await bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: slow.jobArn }))
    const stopped = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: slow.jobArn }))
    assert.strictEqual(stopped.status, "Stopping")
    emulator.setAsyncDelay(150)
  })
})
