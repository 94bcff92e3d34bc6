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
import { durationOf as probeDuration } from "./internal/duration.ts"

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
export type InputKind = Modality | "text_image" | "multi_input"

/**
 * Where media bytes come from: inline base64, or an S3 object Bedrock reads itself.
 *
 * @category models
 * @since 0.1.0
 */
export type MediaSource =
  | { readonly _tag: "Base64"; readonly data: string; readonly byteLength: number }
  | {
      readonly _tag: "S3"
      readonly uri: string
      /** The account that owns the bucket, when the caller named it with the source. */
      readonly bucketOwner?: string | undefined
    }

/**
 * A text input.
 *
 * @category models
 * @since 0.1.0
 */
export interface TextInput {
  readonly kind: "text"
  readonly text: string
  /** Fields of a content block other than the text itself (`truncationMode`, …), for the model's encoder. */
  readonly options?: Readonly<Record<string, unknown>> | undefined
}

/**
 * An image, video or audio input.
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaInput {
  readonly kind: "image" | "video" | "audio"
  /** `image/png`, `video/mp4`, … as the caller spelled it (`image/jpg` stays `image/jpg`). */
  readonly mimeType: string
  /** The short format name Bedrock uses: `png`, `jpeg`, `mp4`, `mov`, `mp3`, … */
  readonly format: string
  readonly source: MediaSource
  /** Fields of a content block other than format and source (`embeddingMode`, `detailLevel`, …). */
  readonly options?: Readonly<Record<string, unknown>> | undefined
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
 * A text that references named media as `<@name>`, embedded together into one vector.
 *
 * @category models
 * @since 0.1.0
 */
export interface MultiInput {
  readonly kind: "multi_input"
  readonly text: string
  readonly media: ReadonlyArray<{ readonly name: string; readonly media: MediaInput }>
}

/**
 * One parsed input.
 *
 * @category models
 * @since 0.1.0
 */
export type EmbeddingInput = TextInput | MediaInput | TextImageInput | MultiInput

/**
 * Where a content block's bytes come from: inline base64 or an S3 object.
 *
 * @category models
 * @since 0.1.0
 */
export type BlockSource =
  | { readonly bytes: string }
  | { readonly base64String: string }
  | { readonly s3Location: { readonly uri: string; readonly bucketOwner?: string | undefined } }

/**
 * A content block, in the shape Bedrock's multimodal bodies use (`{ image: { format, source } }`);
 * fields beside `format` and `source` (or `value`) are passed to the model's encoder.
 *
 * @category models
 * @since 0.1.0
 */
export type ContentBlock =
  | {
      readonly text: {
        readonly value?: string | undefined
        readonly source?: BlockSource | undefined
        readonly [option: string]: unknown
      }
    }
  | { readonly image: { readonly format: string; readonly source: BlockSource; readonly [option: string]: unknown } }
  | { readonly video: { readonly format: string; readonly source: BlockSource; readonly [option: string]: unknown } }
  | { readonly audio: { readonly format: string; readonly source: BlockSource; readonly [option: string]: unknown } }

/**
 * One part of mixed content: a text, or an image as a data URL (`image_url` a string or `{ url }`).
 *
 * @category models
 * @since 0.1.0
 */
export type ContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly image_url: string | { readonly url: string } }

/**
 * One input item as callers write it: a string (text, data URL, base64, `s3://` URI), a
 * `{ text, image }` pair for models that embed both into one vector, a content block, or mixed
 * content (`{ content: [parts] }`, at most one text and one image).
 *
 * @category models
 * @since 0.1.0
 */
export type InputItem =
  | string
  | { readonly text?: string | undefined; readonly image?: string | undefined }
  | ContentBlock
  | ContentPart
  | { readonly content: ReadonlyArray<ContentPart> }

