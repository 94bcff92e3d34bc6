/**
 * Amazon Nova 2 multimodal embeddings (`amazon.nova-2-multimodal-embeddings-v1:0`): text and
 * images synchronously (`SINGLE_EMBEDDING`), and text, image, video and audio through async
 * invoke (`SEGMENTED_EMBEDDING`), where long inputs are split into segments with their own vectors.
 *
 * @since 0.1.0
 */
import { type Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

const schemaVersion = "nova-multimodal-embed-v1" as const

/**
 * Embedding purposes: what the vectors will be used for.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EmbeddingPurpose = Schema.Literals([
  "GENERIC_INDEX",
  "GENERIC_RETRIEVAL",
  "TEXT_RETRIEVAL",
  "IMAGE_RETRIEVAL",
  "VIDEO_RETRIEVAL",
  "DOCUMENT_RETRIEVAL",
  "AUDIO_RETRIEVAL",
  "CLASSIFICATION",
  "CLUSTERING"
])

const Dimension = Schema.Literals([256, 384, 1024, 3072])
const TruncationMode = Schema.Literals(["START", "END", "NONE"])
const S3Location = Schema.Struct({ s3Location: Schema.Struct({ uri: Schema.String }) })
const Source = Schema.Union([Schema.Struct({ bytes: Schema.String }), S3Location])
const ImageFormat = Schema.Literals(["png", "jpeg", "gif", "webp"])
const VideoFormat = Schema.Literals(["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"])
const AudioFormat = Schema.Literals(["mp3", "wav", "ogg"])
const EmbeddingMode = Schema.Literals(["AUDIO_VIDEO_COMBINED", "AUDIO_VIDEO_SEPARATE"])
const DetailLevel = Schema.Literals(["STANDARD_IMAGE", "DOCUMENT_IMAGE"])

const Text = Schema.Struct({
  truncationMode: TruncationMode,
  value: Schema.optionalKey(Schema.String),
  source: Schema.optionalKey(S3Location),
  segmentationConfig: Schema.optionalKey(Schema.Struct({ maxLengthChars: Schema.Int }))
})
const Image = Schema.Struct({ format: ImageFormat, source: Source, detailLevel: Schema.optionalKey(DetailLevel) })
const Duration = Schema.optionalKey(Schema.Struct({ durationSeconds: Schema.Int }))
const Video = Schema.Struct({
  format: VideoFormat,
  source: Source,
  embeddingMode: EmbeddingMode,
  segmentationConfig: Duration
})
const Audio = Schema.Struct({ format: AudioFormat, source: Source, segmentationConfig: Duration })

/**
 * The InvokeModel body (`SINGLE_EMBEDDING`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  schemaVersion: Schema.Literal(schemaVersion),
  taskType: Schema.Literal("SINGLE_EMBEDDING"),
  singleEmbeddingParams: Schema.Struct({
    embeddingPurpose: EmbeddingPurpose,
    embeddingDimension: Dimension,
    text: Schema.optionalKey(Text),
    image: Schema.optionalKey(Image)
  })
})

/**
 * The StartAsyncInvoke `modelInput` (`SEGMENTED_EMBEDDING`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const AsyncRequest = Schema.Struct({
  schemaVersion: Schema.Literal(schemaVersion),
  taskType: Schema.Literal("SEGMENTED_EMBEDDING"),
  segmentedEmbeddingParams: Schema.Struct({
    embeddingPurpose: EmbeddingPurpose,
    embeddingDimension: Dimension,
    text: Schema.optionalKey(Text),
    image: Schema.optionalKey(Image),
    video: Schema.optionalKey(Video),
    audio: Schema.optionalKey(Audio)
  })
})

/**
 * The InvokeModel response; some clients also see an `inputTokenCount`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Response = Schema.Struct({
  embeddings: Schema.NonEmptyArray(
    Schema.Struct({
      embeddingType: Schema.String,
      embedding: ModelSpec.Vector,
      truncatedCharLength: Schema.optional(Schema.Number)
    })
  ),
  inputTokenCount: Schema.optional(Schema.Number)
})

/**
 * Nova parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** What the vectors are for; default `GENERIC_INDEX` (documents to be searched). */
  embeddingPurpose: Schema.optional(EmbeddingPurpose),
  /** How text longer than the model takes is cut: `END` (default), `START`, or `NONE` (fail). */
  truncationMode: Schema.optional(TruncationMode),
  /** `STANDARD_IMAGE` (default) or `DOCUMENT_IMAGE` for scans and screenshots of text. */
  detailLevel: Schema.optional(DetailLevel),
  /** Video through async invoke: one vector for sound and picture (default), or one of each. */
  embeddingMode: Schema.optional(EmbeddingMode),
  /** Async text segments: characters per segment, 800–50 000 (Bedrock's default 32 000). */
  maxLengthChars: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 800, maximum: 50_000 }))),
  /** Async video/audio segments: seconds per segment, 1–30 (Bedrock's default 5). */
  durationSeconds: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 30 })))
})

