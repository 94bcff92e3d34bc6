// The consumer smoke's type half: `tsc --noEmit` of this file in the temporary npm project, under
// tsconfig.bundler.json and tsconfig.nodenext.json (scripts/consumer-smoke.sh), with skipLibCheck
// false: the installed tarballs' .d.ts files are checked too. Nothing here runs. Each
// `@ts-expect-error` proves a type is precise (not `any`): tsc fails when the line it covers
// type-checks. The AI SDK adapter is in types-ai-sdk.ts (ai's own .d.ts fail a lib check).
import type { EmbeddingRequest, Errors as CoreErrors } from "@bedrock-embed/core"
import { BedrockEmbeddingModel } from "@bedrock-embed/effect-ai"
import { BedrockEmbeddings } from "@bedrock-embed/langchain"
import type { Embeddings as LangChainEmbeddings } from "@langchain/core/embeddings"
import { BedrockEmbed, type EmbeddingResponse, Errors, embedding } from "bedrock-embed"
import { Effect, Layer } from "effect"
import { type AiError, EmbeddingModel } from "effect/ai"

const emulator = {
  aws_bedrock_runtime_endpoint: "http://127.0.0.1:4010",
  aws_region_name: "us-east-1",
  aws_access_key_id: "S3RVER",
  aws_secret_access_key: "S3RVER"
} satisfies EmbeddingRequest.Params

const client: BedrockEmbed.Client = BedrockEmbed.make({ engine: { maxRetries: 2 } })
export const response: Promise<EmbeddingResponse.EmbeddingResponse> = client.embedding({
  model: "bedrock/amazon.titan-embed-text-v2:0",
  input: ["hello", "world"],
  dimensions: 256,
  ...emulator
})
export const firstLength: Promise<number> = embedding({
  model: "bedrock/amazon.titan-embed-text-v2:0",
  input: "a"
}).then((r) => r.data.length + r.usage.prompt_tokens)
// @ts-expect-error: `input` is required
client.embedding({ model: "bedrock/amazon.titan-embed-text-v2:0" })

export const isInvalid = (error: unknown): error is CoreErrors.InvalidRequestError =>
  error instanceof Errors.InvalidRequestError

const langchain: LangChainEmbeddings = new BedrockEmbeddings({
  model: "amazon.titan-embed-text-v2:0",
  region: "us-east-1",
  endpoint: emulator.aws_bedrock_runtime_endpoint,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
})
export const documents: Promise<Array<Array<number>>> = langchain.embedDocuments(["a", "b"])
// @ts-expect-error: `model` is required
new BedrockEmbeddings({ region: "us-east-1" })

const Model = BedrockEmbeddingModel.layer({ model: "amazon.titan-embed-text-v2:0", request: emulator }).pipe(
  Layer.provide(BedrockEmbed.layer())
)
export const program: Effect.Effect<number, AiError.AiError> = Effect.gen(function* () {
  const model = yield* EmbeddingModel.EmbeddingModel
  const result = yield* model.embed("hello")
  return result.vector.length
}).pipe(Effect.provide(Model))
