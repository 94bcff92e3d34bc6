/**
 * A Vercel AI SDK embedding model (`EmbeddingModelV4`, for `ai@7`) on the bedrock-embed engine.
 *
 * `maxEmbeddingsPerCall` is the model's own batch size (96 for Cohere, 1 for Titan and Nova), so
 * `embedMany` makes exactly the calls Bedrock needs. Exactly one layer retries: the engine
 * (throttling and 5xx, with backoff). Failures reach `ai` as `APICallError` with
 * `isRetryable: false`, so `ai`'s own `maxRetries` never retries on top of it.
 *
 * If you are writing another integration, start from `Embeddings.embed` in `@bedrock-embed/core`.
 *
 * @since 0.1.0
 */
import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result } from "@ai-sdk/provider"
import { APICallError, TooManyEmbeddingValuesForCallError } from "@ai-sdk/provider"
import type { EmbeddingRequest, EmbeddingResponse } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"

/**
 * Provider options (`providerOptions.bedrockEmbed`): the model's own parameters by its own names
 * (`normalize`, `embedding_types`, `input_type`, `embeddingPurpose`, …), plus `role`.
 *
 * @category models
 * @since 0.1.0
 */
export type BedrockEmbedProviderOptions = EmbeddingRequest.Params

/**
 * An AI SDK embedding model backed by bedrock-embed.
 *
 * @category models
 * @since 0.1.0
 */
export class BedrockEmbedModel implements EmbeddingModelV4 {
  readonly specificationVersion = "v4"
  readonly provider = "bedrock-embed"
  readonly supportsParallelCalls = true
  readonly maxEmbeddingsPerCall: number
  readonly modelId: string
  private readonly client: BedrockEmbed.Client
  private readonly base: EmbeddingRequest.Params

  constructor(modelId: string, client: BedrockEmbed.Client, base: EmbeddingRequest.Params) {
    this.modelId = modelId
    this.client = client
    this.base = base
    // The spec's batch size; unknown models fail on the first call with a typed error.
    this.maxEmbeddingsPerCall = BedrockEmbed.findSpec(modelId)?.capabilities.maxInputsPerCall ?? 1
  }

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    if (options.values.length > this.maxEmbeddingsPerCall) {
      throw new TooManyEmbeddingValuesForCallError({
        provider: this.provider,
        modelId: this.modelId,
        maxEmbeddingsPerCall: this.maxEmbeddingsPerCall,
        values: options.values
      })
    }
    const request = {
      ...this.base,
      ...options.providerOptions?.bedrockEmbed,
      model: this.modelId.startsWith("bedrock/") ? this.modelId : `bedrock/${this.modelId}`,
      input: options.values,
      ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
    }
    let response: EmbeddingResponse.EmbeddingResponse
    try {
      response = await this.client.embedding(request, { signal: options.abortSignal })
    } catch (error) {
      throw toApiCallError(error, request)
    }
    return {
      embeddings: response.data.map((item) => [...(item.embedding as ReadonlyArray<number>)]),
      usage: { tokens: response.usage.prompt_tokens },
      providerMetadata: {
        bedrockEmbed: {
          responseCost: response._hidden_params.response_cost,
          calls: response._hidden_params.calls,
          retries: response._hidden_params.retries,
          requestIds: [...response._hidden_params.request_ids]
        }
      },
      warnings: []
    }
  }
}

const statusOf = (error: { readonly _tag?: string; readonly httpStatus?: number }): number | undefined => {
  if (error.httpStatus !== undefined) return error.httpStatus
  switch (error._tag) {
    case "InvalidRequestError":
    case "UnsupportedModelError":
      return 400
    case "CredentialsError":
      return 401
    default:
      return undefined
  }
}

/**
 * A bedrock-embed error as the `APICallError` `ai` expects. `isRetryable` is false on purpose:
 * the engine already retried what could be retried.
 *
 * @category errors
 * @since 0.1.0
 */
export const toApiCallError = (error: unknown, request: unknown): APICallError => {
  const typed = (typeof error === "object" && error !== null ? error : {}) as {
    readonly _tag?: string
    readonly httpStatus?: number
    readonly message?: string
    readonly requestId?: string
  }
  const status = statusOf(typed)
  // Never echo identity back in the error: keys, tokens, profiles, roles.
  const safe = Object.fromEntries(
    Object.entries(request as Record<string, unknown>).filter(
      ([key]) =>
        key === "aws_region_name" ||
        key === "aws_bedrock_runtime_endpoint" ||
        !(key.startsWith("aws_") || key === "api_key")
    )
  )
  return new APICallError({
    message: `${typed._tag ?? "Error"}: ${typed.message ?? String(error)}`,
    url: "bedrock-runtime:InvokeModel",
    requestBodyValues: { ...safe, input: undefined },
    ...(status === undefined ? {} : { statusCode: status }),
    cause: error,
    isRetryable: false,
    data: { tag: typed._tag, requestId: typed.requestId }
  })
}
