/**
 * TwelveLabs Marengo Embed 2.7 and 3.0 (bedrock-wire.md §4.7–4.8, §5.3). Synchronous answers use
 * the `{ "data": [ … ] }` envelope (the emulator's reading of an UNCONFIRMED shape) for text,
 * image and, on 3.0, text_image and multi_input, with S3 media read from the emulator's S3; async
 * jobs write `output.json` with the same envelope, as TwelveLabs documents. No recording shows how
 * Marengo prints numbers: values print as Java floats, like the other float32 models.
 */
import type { BedrockFault } from "../Errors.ts"
import { durationOf, formatOf } from "../MediaInfo.ts"
import type { AsyncIO, AsyncOutcome, InvokeContext, ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import { stringify } from "../Json.ts"
import { countTokens, embedBytes, embedText, floats } from "../Vectors.ts"
import { type Body, checkBody, dimensionOf, type Source, type Version } from "./TwelveLabsSchema.ts"

type Read = (uri: string) => Promise<Uint8Array | undefined>

const invalid = (message: string): BedrockFault => ({ error: "ValidationException", message })

const bytesOf = async (source: Source, read: Read): Promise<Uint8Array | string> => {
  if (source.base64String !== undefined) return Buffer.from(source.base64String, "base64")
  const uri = source.s3Location!.uri
  return (await read(uri)) ?? `Unable to access the media at ${uri}: the object does not exist or is not readable.`
}

/** The text and media of a body, whatever the version's layout. */
const partsOf = (b: Body): { text: string | undefined; sources: ReadonlyArray<Source> } => {
  if (b.multi_input !== undefined) return { text: b.multi_input.inputText, sources: b.multi_input.mediaSources }
  const nested = (b.text ?? b.image ?? b.text_image ?? b.video ?? b.audio) as
    | { inputText?: string; mediaSource?: Source }
    | undefined
  const source = b.mediaSource ?? nested?.mediaSource
  return { text: b.inputText ?? nested?.inputText, sources: source === undefined ? [] : [source] }
}

/** The one embedding of a text, image, text_image or multi_input body, or why it cannot be made. */
const embedStill = async (
  b: Body,
  version: Version,
  read: Read
): Promise<{ vector: Float64Array; tokens: number } | string> => {
  const dimension = dimensionOf(version)
  const { text, sources } = partsOf(b)
  const parts: Array<Float64Array> = text === undefined ? [] : [embedText(text, dimension)]
  for (const source of sources) {
    const bytes = await bytesOf(source, read)
    if (typeof bytes === "string") return bytes
    if (!["png", "jpeg"].includes(formatOf(bytes) ?? ""))
      return "Invalid image: only PNG and JPEG images are supported."
    if (bytes.length > 5 * 1024 * 1024) return "Invalid image: images must be at most 5 MB."
    parts.push(embedBytes(bytes, dimension))
  }
  const vector = new Float64Array(dimension)
  for (const part of parts) for (let i = 0; i < dimension; i++) vector[i]! += part[i]! / parts.length
  let norm = 0
  for (let i = 0; i < dimension; i++) norm += vector[i]! * vector[i]!
  for (let i = 0; i < dimension; i++) vector[i]! /= Math.sqrt(norm) || 1
  return { vector, tokens: text === undefined ? 0 : countTokens(text) }
}

const invoke =
  (version: Version) =>
  (raw: unknown, context: InvokeContext): BedrockFault | Promise<ModelAnswer | BedrockFault> => {
    const fault = checkBody(raw, version)
    if (fault !== undefined) return fault
    const b = raw as Body
    if (b.inputType === "video" || b.inputType === "audio") {
      return invalid(`Input type ${b.inputType} is only supported through StartAsyncInvoke.`)
    }
    return embedStill(b, version, context.read).then((one) =>
      typeof one === "string"
        ? invalid(one)
        : { body: { data: [{ embedding: floats(one.vector, "float") }] }, inputTokens: one.tokens }
    )
  }

const run =
  (version: Version) =>
  async (raw: unknown, io: AsyncIO): Promise<AsyncOutcome> => {
    const b = raw as Body
    if (b.inputType !== "video" && b.inputType !== "audio") {
      const one = await embedStill(b, version, io.read)
      return typeof one === "string"
        ? { failure: one }
        : { files: { "output.json": stringify({ data: [{ embedding: floats(one.vector, "float") }] }) } }
    }
    const source = partsOf(b).sources[0]!
    const bytes = await bytesOf(source, io.read)
    if (typeof bytes === "string") return { failure: bytes }
    const duration = durationOf(bytes)
    if (duration === undefined) return { failure: `Invalid ${b.inputType}: the media could not be decoded.` }
    const nested = b.video ?? b.audio
    const from = Math.min(duration, b.startSec ?? nested?.startSec ?? 0)
    const to = Math.min(duration, b.lengthSec !== undefined ? from + b.lengthSec : (nested?.endSec ?? duration))
    const step =
      b.useFixedLengthSec ??
      nested?.segmentation?.fixed?.durationSec ??
      nested?.segmentation?.dynamic?.minDurationSec ??
      6
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
    // 3.0: separate embeddings per option and/or one fused one, per clip and/or for the whole asset.
    const kinds = version === "3.0" && nested?.embeddingType?.includes("fused_embedding") ? ["fused"] : []
    const labels =
      version === "3.0" && nested?.embeddingType?.includes("separate_embedding") === false
        ? kinds
        : [...options, ...kinds]
    const scopes = version === "3.0" ? (nested?.embeddingScope ?? ["clip"]) : ["clip"]
    const embed = (label: string, start: number, end: number, scope: string) => {
      const slice = Buffer.concat([Buffer.from(`${label}:${scope}:${start}`), Buffer.from(bytes.subarray(0, 4096))])
      return {
        embedding: floats(embedBytes(slice, dimensionOf(version)), "float"),
        embeddingOption: label,
        ...(version === "3.0" ? { embeddingScope: scope } : {}),
        startSec: start,
        endSec: end
      }
    }
    const data: Array<Record<string, unknown>> = []
    if (scopes.includes("clip")) {
      for (let start = from; start < to; start += step) {
        for (const label of labels) data.push(embed(label, start, Math.min(to, start + step), "clip"))
      }
    }
    if (scopes.includes("asset")) for (const label of labels) data.push(embed(label, from, to, "asset"))
    return { files: { "output.json": stringify({ data }) } }
  }

const handler = (id: string, version: Version, profileOnly: (region: string) => boolean): ModelHandler => ({
  id,
  matches: (base) => base === id,
  invoke: invoke(version),
  profileOnly,
  async: { validate: (raw) => checkBody(raw, version), run: run(version) }
})

/** `twelvelabs.marengo-embed-2-7-v1:0`: InvokeModel through inference profiles only. */
export const marengo27 = handler("twelvelabs.marengo-embed-2-7-v1:0", "2.7", () => true)

/** `twelvelabs.marengo-embed-3-0-v1:0`: the base model answers InvokeModel in us-east-1 and ap-northeast-2. */
export const marengo30 = handler(
  "twelvelabs.marengo-embed-3-0-v1:0",
  "3.0",
  (region) => region !== "us-east-1" && region !== "ap-northeast-2"
)

/** Every TwelveLabs handler. */
export const twelveLabsModels: ReadonlyArray<ModelHandler> = [marengo27, marengo30]
