// The consumer smoke's runtime half, run by scripts/consumer-smoke.sh with Node 24 from a temporary
// npm project holding the packed tarballs (never from the workspace). Every import below resolves to
// node_modules: the libraries and the three adapters embed once each against the emulator the
// installed `bedrock-embed-emulator` bin started (EMULATOR_URL). One PASS/FAIL line per check; the
// exit code is the number of failures.
import { readFileSync } from "node:fs"
import { BedrockEmbed } from "bedrock-embed"

const url = process.env.EMULATOR_URL
if (url === undefined || url === "")
  throw new Error("EMULATOR_URL is not set: run this file from scripts/consumer-smoke.sh")
const region = "us-east-1"
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
const TITAN = "amazon.titan-embed-text-v2:0"
const TITAN_DEFAULT_DIMENSION = 1024

let failures = 0
const check = async (name, body) => {
  const started = performance.now()
  try {
    const figure = await body()
    console.log(`PASS ${name}: ${figure} (${Math.round(performance.now() - started)} ms)`)
  } catch (error) {
    failures++
    console.log(`FAIL ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
}
const expect = (condition, message) => {
  if (!condition) throw new Error(message)
}
/** Every vector has `length` finite numbers. */
const expectVectors = (vectors, count, length) => {
  expect(Array.isArray(vectors) && vectors.length === count, `expected ${count} vectors, got ${vectors?.length}`)
  for (const [i, v] of vectors.entries()) {
    expect(v.length === length, `vector ${i} has ${v.length} numbers, expected ${length}`)
    expect(Array.from(v).every(Number.isFinite), `vector ${i} has a non-finite number`)
  }
}
const majorOf = (pkg) =>
  Number(
    JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version.split(
      "."
    )[0]
  )

await check("ESM import of bedrock-embed + BedrockEmbed.make().embedding against the installed emulator", async () => {
  const client = BedrockEmbed.make()
  try {
    const response = await client.embedding({
      model: `bedrock/${TITAN}`,
      input: ["hello", "world"],
      dimensions: 256,
      aws_bedrock_runtime_endpoint: url,
      aws_region_name: region,
      aws_access_key_id: credentials.accessKeyId,
      aws_secret_access_key: credentials.secretAccessKey
    })
    expectVectors(
      response.data.map((d) => d.embedding),
      2,
      256
    )
    expect(response.usage.prompt_tokens > 0, `usage.prompt_tokens is ${response.usage.prompt_tokens}`)
    return `2 vectors x 256, ${response.usage.prompt_tokens} prompt tokens`
  } finally {
    await client.dispose()
  }
})

await check(
  "@bedrock-embed/langchain BedrockEmbeddings (a LangChain Embeddings) embedQuery + embedDocuments",
  async () => {
    const { BedrockEmbeddings } = await import("@bedrock-embed/langchain")
    const { Embeddings } = await import("@langchain/core/embeddings")
    const embeddings = new BedrockEmbeddings({ model: TITAN, region, endpoint: url, credentials })
    expect(
      embeddings instanceof Embeddings,
      "BedrockEmbeddings is not an instance of the consumer's @langchain/core Embeddings"
    )
    const query = await embeddings.embedQuery("hello")
    const documents = await embeddings.embedDocuments(["hello", "world"])
    expectVectors([query], 1, TITAN_DEFAULT_DIMENSION)
    expectVectors(documents, 2, TITAN_DEFAULT_DIMENSION)
    return `1 query + 2 documents x ${TITAN_DEFAULT_DIMENSION}`
  }
)

await check("@bedrock-embed/ai-sdk with ai@7: embed + embedMany", async () => {
  const aiMajor = majorOf("ai")
  expect(aiMajor === 7, `the consumer has ai@${aiMajor}, expected ai@7`)
  const { createBedrockEmbed } = await import("@bedrock-embed/ai-sdk")
  const { embed, embedMany } = await import("ai")
  const bedrock = createBedrockEmbed({ region, endpoint: url, credentials })
  const model = bedrock.embedding(TITAN)
  const many = await embedMany({ model, values: ["hello", "world"] })
  const one = await embed({ model, value: "hello" })
  expectVectors(many.embeddings, 2, TITAN_DEFAULT_DIMENSION)
  expectVectors([one.embedding], 1, TITAN_DEFAULT_DIMENSION)
  expect(many.usage.tokens > 0, `embedMany usage.tokens is ${many.usage.tokens}`)
  return `ai@${aiMajor}, 2 + 1 vectors x ${TITAN_DEFAULT_DIMENSION}, ${many.usage.tokens} tokens`
})

await check("@bedrock-embed/effect-ai BedrockEmbeddingModel as effect/ai EmbeddingModel: embedMany", async () => {
  const { BedrockEmbeddingModel } = await import("@bedrock-embed/effect-ai")
  const { Effect, Layer } = await import("effect")
  const { EmbeddingModel } = await import("effect/ai")
  const Model = BedrockEmbeddingModel.layer({
    model: TITAN,
    request: {
      aws_bedrock_runtime_endpoint: url,
      aws_region_name: region,
      aws_access_key_id: credentials.accessKeyId,
      aws_secret_access_key: credentials.secretAccessKey
    }
  }).pipe(Layer.provide(BedrockEmbed.layer()))
  const program = Effect.gen(function* () {
    const model = yield* EmbeddingModel.EmbeddingModel
    const dimensions = yield* EmbeddingModel.Dimensions
    const many = yield* model.embedMany(["hello", "world"])
    return { many, dimensions }
  })
  const { many, dimensions } = await Effect.runPromise(program.pipe(Effect.provide(Model)))
  expect(dimensions === TITAN_DEFAULT_DIMENSION, `Dimensions is ${dimensions}`)
  expectVectors(
    many.embeddings.map((e) => e.vector),
    2,
    dimensions
  )
  expect((many.usage.inputTokens ?? 0) > 0, `usage.inputTokens is ${many.usage.inputTokens}`)
  return `2 vectors x ${dimensions}, ${many.usage.inputTokens} input tokens`
})

// Adapters made without a shared client keep their own; exit instead of waiting on idle sockets.
process.exit(failures)
