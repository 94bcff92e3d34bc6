/**
 * Effect AI's `EmbeddingModel` (from `effect/ai`) for every AWS Bedrock embedding model.
 *
 * `EmbeddingModel` merges concurrent `embed` calls into one provider `embedMany` of any size; the
 * engine then splits it into calls of the model's batch size (96 for Cohere) with bounded
 * concurrency, so 200 concurrent `embed` calls on Cohere make ⌈200/96⌉ = 3 Bedrock calls and
 * every caller gets its own vector. Bedrock errors become `AiError` reasons (throttling →
 * `RateLimitError` with `retryAfter`; model timeout 408 → `InternalProviderError`; model
 * failure 424 → `InvalidRequestError`); the engine has already retried what it could.
 *
 * If you are writing another integration, start from `Embeddings.embed` in `@bedrock-embed/core`.
 *
 * @since 0.1.0
 */
import { type EmbeddingRequest, Embeddings, type Errors } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Layer } from "effect"
import { AiError, EmbeddingModel } from "effect/ai"

/**
 * Options of the model.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The model: `amazon.titan-embed-text-v2:0`, `us.cohere.embed-v4:0`, an ARN, or `bedrock/<id>`. */
  readonly model: string
  /** Output size, for models that offer several (also what `EmbeddingModel.Dimensions` provides). */
  readonly dimensions?: number | undefined
  /** What the vectors are for: `document` (default) or `query`. */
  readonly role?: "document" | "query" | undefined
  /** Any other request parameter: region, endpoint, identity, the model's own parameters. */
  readonly request?: EmbeddingRequest.Params | undefined
}

const reasonOf = (error: Errors.EmbeddingError): AiError.AiErrorReason => {
  const description = error.message
  switch (error._tag) {
    case "ThrottlingError":
      return new AiError.RateLimitError(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter })
    case "QuotaExceededError":
      return new AiError.QuotaExhaustedError({})
    case "CredentialsError":
      return new AiError.AuthenticationError({ kind: "MissingKey", description })
    case "AccessDeniedError":
      return new AiError.AuthenticationError({
        kind: error.awsErrorName === "AccessDeniedException" ? "InsufficientPermissions" : "InvalidKey",
        description
      })
    case "InvalidRequestError":
      return new AiError.InvalidRequestError({
        description,
        ...(error.param === undefined ? {} : { parameter: error.param })
      })
    case "UnsupportedModelError":
    case "ResourceNotFoundError":
      return new AiError.InvalidRequestError({ description, parameter: "model" })
    case "BedrockValidationError":
    case "ModelInvocationError":
      // 424: the model could not process this input — a request problem, not a provider outage.
      return new AiError.InvalidRequestError({ description })
    case "ModelTimeoutError":
    case "ModelNotReadyError":
      return new AiError.InternalProviderError({ description })
    case "ServiceUnavailableError":
      return error.httpStatus === undefined
        ? new AiError.NetworkError({ reason: "TransportError", method: "POST", url: "bedrock-runtime", description })
        : new AiError.InternalProviderError({ description })
    case "ResponseDecodeError":
      return new AiError.InvalidOutputError({ description })
  }
}

/**
 * A bedrock-embed error as an `AiError`.
 *
 * @category errors
 * @since 0.1.0
 */
export const toAiError = (error: Errors.EmbeddingError, method: string): AiError.AiError =>
  AiError.make({ module: "BedrockEmbeddingModel", method, reason: reasonOf(error) })

/**
 * Makes the `EmbeddingModel` service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options) {
  const engine = yield* Embeddings.Embeddings
  const base = {
    ...options.request,
    model: options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`,
    role: options.role ?? "document",
    ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
  }
  return yield* EmbeddingModel.make({
    embedMany: ({ inputs }) =>
      engine.embed({ ...base, input: inputs }).pipe(
        Effect.map((response) => ({
          results: response.data.map((item) => [...(item.embedding as ReadonlyArray<number>)]),
          usage: { inputTokens: response.usage.prompt_tokens }
        })),
        Effect.mapError((error) => toAiError(error, "embedMany"))
      )
  })
})

/**
 * `EmbeddingModel` and its `Dimensions` for a model; needs the bedrock-embed engine
 * (`BedrockEmbed.layer()`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<EmbeddingModel.EmbeddingModel | EmbeddingModel.Dimensions, never, Embeddings.Embeddings> =>
  Layer.merge(
    Layer.effect(EmbeddingModel.EmbeddingModel, make(options)),
    Layer.succeed(
      EmbeddingModel.Dimensions,
      options.dimensions ?? BedrockEmbed.findSpec(options.model)?.capabilities.defaultDimension ?? 0
    )
  )
