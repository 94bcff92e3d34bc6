/**
 * The async route and batch retrieval, generically: a test-only model spec and emulator handler,
 * the real emulator (with its S3 server) through the official SDKs.
 */
import {
  AwsCredentials,
  Jobs,
  BedrockRuntime,
  Embeddings,
  type Media,
  ModelSpec,
  ObjectStore,
  Pricing,
  ProviderRegistry
} from "@bedrock-embed/core"
import {
  defaultModels,
  EMULATOR_CREDENTIALS,
  type Emulator,
  type ModelHandler,
  startEmulator
} from "@bedrock-embed/emulator"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schedule, Schema } from "effect"

const REGION = "eu-west-1"

/** Emulator side: embeds the length of the S3 object it is given, per 4-byte chunk "segment". */
const echoHandler: ModelHandler = {
  id: "acme.echo-v1",
  matches: (id) => id === "acme.echo-v1",
  invoke: () => ({ error: "ValidationException", message: "async only" }),
  async: {
    validate: (input) =>
      typeof (input as { media?: { uri?: unknown } })?.media?.uri === "string"
        ? undefined
        : {
            error: "ValidationException",
            message:
              "Malformed input request: #: required key [media] not found, please reformat your input and try again."
          },
    run: async (input, io) => {
      const uri = (input as { media: { uri: string } }).media.uri
      const bytes = await io.read(uri)
      if (bytes === undefined) return { failure: `Unable to read media from ${uri}.` }
      const data = []
      for (let start = 0; start < bytes.length; start += 4) {
        data.push({ embedding: [bytes.length, start], startSec: start, endSec: Math.min(bytes.length, start + 4) })
      }
      return { files: { "output.json": JSON.stringify({ data }), "manifest.json": "{}" } }
    }
  }
}

/** Client side: the matching spec with an async codec. */
const echoSpec = ModelSpec.make({
  id: "acme.echo-v1",
  family: "acme",
  matches: (id) => id === "acme.echo-v1",
  capabilities: {
    sync: [],
    async: ["video"],
    maxInputsPerCall: 1,
    defaultDimension: 2,
    media: { video: { formats: ["mp4"], maxBytes: 1_000_000, sources: ["S3"] } }
  },
  supportedParams: [],
  params: Schema.Struct({}),
  request: Schema.Struct({}),
  response: Schema.Struct({}),
  encode: () => ({}),
  decode: () => ({ vectors: [] }),
  price: { perVideoSecond: 0.001 },
  async: {
    request: Schema.Struct({ media: Schema.Struct({ uri: Schema.String }) }),
    encode: (input: Media.EmbeddingInput) => ({
      media: { uri: input.kind === "video" && input.source._tag === "S3" ? input.source.uri : "" }
    }),
    decode: (files) => {
      const output = files.find((file) => file.name === "output.json")
      if (output === undefined) return { failure: "output.json is missing" }
      const data = JSON.parse(output.text).data as Array<{ embedding: number[]; startSec: number; endSec: number }>
      return {
        segments: data.map((d) => ({
          embedding: d.embedding,
          modality: "video",
          startSec: d.startSec,
          endSec: d.endSec
        }))
      }
    }
  }
})

class TestEmulator extends Context.Service<TestEmulator, Emulator>()("test/Emulator") {
  static layer = Layer.effect(
    TestEmulator,
    Effect.acquireRelease(
      Effect.promise(async () => {
        const emulator = await startEmulator({
          region: REGION,
          models: [...defaultModels, echoHandler],
          asyncDelayMs: 150
        })
        // The input video, uploaded with the official S3 client.
        const { S3Client, CreateBucketCommand, PutObjectCommand } = await import("@aws-sdk/client-s3")
        const s3 = new S3Client({
          region: REGION,
          endpoint: emulator.s3Url!,
          forcePathStyle: true,
          credentials: EMULATOR_CREDENTIALS
        })
        await s3.send(new CreateBucketCommand({ Bucket: "media" }))
        await s3.send(new PutObjectCommand({ Bucket: "media", Key: "clip.mp4", Body: Buffer.alloc(10, 1) }))
        s3.destroy()
        return emulator
      }),
      (emulator) => Effect.promise(() => emulator.close())
    )
  )
}

