/** TwelveLabs Marengo through embedding() and the batch API, against the emulator and its S3 server. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { InvalidRequestError } from "bedrock-embed"
import { Schedule } from "effect"
import { tinyPng, upload, useClient } from "./emulator.ts"

const tinyPngUrl = () => `data:image/png;base64,${tinyPng()}`

const ctx = useClient({ asyncDelayMs: 50 })

beforeAll(async () => {
  await upload(ctx.emulator, "s3://media/clip.mp4", Buffer.from(Fixtures.mp4(14), "base64"))
  await upload(ctx.emulator, "s3://media/talk.wav", Buffer.from(Fixtures.wav(9), "base64"))
  await upload(ctx.emulator, "s3://media/photo.png", Buffer.from(Fixtures.png(8, 8), "base64"))
})

const vec = (d: { embedding: unknown }) => d.embedding as ReadonlyArray<number>
const fast = Schedule.spaced("25 millis")

const M30_SYNC = "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0"
const OWNER = "123456789012"

describe("Marengo 3.0's whole sync surface", () => {
  it("text_image with media_source (LiteLLM's spelling) and with a { text, image } pair: the same body", async () => {
    const a = await ctx.client.embedding({
      model: M30_SYNC,
      input: "man walking a dog",
      input_type: "text_image",
      media_source: "s3://media/photo.png",
      bucketOwner: OWNER,
      ...ctx.params
    })
    const b = await ctx.client.embedding({
      model: M30_SYNC,
      input: [{ text: "man walking a dog", image: "s3://media/photo.png" }],
      bucketOwner: OWNER,
      ...ctx.params
    })
    const expected = {
      inputType: "text_image",
      text_image: {
        inputText: "man walking a dog",
        mediaSource: { s3Location: { uri: "s3://media/photo.png", bucketOwner: OWNER } }
      }
    }
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => i.body),
      [expected, expected]
    )
    assert.deepStrictEqual(vec(a.data[0]!), vec(b.data[0]!))
    assert.strictEqual(vec(a.data[0]!).length, 512)
  })

  it("multi_input: named media_sources referenced as <@name>, flattened in order, a query billed", async () => {
    const png = tinyPng()
    const r = await ctx.client.embedding({
      model: M30_SYNC,
      input: "<@person> walking a dog with <@dog>",
      input_type: "multi_input",
      media_sources: { person: "s3://media/photo.png", dog: `data:image/png;base64,${png}` },
      bucketOwner: OWNER,
      ...ctx.params
    })
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, {
      inputType: "multi_input",
      multi_input: {
        inputText: "<@person> walking a dog with <@dog>",
        mediaSources: [
          { name: "person", mediaType: "image", s3Location: { uri: "s3://media/photo.png", bucketOwner: OWNER } },
          { name: "dog", mediaType: "image", base64String: png }
        ]
      }
    })
    assert.strictEqual(vec(r.data[0]!).length, 512)
    assert.strictEqual(r.usage.prompt_tokens_details?.query_count, 1)
    assert.closeTo(r._hidden_params.response_cost, 0.00007, 1e-12)
  })

  it("refuses a <@name> media_sources does not name, s3:// media without bucketOwner, and a missing media_source, before any call", async () => {
    const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [
        { input: "<@cat> on a mat", input_type: "multi_input", media_sources: { dog: tinyPngUrl() } },
        "input[0]: references <@cat>, which media_sources does not name (it names dog)"
      ],
      [
        { input: "a duck", input_type: "multi_input", media_sources: { img1: "s3://media/photo.png" } },
        "s3:// media requires the 'bucketOwner' parameter, the account id that owns the bucket"
      ],
      [
        { input: "a duck", input_type: "multi_input" },
        "Input type 'multi_input' requires a non-empty 'media_sources' mapping"
      ],
      [{ input: "a duck", input_type: "text_image" }, "Input type 'text_image' requires the 'media_source' parameter"],
      [{ input: "s3://media/photo.png", input_type: "image" }, "s3:// media requires the 'bucketOwner' parameter"]
    ]
    for (const [request, message] of cases) {
      const error = await ctx.client
        .embedding({ model: M30_SYNC, ...request, ...ctx.params } as never)
        .catch((e: unknown) => e)
      assert.instanceOf(error, InvalidRequestError, message)
      assert.include((error as Error).message, message)
    }
    assert.strictEqual(ctx.emulator.invocations.length, 0)
  })

  it("accepts input_type and LiteLLM's inputType for every sync kind; lists input_type as supported", async () => {
    for (const [inputType, input] of [
      ["text", "hello"],
      ["image", tinyPngUrl()]
    ] as const) {
      const r = await ctx.client.embedding({ model: M30_SYNC, input, input_type: inputType, ...ctx.params })
      assert.strictEqual(vec(r.data[0]!).length, 512)
      await ctx.client.embedding({ model: M30_SYNC, input, inputType, ...ctx.params })
    }
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => (i.body as { inputType: string }).inputType),
      ["text", "text", "image", "image"]
    )
    const error = await ctx.client
      .embedding({ model: M30_SYNC, input: "x", nonsense: 1, ...ctx.params } as never)
      .catch((e: unknown) => e)
    assert.include((error as Error).message, "Supported parameters: encoding_format, input_type, bucketOwner")
  })

  it("refuses async-only parameters on text and image inputs naming them, or drops them with drop_params", async () => {
    const error = await ctx.client
      .embedding({ model: M30_SYNC, input: "hello", startSec: 0, embeddingOption: ["visual"], ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include(
      (error as Error).message,
      "Input type 'text' does not accept startSec, embeddingOption; set drop_params to drop them"
    )
    assert.strictEqual((error as InvalidRequestError).param, "startSec")
    const r27 = await ctx.client
      .embedding({ model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0", input: "hello", lengthSec: 5, ...ctx.params })
      .catch((e: unknown) => e)
    assert.include((r27 as Error).message, "Input type 'text' does not accept lengthSec")
    assert.strictEqual(ctx.emulator.invocations.length, 0)
    await ctx.client.embedding({
      model: M30_SYNC,
      input: "hello",
      startSec: 0,
      embeddingOption: ["visual"],
      textTruncate: "end",
      drop_params: true,
      ...ctx.params
    })
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, { inputType: "text", text: { inputText: "hello" } })
  })

  it("bills a text query and an image: query_count and image_count, priced", async () => {
    const text = await ctx.client.embedding({ model: M30_SYNC, input: "a query", ...ctx.params })
    assert.strictEqual(text.usage.prompt_tokens_details?.query_count, 1)
    assert.closeTo(text._hidden_params.response_cost, 0.00007, 1e-12)
    const image = await ctx.client.embedding({ model: M30_SYNC, input: tinyPngUrl(), ...ctx.params })
    assert.deepStrictEqual(image.usage.prompt_tokens_details, { image_count: 1 })
    assert.closeTo(image._hidden_params.response_cost, 0.0001, 1e-12)
  })
})

describe("Marengo model ids as Bedrock has them", () => {
  it("refuses 2.7 by its base id on the sync route and a profile on the async route, before any call", async () => {
    const sync = await ctx.client
      .embedding({ model: "bedrock/twelvelabs.marengo-embed-2-7-v1:0", input: "x", ...ctx.params })
      .catch((e: unknown) => e)
    assert.instanceOf(sync, InvalidRequestError)
    assert.include((sync as Error).message, 'use "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0"')
    const async = await ctx.client
      .embedding({
        model: "bedrock/async_invoke/us.twelvelabs.marengo-embed-3-0-v1:0",
        input: "s3://media/clip.mp4",
        input_type: "video",
        output_s3_uri: "s3://results/m/",
        bucketOwner: OWNER,
        ...ctx.params
      })
      .catch((e: unknown) => e)
    assert.instanceOf(async, InvalidRequestError)
    assert.include((async as Error).message, '"bedrock/async_invoke/twelvelabs.marengo-embed-3-0-v1:0"')
    assert.strictEqual(ctx.emulator.invocations.length, 0)
    assert.strictEqual(ctx.emulator.jobs().length, 0)
  })
})

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
