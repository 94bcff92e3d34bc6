/**
 * LangChain: a MemoryVectorStore over Cohere embeddings on Bedrock.
 *
 *   node packages/integrations/langchain/examples/vector-store.ts --emulator   # in-process emulator
 *   node packages/integrations/langchain/examples/vector-store.ts              # real AWS (env credentials and region)
 */
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { BedrockEmbeddings } from "@bedrock-embed/langchain"
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory"

const emulator = process.argv.includes("--emulator") ? await startEmulator({ s3: false }) : undefined
const embeddings = new BedrockEmbeddings({
  model: "cohere.embed-english-v3",
  region: "us-east-1",
  ...(emulator === undefined ? {} : { endpoint: emulator.url, credentials: EMULATOR_CREDENTIALS })
})
try {
  const store = await MemoryVectorStore.fromTexts(
    ["The cat sat on the mat.", "Quarterly revenue grew by nine percent.", "Bedrock hosts embedding models."],
    [{ id: "cat" }, { id: "revenue" }, { id: "bedrock" }],
    embeddings
  )
  const [hit] = await store.similaritySearch("a cat sitting on a mat", 1)
  console.log(`nearest to "a cat sitting on a mat": ${hit?.metadata.id} — ${hit?.pageContent}`)
} finally {
  await emulator?.close()
}
