/**
 * Amazon Nova 2 multimodal embeddings (bedrock-wire.md §4.6, §5.2): `SINGLE_EMBEDDING` through
 * InvokeModel, `SEGMENTED_EMBEDDING` through StartAsyncInvoke with Bedrock's output layout.
 */
import type { BedrockFault } from "../Errors.ts"
import { durationOf, formatOf } from "../MediaInfo.ts"
import type { AsyncIO, AsyncOutcome, ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import * as Validate from "../Validate.ts"
import { countTokens, embedBytes, embedText, toJson } from "../Vectors.ts"

const purposes = [
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

type Source = { bytes?: string; s3Location?: { uri: string } }
interface Params {
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

const invalid = (message: string): BedrockFault => ({ error: "ValidationException", message })

/** Checks the one-modality rule and the text rules shared by both task types. */
const check = (raw: unknown, taskType: "SINGLE_EMBEDDING" | "SEGMENTED_EMBEDDING"): Params | BedrockFault => {
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

const sourceBytes = (source: Source): Uint8Array | undefined =>
  source.bytes === undefined ? undefined : Buffer.from(source.bytes, "base64")

/** `SINGLE_EMBEDDING`. */
const invoke = (raw: unknown): ModelAnswer | BedrockFault => {
  const p = check(raw, "SINGLE_EMBEDDING")
  if ("error" in p) return p
  const dimension = p.embeddingDimension ?? 3072
  if (p.text !== undefined) {
    let text = p.text.value ?? `s3-document:${p.text.source!.s3Location.uri}`
    let truncated: number | undefined
    if (text.length > 8192) {
      if (p.text.truncationMode === "NONE") {
        return invalid(
          `Input text is ${text.length} characters; the maximum is 8192. Set truncationMode to START or END to truncate it.`
        )
      }
      truncated = text.length - 8192
      text = p.text.truncationMode === "START" ? text.slice(truncated) : text.slice(0, 8192)
    }
    const tokens = countTokens(text)
    return {
      body: {
        embeddings: [
          {
            embeddingType: "TEXT",
            embedding: toJson(embedText(text, dimension)),
            ...(truncated === undefined ? {} : { truncatedCharLength: truncated })
          }
        ]
      },
      inputTokens: tokens
    }
  }
  const [kind, media] =
    p.image !== undefined ? ["IMAGE", p.image] : p.video !== undefined ? ["VIDEO", p.video] : ["AUDIO", p.audio!]
  const bytes = sourceBytes(media.source)
  if (
    bytes !== undefined &&
    formatOf(bytes) !== media.format &&
    !(media.format === "mpg" && formatOf(bytes) === "mpeg")
  ) {
    return invalid(`Invalid ${kind.toLowerCase()}: the bytes are not ${media.format}.`)
  }
  if (bytes !== undefined && kind !== "IMAGE" && (durationOf(bytes) ?? 0) > 30) {
    return invalid(`Invalid ${kind.toLowerCase()}: synchronous ${kind.toLowerCase()} must be at most 30 seconds.`)
  }
  const vector =
    bytes === undefined ? embedText(`s3:${media.source.s3Location!.uri}`, dimension) : embedBytes(bytes, dimension)
  return { body: { embeddings: [{ embeddingType: kind, embedding: toJson(vector) }] }, inputTokens: 0 }
}

const line = (embedding: Array<number>, meta: Record<string, number>) =>
  JSON.stringify({ embedding, segmentMetadata: meta, status: "SUCCESS" })

/** `SEGMENTED_EMBEDDING`: reads S3 media, segments it, and lays out the output files. */
const run = async (raw: unknown, io: AsyncIO): Promise<AsyncOutcome> => {
  const p = check(raw, "SEGMENTED_EMBEDDING") as Params
  const dimension = p.embeddingDimension ?? 3072
  const files: Record<string, string> = {}
  const results: Array<Record<string, unknown>> = []
  let source = ""
  // Inline bytes, or the S3 object (whose URI the result file names as its source).
  const load = (from: Source): Promise<Uint8Array | undefined> => {
    if (from.bytes !== undefined) return Promise.resolve(sourceBytes(from))
    source = from.s3Location!.uri
    return io.read(source)
  }
  const write = (embeddingType: string, name: string, lines: Array<string>) => {
    files[name] = `${lines.join("\n")}\n`
    results.push({ embeddingType, status: "SUCCESS", outputFileUri: `${io.outputUri}/${name}` })
  }
  if (p.text !== undefined) {
    let text = p.text.value
    if (text === undefined) {
      source = p.text.source!.s3Location.uri
      const bytes = await io.read(source)
      if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
      text = Buffer.from(bytes).toString("utf8")
    }
    const size = p.text.segmentationConfig?.maxLengthChars ?? 32_000
    const lines: Array<string> = []
    for (let start = 0, index = 0; start < text.length; start += size, index++) {
      const end = Math.min(text.length, start + size)
      lines.push(
        line(toJson(embedText(text.slice(start, end), dimension)), {
          segmentIndex: index,
          segmentStartCharPosition: start,
          segmentEndCharPosition: end
        })
      )
    }
    write("TEXT", "embedding-text.jsonl", lines)
  } else if (p.image !== undefined) {
    const bytes = await load(p.image.source)
    if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
    if (formatOf(bytes) !== p.image.format) return { failure: `Invalid image: the input is not ${p.image.format}.` }
    files["embedding-image.json"] = JSON.stringify({
      embedding: toJson(embedBytes(bytes, dimension)),
      status: "SUCCESS"
    })
    results.push({ embeddingType: "IMAGE", status: "SUCCESS", outputFileUri: `${io.outputUri}/embedding-image.json` })
  } else {
    const media = (p.video ?? p.audio)!
    const kind = p.video !== undefined ? "video" : "audio"
    const bytes = await load(media.source)
    if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
    const duration = durationOf(bytes)
    if (formatOf(bytes) !== media.format || duration === undefined) {
      return { failure: `Invalid ${kind}: could not read the ${kind} as ${media.format}.` }
    }
    const step = media.segmentationConfig?.durationSeconds ?? 5
    const segments = (salt: string) => {
      const lines: Array<string> = []
      for (let start = 0, index = 0; start < duration; start += step, index++) {
        const end = Math.min(duration, start + step)
        const slice = Buffer.concat([Buffer.from(`${salt}:${start}`), Buffer.from(bytes.subarray(0, 4096))])
        lines.push(
          line(toJson(embedBytes(slice, dimension)), {
            segmentIndex: index,
            segmentStartSeconds: start,
            segmentEndSeconds: end
          })
        )
      }
      return lines
    }
    if (kind === "audio") write("AUDIO", "embedding-audio.jsonl", segments("audio"))
    else if (p.video!.embeddingMode === "AUDIO_VIDEO_SEPARATE") {
      write("VIDEO", "embedding-video.jsonl", segments("video"))
      write("AUDIO", "embedding-audio.jsonl", segments("audio"))
    } else write("AUDIO_VIDEO_COMBINED", "embedding-audio-video.jsonl", segments("audio-video"))
  }
  files["segmented-embedding-result.json"] = JSON.stringify({
    sourceFileUri: source,
    embeddingDimension: dimension,
    embeddingResults: results
  })
  files["manifest.json"] = JSON.stringify({ schemaVersion: "nova-multimodal-embed-v1", files: Object.keys(files) })
  return { files }
}

/** `amazon.nova-2-multimodal-embeddings-v1:0`. */
export const nova2MultimodalEmbeddings: ModelHandler = {
  id: "amazon.nova-2-multimodal-embeddings-v1:0",
  matches: (id) => id === "amazon.nova-2-multimodal-embeddings-v1:0" || id === "amazon.nova-2-multimodal-embeddings-v1",
  invoke,
  async: {
    validate: (raw) => {
      const p = check(raw, "SEGMENTED_EMBEDDING")
      return "error" in p ? p : undefined
    },
    run
  }
}

/** Every Nova handler. */
export const novaModels: ReadonlyArray<ModelHandler> = [nova2MultimodalEmbeddings]
