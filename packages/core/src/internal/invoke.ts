/**
 * InvokeModel on a lean path: a SigV4-signed (`aws4`, `./sigv4.ts`: the same signature as
 * `@smithy/signature-v4`'s for about a third of its CPU) or bearer-authorised POST over a keep-alive
 * `node:http(s)` agent.
 *
 * InvokeModel is the hot call of bulk embedding: one text per call for some models, tens of thousands of
 * calls per corpus. The SDK's generic middleware stack (endpoint rules, user-agent assembly,
 * retry bookkeeping, schema-driven serde) cost more client CPU per call than everything else
 * we do together (measured by `pnpm bench`); this path does only what InvokeModel needs. Every
 * other operation still goes through the SDK.
 *
 * @internal
 */
import * as Http from "node:http"
import * as Https from "node:https"
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types"
import { Redacted } from "effect"
import type { InvokeResult, Target } from "../BedrockRuntime.ts"
import { makeSigner, type Signer } from "./sigv4.ts"

/** What a failed call looks like to `fromSdk`: the fields of an SDK service exception. */
export interface WireError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly $metadata: { readonly httpStatusCode?: number; readonly requestId?: string }
  readonly $response?: { readonly headers: Record<string, string | undefined> }
}

/** Per-call options of one InvokeModel. */
export interface CallOptions {
  /** Extra request headers, lower-case names, already checked (no reserved names). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A deadline for this attempt, in milliseconds; else the transport's. */
  readonly timeoutMs?: number | undefined
  /** The most response bytes read for this call; else the transport's. */
  readonly maxResponseBytes?: number | undefined
}

export interface InvokerOptions {
  readonly httpAgent: Http.Agent
  readonly httpsAgent: Https.Agent
  readonly requestTimeoutMs: number
  readonly connectionTimeoutMs: number
  readonly maxResponseBytes: number
}

/**
 * A response refused for its size, before allocating for it (its `content-length`) or while it
 * arrived (chunked, or longer than it said): its socket is destroyed, the rest never read.
 */
export interface OversizeResponse {
  readonly _tag: "OversizeResponse"
  readonly limit: number
  /** The `content-length` it declared, when that is what broke the limit. */
  readonly declared: number | undefined
  readonly status: number
  readonly requestId: string | undefined
}

/** A credential provider memoised, with the identity at hand when it is fresh (no promise per call). */
interface Credentials {
  readonly get: AwsCredentialIdentityProvider
  readonly fresh: () => AwsCredentialIdentity | undefined
}

/** Credentials fetched once and renewed five minutes before they expire; concurrent callers share one fetch. */
const memoize = (provider: AwsCredentialIdentityProvider): Credentials => {
  let cached: AwsCredentialIdentity | undefined
  let pending: Promise<AwsCredentialIdentity> | undefined
  const fresh = () =>
    cached !== undefined && (cached.expiration === undefined || cached.expiration.getTime() - Date.now() > 300_000)
      ? cached
      : undefined
  const get = () => {
    const now = fresh()
    if (now !== undefined) return Promise.resolve(now)
    pending ??= provider().then(
      (identity) => {
        cached = identity
        pending = undefined
        return identity
      },
      (error: unknown) => {
        pending = undefined
        throw error
      }
    )
    return pending
  }
  return { get, fresh }
}

const headerValue = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value.join(", ") : value

/** The AWS error name from `x-amzn-errortype` (`Name:namespace`) or a JSON body's `__type` (`ns#Name`). */
const errorName = (
  headers: Http.IncomingHttpHeaders,
  json: Record<string, unknown> | undefined
): string | undefined => {
  const raw =
    headerValue(headers["x-amzn-errortype"]) ??
    (typeof json?.__type === "string" ? json.__type : undefined) ??
    (typeof json?.code === "string" ? json.code : undefined)
  if (raw === undefined || raw.length === 0) return undefined
  const name = raw.split(":")[0]!
  const hash = name.lastIndexOf("#")
  return hash >= 0 ? name.slice(hash + 1) : name
}

const statusNames: Record<number, string> = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  408: "ModelTimeoutException",
  424: "ModelErrorException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException"
}

