/**
 * A request body under the gateway's limits: admitted before a byte is read (429 beyond the
 * requests or bytes in flight, 413 beyond the declared size), read within a size limit while it
 * streams (413) and within a deadline (408), then parsed as JSON.
 *
 * @internal
 */
import { Duration, Effect, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"
import { badRequest, type OpenAiError } from "../HttpErrors.ts"
import type * as Admission from "./admission.ts"

/** The limits on one request's body. */
export interface BodyLimits {
  readonly maxBody: number
  readonly deadline: Duration.Duration
  readonly admission: Admission.Admission
}

// Answers sent before the body was read in full close the connection: Node would otherwise read
// (and discard) the rest of a body the gateway refused.
const closing = (error: OpenAiError): OpenAiError => ({ ...error, headers: { ...error.headers, connection: "close" } })

const tooLarge = (maxBody: number) =>
  closing(
    badRequest(
      "request_too_large",
      `The request body is larger than ${maxBody} bytes (general_settings.max_request_body_bytes).`,
      413
    )
  )

const busy = (what: string): OpenAiError =>
  closing({
    status: 429,
    type: "rate_limit_error",
    code: "gateway_busy",
    message: `The gateway is at its limit of ${what}; retry after the time in retry-after.`,
    headers: { "retry-after": "1" }
  })

const bodyTimeout = (seconds: number) =>
  closing(
    badRequest(
      "request_timeout",
      `The request body did not arrive within ${seconds} s (general_settings.request_body_timeout).`,
      408
    )
  )

const unreadable = () => badRequest("invalid_body", "Could not read the request body.")

/**
 * A chunked body's bytes, read as they arrive: at most `maxBody` of them (then 413, and reading
 * stops), each counted against the bytes in flight (then 429).
 */
const readChunked = (request: HttpServerRequest.HttpServerRequest, maxBody: number, ticket: Admission.Ticket) =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    const take = (array: ReadonlyArray<Uint8Array>) => {
      for (const chunk of array) {
        size += chunk.length
        if (size > maxBody) return Effect.fail(tooLarge(maxBody))
        if (!ticket.grow(chunk.length)) return Effect.fail(busy("request bytes in flight"))
        chunks.push(chunk)
      }
      return Effect.void
    }
    return request.stream.pipe(
      Stream.mapError(unreadable),
      Stream.runForEachArray(take),
      Effect.map(() => Buffer.concat(chunks, size))
    )
  })

/**
 * The body's bytes within the deadline (then 408). A declared length was checked and counted on
 * admission, and Node reads no byte past it; a chunked body is counted as it arrives.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, limits: BodyLimits, ticket: Admission.Ticket) =>
  (request.headers["content-length"] === undefined
    ? readChunked(request, limits.maxBody, ticket)
    : Effect.map(Effect.mapError(request.arrayBuffer, unreadable), (bytes) => Buffer.from(bytes))
  ).pipe(
    Effect.timeoutOrElse({
      duration: limits.deadline,
      orElse: () => Effect.fail(bodyTimeout(Duration.toSeconds(limits.deadline)))
    }),
    Effect.map((bytes) => bytes.toString("utf8"))
  )

/** The body as JSON, within the size limit and the deadline. */
export const readJson = (request: HttpServerRequest.HttpServerRequest, limits: BodyLimits, ticket: Admission.Ticket) =>
  Effect.flatMap(readBody(request, limits, ticket), (text) =>
    Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => badRequest("invalid_json", "The request body is not valid JSON.")
    })
  )

/**
 * Runs `use` with a ticket for the request, or fails 413 or 429 before a byte of the body is
 * read; the ticket is released when `use` ends, however it ends.
 */
export const admitted = <A>(
  request: HttpServerRequest.HttpServerRequest,
  limits: BodyLimits,
  use: (ticket: Admission.Ticket) => Effect.Effect<A, OpenAiError>
): Effect.Effect<A, OpenAiError> => {
  const declared = Number(request.headers["content-length"] ?? 0)
  if (!Number.isFinite(declared) || declared > limits.maxBody) return Effect.fail(tooLarge(limits.maxBody))
  const ticket = limits.admission.admit(declared)
  if (ticket === undefined) {
    const full = limits.admission.full(declared)
    return Effect.fail(busy(full === "requests" ? "requests in flight" : "request bytes in flight"))
  }
  return Effect.ensuring(
    use(ticket),
    Effect.sync(() => ticket.release())
  )
}
