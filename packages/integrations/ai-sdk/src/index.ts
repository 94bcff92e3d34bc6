/**
 * @bedrock-embed/ai-sdk — a Vercel AI SDK embedding provider for every AWS Bedrock embedding model.
 *
 * @since 0.1.0
 */
export { BedrockEmbedModel, type BedrockEmbedProviderOptions, toApiCallError } from "./BedrockEmbedModel.ts"
export {
  type BedrockEmbedProvider,
  type BedrockEmbedSettings,
  bedrockEmbed,
  createBedrockEmbed
} from "./BedrockEmbedProvider.ts"