const toWireError = (status: number, headers: Http.IncomingHttpHeaders, body: Buffer): WireError => {
  const text = body.toString("utf8")
  let json: Record<string, unknown> | undefined
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === "object" && parsed !== null) json = parsed as Record<string, unknown>
  } catch {
    json = undefined
  }
  const message =
    (typeof json?.message === "string" ? json.message : undefined) ??
    (typeof json?.Message === "string" ? json.Message : undefined) ??
    (text.length > 0 && text.length < 500 ? text : `HTTP ${status}`)
  const flat: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(headers)) flat[key] = headerValue(value)
  const requestId = flat["x-amzn-requestid"]
  return {
    name: errorName(headers, json) ?? statusNames[status] ?? (status >= 500 ? "InternalServerException" : "Error"),
    message,
    $metadata: { httpStatusCode: status, ...(requestId === undefined ? {} : { requestId }) },
    $response: { headers: flat }
  }
}

const networkError = (error: NodeJS.ErrnoException): WireError => ({
  name: error.code === "ETIMEDOUT" ? "TimeoutError" : (error.name ?? "Error"),
  message: error.message,
  ...(error.code === undefined ? {} : { code: error.code }),
  $metadata: {}
})

/** Where one region/endpoint/identity's InvokeModel calls go, and how they are signed. */
export interface Connection {
  readonly url: URL
  /** The endpoint's path prefix, without a trailing slash (`/bedrock` for `https://gw/bedrock/`). */
  readonly basePath: string
  readonly https: boolean
  /** A Bedrock API key, or a SigV4 signer with its credentials memoised. */
  readonly auth:
    | { readonly _tag: "Bearer"; readonly token: Redacted.Redacted<string> }
    | { readonly _tag: "SigV4"; readonly sign: Signer; readonly credentials: Credentials }
}

/** Makes a connection: the endpoint parsed once, a signer for SigV4 identities. */
export const connect = (target: Target, endpoint: string): Connection => {
  const url = new URL(endpoint)
  const auth = target.auth
  return {
    url,
    basePath: url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname,
    https: url.protocol === "https:",
    auth:
      auth._tag === "Bearer"
        ? { _tag: "Bearer", token: auth.token }
        : { _tag: "SigV4", sign: makeSigner(target.region, "bedrock"), credentials: memoize(auth.credentials) }
  }
}

type Finish = (outcome: InvokeResult | WireError | OversizeResponse) => void

/**
 * Reads a response into one buffer and settles the call with the body or the AWS error; never
 * holds more than `limit` bytes of it, whatever its headers say.
 */
const readResponse = (response: Http.IncomingMessage, limit: number, finish: Finish): void => {
  const length = Number(response.headers["content-length"] ?? Number.NaN)
  const declared = Number.isSafeInteger(length) && length >= 0 ? length : undefined
  const refuse = (declaredBytes: number | undefined) => {
    finish({
      _tag: "OversizeResponse",
      limit,
      declared: declaredBytes,
      status: response.statusCode ?? 0,
      requestId: headerValue(response.headers["x-amzn-requestid"])
    })
    response.destroy()
  }
  if (declared !== undefined && declared > limit) {
    refuse(declared)
    return
  }
  // A body that comes in one chunk is that chunk (no copy, no second buffer). From a second chunk
  // on, a body with a length is copied into one buffer as it comes (a 2 MB body is held once, not
  // as chunks plus their concatenation).
  const chunks: Array<Buffer> = []
  let whole: Buffer | undefined
  let filled = 0
  let received = 0
  response.on("data", (chunk: Buffer) => {
    received += chunk.length
    if (received > limit) {
      refuse(undefined)
      return
    }
    if (whole === undefined && chunks.length === 1 && declared !== undefined && received <= declared) {
      whole = Buffer.allocUnsafe(declared)
      filled = chunks[0]!.copy(whole, 0)
      chunks.length = 0
    }
    if (whole !== undefined && filled + chunk.length <= whole.length) {
      chunk.copy(whole, filled)
      filled += chunk.length
    } else chunks.push(chunk)
  })
  response.once("error", (error: NodeJS.ErrnoException) => finish(networkError(error)))
  response.once("end", () => {
    const status = response.statusCode ?? 0
    const data =
      whole === undefined
        ? chunks.length === 1
          ? chunks[0]!
          : Buffer.concat(chunks)
        : chunks.length === 0
          ? whole.subarray(0, filled)
          : Buffer.concat([whole.subarray(0, filled), ...chunks])
    if (status < 200 || status >= 300) return finish(toWireError(status, response.headers, data))
    const count = headerValue(response.headers["x-amzn-bedrock-input-token-count"])
    finish({
      body: data,
      requestId: headerValue(response.headers["x-amzn-requestid"]),
      inputTokenCount: count === undefined ? undefined : Number(count)
    })
  })
}

