/**
 * The embedding request: OpenAI's embeddings request plus LiteLLM's Bedrock extras, under the
 * same names, so one schema serves the Promise API and the HTTP gateway. Keys the schema does not
 * name are provider-specific parameters (`normalize`, `embeddingTypes`, …), checked against the
 * model's spec by the engine.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { InvalidRequestError } from "./Errors.ts"
import { isBookkeeping } from "./internal/litellm.ts"

const OptionalString = Schema.optional(Schema.String)

/**
 * One input item: a string (text, data URL, base64 media, `s3://` URI), a `{ text, image }` pair,
 * a content block (`{ image: { format, source } }`, `{ video: … }`, `{ audio: … }`,
 * `{ text: { value } }`) or mixed content (`{ content: [{ type: "text", … }, { type: "image_url", … }] }`).
 * Objects are checked by `Media.parseInput`, which names what is wrong.
 *
 * @category schemas
 * @since 0.1.0
 */
export const InputItem = Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)])

const Seconds = Schema.optional(Schema.Number.check(Schema.isGreaterThan(0)))
const Count = Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
const Price = Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
const Headers = Schema.optional(Schema.Record(Schema.String, Schema.String))

/**
 * The fields of a request that bedrock-embed itself understands.
 *
 * @category schemas
 * @since 0.1.0
 */
export const KnownFields = {
  /** `bedrock/<model id>` or `bedrock/async_invoke/<model id>`. */
  model: Schema.String,
  /** One input or a list of inputs. */
  input: Schema.Union([InputItem, Schema.Array(InputItem)]),
  /** Output vector size, for models that offer several. */
  dimensions: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  /** `float` (default): arrays of numbers; `base64`: little-endian float32 bytes, base64-encoded, as OpenAI does. */
  encoding_format: Schema.optional(Schema.Literals(["float", "base64"])),
  /** A modality (`image`, `video`, `audio`) for bare base64 inputs, or a model's own input type. */
  input_type: OptionalString,
  /** OpenAI's end-user id; accepted and not sent to Bedrock. */
  user: OptionalString,
  /** Where an async-invoke job writes its output. */
  output_s3_uri: OptionalString,
  /** What the vectors are for: `document` (to be indexed) or `query`; each model maps it to its own parameters. */
  role: Schema.optional(Schema.Literals(["document", "query"])),
  /** Drop parameters the model does not support instead of failing. */
  drop_params: Schema.optional(Schema.Boolean),
  /** The id or ARN to invoke instead of the route's model (application inference profiles). */
  model_id: OptionalString,
  /** A Bedrock API key, sent as a bearer token. */
  api_key: OptionalString,
  aws_region_name: OptionalString,
  aws_access_key_id: OptionalString,
  aws_secret_access_key: OptionalString,
  aws_session_token: OptionalString,
  aws_profile_name: OptionalString,
  aws_role_name: OptionalString,
  aws_session_name: OptionalString,
  aws_web_identity_token: OptionalString,
  aws_external_id: OptionalString,
  aws_bedrock_runtime_endpoint: OptionalString,
  /** A custom S3 endpoint, for reading async-invoke outputs. */
  aws_s3_endpoint: OptionalString,
  /** A custom Bedrock control-plane endpoint, for batch inference jobs (see `Target.control`). */
  aws_bedrock_endpoint: OptionalString,
  /** Idempotency token of an async-invoke job (one is generated when absent). */
  client_request_token: OptionalString,
  /** LiteLLM's endpoint override, path prefix kept; wins over `aws_bedrock_runtime_endpoint`. */
  api_base: OptionalString,
  /** Extra HTTP headers for the Bedrock calls, signed with them (LiteLLM's `extra_headers`). */
  extra_headers: Headers,
  /** Headers too (LiteLLM merges `headers` first, then `extra_headers` over them). */
  headers: Headers,
  /**
   * Seconds the request may take, every Bedrock call, retry and backoff included; past it the
   * request fails with `ModelTimeoutError`. Each attempt also ends at the transport's own timeout.
   */
  timeout: Seconds,
  /** LiteLLM's other spelling of `timeout`. */
  request_timeout: Seconds,
  /** The most bytes one Bedrock response may have, instead of the engine's `maxResponseBytes`. */
  max_response_bytes: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  /** Retries of one Bedrock call on retryable errors, for this request. */
  num_retries: Count,
  /** OpenAI's spelling of `num_retries`. */
  max_retries: Count,
  /** The media of every text input, embedded with it (`input_type: "text_image"`). */
  media_source: OptionalString,
  /** Named media referenced from the text as `<@name>` (`input_type: "multi_input"`). */
  media_sources: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  /** Price overrides for this request, in USD (LiteLLM's custom pricing keys). */
  input_cost_per_token: Price,
  input_cost_per_image: Price,
  input_cost_per_video_per_second: Price,
  input_cost_per_audio_per_second: Price,
  input_cost_per_query: Price,
  aws_sts_endpoint: OptionalString,
  aws_session_tags: Schema.optional(Schema.Array(Schema.Struct({ Key: Schema.String, Value: Schema.String })))
}

/**
 * The schema of the known part of a request.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EmbeddingRequestSchema = Schema.Struct(KnownFields)

/**
 * The known part of a request.
 *
 * @category models
 * @since 0.1.0
 */
