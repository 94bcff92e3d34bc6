/**
 * The engine end to end through the official AWS SDK against the emulator: Titan models,
 * request bodies, usage and cost, typed errors, retries.
 */
import type { Emulator } from "@bedrock-embed/emulator"
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { assert, afterAll, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import {
  AccessDeniedError,
  BedrockValidationError,
  CredentialsError,
  EmbeddingResponse,
  InvalidRequestError,
  make,
  type Client,
  UnsupportedModelError
} from "bedrock-embed"
import { cosine, paramsFor, start, tinyPng } from "./emulator.ts"

const V2 = "bedrock/amazon.titan-embed-text-v2:0"

let emulator: Emulator
let client: Client
let params: ReturnType<typeof paramsFor>

beforeAll(async () => {
  emulator = await start()
  params = paramsFor(emulator)
  client = make({ engine: { retryBaseDelay: "5 millis" } })
})
afterAll(async () => {
  await client.dispose()
  await emulator.close()
})
beforeEach(() => {
  emulator.clearInvocations()
  emulator.setFaults({ latencyMs: 0, throttleRps: 0, errorRate: 0 })
})

/** Input token counts straight from Bedrock (the emulator) through the raw SDK. */
const rawTokenCount = async (text: string): Promise<number> => {
  const sdk = new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: emulator.url,
    credentials: { accessKeyId: params.aws_access_key_id, secretAccessKey: params.aws_secret_access_key },
    requestHandler: new NodeHttpHandler()
  })
  const out = await sdk.send(
    new InvokeModelCommand({
      modelId: "amazon.titan-embed-text-v2:0",
      contentType: "application/json",
      body: JSON.stringify({ inputText: text, dimensions: 256 })
    })
  )
  sdk.destroy()
  return JSON.parse(new TextDecoder().decode(out.body)).inputTextTokenCount
}

describe("Titan Text V2 through embedding()", () => {
  it("returns one vector per input, in order, with Bedrock's token counts and a cost", async () => {
    const inputs = ["a", "b", "c"]
    const response = await client.embedding({ model: V2, input: inputs, dimensions: 256, ...params })
    assert.strictEqual(response.object, "list")
    assert.strictEqual(response.model, "amazon.titan-embed-text-v2:0")
    assert.deepStrictEqual(
      response.data.map((d) => d.index),
      [0, 1, 2]
    )
    for (const d of response.data) assert.strictEqual((d.embedding as ReadonlyArray<number>).length, 256)
    // Order: each slot holds exactly the vector of its own input.
    for (let i = 0; i < inputs.length; i++) {
      const single = await client.embedding({ model: V2, input: inputs[i]!, dimensions: 256, ...params })
      assert.deepStrictEqual(single.data[0]!.embedding, response.data[i]!.embedding)
    }
    let expectedTokens = 0
    for (const text of inputs) expectedTokens += await rawTokenCount(text)
    assert.isAbove(expectedTokens, 0)
    assert.strictEqual(response.usage.prompt_tokens, expectedTokens)
    assert.strictEqual(response.usage.total_tokens, expectedTokens)
    assert.closeTo(response._hidden_params.response_cost, expectedTokens * 0.00000002, 1e-15)
    assert.isAbove(response._hidden_params.response_cost, 0)
    assert.strictEqual(response._hidden_params.calls, 3)
    assert.strictEqual(response._hidden_params.request_ids.length, 3)
  })

  it("sends the documented Titan V2 body, field for field", async () => {
    await client.embedding({ model: V2, input: ["hello world"], dimensions: 512, normalize: false, ...params })
    await client.embedding({ model: V2, input: "plain", ...params })
    await client.embedding({ model: V2, input: "both", embeddingTypes: ["float", "binary"], ...params })
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.body),
      [
        { inputText: "hello world", dimensions: 512, normalize: false },
        { inputText: "plain" },
        { inputText: "both", embeddingTypes: ["float", "binary"] }
      ]
    )
  })

  it("returns binary embeddings when asked, and base64 float32 for encoding_format base64", async () => {
    const binary = await client.embedding({
      model: V2,
      input: "x",
      dimensions: 256,
      embeddingTypes: ["binary"],
      ...params
    })
    const bits = binary.data[0]!.embedding as ReadonlyArray<number>
    assert.strictEqual(bits.length, 256)
    assert.isTrue(bits.every((b) => b === 0 || b === 1))

    const floats = await client.embedding({ model: V2, input: "same text", dimensions: 256, ...params })
    const b64 = await client.embedding({
      model: V2,
      input: "same text",
      dimensions: 256,
      encoding_format: "base64",
      ...params
    })
    const encoded = b64.data[0]!.embedding
    assert.isString(encoded)
    const decoded = EmbeddingResponse.fromBase64(encoded as string)
    assert.strictEqual(decoded.length, 256)
    assert.deepStrictEqual([...decoded], [...Float32Array.from(floats.data[0]!.embedding as ReadonlyArray<number>)])
    // Still a float embedding upstream: base64 is an output encoding, not Titan's binary type.
    assert.deepStrictEqual(emulator.invocations.at(-1)!.body, { inputText: "same text", dimensions: 256 })
  })

  it("resolves geo-prefixed ids and ARNs, sending them to Bedrock unchanged", async () => {
    const ids = [
      "us.amazon.titan-embed-text-v2:0",
      "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
    ]
    for (const id of ids) {
      const response = await client.embedding({ model: `bedrock/${id}`, input: "geo", dimensions: 256, ...params })
      assert.strictEqual((response.data[0]!.embedding as ReadonlyArray<number>).length, 256)
    }
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.modelId),
      ids
    )
  })

  it("keeps similar texts closer than unrelated ones", async () => {
    const r = await client.embedding({
      model: V2,
      input: ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew by nine percent"],
      ...params
    })
    const [a, b, c] = r.data.map((d) => d.embedding as ReadonlyArray<number>)
    assert.isAbove(cosine(a!, b!), cosine(a!, c!))
  })
})

