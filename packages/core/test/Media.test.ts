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
