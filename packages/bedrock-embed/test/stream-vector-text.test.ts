/** embedStream's vectors do not keep their response bodies alive; the gateway's still carry their text. */
import { EmbeddingRequest, Embeddings, Float32Json } from "@bedrock-embed/core"
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Stream } from "effect"

describe("Embeddings.embedStream vectors", () => {
  it.live("keep no JSON text (so holding vectors does not hold bodies), where embedDecoded's float32 vectors do", () =>
    Effect.gen(function* () {
      const emulator = yield* Effect.acquireRelease(
        Effect.promise(() => startEmulator({ s3: false })),
        (e) => Effect.promise(() => e.close())
      )
      const engine = yield* Embeddings.Embeddings
      const params = {
        model: "bedrock/amazon.titan-embed-text-v2:0",
        aws_bedrock_runtime_endpoint: emulator.url,
        aws_region_name: "us-east-1",
        aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
        aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
      }
      const items = yield* Stream.runCollect(engine.embedStream(params, Stream.fromIterable(["a", "b", "c"])))
      assert.strictEqual(items.length, 3)
      for (const item of items) {
        assert.isTrue("embedding" in item && item.embedding instanceof Float32Array && item.embedding.length > 0)
        if ("embedding" in item) assert.isUndefined(Float32Json.jsonText(item.embedding))
      }
      const decoded = yield* engine.embedDecoded(yield* EmbeddingRequest.decode({ ...params, input: ["a"] }), {
        float32: true
      })
      const vector = decoded.data[0]!.embedding
      assert.instanceOf(vector, Float32Array)
      assert.isDefined(Float32Json.jsonText(vector), "a gateway still writes Bedrock's own text")
    }).pipe(Effect.provide(BedrockEmbed.layer({})), Effect.scoped)
  )
})