describe("other Titan models", () => {
  it("Titan Text G1 sends only inputText and returns 1536 dimensions", async () => {
    const r = await client.embedding({ model: "bedrock/amazon.titan-embed-text-v1", input: ["x", "y"], ...params })
    assert.strictEqual((r.data[1]!.embedding as ReadonlyArray<number>).length, 1536)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.body),
      [{ inputText: "x" }, { inputText: "y" }]
    )
    assert.isAbove(r.usage.prompt_tokens, 0)
  })

  it("Titan Multimodal embeds text, a PNG data URL, and a text+image pair", async () => {
    const png = tinyPng()
    const r = await client.embedding({
      model: "bedrock/amazon.titan-embed-image-v1",
      input: [
        "a red square",
        `data:image/png;base64,${png}`,
        { text: "a red square", image: `data:image/png;base64,${png}` }
      ],
      dimensions: 384,
      ...params
    })
    assert.strictEqual(r.data.length, 3)
    for (const d of r.data) assert.strictEqual((d.embedding as ReadonlyArray<number>).length, 384)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.body),
      [
        { inputText: "a red square", embeddingConfig: { outputEmbeddingLength: 384 } },
        { inputImage: png, embeddingConfig: { outputEmbeddingLength: 384 } },
        { inputText: "a red square", inputImage: png, embeddingConfig: { outputEmbeddingLength: 384 } }
      ]
    )
    assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 2)
    assert.closeTo(r._hidden_params.response_cost, r.usage.prompt_tokens * 0.0000008 + 2 * 0.00006, 1e-12)
  })

  it("Titan Multimodal reads bare base64 with input_type image", async () => {
    const r = await client.embedding({
      model: "bedrock/amazon.titan-embed-image-v1",
      input: tinyPng(),
      input_type: "image",
      ...params
    })
    assert.strictEqual((r.data[0]!.embedding as ReadonlyArray<number>).length, 1024)
    assert.property(emulator.invocations[0]!.body as object, "inputImage")
  })
})

describe("bad input fails before any network call, with typed errors", () => {
  const rejects = async (
    request: Record<string, unknown>, // biome-ignore lint/suspicious/noExplicitAny: any error class
    type: new (...args: any) => Error,
    fragment: string
  ) => {
    const error = await client.embedding({ ...params, ...request } as never).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e
    )
    assert.instanceOf(error, type)
    assert.include((error as Error).message, fragment)
    assert.strictEqual(emulator.invocations.length, 0, "no request may leave the process")
    return error
  }

  it("names the allowed dimensions", async () => {
    const e = await rejects({ model: V2, input: "x", dimensions: 300 }, InvalidRequestError, "256, 512, 1024")
    assert.strictEqual((e as InvalidRequestError).param, "dimensions")
  })
  it("rejects a parameter the model does not support, naming it and the model", async () => {
    await rejects(
      { model: "bedrock/amazon.titan-embed-text-v1", input: "x", dimensions: 256 },
      InvalidRequestError,
      'Parameter "dimensions" is not supported by amazon.titan-embed-text-v1'
    )
    await rejects({ model: V2, input: "x", truncate: "END" }, InvalidRequestError, '"truncate"')
  })
  it("drops unsupported parameters with drop_params", async () => {
    const r = await client.embedding({
      model: "bedrock/amazon.titan-embed-text-v1",
      input: "x",
      dimensions: 256,
      truncate: "END",
      drop_params: true,
      ...params
    })
    assert.strictEqual((r.data[0]!.embedding as ReadonlyArray<number>).length, 1536)
    assert.deepStrictEqual(emulator.invocations[0]!.body, { inputText: "x" })
  })
  it("rejects bad provider parameter values", async () => {
    const e = await rejects(
      { model: V2, input: "x", normalize: "yes" },
      InvalidRequestError,
      'Invalid value "yes" for parameter "normalize" of amazon.titan-embed-text-v2:0: expected boolean'
    )
    assert.strictEqual((e as InvalidRequestError).param, "normalize")
  })
  it("rejects empty input, images for text models, and unsupported image formats", async () => {
    await rejects({ model: V2, input: [] }, InvalidRequestError, "input is empty")
    await rejects({ model: V2, input: ["ok", ""] }, InvalidRequestError, "input[1]")
    await rejects({ model: V2, input: `data:image/png;base64,${tinyPng()}` }, InvalidRequestError, "embeds text")
    await rejects(
      {
        model: "bedrock/amazon.titan-embed-image-v1",
        input: "data:image/bmp;base64,Qk0eAAAAAAAAABoAAAAMAAAAAQABAAEAGAAAAP8A"
      },
      InvalidRequestError,
      "png, jpeg"
    )
  })
  it("rejects unknown models naming the known families", async () => {
    await rejects({ model: "bedrock/acme.embed-v1", input: "x" }, UnsupportedModelError, "titan")
  })
  it("rejects a key without its secret", async () => {
    await rejects(
      { model: V2, input: "x", aws_secret_access_key: undefined },
      CredentialsError,
      "aws_secret_access_key"
    )
  })
  it("rejects the async route for Titan", async () => {
    await rejects(
      { model: "bedrock/async_invoke/amazon.titan-embed-text-v2:0", input: "x" },
      InvalidRequestError,
      "no async-invoke route"
    )
  })
})

