// Temporary helper microbench (helper 14, removed before report): embedStream with a canned in-process runtime.
import { Effect, Layer, Stream } from "effect"
import { BedrockEmbed } from "bedrock-embed"
import { AwsCredentials, BedrockRuntime, Embeddings, Pricing } from "@bedrock-embed/core"
const n = Number(process.argv[2] ?? 5000)
const nums = Array.from({ length: 1024 }, (_, i) => (Math.sin(i + 1) * 0.05).toPrecision(16))
const body = new TextEncoder().encode(`{"embedding":[${nums.join(",")}],"embeddingsByType":{"float":[${nums.join(",")}]},"inputTextTokenCount":9}`)
const fake = Layer.succeed(BedrockRuntime.BedrockRuntime, {
  invokeModel: () => Effect.callback((resume) => { setImmediate(() => resume(Effect.succeed({ body, requestId: "r", inputTokenCount: 9 }))) }),
  startAsyncInvoke: () => Effect.die("no"), getAsyncInvoke: () => Effect.die("no"), listAsyncInvokes: () => Effect.die("no")
} as any)
const layer = Embeddings.layerWith({}).pipe(Layer.provide(Layer.mergeAll(BedrockEmbed.registry, fake, AwsCredentials.layer, Pricing.layerOverrides({}))))
const texts = Array.from({ length: n }, (_, i) => `benchmark document ${i} about topic ${i % 37} and more words`)
const params = { model: "bedrock/amazon.titan-embed-text-v2:0", aws_region_name: "us-east-1", aws_access_key_id: "A", aws_secret_access_key: "B" }
const once = () => Effect.runPromise(Embeddings.Embeddings.use((engine) => Stream.runForEach(engine.embedStream(params, Stream.fromIterable(texts)), () => Effect.void)).pipe(Effect.provide(layer)))
await once()
for (let r = 0; r < 3; r++) { const c0 = process.cpuUsage(); await once(); const c = process.cpuUsage(c0); console.log("µs/embedding", ((c.user + c.system) / n).toFixed(1)) }
