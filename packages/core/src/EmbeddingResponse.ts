/**
 * The embedding response: OpenAI's list object, plus `_hidden_params` with cost and call facts
 * (LiteLLM's name, so code written against LiteLLM reads it unchanged).
 *
 * @since 0.1.0
 */

/**
 * One embedding, at the index of its input.
 *
 * @category models
 * @since 0.1.0
 */
export interface EmbeddingData {
  readonly object: "embedding"
  readonly index: number
  /** Numbers, or base64 of little-endian float32 when `encoding_format` is `base64`. */
  readonly embedding: ReadonlyArray<number> | string
  /** Every embedding type requested (`float`, `int8`, `uint8`, `binary`, `ubinary`), when the caller asked for types. */
  readonly embeddings_by_type?: Readonly<Record<string, ReadonlyArray<number>>>
  /** Separate vectors per modality (`video`, `audio`), when the model embedded them apart; `embedding` holds the first. */
  readonly embeddings_by_modality?: Readonly<Record<string, ReadonlyArray<number>>>
}

/**
 * Token and media usage, as Bedrock reported it.
 *
 * @category models
 * @since 0.1.0
 */
export interface EmbeddingUsage {
  readonly prompt_tokens: number
  readonly total_tokens: number
  /** Queries and media counted for billing; present when there were any. */
  readonly prompt_tokens_details?: {
    /** Texts (alone or with media) embedded by a model that bills per query. */
    readonly query_count?: number
    readonly image_count?: number
    readonly video_seconds?: number
    readonly audio_seconds?: number
  }
}

/**
 * Facts about the call that are not part of OpenAI's shape.
 *
 * @category models
 * @since 0.1.0
 */
export interface HiddenParams {
  /** USD cost of the request at the model's on-demand price. */
  readonly response_cost: number
  /** The id Bedrock was called with (model id, profile id or ARN); `model` is the model's own id. */
  readonly model_id: string
  /** The model family that served the request. */
  readonly family: string
  readonly region: string
  /** How many Bedrock calls served the request. */
  readonly calls: number
  /** How many of those calls were retries. */
  readonly retries: number
  /** How many attempts Bedrock throttled (each was retried or failed the request). */
  readonly throttles?: number | undefined
  /** AWS request ids of the calls, in order. */
  readonly request_ids: ReadonlyArray<string>
  /** The ARN of the async-invoke job, for async routes (the first job's, when there are several). */
  readonly _invocation_arn?: string
  /** Every job's ARN, one per input, for async routes. */
  readonly _invocation_arns?: ReadonlyArray<string>
}

/**
 * An OpenAI-format embedding response.
 *
 * @category models
 * @since 0.1.0
 */
export interface EmbeddingResponse {
  readonly object: "list"
  readonly data: ReadonlyArray<EmbeddingData>
  /** The model id, without the `bedrock/` route prefix. */
  readonly model: string
  readonly usage: EmbeddingUsage
  readonly _hidden_params: HiddenParams
}

/**
 * Encodes a vector the way OpenAI's `encoding_format: "base64"` does: little-endian float32 bytes,
 * base64-encoded.
 *
 * @category encoding
 * @since 0.1.0
 */
export const toBase64 = (vector: ReadonlyArray<number>): string => {
  // A Float32Array already holds those bytes: no copy.
  const floats = vector instanceof Float32Array ? vector : Float32Array.from(vector)
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64")
}

/**
 * Decodes an OpenAI base64 embedding back to numbers.
 *
 * @category encoding
 * @since 0.1.0
 */
export const fromBase64 = (data: string): Float32Array => {
  const bytes = Buffer.from(data, "base64")
  // Copy into an aligned buffer: a Buffer view may start at an odd offset.
  const aligned = new Uint8Array(bytes.byteLength)
  aligned.set(bytes)
  return new Float32Array(aligned.buffer)
}
