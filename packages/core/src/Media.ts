/**
 * Inputs and media: turns the caller's input items (text, `data:` URLs, bare base64 with an
 * `input_type`, `s3://` URIs, `{ text, image }` pairs) into typed inputs the providers encode.
 *
 * Everything here is pure and runs before any network call, so bad input fails fast with a
 * message that names the input and says how to fix it.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { InvalidRequestError } from "./Errors.ts"

/**
 * The kinds of content a model can embed.
 *
 * @category models
 * @since 0.1.0
 */
export type Modality = "text" | "image" | "video" | "audio"

/**
 * What one input is, for capability checks: a modality, or text and image embedded together.
 *
 * @category models
 * @since 0.1.0
 */
export type InputKind = Modality | "text_image"

/**
 * Where media bytes come from: inline base64, or an S3 object Bedrock reads itself.
 *
 * @category models
 * @since 0.1.0
 */
export type MediaSource =
  | { readonly _tag: "Base64"; readonly data: string; readonly byteLength: number }
  | { readonly _tag: "S3"; readonly uri: string }

/**
 * A text input.
 *
 * @category models
 * @since 0.1.0
 */
export interface TextInput {
  readonly kind: "text"
  readonly text: string
}

/**
 * An image, video or audio input.
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaInput {
  readonly kind: "image" | "video" | "audio"
  /** `image/png`, `video/mp4`, … */
  readonly mimeType: string
  /** The short format name Bedrock uses: `png`, `jpeg`, `mp4`, `mov`, `mp3`, … */
  readonly format: string
  readonly source: MediaSource
}

/**
 * A text and an image embedded into one vector (multimodal models).
 *
 * @category models
 * @since 0.1.0
 */
export interface TextImageInput {
  readonly kind: "text_image"
  readonly text: string
  readonly image: MediaInput
}

/**
 * One parsed input.
 *
 * @category models
 * @since 0.1.0
 */
export type EmbeddingInput = TextInput | MediaInput | TextImageInput

/**
 * One input item as callers write it: a string (text, data URL, base64, `s3://` URI) or a
 * `{ text, image }` pair for models that embed both into one vector.
 *
 * @category models
 * @since 0.1.0
 */
export type InputItem = string | { readonly text?: string | undefined; readonly image?: string | undefined }

interface KnownType {
  readonly mimeType: string
  readonly kind: MediaInput["kind"]
  readonly format: string
}

const types: ReadonlyArray<KnownType & { readonly aliases?: ReadonlyArray<string> }> = [
  { mimeType: "image/png", kind: "image", format: "png" },
  { mimeType: "image/jpeg", kind: "image", format: "jpeg", aliases: ["image/jpg", "image/pjpeg"] },
  { mimeType: "image/gif", kind: "image", format: "gif" },
  { mimeType: "image/webp", kind: "image", format: "webp" },
  { mimeType: "image/bmp", kind: "image", format: "bmp", aliases: ["image/x-ms-bmp"] },
  { mimeType: "image/tiff", kind: "image", format: "tiff" },
  { mimeType: "video/mp4", kind: "video", format: "mp4" },
  { mimeType: "video/quicktime", kind: "video", format: "mov" },
  { mimeType: "video/x-matroska", kind: "video", format: "mkv" },
  { mimeType: "video/webm", kind: "video", format: "webm" },
  { mimeType: "video/x-flv", kind: "video", format: "flv" },
  { mimeType: "video/mpeg", kind: "video", format: "mpeg" },
  { mimeType: "video/x-ms-wmv", kind: "video", format: "wmv" },
  { mimeType: "video/3gpp", kind: "video", format: "3gp" },
  { mimeType: "audio/mpeg", kind: "audio", format: "mp3", aliases: ["audio/mp3"] },
  { mimeType: "audio/wav", kind: "audio", format: "wav", aliases: ["audio/x-wav", "audio/wave", "audio/vnd.wave"] },
  { mimeType: "audio/ogg", kind: "audio", format: "ogg" }
]

