/**
 * @bedrock-embed/provider-cohere — Cohere Embed on Bedrock: english and multilingual v3, and v4.
 * Provide {@link layer} on top of `ProviderRegistry.layer`.
 *
 * @since 0.1.0
 */
import { ProviderRegistry } from "@bedrock-embed/core"
import * as CohereV3 from "./CohereV3.ts"
import * as CohereV4 from "./CohereV4.ts"

/** @since 0.1.0 */
export * as CohereV3 from "./CohereV3.ts"
/** @since 0.1.0 */
export * as CohereV4 from "./CohereV4.ts"

/**
 * Every Cohere model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const specs = [CohereV3.english, CohereV3.multilingual, CohereV4.spec] as const

/**
 * Registers the Cohere models.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = ProviderRegistry.register(specs)
