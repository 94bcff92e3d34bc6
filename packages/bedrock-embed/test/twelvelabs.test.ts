/** TwelveLabs Marengo through embedding() and the batch API, against the emulator and its S3 server. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { InvalidRequestError } from "bedrock-embed"
import { Schedule } from "effect"
import { tinyPng, upload, useClient } from "./emulator.ts"

const ctx = useClient({ asyncDelayMs: 50 })

beforeAll(async () => {
  await upload(ctx.emulator, "s3://media/clip.mp4", Buffer.from(Fixtures.mp4(14), "base64"))
  await upload(ctx.emulator, "s3://media/talk.wav", Buffer.from(Fixtures.wav(9), "base64"))
  await upload(ctx.emulator, "s3://media/photo.png", Buffer.from(Fixtures.png(8, 8), "base64"))
})

const vec = (d: { embedding: unknown }) => d.embedding as ReadonlyArray<number>
const fast = Schedule.spaced("25 millis")

describe("Marengo synchronously", () => {
  it("2.7 through a us. profile: texts in order, one call each, ids unchanged on the wire", async () => {
    const r = await ctx.client.embedding({
      model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
      input: ["a", "b", "c"],
      ...ctx.params
    })
    assert.isTrue(r.data.every((d, i) => d.index === i && vec(d).length === 1024))
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => [i.modelId, (i.body as { inputText: string }).inputText]),
      [
        ["us.twelvelabs.marengo-embed-2-7-v1:0", "a"],
        ["us.twelvelabs.marengo-embed-2-7-v1:0", "b"],
        ["us.twelvelabs.marengo-embed-2-7-v1:0", "c"]
      ]
    )
    assert.isAbove(r.usage.prompt_tokens, 0)
    assert.isAbove(r._hidden_params.response_cost, 0)
  })

  it("2.7 images: a PNG data URL and bare base64 with input_type image", async () => {
    const png = tinyPng()
    const a = await ctx.client.embedding({
      model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
      input: `data:image/png;base64,${png}`,
      ...ctx.params
    })
    const b = await ctx.client.embedding({
      model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
      input: png,
      input_type: "image",
      ...ctx.params
    })
    assert.deepStrictEqual(vec(a.data[0]!), vec(b.data[0]!))
    assert.deepStrictEqual(ctx.emulator.invocations[1]!.body, {
      inputType: "image",
      mediaSource: { base64String: png }
    })
  })

  it("3.0 embeds a text+image pair into 512 dimensions", async () => {
    const png = tinyPng()
    const r = await ctx.client.embedding({
      model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0",
      input: { text: "a red square", image: `data:image/png;base64,${png}` },
      ...ctx.params
    })
    assert.strictEqual(vec(r.data[0]!).length, 512)
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, {
      inputType: "text_image",
      text_image: { inputText: "a red square", mediaSource: { base64String: png } }
    })
  })

  it("refuses video on the sync route, and a BMP, before any call", async () => {
    const video = await ctx.client
      .embedding({ model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0", input: "s3://media/clip.mp4", ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(video, InvalidRequestError)
    assert.include(
      (video as Error).message,
      "Input type 'video' requires async_invoke route. Use model format: 'bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0'"
    )
    const bmp = await ctx.client
      .embedding({
        model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
        input: "data:image/bmp;base64,Qk0eAAAA",
        ...ctx.params
      })
      .catch((e: unknown) => e)
    assert.instanceOf(bmp, InvalidRequestError)
    assert.include((bmp as Error).message, "png, jpeg")
    assert.strictEqual(ctx.emulator.invocations.length, 0)
  })
})

describe("Marengo through async invoke", () => {
  const run = async (model: string, input: string, inputType: string, extra: Record<string, unknown> = {}) => {
    const submitted = await ctx.client.embedding({
      model,
      input,
      input_type: inputType,
      output_s3_uri: "s3://results/marengo/",
      ...ctx.params,
      ...extra
    })
    const arn = submitted._hidden_params._invocation_arn!
    await ctx.client.awaitBatch({ batch_id: arn, ...ctx.params, schedule: fast })
    return ctx.client.batchResults({ batch_id: arn, ...ctx.params })
  }
  const M27 = "bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0"

  it("text and image", async () => {
    const text = await run(M27, "a long description of a scene", "text")
    assert.strictEqual(text.data.length, 1)
    assert.strictEqual(text.data[0]!.embedding.length, 1024)
    const image = await run(M27, "s3://media/photo.png", "image")
    assert.strictEqual(image.data[0]!.embedding.length, 1024)
    assert.isTrue(image.files.every((uri) => uri.endsWith("/output.json")))
  })

  it("video: clips with their options and times", async () => {
    const video = await run(M27, "s3://media/clip.mp4", "video", {
      useFixedLengthSec: 5,
      embeddingOption: ["visual-text", "audio"]
    })
    assert.deepStrictEqual(
      video.data.map((d) => [d.modality, d.start_sec, d.end_sec]),
      [
        ["visual-text", 0, 5],
        ["audio", 0, 5],
        ["visual-text", 5, 10],
        ["audio", 5, 10],
        ["visual-text", 10, 14],
        ["audio", 10, 14]
      ]
    )
    const job = ctx.emulator.jobs().at(-1) as { modelInput: unknown }
    assert.deepStrictEqual(job.modelInput, {
      inputType: "video",
      mediaSource: { s3Location: { uri: "s3://media/clip.mp4" } },
      useFixedLengthSec: 5,
      embeddingOption: ["visual-text", "audio"]
    })
  })

  it("audio, and 3.0 video with bucketOwner", async () => {
    const audio = await run(M27, "s3://media/talk.wav", "audio")
    assert.deepStrictEqual(
      audio.data.map((d) => [d.modality, d.start_sec, d.end_sec]),
      [
        ["audio", 0, 6],
        ["audio", 6, 9]
      ]
    )
    const v30 = await run("bedrock/async_invoke/twelvelabs.marengo-embed-3-0-v1:0", "s3://media/clip.mp4", "video", {
      bucketOwner: "123456789012",
      segmentation: { method: "fixed", fixed: { durationSec: 7 } }
    })
    assert.isTrue(v30.data.every((d) => d.embedding.length === 512))
    assert.deepStrictEqual([...new Set(v30.data.map((d) => d.start_sec))], [0, 7])
  })
})
