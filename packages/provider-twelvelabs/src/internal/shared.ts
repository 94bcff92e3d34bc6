/**
 * What Marengo 2.7 and 3.0 share: media sources, the response envelopes, limits, prices.
 *
 * @internal
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
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

/** The media source of one media item; a source's own bucket owner wins over the request's. */
export const sourceOf = (media: Media.MediaInput, bucketOwner: string | undefined): typeof MediaSource.Type => {
  if (media.source._tag !== "S3") return { base64String: media.source.data }
  const owner = media.source.bucketOwner ?? bucketOwner
  return { s3Location: { uri: media.source.uri, ...(owner === undefined ? {} : { bucketOwner: owner }) } }
}

/** The media source of an input's (first) media. */
export const mediaSourceOf = (
  input: Media.EmbeddingInput,
  bucketOwner: string | undefined
): typeof MediaSource.Type => {
  const media = Media.mediaOf(input)
  return media === undefined ? { base64String: "" } : sourceOf(media, bucketOwner)
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

/**
 * Decodes a synchronous response: one vector per call. Marengo bills queries and images, not
 * tokens: a text, text+image or multi_input with text is a query; an image alone is an image.
 */
export const decodeSync = (
  body: typeof Response.Type,
  batch: ReadonlyArray<Media.EmbeddingInput>
): ModelSpec.DecodedBatch => ({
  vectors: [elementsOf(body)[0]!.embedding],
  media: {
    images: batch.filter((input) => input.kind === "image").length,
    queries: batch.filter((input) => (Media.textOf(input) ?? "").length > 0).length
  }
})

/**
 * What a job used, from its segments. Clips: the seconds they cover, once, though Marengo embeds
 * the same times per option (visual, audio, transcription) and scope (clip, asset) — video when an
 * option is visual; with none, audio, but the output does not name the input kind (a video
 * embedded for its sound alone looks the same), so that is a lower bound. Without times, one
 * still: a text (a query) and an image look alike too, so one query, the lower of the two prices.
 */
const usageOf = (segments: ReadonlyArray<ModelSpec.AsyncSegment>): ModelSpec.AsyncUsage => {
  const seconds = ModelSpec.coveredSeconds(segments)
  if (seconds === 0) return { queries: 1, known: false }
  return segments.some((segment) => segment.modality.startsWith("visual"))
    ? { videoSeconds: seconds }
    : { audioSeconds: seconds, known: false }
}

/** Reads an async job's `output.json` (`{ "data": [...] }`). */
export const decodeOutput = (
  files: ReadonlyArray<ModelSpec.AsyncOutputFile>
):
  | { readonly segments: ReadonlyArray<ModelSpec.AsyncSegment>; readonly usage: ModelSpec.AsyncUsage }
  | { readonly failure: string } => {
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
  const segments = elementsOf(decoded.value).map(
    (element, index): ModelSpec.AsyncSegment => ({
      embedding: element.embedding,
      status: "SUCCESS" as const,
      modality: element.embeddingOption ?? "embedding",
      segmentIndex: index,
      startSec: element.startSec,
      endSec: element.endSec,
      ...(element.embeddingScope === undefined ? {} : { details: { embeddingScope: element.embeddingScope } })
    })
  )
  return { segments, usage: usageOf(segments) }
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
 * Prices (UNCONFIRMED: no AWS figure could be read): Marengo bills per query and per image, not
 * per token. LiteLLM's table stores $0.00007 as Marengo 2.7's "input_cost_per_token" while its
 * Marengo transform reports queries, not tokens (so LiteLLM prices a text query at $0); as a
 * per-token price it would be $70 per million tokens, which no embedding model costs, so it is
 * read here as the price of one query. Images $0.0001, video $0.0007 / s, audio $0.00014 / s.
 */
export const price: ModelSpec.Price = {
  perQuery: 0.00007,
  perImage: 0.0001,
  perVideoSecond: 0.0007,
  perAudioSecond: 0.00014
}

/** The async-only timed parameters, and what they apply to. */
export const timed = { kinds: ["video", "audio"], modes: ["async"] } as const
