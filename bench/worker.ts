/**
 * One benchmark measurement in its own process:
 *
 *   worker.ts <contender> <model> <count> <emulator url> [batch|stream|probe]
 *
 * `floor` is no library: the bare node:http exchange and the float reader, for floors.
 *
 * Prints one JSON line: wall and CPU time, vectors delivered, inputs that got none, inputs that
 * got more than one, peak RSS above the baseline taken after the contender's own imports, and
 * the first error message. `probe` embeds one text with retries off, to tell "unsupported" from
 * "slow" without waiting out a peer's backoff.
 */
const [contender, model, countArg, url, mode = "batch"] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string?
]
const count = mode === "probe" ? 1 : Number(countArg)
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
const texts = Array.from({ length: count }, (_, i) => `benchmark document ${i} about topic ${i % 37} and more words`)
const cohere = model.startsWith("cohere.")

// Each contender loads only its own libraries, before the baseline: what the vectors and the
// work add on top is what is compared.
const sdk =
  contender.startsWith("raw-sdk") || contender.startsWith("langchain-aws")
    ? await import("@aws-sdk/client-bedrock-runtime")
    : undefined
const smithyHttp = sdk === undefined ? undefined : await import("@smithy/node-http-handler")
const ours = contender === "bedrock-embed" ? await import("bedrock-embed") : undefined
const core = contender === "bedrock-embed" || contender === "floor" ? await import("@bedrock-embed/core") : undefined
const nodeHttp = contender === "floor" ? await import("node:http") : undefined
const effect = contender === "bedrock-embed" ? await import("effect") : undefined
const langchain = contender.startsWith("langchain-aws") ? await import("@langchain/aws") : undefined
const aiSdk =
  contender === "ai-sdk" ? { ...(await import("@ai-sdk/amazon-bedrock")), ...(await import("ai")) } : undefined

const baselineRss = process.memoryUsage().rss
let peakRss = baselineRss
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 10)

interface Outcome {
  /** Per input index: how many vectors it got. */
  readonly delivered: Uint32Array
  readonly error?: string | undefined
  /** Kept so the vectors are alive when memory is sampled. */
  readonly kept: unknown
}

const tally = (vectors: ReadonlyArray<unknown> | undefined): Uint32Array => {
  const delivered = new Uint32Array(count)
  if (vectors !== undefined)
    for (let i = 0; i < Math.min(count, vectors.length); i++) {
      const v = vectors[i] as ArrayLike<number> | undefined
      if (v !== undefined && v.length > 0) delivered[i] = 1
    }
  return delivered
}
const message = (error: unknown) => String((error as Error)?.message ?? error).slice(0, 160)

