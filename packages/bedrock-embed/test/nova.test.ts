/** Nova through embedding() and the batch API, the official SDKs, the emulator and its S3 server. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { InvalidRequestError } from "bedrock-embed"
import { Schedule } from "effect"
import { tinyPng, upload, useClient } from "./emulator.ts"

const SYNC = "bedrock/amazon.nova-2-multimodal-embeddings-v1:0"
const ASYNC = "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"

const ctx = useClient({ asyncDelayMs: 100 })

const vec = (d: { embedding: unknown }) => d.embedding as ReadonlyArray<number>
const fast = Schedule.spaced("50 millis")

describe("Nova, synchronously", () => {
  it("embeds texts in order, one call each, with the requested dimension", async () => {
    const inputs = ["first text", "second text", "third text"]
    const r = await ctx.client.embedding({ model: SYNC, input: inputs, dimensions: 1024, ...ctx.params })
    assert.isTrue(r.data.every((d, i) => d.index === i && vec(d).length === 1024))
    for (let i = 0; i < inputs.length; i++) {
      const single = await ctx.client.embedding({ model: SYNC, input: inputs[i]!, dimensions: 1024, ...ctx.params })
      assert.deepStrictEqual(vec(single.data[0]!), vec(r.data[i]!))
    }
    assert.strictEqual(r._hidden_params.calls, 3)
    assert.isAbove(r.usage.prompt_tokens, 0)
  })

  it("defaults to 3072 dimensions", async () => {
    const r = await ctx.client.embedding({ model: SYNC, input: "x", ...ctx.params })
    assert.strictEqual(vec(r.data[0]!).length, 3072)
  })

  it("embeds a PNG data URL and an s3:// image", async () => {
    const png = tinyPng()
    const r = await ctx.client.embedding({
      model: SYNC,
      input: [`data:image/png;base64,${png}`, "s3://media/photo.png"],
      dimensions: 256,
      ...ctx.params
    })
    assert.strictEqual(r.data.length, 2)
    const bodies = ctx.emulator.invocations.map(
      (i) => (i.body as { singleEmbeddingParams: { image: unknown } }).singleEmbeddingParams.image
    )
    assert.deepStrictEqual(bodies, [
      { format: "png", source: { bytes: png } },
      { format: "png", source: { s3Location: { uri: "s3://media/photo.png" } } }
    ])
    assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 2)
    assert.closeTo(r._hidden_params.response_cost, r.usage.prompt_tokens * 0.000000135 + 2 * 0.00006, 1e-12)
  })

  it("refuses video on the sync route with the async hint, before any call", async () => {
    const error = await ctx.client
      .embedding({ model: SYNC, input: `data:video/mp4;base64,${Fixtures.mp4(3)}`, ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include(
      (error as Error).message,
      "Input type 'video' requires async_invoke route. Use model format: 'bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0'"
    )
    assert.strictEqual(ctx.emulator.invocations.length, 0)
  })
})

describe("Nova through async invoke", () => {
  it("embeds an s3:// video: ARN → await → segments with increasing start times", async () => {
    await upload(ctx.emulator, "s3://media/clip.mp4", Buffer.from(Fixtures.mp4(23), "base64"))
    const submitted = await ctx.client.embedding({
      model: ASYNC,
      input: "s3://media/clip.mp4",
      input_type: "video",
      output_s3_uri: "s3://results/nova/",
      dimensions: 1024,
      durationSeconds: 5,
      ...ctx.params
    })
    const arn = submitted._hidden_params._invocation_arn!
    assert.match(arn, /:async-invoke\/[a-z0-9]{12}$/)
    const job = ctx.emulator.jobs().find((j) => (j as { invocationArn: string }).invocationArn === arn) as {
      modelInput: unknown
    }
    assert.deepStrictEqual(job.modelInput, {
      schemaVersion: "nova-multimodal-embed-v1",
      taskType: "SEGMENTED_EMBEDDING",
      segmentedEmbeddingParams: {
        embeddingPurpose: "GENERIC_INDEX",
        embeddingDimension: 1024,
        video: {
          format: "mp4",
          source: { s3Location: { uri: "s3://media/clip.mp4" } },
          embeddingMode: "AUDIO_VIDEO_COMBINED",
          segmentationConfig: { durationSeconds: 5 }
        }
      }
    })
    // A Bedrock API key alone (no AWS keys, no region: it comes from the ARN) reads the job too.
    const status = await ctx.client.retrieveBatch({
      batch_id: arn,
      api_key: "bedrock-api-key-TEST",
      aws_bedrock_runtime_endpoint: ctx.emulator.url
    })
    assert.strictEqual(status.status, "in_progress")
    const done = await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
    assert.strictEqual(done.status, "completed")
    const results = await ctx.client.batchResults({ batch_id: arn, ...ctx.params })
    assert.deepStrictEqual(
      results.data.map((d) => [d.start_sec, d.end_sec]),
      [
        [0, 5],
        [5, 10],
        [10, 15],
        [15, 20],
        [20, 23]
      ]
    )
    assert.isTrue(results.data.every((d) => d.modality === "audio_video" && d.embedding.length === 1024))
    assert.isTrue(results.files.some((uri) => uri.endsWith("/segmented-embedding-result.json")))
  })

  it("embeds a 30 000-character text in segments with increasing character offsets", async () => {
    const text = Array.from({ length: 4000 }, (_, i) => `word${i % 97}. `)
      .join("")
      .slice(0, 30_000)
    assert.strictEqual(text.length, 30_000)
    const submitted = await ctx.client.embedding({
      model: ASYNC,
      input: text,
      input_type: "text",
      output_s3_uri: "s3://results/nova-text/",
      dimensions: 256,
      maxLengthChars: 8000,
      ...ctx.params
    })
    const arn = submitted._hidden_params._invocation_arn!
    await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
    const results = await ctx.client.batchResults({ batch_id: arn, ...ctx.params })
    assert.deepStrictEqual(
      results.data.map((d) => [d.start_char, d.end_char]),
      [
        [0, 8000],
        [8000, 16000],
        [16000, 24000],
        [24000, 30000]
      ]
    )
    assert.isTrue(results.data.every((d) => d.modality === "text" && d.embedding.length === 256))
  })

  it("fails the job for missing media, with Bedrock's message", async () => {
    const submitted = await ctx.client.embedding({
      model: ASYNC,
      input: "s3://media/nothing-here.mp4",
      input_type: "video",
      output_s3_uri: "s3://results/nova/",
      ...ctx.params
    })
    const error = await ctx.client
      .awaitBatch({ batch_id: submitted._hidden_params._invocation_arn!, ...ctx.params, schedule: fast })
      .catch((e: unknown) => e)
    assert.strictEqual((error as { _tag: string })._tag, "AsyncJobFailedError")
    assert.include((error as Error).message, "Unable to access the input at s3://media/nothing-here.mp4")
  })

  it("validates async requests before submitting", async () => {
    const before = ctx.emulator.jobs().length
    const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [{ output_s3_uri: "" }, "output_s3_uri cannot be empty"],
      [{ input_type: undefined }, "input_type is required for async invoke: one of text, image, video, audio"],
      [
        { input_type: "video", input: "plain words" },
        'input_type is "video" but the input is neither valid base64 nor a data URL'
      ],
      [{ input_type: "text", input: "s3://media/clip.mp4" }, 'input[0] is video but input_type is "text"']
    ]
    for (const [extra, message] of cases) {
      const error = await ctx.client
        .embedding({
          model: ASYNC,
          input: "s3://media/clip.mp4",
          input_type: "video",
          output_s3_uri: "s3://results/x/",
          ...ctx.params,
          ...extra
        })
        .catch((e: unknown) => e)
      assert.instanceOf(error, InvalidRequestError)
      assert.include((error as Error).message, message)
    }
    assert.strictEqual(ctx.emulator.jobs().length, before)
  })
})