const engine = Layer.mergeAll(Embeddings.layerWith({ retryBaseDelay: "5 millis" }), Jobs.layer).pipe(
  Layer.provide(
    Layer.mergeAll(
      Layer.provideMerge(ProviderRegistry.register([echoSpec]), ProviderRegistry.layer),
      BedrockRuntime.layer,
      ObjectStore.layer,
      AwsCredentials.layer,
      Pricing.layer
    )
  )
)

const paramsFor = (emulator: Emulator) => ({
  aws_bedrock_runtime_endpoint: emulator.url,
  aws_s3_endpoint: emulator.s3Url!,
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

const submit = (input: string, extra: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const emulator = yield* TestEmulator
    const embeddings = yield* Embeddings.Embeddings
    return yield* embeddings.embed({
      model: "bedrock/async_invoke/acme.echo-v1",
      input,
      input_type: "video",
      output_s3_uri: "s3://results/jobs/",
      aws_region_name: REGION,
      ...paramsFor(emulator),
      ...extra
    })
  })

// Live clock: the jobs and the polling run in real time against a real server.
layer(Layer.merge(TestEmulator.layer, engine), { excludeTestServices: true })("async invoke and batches", (it) => {
  it.effect("submits a job, awaits it and reads its segments back from S3", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      const response = yield* submit("s3://media/clip.mp4", { client_request_token: "tok-1" })
      const arn = response._hidden_params._invocation_arn!
      assert.match(arn, /^arn:aws:bedrock:eu-west-1:123456789012:async-invoke\/[a-z0-9]{12}$/)
      // The job got exactly the provider's modelInput — nothing of ours leaked into it.
      const job = emulator.jobs().find((j) => (j as { invocationArn: string }).invocationArn === arn) as {
        clientRequestToken: string
      }
      assert.strictEqual(job.clientRequestToken, "tok-1")

      // No region given: it comes from the ARN (the emulator rejects signatures for other regions).
      const params = paramsFor(emulator)
      const first = yield* batches.retrieve(arn, params)
      assert.strictEqual(first.status, "in_progress")
      assert.isNumber(first.created_at)
      const done = yield* batches.await(arn, { ...params, schedule: undefined, timeout: "10 seconds" })
      assert.strictEqual(done.status, "completed")
      assert.isNumber(done.completed_at)
      assert.strictEqual(done.metadata.output_file_id, `s3://results/jobs/${arn.split("/").pop()}`)

      const results = yield* batches.results(arn, params)
      assert.strictEqual(results.model, "acme.echo-v1")
      assert.deepStrictEqual(
        results.data.map((d) => [d.embedding, d.modality, d.start_sec, d.end_sec]),
        [
          [[10, 0], "video", 0, 4],
          [[10, 4], "video", 4, 8],
          [[10, 8], "video", 8, 10]
        ]
      )
      assert.sameMembers(
        results.files.map((uri) => uri.split("/").pop()),
        ["output.json", "manifest.json"]
      )
      // This codec reports no usage: unknown, not free-and-known.
      assert.deepStrictEqual(
        [results.usage, results.cost, results.usage_known],
        [{ prompt_tokens: 0, total_tokens: 0 }, 0, false]
      )
    })
  )

  it.effect("a poll survives throttled and failing status calls, and stops at one that retrying cannot fix", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      const params = paramsFor(emulator)
      const response = yield* submit("s3://media/clip.mp4")
      const arn = response._hidden_params._invocation_arn!
      const faultsBefore = emulator.stats.faults
      emulator.injectFaults([
        { error: "ThrottlingException", operation: "GetAsyncInvoke" },
        { error: "InternalServerException", operation: "GetAsyncInvoke" },
        { error: "ThrottlingException", operation: "GetAsyncInvoke" }
      ])
      const done = yield* batches.await(arn, {
        ...params,
        schedule: Schedule.spaced("50 millis"),
        timeout: "20 seconds"
      })
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(emulator.stats.faults - faultsBefore, 3, "every injected status fault was met and retried")
      emulator.injectFaults([{ error: "AccessDeniedException", operation: "GetAsyncInvoke" }])
      const denied = yield* Effect.flip(batches.await(arn, { ...params, timeout: "20 seconds" }))
      assert.strictEqual(denied._tag, "AccessDeniedError")
    })
  )

  it.effect("fails with AsyncJobFailedError carrying Bedrock's failure message", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      const response = yield* submit("s3://media/missing.mp4")
      const error = yield* Effect.flip(
        batches.await(response._hidden_params._invocation_arn!, {
          ...paramsFor(emulator),
          schedule: Schedule.spaced("50 millis")
        })
      )
      assert.strictEqual(error._tag, "AsyncJobFailedError")
      assert.include(error.message, "Unable to read media from s3://media/missing.mp4.")
    })
  )

  it.effect("gives up with AsyncJobTimeoutError within the timeout", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      emulator.setAsyncDelay(Number.POSITIVE_INFINITY)
      const response = yield* submit("s3://media/clip.mp4")
      emulator.setAsyncDelay(150)
      const started = Date.now()
      const error = yield* Effect.flip(
        batches.await(response._hidden_params._invocation_arn!, { ...paramsFor(emulator), timeout: "800 millis" })
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "AsyncJobTimeoutError")
      assert.isAtLeast(elapsed, 750)
      assert.isBelow(elapsed, 2_000)
    })
  )

  it.effect("validates before submitting: output_s3_uri, input_type, URI shape, ARNs", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      const before = emulator.jobs().length
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ output_s3_uri: "" }, "output_s3_uri cannot be empty"],
        [{ output_s3_uri: undefined }, "output_s3_uri cannot be empty"],
        [{ output_s3_uri: "https://bucket/x" }, "is not an S3 URI"],
        [{ input_type: undefined }, "input_type is required for async invoke: one of video"],
        [
          { input_type: "audio" },
          'input_type "audio" is not supported by async invoke of acme.echo-v1; use one of video'
        ]
      ]
      for (const [extra, message] of cases) {
        const error = yield* Effect.flip(submit("s3://media/clip.mp4", extra))
        assert.strictEqual(error._tag, "InvalidRequestError")
        assert.include(error.message, message)
      }
      assert.strictEqual(emulator.jobs().length, before, "nothing was submitted")
      const badArn = yield* Effect.flip(batches.retrieve("not-an-arn", paramsFor(emulator)))
      assert.strictEqual(badArn._tag, "InvalidRequestError")
      assert.include(
        badArn.message,
        "is not a Bedrock job ARN; expected arn:aws:bedrock:<region>:<account>:async-invoke/<id>"
      )
      const batchArn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123"
      const notAsync = yield* Effect.flip(batches.results(batchArn, paramsFor(emulator)))
      assert.strictEqual(notAsync._tag, "InvalidRequestError")
      assert.include(notAsync.message, "is not an async-invoke ARN")
    })
  )

  it.effect("lists jobs by status, with pagination", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const batches = yield* Jobs.Jobs
      const params = { ...paramsFor(emulator), aws_region_name: REGION }
      const failed = yield* batches.list({ status: "failed" }, params)
      assert.isAtLeast(failed.data.length, 1)
      assert.isTrue(failed.data.every((job) => job.status === "failed" && job.metadata.failure_message.length > 0))
      const page = yield* batches.list({ limit: 1 }, params)
      assert.strictEqual(page.data.length, 1)
      assert.isString(page.next_token)
      const next = yield* batches.list({ limit: 1, after: page.next_token }, params)
      assert.notStrictEqual(next.data[0]!.id, page.data[0]!.id)
    })
  )
})
