import { ModelRoute, ModelSpec, ProviderRegistry } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result, Schema } from "effect"

const spec = (id: string, family: string) =>
  ModelSpec.make({
    id,
    family,
    matches: (base) => base === id,
    capabilities: { sync: ["text"], async: [], maxInputsPerCall: 1, defaultDimension: 4 },
    supportedParams: [],
    params: Schema.Struct({}),
    request: Schema.Struct({ text: Schema.String }),
    response: Schema.Struct({ vector: Schema.Array(Schema.Number) }),
    encode: () => ({ text: "" }),
    decode: (body) => ({ vectors: [body.vector] }),
    price: {}
  })

const route = (model: string) => Result.getOrThrow(ModelRoute.parse(model))

const registry = Layer.provideMerge(
  Layer.mergeAll(
    ProviderRegistry.register([spec("acme.one-v1", "acme")]),
    ProviderRegistry.register([spec("zeta.two-v1", "zeta")])
  ),
  ProviderRegistry.layer
)

describe("ProviderRegistry", () => {
  it.effect("adds the specs of every registering layer and resolves routes, geo prefixes included", () =>
    Effect.gen(function* () {
      const r = yield* ProviderRegistry.ProviderRegistry
      assert.deepStrictEqual(
        r.specs().map((s) => s.id),
        ["acme.one-v1", "zeta.two-v1"]
      )
      assert.strictEqual((yield* r.resolve(route("bedrock/us.zeta.two-v1"))).family, "zeta")
    }).pipe(Effect.provide(registry))
  )

  it.effect("names the known families and models when nothing matches", () =>
    Effect.gen(function* () {
      const r = yield* ProviderRegistry.ProviderRegistry
      const error = yield* Effect.flip(r.resolve(route("bedrock/other.model-v9")))
      assert.strictEqual(error._tag, "UnsupportedModelError")
      assert.deepStrictEqual(error.knownFamilies, ["acme", "zeta"])
      assert.include(error.message, "other.model-v9")
      assert.include(error.message, "acme.one-v1")
    }).pipe(Effect.provide(registry))
  )
})
