/**
 * What embedStream itself costs per embedding, with no network: a transport that answers every
 * InvokeModel at once (on the next macrotask, as a socket would) with a real Titan v2 body in
 * full notation (`bench/standin.ts`'s numbers). The figure is the library's own work — planning,
 * the limiter, retries' bookkeeping, the stream, parsing and decoding — against the float reader
 * alone on the same bodies: steady from run to run where the stand-in's figures move by ±20 %.
 *
 *   pnpm bench overhead [count]
 */
import { BedrockEmbed } from "bedrock-embed"
import { AwsCredentials, BedrockRuntime, Embeddings, Float32Json, ObjectStore, Pricing } from "@bedrock-embed/core"
import { Effect, Layer, Stream } from "effect"

const count = Number(process.argv[2] ?? Math.max(2000, Math.round(20_000 * Number(process.env.BENCH_SCALE ?? 1))))
const MODEL = "amazon.titan-embed-text-v2:0"

// Java's Double.toString of float32 values, as real Titan bodies print them (see standin.ts).
const javaDouble = (v: number): string => {
  const a = Math.abs(v)
  if (a !== 0 && a < 1e-3) {
    const [m, e] = v.toExponential().split("e")
    return `${m!.includes(".") ? m : `${m}.0`}E${Number(e)}`
  }
  const s = String(v)
  return s.includes(".") ? s : `${s}.0`
}
let seed = 7
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
const bodies = Array.from({ length: 16 }, () => {
  const v = Array.from({ length: 1024 }, () => Math.fround((random() - 0.5) / 16))
  const text = `[${v.map(javaDouble).join(",")}]`
  return Buffer.from(`{"embedding":${text},"embeddingsByType":{"float":${text}},"inputTextTokenCount":9}`)
})

let served = 0
const instant = Layer.succeed(
  BedrockRuntime.BedrockRuntime,
  BedrockRuntime.BedrockRuntime.of({
    invokeModel: () =>
      Effect.callback<BedrockRuntime.InvokeResult>((resume) => {
        const body = bodies[served++ % bodies.length]!
        const timer = setImmediate(() => resume(Effect.succeed({ body, requestId: "r", inputTokenCount: 9 })))
        return Effect.sync(() => clearImmediate(timer))
      }),
    startAsyncInvoke: () => Effect.die("not in this benchmark"),
    getAsyncInvoke: () => Effect.die("not in this benchmark"),
    listAsyncInvokes: () => Effect.die("not in this benchmark")
  } as unknown as BedrockRuntime.Service)
)
const layer = Embeddings.layer.pipe(
  Layer.provide(Layer.mergeAll(BedrockEmbed.registry, instant, ObjectStore.layer, AwsCredentials.layer, Pricing.layer))
)
const params = {
  model: `bedrock/${MODEL}`,
  aws_region_name: "us-east-1",
  aws_access_key_id: "AKIDEXAMPLE",
  aws_secret_access_key: "secret"
}
const texts = Array.from({ length: count }, (_, i) => `benchmark document ${i} about topic ${i % 37}`)

const streamOnce = (n: number) =>
  Effect.runPromise(
    Embeddings.Embeddings.use((engine) =>
      Stream.runFold(
        engine.embedStream(params, Stream.fromIterable(texts.slice(0, n))),
        () => 0,
        (k, item) => {
          if (!("embedding" in item)) throw new Error(item.error.message)
          return k + 1
        }
      )
    ).pipe(Effect.provide(layer))
  )

const cpuOf = async (f: () => Promise<unknown>) => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const cpu = process.cpuUsage(c0)
  return { cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() - t0 }
}

await streamOnce(500) // warm up: JIT, the layer's first build
const stream = await cpuOf(() => streamOnce(count))
const parse = await cpuOf(async () => {
  for (let i = 0; i < count; i++) Float32Json.parseFloat32Json(bodies[i % bodies.length]!, { keepText: false })
})
const per = (ms: number) => ((ms * 1000) / count).toFixed(0)
console.log(
  `embedStream with an instant transport — Node ${process.version}, ${count} Titan Text v2 bodies (1024 dims, full notation)`
)
console.log(`    embedStream: ${per(stream.cpu)} µs CPU / embedding (${per(stream.wall)} µs wall)`)
console.log(`    the float reader alone on the same bodies: ${per(parse.cpu)} µs CPU / embedding`)
console.log(
  `    the library's own work on top: ${(((stream.cpu - parse.cpu) * 1000) / count).toFixed(0)} µs CPU / embedding`
)
