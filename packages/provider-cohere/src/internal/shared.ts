/**
 * What Cohere v3 and v4 share on Bedrock: embedding types, the two response shapes, data URIs.
 *
 * @internal
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

/** Cohere's embedding types. */
export const EmbeddingType = Schema.Literals(["float", "int8", "uint8", "binary", "ubinary"])

/** Text input types (images use `image` on v3). */
export const textInputTypes = ["search_document", "search_query", "classification", "clustering"] as const

const Vectors = ModelSpec.Vectors

/**
 * The response: `embeddings` is a list of float vectors (`embeddings_floats`) or an object keyed
 * by type (`embeddings_by_type`, what v4 sends even when no type was asked for).
 */
export const Response = Schema.Struct({
  id: Schema.optional(Schema.String),
  response_type: Schema.optional(Schema.String),
  embeddings: Schema.Union([Vectors, Schema.Record(Schema.String, Vectors)])
})

/** The parameters both versions take that core reads as `params`. */
export interface TypeParams {
  readonly embedding_types?: ReadonlyArray<"float" | "int8" | "uint8" | "binary" | "ubinary"> | undefined
}

/** Vectors in input order: the first requested type, and every requested type when types were asked for. */
export const decodeEmbeddings = (
  body: typeof Response.Type,
  batch: ReadonlyArray<Media.EmbeddingInput>,
  params: TypeParams
): ModelSpec.DecodedBatch => {
  const types = params.embedding_types ?? ["float"]
  const images = batch.filter((input) => input.kind !== "text").length
  const media = images > 0 ? { images } : undefined
  if (Array.isArray(body.embeddings)) {
    // The list shape only ever holds floats.
    const vectors = body.embeddings as ReadonlyArray<ReadonlyArray<number>>
    return {
      vectors,
      ...(params.embedding_types === undefined ? {} : { byType: vectors.map((float) => ({ float })) }),
      ...(media === undefined ? {} : { media })
    }
  }
  const byKey = body.embeddings as Readonly<Record<string, ReadonlyArray<ReadonlyArray<number>>>>
  const first = byKey[types[0]!] ?? []
  return {
    vectors: first,
    ...(types[0] === "float" ? {} : { primaryType: types[0] }),
    ...(params.embedding_types === undefined
      ? {}
      : {
          byType: first.map((_, i) => {
            const entry: Record<string, ReadonlyArray<number>> = {}
            for (const type of types) {
              const vector = byKey[type]?.[i]
              if (vector !== undefined) entry[type] = vector
            }
            return entry
          })
        }),
    ...(media === undefined ? {} : { media })
  }
}

/** Packed-bit types hold one value per eight dimensions. */
export const expectedLength = (type: string | undefined, dimension: number): number =>
  type === "binary" || type === "ubinary" ? dimension / 8 : dimension

/** An image input as the data URI Cohere takes. */
export const dataUri = (input: Media.EmbeddingInput): string => {
  const media = Media.mediaOf(input)
  return media?.source._tag === "Base64" ? `data:${media.mimeType};base64,${media.source.data}` : ""
}

/** Cohere's image limit: 5 MB per image. */
export const maxImageBytes = 5 * 1024 * 1024
