/**
 * Our typed errors as OpenAI's `{ error: { message, type, code, param } }` with the right HTTP
 * status — mapped in this one place.
 *
 * @since 0.1.0
 */
import type { Errors } from "@bedrock-embed/core"
import { Duration } from "effect"
import { HttpServerResponse } from "effect/http"

/**
 * An error as the gateway answers it.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenAiError {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  readonly param?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The response for an error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const respond = (e: OpenAiError): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(
    { error: { message: e.message, type: e.type, code: e.code, param: e.param ?? null } },
    { status: e.status, headers: e.headers ?? {} }
  )

/**
 * A client error (400) with a code.
 *
 * @category constructors
 * @since 0.1.0
 */
export const badRequest = (code: string, message: string, status = 400): OpenAiError => ({
  status,
  type: "invalid_request_error",
  code,
  message
})

const retryAfterSeconds = (retryAfter: Duration.Duration | undefined) =>
  retryAfter === undefined ? 1 : Math.max(1, Math.ceil(Duration.toMillis(retryAfter) / 1000))

/**
 * OpenAI's status, type and code for each of our errors.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromError = (
  error: Errors.EmbeddingError | Errors.AsyncJobFailedError | Errors.AsyncJobTimeoutError | Errors.ObjectStoreError
): OpenAiError => {
  const { message } = error
  const param = "param" in error && typeof error.param === "string" ? error.param : undefined
  switch (error._tag) {
    case "InvalidRequestError":
    case "BedrockValidationError":
      return { ...badRequest("invalid_request", message), param }
    case "UnsupportedModelError":
    case "ResourceNotFoundError":
      return { status: 404, type: "invalid_request_error", code: "model_not_found", message }
    case "ThrottlingError":
      return {
        status: 429,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        message,
        headers: { "retry-after": String(retryAfterSeconds(error.retryAfter)) }
      }
    case "QuotaExceededError":
      return { status: 429, type: "insufficient_quota", code: "insufficient_quota", message }
    case "CredentialsError":
    case "AccessDeniedError":
      // The gateway's own AWS identity failed: a server-side problem, not the client's key.
      return { status: 502, type: "api_error", code: "upstream_auth_error", message }
    case "ModelTimeoutError":
      return { status: 504, type: "api_error", code: "upstream_timeout", message }
    case "ModelInvocationError":
      return { status: 422, type: "invalid_request_error", code: "model_error", message }
    case "AsyncJobFailedError":
    case "AsyncJobTimeoutError":
    case "ObjectStoreError":
    case "ResponseDecodeError":
      return { status: 502, type: "api_error", code: "upstream_error", message }
    default:
      return { status: 503, type: "api_error", code: "service_unavailable", message }
  }
}
