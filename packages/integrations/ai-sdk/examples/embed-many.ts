/**
 * Vercel AI SDK: embedMany over 250 texts with Cohere on Bedrock.
 *
 *   node packages/integrations/ai-sdk/examples/embed-many.ts --emulator   # in-process emulator
 *   node packages/integrations/ai-sdk/examples/embed-many.ts              # real AWS (env credentials and region)
 */
import { createBedrockEmbed } from "@bedrock-embed/ai-sdk"
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { embedMany } from "ai"

const emulator = process.argv.includes("--emulator") ? await startEmulator({ s3: false }) : undefined
const bedrock = createBedrockEmbed({
  region: "us-east-1",
  ...(emulator === undefined ? {} : { endpoint: emulator.url, credentials: EMULATOR_CREDENTIALS })
})
try {
  const values = Array.from({ length: 250 }, (_, i) => `document number ${i}`)
  const { embeddings, usage } = await embedMany({ model: bedrock.embedding("cohere.embed-english-v3"), values })
  const calls = emulator?.invocations.length ?? "?"
  console.log(
    `${embeddings.length} embeddings of ${embeddings[0]?.length} dims in ${calls} Bedrock calls, ${usage.tokens} tokens`
  )
} finally {
  await emulator?.close()
}
