/**
 * @bedrock-embed/provider-twelvelabs — TwelveLabs Marengo Embed 2.7 and 3.0. Provide {@link layer}
 * on top of `ProviderRegistry.layer`.
 *
 * @since 0.1.0
 */
import { ProviderRegistry } from "@bedrock-embed/core"
import * as Marengo27 from "./Marengo27.ts"
import * as Marengo30 from "./Marengo30.ts"

/** @since 0.1.0 */
export * as Marengo27 from "./Marengo27.ts"
/** @since 0.1.0 */
export * as Marengo30 from "./Marengo30.ts"

/**
 * Every TwelveLabs model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const specs = [Marengo27.spec, Marengo30.spec] as const

/**
 * Registers the TwelveLabs models.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = ProviderRegistry.register(specs)
