/** The AI SDK's own `embed` and `embedMany` (ai@7) over the provider, against the emulator. */
import { createBedrockEmbed } from "@bedrock-embed/ai-sdk"
import { Errors } from "@bedrock-embed/core"
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { APICallError } from "@ai-sdk/provider"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { embed, embedMany } from "ai"

let emulator: Emulator
let provider: ReturnType<typeof createBedrockEmbed>
beforeAll(async () => {
  emulator = await startEmulator({ s3: false, credentials: { AKIDAISDKTEST: "ai-sdk-secret-value" } })
  provider = createBedrockEmbed({
    region: "us-east-1",
    endpoint: emulator.url,
    credentials: { accessKeyId: "AKIDAISDKTEST", secretAccessKey: "ai-sdk-secret-value" }
  })
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.clearInvocations()
})

describe("embedMany and embed", () => {
  it("250 texts with a Cohere model → 3 Bedrock calls, in order, with usage", async () => {
    const values = Array.from({ length: 250 }, (_, i) => `text number ${i}`)
    const model = provider.embedding("cohere.embed-english-v3")
    assert.strictEqual(model.maxEmbeddingsPerCall, 96)
    const { embeddings, usage } = await embedMany({ model, values })
    assert.strictEqual(embeddings.length, 250)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => (i.body as { texts: Array<string> }).texts.length),
      [96, 96, 58]
    )
    const { embedding } = await embed({ model, value: values[200]! })
    assert.deepStrictEqual(embedding, embeddings[200])
    assert.isAbove(usage.tokens, 0)
  })

  it("honours the top-level dimensions option for every family that has one", async () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["amazon.titan-embed-text-v2:0", 256],
      ["global.cohere.embed-v4:0", 512],
      ["amazon.nova-2-multimodal-embeddings-v1:0", 384]
    ]
    for (const [modelId, dimensions] of cases) {
      const { embeddings } = await embedMany({
        model: provider.textEmbeddingModel(modelId),
        values: ["a", "b"],
        dimensions
      })
      assert.isTrue(
        embeddings.every((v) => v.length === dimensions),
        modelId
      )
    }
  })

  it("works with every family, and passes provider options by the model's own names", async () => {
    for (const modelId of [
      "amazon.titan-embed-text-v1",
      "cohere.embed-multilingual-v3",
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      "twelvelabs.marengo-embed-3-0-v1:0"
    ]) {
      const { embedding } = await embed({ model: provider(modelId), value: "hello" })
      assert.isAbove(embedding.length, 0, modelId)
    }
    emulator.clearInvocations()
    await embed({
      model: provider("cohere.embed-english-v3"),
      value: "query",
      providerOptions: { bedrockEmbed: { input_type: "search_query", truncate: "END" } }
    })
    assert.deepStrictEqual(emulator.invocations[0]!.body, {
      input_type: "search_query",
      texts: ["query"],
      truncate: "END"
    })
  })
})

describe("errors and retries", () => {
  it("a 429 is retried once, by one layer only (the engine), and ai does not retry again", async () => {
    emulator.injectFaults([{ error: "ThrottlingException" }])
    const { embedding } = await embed({ model: provider("amazon.titan-embed-text-v2:0"), value: "x", maxRetries: 2 })
    assert.strictEqual(embedding.length, 1024)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.status),
      [429, 200]
    )
  })

  it("a failure reaches ai as a non-retryable APICallError carrying the typed error", async () => {
    emulator.injectFaults([{ error: "ValidationException", message: "Malformed input request: injected" }])
    const error = await embed({ model: provider("amazon.titan-embed-text-v2:0"), value: "x", maxRetries: 2 }).catch(
      (e: unknown) => e
    )
    assert.isTrue(APICallError.isInstance(error))
    assert.strictEqual((error as APICallError).isRetryable, false)
    assert.strictEqual((error as APICallError).statusCode, 400)
    assert.instanceOf((error as APICallError).cause, Errors.BedrockValidationError)
    assert.strictEqual(emulator.invocations.length, 1, "ai made no second attempt")
    const echoed = JSON.stringify((error as APICallError).requestBodyValues)
    assert.notInclude(echoed, "ai-sdk-secret-value")
    assert.notInclude(echoed, "AKIDAISDKTEST")
    assert.notInclude(String((error as Error).message), "ai-sdk-secret-value")
  })

  it("bad input fails before any call, as a 400", async () => {
    const error = await embed({
      model: provider("amazon.titan-embed-text-v2:0"),
      value: "x",
      providerOptions: { bedrockEmbed: { dimensions: 7 } }
    }).catch((e: unknown) => e)
    assert.isTrue(APICallError.isInstance(error))
    assert.strictEqual((error as APICallError).statusCode, 400)
    assert.include((error as Error).message, "dimensions must be one of 256, 512, 1024")
    assert.strictEqual(emulator.invocations.length, 0)
  })
})
