/**
 * @bedrock-embed/langchain — LangChain.js `Embeddings` for every AWS Bedrock embedding model.
 *
 * @since 0.1.0
 */
export { BedrockEmbeddings, BedrockEmbeddingsError, type BedrockEmbeddingsParams } from "./BedrockEmbeddings.ts"
