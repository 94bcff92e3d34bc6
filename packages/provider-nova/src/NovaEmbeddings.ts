/**
 * Amazon Nova 2 multimodal embeddings (`amazon.nova-2-multimodal-embeddings-v1:0`): text, images,
 * and video and audio clips of up to 30 s synchronously (`SINGLE_EMBEDDING`), and all four through
 * async invoke (`SEGMENTED_EMBEDDING`), where long inputs are split into segments with their own vectors.
 *
 * @since 0.1.0
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"
import { decodeOutput, modalityOf } from "./internal/output.ts"

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
const S3Location = Schema.Struct({
  s3Location: Schema.Struct({ uri: Schema.String, bucketOwner: Schema.optionalKey(Schema.String) })
})
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
const SyncText = Schema.Struct({
  truncationMode: TruncationMode,
  value: Schema.optionalKey(Schema.String),
  source: Schema.optionalKey(S3Location)
})
const SyncVideo = Schema.Struct({ format: VideoFormat, source: Source, embeddingMode: EmbeddingMode })
const SyncAudio = Schema.Struct({ format: AudioFormat, source: Source })
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
    text: Schema.optionalKey(SyncText),
    image: Schema.optionalKey(Image),
    video: Schema.optionalKey(SyncVideo),
    audio: Schema.optionalKey(SyncAudio)
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
  /**
   * Video: one vector for sound and picture (`AUDIO_VIDEO_COMBINED`, the default) or one of each
   * (`AUDIO_VIDEO_SEPARATE`: `embedding` is the picture's, `embeddings_by_modality` has both).
   */
  embeddingMode: Schema.optional(EmbeddingMode),
  /** Async text segments: characters per segment, 800–50 000 (Bedrock's default 32 000). */
  maxLengthChars: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 800, maximum: 50_000 }))),
  /** Async video/audio segments: seconds per segment, 1–30 (Bedrock's default 5). */
  durationSeconds: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 30 })))
})

type P = typeof Params.Type

const sourceOf = (media: Media.MediaInput) =>
  media.source._tag === "S3"
    ? {
        s3Location: {
          uri: media.source.uri,
          ...(media.source.bucketOwner === undefined ? {} : { bucketOwner: media.source.bucketOwner })
        }
      }
    : { bytes: media.source.data }

/** A content block's own fields, under the request's parameters (LiteLLM's precedence). */
const optionsOf = (input: Media.EmbeddingInput): Readonly<Record<string, unknown>> =>
  input.kind === "text" || input.kind === "image" || input.kind === "video" || input.kind === "audio"
    ? (input.options ?? {})
    : {}

const segmentationOf = (
  options: Readonly<Record<string, unknown>>,
  field: "maxLengthChars" | "durationSeconds",
  value: number | undefined
) => {
  const own = options.segmentationConfig as Record<string, unknown> | undefined
  if (value === undefined && own === undefined) return {}
  return { segmentationConfig: { ...own, ...(value === undefined ? {} : { [field]: value }) } }
}

/** The modality block of one input: `text`, `image`, `video` or `audio`. */
const block = (input: Media.EmbeddingInput, params: P, segmented: boolean): Record<string, unknown> => {
  const options = optionsOf(input)
  if (input.kind === "text") {
    const isS3 = /^s3:\/\/\S+$/.test(input.text)
    return {
      text: {
        truncationMode: params.truncationMode ?? options.truncationMode ?? "END",
        ...(isS3 ? { source: { s3Location: { uri: input.text } } } : { value: input.text }),
        ...(segmented ? segmentationOf(options, "maxLengthChars", params.maxLengthChars) : {})
      }
    }
  }
  const media = Media.mediaOf(input)!
  switch (media.kind) {
    case "image": {
      const detailLevel = params.detailLevel ?? options.detailLevel
      return {
        image: {
          format: media.format,
          source: sourceOf(media),
          ...(detailLevel === undefined ? {} : { detailLevel })
        }
      }
    }
    case "video":
      return {
        video: {
          format: media.format,
          source: sourceOf(media),
          embeddingMode: params.embeddingMode ?? options.embeddingMode ?? "AUDIO_VIDEO_COMBINED",
          ...(segmented ? segmentationOf(options, "durationSeconds", params.durationSeconds) : {})
        }
      }
    case "audio":
      return {
        audio: {
          format: media.format,
          source: sourceOf(media),
          ...(segmented ? segmentationOf(options, "durationSeconds", params.durationSeconds) : {})
        }
      }
  }
}

