/**
 * Amazon Titan embedding models: text v1, text v2 and multimodal image v1 (bedrock-wire.md §4.1–4.3).
 * Titan prints vector values as Java doubles of float32s (`1.354217529296875E-4`), as recorded
 * since 2025; text v1's values are bfloat16 ones.
 */
import type { BedrockFault } from "../Errors.ts"
import type { ModelAnswer, ModelHandler } from "../ModelHandler.ts"
import * as Validate from "../Validate.ts"
import { imageSize, isJpeg, isPng } from "../MediaInfo.ts"
import { average, countTokens, embedBytes, embedText, floats } from "../Vectors.ts"

const tooManyTokens = (max: number, count: number): BedrockFault => ({
  error: "ValidationException",
  message: `400 Bad Request: Too many input tokens. Max input tokens: ${max}, request input token count: ${count}`
})

const textV1Body = Validate.object({ inputText: { check: Validate.string(1), required: true } })

/** `amazon.titan-embed-text-v1`. */
export const titanTextV1: ModelHandler = {
  id: "amazon.titan-embed-text-v1",
  matches: (id) => id === "amazon.titan-embed-text-v1" || id === "amazon.titan-embed-g1-text-02",
  invoke: (raw): ModelAnswer | BedrockFault => {
    const fault = Validate.body(textV1Body, raw)
    if (fault !== undefined) return fault
    const { inputText } = raw as { inputText: string }
    const tokens = countTokens(inputText)
    if (tokens > 8192) return tooManyTokens(8192, tokens)
    return {
      body: { embedding: floats(embedText(inputText, 1536), "double", 1, "bfloat16"), inputTextTokenCount: tokens },
      inputTokens: tokens
    }
  }
}

const textV2Body = Validate.object({
  inputText: { check: Validate.string(1), required: true },
  dimensions: { check: Validate.oneOf([256, 512, 1024]) },
  normalize: { check: Validate.boolean },
  embeddingTypes: {
    check: Validate.arrayOf(Validate.oneOf(["float", "binary"]), { minItems: 1, maxItems: 2, unique: true })
  }
})

/** `amazon.titan-embed-text-v2:0`. */
export const titanTextV2: ModelHandler = {
  id: "amazon.titan-embed-text-v2:0",
  matches: (id) => id === "amazon.titan-embed-text-v2:0",
  invoke: (raw): ModelAnswer | BedrockFault => {
    const fault = Validate.body(textV2Body, raw)
    if (fault !== undefined) return fault
    const request = raw as { inputText: string; dimensions?: number; normalize?: boolean; embeddingTypes?: string[] }
    if (request.inputText.length > 50_000) {
      return {
        error: "ValidationException",
        message:
          "Malformed input request: #/inputText: expected maxLength: 50000, actual: " +
          request.inputText.length +
          ", please reformat your input and try again."
      }
    }
    const tokens = countTokens(request.inputText)
    if (tokens > 8192) return tooManyTokens(8192, tokens)
    // `normalize: false` is accepted but changes nothing: the recorded answer still has norm 1.
    const vector = floats(embedText(request.inputText, request.dimensions ?? 1024), "double")
    const types = request.embeddingTypes ?? ["float"]
    const byType: Record<string, unknown> = {}
    if (types.includes("float")) byType.float = vector
    if (types.includes("binary")) byType.binary = Array.from(vector.values, (x) => (x > 0 ? 1 : 0))
    // Key order as recorded; `embeddingsByType` is always there, `embedding` only with floats.
    return {
      body: {
        embedding: types.includes("float") ? vector : undefined,
        embeddingsByType: byType,
        inputTextTokenCount: tokens
      },
      inputTokens: tokens
    }
  }
}

const imageBody = Validate.object({
  inputText: { check: Validate.string(1) },
  inputImage: { check: Validate.string(1) },
  embeddingConfig: {
    check: Validate.object({ outputEmbeddingLength: { check: Validate.oneOf([256, 384, 1024]), required: true } })
  }
})

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/

/** `amazon.titan-embed-image-v1`. */
export const titanImageV1: ModelHandler = {
  id: "amazon.titan-embed-image-v1",
  matches: (id) => id === "amazon.titan-embed-image-v1",
  invoke: (raw): ModelAnswer | BedrockFault => {
    const fault = Validate.body(imageBody, raw)
    if (fault !== undefined) return fault
    const request = raw as {
      inputText?: string
      inputImage?: string
      embeddingConfig?: { outputEmbeddingLength: number }
    }
    if (request.inputText === undefined && request.inputImage === undefined) {
      return {
        error: "ValidationException",
        message:
          "Malformed input request: At least one of inputText or inputImage must be provided, please reformat your input and try again."
      }
    }
    const dimension = request.embeddingConfig?.outputEmbeddingLength ?? 1024
    const tokens = request.inputText === undefined ? 0 : countTokens(request.inputText)
    if (tokens > 256) return tooManyTokens(256, tokens)
    let vector = request.inputText === undefined ? undefined : embedText(request.inputText, dimension)
    if (request.inputImage !== undefined) {
      const data = request.inputImage
      if (data.length % 4 !== 0 || !base64Pattern.test(data)) {
        return { error: "ValidationException", message: "Invalid image: the inputImage field is not valid base64." }
      }
      if ((data.length / 4) * 3 > 25 * 1024 * 1024) {
        return { error: "ValidationException", message: "Invalid image: the image exceeds the 25 MB limit." }
      }
      const bytes = Buffer.from(data, "base64")
      if (!isPng(bytes) && !isJpeg(bytes)) {
        return { error: "ValidationException", message: "Invalid image: only PNG and JPEG images are supported." }
      }
      const size = imageSize(bytes)
      if (size !== undefined && (size[0] > 2048 || size[1] > 2048)) {
        return {
          error: "ValidationException",
          message: `Invalid image: ${size[0]}x${size[1]} pixels exceeds the maximum of 2048x2048.`
        }
      }
      const imageVector = embedBytes(bytes, dimension)
      vector = vector === undefined ? imageVector : average(vector, imageVector)
    }
    return {
      body: { embedding: floats(vector!, "double"), inputTextTokenCount: tokens, message: null },
      inputTokens: tokens
    }
  }
}

/** Every Titan handler. */
export const titanModels: ReadonlyArray<ModelHandler> = [titanTextV1, titanTextV2, titanImageV1]
