/**
 * @bedrock-embed/provider-nova — Amazon Nova 2 multimodal embeddings. Provide {@link layer} on
 * top of `ProviderRegistry.layer`.
 *
 * @since 0.1.0
 */
import { ProviderRegistry } from "@bedrock-embed/core"
import * as NovaEmbeddings from "./NovaEmbeddings.ts"

/** @since 0.1.0 */
export * as NovaEmbeddings from "./NovaEmbeddings.ts"

/**
 * Every Nova model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const specs = [NovaEmbeddings.spec] as const

/**
 * Registers the Nova models.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = ProviderRegistry.register(specs)
