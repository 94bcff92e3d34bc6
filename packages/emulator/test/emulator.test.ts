/** The emulator through the official AWS SDK (its default HTTP/2 handler and HTTP/1.1) and fetch. */
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  InvokeModelCommand,
  ThrottlingException,
  ValidationException
} from "@aws-sdk/client-bedrock-runtime"
import { EMULATOR_CREDENTIALS, type Emulator, Fixtures, startEmulator } from "@bedrock-embed/emulator"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { AwsV4Signer } from "aws4fetch"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "vitest"

let emulator: Emulator
const clients: Array<BedrockRuntimeClient> = []

beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  for (const c of clients) c.destroy()
  await emulator.close()
})
beforeEach(() => {
  emulator.clearInvocations()
  emulator.setFaults({ latencyMs: 0, throttleRps: 0, errorRate: 0 })
})

const client = (config: Partial<BedrockRuntimeClientConfig> = {}) => {
  const c = new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: emulator.url,
    credentials: EMULATOR_CREDENTIALS,
    ...config
  })
  clients.push(c)
  return c
}

const invoke = async (c: BedrockRuntimeClient, modelId: string, body: unknown) => {
  const out = await c.send(
    new InvokeModelCommand({ modelId, contentType: "application/json", body: JSON.stringify(body) })
  )
  return JSON.parse(new TextDecoder().decode(out.body))
}

const failure = async (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail("expected an error"),
    (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number; requestId?: string } }
  )

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! ** 2
    nb += b[i]! ** 2
  }
  return dot / Math.sqrt(na * nb)
}

const png = Fixtures.png

