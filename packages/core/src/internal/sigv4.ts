/**
 * SigV4 header signing for the InvokeModel hot path, with `aws4` (a small, synchronous, widely
 * used signer that caches the derived signing key per identity, day, region and service).
 *
 * `@smithy/signature-v4` cost about 100 µs of client CPU per call (measured), as much as a third
 * of a whole InvokeModel: it clones the request, re-derives an HMAC of the credentials on every
 * call only to look its signing-key cache up, and walks several promise chains. `aws4` signs the
 * same request in a fraction of that, without a promise. The headers it signs are the ones
 * `SignatureV4` (`uriEscapePath: true`, `applyChecksum: false`) signs for the same request and
 * time (a test compares them).
 *
 * @internal
 */
import { createHmac, createSecretKey, type KeyObject } from "node:crypto"
import type { AwsCredentialIdentity } from "@smithy/types"
import Aws4 from "aws4"

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest()

/** The derived signing key of the last identity, day, region and service (a process signs with few). */
let cachedKey: { readonly id: string; readonly key: KeyObject } | undefined
const signingKey = (secret: string, day: string, region: string, service: string): KeyObject => {
  const id = `${secret}\n${day}\n${region}\n${service}`
  if (cachedKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), "aws4_request")
    cachedKey = { id, key: createSecretKey(key) }
  }
  return cachedKey.key
}

/**
 * `aws4`'s signer with its last step (the HMAC of the string to sign) keyed by a `KeyObject`: on
 * Node 24 an HMAC keyed by the key's bytes spends most of its time turning them into one, each
 * call (half of `aws4.sign`'s CPU, measured).
 */
class KeyedSigner extends Aws4.RequestSigner {
  override signature(): string {
    const key = signingKey(this.credentials.secretAccessKey!, this.getDate(), this.region, this.service)
    return createHmac("sha256", key).update(this.stringToSign()).digest("hex")
  }
}

/** A request to sign: its headers must have lower-case names (the transport's do). */
export interface ToSign {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** `YYYYMMDDTHHMMSSZ` of a time in milliseconds; the last second's is kept (calls come many a second). */
let lastSecond = Number.NaN
let lastDate = ""
const amzDate = (ms: number): string => {
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    lastDate = new Date(second * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "")
  }
  return lastDate
}

/**
 * Makes a signer for one region and service: `sign(request, credentials)` returns the request's
 * headers plus `x-amz-date`, `x-amz-security-token` (with session credentials) and `authorization`,
 * signed at `now` (epoch milliseconds, default the clock's).
 */
export const makeSigner =
  (region: string, service: string) =>
  (request: ToSign, credentials: AwsCredentialIdentity, now: number = Date.now()): Record<string, string> => {
    const headers: Record<string, string> = {}
    for (const name in request.headers) {
      const lower = name.toLowerCase()
      if (lower !== "x-amz-date" && lower !== "date" && lower !== "authorization")
        headers[lower] = request.headers[name]!
    }
    headers["x-amz-date"] = amzDate(now)
    const signed = new KeyedSigner(
      {
        method: request.method,
        path: request.path,
        service,
        region,
        headers,
        body: Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
      },
      {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {})
      }
    ).sign()
    const out: Record<string, string> = {}
    for (const name in signed.headers) out[name.toLowerCase()] = String(signed.headers[name])
    return out
  }

/** A signer made by {@link makeSigner}. */
export type Signer = ReturnType<typeof makeSigner>
