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
  /** For the operator's log only, never sent: the cause, with secrets removed (hosts kept). */
  readonly detail?: string | undefined
}

/**
 * What a gateway may not show: to its clients, its secrets and its upstream hosts; to its
 * operator's log, its secrets.
 *
 * @category models
 * @since 0.1.0
 */
export interface Redaction {
  /** A message for a client: no URL, upstream host, address, account id or secret. */
  readonly forClient: (message: string) => string
  /** A message for the operator's log: hosts kept; URL credentials and secrets removed. */
  readonly forLog: (message: string) => string
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Replaces every literal of `values` (longest first) in a message: anywhere, or (`whole`) only
 * where it is not part of a longer name.
 */
const replacer = (
  values: Iterable<string>,
  by: string,
  options: { readonly minLength: number; readonly whole: boolean }
): ((message: string) => string) => {
  const sorted = [...new Set(values)].filter((v) => v.length >= options.minLength).sort((a, b) => b.length - a.length)
  if (sorted.length === 0) return (message) => message
  const alternatives = sorted.map(escapeRegExp).join("|")
  const pattern = new RegExp(options.whole ? `(?<![\\w.-])(?:${alternatives})(?![\\w-])` : alternatives, "g")
  return (message) => message.replace(pattern, by)
}

// A URL, without the punctuation that ends the sentence it is in.
const urlPattern = /\b(?:https?|wss?):\/\/[^\s"'<>]*[^\s"'<>.,:;!?)\]]/gi
const urlCredentials = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]+@/gi
const ipv4 = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b/g
const ipv6 = /\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?/gi
const arnAccount = /(\barn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)\d{12}\b/g

/**
 * The redaction for a set of secrets (keys, passwords, tokens) and upstream URLs (endpoints):
 * each URL's host and credentials are hidden from clients, its credentials from the log too.
 *
 * @category constructors
 * @since 0.1.0
 */
export const redaction = (secrets: Iterable<string>, urls: Iterable<string>): Redaction => {
  const hidden = [...secrets]
  const hosts: Array<string> = []
  for (const url of urls) {
    const parsed = URL.parse(url)
    if (parsed === null) continue
    if (parsed.host !== "") hosts.push(parsed.host, parsed.hostname)
    for (const part of [parsed.username, parsed.password]) {
      if (part === "") continue
      hidden.push(part)
      try {
        hidden.push(decodeURIComponent(part))
      } catch {
        // A malformed escape: the part is hidden as written.
      }
    }
  }
  // Secrets are hidden wherever they appear; short ones would hide ordinary words.
  const secret = replacer(hidden, "<redacted>", { minLength: 6, whole: false })
  const host = replacer(hosts, "<upstream>", { minLength: 1, whole: true })
  const forLog = (message: string) => secret(message.replace(urlCredentials, "$1<redacted>@"))
  const forClient = (message: string) =>
    host(
      forLog(message.replace(urlPattern, "<upstream>"))
        .replace(arnAccount, "$1<account>")
        .replace(ipv6, "<address>")
        .replace(ipv4, "<address>")
    )
  return { forClient, forLog }
}

const none: Redaction = redaction([], [])

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
  error: Errors.EmbeddingError | Errors.AsyncJobFailedError | Errors.AsyncJobTimeoutError | Errors.ObjectStoreError,
  redact: Redaction = none
): OpenAiError => {
  const mapped = statusOf(error, redact.forClient(error.message))
  return mapped.status >= 500 ? { ...mapped, detail: redact.forLog(error.message) } : mapped
}

const timeoutError = (message: string): OpenAiError => ({ status: 504, type: "api_error", code: "timeout", message })

const statusOf = (
  error: Errors.EmbeddingError | Errors.AsyncJobFailedError | Errors.AsyncJobTimeoutError | Errors.ObjectStoreError,
  message: string
): OpenAiError => {
  const param = "param" in error && typeof error.param === "string" ? error.param : undefined
  // The engine's deadline errors, whatever their class: the call or the request ran out of time.
  const tag: string = error._tag
  if (tag !== "AsyncJobTimeoutError" && /Timeout|Deadline/.test(tag)) return timeoutError(message)
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