describe("transport and auth", () => {
  it("serves the SDK's default HTTP/2 handler a valid Titan V2 response", async () => {
    const c = client()
    const out = await c.send(
      new InvokeModelCommand({
        modelId: "amazon.titan-embed-text-v2:0",
        contentType: "application/json",
        body: JSON.stringify({ inputText: "hello world", dimensions: 256 })
      })
    )
    const body = JSON.parse(new TextDecoder().decode(out.body))
    assert.strictEqual(body.embedding.length, 256)
    assert.isAbove(body.inputTextTokenCount, 0)
    assert.deepStrictEqual(body.embeddingsByType.float, body.embedding)
    assert.match(out.$metadata.requestId ?? "", /^[0-9a-f-]{36}$/)
    assert.strictEqual(out.contentType, "application/json")
  })

  it("serves HTTP/1.1 (NodeHttpHandler) and reports tokens in the header", async () => {
    const c = client({ requestHandler: new NodeHttpHandler() })
    const body = await invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "hello world" })
    assert.strictEqual(body.embedding.length, 1024)
    const response = await fetch(`${emulator.url}/model/amazon.titan-embed-text-v2%3A0/invoke`, {
      method: "POST",
      headers: { authorization: "Bearer bedrock-api-key-TEST", "content-type": "application/json" },
      body: JSON.stringify({ inputText: "hello world" })
    })
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("x-amzn-bedrock-input-token-count"), String(body.inputTextTokenCount))
    assert.isNotNull(response.headers.get("x-amzn-bedrock-invocation-latency"))
    assert.strictEqual(emulator.invocations.at(-1)?.auth, "bearer")
  })

  it("accepts a bearer token through the SDK (AWS_BEARER_TOKEN_BEDROCK style)", async () => {
    const c = new BedrockRuntimeClient({
      region: "us-east-1",
      endpoint: emulator.url,
      token: { token: "bedrock-api-key-SDK" },
      authSchemePreference: ["httpBearerAuth"]
    })
    clients.push(c)
    const body = await invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "bearer" })
    assert.strictEqual(body.embedding.length, 1024)
    assert.strictEqual(emulator.invocations.at(-1)?.auth, "bearer")
  })

  it("rejects a wrong secret, an unknown key and a missing signature with 403s the SDK names", async () => {
    const wrong = await failure(
      invoke(
        client({ credentials: { accessKeyId: "S3RVER", secretAccessKey: "wrong" } }),
        "amazon.titan-embed-text-v2:0",
        {
          inputText: "x"
        }
      )
    )
    assert.strictEqual(wrong.name, "InvalidSignatureException")
    assert.strictEqual(wrong.$metadata.httpStatusCode, 403)
    const unknown = await failure(
      invoke(
        client({ credentials: { accessKeyId: "AKIDOTHER", secretAccessKey: "x" } }),
        "amazon.titan-embed-text-v2:0",
        {
          inputText: "x"
        }
      )
    )
    assert.strictEqual(unknown.name, "UnrecognizedClientException")
    const anonymous = await fetch(`${emulator.url}/model/amazon.titan-embed-text-v2%3A0/invoke`, {
      method: "POST",
      body: "{}"
    })
    assert.strictEqual(anonymous.status, 403)
    assert.match(anonymous.headers.get("x-amzn-errortype") ?? "", /^MissingAuthenticationTokenException:/)
    assert.strictEqual(emulator.invocations.length, 0)
  })

  it("verifies signatures of other SigV4 signers too (aws4fetch, the AI SDK's: no x-amz-content-sha256)", async () => {
    const post = async (secretAccessKey: string) => {
      const signer = new AwsV4Signer({
        url: `${emulator.url}/model/${encodeURIComponent("amazon.titan-embed-text-v2:0")}/invoke`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputText: "signed elsewhere", dimensions: 256 }),
        accessKeyId: EMULATOR_CREDENTIALS.accessKeyId,
        secretAccessKey,
        service: "bedrock",
        region: "us-east-1"
      })
      const signed = await signer.sign()
      assert.notInclude(signed.headers.get("authorization") ?? "", "x-amz-content-sha256")
      return fetch(signed.url, { method: signed.method, headers: signed.headers, body: signed.body ?? null })
    }
    const ok = await post(EMULATOR_CREDENTIALS.secretAccessKey)
    assert.strictEqual(ok.status, 200)
    assert.lengthOf(((await ok.json()) as { embedding: Array<number> }).embedding, 256)
    const wrong = await post("not-the-secret")
    assert.strictEqual(wrong.status, 403)
    assert.match(wrong.headers.get("x-amzn-errortype") ?? "", /^InvalidSignatureException:/)
  })

  it("resolves geo prefixes and ARNs, and rejects unknown models", async () => {
    const c = client()
    for (const id of [
      "us.amazon.titan-embed-text-v2:0",
      "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.amazon.titan-embed-text-v2:0"
    ]) {
      const body = await invoke(c, id, { inputText: "x", dimensions: 512 })
      assert.strictEqual(body.embedding.length, 512)
    }
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.baseModelId),
      ["amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2:0"]
    )
    const unknown = await failure(invoke(c, "acme.nothing-v1", { inputText: "x" }))
    assert.instanceOf(unknown, ValidationException)
    assert.strictEqual(unknown.message, "The provided model identifier is invalid.")
  })
})

