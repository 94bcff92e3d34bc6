/**
 * Amazon Nova 2 multimodal embeddings (bedrock-wire.md §4.6, §5.2): `SINGLE_EMBEDDING` through
 * InvokeModel (text, image, and video or audio of at most 30 s, inline or from S3),
 * `SEGMENTED_EMBEDDING` through StartAsyncInvoke (NovaAsync.ts). Values print as Java floats.
 */
import type { BedrockFault } from "../Errors.ts"
import { durationOf, formatOf } from "../MediaInfo.ts"
import type { InvokeContext, ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import { countTokens, embedBytes, embedText, floats, truncateTokens } from "../Vectors.ts"
import { run } from "./NovaAsync.ts"
import { check, invalid, type Params, purposeTokens, type Source, sourceBytes } from "./NovaSchema.ts"

/** Nova's context: 8K tokens. */
const MAX_TOKENS = 8192
/** Longest synchronous video or audio. */
const MAX_SECONDS = 30

const missing = (source: Source): BedrockFault =>
  invalid(`Unable to access the input at ${source.s3Location!.uri}: the object does not exist or is not readable.`)

/** Whether some bytes are the declared format (`mpg` is MPEG by another name). */
const isFormat = (bytes: Uint8Array, format: string) => {
  const actual = formatOf(bytes)
  return actual === format || (format === "mpg" && actual === "mpeg")
}

const text = async (p: Params, context: InvokeContext): Promise<ModelAnswer | BedrockFault> => {
  const spec = p.text!
  let value = spec.value
  if (value === undefined) {
    const bytes = await context.read(spec.source!.s3Location.uri)
    if (bytes === undefined) return missing(spec.source!)
    value = Buffer.from(bytes).toString("utf8")
  }
  let tokens = countTokens(value)
  let truncated: number | undefined
  if (tokens > MAX_TOKENS) {
    if (spec.truncationMode === "NONE") {
      return invalid(
        `Input text is ${tokens} tokens; the maximum is ${MAX_TOKENS}. Set truncationMode to START or END to truncate it.`
      )
    }
    // START drops the start of the text and END its end; the answer reports the length kept.
    value = truncateTokens(value, MAX_TOKENS, spec.truncationMode === "START" ? "end" : "start")
    truncated = value.length
    tokens = countTokens(value)
  }
  const dimension = p.embeddingDimension ?? 3072
  return {
    // Key order as recorded: embedding, then embeddingType.
    body: {
      embeddings: [
        {
          embedding: floats(embedText(value, dimension), "float"),
          embeddingType: "TEXT",
          truncatedCharLength: truncated
        }
      ]
    },
    inputTokens: tokens + purposeTokens[p.embeddingPurpose]!
  }
}

const media = async (p: Params, context: InvokeContext): Promise<ModelAnswer | BedrockFault> => {
  const [kind, spec] =
    p.image !== undefined
      ? (["image", p.image] as const)
      : p.video !== undefined
        ? (["video", p.video] as const)
        : (["audio", p.audio!] as const)
  const bytes = await sourceBytes(spec.source, context.read)
  if (bytes === undefined) return missing(spec.source)
  if (!isFormat(bytes, spec.format)) return invalid(`Invalid ${kind}: the bytes are not ${spec.format}.`)
  if (kind !== "image" && (durationOf(bytes) ?? 0) > MAX_SECONDS) {
    return invalid(
      `Invalid ${kind}: synchronous ${kind} must be at most ${MAX_SECONDS} seconds; use StartAsyncInvoke with SEGMENTED_EMBEDDING for longer media.`
    )
  }
  const dimension = p.embeddingDimension ?? 3072
  const embed = (salt: string) =>
    floats(embedBytes(salt === "" ? bytes : Buffer.concat([Buffer.from(salt), bytes]), dimension), "float")
  const embeddings =
    kind === "video"
      ? p.video!.embeddingMode === "AUDIO_VIDEO_SEPARATE"
        ? [
            { embedding: embed("video:"), embeddingType: "VIDEO" },
            { embedding: embed("audio:"), embeddingType: "AUDIO" }
          ]
        : [{ embedding: embed(""), embeddingType: "AUDIO_VIDEO_COMBINED" }]
      : [{ embedding: embed(""), embeddingType: kind.toUpperCase() }]
  return { body: { embeddings }, inputTokens: purposeTokens[p.embeddingPurpose]! }
}

/** `SINGLE_EMBEDDING`. */
const invoke = (
  raw: unknown,
  context: InvokeContext
): ModelAnswer | BedrockFault | Promise<ModelAnswer | BedrockFault> => {
  const p = check(raw, "SINGLE_EMBEDDING")
  if ("error" in p) return p
  return p.text !== undefined ? text(p, context) : media(p, context)
}

/** `amazon.nova-2-multimodal-embeddings-v1:0`. */
export const nova2MultimodalEmbeddings: ModelHandler = {
  id: "amazon.nova-2-multimodal-embeddings-v1:0",
  matches: (id) => id === "amazon.nova-2-multimodal-embeddings-v1:0",
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