type Response = typeof Response.Type

/** One vector per input; a clip embedded as picture and sound apart also gives both by modality. */
const decodeSync = (body: Response, batch: ReadonlyArray<Media.EmbeddingInput>): ModelSpec.DecodedBatch => {
  const media = batch.map(Media.mediaOf)
  const seconds = (kind: "video" | "audio") =>
    media.reduce((sum, m) => sum + (m?.kind === kind ? (Media.durationOf(m) ?? 0) : 0), 0)
  const usage = {
    images: media.filter((m) => m?.kind === "image").length,
    videoSeconds: seconds("video"),
    audioSeconds: seconds("audio")
  }
  if (body.embeddings.length === 1) {
    return { vectors: [body.embeddings[0].embedding], inputTokens: body.inputTokenCount, media: usage }
  }
  const byModality: Record<string, ReadonlyArray<number>> = {}
  for (const entry of body.embeddings) byModality[modalityOf(entry.embeddingType)] = entry.embedding
  const first = byModality.video ?? body.embeddings[0].embedding
  return { vectors: [first], byModality: [byModality], inputTokens: body.inputTokenCount, media: usage }
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
  ids: ["amazon.nova-2-multimodal-embeddings-v1:0"],
  capabilities: {
    sync: ["text", "image", "video", "audio"],
    async: ["text", "image", "video", "audio"],
    maxInputsPerCall: 1,
    // Listed among the models that run Bedrock batch inference (CreateModelInvocationJob).
    batchInference: true,
    dimensions: [256, 384, 1024, 3072],
    defaultDimension: 3072,
    // Synchronous text: 50,000 characters (the S3 text document limit); the model reads 8K tokens
    // of it and cuts the rest as truncationMode says, reporting truncatedCharLength. Async text is
    // segmented; the cap is the 1 MB S3 text document size (inline async text is UNCONFIRMED).
    maxTextChars: { sync: 50_000, async: 1_000_000 },
    media: {
      // Inline media: 25 MB of base64 in the body, so about 18.75 MB of bytes. Synchronous video
      // and audio: clips of at most 30 s (longer ones go through async invoke, in segments).
      image: { formats: ["png", "jpeg", "gif", "webp"], maxBytes: 18_750_000, sources: ["Base64", "S3"] },
      video: {
        formats: ["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"],
        maxBytes: 18_750_000,
        sources: ["Base64", "S3"],
        maxSeconds: 30
      },
      audio: { formats: ["mp3", "wav", "ogg"], maxBytes: 18_750_000, sources: ["Base64", "S3"], maxSeconds: 30 }
    },
    // Fields of LiteLLM-style content blocks (`{ video: { format, source, embeddingMode } }`).
    inputOptions: ["truncationMode", "detailLevel", "embeddingMode", "segmentationConfig"]
  },
  supportedParams: ["dimensions"],
  params: Params,
  paramAliases: {
    embeddingDimension: "dimensions",
    embedding_dimension: "dimensions",
    embedding_purpose: "embeddingPurpose",
    truncation_mode: "truncationMode",
    detail_level: "detailLevel",
    embedding_mode: "embeddingMode"
  },
  paramScopes: {
    truncationMode: { kinds: ["text"] },
    detailLevel: { kinds: ["image"] },
    embeddingMode: { kinds: ["video"] },
    maxLengthChars: { kinds: ["text"], modes: ["async"] },
    durationSeconds: { kinds: ["video", "audio"], modes: ["async"] }
  },
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
  decode: decodeSync,
  // Low-confidence figures (secondary sources): text $0.000135 per 1K tokens, $0.00006 per image,
  // video $0.0007 per second, audio $0.00014 per second.
  roles: { document: { embeddingPurpose: "GENERIC_INDEX" }, query: { embeddingPurpose: "GENERIC_RETRIEVAL" } },
  price: { perInputToken: 0.000000135, perImage: 0.00006, perVideoSecond: 0.0007, perAudioSecond: 0.00014 },
  async: {
    request: AsyncRequest,
    encode: (input, { dimensions, params }) => ({
      schemaVersion,
      taskType: "SEGMENTED_EMBEDDING" as const,
      segmentedEmbeddingParams: {
        embeddingPurpose: params.embeddingPurpose ?? "GENERIC_INDEX",
        embeddingDimension: (dimensions ?? 3072) as typeof Dimension.Type,
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