type P = typeof Params.Type

const sourceOf = (media: Media.MediaInput) =>
  media.source._tag === "S3" ? { s3Location: { uri: media.source.uri } } : { bytes: media.source.data }

/** The modality block of one input: `text`, `image`, `video` or `audio`. */
const block = (input: Media.EmbeddingInput, params: P, segmented: boolean): Record<string, unknown> => {
  if (input.kind === "text") {
    const isS3 = /^s3:\/\/\S+$/.test(input.text)
    return {
      text: {
        truncationMode: params.truncationMode ?? "END",
        ...(isS3 ? { source: { s3Location: { uri: input.text } } } : { value: input.text }),
        ...(segmented && params.maxLengthChars !== undefined
          ? { segmentationConfig: { maxLengthChars: params.maxLengthChars } }
          : {})
      }
    }
  }
  const media = input.kind === "text_image" ? input.image : input
  const segmentation =
    segmented && params.durationSeconds !== undefined
      ? { segmentationConfig: { durationSeconds: params.durationSeconds } }
      : {}
  switch (media.kind) {
    case "image":
      return {
        image: {
          format: media.format,
          source: sourceOf(media),
          ...(params.detailLevel === undefined ? {} : { detailLevel: params.detailLevel })
        }
      }
    case "video":
      return {
        video: {
          format: media.format,
          source: sourceOf(media),
          embeddingMode: params.embeddingMode ?? "AUDIO_VIDEO_COMBINED",
          ...segmentation
        }
      }
    case "audio":
      return { audio: { format: media.format, source: sourceOf(media), ...segmentation } }
  }
}

const modalities: Record<string, string> = {
  TEXT: "text",
  IMAGE: "image",
  VIDEO: "video",
  AUDIO: "audio",
  AUDIO_VIDEO_COMBINED: "audio_video"
}

interface ResultLine {
  readonly embedding?: ReadonlyArray<number>
  readonly status?: string
  readonly failureReason?: string
  readonly message?: string
  readonly segmentMetadata?: {
    readonly segmentIndex?: number
    readonly segmentStartCharPosition?: number
    readonly segmentEndCharPosition?: number
    readonly segmentStartSeconds?: number
    readonly segmentEndSeconds?: number
  }
}

