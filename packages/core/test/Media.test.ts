import { Media } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

const png1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

const parse = (item: Media.InputItem, inputType?: string) => Media.parseInput(item, 0, inputType)

describe("Media.parseInput", () => {
  it("reads text", () => {
    assert.deepStrictEqual(parse("hello"), Result.succeed({ kind: "text", text: "hello" } as const))
  })

  it("reads a PNG data URL", () => {
    const parsed = parse(`data:image/png;base64,${png1x1}`)
    assert.isTrue(Result.isSuccess(parsed))
    if (Result.isSuccess(parsed) && parsed.success.kind === "image") {
      assert.strictEqual(parsed.success.format, "png")
      assert.deepStrictEqual(parsed.success.source, { _tag: "Base64", data: png1x1, byteLength: 70 })
    } else assert.fail("expected an image")
  })

  it("reads bare base64 when input_type names a modality, sniffing the format", () => {
    const parsed = parse(png1x1, "image")
    assert.isTrue(
      Result.isSuccess(parsed) && parsed.success.kind === "image" && parsed.success.mimeType === "image/png"
    )
  })

  it("reads text+image pairs and s3 URIs", () => {
    const pair = parse({ text: "a cat", image: `data:image/png;base64,${png1x1}` })
    assert.isTrue(Result.isSuccess(pair) && pair.success.kind === "text_image")
    const s3 = parse("s3://my-bucket/videos/clip.mp4")
    assert.isTrue(Result.isSuccess(s3) && s3.success.kind === "video")
    const s3Text = parse("s3://my-bucket/docs/readme")
    assert.isTrue(Result.isSuccess(s3Text) && s3Text.success.kind === "text")
  })

  const failsWith = (item: Media.InputItem, fragment: string, inputType?: string) => {
    const parsed = parse(item, inputType)
    assert.isTrue(Result.isFailure(parsed), `expected a failure for ${String(item).slice(0, 40)}`)
    if (Result.isFailure(parsed)) {
      assert.strictEqual(parsed.failure._tag, "InvalidRequestError")
      assert.strictEqual(parsed.failure.param, "input[0]")
      assert.include(parsed.failure.message, fragment)
    }
  }

  it("rejects bad input with a message naming the fix", () => {
    failsWith("", "empty string")
    failsWith("data:image/png,notbase64", "not base64-encoded")
    failsWith("data:image/png;base64,***", "not valid base64")
    failsWith("data:application/pdf;base64,AAAA", "unsupported media type")
    failsWith("not base64 at all!", "neither valid base64 nor a data URL", "image")
    failsWith("AAAAAAAA", "could not tell the image format", "image")
    failsWith("s3://x/y", "not an S3 object URI")
    failsWith({}, "needs `text`, `image` or both")
  })

  it("lists supported types when rejecting an unknown one", () => {
    failsWith("data:image/x-icon;base64,AAAA", "image/png, image/jpeg")
  })
})

describe("Media.base64ByteLength", () => {
  it("computes decoded sizes and rejects bad base64", () => {
    assert.strictEqual(Media.base64ByteLength("AAAA"), 3)
    assert.strictEqual(Media.base64ByteLength("AA=="), 1)
    assert.strictEqual(Media.base64ByteLength("AAA"), undefined)
    assert.strictEqual(Media.base64ByteLength("A!AA"), undefined)
  })
})

const ok = <A>(result: Result.Result<A, unknown>): A => {
  assert.isTrue(Result.isSuccess(result), JSON.stringify(result))
  return (result as Result.Success<A, never>).success
}

const failureOf = (result: unknown) => (result as { failure: { param?: string; message: string } }).failure

const refuses = (item: unknown, fragment: string) => {
  const parsed = Media.parseInput(item as Media.InputItem, 0)
  assert.isTrue(Result.isFailure(parsed), fragment)
  const failure = failureOf(parsed)
  assert.strictEqual(failure.param, "input[0]")
  assert.include(failure.message, fragment)
}