const byMime = new Map<string, KnownType>()
for (const t of types) {
  byMime.set(t.mimeType, t)
  for (const alias of t.aliases ?? []) byMime.set(alias, t)
}

const extensions: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  mp4: "video/mp4",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  webm: "video/webm",
  flv: "video/x-flv",
  mpeg: "video/mpeg",
  mpg: "video/mpeg",
  wmv: "video/x-ms-wmv",
  "3gp": "video/3gpp",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg"
}

/**
 * The media type of a MIME type, or `undefined` when bedrock-embed does not know it.
 *
 * @category parsing
 * @since 0.1.0
 */
export const mediaType = (mimeType: string): KnownType | undefined => byMime.get(mimeType.toLowerCase())

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * The decoded size of a base64 string, or `undefined` when the string is not valid base64.
 *
 * @category parsing
 * @since 0.1.0
 */
export const base64ByteLength = (data: string): number | undefined => {
  if (data.length === 0 || data.length % 4 !== 0 || !base64Pattern.test(data)) return undefined
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0
  return (data.length / 4) * 3 - padding
}

/**
 * Guesses a MIME type from the first bytes of base64 data (magic numbers).
 *
 * @category parsing
 * @since 0.1.0
 */
export const sniff = (base64: string): string | undefined => {
  const b = Buffer.from(base64.slice(0, 24), "base64")
  const ascii = (from: number, to: number) => b.subarray(from, to).toString("latin1")
  if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png"
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg"
  if (ascii(0, 4) === "GIF8") return "image/gif"
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp"
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "audio/wav"
  if (ascii(0, 2) === "BM") return "image/bmp"
  if (ascii(0, 4) === "OggS") return "audio/ogg"
  if (ascii(0, 3) === "ID3" || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return "audio/mpeg"
  if (ascii(4, 8) === "ftyp") return ascii(8, 10) === "qt" ? "video/quicktime" : "video/mp4"
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "video/webm"
  return undefined
}

const fail = (index: number, message: string) =>
  Result.fail(new InvalidRequestError({ message: `input[${index}]: ${message}`, param: `input[${index}]` }))

const supportedList = (kind?: MediaInput["kind"]) =>
  types
    .filter((t) => kind === undefined || t.kind === kind)
    .map((t) => t.mimeType)
    .join(", ")

const dataUrlPattern = /^data:([^;,]*)((?:;[^;,]*)*),/

const parseDataUrl = (value: string, index: number): Result.Result<MediaInput, InvalidRequestError> => {
  const match = dataUrlPattern.exec(value.slice(0, 256))
  if (match === null) return fail(index, "malformed data URL; expected data:<mime type>;base64,<data>")
  const [prefix, mime = "", params = ""] = match
  if (!params.split(";").includes("base64")) {
    return fail(index, `data URL is not base64-encoded; expected data:${mime || "<mime type>"};base64,<data>`)
  }
  const known = mediaType(mime)
  if (known === undefined) {
    return fail(index, `unsupported media type "${mime || "(none)"}"; supported: ${supportedList()}`)
  }
  const data = value.slice(prefix.length)
  const byteLength = base64ByteLength(data)
  if (byteLength === undefined) return fail(index, `the data URL's payload is not valid base64 (${mime})`)
  return Result.succeed({ ...known, source: { _tag: "Base64", data, byteLength } })
}

const parseS3 = (
  value: string,
  index: number,
  inputType: string | undefined
): Result.Result<EmbeddingInput, InvalidRequestError> => {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/.test(value)) {
    return fail(index, `"${value.slice(0, 80)}" is not an S3 object URI; expected s3://<bucket>/<key>`)
  }
  const ext = value.slice(value.lastIndexOf(".") + 1).toLowerCase()
  const byExt = extensions[ext] === undefined ? undefined : mediaType(extensions[ext])
  const kind = isMediaKind(inputType) ? inputType : byExt?.kind
  if (kind === undefined) {
    // An S3 object with no recognisable media extension and no input_type is a text document.
    return Result.succeed({ kind: "text", text: value })
  }
  const known = byExt?.kind === kind ? byExt : types.find((t) => t.kind === kind)!
  return Result.succeed({ ...known, source: { _tag: "S3", uri: value } })
}

