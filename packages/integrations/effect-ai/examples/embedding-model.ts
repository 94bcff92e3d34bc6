/**
 * Effect AI: 200 concurrent EmbeddingModel.embed calls on Cohere, merged and batched.
 *
 *   node packages/integrations/effect-ai/examples/embedding-model.ts --emulator   # in-process emulator
 *   node packages/integrations/effect-ai/examples/embedding-model.ts              # real AWS (env credentials and region)
 */
import { BedrockEmbeddingModel } from "@bedrock-embed/effect-ai"
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Layer } from "effect"
import { EmbeddingModel } from "effect/ai"

const emulator = process.argv.includes("--emulator") ? await startEmulator({ s3: false }) : undefined
const Model = BedrockEmbeddingModel.layer({
  model: "cohere.embed-english-v3",
  request: {
    aws_region_name: "us-east-1",
    ...(emulator === undefined
      ? {}
      : {
          aws_bedrock_runtime_endpoint: emulator.url,
          aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
          aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
        })
  }
}).pipe(Layer.provide(BedrockEmbed.layer()))

const program = Effect.gen(function* () {
  const model = yield* EmbeddingModel.EmbeddingModel
  const dimensions = yield* EmbeddingModel.Dimensions
  const texts = Array.from({ length: 200 }, (_, i) => `sentence ${i}`)
  const vectors = yield* Effect.forEach(texts, (text) => model.embed(text), { concurrency: "unbounded" })
  console.log(`${vectors.length} vectors of ${dimensions} dims in ${emulator?.invocations.length ?? "?"} Bedrock calls`)
})
try {
  await Effect.runPromise(program.pipe(Effect.provide(Model)))
} finally {
  await emulator?.close()
}
