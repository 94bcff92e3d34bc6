/** Effect AI's EmbeddingModel over bedrock-embed, against the emulator. */
import { BedrockEmbeddingModel } from "@bedrock-embed/effect-ai"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { assert, layer } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Context, Duration, Effect, Layer } from "effect"
import { EmbeddingModel } from "effect/ai"

class TestEmulator extends Context.Service<TestEmulator, Emulator>()("test/Emulator") {}

let emulator: Emulator
const emulatorLayer = Layer.effect(
  TestEmulator,
  Effect.acquireRelease(
    Effect.promise(async () => {
      emulator = await startEmulator({ s3: false })
      return emulator
    }),
    (e) => Effect.promise(() => e.close())
  )
)

const request = () => ({
  aws_bedrock_runtime_endpoint: emulator.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

// The model layers read the emulator's URL when they are built, after the emulator layer.
const modelLayer = (options: Omit<BedrockEmbeddingModel.Options, "request">, engine?: BedrockEmbed.Options["engine"]) =>
  Layer.unwrap(
    Effect.sync(() =>
      BedrockEmbeddingModel.layer({ ...options, request: request() }).pipe(
        Layer.provide(BedrockEmbed.layer(engine === undefined ? {} : { engine }))
      )
    )
  )

layer(emulatorLayer, { excludeTestServices: true })("Effect AI EmbeddingModel", (it) => {
  it.layer(modelLayer({ model: "cohere.embed-english-v3" }))("Cohere", (it) => {
    it.effect("200 concurrent embed calls → ⌈200/96⌉ Bedrock calls, each caller its own vector", () =>
      Effect.gen(function* () {
        const e = yield* TestEmulator
        e.clearInvocations()
        const model = yield* EmbeddingModel.EmbeddingModel
        const inputs = Array.from({ length: 200 }, (_, i) => `sentence ${i} about ${i % 13}`)
        const vectors = yield* Effect.forEach(inputs, (input) => model.embed(input), { concurrency: "unbounded" })
        assert.deepStrictEqual(
          e.invocations.map((i) => (i.body as { texts: Array<string> }).texts.length),
          [96, 96, 8]
        )
        for (const i of [0, 97, 199]) {
          const single = yield* model.embedMany([inputs[i]!])
          assert.deepStrictEqual(vectors[i]!.vector, single.embeddings[0]!.vector, `caller ${i}`)
        }
        assert.strictEqual((e.invocations[0]!.body as { input_type: string }).input_type, "search_document")
      })
    )

    it.effect("embedMany reports usage; an empty batch makes no call", () =>
      Effect.gen(function* () {
        const e = yield* TestEmulator
        const model = yield* EmbeddingModel.EmbeddingModel
        const many = yield* model.embedMany(["a", "b"])
        assert.strictEqual(many.embeddings.length, 2)
        assert.isAbove(many.usage.inputTokens ?? 0, 0)
        e.clearInvocations()
        const none = yield* model.embedMany([])
        assert.strictEqual(none.embeddings.length, 0)
        assert.strictEqual(e.invocations.length, 0)
      })
    )
  })

  it.layer(modelLayer({ model: "amazon.titan-embed-text-v2:0", dimensions: 512 }))("Titan with dimensions", (it) => {
    it.effect("provides Dimensions and vectors of that size", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* EmbeddingModel.Dimensions, 512)
        const model = yield* EmbeddingModel.EmbeddingModel
        assert.strictEqual((yield* model.embed("x")).vector.length, 512)
      })
    )
  })

  it.layer(modelLayer({ model: "amazon.titan-embed-text-v2:0" }, { maxRetries: 0 }))("errors", (it) => {
    it.effect("maps Bedrock errors onto AiError reasons", () =>
      Effect.gen(function* () {
        const e = yield* TestEmulator
        const model = yield* EmbeddingModel.EmbeddingModel
        const reasonOf = (fault: Parameters<Emulator["injectFaults"]>[0][number]) =>
          Effect.gen(function* () {
            e.injectFaults([fault])
            const error = yield* Effect.flip(model.embedMany(["x"]))
            return error.reason
          })
        const throttled = yield* reasonOf({ error: "ThrottlingException", retryAfterSeconds: 3 })
        assert.strictEqual(throttled._tag, "RateLimitError")
        assert.deepStrictEqual(
          throttled._tag === "RateLimitError" ? throttled.retryAfter : undefined,
          Duration.seconds(3)
        )
        assert.strictEqual((yield* reasonOf({ error: "ModelTimeoutException" }))._tag, "InternalProviderError")
        assert.strictEqual((yield* reasonOf({ error: "ModelErrorException" }))._tag, "InvalidRequestError")
        assert.strictEqual((yield* reasonOf({ error: "ServiceQuotaExceededException" }))._tag, "QuotaExhaustedError")
        assert.strictEqual((yield* reasonOf({ error: "AccessDeniedException" }))._tag, "AuthenticationError")
        assert.strictEqual((yield* reasonOf({ error: "InternalServerException" }))._tag, "InternalProviderError")
      })
    )
  })

  it.layer(modelLayer({ model: "amazon.titan-embed-text-v2:0", dimensions: 7 }))("bad input", (it) => {
    it.effect("fails with InvalidRequestError naming the parameter, before any call", () =>
      Effect.gen(function* () {
        const e = yield* TestEmulator
        e.clearInvocations()
        const model = yield* EmbeddingModel.EmbeddingModel
        const error = yield* Effect.flip(model.embed("x"))
        assert.strictEqual(error.reason._tag, "InvalidRequestError")
        assert.strictEqual(
          error.reason._tag === "InvalidRequestError" ? error.reason.parameter : undefined,
          "dimensions"
        )
        assert.strictEqual(e.invocations.length, 0)
      })
    )
  })
})
