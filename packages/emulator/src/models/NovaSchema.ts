/** The request schema of Amazon Nova 2 multimodal embeddings (bedrock-wire.md §4.6), shared by both task types. */
import type { BedrockFault } from "../Errors.ts"
import * as Validate from "../Validate.ts"

export const purposes = [
  "GENERIC_INDEX",
  "GENERIC_RETRIEVAL",
  "TEXT_RETRIEVAL",
  "IMAGE_RETRIEVAL",
  "VIDEO_RETRIEVAL",
  "DOCUMENT_RETRIEVAL",
  "AUDIO_RETRIEVAL",
  "CLASSIFICATION",
  "CLUSTERING"
]
const videoFormats = ["mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"]

const s3Location = Validate.object({
  s3Location: {
    required: true,
    check: Validate.object({
      uri: { check: Validate.string(1), required: true },
      bucketOwner: { check: Validate.string(12) }
    })
  }
})
const mediaSource = (value: unknown, path: string) => {
  if (typeof value === "object" && value !== null && "bytes" in value) {
    return Validate.object({ bytes: { check: Validate.string(1), required: true } })(value, path)
  }
  return s3Location(value, path)
}
const segmentation = (field: string, min: number, max: number) =>
  Validate.object({
    [field]: {
      required: true,
      check: (value, path) =>
        Number.isInteger(value) && (value as number) >= min && (value as number) <= max
          ? undefined
          : `${path}: ${String(value)} is not an integer from ${min} to ${max}`
    }
  })

const params = (segmented: boolean) =>
  Validate.object({
    embeddingPurpose: { check: Validate.oneOf(purposes), required: true },
    embeddingDimension: { check: Validate.oneOf([256, 384, 1024, 3072]) },
    text: {
      check: Validate.object({
        truncationMode: { check: Validate.oneOf(["START", "END", "NONE"]), required: true },
        value: { check: Validate.string(1) },
        source: { check: s3Location },
        ...(segmented ? { segmentationConfig: { check: segmentation("maxLengthChars", 800, 50_000) } } : {})
      })
    },
    image: {
      check: Validate.object({
        format: { check: Validate.oneOf(["png", "jpeg", "gif", "webp"]), required: true },
        source: { check: mediaSource, required: true },
        detailLevel: { check: Validate.oneOf(["STANDARD_IMAGE", "DOCUMENT_IMAGE"]) }
      })
    },
    video: {
      check: Validate.object({
        format: { check: Validate.oneOf(videoFormats), required: true },
        source: { check: mediaSource, required: true },
        embeddingMode: { check: Validate.oneOf(["AUDIO_VIDEO_COMBINED", "AUDIO_VIDEO_SEPARATE"]), required: true },
        ...(segmented ? { segmentationConfig: { check: segmentation("durationSeconds", 1, 30) } } : {})
      })
    },
    audio: {
      check: Validate.object({
        format: { check: Validate.oneOf(["mp3", "wav", "ogg"]), required: true },
        source: { check: mediaSource, required: true },
        ...(segmented ? { segmentationConfig: { check: segmentation("durationSeconds", 1, 30) } } : {})
      })
    }
  })

const body = (taskType: "SINGLE_EMBEDDING" | "SEGMENTED_EMBEDDING") =>
  Validate.object({
    schemaVersion: { check: Validate.oneOf(["nova-multimodal-embed-v1"]) },
    taskType: { check: Validate.oneOf(["SINGLE_EMBEDDING", "SEGMENTED_EMBEDDING"]), required: true },
    [taskType === "SINGLE_EMBEDDING" ? "singleEmbeddingParams" : "segmentedEmbeddingParams"]: {
      check: params(taskType === "SEGMENTED_EMBEDDING"),
      required: true
    }
  })

export type Source = { bytes?: string; s3Location?: { uri: string } }
export interface Params {
  embeddingPurpose: string
  embeddingDimension?: number
  text?: {
    truncationMode: string
    value?: string
    source?: { s3Location: { uri: string } }
    segmentationConfig?: { maxLengthChars: number }
  }
  image?: { format: string; source: Source }
  video?: { format: string; source: Source; embeddingMode: string; segmentationConfig?: { durationSeconds: number } }
  audio?: { format: string; source: Source; segmentationConfig?: { durationSeconds: number } }
}

export const invalid = (message: string): BedrockFault => ({ error: "ValidationException", message })

/** Checks the one-modality rule and the text rules shared by both task types. */
export const check = (raw: unknown, taskType: "SINGLE_EMBEDDING" | "SEGMENTED_EMBEDDING"): Params | BedrockFault => {
  const declared = (raw as { taskType?: unknown } | null)?.taskType
  if ((declared === "SINGLE_EMBEDDING" || declared === "SEGMENTED_EMBEDDING") && declared !== taskType) {
    return invalid(
      taskType === "SINGLE_EMBEDDING"
        ? "taskType SEGMENTED_EMBEDDING is only supported through StartAsyncInvoke; use SINGLE_EMBEDDING with InvokeModel."
        : "taskType SINGLE_EMBEDDING is only supported through InvokeModel; use SEGMENTED_EMBEDDING with StartAsyncInvoke."
    )
  }
  const fault = Validate.body(body(taskType), raw)
  if (fault !== undefined) return fault
  const request = raw as { singleEmbeddingParams?: Params; segmentedEmbeddingParams?: Params }
  const p = (request.singleEmbeddingParams ?? request.segmentedEmbeddingParams)!
  const given = [p.text, p.image, p.video, p.audio].filter((x) => x !== undefined).length
  if (given !== 1)
    return invalid(
      "Malformed input request: exactly one of text, image, video or audio is required, please reformat your input and try again."
    )
  if (p.text !== undefined && (p.text.value === undefined) === (p.text.source === undefined)) {
    return invalid(
      "Malformed input request: text needs exactly one of value or source, please reformat your input and try again."
    )
  }
  return p
}

/** The bytes of a media source: inline, or the S3 object (`undefined` when it does not exist). */
export const sourceBytes = (
  source: Source,
  read: (uri: string) => Promise<Uint8Array | undefined>
): Promise<Uint8Array | undefined> =>
  source.bytes === undefined ? read(source.s3Location!.uri) : Promise.resolve(Buffer.from(source.bytes, "base64"))

/**
 * Input tokens Nova adds for the embedding purpose's instruction, on top of the input's own.
 * Derived from live calls with the emulator's token counter: "hello" (2 tokens) with GENERIC_INDEX
 * → 3, "Hello, world!" (6) with GENERIC_RETRIEVAL → 19, "Test Nova settings" (4) with
 * TEXT_RETRIEVAL → 22. The other purposes were never recorded: the retrieval purposes get
 * TEXT_RETRIEVAL's overhead (the same instruction naming another modality), CLASSIFICATION and
 * CLUSTERING GENERIC_RETRIEVAL's; these are guesses.
 */
export const purposeTokens: Readonly<Record<string, number>> = {
  GENERIC_INDEX: 1,
  GENERIC_RETRIEVAL: 13,
  TEXT_RETRIEVAL: 18,
  IMAGE_RETRIEVAL: 18,
  VIDEO_RETRIEVAL: 18,
  DOCUMENT_RETRIEVAL: 18,
  AUDIO_RETRIEVAL: 18,
  CLASSIFICATION: 13,
  CLUSTERING: 13
}

/** The marker that makes a text segment (or an image holding it) fail as a Responsible-AI deflection. */
export const DEFLECT_MARKER = "[[emulator:deflect]]"
