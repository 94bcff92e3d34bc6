/**
 * Cohere Embed v4 (`cohere.embed-v4:0`, usually called through the `us.` or `global.` inference
 * profile): texts, images and mixed text+image content, up to 96 per call; 256–1536 dimensions.
 *
 * Gotcha: v4's documented `truncate` values are `NONE`, `LEFT` and `RIGHT`; Bedrock also takes v3's `START` and `END`.
 *
 * @since 0.1.0
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"
import {
  dataUri,
  decodeEmbeddings,
  EmbeddingType,
  expectedLength,
  maxImageBytes,
  Response,
  textInputTypes
} from "./internal/shared.ts"

// AWS's page shows `image_url` both as `{ url }` and as the plain data URI string; both are
// accepted here, `{ url }` is sent.
const Content = Schema.Union([
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("image_url"),
    image_url: Schema.Union([Schema.String, Schema.Struct({ url: Schema.String })])
  })
])

// The docs list NONE, LEFT and RIGHT; live v4 calls also took v3's START and END (recorded responses).
const Truncate = Schema.Literals(["NONE", "LEFT", "RIGHT", "START", "END"])

/**
 * The InvokeModel body: `texts`, `images` or `inputs` (mixed content), one of them.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  input_type: Schema.Literals(textInputTypes),
  texts: Schema.optionalKey(Schema.Array(Schema.String)),
  images: Schema.optionalKey(Schema.Array(Schema.String)),
  inputs: Schema.optionalKey(Schema.Array(Schema.Struct({ content: Schema.Array(Content) }))),
  embedding_types: Schema.optionalKey(Schema.NonEmptyArray(EmbeddingType)),
  output_dimension: Schema.optionalKey(Schema.Literals([256, 512, 1024, 1536])),
  max_tokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  truncate: Schema.optionalKey(Truncate)
})

/**
 * The response, in either of its two shapes.
 *
 * @category schemas
 * @since 0.1.0
 */
export { Response }

/**
 * Cohere v4 parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** How over-long inputs are cut: `NONE` (fail), `LEFT` or `RIGHT` (also v3's `START` and `END`). */
  truncate: Schema.optional(Truncate),
  /** Embedding types to return (`float`, `int8`, `uint8`, `binary`, `ubinary`); `embedding` holds the first. */
  embedding_types: Schema.optional(Schema.NonEmptyArray(EmbeddingType)),
  /** Most tokens per input before truncation (up to 128 000). */
  max_tokens: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * Cohere Embed v4.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "cohere.embed-v4:0",
  family: "cohere",
  matches: (base) => base === "cohere.embed-v4:0" || base === "cohere.embed-v4",
  // AWS's model page names it `cohere.embed-v4`, its profiles `…cohere.embed-v4:0`; both are kept.
  ids: ["cohere.embed-v4:0", "cohere.embed-v4"],
  expectedLength,
  paramAliases: { output_dimension: "dimensions" },
  capabilities: {
    sync: ["text", "image", "text_image"],
    async: [],
    maxInputsPerCall: 96,
    dimensions: [256, 512, 1024, 1536],
    defaultDimension: 1536,
    inputTypes: textInputTypes,
    media: { image: { formats: ["png", "jpeg", "webp", "gif"], maxBytes: maxImageBytes, sources: ["Base64"] } }
  },
  supportedParams: ["input_type", "dimensions"],
  params: Params,
  request: Request,
  response: Response,
  encode: (batch, { dimensions, inputType, params }) => {
    const input_type = (inputType ?? "search_document") as (typeof textInputTypes)[number]
    const options = {
      ...(params.embedding_types === undefined ? {} : { embedding_types: params.embedding_types }),
      ...(dimensions === undefined ? {} : { output_dimension: dimensions as 256 | 512 | 1024 | 1536 }),
      ...(params.max_tokens === undefined ? {} : { max_tokens: params.max_tokens }),
      ...(params.truncate === undefined ? {} : { truncate: params.truncate })
    }
    const kind = batch[0]?.kind
    if (kind === "image") return { input_type, images: batch.map(dataUri), ...options }
    if (kind === "text_image") {
      return {
        input_type,
        inputs: batch.map((input) => ({
          content: [
            { type: "text" as const, text: Media.textOf(input) ?? "" },
            { type: "image_url" as const, image_url: { url: dataUri(input) } }
          ]
        })),
        ...options
      }
    }
    return { input_type, texts: batch.map((input) => Media.textOf(input) ?? ""), ...options }
  },
  decode: (body, batch, { params }) => decodeEmbeddings(body, batch, params),
  // $0.00012 per 1,000 text tokens. Image tokens are priced higher on AWS (UNCONFIRMED figure), but
  // Bedrock reports one token count per call, so image calls are priced at the text rate.
  roles: { document: { input_type: "search_document" }, query: { input_type: "search_query" } },
  price: { perInputToken: 0.00000012 }
})
