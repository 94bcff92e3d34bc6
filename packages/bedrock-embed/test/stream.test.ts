/** Streaming embeddings and adaptive concurrency, against the emulator. */
import { Embeddings, Limiter } from "@bedrock-embed/core"
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Stream } from "effect"

const withEngine = <A>(
  options: BedrockEmbed.Options,
  f: (engine: Embeddings.Service, emulator: Awaited<ReturnType<typeof startEmulator>>) => Effect.Effect<A, unknown>
) =>
  Effect.gen(function* () {
    const emulator = yield* Effect.acquireRelease(
      Effect.promise(() => startEmulator({ s3: false })),
      (e) => Effect.promise(() => e.close())
    )
    const engine = yield* Embeddings.Embeddings
    return yield* f(engine, emulator)
  }).pipe(Effect.provide(BedrockEmbed.layer(options)), Effect.scoped)

const params = (url: string) => ({
  aws_bedrock_runtime_endpoint: url,
  aws_region_name: "us-east-1",
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

describe("Embeddings.embedStream", () => {
  it.live("streams 1000 inputs in order as Float32Arrays, in full Cohere calls, with usage", () =>
    withEngine({}, (engine, emulator) =>
      Effect.gen(function* () {
        const texts = Array.from({ length: 1000 }, (_, i) => `streamed document ${i}`)
        const items = yield* Stream.runCollect(
          engine.embedStream(
            { model: "bedrock/cohere.embed-english-v3", ...params(emulator.url) },
            Stream.fromIterable(texts)
          )
        )
        assert.strictEqual(items.length, 1000)
        assert.isTrue(
          items.every((item, i) => item.index === i && "embedding" in item && item.embedding instanceof Float32Array)
        )
        assert.deepStrictEqual(
          emulator.invocations.map((i) => (i.body as { texts: Array<string> }).texts.length),
          [...Array(10).fill(96), 40]
        )
        const tokens = items.reduce((sum, item) => sum + ("tokens" in item ? (item.tokens ?? 0) : 0), 0)
        const direct = yield* engine.embed({
          model: "bedrock/cohere.embed-english-v3",
          input: texts,
          ...params(emulator.url)
        })
        assert.strictEqual(tokens, direct.usage.prompt_tokens)
        const first = items[0]!
        assert.isTrue("embedding" in first && first.embedding.length === 1024)
        // The stream reads bodies straight into Float32Arrays: the same numbers, narrowed.
        for (const i of [0, 95, 96, 500, 999]) {
          const item = items[i]!
          const reference = direct.data[i]!.embedding as ReadonlyArray<number>
          assert.isTrue(
            "embedding" in item && item.embedding.every((v, d) => v === Math.fround(reference[d]!)),
            `input ${i}`
          )
        }
      })
    )
  )

  it.live("reports a failing input as an error item and delivers every other one", () =>
    withEngine({}, (engine, emulator) =>
      Effect.gen(function* () {
        const texts = ["good one", "", "good two", "good three"]
        const items = yield* Stream.runCollect(
          engine.embedStream(
            { model: "bedrock/cohere.embed-english-v3", ...params(emulator.url) },
            Stream.fromIterable(texts)
          )
        )
        assert.deepStrictEqual(
          items.map((item) => [item.index, "error" in item ? item.error._tag : "ok"]),
          [
            [0, "ok"],
            [1, "InvalidRequestError"],
            [2, "ok"],
            [3, "ok"]
          ]
        )
      })
    )
  )

  it.live("fails the stream at once on a bad parameter", () =>
    withEngine({}, (engine, emulator) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Stream.runCollect(
            engine.embedStream(
              { model: "bedrock/amazon.titan-embed-text-v2:0", dimensions: 300, ...params(emulator.url) },
              Stream.fromIterable(["a"])
            )
          )
        )
        assert.strictEqual((error as { _tag: string })._tag, "InvalidRequestError")
        assert.strictEqual(emulator.invocations.length, 0)
      })
    )
  )

  it.live("adapts its pace to throttling and still delivers every vector", () =>
    withEngine({ engine: { concurrency: 32, maxConcurrency: 64, retryBaseDelay: "10 millis" } }, (engine, emulator) =>
      Effect.gen(function* () {
        emulator.setFaults({ throttleRps: 150 })
        const texts = Array.from({ length: 400 }, (_, i) => `throttled ${i}`)
        const items = yield* Stream.runCollect(
          engine.embedStream(
            { model: "bedrock/amazon.titan-embed-text-v2:0", dimensions: 256, ...params(emulator.url) },
            Stream.fromIterable(texts)
          )
        )
        assert.strictEqual(items.filter((item) => "embedding" in item).length, 400)
        assert.isAbove(emulator.stats.throttled, 0)
        assert.isAbove(engine.limiter.decreases(), 0, "the pace was cut on throttling")
      })
    )
  )
})

describe("Limiter", () => {
  it.live("never runs more than the limit at once", () =>
    Effect.gen(function* () {
      const limiter = Limiter.make({ initial: 3, max: 3 })
      let running = 0
      let peak = 0
      yield* Effect.forEach(
        Array.from({ length: 20 }),
        () =>
          limiter.withPermit(
            Effect.gen(function* () {
              running++
              peak = Math.max(peak, running)
              yield* Effect.sleep("5 millis")
              running--
            })
          ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(peak, 3)
      assert.strictEqual(limiter.inFlight(), 0)
    })
  )
})
