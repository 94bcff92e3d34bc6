/**
 * @bedrock-embed/core — the services behind bedrock-embed. Knows no model family: providers
 * register model specs with the {@link ProviderRegistry}.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AwsCredentials from "./AwsCredentials.ts"
/** @since 0.1.0 */
/** @since 0.1.0 */
/** @since 0.1.0 */
export * as BedrockRuntime from "./BedrockRuntime.ts"
/** @since 0.1.0 */
export * as EmbeddingRequest from "./EmbeddingRequest.ts"
/** @since 0.1.0 */
export * as EmbeddingResponse from "./EmbeddingResponse.ts"
/** @since 0.1.0 */
export * as Embeddings from "./Embeddings.ts"
/** @since 0.1.0 */
export * as Errors from "./Errors.ts"
/** @since 0.1.0 */
export * as Float32Json from "./Float32Json.ts"
export * as Jobs from "./Jobs.ts"
/** @since 0.1.0 */
export * as Limiter from "./Limiter.ts"
/** @since 0.1.0 */
export * as Media from "./Media.ts"
/** @since 0.1.0 */
export * as ModelRoute from "./ModelRoute.ts"
/** @since 0.1.0 */
export * as ModelSpec from "./ModelSpec.ts"
/** @since 0.1.0 */
export * as ObjectStore from "./ObjectStore.ts"
/** @since 0.1.0 */
export * as Plan from "./Plan.ts"
export * as Pricing from "./Pricing.ts"
/** @since 0.1.0 */
export * as ProviderRegistry from "./ProviderRegistry.ts"
/** @since 0.1.0 */
export * as Target from "./Target.ts"