/** Reads a Nova job's output folder: `segmented-embedding-result.json` names one file per modality. */
const decodeOutput = (
  files: ReadonlyArray<ModelSpec.AsyncOutputFile>
): { readonly segments: ReadonlyArray<ModelSpec.AsyncSegment> } | { readonly failure: string } => {
  const index = files.find((file) => file.name.endsWith("segmented-embedding-result.json"))
  if (index === undefined) return { failure: "segmented-embedding-result.json is missing" }
  let results: ReadonlyArray<{
    embeddingType?: string
    status?: string
    failureReason?: string
    message?: string
    outputFileUri?: string
  }>
  try {
    results = (JSON.parse(index.text) as { embeddingResults?: typeof results }).embeddingResults ?? []
  } catch {
    return { failure: "segmented-embedding-result.json is not JSON" }
  }
  const segments: Array<ModelSpec.AsyncSegment> = []
  const failures: Array<string> = []
  for (const result of results) {
    if (result.status === "FAILURE" || result.status === "FAILED") {
      failures.push(`${result.embeddingType}: ${result.failureReason ?? ""} ${result.message ?? ""}`.trim())
      continue
    }
    const name = result.outputFileUri?.split("/").pop() ?? ""
    const file = files.find(
      (candidate) =>
        candidate.uri === result.outputFileUri || candidate.name.endsWith(`/${name}`) || candidate.name === name
    )
    if (file === undefined) return { failure: `${name || "an embedding file"} named by the result is missing` }
    const text = file.text.trim()
    let lines: Array<ResultLine>
    try {
      lines = text.startsWith("[")
        ? (JSON.parse(text) as Array<ResultLine>)
        : text
            .split("\n")
            .filter((line) => line.trim().length > 0)
            .map((line) => JSON.parse(line) as ResultLine)
    } catch {
      return { failure: `${name} is not JSON lines` }
    }
    const modality = modalities[result.embeddingType ?? ""] ?? (result.embeddingType ?? "unknown").toLowerCase()
    for (const line of lines) {
      if (line.embedding === undefined || (line.status !== undefined && line.status !== "SUCCESS")) {
        failures.push(
          `${modality} segment ${line.segmentMetadata?.segmentIndex ?? "?"}: ${line.failureReason ?? line.message ?? "no embedding"}`
        )
        continue
      }
      const meta = line.segmentMetadata
      segments.push({
        embedding: line.embedding,
        modality,
        segmentIndex: meta?.segmentIndex,
        startSec: meta?.segmentStartSeconds,
        endSec: meta?.segmentEndSeconds,
        startChar: meta?.segmentStartCharPosition,
        endChar: meta?.segmentEndCharPosition
      })
    }
  }
  if (segments.length === 0 && failures.length > 0) return { failure: failures.join("; ") }
  return { segments }
}

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "amazon.nova-2-multimodal-embeddings-v1:0",
  family: "nova",
  matches: (id) => id === "amazon.nova-2-multimodal-embeddings-v1:0" || id === "amazon.nova-2-multimodal-embeddings-v1",
  capabilities: {
    sync: ["text", "image"],
    async: ["text", "image", "video", "audio"],
    maxInputsPerCall: 1,
    // Listed among the models that run Bedrock batch inference (CreateModelInvocationJob).
    batchInference: true,
    dimensions: [256, 384, 1024, 3072],
    defaultDimension: 3072,
    // Inline text: 8,192 characters synchronously. Async text is segmented; Bedrock documents
    // inline async text only loosely (UNCONFIRMED), so the cap is the 1 MB S3 text document size.
    maxTextChars: 8192,
    maxAsyncTextChars: 1_000_000,
    media: {
      // Inline media: 25 MB of base64 in the body, so about 18.75 MB of bytes.
      image: { formats: ["png", "jpeg", "gif", "webp"], maxBytes: 18_750_000, sources: ["Base64", "S3"] },
      video: {
        formats: ["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"],
        maxBytes: 18_750_000,
        sources: ["Base64", "S3"]
      },
      audio: { formats: ["mp3", "wav", "ogg"], maxBytes: 18_750_000, sources: ["Base64", "S3"] }
    }
  },
  supportedParams: ["dimensions"],
  params: Params,
  request: Request,
  response: Response,
  encode: ([input], { dimensions, params }) =>
    ({
      schemaVersion,
      taskType: "SINGLE_EMBEDDING",
      singleEmbeddingParams: {
        embeddingPurpose: params.embeddingPurpose ?? "GENERIC_INDEX",
        // Sent explicitly: the model's default is 3072, and peers silently send 1024.
        embeddingDimension: (dimensions ?? 3072) as 256 | 384 | 1024 | 3072,
        ...(input === undefined ? {} : block(input, params, false))
      }
    }) as typeof Request.Type,
  decode: (body, batch) => ({
    vectors: [body.embeddings[0].embedding],
    inputTokens: body.inputTokenCount,
    media: { images: batch.filter((input) => input.kind === "image").length }
  }),
  // Low-confidence figures (secondary sources): text $0.000135 per 1K tokens, $0.00006 per image,
  // video $0.0007 per second, audio $0.00014 per second.
  roles: { document: { embeddingPurpose: "GENERIC_INDEX" }, query: { embeddingPurpose: "GENERIC_RETRIEVAL" } },
  price: { perInputToken: 0.000000135, perImage: 0.00006, perVideoSecond: 0.0007, perAudioSecond: 0.00014 },
  async: {
    request: AsyncRequest as unknown as Schema.Codec<unknown, unknown>,
    encode: (input, { dimensions, params }) => ({
      schemaVersion,
      taskType: "SEGMENTED_EMBEDDING",
      segmentedEmbeddingParams: {
        embeddingPurpose: params.embeddingPurpose ?? "GENERIC_INDEX",
        embeddingDimension: dimensions ?? 3072,
        ...block(input, params, true)
      }
    }),
    decode: decodeOutput
  }
})

/**
 * The segments of a Nova job's output, for callers reading S3 themselves.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeAsyncOutput = decodeOutput
