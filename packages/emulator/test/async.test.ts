/** Async invoke on the emulator through the official SDKs: Bedrock Runtime for jobs, S3 for outputs. */
import {
  BedrockRuntimeClient,
  ConflictException,
  GetAsyncInvokeCommand,
  ListAsyncInvokesCommand,
  StartAsyncInvokeCommand,
  ValidationException
} from "@aws-sdk/client-bedrock-runtime"
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import {
  defaultModels,
  EMULATOR_CREDENTIALS,
  type Emulator,
  type ModelHandler,
  startEmulator
} from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

/** A test-only model that embeds an S3 object's length, so the job must really read S3. */
const echo: ModelHandler = {
  id: "acme.echo-v1",
  matches: (id) => id === "acme.echo-v1",
  invoke: () => ({ error: "ValidationException", message: "acme.echo-v1 runs through async invoke only." }),
  async: {
    validate: (input) =>
      typeof input === "object" && input !== null && typeof (input as { uri?: unknown }).uri === "string"
        ? undefined
        : {
            error: "ValidationException",
            message:
              "Malformed input request: #: required key [uri] not found, please reformat your input and try again."
          },
    run: async (input, io) => {
      const bytes = await io.read((input as { uri: string }).uri)
      if (bytes === undefined) return { failure: `The media at ${(input as { uri: string }).uri} could not be read.` }
      return {
        files: { "output.json": JSON.stringify({ data: [{ embedding: [bytes.length], outputUri: io.outputUri }] }) }
      }
    }
  }
}

let emulator: Emulator
let bedrock: BedrockRuntimeClient
let s3: S3Client

beforeAll(async () => {
  emulator = await startEmulator({ models: [...defaultModels, echo], asyncDelayMs: 100 })
  assert.isString(emulator.s3Url)
  bedrock = new BedrockRuntimeClient({ region: "us-east-1", endpoint: emulator.url, credentials: EMULATOR_CREDENTIALS })
  s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new PutObjectCommand({ Bucket: "media", Key: "in/clip.bin", Body: "0123456789" })).catch(async () => {
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3")
    await s3.send(new CreateBucketCommand({ Bucket: "media" }))
    await s3.send(new PutObjectCommand({ Bucket: "media", Key: "in/clip.bin", Body: "0123456789" }))
  })
})
afterAll(async () => {
  bedrock.destroy()
  s3.destroy()
  await emulator.close()
})

const start = (uri: string, token?: string, modelId = "acme.echo-v1") =>
  bedrock.send(
    new StartAsyncInvokeCommand({
      modelId,
      modelInput: { uri },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://results/run-1/" } },
      ...(token === undefined ? {} : { clientRequestToken: token })
    })
  )

