/**
 * The registry of model specs. Provider packages add their specs with {@link register}; the
 * engine resolves a parsed route to exactly one spec.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { UnsupportedModelError } from "./Errors.ts"
import type * as ModelRoute from "./ModelRoute.ts"
import type * as ModelSpec from "./ModelSpec.ts"

/**
 * The registry's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Adds specs; a later spec never shadows an earlier one for the same id. */
  readonly add: (specs: ReadonlyArray<ModelSpec.Any>) => void
  /** Every registered spec, in registration order. */
  readonly specs: () => ReadonlyArray<ModelSpec.Any>
  /** The spec serving a route, or `UnsupportedModelError` naming the known families. */
  readonly resolve: (route: ModelRoute.ModelRoute) => Effect.Effect<ModelSpec.Any, UnsupportedModelError>
}

/**
 * The provider registry service.
 *
 * @category services
 * @since 0.1.0
 */
export class ProviderRegistry extends Context.Service<ProviderRegistry, Service>()(
  "@bedrock-embed/core/ProviderRegistry"
) {}

/**
 * Makes an empty registry.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (): Service => {
  const all: Array<ModelSpec.Any> = []
  const known = new Set<string>()
  const families = () => [...new Set(all.map((spec) => spec.family))]
  return {
    add: (specs) => {
      for (const spec of specs) {
        if (known.has(spec.id)) continue
        known.add(spec.id)
        all.push(spec)
      }
    },
    specs: () => all,
    resolve: (route) => {
      const spec = all.find((candidate) => candidate.matches(route.baseModelId))
      if (spec !== undefined) return Effect.succeed(spec)
      const knownFamilies = families()
      return Effect.fail(
        new UnsupportedModelError({
          message:
            `No registered provider serves "${route.baseModelId}" (from "${route.model}"). ` +
            (knownFamilies.length === 0
              ? "No provider is registered: provide a provider layer from a @bedrock-embed/provider-* package."
              : `Known families: ${knownFamilies.join(", ")}; known models: ${all.map((s) => s.id).join(", ")}.`),
          modelId: route.modelId,
          knownFamilies
        })
      )
    }
  }
}

/**
 * An empty registry; provider layers built on top of it add their specs.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<ProviderRegistry> = Layer.sync(ProviderRegistry, make)

/**
 * A layer that adds specs to the registry: what a provider package exports as its `layer`.
 *
 * @category layers
 * @since 0.1.0
 */
export const register = (specs: ReadonlyArray<ModelSpec.Any>): Layer.Layer<never, never, ProviderRegistry> =>
  Layer.effectDiscard(ProviderRegistry.useSync((registry) => registry.add(specs)))
