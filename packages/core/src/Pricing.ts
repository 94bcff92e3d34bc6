/**
 * Prices and costs. Each provider ships its models' on-demand prices as data; this service turns
 * Bedrock-reported usage into a USD cost and lets callers override prices (negotiated rates,
 * regions priced differently, prices that changed after a release).
 *
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import type * as ModelSpec from "./ModelSpec.ts"

/**
 * The pricing service's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The price in force for a model: an override when there is one, else the provider's. */
  readonly priceOf: (spec: ModelSpec.Any) => ModelSpec.Price
  /** The USD cost of the given usage of a model; `override` replaces the fields it names (a request's own prices). */
  readonly cost: (spec: ModelSpec.Any, usage: ModelSpec.Usage, override?: ModelSpec.Price) => number
}

/**
 * The pricing service.
 *
 * @category services
 * @since 0.1.0
 */
export class Pricing extends Context.Service<Pricing, Service>()("@bedrock-embed/core/Pricing") {}

/**
 * The cost of some usage at a price. Parts the price does not mention cost nothing.
 *
 * @category pricing
 * @since 0.1.0
 */
export const costAt = (price: ModelSpec.Price, usage: ModelSpec.Usage): number =>
  usage.inputTokens * (price.perInputToken ?? 0) +
  usage.images * (price.perImage ?? 0) +
  usage.videoSeconds * (price.perVideoSecond ?? 0) +
  usage.audioSeconds * (price.perAudioSecond ?? 0) +
  (usage.queries ?? 0) * (price.perQuery ?? 0)

/**
 * Makes the service. `overrides` is keyed by canonical model id (`acme.embed-text-v2:0`)
 * and replaces the fields it names.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (overrides: Readonly<Record<string, ModelSpec.Price>> = {}): Service => {
  const priceOf = (spec: ModelSpec.Any): ModelSpec.Price =>
    overrides[spec.id] === undefined ? spec.price : { ...spec.price, ...overrides[spec.id] }
  return {
    priceOf,
    cost: (spec, usage, override) =>
      costAt(override === undefined ? priceOf(spec) : { ...priceOf(spec), ...override }, usage)
  }
}

/**
 * Provider prices as shipped.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Pricing> = Layer.succeed(Pricing, make())

/**
 * Provider prices with some replaced.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerOverrides = (overrides: Readonly<Record<string, ModelSpec.Price>>): Layer.Layer<Pricing> =>
  Layer.succeed(Pricing, make(overrides))
