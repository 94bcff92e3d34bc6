/**
 * Cohere Embed v3 (english, multilingual) and v4 on Bedrock (bedrock-wire.md §4.4–4.5), answering
 * as recorded where that differs from the docs (recorded-bedrock/README.md): v4 always answers
 * `embeddings_by_type` and takes v3's `truncate` values too, v3 echoes its texts lower-cased, the
 * body's `id` is the request id, values print as Java floats (`8.506775E-4`).
 */
import type { BedrockFault } from "../Errors.ts"
import type { Floats } from "../Json.ts"
import { formatOf, imageSize } from "../MediaInfo.ts"
import type { InvokeContext, ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import * as Validate from "../Validate.ts"
import { countTokens, embedBytes, embedText, floats } from "../Vectors.ts"

const types = ["float", "int8", "uint8", "binary", "ubinary"] as const
const textInputTypes = ["search_document", "search_query", "classification", "clustering"]

const embeddingTypes = Validate.arrayOf(Validate.oneOf(types), { minItems: 1, maxItems: 5, unique: true })
const texts = Validate.arrayOf(Validate.string(0), { minItems: 0, maxItems: 96 })

const v3Body = Validate.object({
  input_type: { check: Validate.oneOf([...textInputTypes, "image"]), required: true },
  texts: { check: texts },
  images: { check: Validate.arrayOf(Validate.string(1), { maxItems: 1 }) },
  truncate: { check: Validate.oneOf(["NONE", "START", "END"]) },
  embedding_types: { check: embeddingTypes }
})

const v4Body = Validate.object({
  input_type: { check: Validate.oneOf(textInputTypes), required: true },
  texts: { check: texts },
  images: { check: Validate.arrayOf(Validate.string(1), { maxItems: 96 }) },
  inputs: {
    check: Validate.arrayOf(
      Validate.object({
        content: {
          required: true,
          check: Validate.arrayOf(
            Validate.object({
              type: { check: Validate.oneOf(["text", "image_url"]), required: true },
              text: { check: Validate.string(0) },
              // Both documented shapes: the data URI itself, or `{ "url": … }`.
              image_url: {
                check: (value, path) =>
                  typeof value === "string"
                    ? Validate.string(1)(value, path)
                    : Validate.object({ url: { check: Validate.string(1), required: true } })(value, path)
              }
            }),
            { minItems: 1 }
          )
        }
      }),
      { maxItems: 96 }
    )
  },
  embedding_types: { check: embeddingTypes },
  output_dimension: { check: Validate.oneOf([256, 512, 1024, 1536]) },
  max_tokens: {
    check: (value, path) =>
      Number.isInteger(value) && (value as number) > 0 ? undefined : `${path}: expected a positive integer`
  },
  // The docs list NONE|LEFT|RIGHT; live v4 calls with v3's START and END were answered too.
  truncate: { check: Validate.oneOf(["NONE", "LEFT", "RIGHT", "START", "END"]) }
})

const invalid = (message: string): BedrockFault => ({ error: "ValidationException", message })

/** Decodes a data URI image; a message on anything Cohere would reject. */
const readImage = (uri: string, formats: ReadonlyArray<string>): Uint8Array | string => {
  const match = /^data:image\/([a-z]+);base64,(.*)$/s.exec(uri)
  if (match === null) return `invalid image: expected a data URI such as data:image/png;base64,…`
  const declared = match[1] === "jpg" ? "jpeg" : match[1]!
  if (!formats.includes(declared))
    return `invalid image format image/${match[1]}; supported: ${formats.map((f) => `image/${f}`).join(", ")}`
  const bytes = Buffer.from(match[2]!, "base64")
  if (bytes.length > 5 * 1024 * 1024) return "invalid image: images must be at most 5 MB"
  if (formatOf(bytes) !== declared) return `invalid image: the data is not a ${declared} image`
  return bytes
}

/** Image tokens as Cohere documents them for v4: about (pixels ÷ 784) × 4. */
const imageTokens = (bytes: Uint8Array): number => {
  const size = imageSize(bytes)
  return size === undefined ? 1000 : Math.max(4, Math.ceil((size[0] * size[1]) / 784) * 4)
}

const byType = (vectors: ReadonlyArray<Floats>, requested: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const pack = (v: ReadonlyArray<number>, signed: boolean) => {
    const bytes: Array<number> = []
    for (let i = 0; i < v.length; i += 8) {
      let byte = 0
      for (let j = 0; j < 8; j++) byte = (byte << 1) | ((v[i + j] ?? 0) > 0 ? 1 : 0)
      bytes.push(signed ? byte - 128 : byte)
    }
    return bytes
  }
  // Unit vectors' components are small: scale before quantising so the integer types keep resolution.
  const scale = (v: ReadonlyArray<number>) => {
    const max = Math.max(...v.map(Math.abs)) || 1
    return v.map((x) => x / max)
  }
  for (const type of requested) {
    out[type] = vectors.map((vector) => {
      if (type === "float") return vector
      const v = Array.from(vector.values)
      switch (type) {
        case "int8":
          return scale(v).map((x) => Math.round(x * 127))
        case "uint8":
          return scale(v).map((x) => Math.round((x + 1) * 127.5))
        case "binary":
          return pack(v, true)
        default:
          return pack(v, false)
      }
    })
  }
  return out
}

type Part = { type: string; text?: string; image_url?: string | { url: string } }

const answer = (raw: unknown, version: 3 | 4, context: InvokeContext): ModelAnswer | BedrockFault => {
  const fault = Validate.body(version === 3 ? v3Body : v4Body, raw)
  if (fault !== undefined) return fault
  const request = raw as {
    input_type: string
    texts?: Array<string>
    images?: Array<string>
    inputs?: Array<{ content: Array<Part> }>
    embedding_types?: Array<string>
    output_dimension?: number
  }
  const given = [request.texts, request.images, request.inputs].filter((x) => x !== undefined).length
  if (given !== 1) {
    return invalid(
      version === 3
        ? "Malformed input request: provide exactly one of texts or images, please reformat your input and try again."
        : "Malformed input request: provide exactly one of texts, images or inputs, please reformat your input and try again."
    )
  }
  if (version === 3 && request.images !== undefined && request.input_type !== "image") {
    return invalid(
      'Malformed input request: images require input_type "image", please reformat your input and try again.'
    )
  }
  if (version === 3 && request.texts !== undefined && request.input_type === "image") {
    return invalid(
      'Malformed input request: input_type "image" requires images, please reformat your input and try again.'
    )
  }
  const dimension = version === 3 ? 1024 : (request.output_dimension ?? 1536)
  const formats = version === 3 ? ["png", "jpeg"] : ["png", "jpeg", "webp", "gif"]
  const vectors: Array<Floats> = []
  const images: Array<Record<string, unknown>> = []
  let tokens = 0
  for (const text of request.texts ?? []) {
    vectors.push(floats(embedText(text, dimension), "float"))
    tokens += countTokens(text)
  }
  for (const uri of request.images ?? []) {
    const image = readImage(uri, formats)
    if (typeof image === "string") return invalid(image)
    vectors.push(floats(embedBytes(image, dimension), "float"))
    tokens += imageTokens(image)
    const [width, height] = imageSize(image) ?? [0, 0]
    images.push({ width, height, format: formatOf(image), bit_depth: 8 })
  }
  for (const input of request.inputs ?? []) {
    const parts: Array<Float64Array> = []
    for (const part of input.content) {
      if (part.type === "text") {
        parts.push(embedText(part.text ?? "", dimension))
        tokens += countTokens(part.text ?? "")
      } else {
        const url = typeof part.image_url === "string" ? part.image_url : (part.image_url?.url ?? "")
        const image = readImage(url, formats)
        if (typeof image === "string") return invalid(image)
        parts.push(embedBytes(image, dimension))
        tokens += imageTokens(image)
      }
    }
    const mean = new Float64Array(dimension)
    for (const part of parts) for (let i = 0; i < dimension; i++) mean[i]! += part[i]! / parts.length
    let norm = 0
    for (let i = 0; i < dimension; i++) norm += mean[i]! * mean[i]!
    vectors.push(floats(mean, "float", 1 / (Math.sqrt(norm) || 1)))
  }
  const asList = version === 3 && request.embedding_types === undefined
  // The 2026 key order; v3 echoes its texts lower-cased, v4 as sent.
  return {
    body: {
      id: context.requestId,
      texts:
        request.inputs !== undefined
          ? undefined
          : (request.texts ?? []).map((t) => (version === 3 ? t.toLowerCase() : t)),
      inputs: request.inputs,
      images: request.images === undefined ? undefined : images,
      embeddings: asList ? vectors : byType(vectors, request.embedding_types ?? ["float"]),
      response_type: asList ? "embeddings_floats" : "embeddings_by_type"
    },
    inputTokens: tokens
  }
}

/** `cohere.embed-english-v3`. */
export const cohereEnglishV3: ModelHandler = {
  id: "cohere.embed-english-v3",
  matches: (id) => id === "cohere.embed-english-v3",
  invoke: (raw, context) => answer(raw, 3, context)
}

/** `cohere.embed-multilingual-v3`. */
export const cohereMultilingualV3: ModelHandler = {
  id: "cohere.embed-multilingual-v3",
  matches: (id) => id === "cohere.embed-multilingual-v3",
  invoke: (raw, context) => answer(raw, 3, context)
}

/** `cohere.embed-v4:0`. */
export const cohereV4: ModelHandler = {
  id: "cohere.embed-v4:0",
  matches: (id) => id === "cohere.embed-v4:0" || id === "cohere.embed-v4",
  invoke: (raw, context) => answer(raw, 4, context)
}

/** Every Cohere handler. */
export const cohereModels: ReadonlyArray<ModelHandler> = [cohereEnglishV3, cohereMultilingualV3, cohereV4]
