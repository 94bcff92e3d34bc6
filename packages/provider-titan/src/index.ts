/**
 * @bedrock-embed/provider-titan — Amazon Titan embedding models: text v1, text v2 and
 * multimodal image v1. Provide {@link layer} on top of `ProviderRegistry.layer`.
 *
 * @since 0.1.0
 */
import { ProviderRegistry } from "@bedrock-embed/core"
import * as TitanImageV1 from "./TitanImageV1.ts"
import * as TitanTextV1 from "./TitanTextV1.ts"
import * as TitanTextV2 from "./TitanTextV2.ts"

/** @since 0.1.0 */
export * as TitanImageV1 from "./TitanImageV1.ts"
/** @since 0.1.0 */
export * as TitanTextV1 from "./TitanTextV1.ts"
/** @since 0.1.0 */
export * as TitanTextV2 from "./TitanTextV2.ts"

/**
 * Every Titan model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const specs = [TitanTextV1.spec, TitanTextV2.spec, TitanImageV1.spec] as const

/**
 * Registers the Titan models.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = ProviderRegistry.register(specs)
