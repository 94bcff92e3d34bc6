/**
 * @bedrock-embed/provider-twelvelabs — placeholder until the provider lands.
 *
 * @since 0.1.0
 */
import { ProviderRegistry } from "@bedrock-embed/core"

/**
 * Every model spec of this provider.
 *
 * @category models
 * @since 0.1.0
 */
export const specs = [] as const

/**
 * Registers this provider's models.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = ProviderRegistry.register(specs)
