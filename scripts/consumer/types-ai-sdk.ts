// The consumer smoke's type half for the AI SDK adapter: `tsc --noEmit` under
// tsconfig.ai-sdk.bundler.json and tsconfig.ai-sdk.nodenext.json (scripts/consumer-smoke.sh). A file
// of its own because ai@7's own .d.ts files fail `skipLibCheck: false` (they need @types/json-schema
// and fail under exactOptionalPropertyTypes): these configs skip the lib check; every use below is
// still checked against the installed .d.ts files.
import { type BedrockEmbedModel, createBedrockEmbed } from "@bedrock-embed/ai-sdk"
import { type EmbeddingModel, embed, embedMany } from "ai"

const bedrock = createBedrockEmbed({ region: "us-east-1", endpoint: "http://127.0.0.1:4010" })
export const many: Promise<Array<Array<number>>> = embedMany({
  model: bedrock.embedding("cohere.embed-english-v3"),
  values: ["a", "b"]
}).then((result) => result.embeddings)
export const model: EmbeddingModel = bedrock("amazon.titan-embed-text-v2:0") satisfies BedrockEmbedModel
export const one: Promise<number> = embed({ model, value: "a", dimensions: 256 }).then((r) => r.embedding.length)
// @ts-expect-error: the settings' endpoint is a string
createBedrockEmbed({ endpoint: 4010 })