export type Known = typeof EmbeddingRequestSchema.Type

/**
 * An embedding request as callers write it.
 *
 * @category models
 * @since 0.1.0
 */
export type EmbeddingRequest = typeof EmbeddingRequestSchema.Encoded & {
  /** Provider-specific parameters, passed to the model's codec. */
  readonly [param: string]: unknown
}

/**
 * A request's parameters without its model and input: what a client fixes once and an integration
 * adds `model` and `input` to.
 *
 * @category models
 * @since 0.1.0
 */
export type Params = Partial<Omit<typeof EmbeddingRequestSchema.Encoded, "model" | "input">> & {
  readonly [param: string]: unknown
}

/**
 * A checked request: the known fields, and the provider-specific rest.
 *
 * @category models
 * @since 0.1.0
 */
export interface Decoded {
  readonly known: Known
  readonly extras: Readonly<Record<string, unknown>>
}

const knownKeys = new Set(Object.keys(KnownFields))

const describe = (request: unknown): string | undefined => {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return "the request must be an object with at least `model` and `input`"
  }
  const record = request as Record<string, unknown>
  if (typeof record.model !== "string") return '`model` is required: a string such as "bedrock/acme.embed-text-v2:0"'
  if (record.input === undefined) return "`input` is required: a string or a list of strings"
  const input = record.input
  const items = Array.isArray(input) ? input : [input]
  if (items.some((item) => typeof item === "number" || Array.isArray(item))) {
    return "`input` holds token ids; Bedrock models take text, so send the strings instead"
  }
  return undefined
}

/**
 * Checks a request and splits off its provider-specific parameters.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decode = (request: unknown): Effect.Effect<Decoded, InvalidRequestError> =>
  Effect.suspend(() => {
    const problem = describe(request)
    if (problem !== undefined) return Effect.fail(new InvalidRequestError({ message: `Invalid request: ${problem}` }))
    const record = request as Record<string, unknown>
    const known: Record<string, unknown> = {}
    const extras: Record<string, unknown> = {}
    for (const key of Object.keys(record)) {
      // `undefined` means "not given", as JSON would have it.
      if (record[key] === undefined) continue
      if (knownKeys.has(key)) known[key] = record[key]
      // LiteLLM's own keys never reach its providers; code written for LiteLLM passes them freely.
      else if (!isBookkeeping(key)) extras[key] = record[key]
    }
    return Schema.decodeUnknownEffect(EmbeddingRequestSchema)(known).pipe(
      Effect.map((decoded) => ({ known: decoded, extras })),
      Effect.mapError(
        (error) =>
          new InvalidRequestError({
            message: `Invalid request: ${error.message}`,
            ...(error.issue._tag === "Pointer" ? { param: String(error.issue.path[0]) } : {})
          })
      )
    )
  })

/**
 * Applies a model's role parameters (see `ModelSpec.roles`) under the request's own.
 *
 * @category decoding
 * @since 0.1.0
 */
export const withRole = (
  request: Decoded,
  roles: Readonly<Record<"document" | "query", Readonly<Record<string, unknown>>>> | undefined
): Decoded => {
  const role = request.known.role
  if (role === undefined || roles === undefined) return request
  const known: Record<string, unknown> = { ...request.known }
  const extras: Record<string, unknown> = { ...request.extras }
  for (const [key, value] of Object.entries(roles[role])) {
    if (knownKeys.has(key)) known[key] ??= value
    else extras[key] ??= value
  }
  return { known: known as Known, extras }
}

// Headers the transport owns: the signature, the body framing and the target.
const reservedHeaders = new Set([
  "host",
  "authorization",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "x-amz-date",
  "x-amz-security-token",
  "x-amz-content-sha256"
])
const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Tab and visible characters only: a CR or LF would split the request.
const valuePattern = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * The extra headers of a request — `headers`, then `extra_headers` over them, names lower-cased —
 * or what is wrong with them.
 *
 * @category decoding
 * @since 0.1.0
 */
export const extraHeaders = (
  known: Pick<Known, "headers" | "extra_headers">
): Result.Result<Readonly<Record<string, string>> | undefined, InvalidRequestError> => {
  if (known.headers === undefined && known.extra_headers === undefined) return Result.succeed(undefined)
  const out: Record<string, string> = {}
  for (const [param, given] of [
    ["headers", known.headers],
    ["extra_headers", known.extra_headers]
  ] as const) {
    for (const [name, value] of Object.entries(given ?? {})) {
      const lower = name.toLowerCase()
      const fail = (why: string) =>
        Result.fail(new InvalidRequestError({ message: `${param}["${name}"] ${why}`, param }))
      if (!tokenPattern.test(name)) return fail("is not a valid HTTP header name.")
      if (!valuePattern.test(value)) return fail("holds a control character; header values are one line of text.")
      if (reservedHeaders.has(lower)) {
        return fail(
          lower === "authorization"
            ? "cannot be set: bedrock-embed signs every call. Pass a Bedrock API key as api_key, or AWS credentials as aws_access_key_id / aws_secret_access_key."
            : `cannot be set: bedrock-embed sets ${lower} itself. Remove it.`
        )
      }
      out[lower] = value
    }
  }
  return Result.succeed(out)
}