const run = async (): Promise<Outcome> => {
  switch (contender) {
    case "bedrock-embed": {
      const { BedrockEmbed } = ours!
      const { Embeddings } = core!
      const { Effect, Stream } = effect!
      const params = {
        model: `bedrock/${model}`,
        aws_bedrock_runtime_endpoint: url,
        aws_region_name: "us-east-1",
        aws_access_key_id: credentials.accessKeyId,
        aws_secret_access_key: credentials.secretAccessKey
      }
      if (mode === "stream") {
        // The bulk path: a stream in, Float32Arrays out, in order.
        const vectors: Array<Float32Array> = []
        const delivered = new Uint32Array(count)
        let error: string | undefined
        await Effect.runPromise(
          Embeddings.Embeddings.use((engine) =>
            Stream.runForEach(engine.embedStream(params, Stream.fromIterable(texts)), (item) =>
              Effect.sync(() => {
                if ("embedding" in item) {
                  delivered[item.index]!++
                  vectors.push(item.embedding)
                } else error ??= item.error.message
              })
            )
          ).pipe(Effect.provide(BedrockEmbed.layer()))
        )
        return { delivered, error, kept: vectors }
      }
      const client = BedrockEmbed.make()
      try {
        const response = await client.embedding({ ...params, input: texts })
        const delivered = new Uint32Array(count)
        for (const d of response.data) delivered[d.index]!++
        return { delivered, kept: response }
      } catch (error) {
        return { delivered: new Uint32Array(count), error: message(error), kept: undefined }
      } finally {
        await client.dispose()
      }
    }
    case "raw-sdk":
    case "raw-sdk-h2": {
      // The loop a careful user writes: keep-alive pool, 16 workers, batches of 96 for Cohere,
      // the SDK's standard retries (3 attempts). `raw-sdk-h2` keeps the client's default
      // handler (HTTP/2) instead of the HTTP/1.1 pool.
      const { NodeHttpHandler } = smithyHttp!
      const client = new sdk!.BedrockRuntimeClient({
        region: "us-east-1",
        endpoint: url,
        credentials,
        ...(contender === "raw-sdk"
          ? { requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 16 } }) }
          : {})
      })
      const size = cohere ? 96 : 1
      const out: Array<Array<number>> = new Array(count)
      let error: string | undefined
      let next = 0
      const worker = async () => {
        while (next * size < count) {
          const at = next++
          const batch = texts.slice(at * size, at * size + size)
          try {
            const res = await client.send(
              new sdk!.InvokeModelCommand({
                modelId: model,
                contentType: "application/json",
                body: JSON.stringify(
                  cohere ? { input_type: "search_document", texts: batch } : { inputText: batch[0], dimensions: 1024 }
                )
              })
            )
            const json = JSON.parse(new TextDecoder().decode(res.body))
            const vectors: Array<Array<number>> = cohere ? json.embeddings : [json.embedding]
            for (let j = 0; j < vectors.length; j++) out[at * size + j] = vectors[j]!
          } catch (e) {
            error ??= message(e)
          }
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
      client.destroy()
      return { delivered: tally(out), error, kept: out }
    }
    case "langchain-aws":
    case "langchain-aws-h1": {
      // `langchain-aws-h1`: the client a user passes to talk to an HTTP/1.1 endpoint (the SDK's
      // default handler speaks HTTP/2 only).
      const client = new sdk!.BedrockRuntimeClient({
        region: "us-east-1",
        endpoint: url,
        credentials,
        ...(contender === "langchain-aws-h1"
          ? { requestHandler: new smithyHttp!.NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 16 } }) }
          : {})
      })
      const embeddings = new langchain!.BedrockEmbeddings({
        model,
        client,
        region: "us-east-1",
        ...(mode === "probe" ? { maxRetries: 0 } : {})
      })
      try {
        const vectors = await embeddings.embedDocuments(texts)
        return { delivered: tally(vectors), kept: vectors }
      } catch (error) {
        return { delivered: new Uint32Array(count), error: message(error), kept: undefined }
      } finally {
        client.destroy()
      }
    }
    case "ai-sdk": {
      const { createAmazonBedrock, embedMany } = aiSdk!
      const bedrock = createAmazonBedrock({ baseURL: url, region: "us-east-1", ...credentials })
      try {
        const { embeddings } = await embedMany({
          model: bedrock.embedding(model),
          values: texts,
          ...(mode === "probe" ? { maxRetries: 0 } : {})
        })
        return { delivered: tally(embeddings), kept: embeddings }
      } catch (error) {
        return { delivered: new Uint32Array(count), error: message(error), kept: undefined }
      }
    }
    case "floor": {
      // Not a library: the least any client can do for one-text calls, to measure floors against.
      // A keep-alive node:http pool, 64 in flight, no signing, no retries, no deadline; each body
      // read into one buffer and its vector straight into a Float32Array (Float32Json).
      const endpoint = new URL(url)
      const agent = new nodeHttp!.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 })
      const path = `/model/${encodeURIComponent(model)}/invoke`
      const one = (text: string) =>
        new Promise<Buffer>((resolve, reject) => {
          const payload = Buffer.from(JSON.stringify({ inputText: text, dimensions: 1024 }))
          const headers = {
            host: endpoint.host,
            "content-type": "application/json",
            "content-length": String(payload.length),
            authorization: "none"
          }
          const req = nodeHttp!.request(
            { method: "POST", hostname: endpoint.hostname, port: Number(endpoint.port), path, agent, headers },
            (res) => {
              const chunks: Array<Buffer> = []
              res.on("data", (chunk: Buffer) => chunks.push(chunk))
              res.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
              res.on("error", reject)
            }
          )
          req.on("error", reject)
          req.end(payload)
        })
      const out: Array<Float32Array> = new Array(count)
      let error: string | undefined
      let next = 0
      const worker = async () => {
        while (next < count) {
          const at = next++
          try {
            const json = core!.Float32Json.parseFloat32Json(await one(texts[at]!), { keepText: false })
            out[at] = (json as { embedding: Float32Array }).embedding
          } catch (e) {
            error ??= message(e)
          }
        }
      }
      await Promise.all(Array.from({ length: 64 }, worker))
      agent.destroy()
      return { delivered: tally(out), error, kept: out }
    }
    default:
      throw new Error(`unknown contender ${contender}`)
  }
}

const cpu0 = process.cpuUsage()
const t0 = performance.now()
const outcome = await run()
const wallMs = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
clearInterval(sampler)
peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024)
let completed = 0
let missing = 0
let duplicates = 0
for (const n of outcome.delivered) {
  if (n > 0) completed++
  if (n === 0) missing++
  if (n > 1) duplicates += n - 1
}
process.stdout.write(
  `${JSON.stringify({
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    completed,
    missing,
    duplicates,
    extraRss: peakRss - baselineRss,
    error: outcome.error,
    kept: outcome.kept === undefined ? 0 : 1
  })}\n`
)
process.exit(0)
