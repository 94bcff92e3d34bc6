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
    await upload(ctx.emulator, "s3://media/photo.png", Buffer.from(png, "base64"))
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

  it("embeds a clip of up to 30 s synchronously: video (one vector for picture and sound), audio, with their seconds billed", async () => {
    const video = await ctx.client.embedding({
      model: SYNC,
      input: `data:video/mp4;base64,${Fixtures.mp4(3)}`,
      dimensions: 256,
      ...ctx.params
    })
    const audio = await ctx.client.embedding({
      model: SYNC,
      input: `data:audio/wav;base64,${Fixtures.wav(2)}`,
      dimensions: 256,
      ...ctx.params
    })
    const bodies = ctx.emulator.invocations.map((i) => i.body as { singleEmbeddingParams: Record<string, unknown> })
    assert.deepStrictEqual(
      bodies.map((b) => Object.keys(b.singleEmbeddingParams)),
      [
        ["embeddingPurpose", "embeddingDimension", "video"],
        ["embeddingPurpose", "embeddingDimension", "audio"]
      ]
    )
    assert.strictEqual(
      (bodies[0]!.singleEmbeddingParams.video as { embeddingMode: string }).embeddingMode,
      "AUDIO_VIDEO_COMBINED"
    )
    assert.strictEqual(vec(video.data[0]!).length, 256)
    assert.strictEqual(vec(audio.data[0]!).length, 256)
    assert.strictEqual(video.usage.prompt_tokens_details?.video_seconds, 3)
    assert.strictEqual(audio.usage.prompt_tokens_details?.audio_seconds, 2)
    // Nova bills video at $0.0007 and audio at $0.00014 per second, on top of any tokens.
    assert.closeTo(video._hidden_params.response_cost, video.usage.prompt_tokens * 0.000000135 + 3 * 0.0007, 1e-12)
    assert.closeTo(audio._hidden_params.response_cost, audio.usage.prompt_tokens * 0.000000135 + 2 * 0.00014, 1e-12)
  })

  it("embeds an s3:// video with AUDIO_VIDEO_SEPARATE: the picture as embedding, both in embeddings_by_modality", async () => {
    await upload(ctx.emulator, "s3://media/short.mp4", Buffer.from(Fixtures.mp4(12), "base64"))
    const r = await ctx.client.embedding({
      model: SYNC,
      input: "s3://media/short.mp4",
      embeddingPurpose: "VIDEO_RETRIEVAL",
      embeddingMode: "AUDIO_VIDEO_SEPARATE",
      dimensions: 1024,
      ...ctx.params
    })
    // AWS's documented body for this request.
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, {
      schemaVersion: "nova-multimodal-embed-v1",
      taskType: "SINGLE_EMBEDDING",
      singleEmbeddingParams: {
        embeddingPurpose: "VIDEO_RETRIEVAL",
        embeddingDimension: 1024,
        video: {
          format: "mp4",
          source: { s3Location: { uri: "s3://media/short.mp4" } },
          embeddingMode: "AUDIO_VIDEO_SEPARATE"
        }
      }
    })
    const byModality = r.data[0]!.embeddings_by_modality!
    assert.deepStrictEqual(Object.keys(byModality).sort(), ["audio", "video"])
    assert.deepStrictEqual(vec(r.data[0]!), byModality.video)
    assert.strictEqual(byModality.audio!.length, 1024)
    assert.notDeepEqual(byModality.audio, byModality.video)
  })

  it("takes LiteLLM's content blocks as input items and as a parameter; the top-level embeddingMode wins", async () => {
    await upload(ctx.emulator, "s3://media/block.mp4", Buffer.from(Fixtures.mp4(4), "base64"))
    const block = { format: "mp4", source: { s3Location: { uri: "s3://media/block.mp4" } } }
    await ctx.client.embedding({
      model: SYNC,
      input: [{ video: { ...block, embeddingMode: "AUDIO_VIDEO_SEPARATE" } }],
      ...ctx.params
    })
    await ctx.client.embedding({ model: SYNC, input: "ignored", video: block, ...ctx.params })
    await ctx.client.embedding({
      model: SYNC,
      input: "ignored",
      video: { ...block, embeddingMode: "AUDIO_VIDEO_COMBINED" },
      embeddingMode: "AUDIO_VIDEO_SEPARATE",
      ...ctx.params
    })
    const modes = ctx.emulator.invocations.map(
      (i) =>
        (i.body as { singleEmbeddingParams: { video: { embeddingMode: string; source: unknown } } })
          .singleEmbeddingParams.video
    )
    assert.deepStrictEqual(
      modes.map((v) => v.embeddingMode),
      ["AUDIO_VIDEO_SEPARATE", "AUDIO_VIDEO_COMBINED", "AUDIO_VIDEO_SEPARATE"]
    )
    assert.isTrue(modes.every((v) => JSON.stringify(v.source) === JSON.stringify(block.source)))
    const error = await ctx.client
      .embedding({ model: SYNC, input: [{ video: { ...block, loop: true } }], ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include(
      (error as Error).message,
      'the video block\'s "loop" is not taken by amazon.nova-2-multimodal-embeddings-v1:0'
    )
  })

  it("refuses a clip over 30 s before any call, naming the async route", async () => {
    const error = await ctx.client
      .embedding({ model: SYNC, input: `data:video/mp4;base64,${Fixtures.mp4(31)}`, ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include(
      (error as Error).message,
      'input[0] is 31 seconds of video; amazon.nova-2-multimodal-embeddings-v1:0 embeds at most 30 s synchronously. Send it through async invoke: model "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"'
    )
    const audio = await ctx.client
      .embedding({ model: SYNC, input: `data:audio/wav;base64,${Fixtures.wav(45)}`, ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(audio, InvalidRequestError)
    assert.include((audio as Error).message, "45 seconds of audio")
    assert.strictEqual(ctx.emulator.invocations.length, 0)
  })

  it("refuses async-only parameters on the sync route naming them, or drops them with drop_params", async () => {
    const error = await ctx.client
      .embedding({ model: SYNC, input: "x", durationSeconds: 5, maxLengthChars: 1000, ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include((error as Error).message, "Input type 'text' does not accept maxLengthChars, durationSeconds")
    assert.strictEqual(ctx.emulator.invocations.length, 0)
    await ctx.client.embedding({ model: SYNC, input: "x", durationSeconds: 5, drop_params: true, ...ctx.params })
    assert.deepStrictEqual(
      Object.keys((ctx.emulator.invocations[0]!.body as { singleEmbeddingParams: object }).singleEmbeddingParams),
      ["embeddingPurpose", "embeddingDimension", "text"]
    )
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

  it("never drops a failed segment: a deflected one comes back with its index, status and reason", async () => {
    const segment = (i: number) => `segment ${i} `.padEnd(1000, "x")
    const text = [segment(0), `${segment(1).slice(0, 900)}[[emulator:deflect]]`.padEnd(1000, "y"), segment(2)].join("")
    const submitted = await ctx.client.embedding({
      model: ASYNC,
      input: text,
      input_type: "text",
      output_s3_uri: "s3://results/nova-deflect/",
      dimensions: 256,
      maxLengthChars: 1000,
      ...ctx.params
    })
    const arn = submitted._hidden_params._invocation_arn!
    await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
    const results = await ctx.client.batchResults({ batch_id: arn, ...ctx.params })
    assert.deepStrictEqual(
      results.data.map((d) => [d.index, d.segment_index, d.status, d.failure_reason, d.embedding.length]),
      [
        [0, 0, "succeeded", undefined, 256],
        [1, 1, "failed", "RAI_VIOLATION_INPUT_TEXT_DEFLECTION", 0],
        [2, 2, "succeeded", undefined, 256]
      ]
    )
    assert.deepStrictEqual([results.data[1]!.start_char, results.data[1]!.end_char], [1000, 2000])
    assert.isString(results.data[1]!.failure_message)
  })

  it("a job whose every segment failed is an AsyncJobFailedError naming the reasons", async () => {
    const submitted = await ctx.client.embedding({
      model: ASYNC,
      input: "[[emulator:deflect]] all of it",
      input_type: "text",
      output_s3_uri: "s3://results/nova-deflect-all/",
      ...ctx.params
    })
    const arn = submitted._hidden_params._invocation_arn!
    await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
    const error = await ctx.client.batchResults({ batch_id: arn, ...ctx.params }).catch((e: unknown) => e)
    assert.strictEqual((error as { _tag: string })._tag, "AsyncJobFailedError")
    assert.include((error as Error).message, "every segment failed: segment 0 RAI_VIOLATION_INPUT_TEXT_DEFLECTION")
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