/**
 * Request-level media for text inputs: `media_source` pairs every text with one image
 * (`text_image`); `media_sources` names images the text references as `<@name>` (`multi_input`).
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestMedia {
  readonly inputType?: string | undefined
  readonly mediaSource?: string | undefined
  readonly mediaSources?: Readonly<Record<string, string>> | undefined
}

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
for (const { mimeType, kind, format, aliases } of types) {
  const known = { mimeType, kind, format }
  byMime.set(mimeType, known)
  for (const alias of aliases ?? []) byMime.set(alias, known)
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
  return Result.succeed({ ...known, mimeType: mime.toLowerCase(), source: { _tag: "Base64", data, byteLength } })
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

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const byFormat = new Map<string, KnownType>()
for (const { mimeType, kind, format } of types) {
  if (!byFormat.has(`${kind}:${format}`)) byFormat.set(`${kind}:${format}`, { mimeType, kind, format })
}
// Bedrock's other spellings of formats.
byFormat.set("image:jpg", byFormat.get("image:jpeg")!)
byFormat.set("video:mpg", { mimeType: "video/mpeg", kind: "video", format: "mpg" })
byFormat.set("video:three_gp", byFormat.get("video:3gp")!)

const describeItem = (item: unknown): string =>
  isRecord(item) ? `an object with ${Object.keys(item).join(", ") || "no keys"}` : typeof item

/** A content block's source: `{ bytes }` / `{ base64String }` inline, or `{ s3Location: { uri } }`. */
const parseBlockSource = (
  source: unknown,
  index: number,
  where: string
): Result.Result<MediaSource, InvalidRequestError> => {
  if (isRecord(source)) {
    const inline = source.bytes ?? source.base64String
    if (typeof inline === "string") {
      const data = inline.replace(/\s+/g, "")
      const byteLength = base64ByteLength(data)
      if (byteLength === undefined) return fail(index, `${where}.source holds bytes that are not valid base64`)
      return Result.succeed({ _tag: "Base64", data, byteLength })
    }
    const location = source.s3Location
    if (isRecord(location) && typeof location.uri === "string") {
      if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/.test(location.uri)) {
        return fail(index, `${where}.source.s3Location.uri "${location.uri.slice(0, 80)}" is not s3://<bucket>/<key>`)
      }
      const owner = location.bucketOwner
      if (owner !== undefined && typeof owner !== "string")
        return fail(index, `${where}.source.s3Location.bucketOwner must be a string`)
      return Result.succeed({ _tag: "S3", uri: location.uri, ...(owner === undefined ? {} : { bucketOwner: owner }) })
    }
  }
  return fail(index, `${where}.source must be { bytes: "<base64>" } or { s3Location: { uri: "s3://…" } }`)
}

/** `{ text: {…} }`, `{ image: {…} }`, `{ video: {…} }` or `{ audio: {…} }`. */
const parseBlock = (
  kind: Modality,
  block: Record<string, unknown>,
  index: number
): Result.Result<EmbeddingInput, InvalidRequestError> => {
  const { format, source, value, ...options } = block
  const extra = Object.keys(options).length > 0 ? { options } : {}
  if (kind === "text") {
    if (typeof value === "string") {
      if (source !== undefined) return fail(index, "a text block takes value or source, not both")
      if (value.length === 0) return fail(index, "the text block's value is empty")
      return Result.succeed({ kind: "text", text: value, ...extra })
    }
    const parsed = parseBlockSource(source, index, "text")
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    if (parsed.success._tag !== "S3")
      return fail(index, "a text block's source must be an S3 object: pass the text as value")
    return Result.succeed({ kind: "text", text: parsed.success.uri, ...extra })
  }
  if (value !== undefined) return fail(index, `${kind} blocks have no value: give format and source`)
  if (typeof format !== "string") {
    return fail(index, `the ${kind} block needs a format (${supportedFormats(kind)})`)
  }
  const known = byFormat.get(`${kind}:${format.toLowerCase()}`)
  if (known === undefined) {
    return fail(index, `unsupported ${kind} format "${format}"; supported: ${supportedFormats(kind)}`)
  }
  const parsed = parseBlockSource(source, index, kind)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  return Result.succeed({ ...known, kind, format: known.format, source: parsed.success, ...extra })
}

const supportedFormats = (kind: Modality) =>
  [...byFormat.entries()]
    .filter(([key]) => key.startsWith(`${kind}:`))
    .map(([key]) => key.slice(kind.length + 1))
    .join(", ")

const imageUrlOf = (part: Record<string, unknown>): string | undefined => {
  const url = part.image_url
  if (typeof url === "string") return url
  return isRecord(url) && typeof url.url === "string" ? url.url : undefined
}