describe("Titan validation, as Bedrock words it", () => {
  const rejects = async (modelId: string, body: unknown, message: string) => {
    const error = await failure(invoke(client(), modelId, body))
    assert.instanceOf(error, ValidationException)
    assert.include(error.message, message)
    assert.strictEqual(error.$metadata.httpStatusCode, 400)
  }

  it("text v1", async () => {
    await rejects("amazon.titan-embed-text-v1", {}, "#: required key [inputText] not found")
    await rejects(
      "amazon.titan-embed-text-v1",
      { inputText: "x", dimensions: 256 },
      "#: extraneous key [dimensions] is not permitted"
    )
    await rejects("amazon.titan-embed-text-v1", { inputText: 3 }, "#/inputText: expected type: String, found: Integer")
    await rejects("amazon.titan-embed-text-v1", { inputText: "" }, "expected minLength: 1")
    await rejects("amazon.titan-embed-text-v1", { inputText: "word ".repeat(9000) }, "Too many input tokens")
  })

  it("text v2", async () => {
    await rejects(
      "amazon.titan-embed-text-v2:0",
      { inputText: "x", dimensions: 300 },
      "#/dimensions: 300 is not a valid enum value"
    )
    await rejects(
      "amazon.titan-embed-text-v2:0",
      { inputText: "x", normalize: "yes" },
      "#/normalize: expected type: Boolean"
    )
    await rejects(
      "amazon.titan-embed-text-v2:0",
      { inputText: "x", embeddingTypes: [] },
      "expected minimum item count: 1"
    )
    await rejects(
      "amazon.titan-embed-text-v2:0",
      { inputText: "x", embeddingTypes: ["int8"] },
      "int8 is not a valid enum value"
    )
    await rejects(
      "amazon.titan-embed-text-v2:0",
      [{ inputText: "x" }],
      "#: expected type: JSONObject, found: JSONArray"
    )
  })

  it("image v1", async () => {
    await rejects("amazon.titan-embed-image-v1", {}, "At least one of inputText or inputImage")
    await rejects("amazon.titan-embed-image-v1", { inputImage: "not base64!" }, "not valid base64")
    await rejects(
      "amazon.titan-embed-image-v1",
      { inputImage: Buffer.from("GIF89a....").toString("base64") },
      "PNG and JPEG"
    )
    await rejects("amazon.titan-embed-image-v1", { inputImage: png(2049, 1) }, "2049x1 pixels")
    await rejects(
      "amazon.titan-embed-image-v1",
      { inputText: "x", embeddingConfig: { outputEmbeddingLength: 512 } },
      "512 is not a valid enum value"
    )
  })

  it("rejects a body that is not JSON", async () => {
    const out = await fetch(`${emulator.url}/model/amazon.titan-embed-text-v2%3A0/invoke`, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/octet-stream" },
      body: "inputText=hello"
    })
    assert.strictEqual(out.status, 400)
    assert.match(
      out.headers.get("x-amzn-errortype") ?? "",
      /^ValidationException:http:\/\/internal\.amazon\.com\/coral\/com\.amazon\.bedrock\/$/
    )
    assert.include(((await out.json()) as { message: string }).message, "Malformed input request")
  })
})

describe("Titan answers", () => {
  it("binary embeddings; normalize:false answers the unit vector, as recorded", async () => {
    const c = client()
    const both = await invoke(c, "amazon.titan-embed-text-v2:0", {
      inputText: "binary please",
      dimensions: 256,
      embeddingTypes: ["binary", "float"]
    })
    assert.strictEqual(both.embeddingsByType.binary.length, 256)
    assert.isTrue(both.embeddingsByType.binary.every((b: number) => b === 0 || b === 1))
    assert.deepStrictEqual(
      both.embeddingsByType.binary,
      both.embeddingsByType.float.map((x: number) => (x > 0 ? 1 : 0))
    )
    const binaryOnly = await invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "b", embeddingTypes: ["binary"] })
    assert.notProperty(binaryOnly, "embedding")
    // recorded-bedrock "Test normalization disabled": normalize:false still came back with norm 1.00000002.
    const unit = await invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "some longer text here" })
    const raw = await invoke(c, "amazon.titan-embed-text-v2:0", {
      inputText: "some longer text here",
      normalize: false
    })
    const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    assert.closeTo(norm(unit.embedding), 1, 1e-6)
    assert.closeTo(norm(raw.embedding), 1, 1e-6)
    assert.deepStrictEqual(raw.embedding, unit.embedding)
  })

  it("is deterministic, and similar texts are closer than unrelated ones", async () => {
    const c = client()
    const a = (await invoke(c, "amazon.titan-embed-text-v1", { inputText: "The cat sat on the mat." })).embedding
    const again = (await invoke(c, "amazon.titan-embed-text-v1", { inputText: "The cat sat on the mat." })).embedding
    const near = (await invoke(c, "amazon.titan-embed-text-v1", { inputText: "A cat was sitting on the mat." }))
      .embedding
    const far = (await invoke(c, "amazon.titan-embed-text-v1", { inputText: "Interest rates rose in March." }))
      .embedding
    assert.strictEqual(a.length, 1536)
    assert.deepStrictEqual(a, again)
    assert.isAbove(cosine(a, near), cosine(a, far) + 0.2)
  })

  it("image v1 embeds an image, a text, and both (between the two)", async () => {
    const c = client()
    const image = png(4, 4)
    const i = await invoke(c, "amazon.titan-embed-image-v1", {
      inputImage: image,
      embeddingConfig: { outputEmbeddingLength: 256 }
    })
    const t = await invoke(c, "amazon.titan-embed-image-v1", {
      inputText: "grey square",
      embeddingConfig: { outputEmbeddingLength: 256 }
    })
    const both = await invoke(c, "amazon.titan-embed-image-v1", {
      inputText: "grey square",
      inputImage: image,
      embeddingConfig: { outputEmbeddingLength: 256 }
    })
    assert.strictEqual(i.embedding.length, 256)
    assert.strictEqual(i.inputTextTokenCount, 0)
    assert.isNull(i.message)
    assert.isAbove(cosine(both.embedding, i.embedding), 0.5)
    assert.isAbove(cosine(both.embedding, t.embedding), 0.5)
  })
})

