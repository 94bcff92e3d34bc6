/** The engine as an Effect layer, with @effect/vitest, against the emulator. */
import { Embeddings, type Errors } from "@bedrock-embed/core"
import type { Emulator } from "@bedrock-embed/emulator"
import { assert, layer } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Context, Effect, Layer } from "effect"
import { paramsFor, start } from "./emulator.ts"

class TestEmulator extends Context.Service<TestEmulator, Emulator>()("test/TestEmulator") {
  static layer = Layer.effect(
    TestEmulator,
    Effect.acquireRelease(
      Effect.promise(() => start()),
      (emulator) => Effect.promise(() => emulator.close())
    )
  )
}

layer(Layer.merge(TestEmulator.layer, BedrockEmbed.layer({ engine: { concurrency: 4 } })))("Embeddings layer", (it) => {
  it.effect("embeds a batch in input order through the Effect API", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const engine = yield* Embeddings.Embeddings
      const inputs = Array.from({ length: 10 }, (_, i) => `text ${i}`)
      const response = yield* engine.embed({
        model: "bedrock/amazon.titan-embed-text-v2:0",
        input: inputs,
        dimensions: 512,
        ...paramsFor(emulator)
      })
      assert.deepStrictEqual(
        response.data.map((d) => d.index),
        inputs.map((_, i) => i)
      )
      const sent = emulator.invocations.slice(-10).map((i) => (i.body as { inputText: string }).inputText)
      assert.sameMembers(sent, inputs)
      assert.strictEqual(response._hidden_params.calls, 10)
    })
  )

  it.effect("fails in the typed error channel, catchable by tag", () =>
    Effect.gen(function* () {
      const emulator = yield* TestEmulator
      const engine = yield* Embeddings.Embeddings
      const message = yield* engine
        .embed({ model: "bedrock/amazon.titan-embed-text-v2:0", input: "x", dimensions: 7, ...paramsFor(emulator) })
        .pipe(
          Effect.as("no error"),
          Effect.catchTag("InvalidRequestError", (e: Errors.InvalidRequestError) => Effect.succeed(e.message))
        )
      assert.include(message, "dimensions must be one of 256, 512, 1024")
    })
  )
})