const waitFor = async (arn: string) => {
  for (let i = 0; i < 100; i++) {
    const job = await bedrock.send(new GetAsyncInvokeCommand({ invocationArn: arn }))
    if (job.status !== "InProgress") return job
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error("job never finished")
}

describe("async invoke", () => {
  it("runs a job InProgress → Completed and writes its output where Bedrock would", async () => {
    const { invocationArn } = await start("s3://media/in/clip.bin")
    assert.match(invocationArn ?? "", /^arn:aws:bedrock:us-east-1:123456789012:async-invoke\/[a-z0-9]{12}$/)
    const first = await bedrock.send(new GetAsyncInvokeCommand({ invocationArn }))
    assert.strictEqual(first.status, "InProgress")
    assert.instanceOf(first.submitTime, Date)
    const done = await waitFor(invocationArn!)
    assert.strictEqual(done.status, "Completed")
    assert.instanceOf(done.endTime, Date)
    assert.strictEqual(done.modelArn, "arn:aws:bedrock:us-east-1::foundation-model/acme.echo-v1")
    const id = invocationArn!.split("/").pop()!
    assert.strictEqual(done.outputDataConfig?.s3OutputDataConfig?.s3Uri, `s3://results/run-1/${id}`)
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "results", Prefix: `run-1/${id}/` }))
    assert.deepStrictEqual(
      listed.Contents?.map((c) => c.Key),
      [`run-1/${id}/output.json`]
    )
    const object = await s3.send(new GetObjectCommand({ Bucket: "results", Key: `run-1/${id}/output.json` }))
    const output = JSON.parse(await object.Body!.transformToString())
    assert.deepStrictEqual(output.data[0].embedding, [10])
  })

  it("fails a job whose media cannot be read, with Bedrock's failure message", async () => {
    const { invocationArn } = await start("s3://media/in/missing.bin")
    const done = await waitFor(invocationArn!)
    assert.strictEqual(done.status, "Failed")
    assert.strictEqual(done.failureMessage, "The media at s3://media/in/missing.bin could not be read.")
  })

  it("honours clientRequestToken: same body → same job; other body → ConflictException", async () => {
    const a = await start("s3://media/in/clip.bin", "token-1")
    const b = await start("s3://media/in/clip.bin", "token-1")
    assert.strictEqual(a.invocationArn, b.invocationArn)
    const conflict = await start("s3://media/in/other.bin", "token-1").catch((e: unknown) => e)
    assert.instanceOf(conflict, ConflictException)
  })

  it("validates submissions: modelInput, inference profiles, sync-only models, output URI", async () => {
    const bad = await bedrock
      .send(
        new StartAsyncInvokeCommand({
          modelId: "acme.echo-v1",
          modelInput: { nope: 1 },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://results/x/" } }
        })
      )
      .catch((e: unknown) => e)
    assert.instanceOf(bad, ValidationException)
    assert.include((bad as Error).message, "required key [uri]")
    const profile = await start("s3://media/in/clip.bin", undefined, "us.acme.echo-v1").catch((e: unknown) => e)
    assert.instanceOf(profile, ValidationException)
    assert.strictEqual((profile as Error).message, "The provided model doesn't support async inference.")
    const titan = await start("s3://media/in/clip.bin", undefined, "amazon.titan-embed-text-v2:0").catch(
      (e: unknown) => e
    )
    assert.instanceOf(titan, ValidationException)
    const uri = await bedrock
      .send(
        new StartAsyncInvokeCommand({
          modelId: "acme.echo-v1",
          modelInput: { uri: "s3://media/in/clip.bin" },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://Bad_Bucket/x" } }
        })
      )
      .catch((e: unknown) => e)
    assert.instanceOf(uri, ValidationException)
    const unknown = await bedrock
      .send(
        new GetAsyncInvokeCommand({ invocationArn: "arn:aws:bedrock:us-east-1:123456789012:async-invoke/zzzzzzzzzzzz" })
      )
      .catch((e: unknown) => e)
    assert.instanceOf(unknown, ValidationException)
  })

  it("lists jobs with status filters, time filters and pagination", async () => {
    const all = await bedrock.send(new ListAsyncInvokesCommand({}))
    const total = all.asyncInvokeSummaries?.length ?? 0
    assert.isAtLeast(total, 3)
    const failed = await bedrock.send(new ListAsyncInvokesCommand({ statusEquals: "Failed" }))
    assert.isTrue((failed.asyncInvokeSummaries ?? []).every((j) => j.status === "Failed"))
    assert.isAtLeast(failed.asyncInvokeSummaries?.length ?? 0, 1)
    const future = await bedrock.send(new ListAsyncInvokesCommand({ submitTimeAfter: new Date(Date.now() + 60_000) }))
    assert.strictEqual(future.asyncInvokeSummaries?.length ?? 0, 0)
    const seen: Array<string> = []
    let nextToken: string | undefined
    do {
      const page = await bedrock.send(
        new ListAsyncInvokesCommand({ maxResults: 2, ...(nextToken ? { nextToken } : {}) })
      )
      assert.isAtMost(page.asyncInvokeSummaries?.length ?? 0, 2)
      for (const job of page.asyncInvokeSummaries ?? []) seen.push(job.invocationArn!)
      nextToken = page.nextToken
    } while (nextToken !== undefined)
    assert.strictEqual(seen.length, total)
    assert.strictEqual(new Set(seen).size, total)
  })
})

describe("media fixtures", () => {
  it("builds MP4 and WAV files whose format and duration the emulator reads back", async () => {
    const { Fixtures, MediaInfo } = await import("@bedrock-embed/emulator")
    const video = Buffer.from(Fixtures.mp4(13.5), "base64")
    assert.strictEqual(MediaInfo.formatOf(video), "mp4")
    assert.strictEqual(MediaInfo.durationOf(video), 13.5)
    const audio = Buffer.from(Fixtures.wav(2.25), "base64")
    assert.strictEqual(MediaInfo.formatOf(audio), "wav")
    assert.strictEqual(MediaInfo.durationOf(audio), 2.25)
    assert.strictEqual(MediaInfo.formatOf(Buffer.from(Fixtures.png(1, 1), "base64")), "png")
    assert.strictEqual(MediaInfo.durationOf(Buffer.from("not media")), undefined)
  })
})