const timeoutError = (message: string) => Object.assign(new Error(message), { code: "ETIMEDOUT" })

/** Sends the signed request, with a deadline over the whole attempt and one for connecting. */
const send = (
  options: InvokerOptions,
  connection: Connection,
  path: string,
  headers: Record<string, string>,
  payload: Buffer,
  limits: { readonly timeoutMs: number; readonly maxResponseBytes: number },
  finish: Finish
): Http.ClientRequest => {
  const { timeoutMs, maxResponseBytes } = limits
  const { url, https } = connection
  const req = (https ? Https : Http).request({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === "" ? (https ? 443 : 80) : Number(url.port),
    path,
    headers,
    agent: https ? options.httpsAgent : options.httpAgent
  })
  let connectTimer: NodeJS.Timeout | undefined
  // A deadline over the whole attempt (headers and body), not an idle timer.
  const deadline = setTimeout(() => req.destroy(timeoutError(`no complete response within ${timeoutMs} ms`)), timeoutMs)
  req.once("close", () => clearTimeout(deadline))
  req.once("socket", (socket) => {
    if (!socket.connecting) return
    connectTimer = setTimeout(() => {
      req.destroy(timeoutError(`no connection within ${options.connectionTimeoutMs} ms`))
    }, options.connectionTimeoutMs)
    socket.once("connect", () => clearTimeout(connectTimer))
  })
  req.once("error", (error: NodeJS.ErrnoException) => {
    clearTimeout(connectTimer)
    finish(networkError(error))
  })
  req.once("response", (response) => readResponse(response, maxResponseBytes, finish))
  req.end(payload)
  return req
}

/** Makes the InvokeModel caller over the given agents (shared by every connection). */
export const makeInvoker = (options: InvokerOptions) => {
  /**
   * Sends one InvokeModel; `done` gets the result or the failure exactly once (never after the
   * returned cancel function ran). Cancelling destroys the request, so the upstream call is
   * aborted, not left to finish unread.
   */
  const invoke = (
    connection: Connection,
    modelId: string,
    body: string,
    done: Finish,
    call: CallOptions = {}
  ): (() => void) => {
    const { url, basePath } = connection
    const path = `${basePath}/model/${encodeURIComponent(modelId)}/invoke`
    const payload = Buffer.from(body, "utf8")
    const limits = {
      timeoutMs: call.timeoutMs ?? options.requestTimeoutMs,
      maxResponseBytes: call.maxResponseBytes ?? options.maxResponseBytes
    }
    let cancelled = false
    let request: Http.ClientRequest | undefined
    let settled = false
    const finish: Finish = (outcome) => {
      if (settled || cancelled) return
      settled = true
      done(outcome)
    }
    const start = (headers: Record<string, string>) => {
      if (!cancelled) request = send(options, connection, path, headers, payload, limits, finish)
    }

    const headers: Record<string, string> = {
      host: url.host,
      "content-type": "application/json",
      accept: "application/json",
      "user-agent": "bedrock-embed",
      // The caller's headers go in before signing, so SigV4 covers them.
      ...call.headers,
      "content-length": String(payload.length)
    }
    const auth = connection.auth
    if (auth._tag === "Bearer") {
      headers.authorization = `Bearer ${Redacted.value(auth.token)}`
      start(headers)
    } else {
      const signed = (credentials: AwsCredentialIdentity) => {
        if (typeof credentials?.accessKeyId !== "string" || typeof credentials.secretAccessKey !== "string") {
          finish(networkError(new Error("The credential provider returned no access key id and secret access key")))
        } else start(auth.sign({ method: "POST", path, headers, body: payload }, credentials))
      }
      const fresh = auth.credentials.fresh()
      if (fresh !== undefined) signed(fresh)
      else
        auth.credentials.get().then(
          signed,
          // The credential provider failed (no credentials, expired SSO, STS refused): its error's
          // name (CredentialsProviderError, …) says which, and is mapped like the SDK's.
          (error: NodeJS.ErrnoException) => finish(networkError(error))
        )
    }
    return () => {
      cancelled = true
      request?.destroy()
    }
  }

  return { invoke }
}

/** Whether `invoke` returned a failure. */
export const isWireError = (value: InvokeResult | WireError | OversizeResponse): value is WireError =>
  "$metadata" in value

/** Whether `invoke` refused the response for its size. */
export const isOversize = (value: InvokeResult | WireError | OversizeResponse): value is OversizeResponse =>
  "_tag" in value
