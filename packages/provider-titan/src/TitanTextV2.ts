/**
 * Amazon Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`): one text per call, 256, 512 or
 * 1024 dimensions, optional normalisation and binary embeddings.
 *
 * Gotcha: OpenAI's `encoding_format: "base64"` is base64 of float32 values (handled by core for
 * every model), not Titan's 1-bit `binary` embedding; ask for that with `embeddingTypes`.
 *
 * @since 0.1.0
 */
import { ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

/**
 * Titan V2 output sizes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Dimension = Schema.Literals([256, 512, 1024])

/**
 * Titan V2 embedding types.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EmbeddingType = Schema.Literals(["float", "binary"])

/**
 * The InvokeModel body.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  inputText: Schema.String,
  dimensions: Schema.optionalKey(Dimension),
  normalize: Schema.optionalKey(Schema.Boolean),
  embeddingTypes: Schema.optionalKey(Schema.NonEmptyArray(EmbeddingType))
})

/**
 * The InvokeModel response. `embedding` is absent when only binary embeddings were requested.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Response = Schema.Struct({
  embedding: Schema.optional(ModelSpec.Vector),
  inputTextTokenCount: Schema.Number,
  embeddingsByType: Schema.optional(
    Schema.Struct({
      float: Schema.optional(ModelSpec.Vector),
      binary: Schema.optional(ModelSpec.Vector)
    })
  )
})

/**
 * Titan V2 parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** Normalise the vector to unit length (Bedrock's default: true). */
  normalize: Schema.optional(Schema.Boolean),
  /**
   * `["float"]` (default), `["binary"]` (one 0/1 value per dimension) or both; the response's
   * `embedding` holds the first type listed.
   */
  embeddingTypes: Schema.optional(Schema.NonEmptyArray(EmbeddingType))
})

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "amazon.titan-embed-text-v2:0",
  family: "titan",
  matches: (id) => id === "amazon.titan-embed-text-v2:0" || id === "amazon.titan-embed-text-v2",
  // Bedrock has no `amazon.titan-embed-text-v2` without the version: it answers "The provided model identifier is invalid."
  ids: ["amazon.titan-embed-text-v2:0"],
  capabilities: {
    sync: ["text"],
    async: [],
    maxInputsPerCall: 1,
    // Listed among the models that run Bedrock batch inference (CreateModelInvocationJob).
    batchInference: true,
    dimensions: [256, 512, 1024],
    defaultDimension: 1024,
    maxTextChars: 50_000
  },
  supportedParams: ["dimensions"],
  params: Params,
  request: Request,
  response: Response,
  encode: ([input], { dimensions, params }) => ({
    inputText: input?.kind === "text" ? input.text : "",
    ...(dimensions === undefined ? {} : { dimensions: dimensions as 256 | 512 | 1024 }),
    ...(params.normalize === undefined ? {} : { normalize: params.normalize }),
    ...(params.embeddingTypes === undefined ? {} : { embeddingTypes: params.embeddingTypes })
  }),
  decode: (body, _batch, { params }) => {
    const type = params.embeddingTypes?.[0] ?? "float"
    const float = body.embedding ?? body.embeddingsByType?.float
    const vector = type === "binary" ? body.embeddingsByType?.binary : float
    // Types asked for: every one of them, by type (`embedding` holds the first), as for Cohere.
    const types = params.embeddingTypes ?? []
    const byType: Record<string, ReadonlyArray<number>> = {}
    for (const t of types) {
      const v = t === "binary" ? body.embeddingsByType?.binary : float
      if (v !== undefined) byType[t] = v
    }
    return {
      vectors: vector === undefined ? [] : [vector],
      inputTokens: body.inputTextTokenCount,
      ...(type === "binary" ? { primaryType: "binary" } : {}),
      ...(types.length > 0 ? { byType: [byType] } : {})
    }
  },
  // $0.00002 per 1,000 input tokens.
  price: { perInputToken: 0.00000002 }
})
