import type { Media, ModelSpec } from "@bedrock-embed/core"
import { TitanImageV1, TitanTextV1, TitanTextV2 } from "@bedrock-embed/provider-titan"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"

const text = (value: string): Media.EmbeddingInput => ({ kind: "text", text: value })
const png: Media.MediaInput = {
  kind: "image",
  mimeType: "image/png",
  format: "png",
  source: { _tag: "Base64", data: "iVBORw0KGgo=", byteLength: 8 }
}
const options = <P>(params: P, dimensions?: number): ModelSpec.CallOptions<P> => ({
  dimensions,
  inputType: undefined,
  params,
  mode: "sync"
})

/** The wire body a spec sends for a batch: encode, then the request schema's encoding. */
const wire = <Req, Res, P>(
  spec: ModelSpec.ModelSpec<Req, Res, P>,
  batch: Array<Media.EmbeddingInput>,
  o: ModelSpec.CallOptions<P>
) => Schema.encodeUnknownSync(spec.request)(spec.encode(batch, o))

describe("Titan Text G1 (amazon.titan-embed-text-v1)", () => {
  it("sends the documented body: inputText only", () => {
    assert.deepStrictEqual(wire(TitanTextV1.spec, [text("Hello world")], options({})), { inputText: "Hello world" })
  })
  it("decodes the documented response", () => {
    const body = Schema.decodeUnknownSync(TitanTextV1.Response)({ embedding: [0.1, -0.2, 0.3], inputTextTokenCount: 3 })
    assert.deepStrictEqual(TitanTextV1.spec.decode(body, [text("x")], options({})), {
      vectors: [[0.1, -0.2, 0.3]],
      inputTokens: 3
    })
  })
  it("matches its ids", () => {
    assert.isTrue(TitanTextV1.spec.matches("amazon.titan-embed-text-v1"))
    assert.isTrue(TitanTextV1.spec.matches("amazon.titan-embed-g1-text-02"))
    assert.isFalse(TitanTextV1.spec.matches("amazon.titan-embed-text-v2:0"))
  })
})

describe("Titan Text V2 (amazon.titan-embed-text-v2:0)", () => {
  it("sends the documented body field for field", () => {
    assert.deepStrictEqual(wire(TitanTextV2.spec, [text("Hello")], options({}, 256)), {
      inputText: "Hello",
      dimensions: 256
    })
    assert.deepStrictEqual(
      wire(
        TitanTextV2.spec,
        [text("Hello")],
        options({ normalize: false, embeddingTypes: ["float", "binary"] as const }, 512)
      ),
      { inputText: "Hello", dimensions: 512, normalize: false, embeddingTypes: ["float", "binary"] }
    )
    assert.deepStrictEqual(wire(TitanTextV2.spec, [text("Hello")], options({})), { inputText: "Hello" })
  })
  it("rejects bodies outside the documented schema", () => {
    assert.throws(() => Schema.encodeUnknownSync(TitanTextV2.Request)({ inputText: "x", dimensions: 300 }))
    assert.throws(() => Schema.encodeUnknownSync(TitanTextV2.Request)({ inputText: "x", embeddingTypes: [] }))
  })
  it("decodes the documented responses: float, binary only, both", () => {
    const floatOnly = Schema.decodeUnknownSync(TitanTextV2.Response)({
      embedding: [0.5, -0.5],
      inputTextTokenCount: 2,
      embeddingsByType: { float: [0.5, -0.5] }
    })
    assert.deepStrictEqual(TitanTextV2.spec.decode(floatOnly, [text("x")], options({})).vectors, [[0.5, -0.5]])
    const binaryOnly = Schema.decodeUnknownSync(TitanTextV2.Response)({
      inputTextTokenCount: 2,
      embeddingsByType: { binary: [1, 0] }
    })
    assert.deepStrictEqual(
      TitanTextV2.spec.decode(binaryOnly, [text("x")], options({ embeddingTypes: ["binary"] as const })).vectors,
      [[1, 0]]
    )
    const both = Schema.decodeUnknownSync(TitanTextV2.Response)({
      embedding: [0.5, -0.5],
      inputTextTokenCount: 2,
      embeddingsByType: { float: [0.5, -0.5], binary: [1, 0] }
    })
    assert.deepStrictEqual(
      TitanTextV2.spec.decode(both, [text("x")], options({ embeddingTypes: ["binary", "float"] as const })).vectors,
      [[1, 0]]
    )
    assert.strictEqual(TitanTextV2.spec.decode(both, [text("x")], options({})).inputTokens, 2)
  })
  it("rejects a response without a vector", () => {
    assert.throws(() => Schema.decodeUnknownSync(TitanTextV2.Response)({ embedding: "nope", inputTextTokenCount: 1 }))
  })
})

describe("Titan Multimodal G1 (amazon.titan-embed-image-v1)", () => {
  it("sends the documented bodies for text, image and both", () => {
    assert.deepStrictEqual(wire(TitanImageV1.spec, [text("a cat")], options({})), { inputText: "a cat" })
    assert.deepStrictEqual(wire(TitanImageV1.spec, [png], options({}, 384)), {
      inputImage: "iVBORw0KGgo=",
      embeddingConfig: { outputEmbeddingLength: 384 }
    })
    assert.deepStrictEqual(wire(TitanImageV1.spec, [{ kind: "text_image", text: "a cat", image: png }], options({})), {
      inputText: "a cat",
      inputImage: "iVBORw0KGgo="
    })
  })
  it("decodes the documented response and counts images", () => {
    const body = Schema.decodeUnknownSync(TitanImageV1.Response)({
      embedding: [0.1],
      inputTextTokenCount: 0,
      message: null
    })
    assert.deepStrictEqual(TitanImageV1.spec.decode(body, [png], options({})), {
      vectors: [[0.1]],
      inputTokens: 0,
      media: { images: 1 }
    })
  })
  it("reports a model failure carried in `message`", () => {
    const body = Schema.decodeUnknownSync(TitanImageV1.Response)({ embedding: [], message: "Unable to process image" })
    assert.strictEqual(TitanImageV1.spec.decode(body, [png], options({})).failure, "Unable to process image")
  })
})