/** Mixed content parts: at most one text and one image, embedded together. */
const parseParts = (
  parts: ReadonlyArray<unknown>,
  index: number
): Result.Result<EmbeddingInput, InvalidRequestError> => {
  let text: string | undefined
  let image: string | undefined
  for (const part of parts) {
    if (isRecord(part) && part.type === "text" && typeof part.text === "string") {
      if (text !== undefined)
        return fail(index, "content holds more than one text part; send each text as its own input")
      text = part.text
    } else if (isRecord(part) && part.type === "image_url" && imageUrlOf(part) !== undefined) {
      if (image !== undefined)
        return fail(index, "content holds more than one image part; send each image as its own input")
      image = imageUrlOf(part)
    } else {
      return fail(
        index,
        'each content part is { type: "text", text } or { type: "image_url", image_url: "data:…" | { url: "data:…" } }'
      )
    }
  }
  if (text === undefined && image === undefined) return fail(index, "content is empty")
  return parseInput({ text, image }, index)
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
  if (typeof item === "string") return parseString(item, index, inputType)
  if (!isRecord(item)) return fail(index, `an input is a string or an object; got ${describeItem(item)}`)
  const record = item as Record<string, unknown>
  if (Array.isArray(record.content)) return parseParts(record.content, index)
  if (record.type === "text" || record.type === "image_url") return parseParts([record], index)
  const blocks = (["text", "image", "video", "audio"] as const).filter((key) => isRecord(record[key]))
  if (blocks.length > 0) {
    const others = Object.keys(record).filter((key) => !(blocks as ReadonlyArray<string>).includes(key))
    if (blocks.length > 1 || others.length > 0) {
      return fail(
        index,
        `a content block object holds exactly one of text, image, video or audio; got ${Object.keys(record).join(", ")}`
      )
    }
    return parseBlock(blocks[0]!, record[blocks[0]!] as Record<string, unknown>, index)
  }
  const { text, image } = record
  const unknownKeys = Object.keys(record).filter((key) => key !== "text" && key !== "image")
  if (
    unknownKeys.length > 0 ||
    (text !== undefined && typeof text !== "string") ||
    (image !== undefined && typeof image !== "string")
  ) {
    return fail(
      index,
      `${describeItem(item)} is not an input: use a string, { text, image } (strings), a content block such as { image: { format, source } }, or { content: [parts] }`
    )
  }
  if (text === undefined && image === undefined) return fail(index, "an input object needs `text`, `image` or both")
  if (text !== undefined && text.length === 0) return fail(index, "`text` is empty")
  if (image === undefined) return Result.succeed({ kind: "text", text: text! })
  const parsed = parseString(image, index, "image")
  if (Result.isFailure(parsed)) return parsed
  const media = parsed.success
  if (media.kind !== "image") return fail(index, "`image` must be an image (a data URL, base64 or s3:// URI)")
  return Result.succeed(text === undefined ? media : { kind: "text_image", text, image: media })
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

const paramError = (param: string, message: string) =>
  Result.fail(new InvalidRequestError({ message: `${param}: ${message}`, param }))

/** One request-level image (`media_source`, a `media_sources` entry), parsed like an input. */
const parseRequestImage = (value: string, param: string): Result.Result<MediaInput, InvalidRequestError> => {
  // An S3 key that names a video or audio file is not an image, whatever it is used for.
  const byName = value.startsWith("s3://") ? parseS3(value, 0, undefined) : undefined
  if (
    byName !== undefined &&
    Result.isSuccess(byName) &&
    (byName.success.kind === "video" || byName.success.kind === "audio")
  ) {
    return paramError(param, "must be an image: a data URL, base64 or an s3:// URI")
  }
  const parsed = parseString(value, 0, "image")
  if (Result.isFailure(parsed)) {
    return paramError(param, parsed.failure.message.replace(/^input\[0\]: /, ""))
  }
  if (parsed.success.kind !== "image") return paramError(param, "must be an image: a data URL, base64 or an s3:// URI")
  return Result.succeed(parsed.success as MediaInput)
}

const referencePattern = /<@([^>\s]+)>/g

/** Applies `media_source` / `media_sources` to the parsed text inputs. */
const withRequestMedia = (
  inputs: Array<EmbeddingInput>,
  media: RequestMedia
): Result.Result<ReadonlyArray<EmbeddingInput>, InvalidRequestError> => {
  const { mediaSource, mediaSources } = media
  const inputType =
    media.inputType ??
    (mediaSource !== undefined ? "text_image" : mediaSources !== undefined ? "multi_input" : undefined)
  if (mediaSource !== undefined && inputType !== "text_image") {
    return paramError(
      "media_source",
      `pairs an image with each text for input_type "text_image"; input_type is "${inputType}"`
    )
  }
  if (mediaSources !== undefined && inputType !== "multi_input") {
    return paramError("media_sources", `names the images of input_type "multi_input"; input_type is "${inputType}"`)
  }
  if (inputType === "text_image") {
    if (mediaSource === undefined) {
      if (inputs.every((input) => input.kind === "text_image")) return Result.succeed(inputs)
      return paramError(
        "media_source",
        "Input type 'text_image' requires the 'media_source' parameter: the image (a data URL or s3:// URI) embedded with each text, or give inputs as { text, image } pairs"
      )
    }
    const image = parseRequestImage(mediaSource, "media_source")
    if (Result.isFailure(image)) return Result.fail(image.failure)
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!
      if (input.kind !== "text")
        return fail(i, `is ${input.kind}; with media_source every input is the text paired with that image`)
      inputs[i] = { kind: "text_image", text: input.text, image: image.success }
    }
    return Result.succeed(inputs)
  }
  if (inputType === "multi_input") {
    const entries = Object.entries(mediaSources ?? {})
    if (entries.length === 0) {
      return paramError(
        "media_sources",
        "Input type 'multi_input' requires a non-empty 'media_sources' mapping of name to media, e.g. { \"img1\": \"s3://bucket/a.jpg\" }, referenced from the text as <@img1>"
      )
    }
    const named: Array<{ readonly name: string; readonly media: MediaInput }> = []
    for (const [name, value] of entries) {
      if (!/^[A-Za-z0-9_-]+$/.test(name))
        return paramError(`media_sources.${name}`, "names are letters, digits, _ and -")
      const image = parseRequestImage(value, `media_sources.${name}`)
      if (Result.isFailure(image)) return Result.fail(image.failure)
      named.push({ name, media: image.success })
    }
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!
      if (input.kind !== "text")
        return fail(i, "is not text; multi_input inputs are texts that reference media_sources as <@name>")
      const missing = [...input.text.matchAll(referencePattern)]
        .map((match) => match[1]!)
        .filter((name) => !named.some((entry) => entry.name === name))
      if (missing.length > 0) {
        return fail(
          i,
          `references ${missing.map((name) => `<@${name}>`).join(", ")}, which media_sources does not name (it names ${named.map((entry) => entry.name).join(", ")})`
        )
      }
      inputs[i] = { kind: "multi_input", text: input.text, media: named }
    }
  }
  return Result.succeed(inputs)
}

