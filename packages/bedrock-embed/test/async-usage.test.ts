/**
 * What a finished async-invoke job used and cost, read from its output through the official SDKs,
 * the emulator and its S3 server: a clip's seconds are the media's length (the emulator's own
 * reading of the file), counted once however many modalities and scopes embed it, priced at the
 * model's per-second price; text whose output counts no tokens is flagged as unknown.
 */
import { Fixtures, MediaInfo } from "@bedrock-embed/emulator"
import { NovaEmbeddings } from "@bedrock-embed/provider-nova"
import { Marengo27, Marengo30 } from "@bedrock-embed/provider-twelvelabs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { make } from "bedrock-embed"
import { Schedule } from "effect"
import { upload, useClient } from "./emulator.ts"

const ctx = useClient({ asyncDelayMs: 50 })
const fast = Schedule.spaced("25 millis")
const OWNER = "123456789012"

const clip = Buffer.from(Fixtures.mp4(23), "base64")
const talk = Buffer.from(Fixtures.wav(9), "base64")
/** The seconds the emulator reads from the files it segments. */
const clipSeconds = MediaInfo.durationOf(clip)!
const talkSeconds = MediaInfo.durationOf(talk)!

beforeAll(async () => {
  await upload(ctx.emulator, "s3://media/clip.mp4", clip)
  await upload(ctx.emulator, "s3://media/talk.wav", talk)
})

/** Submits one input, waits for its job, and reads the results back. */
const run = async (model: string, input: string, inputType: string, extra: Record<string, unknown> = {}) => {
  const submitted = await ctx.client.embedding({
    model,
    input,
    input_type: inputType,
    output_s3_uri: "s3://results/usage/",
    ...ctx.params,
    ...extra
  })
  const arn = submitted._hidden_params._invocation_arn!
  await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
  return ctx.client.batchResults({ batch_id: arn, ...ctx.params })
}

const NOVA = "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"

describe("Nova async jobs", () => {
  it("a video job: the clip's seconds, once, at the per-second video price", async () => {
    assert.strictEqual(clipSeconds, 23)
    const results = await run(NOVA, "s3://media/clip.mp4", "video", { durationSeconds: 5, dimensions: 256 })
    assert.strictEqual(results.data.length, 5)
    assert.deepStrictEqual(results.usage, {
      prompt_tokens: 0,
      total_tokens: 0,
      prompt_tokens_details: { video_seconds: clipSeconds }
    })
    assert.isTrue(results.usage_known)
    assert.closeTo(results.cost, clipSeconds * NovaEmbeddings.spec.price.perVideoSecond!, 1e-12)
  })

  it("AUDIO_VIDEO_SEPARATE: picture and sound over the same times are still one clip's seconds", async () => {
    const results = await run(NOVA, "s3://media/clip.mp4", "video", {
      durationSeconds: 10,
      dimensions: 256,
      embeddingMode: "AUDIO_VIDEO_SEPARATE"
    })
    assert.deepStrictEqual([...new Set(results.data.map((d) => d.modality))].sort(), ["audio", "video"])
    assert.strictEqual(results.usage.prompt_tokens_details?.video_seconds, clipSeconds)
    assert.isUndefined(results.usage.prompt_tokens_details?.audio_seconds)
    assert.closeTo(results.cost, clipSeconds * NovaEmbeddings.spec.price.perVideoSecond!, 1e-12)
  })

  it("an audio job: its seconds at the per-second audio price", async () => {
    const results = await run(NOVA, "s3://media/talk.wav", "audio", { durationSeconds: 5, dimensions: 256 })
    assert.strictEqual(results.usage.prompt_tokens_details?.audio_seconds, talkSeconds)
    assert.isTrue(results.usage_known)
    assert.closeTo(results.cost, talkSeconds * NovaEmbeddings.spec.price.perAudioSecond!, 1e-12)
  })

  it("prices the seconds through the client's price overrides", async () => {
    const priced = make({ prices: { [NovaEmbeddings.spec.id]: { perVideoSecond: 0.5 } } })
    try {
      const submitted = await priced.embedding({
        model: NOVA,
        input: "s3://media/clip.mp4",
        input_type: "video",
        output_s3_uri: "s3://results/usage-priced/",
        dimensions: 256,
        ...ctx.params
      })
      const arn = submitted._hidden_params._invocation_arn!
      await priced.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
      const results = await priced.batchResults({ batch_id: arn, ...ctx.params })
      assert.closeTo(results.cost, clipSeconds * 0.5, 1e-9)
    } finally {
      await priced.dispose()
    }
  })

  it("a text job: the output counts no tokens, so usage is unknown (0, a lower bound)", async () => {
    const results = await run(NOVA, "a text of a few words", "text", { dimensions: 256 })
    assert.strictEqual(results.data.length, 1)
    assert.isFalse(results.usage_known)
    assert.deepStrictEqual(results.usage, { prompt_tokens: 0, total_tokens: 0 })
    assert.strictEqual(results.cost, 0)
  })
})

describe("Marengo async jobs", () => {
  it("2.7 video: visual and audio clips over the same times are the clip's seconds once", async () => {
    const results = await run(
      "bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0",
      "s3://media/clip.mp4",
      "video",
      {
        useFixedLengthSec: 5,
        embeddingOption: ["visual-text", "audio"]
      }
    )
    // Ten segments of up to 5 s: their sum is twice the clip.
    const summed = results.data.reduce((sum, d) => sum + (d.end_sec! - d.start_sec!), 0)
    assert.strictEqual(summed, 2 * clipSeconds)
    assert.strictEqual(results.usage.prompt_tokens_details?.video_seconds, clipSeconds)
    assert.isTrue(results.usage_known)
    assert.closeTo(results.cost, clipSeconds * Marengo27.spec.price.perVideoSecond!, 1e-12)
  })

  it("3.0 video, clip and asset scopes: the seconds of the part embedded, once", async () => {
    const results = await run(
      "bedrock/async_invoke/twelvelabs.marengo-embed-3-0-v1:0",
      "s3://media/clip.mp4",
      "video",
      {
        bucketOwner: OWNER,
        startSec: 3,
        segmentation: { method: "fixed", fixed: { durationSec: 7 } },
        embeddingScope: ["clip", "asset"]
      }
    )
    assert.isTrue(results.data.some((d) => d.details?.embeddingScope === "asset"))
    assert.strictEqual(results.usage.prompt_tokens_details?.video_seconds, clipSeconds - 3)
    assert.isTrue(results.usage_known)
    assert.closeTo(results.cost, (clipSeconds - 3) * Marengo30.spec.price.perVideoSecond!, 1e-12)
  })

  it("an audio job: its seconds, flagged as a lower bound (the output does not say it was not a video)", async () => {
    const results = await run("bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0", "s3://media/talk.wav", "audio")
    assert.strictEqual(results.usage.prompt_tokens_details?.audio_seconds, talkSeconds)
    assert.isFalse(results.usage_known)
    assert.closeTo(results.cost, talkSeconds * Marengo27.spec.price.perAudioSecond!, 1e-12)
  })

  it("a text job: one query at most as the output shows it, flagged as a lower bound", async () => {
    const results = await run("bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0", "a dog on a beach", "text")
    assert.strictEqual(results.usage.prompt_tokens_details?.query_count, 1)
    assert.isFalse(results.usage_known)
    assert.closeTo(results.cost, Marengo27.spec.price.perQuery!, 1e-12)
  })
})
