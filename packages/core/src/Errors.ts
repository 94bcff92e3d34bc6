/**
 * The typed errors of bedrock-embed: one class per cause a caller would handle differently.
 *
 * Every error carries the model id it concerns (when there is one), the AWS request id (when
 * Bedrock answered) and `retryable`, which says whether repeating the same call can help.
 * Messages never contain secrets.
 *
 * @since 0.1.0
 */
import { type Duration, Schema } from "effect"

const common = {
  message: Schema.String,
  modelId: Schema.optional(Schema.String),
  requestId: Schema.optional(Schema.String)
}

const aws = {
  ...common,
  /** The AWS exception name (`ThrottlingException`, …) when the error came from Bedrock. */
  awsErrorName: Schema.optional(Schema.String),
  /** The HTTP status Bedrock answered with. */
  httpStatus: Schema.optional(Schema.Number)
}

/**
 * The request is malformed: bad input, a bad parameter value, or a parameter the model does not
 * support. Raised before any network call; the message says what is wrong and how to fix it.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>()("InvalidRequestError", {
  ...common,
  /** The request field at fault (`dimensions`, `input[3]`, …). */
  param: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * The model string names no model a registered provider knows.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnsupportedModelError extends Schema.TaggedError<UnsupportedModelError>()("UnsupportedModelError", {
  ...common,
  /** The model families that are registered. */
  knownFamilies: Schema.Array(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * No usable AWS identity: no credentials found, an expired token, a failed assume-role.
 *
 * @category errors
 * @since 0.1.0
 */
export class CredentialsError extends Schema.TaggedError<CredentialsError>()("CredentialsError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * Bedrock refused the identity: missing IAM permission, model access not granted, a bad signature.
 *
 * @category errors
 * @since 0.1.0
 */
export class AccessDeniedError extends Schema.TaggedError<AccessDeniedError>()("AccessDeniedError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * Bedrock throttled the call (HTTP 429). Retried by the engine with backoff.
 *
 * @category errors
 * @since 0.1.0
 */
export class ThrottlingError extends Schema.TaggedError<ThrottlingError>()("ThrottlingError", {
  ...aws,
  /** How long Bedrock asked us to wait, when it said. */
  retryAfter: Schema.optional(Schema.Duration)
}) {
  get retryable(): boolean {
    return true
  }
}

/**
 * An account quota is exhausted (`ServiceQuotaExceededException`): waiting seconds will not help.
 *
 * @category errors
 * @since 0.1.0
 */
export class QuotaExceededError extends Schema.TaggedError<QuotaExceededError>()("QuotaExceededError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * The model took too long (HTTP 408), one attempt exceeded the transport's timeout (retried), or
 * the deadline over all attempts and their backoff passed (`deadlineMs` set; not retried, since
 * the engine already spent the budget).
 *
 * @category errors
 * @since 0.1.0
 */
export class ModelTimeoutError extends Schema.TaggedError<ModelTimeoutError>()("ModelTimeoutError", {
  ...aws,
  /** The deadline that passed, in milliseconds, when the whole call (every attempt) ran out of time. */
  deadlineMs: Schema.optional(Schema.Number),
  /** Attempts sent before that deadline passed. */
  attempts: Schema.optional(Schema.Number)
}) {
  get retryable(): boolean {
    return this.deadlineMs === undefined
  }
}

/**
 * The model is not ready to serve yet (`ModelNotReadyException`); retried by the engine.
 *
 * @category errors
 * @since 0.1.0
 */
export class ModelNotReadyError extends Schema.TaggedError<ModelNotReadyError>()("ModelNotReadyError", aws) {
  get retryable(): boolean {
    return true
  }
}

/**
 * The model failed while processing the input (`ModelErrorException`, HTTP 424).
 *
 * @category errors
 * @since 0.1.0
 */
export class ModelInvocationError extends Schema.TaggedError<ModelInvocationError>()("ModelInvocationError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * Bedrock, or the network to it, failed on its side (5xx, connection reset, refused).
 *
 * @category errors
 * @since 0.1.0
 */
export class ServiceUnavailableError extends Schema.TaggedError<ServiceUnavailableError>()(
  "ServiceUnavailableError",
  aws
) {
  get retryable(): boolean {
    return true
  }
}

/**
 * Bedrock rejected the request body (`ValidationException`) — usually a bug or a limit we did not
 * know about, since we validate before sending.
 *
 * @category errors
 * @since 0.1.0
 */
export class BedrockValidationError extends Schema.TaggedError<BedrockValidationError>()(
  "BedrockValidationError",
  aws
) {
  get retryable(): boolean {
    return false
  }
}

/**
 * The model, inference profile or job does not exist in this account and region.
 *
 * @category errors
 * @since 0.1.0
 */
export class ResourceNotFoundError extends Schema.TaggedError<ResourceNotFoundError>()("ResourceNotFoundError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * Bedrock answered with a body that does not match the model's documented response, that is not
 * JSON even after re-sending the call, or that is larger than `maxResponseBytes` (never read past it).
 *
 * @category errors
 * @since 0.1.0
 */
export class ResponseDecodeError extends Schema.TaggedError<ResponseDecodeError>()("ResponseDecodeError", aws) {
  get retryable(): boolean {
    return false
  }
}

/**
 * An async-invoke job ended in `Failed`; `message` carries Bedrock's failure message.
 *
 * @category errors
 * @since 0.1.0
 */
export class AsyncJobFailedError extends Schema.TaggedError<AsyncJobFailedError>()("AsyncJobFailedError", {
  ...common,
  invocationArn: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * An async-invoke job did not finish within the allowed time.
 *
 * @category errors
 * @since 0.1.0
 */
export class AsyncJobTimeoutError extends Schema.TaggedError<AsyncJobTimeoutError>()("AsyncJobTimeoutError", {
  ...common,
  invocationArn: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * Reading or writing S3 failed.
 *
 * @category errors
 * @since 0.1.0
 */
export class ObjectStoreError extends Schema.TaggedError<ObjectStoreError>()("ObjectStoreError", {
  ...aws,
  uri: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return this.httpStatus === undefined || this.httpStatus >= 500
  }
}

/**
 * Errors that come back from a Bedrock call.
 *
 * @category errors
 * @since 0.1.0
 */
export type BedrockError =
  | CredentialsError
  | AccessDeniedError
  | ThrottlingError
  | QuotaExceededError
  | ModelTimeoutError
  | ModelNotReadyError
  | ModelInvocationError
  | ServiceUnavailableError
  | BedrockValidationError
  | ResourceNotFoundError
  | ResponseDecodeError

/**
 * Every error an embedding call can fail with.
 *
 * @category errors
 * @since 0.1.0
 */
export type EmbeddingError = InvalidRequestError | UnsupportedModelError | BedrockError

/**
 * Whether repeating the failed call can help.
 *
 * @category error handling
 * @since 0.1.0
 */
export const isRetryable = (error: { readonly retryable: boolean }): boolean => error.retryable

/**
 * The delay Bedrock asked for, when the error is a throttle that carried one.
 *
 * @category error handling
 * @since 0.1.0
 */
export const retryAfter = (error: unknown): Duration.Duration | undefined =>
  error instanceof ThrottlingError ? error.retryAfter : undefined
