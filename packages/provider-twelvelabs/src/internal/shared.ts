/**
 * What Marengo 2.7 and 3.0 share: media sources, the response envelopes, limits, prices.
 *
 * @internal
 */
import { type Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

/** A media source: inline base64 or an S3 object (with the owning account for cross-account reads). */
export const MediaSource = Schema.Union([
  Schema.Struct({ base64String: Schema.String }),
  Schema.Struct({
    s3Location: Schema.Struct({ uri: Schema.String, bucketOwner: Schema.optionalKey(Schema.String) })
  })
])

/** A 12-digit AWS account id. */
export const AccountId = Schema.String.check(
  Schema.isPattern(/^\d{12}$/, { message: "expected a 12-digit AWS account id" })
)

/** The media source of an input's media. */
export const mediaSourceOf = (
  input: Media.EmbeddingInput,
  bucketOwner: string | undefined
): typeof MediaSource.Type => {
  const media = input.kind === "text_image" ? input.image : input
  if (media.kind === "text") return { base64String: "" }
  return media.source._tag === "S3"
    ? { s3Location: { uri: media.source.uri, ...(bucketOwner === undefined ? {} : { bucketOwner }) } }
    : { base64String: media.source.data }
}

const Element = Schema.Struct({
  embedding: ModelSpec.Vector,
  embeddingOption: Schema.optional(Schema.String),
  embeddingScope: Schema.optional(Schema.String),
  startSec: Schema.optional(Schema.Number),
  endSec: Schema.optional(Schema.Number)
})

/**
 * The InvokeModel response. Which envelope Bedrock uses is UNCONFIRMED, so all three decode:
 * `{ data: [element] }`, `{ data: element }` and a bare element.
 */
export const Response = Schema.Union([
  Schema.Struct({ data: Schema.NonEmptyArray(Element) }),
  Schema.Struct({ data: Element }),
  Element
])

/** The elements of a response, whatever its envelope. */
export const elementsOf = (body: typeof Response.Type): ReadonlyArray<typeof Element.Type> =>
  "data" in body ? (Array.isArray(body.data) ? body.data : [body.data as typeof Element.Type]) : [body]

/** Decodes a synchronous response: one vector per call. */
export const decodeSync = (
  body: typeof Response.Type,
  batch: ReadonlyArray<Media.EmbeddingInput>
): ModelSpec.DecodedBatch => ({
  vectors: [elementsOf(body)[0]!.embedding],
  media: { images: batch.filter((input) => input.kind === "image" || input.kind === "text_image").length }
})

/** Reads an async job's `output.json` (`{ "data": [...] }`). */
export const decodeOutput = (
  files: ReadonlyArray<ModelSpec.AsyncOutputFile>
): { readonly segments: ReadonlyArray<ModelSpec.AsyncSegment> } | { readonly failure: string } => {
  const output = files.find((file) => file.name === "output.json" || file.name.endsWith("/output.json"))
  if (output === undefined) return { failure: "output.json is missing" }
  let parsed: unknown
  try {
    parsed = JSON.parse(output.text)
  } catch {
    return { failure: "output.json is not JSON" }
  }
  const decoded = Schema.decodeUnknownExit(Response)(parsed)
  if (decoded._tag === "Failure") return { failure: "output.json does not hold embeddings" }
  return {
    segments: elementsOf(decoded.value).map((element, index) => ({
      embedding: element.embedding,
      modality: element.embeddingOption ?? "embedding",
      segmentIndex: index,
      startSec: element.startSec,
      endSec: element.endSec,
      ...(element.embeddingScope === undefined ? {} : { details: { embeddingScope: element.embeddingScope } })
    }))
  }
}

/** Media limits: 5 MB images; inline video/audio bounded by the 25 MB request body; S3 up to 2 GB. */
export const media = {
  image: { formats: ["png", "jpeg"], maxBytes: 5 * 1024 * 1024, sources: ["Base64", "S3"] },
  video: {
    formats: ["mp4", "mov", "mkv", "webm", "flv", "mpeg", "wmv", "3gp"],
    maxBytes: 18_750_000,
    sources: ["Base64", "S3"]
  },
  audio: { formats: ["mp3", "wav", "ogg"], maxBytes: 18_750_000, sources: ["Base64", "S3"] }
} satisfies ModelSpec.Capabilities["media"]

/**
 * Prices: no trustworthy public figure exists (UNCONFIRMED); these are LiteLLM's for Marengo 2.7:
 * $0.00007 per input token, $0.0001 per image, video $0.0007 / s, audio $0.00014 / s.
 */
export const price: ModelSpec.Price = {
  perInputToken: 0.00007,
  perImage: 0.0001,
  perVideoSecond: 0.0007,
  perAudioSecond: 0.00014
}
