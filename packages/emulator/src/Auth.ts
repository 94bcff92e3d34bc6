/**
 * Authentication as Bedrock does it: SigV4 (service `bedrock`) verified by re-signing the request
 * with `@smithy/signature-v4`, or a Bedrock API key as `Authorization: Bearer …`.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Hash } from "@smithy/hash-node"
import { HttpRequest } from "@smithy/protocol-http"
import { SignatureV4 } from "@smithy/signature-v4"
import type { BedrockFault } from "./Errors.ts"

/**
 * The credentials the emulator accepts unless told otherwise. They are s3rver's, so the same
 * identity works for the emulator's Bedrock Runtime and for its S3 server.
 */
export const EMULATOR_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const

/** How the emulator authenticates callers. */
export interface AuthOptions {
  /** Access key id → secret access key. Default: {@link EMULATOR_CREDENTIALS}. */
  readonly credentials?: Readonly<Record<string, string>> | undefined
  /** Accepted bearer tokens, or `"any"` for every non-empty token. Default `"any"`. */
  readonly bearerTokens?: "any" | ReadonlyArray<string> | undefined
  /** Check SigV4 signatures (default true); false accepts any well-formed SigV4 header. */
  readonly verifySignatures?: boolean | undefined
}

/** The region the emulator serves: SigV4 scoped to another region is rejected, as AWS does. */
export interface AuthContext {
  readonly region: string
}

/** What a request to verify looks like. */
export interface SignedRequest {
  readonly method: string
  /** The raw path and query, exactly as received. */
  readonly url: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: Buffer
}

const authPattern =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/

const header = (request: SignedRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(",") : (value as string | undefined)
}

const denied = (error: string, message?: string): BedrockFault => ({ error, ...(message ? { message } : {}) })

const parseAmzDate = (value: string): Date | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  return m === null ? undefined : new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}

const signers = new Map<string, SignatureV4>()

/** Checks a request's identity; returns how it authenticated, or the fault to answer with. */
export const authenticate = async (
  request: SignedRequest,
  options: AuthOptions,
  context?: AuthContext
): Promise<"sigv4" | "bearer" | BedrockFault> => {
  const authorization = header(request, "authorization")
  if (authorization === undefined || authorization.length === 0) {
    return denied("MissingAuthenticationTokenException")
  }
  if (authorization.startsWith("Bearer ")) {
    const token = authorization.slice("Bearer ".length).trim()
    const allowed = options.bearerTokens ?? "any"
    if (token.length > 0 && (allowed === "any" || allowed.includes(token))) return "bearer"
    return denied("UnrecognizedClientException", "The API key is invalid or expired.")
  }
  const match = authPattern.exec(authorization)
  if (match === null) {
    return denied(
      "IncompleteSignatureException",
      "Authorization header requires a SigV4 Credential, SignedHeaders and Signature."
    )
  }
  const [, accessKeyId = "", , region = "", service = "", signedHeaderList = "", signature = ""] = match
  if (service !== "bedrock") {
    return denied("InvalidSignatureException", `Credential should be scoped to correct service: 'bedrock'.`)
  }
  if (context !== undefined && region !== context.region) {
    return denied(
      "InvalidSignatureException",
      `Credential should be scoped to a valid region. This endpoint serves '${context.region}', not '${region}'.`
    )
  }
  if (options.verifySignatures === false) return "sigv4"
  const secret = (options.credentials ?? { [EMULATOR_CREDENTIALS.accessKeyId]: EMULATOR_CREDENTIALS.secretAccessKey })[
    accessKeyId!
  ]
  if (secret === undefined) return denied("UnrecognizedClientException")

  const amzDate = header(request, "x-amz-date")
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate)
  if (signingDate === undefined)
    return denied("IncompleteSignatureException", "Missing or malformed X-Amz-Date header.")

  // The payload hash header is signed, but the signer trusts it: check it against the body.
  const payloadHash = header(request, "x-amz-content-sha256")
  if (payloadHash !== undefined && payloadHash !== "UNSIGNED-PAYLOAD") {
    if (createHash("sha256").update(request.body).digest("hex") !== payloadHash)
      return denied("InvalidSignatureException")
  }

  const signed = signedHeaderList!.split(";")
  const headers: Record<string, string> = {}
  for (const name of signed) {
    const value = name === "host" ? (header(request, "host") ?? header(request, ":authority")) : header(request, name)
    if (value !== undefined) headers[name] = value
  }
  const queryStart = request.url.indexOf("?")
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart)
  const query: Record<string, string | Array<string>> = {}
  if (queryStart >= 0) {
    for (const [key, value] of new URLSearchParams(request.url.slice(queryStart + 1))) {
      const existing = query[key]
      query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]
    }
  }
  // One signer per identity and region: it caches the derived signing key (four HMACs) per day.
  const signerKey = `${accessKeyId}\u0000${region}\u0000${secret}`
  let signer = signers.get(signerKey)
  if (signer === undefined) {
    if (signers.size > 1000) signers.clear()
    signer = new SignatureV4({
      service: "bedrock",
      region: region!,
      credentials: { accessKeyId: accessKeyId!, secretAccessKey: secret },
      sha256: Hash.bind(null, "sha256"),
      // The SDK signs the already-encoded path and encodes it again; so must we.
      uriEscapePath: true,
      // Sign exactly the headers the client signed: the SDK adds x-amz-content-sha256 itself,
      // other signers (aws4fetch in the AI SDK) do not, and both are valid SigV4.
      applyChecksum: false
    })
    signers.set(signerKey, signer)
  }
  const resigned = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: "http:",
      hostname: "emulator",
      path,
      query,
      headers,
      body: request.body
    }),
    { signingDate, signableHeaders: new Set(signed) }
  )
  const expected = /Signature=([0-9a-f]+)/.exec(String(resigned.headers.authorization ?? ""))?.[1] ?? ""
  const ok = expected.length === signature!.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature!))
  return ok ? "sigv4" : denied("InvalidSignatureException")
}
