/**
 * @bedrock-embed/effect-ai — Effect AI's `EmbeddingModel` for every AWS Bedrock embedding model.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BedrockEmbeddingModel from "./BedrockEmbeddingModel.ts"
