/**
 * TwelveLabs Marengo Embed 2.7 and 3.0 (bedrock-wire.md §4.7–4.8, §5.3). Synchronous answers use
 * the `{ "data": [ … ] }` envelope (the emulator's reading of an UNCONFIRMED shape); async jobs
 * write `output.json` with the same envelope, as TwelveLabs documents.
 */
import type { BedrockFault } from "../Errors.ts"
import { durationOf, formatOf } from "../MediaInfo.ts"
import type { AsyncIO, AsyncOutcome, ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import * as Validate from "../Validate.ts"
import { countTokens, embedBytes, embedText, toJson } from "../Vectors.ts"

const account: Validate.Check = (value, path) =>
  typeof value === "string" && /^\d{12}$/.test(value) ? undefined : `${path}: expected a 12-digit account id`
const number: Validate.Check = (value, path) =>
  typeof value === "number" && Number.isFinite(value) && value >= 0
    ? undefined
    : `${path}: expected a non-negative number`

const mediaSource =
  (needsOwner: boolean): Validate.Check =>
  (value, path) => {
    if (typeof value === "object" && value !== null && "base64String" in value) {
      return Validate.object({ base64String: { check: Validate.string(1), required: true } })(value, path)
    }
    return Validate.object({
      s3Location: {
        required: true,
        check: Validate.object({
          uri: { check: Validate.string(1), required: true },
          bucketOwner: { check: account, required: needsOwner }
        })
      }
    })(value, path)
  }

const invalid = (message: string): BedrockFault => ({ error: "ValidationException", message })

type Source = { base64String?: string; s3Location?: { uri: string } }
const bytesOf = async (source: Source, io?: AsyncIO): Promise<Uint8Array | string> => {
  if (source.base64String !== undefined) return Buffer.from(source.base64String, "base64")
  if (io === undefined) return `s3:${source.s3Location!.uri}`
  return (await io.read(source.s3Location!.uri)) ?? `Unable to access the media at ${source.s3Location!.uri}.`
}

const v27 = {
  text: Validate.object({
    inputType: { check: Validate.oneOf(["text"]), required: true },
    inputText: { check: Validate.string(1), required: true },
    textTruncate: { check: Validate.oneOf(["end", "none"]) }
  }),
  image: Validate.object({
    inputType: { check: Validate.oneOf(["image"]), required: true },
    mediaSource: { check: mediaSource(false), required: true }
  }),
  video: Validate.object({
    inputType: { check: Validate.oneOf(["video"]), required: true },
    mediaSource: { check: mediaSource(false), required: true },
    startSec: { check: number },
    lengthSec: { check: number },
    useFixedLengthSec: { check: number },
    minClipSec: { check: Validate.oneOf([1, 2, 3, 4, 5]) },
    embeddingOption: {
      check: Validate.arrayOf(Validate.oneOf(["visual-text", "visual-image", "audio"]), { minItems: 1, unique: true })
    }
  }),
  audio: Validate.object({
    inputType: { check: Validate.oneOf(["audio"]), required: true },
    mediaSource: { check: mediaSource(false), required: true },
    startSec: { check: number },
    lengthSec: { check: number },
    useFixedLengthSec: { check: number }
  })
} as Record<string, Validate.Check>

const timed30 = Validate.object({
  mediaSource: { check: mediaSource(true), required: true },
  startSec: { check: number },
  endSec: { check: number },
  segmentation: {
    check: (value, path) =>
      typeof value === "object" && value !== null ? undefined : `${path}: expected type: JSONObject`
  },
  embeddingOption: {
    check: Validate.arrayOf(Validate.oneOf(["visual", "audio", "transcription"]), { minItems: 1, unique: true })
  },
  embeddingType: {
    check: Validate.arrayOf(Validate.oneOf(["separate_embedding", "fused_embedding"]), { minItems: 1 })
  },
  embeddingScope: { check: Validate.arrayOf(Validate.oneOf(["clip", "asset"]), { minItems: 1 }) }
})
const v30 = (inputType: string): Validate.Check =>
  Validate.object({
    inferenceId: { check: Validate.string(1) },
    inputType: { check: Validate.oneOf([inputType]), required: true },
    [inputType]: {
      required: true,
      check:
        inputType === "text"
          ? Validate.object({ inputText: { check: Validate.string(1), required: true } })
          : inputType === "image"
            ? Validate.object({ mediaSource: { check: mediaSource(true), required: true } })
            : inputType === "text_image"
              ? Validate.object({
                  inputText: { check: Validate.string(1), required: true },
                  mediaSource: { check: mediaSource(true), required: true }
                })
              : timed30
    }
  })

type Version = "2.7" | "3.0"
const dimensionOf = (version: Version) => (version === "2.7" ? 1024 : 512)
const types = (version: Version) =>
  version === "2.7" ? ["text", "image", "video", "audio"] : ["text", "image", "text_image", "video", "audio"]

const checkBody = (raw: unknown, version: Version): BedrockFault | undefined => {
  const inputType = (raw as { inputType?: unknown } | null)?.inputType
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return Validate.body(Validate.object({}), raw)
  if (inputType === undefined)
    return Validate.body(Validate.object({ inputType: { check: Validate.string(1), required: true } }), {})
  if (typeof inputType !== "string" || !types(version).includes(inputType)) {
    return Validate.body(Validate.object({ inputType: { check: Validate.oneOf(types(version)) } }), { inputType })
  }
  return Validate.body(version === "2.7" ? v27[inputType]! : v30(inputType), raw)
}

interface Body {
  inputType: string
  inputText?: string
  mediaSource?: Source
  text?: { inputText: string }
  image?: { mediaSource: Source }
  text_image?: { inputText: string; mediaSource: Source }
  video?: {
    mediaSource: Source
    segmentation?: { method: string; fixed?: { durationSec: number } }
    embeddingOption?: Array<string>
  }
  audio?: {
    mediaSource: Source
    segmentation?: { method: string; fixed?: { durationSec: number } }
    embeddingOption?: Array<string>
  }
  useFixedLengthSec?: number
  embeddingOption?: Array<string>
}

/** The text and media of a body, whatever the version's layout. */
const partsOf = (b: Body) => {
  const nested = (b.text ?? b.image ?? b.text_image ?? b.video ?? b.audio) as
    | { inputText?: string; mediaSource?: Source }
    | undefined
  return { text: b.inputText ?? nested?.inputText, source: b.mediaSource ?? nested?.mediaSource }
}

const embedOne = async (
  b: Body,
  version: Version,
  io?: AsyncIO
): Promise<{ vector: Array<number>; tokens: number } | string> => {
  const dimension = dimensionOf(version)
  const { text, source } = partsOf(b)
  let vector: Float64Array | undefined = text === undefined ? undefined : embedText(text, dimension)
  if (source !== undefined) {
    const bytes = await bytesOf(source, io)
    if (typeof bytes === "string" && bytes.startsWith("Unable")) return bytes
    if (typeof bytes !== "string" && b.inputType !== "text" && !["png", "jpeg"].includes(formatOf(bytes) ?? "")) {
      return "Invalid image: only PNG and JPEG images are supported."
    }
    const image = typeof bytes === "string" ? embedText(bytes, dimension) : embedBytes(bytes, dimension)
    vector = vector === undefined ? image : vector.map((x, i) => (x + image[i]!) / 2)
  }
  return { vector: toJson(vector!), tokens: text === undefined ? 0 : countTokens(text) }
}

const invoke =
  (version: Version) =>
  (raw: unknown): ModelAnswer | BedrockFault => {
    const fault = checkBody(raw, version)
    if (fault !== undefined) return fault
    const b = raw as Body
    if (b.inputType === "video" || b.inputType === "audio") {
      return invalid(`Input type ${b.inputType} is only supported through StartAsyncInvoke.`)
    }
    const { text, source } = partsOf(b)
    const dimension = dimensionOf(version)
    let vector: Float64Array | undefined = text === undefined ? undefined : embedText(text, dimension)
    if (source !== undefined) {
      let image: Float64Array
      if (source.base64String !== undefined) {
        const bytes = Buffer.from(source.base64String, "base64")
        if (!["png", "jpeg"].includes(formatOf(bytes) ?? ""))
          return invalid("Invalid image: only PNG and JPEG images are supported.")
        if (bytes.length > 5 * 1024 * 1024) return invalid("Invalid image: images must be at most 5 MB.")
        image = embedBytes(bytes, dimension)
      } else image = embedText(`s3:${source.s3Location!.uri}`, dimension)
      vector = vector === undefined ? image : vector.map((x, i) => (x + image[i]!) / 2)
    }
    return { body: { data: [{ embedding: toJson(vector!) }] }, inputTokens: text === undefined ? 0 : countTokens(text) }
  }

const run =
  (version: Version) =>
  async (raw: unknown, io: AsyncIO): Promise<AsyncOutcome> => {
    const b = raw as Body
    if (b.inputType !== "video" && b.inputType !== "audio") {
      const one = await embedOne(b, version, io)
      return typeof one === "string"
        ? { failure: one }
        : { files: { "output.json": JSON.stringify({ data: [{ embedding: one.vector }] }) } }
    }
    const { source } = partsOf(b)
    const bytes = await bytesOf(source!, io)
    if (typeof bytes === "string") return { failure: bytes }
    const duration = durationOf(bytes)
    if (duration === undefined) return { failure: `Invalid ${b.inputType}: the media could not be decoded.` }
    const nested = b.video ?? b.audio
    const step = b.useFixedLengthSec ?? nested?.segmentation?.fixed?.durationSec ?? 6
    const options =
      b.embeddingOption ??
      nested?.embeddingOption ??
      (version === "2.7"
        ? b.inputType === "video"
          ? ["visual-text", "visual-image", "audio"]
          : ["audio"]
        : b.inputType === "video"
          ? ["visual", "audio"]
          : ["audio"])
    const data: Array<Record<string, unknown>> = []
    for (let start = 0; start < duration; start += step) {
      const end = Math.min(duration, start + step)
      for (const option of options) {
        const slice = Buffer.concat([Buffer.from(`${option}:${start}`), Buffer.from(bytes.subarray(0, 4096))])
        data.push({
          embedding: toJson(embedBytes(slice, dimensionOf(version))),
          embeddingOption: option,
          ...(version === "3.0" ? { embeddingScope: "clip" } : {}),
          startSec: start,
          endSec: end
        })
      }
    }
    return { files: { "output.json": JSON.stringify({ data }) } }
  }

const handler = (id: string, version: Version): ModelHandler => ({
  id,
  matches: (base) => base === id || base === id.replace(/:0$/, ""),
  invoke: invoke(version),
  async: { validate: (raw) => checkBody(raw, version), run: run(version) }
})

/** `twelvelabs.marengo-embed-2-7-v1:0`. */
export const marengo27 = handler("twelvelabs.marengo-embed-2-7-v1:0", "2.7")

/** `twelvelabs.marengo-embed-3-0-v1:0`. */
export const marengo30 = handler("twelvelabs.marengo-embed-3-0-v1:0", "3.0")

/** Every TwelveLabs handler. */
export const twelveLabsModels: ReadonlyArray<ModelHandler> = [marengo27, marengo30]