describe("Media: content blocks and mixed content (LiteLLM's and Bedrock's shapes)", () => {
  const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

  it("reads { image | video | audio: { format, source } } and keeps the block's other fields", () => {
    assert.deepStrictEqual(ok(Media.parseInput({ image: { format: "jpg", source: { bytes: png } } }, 0)), {
      mimeType: "image/jpeg",
      kind: "image",
      format: "jpeg",
      source: { _tag: "Base64", data: png, byteLength: 70 }
    })
    const video = ok(
      Media.parseInput(
        {
          video: {
            format: "mp4",
            source: { s3Location: { uri: "s3://media/clip.mp4", bucketOwner: "123456789012" } },
            embeddingMode: "AUDIO_VIDEO_SEPARATE"
          }
        },
        0
      )
    )
    assert.deepStrictEqual(video, {
      mimeType: "video/mp4",
      kind: "video",
      format: "mp4",
      source: { _tag: "S3", uri: "s3://media/clip.mp4", bucketOwner: "123456789012" },
      options: { embeddingMode: "AUDIO_VIDEO_SEPARATE" }
    })
    assert.deepStrictEqual(ok(Media.parseInput({ text: { value: "hi", truncationMode: "END" } }, 0)), {
      kind: "text",
      text: "hi",
      options: { truncationMode: "END" }
    })
  })

  it("reads mixed content parts, with image_url as a string or { url }", () => {
    for (const image_url of [`data:image/png;base64,${png}`, { url: `data:image/png;base64,${png}` }]) {
      const input = ok(
        Media.parseInput(
          {
            content: [
              { type: "text", text: "a chart" },
              { type: "image_url", image_url }
            ]
          },
          0
        )
      )
      assert.strictEqual(input.kind, "text_image")
      assert.strictEqual(Media.textOf(input), "a chart")
    }
  })

  it("refuses malformed blocks and parts naming what is wrong", () => {
    refuses({ image: { format: "heic", source: { bytes: png } } }, 'unsupported image format "heic"')
    refuses({ image: { format: "png" } }, "image.source must be { bytes")
    refuses(
      { image: { format: "png", source: { bytes: png } }, audio: {} },
      "exactly one of text, image, video or audio"
    )
    refuses({ video: { format: "mp4", source: { s3Location: { uri: "http://x" } } } }, "is not s3://<bucket>/<key>")
    refuses(
      {
        content: [
          { type: "text", text: "a" },
          { type: "text", text: "b" }
        ]
      },
      "more than one text part"
    )
    refuses({ content: [{ type: "audio" }] }, 'each content part is { type: "text", text }')
    refuses({ foo: "bar" }, "is not an input")
  })
})

describe("Media: request-level media_source and media_sources", () => {
  const image = "s3://media/a.png"
  it("pairs every text with media_source (text_image) and names media for multi_input", () => {
    const pairs = ok(Media.parseInputs(["one", "two"], "text_image", { mediaSource: image }))
    assert.deepStrictEqual(
      pairs.map((p) => [p.kind, Media.textOf(p), Media.mediaOf(p)?.source]),
      [
        ["text_image", "one", { _tag: "S3", uri: image }],
        ["text_image", "two", { _tag: "S3", uri: image }]
      ]
    )
    const multi = ok(Media.parseInputs(["<@a> and <@b>"], "multi_input", { mediaSources: { a: image, b: image } }))
    assert.deepStrictEqual(
      (multi[0] as Media.MultiInput).media.map((m) => m.name),
      ["a", "b"]
    )
    // media_sources alone implies multi_input; a media-only multi_input has empty text.
    assert.strictEqual(
      ok(Media.parseInputs([""], "multi_input", { mediaSources: { a: image } }))[0]!.kind,
      "multi_input"
    )
  })

  it("refuses unknown references and media that is not an image, naming the parameter", () => {
    const missing = Media.parseInputs(["<@a> and <@c>"], "multi_input", { mediaSources: { a: image } })
    assert.isTrue(Result.isFailure(missing))
    assert.include(failureOf(missing).message, "references <@c>, which media_sources does not name")
    const video = Media.parseInputs(["x"], "text_image", { mediaSource: "s3://media/a.mp4" })
    assert.deepStrictEqual(
      [failureOf(video).param, failureOf(video).message],
      ["media_source", "media_source: must be an image: a data URL, base64 or an s3:// URI"]
    )
  })
})
