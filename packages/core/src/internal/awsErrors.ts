/**
 * The one place that turns AWS SDK exceptions into our tagged errors, keyed on the exception
 * name and HTTP status — never on message text.
 *
 * @internal
 */
import { Duration } from "effect"
import {
  AccessDeniedError,
  type BedrockError,
  BedrockValidationError,
  CredentialsError,
  ModelInvocationError,
  ModelNotReadyError,
  ModelTimeoutError,
  QuotaExceededError,
  ResourceNotFoundError,
  ResponseDecodeError,
  ServiceUnavailableError,
  ThrottlingError
} from "../Errors.ts"

interface SdkError {
  readonly name?: string
  readonly message?: string
  readonly code?: string
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string }
  readonly $response?: { readonly headers?: Record<string, string | undefined> }
}

const throttlingNames = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "Throttling",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "SlowDown",
  "LimitExceededException",
  "ProvisionedThroughputExceededException"
])

const authNames = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "IncompleteSignatureException",
  "MissingAuthenticationTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch"
])

const expiredNames = new Set(["ExpiredTokenException", "ExpiredToken", "RequestExpired"])

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_STREAM_CANCEL",
  "UND_ERR_SOCKET"
])

// `x-amz-retry-after` is AWS's own hint, in milliseconds; `retry-after` is HTTP's, in seconds or a date.
const retryAfterOf = (headers: Record<string, string | undefined> | undefined): Duration.Duration | undefined => {
  const amz = Number(headers?.["x-amz-retry-after"] || Number.NaN)
  if (Number.isFinite(amz) && amz >= 0) return Duration.millis(amz)
  const raw = headers?.["retry-after"] ?? headers?.["Retry-After"]
  if (raw === undefined) return undefined
  const seconds = Number(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - Date.now()))
}

/**
 * Maps anything the SDK threw to a tagged error. `context` says what was being done, for the
 * message of errors that carry none of their own (network failures).
 */
export const fromSdk = (cause: unknown, context: { readonly modelId?: string; readonly endpoint: string }) => {
  const error = (typeof cause === "object" && cause !== null ? cause : {}) as SdkError
  const name = error.name ?? "Error"
  const status = error.$metadata?.httpStatusCode
  const requestId = error.$metadata?.requestId
  const base = {
    ...(context.modelId === undefined ? {} : { modelId: context.modelId }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(status === undefined ? {} : { httpStatus: status }),
    awsErrorName: name
  }
  const bedrockSays = (fallback: string) => {
    const text = error.message && error.message !== "UnknownError" ? error.message : fallback
    return `Bedrock ${name}${status === undefined ? "" : ` (HTTP ${status})`}: ${text}`
  }
  if (name === "CredentialsProviderError" || name === "TokenProviderError") {
    return new CredentialsError({
      ...base,
      message:
        "No AWS credentials could be loaded. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or " +
        "AWS_BEARER_TOKEN_BEDROCK, or pass aws_access_key_id/aws_secret_access_key, aws_profile_name or api_key."
    })
  }
  if (expiredNames.has(name)) {
    return new CredentialsError({ ...base, message: bedrockSays("the security token has expired; refresh it") })
  }
  if (throttlingNames.has(name) || status === 429) {
    if (name === "ModelNotReadyException") {
      return new ModelNotReadyError({ ...base, message: bedrockSays("the model is not ready yet") })
    }
    const retryAfter = retryAfterOf(error.$response?.headers)
    return new ThrottlingError({
      ...base,
      message: bedrockSays("too many requests"),
      ...(retryAfter === undefined ? {} : { retryAfter })
    })
  }
  switch (name) {
    case "ModelNotReadyException":
      return new ModelNotReadyError({ ...base, message: bedrockSays("the model is not ready yet") })
    case "ServiceQuotaExceededException":
      return new QuotaExceededError({ ...base, message: bedrockSays("a service quota is exhausted") })
    case "ModelTimeoutException":
      return new ModelTimeoutError({ ...base, message: bedrockSays("the model timed out") })
    case "ModelErrorException":
      return new ModelInvocationError({ ...base, message: bedrockSays("the model failed on this input") })
    case "ValidationException":
    case "ConflictException":
      return new BedrockValidationError({ ...base, message: bedrockSays("the request was rejected") })
    case "ResourceNotFoundException":
      return new ResourceNotFoundError({ ...base, message: bedrockSays("not found") })
    case "InternalServerException":
    case "ServiceUnavailableException":
    case "ModelStreamErrorException":
      return new ServiceUnavailableError({ ...base, message: bedrockSays("the service failed") })
    case "TimeoutError":
    case "RequestTimeout":
    case "RequestTimeoutException":
      return new ModelTimeoutError({
        ...base,
        message: `No answer from ${context.endpoint} in time: ${error.message ?? name}`
      })
  }
  if (authNames.has(name) || status === 401 || status === 403) {
    return new AccessDeniedError({ ...base, message: bedrockSays("access denied") })
  }
  if (networkCodes.has(error.code ?? "") || networkCodes.has(name)) {
    return new ServiceUnavailableError({
      ...base,
      message: `Could not reach Bedrock at ${context.endpoint}: ${error.code ?? name} ${error.message ?? ""}`.trim()
    })
  }
  if (name === "SyntaxError" || (name === "Error" && status !== undefined && status < 300)) {
    return new ResponseDecodeError({ ...base, message: `Bedrock sent a body that is not JSON: ${error.message ?? ""}` })
  }
  if (status !== undefined && status >= 500) {
    return new ServiceUnavailableError({ ...base, message: bedrockSays("the service failed") })
  }
  if (status !== undefined && status >= 400) {
    return new BedrockValidationError({ ...base, message: bedrockSays("the request was rejected") })
  }
  return new ServiceUnavailableError({
    ...base,
    message: `Calling Bedrock at ${context.endpoint} failed: ${name}${error.message ? `: ${error.message}` : ""}`
  }) satisfies BedrockError
}