describe("Bedrock errors and retries", () => {
  it("retries throttling and 5xx, and still returns every vector", async () => {
    emulator.injectFaults([
      { error: "ThrottlingException" },
      { error: "ServiceUnavailableException" },
      { error: "InternalServerException" }
    ])
    const r = await client.embedding({ model: V2, input: ["p", "q"], dimensions: 256, ...params })
    assert.strictEqual(r.data.length, 2)
    assert.strictEqual(r._hidden_params.retries, 3)
    assert.strictEqual(emulator.invocations.length, 5)
  })

  it("delivers every vector from a rate-throttled emulator", async () => {
    emulator.setFaults({ throttleRps: 40 })
    const inputs = Array.from({ length: 120 }, (_, i) => `document number ${i}`)
    const r = await client.embedding({ model: V2, input: inputs, dimensions: 256, ...params })
    assert.strictEqual(r.data.length, 120)
    assert.isTrue(r.data.every((d, i) => d.index === i && (d.embedding as ReadonlyArray<number>).length === 256))
    assert.isAbove(r._hidden_params.retries, 0, "the emulator should have throttled some calls")
    assert.isAbove(emulator.stats.throttled, 0)
  })

  it("does not retry validation errors, and says what Bedrock said", async () => {
    emulator.injectFaults([{ error: "ValidationException", message: "Malformed input request: injected" }])
    const error = await client.embedding({ model: V2, input: "x", ...params }).catch((e: unknown) => e)
    assert.instanceOf(error, BedrockValidationError)
    assert.include((error as BedrockValidationError).message, "Malformed input request: injected")
    assert.strictEqual((error as BedrockValidationError).retryable, false)
    assert.isString((error as BedrockValidationError).requestId)
    assert.strictEqual(emulator.invocations.length, 1)
  })

  it("maps a wrong secret to AccessDeniedError without leaking the secret", async () => {
    const secret = "definitely-wrong-secret-value"
    const error = await client
      .embedding({ model: V2, input: "x", ...params, aws_secret_access_key: secret })
      .catch((e: unknown) => e)
    assert.instanceOf(error, AccessDeniedError)
    assert.notInclude(JSON.stringify(error), secret)
    assert.notInclude(String((error as Error).message), secret)
  })

  it("authenticates with a Bedrock API key (bearer)", async () => {
    const r = await client.embedding({
      model: V2,
      input: "x",
      api_key: "bedrock-api-key-TEST",
      aws_bedrock_runtime_endpoint: emulator.url,
      aws_region_name: "us-east-1"
    })
    assert.strictEqual(r.data.length, 1)
    assert.strictEqual(emulator.invocations[0]!.auth, "bearer")
  })
})

describe("request limits", () => {
  it("rejects more inputs than a request may carry, naming the limit", async () => {
    const small = make({ engine: { maxInputs: 5 } })
    const error = await small
      .embedding({ model: V2, input: ["a", "b", "c", "d", "e", "f"], ...params })
      .catch((e: unknown) => e)
    await small.dispose()
    assert.instanceOf(error, InvalidRequestError)
    assert.include((error as InvalidRequestError).message, "at most 5")
    assert.strictEqual(emulator.invocations.length, 0)
  })
})
