/**
 * Amazon Titan Multimodal Embeddings G1 (`amazon.titan-embed-image-v1`): a text, an image, or
 * both (one vector for the pair) per call; 256, 384 or 1024 dimensions.
 *
 * @since 0.1.0
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

/**
 * The InvokeModel body: at least one of `inputText` and `inputImage` (bare base64).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  inputText: Schema.optionalKey(Schema.String),
  inputImage: Schema.optionalKey(Schema.String),
  embeddingConfig: Schema.optionalKey(Schema.Struct({ outputEmbeddingLength: Schema.Literals([256, 384, 1024]) }))
})

/**
 * The InvokeModel response; a non-empty `message` means the model failed on the input.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Response = Schema.Struct({
  embedding: ModelSpec.Vector,
  inputTextTokenCount: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.NullOr(Schema.String))
})

const imageData = (input: Media.EmbeddingInput): string | undefined => {
  const media = Media.mediaOf(input)
  return media?.source._tag === "Base64" ? media.source.data : undefined
}

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "amazon.titan-embed-image-v1",
  family: "titan",
  matches: (id) => id === "amazon.titan-embed-image-v1",
  ids: ["amazon.titan-embed-image-v1"],
  capabilities: {
    sync: ["text", "image", "text_image"],
    async: [],
    maxInputsPerCall: 1,
    // Listed among the models that run Bedrock batch inference (CreateModelInvocationJob).
    batchInference: true,
    dimensions: [256, 384, 1024],
    defaultDimension: 1024,
    media: { image: { formats: ["png", "jpeg"], maxBytes: 25_000_000, sources: ["Base64"] } }
  },
  supportedParams: ["dimensions"],
  params: Schema.Struct({}),
  request: Request,
  response: Response,
  encode: ([input], { dimensions }) => {
    const text = input === undefined ? undefined : Media.textOf(input)
    const image = input === undefined ? undefined : imageData(input)
    return {
      ...(text === undefined ? {} : { inputText: text }),
      ...(image === undefined ? {} : { inputImage: image }),
      ...(dimensions === undefined
        ? {}
        : { embeddingConfig: { outputEmbeddingLength: dimensions as 256 | 384 | 1024 } })
    }
  },
  decode: (body, batch) => ({
    vectors: [body.embedding],
    inputTokens: body.inputTextTokenCount ?? 0,
    media: { images: batch.filter((input) => Media.mediaOf(input) !== undefined).length },
    ...(body.message ? { failure: body.message } : {})
  }),
  // $0.0008 per 1,000 text tokens, $0.00006 per image.
  price: { perInputToken: 0.0000008, perImage: 0.00006 }
})
