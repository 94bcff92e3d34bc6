/**
 * LangChain's standard embeddings behaviours (the Python `langchain-tests` suite's checks), a real
 * MemoryVectorStore, roles, errors and retries — against the emulator through the official SDK.
 */
import { Errors } from "@bedrock-embed/core"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { BedrockEmbeddings, BedrockEmbeddingsError } from "@bedrock-embed/langchain"
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"

let emulator: Emulator
beforeAll(async () => {
  emulator = await startEmulator({ s3: false })
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.clearInvocations()
})

const embeddings = (model: string, extra: Partial<ConstructorParameters<typeof BedrockEmbeddings>[0]> = {}) =>
  new BedrockEmbeddings({
    model,
    region: "us-east-1",
    endpoint: emulator.url,
    credentials: EMULATOR_CREDENTIALS,
    ...extra
  })

const models: ReadonlyArray<readonly [string, number]> = [
  ["amazon.titan-embed-text-v2:0", 1024],
  ["cohere.embed-english-v3", 1024],
  ["amazon.nova-2-multimodal-embeddings-v1:0", 3072]
]

for (const [model, dimension] of models) {
  describe(`standard embeddings behaviours: ${model}`, () => {
    it("embedQuery returns a vector of floats", async () => {
      const vector = await embeddings(model).embedQuery("foo")
      assert.isArray(vector)
      assert.strictEqual(vector.length, dimension)
      assert.isTrue(vector.every((x) => typeof x === "number" && Number.isFinite(x)))
    })

    it("embedDocuments returns one vector per document, in order", async () => {
      const e = embeddings(model)
      const documents = ["foo bar", "bar foo", "foo", "a very different sentence"]
      const vectors = await e.embedDocuments(documents)
      assert.strictEqual(vectors.length, documents.length)
      for (let i = 0; i < documents.length; i++) {
        assert.deepStrictEqual(vectors[i], (await e.embedDocuments([documents[i]!]))[0], `document ${i}`)
      }
    })

    it("an empty list gives an empty list, with no call", async () => {
      assert.deepStrictEqual(await embeddings(model).embedDocuments([]), [])
      assert.strictEqual(emulator.invocations.length, 0)
    })

    it("concurrent (async) calls agree and keep one dimension", async () => {
      const e = embeddings(model)
      const [docs, query] = await Promise.all([e.embedDocuments(["foo", "bar"]), e.embedQuery("foo")])
      assert.strictEqual(new Set([...docs, query].map((v) => v.length)).size, 1)
    })
  })
}

describe("roles, batching and options", () => {
  it("Cohere: documents as search_document, queries as search_query, 96 per call", async () => {
    const e = embeddings("cohere.embed-english-v3")
    await e.embedDocuments(Array.from({ length: 100 }, (_, i) => `doc ${i}`))
    await e.embedQuery("what?")
    assert.deepStrictEqual(
      emulator.invocations.map((i) => {
        const body = i.body as { input_type: string; texts: Array<string> }
        return [body.input_type, body.texts.length]
      }),
      [
        ["search_document", 96],
        ["search_document", 4],
        ["search_query", 1]
      ]
    )
  })

  it("Nova: documents as GENERIC_INDEX, queries as GENERIC_RETRIEVAL; dimensions honoured", async () => {
    const e = embeddings("amazon.nova-2-multimodal-embeddings-v1:0", { dimensions: 256 })
    assert.strictEqual((await e.embedDocuments(["x"]))[0]!.length, 256)
    assert.strictEqual((await e.embedQuery("y")).length, 256)
    assert.deepStrictEqual(
      emulator.invocations.map(
        (i) =>
          (i.body as { singleEmbeddingParams: { embeddingPurpose: string } }).singleEmbeddingParams.embeddingPurpose
      ),
      ["GENERIC_INDEX", "GENERIC_RETRIEVAL"]
    )
  })

  it("passes model parameters and a Bedrock API key", async () => {
    const e = embeddings("amazon.titan-embed-text-v2:0", {
      credentials: undefined,
      apiKey: "bedrock-api-key-TEST",
      dimensions: 512,
      modelParameters: { normalize: false }
    })
    assert.strictEqual((await e.embedQuery("x")).length, 512)
    assert.deepStrictEqual(emulator.invocations[0]!.body, { inputText: "x", dimensions: 512, normalize: false })
    assert.strictEqual(emulator.invocations[0]!.auth, "bearer")
  })
})

describe("in a LangChain vector store", () => {
  it("MemoryVectorStore finds the nearest document", async () => {
    const store = await MemoryVectorStore.fromTexts(
      ["The cat sat on the mat.", "Quarterly revenue grew by nine percent.", "Bedrock hosts embedding models."],
      [{ id: 1 }, { id: 2 }, { id: 3 }],
      embeddings("cohere.embed-english-v3")
    )
    const [hit] = await store.similaritySearch("a cat sitting on a mat", 1)
    assert.strictEqual(hit?.metadata.id, 1)
    const [revenue] = await store.similaritySearch("revenue grew", 1)
    assert.strictEqual(revenue?.metadata.id, 2)
  })
})

describe("errors and retries", () => {
  it("keeps the typed error as the cause, and fails before any call on bad input", async () => {
    const error = await embeddings("amazon.titan-embed-text-v2:0", { dimensions: 300 })
      .embedQuery("x")
      .catch((e: unknown) => e)
    assert.instanceOf(error, BedrockEmbeddingsError)
    assert.instanceOf((error as Error).cause, Errors.InvalidRequestError)
    assert.include((error as Error).message, "dimensions must be one of 256, 512, 1024")
    assert.strictEqual(emulator.invocations.length, 0)
  })

  it("a throttle is retried once, by the engine only", async () => {
    emulator.injectFaults([{ error: "ThrottlingException" }])
    const vector = await embeddings("amazon.titan-embed-text-v2:0").embedQuery("x")
    assert.strictEqual(vector.length, 1024)
    assert.deepStrictEqual(
      emulator.invocations.map((i) => i.status),
      [429, 200]
    )
  })

  it("a validation error is not retried by anyone", async () => {
    emulator.injectFaults([{ error: "ValidationException", message: "Malformed input request: injected" }])
    const error = await embeddings("amazon.titan-embed-text-v2:0")
      .embedQuery("x")
      .catch((e: unknown) => e)
    assert.instanceOf((error as Error).cause, Errors.BedrockValidationError)
    assert.strictEqual(emulator.invocations.length, 1)
  })
})
