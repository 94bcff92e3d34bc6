/**
 * bedrock-embed — every AWS Bedrock embedding model behind one typed, OpenAI-format call.
 *
 * ```ts
 * import { embedding } from "bedrock-embed"
 * const response = await embedding({ model: "bedrock/amazon.titan-embed-text-v2:0", input: ["a", "b"], dimensions: 256 })
 * ```
 *
 * @since 0.1.0
 */
export {
  awaitBatch,
  batchResults,
  embedding,
  findSpec,
  layer,
  listBatches,
  make,
  registry,
  retrieveBatch,
  specs
} from "./BedrockEmbed.ts"
export type { BatchRequest, CallOptions, Client, Options } from "./BedrockEmbed.ts"
/** @since 0.1.0 */
export * as BedrockEmbed from "./BedrockEmbed.ts"
/** @since 0.1.0 */
export {
  AwsCredentials,
  BedrockRuntime,
  EmbeddingRequest,
  EmbeddingResponse,
  Embeddings,
  Errors,
  Jobs,
  Media,
  ModelRoute,
  ModelSpec,
  ObjectStore,
  Plan,
  Pricing,
  ProviderRegistry,
  Target
} from "@bedrock-embed/core"
export * from "@bedrock-embed/core/Errors"
/** @since 0.1.0 */
export * as Cohere from "@bedrock-embed/provider-cohere"
/** @since 0.1.0 */
export * as Nova from "@bedrock-embed/provider-nova"
/** @since 0.1.0 */
export * as Titan from "@bedrock-embed/provider-titan"
/** @since 0.1.0 */
export * as TwelveLabs from "@bedrock-embed/provider-twelvelabs"