/**
 * Parses every input item, failing on the first bad one. With `media`, request-level media
 * (`media_source`, `media_sources`) is joined to the text inputs.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseInputs = (
  items: ReadonlyArray<InputItem>,
  inputType?: string,
  media: RequestMedia = {}
): Result.Result<ReadonlyArray<EmbeddingInput>, InvalidRequestError> => {
  const out: Array<EmbeddingInput> = new Array(items.length)
  const modality = isMediaKind(inputType) ? inputType : undefined
  for (let i = 0; i < items.length; i++) {
    // A multi_input may be media alone: its text is then empty.
    if (inputType === "multi_input" && items[i] === "") {
      out[i] = { kind: "text", text: "" }
      continue
    }
    const parsed = parseInput(items[i]!, i, modality)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    out[i] = parsed.success
  }
  if (
    media.mediaSource === undefined &&
    media.mediaSources === undefined &&
    inputType !== "text_image" &&
    inputType !== "multi_input"
  ) {
    return Result.succeed(out)
  }
  return withRequestMedia(out, { ...media, inputType })
}

/**
 * The media of an input, for inputs that carry any.
 *
 * @category getters
 * @since 0.1.0
 */
export const mediaOf = (input: EmbeddingInput): MediaInput | undefined =>
  input.kind === "text"
    ? undefined
    : input.kind === "text_image"
      ? input.image
      : input.kind === "multi_input"
        ? input.media[0]?.media
        : input

/**
 * Every media item of an input (several for `multi_input`).
 *
 * @category getters
 * @since 0.1.0
 */
export const mediaListOf = (input: EmbeddingInput): ReadonlyArray<MediaInput> =>
  input.kind === "multi_input"
    ? input.media.map((entry) => entry.media)
    : mediaOf(input) === undefined
      ? []
      : [mediaOf(input)!]

const durations = new WeakMap<MediaInput, number | null>()

/**
 * Seconds of inline video or audio, read from its container headers (MP4/MOV, WAV, Ogg, MP3,
 * WebM/Matroska); `undefined` for S3 sources and containers that do not say.
 *
 * @category getters
 * @since 0.1.0
 */
export const durationOf = (media: MediaInput): number | undefined => {
  if (media.source._tag !== "Base64" || (media.kind !== "video" && media.kind !== "audio")) return undefined
  let seconds = durations.get(media)
  if (seconds === undefined) {
    seconds = probeDuration(media.format, Buffer.from(media.source.data, "base64")) ?? null
    durations.set(media, seconds)
  }
  return seconds ?? undefined
}

/**
 * The text of an input, for inputs that carry any.
 *
 * @category getters
 * @since 0.1.0
 */
export const textOf = (input: EmbeddingInput): string | undefined =>
  input.kind === "text" || input.kind === "text_image" || input.kind === "multi_input" ? input.text : undefined