describe("fault injection", () => {
  it("scripted throttle → a ThrottlingException instance; the SDK's default retry gets through", async () => {
    emulator.injectFaults([{ error: "ThrottlingException" }])
    const error = await failure(invoke(client({ maxAttempts: 1 }), "amazon.titan-embed-text-v2:0", { inputText: "x" }))
    assert.instanceOf(error, ThrottlingException)
    assert.strictEqual(error.$metadata.httpStatusCode, 429)
    assert.strictEqual(error.message, "Too many requests, please wait before trying again.")

    emulator.injectFaults([{ error: "ThrottlingException" }])
    const ok = await invoke(client(), "amazon.titan-embed-text-v2:0", { inputText: "x" })
    assert.strictEqual(ok.embedding.length, 1024)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.status),
      [429, 429, 200]
    )
  })

  it("scripted faults carry Bedrock's statuses and extra members", async () => {
    const c = client({ maxAttempts: 1 })
    const expected: ReadonlyArray<readonly [string, number]> = [
      ["ModelTimeoutException", 408],
      ["ModelErrorException", 424],
      ["ServiceUnavailableException", 503],
      ["ModelNotReadyException", 429],
      ["AccessDeniedException", 403]
    ]
    emulator.injectFaults(expected.map(([error]) => ({ error })))
    for (const [name, status] of expected) {
      const error = await failure(invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "x" }))
      assert.strictEqual(error.name, name)
      assert.strictEqual(error.$metadata.httpStatusCode, status)
      if (name === "ModelErrorException")
        assert.strictEqual((error as unknown as { originalStatusCode: number }).originalStatusCode, 500)
    }
  })

  it("throttles above a request rate", async () => {
    emulator.setFaults({ throttleRps: 5 })
    const c = client({ maxAttempts: 1, requestHandler: new NodeHttpHandler() })
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => invoke(c, "amazon.titan-embed-text-v2:0", { inputText: `t${i}` }))
    )
    const ok = results.filter((r) => r.status === "fulfilled").length
    const throttled = results.filter((r) => r.status === "rejected" && r.reason instanceof ThrottlingException).length
    assert.strictEqual(ok, 5)
    assert.strictEqual(throttled, 15)
    assert.isAtLeast(emulator.stats.throttled, 15)
  })

  it("fails a ratio of calls with 5xx, repeatably for a seed, and adds latency", async () => {
    const pattern = async () => {
      emulator.setFaults({ errorRate: 0.5, seed: 42 })
      const c = client({ maxAttempts: 1, requestHandler: new NodeHttpHandler() })
      const out: Array<number> = []
      for (let i = 0; i < 20; i++) {
        out.push(
          await invoke(c, "amazon.titan-embed-text-v1", { inputText: "x" }).then(
            () => 200,
            (e) => e.$metadata.httpStatusCode
          )
        )
      }
      return out
    }
    const first = await pattern()
    assert.deepStrictEqual(await pattern(), first)
    assert.isTrue(first.some((s) => s >= 500) && first.includes(200))
    emulator.setFaults({ errorRate: 0, latencyMs: 150 })
    const started = Date.now()
    await invoke(client(), "amazon.titan-embed-text-v1", { inputText: "slow" })
    assert.isAtLeast(Date.now() - started, 140)
  })
})
