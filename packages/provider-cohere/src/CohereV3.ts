/**
 * Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`): up to 96 texts per
 * call, or one image per call; 1024 dimensions.
 *
 * Gotcha: v3 needs an `input_type`; bedrock-embed sends `search_document` unless told otherwise —
 * pass `input_type: "search_query"` for queries.
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

/**
 * The InvokeModel body: `texts` or `images`, never both.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  input_type: Schema.Literals([...textInputTypes, "image"]),
  texts: Schema.optionalKey(Schema.Array(Schema.String)),
  images: Schema.optionalKey(Schema.Array(Schema.String)),
  truncate: Schema.optionalKey(Schema.Literals(["NONE", "START", "END"])),
  embedding_types: Schema.optionalKey(Schema.NonEmptyArray(EmbeddingType))
})

/**
 * The response, in either of its two shapes.
 *
 * @category schemas
 * @since 0.1.0
 */
export { Response }

/**
 * Cohere v3 parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** How over-long texts are cut: `NONE` (fail), `START` or `END` (Bedrock's default). */
  truncate: Schema.optional(Schema.Literals(["NONE", "START", "END"])),
  /** Embedding types to return (`float`, `int8`, `uint8`, `binary`, `ubinary`); `embedding` holds the first. */
  embedding_types: Schema.optional(Schema.NonEmptyArray(EmbeddingType))
})

const make = (id: string) =>
  ModelSpec.make({
    id,
    family: "cohere",
    matches: (base) => base === id || base === `${id}:0`,
    // Bedrock's id has no version; `:0` appears only in provisioned-throughput ids (`…-v3:0:512`).
    ids: [id],
    expectedLength,
    capabilities: {
      sync: ["text", "image"],
      async: [],
      maxInputsPerCall: 96,
      defaultDimension: 1024,
      inputTypes: textInputTypes,
      // Texts go 96 at a time, images one per call.
      media: { image: { formats: ["png", "jpeg"], maxBytes: maxImageBytes, sources: ["Base64"], maxPerCall: 1 } }
    },
    supportedParams: ["input_type"],
    params: Params,
    request: Request,
    response: Response,
    encode: (batch, { inputType, params }) => {
      const options = {
        ...(params.truncate === undefined ? {} : { truncate: params.truncate }),
        ...(params.embedding_types === undefined ? {} : { embedding_types: params.embedding_types })
      }
      return batch[0]?.kind === "image"
        ? { input_type: "image" as const, images: batch.map(dataUri), ...options }
        : {
            input_type: (inputType ?? "search_document") as (typeof textInputTypes)[number],
            texts: batch.map((input) => Media.textOf(input) ?? ""),
            ...options
          }
    },
    decode: (body, batch, { params }) => decodeEmbeddings(body, batch, params),
    // $0.0001 per 1,000 input tokens.
    roles: { document: { input_type: "search_document" }, query: { input_type: "search_query" } },
    price: { perInputToken: 0.0000001 }
  })

/**
 * Cohere Embed English v3.
 *
 * @category models
 * @since 0.1.0
 */
export const english = make("cohere.embed-english-v3")

/**
 * Cohere Embed Multilingual v3.
 *
 * @category models
 * @since 0.1.0
 */
export const multilingual = make("cohere.embed-multilingual-v3")
