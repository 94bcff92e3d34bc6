/**
 * InvokeModel's SigV4 signature (signed with `aws4`, for its CPU) is the one the AWS SDK's signer
 * (`@smithy/signature-v4`) computes for the same request and time: a `node:http` server re-signs
 * every request it receives with the SDK's signer and compares the `Authorization` header.
 */
import * as Http from "node:http"
import { type AwsCredentials, BedrockRuntime } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { HttpRequest } from "@smithy/protocol-http"
import { SignatureV4 } from "@smithy/signature-v4"
import type { AwsCredentialIdentity } from "@smithy/types"
import { Effect } from "effect"
import { createHash, createHmac } from "node:crypto"

type SourceData = string | ArrayBuffer | ArrayBufferView

const bytesOf = (data: SourceData): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data)

/** SHA-256 for the SDK's signer (HMAC when given a key). */
class Sha256 {
  private readonly hash
  constructor(key?: SourceData) {
    this.hash = key === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(key))
  }
  update(data: SourceData) {
    this.hash.update(bytesOf(data))
  }
  async digest() {
    return new Uint8Array(this.hash.digest())
  }
}

const parseAmzDate = (value: string) => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)!
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}

/** A server that answers 200 when the SDK's signer, given `credentials`, signs each request exactly as it came. */
const verifier = (credentials: AwsCredentialIdentity, region: string) =>
  Effect.gen(function* () {
    const seen: Array<{ readonly sent: string; readonly expected: string }> = []
    const signer = new SignatureV4({
      service: "bedrock",
      region,
      credentials,
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: false
    })
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", async () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(req.headers))
          if (name !== "authorization" && typeof value === "string") headers[name] = value
        const signed = await signer.sign(
          new HttpRequest({
            method: req.method!,
            hostname: "127.0.0.1",
            path: req.url!,
            headers,
            body: Buffer.concat(chunks)
          }),
          { signingDate: parseAmzDate(headers["x-amz-date"]!) }
        )
        const sent = req.headers.authorization ?? ""
        seen.push({ sent, expected: signed.headers.authorization! })
        const ok = sent === signed.headers.authorization
        res.writeHead(ok ? 200 : 403, { "content-type": "application/json" })
        res.end(ok ? '{"embedding":[0.5],"inputTextTokenCount":1}' : '{"message":"signature mismatch"}')
      })
    })
    const port = yield* listen(server)
    return { url: `http://127.0.0.1:${port}`, seen }
  })

const sigv4 = (credentials: AwsCredentialIdentity): AwsCredentials.Auth => ({
  _tag: "SigV4",
  credentials: async () => credentials,
  source: "test",
  cacheKey: `sigv4:${credentials.accessKeyId}:${credentials.sessionToken ?? ""}`
})

describe("InvokeModel's SigV4 signature", () => {
  it.live("equals the AWS SDK signer's: escaped model ids, session tokens, extra headers with odd blanks", () =>
    Effect.gen(function* () {
      const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
      const session = { ...credentials, sessionToken: "FwoGZXIvYXdzEBYaDH//session+token=" }
      const server = yield* verifier(session, "eu-west-3")
      const plain = yield* verifier(credentials, "eu-west-3")
      const runtime = yield* BedrockRuntime.make()
      const cases = [
        { modelId: "amazon.titan-embed-text-v2:0", url: plain.url, auth: credentials, headers: undefined },
        {
          modelId: "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu.cohere.embed-v4:0",
          url: server.url,
          auth: session,
          headers: { "x-amzn-bedrock-trace": "ENABLED", "x-custom-tag": "  two  spaces\tand a tab " }
        },
        { modelId: "cohere.embed-english-v3", url: server.url, auth: session, headers: { "x-amzn-trace-id": "Root=1" } }
      ]
      for (const c of cases) {
        const result = yield* runtime.invokeModel({
          modelId: c.modelId,
          body: JSON.stringify({ inputText: "héllo wörld", dimensions: 256 }),
          target: { region: "eu-west-3", endpoint: c.url, auth: sigv4(c.auth) },
          headers: c.headers
        })
        assert.include(new TextDecoder().decode(result.body), "embedding")
      }
      const all = [...plain.seen, ...server.seen]
      assert.strictEqual(all.length, 3)
      for (const { sent, expected } of all) assert.strictEqual(sent, expected)
    }).pipe(Effect.scoped)
  )

  it.live("is refused by that check when the secret differs (the check is not vacuous)", () =>
    Effect.gen(function* () {
      const server = yield* verifier(
        { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "the server's secret" },
        "us-east-1"
      )
      const runtime = yield* BedrockRuntime.make()
      const error = yield* Effect.flip(
        runtime.invokeModel({
          modelId: "amazon.titan-embed-text-v2:0",
          body: '{"inputText":"hi"}',
          target: {
            region: "us-east-1",
            endpoint: server.url,
            auth: sigv4({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "another secret" })
          }
        })
      )
      assert.strictEqual(error._tag, "AccessDeniedError")
      assert.notStrictEqual(server.seen[0]!.sent, server.seen[0]!.expected)
    }).pipe(Effect.scoped)
  )
})