const isMediaKind = (value: string | undefined): value is MediaInput["kind"] =>
  value === "image" || value === "video" || value === "audio"

const parseBareBase64 = (
  value: string,
  index: number,
  kind: MediaInput["kind"]
): Result.Result<MediaInput, InvalidRequestError> => {
  const data = value.replace(/\s+/g, "")
  const byteLength = base64ByteLength(data)
  if (byteLength === undefined) {
    return fail(
      index,
      `input_type is "${kind}" but the input is neither valid base64 nor a data URL; pass data:<mime type>;base64,<data>`
    )
  }
  const sniffed = sniff(data)
  const known = sniffed === undefined ? undefined : mediaType(sniffed)
  if (known === undefined || known.kind !== kind) {
    return fail(
      index,
      `could not tell the ${kind} format from its bytes; pass a data URL with the MIME type (supported: ${supportedList(kind)})`
    )
  }
  return Result.succeed({ ...known, source: { _tag: "Base64", data, byteLength } })
}

/**
 * Parses one input item. `inputType` is the request's `input_type`: when it names a modality
 * (`image`, `video`, `audio`), bare base64 strings are read as that media.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseInput = (
  item: InputItem,
  index: number,
  inputType?: string
): Result.Result<EmbeddingInput, InvalidRequestError> => {
  if (typeof item !== "string") {
    const { text, image } = item
    if (text === undefined && image === undefined) return fail(index, "an input object needs `text`, `image` or both")
    if (text !== undefined && text.length === 0) return fail(index, "`text` is empty")
    if (image === undefined) return Result.succeed({ kind: "text", text: text! })
    const parsed = parseString(image, index, "image")
    if (Result.isFailure(parsed)) return parsed
    const media = parsed.success
    if (media.kind !== "image") return fail(index, "`image` must be an image (a data URL, base64 or s3:// URI)")
    return Result.succeed(text === undefined ? media : { kind: "text_image", text, image: media })
  }
  return parseString(item, index, inputType)
}

const parseString = (
  value: string,
  index: number,
  inputType: string | undefined
): Result.Result<EmbeddingInput, InvalidRequestError> => {
  if (value.length === 0) return fail(index, "empty string; every input must have content")
  if (value.startsWith("data:")) return parseDataUrl(value, index)
  if (value.startsWith("s3://")) return parseS3(value, index, inputType)
  if (isMediaKind(inputType)) return parseBareBase64(value, index, inputType)
  return Result.succeed({ kind: "text", text: value })
}

/**
 * Parses every input item, failing on the first bad one.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseInputs = (
  items: ReadonlyArray<InputItem>,
  inputType?: string
): Result.Result<ReadonlyArray<EmbeddingInput>, InvalidRequestError> => {
  const out: Array<EmbeddingInput> = new Array(items.length)
  for (let i = 0; i < items.length; i++) {
    const parsed = parseInput(items[i]!, i, inputType)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    out[i] = parsed.success
  }
  return Result.succeed(out)
}

/**
 * The media of an input, for inputs that carry any.
 *
 * @category getters
 * @since 0.1.0
 */
export const mediaOf = (input: EmbeddingInput): MediaInput | undefined =>
  input.kind === "text" ? undefined : input.kind === "text_image" ? input.image : input

/**
 * The text of an input, for inputs that carry any.
 *
 * @category getters
 * @since 0.1.0
 */
export const textOf = (input: EmbeddingInput): string | undefined =>
  input.kind === "text" || input.kind === "text_image" ? input.text : undefined
