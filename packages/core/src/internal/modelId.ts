/**
 * A request's model: its route, its spec, and Bedrock's rules for the id it names.
 *
 * @internal
 */
import { Effect } from "effect"
import type * as EmbeddingRequest from "../EmbeddingRequest.ts"
import type { InvalidRequestError, UnsupportedModelError } from "../Errors.ts"
import * as ModelRoute from "../ModelRoute.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import type * as ProviderRegistry from "../ProviderRegistry.ts"
import { invalid } from "./params.ts"

const deprecationsLogged = new Set<string>()

/** The spec of a route; a provisioned-throughput id may carry a version the on-demand id lacks. */
const specOf = (registry: ProviderRegistry.Service, route: ModelRoute.ModelRoute) => {
  const unversioned = route.context === undefined ? undefined : route.baseModelId.replace(/:\d+$/, "")
  const spec = registry
    .resolve(route)
    .pipe(
      Effect.catch((error) =>
        unversioned === undefined ? Effect.fail(error) : registry.resolve({ ...route, baseModelId: unversioned })
      )
    )
  return Effect.map(spec, (spec) => ({ spec, unversioned }))
}

/** Bedrock's rules for the id a route names: one it has, through a profile or not as the route takes. */
const checkId = (route: ModelRoute.ModelRoute, spec: ModelSpec.Any, unversioned: string | undefined) => {
  const ids = spec.ids ?? [spec.id]
  const named = route.viaModelId !== true
  const prefix = route.mode === "async" ? "bedrock/async_invoke/" : "bedrock/"
  const listed = ids.includes(route.baseModelId) || (unversioned !== undefined && ids.includes(unversioned))
  if (named && !listed) {
    return invalid(
      `Bedrock has no model id "${route.baseModelId}"${route.context === undefined ? "" : ` (with the ${route.context} context)`}; ` +
        `use "${prefix}${route.geoPrefix === undefined ? "" : `${route.geoPrefix}.`}${spec.id}".`,
      "model",
      spec.id
    )
  }
  const caps = spec.capabilities
  const isArn = route.modelId.startsWith("arn:")
  if (named && !isArn && route.mode === "sync" && caps.syncViaProfile === true && route.geoPrefix === undefined) {
    return invalid(
      `${spec.id} is invoked through a cross-region inference profile, not by its base id: use "bedrock/us.${spec.id}" (or eu., apac.).`,
      "model",
      spec.id
    )
  }
  if (route.mode === "async" && caps.asyncViaBase === true && route.geoPrefix !== undefined) {
    return invalid(
      `The provided model doesn't support async inference through the inference profile "${route.geoPrefix}.${spec.id}": async invoke takes the base id, "bedrock/async_invoke/${spec.id}".`,
      "model",
      spec.id
    )
  }
  return undefined
}

/**
 * Resolves a request's model: the route, its spec, and the checks Bedrock would make of the id
 * (an id Bedrock does not have, an inference profile where the route takes none, and back), all
 * before the call. Logs a model's deprecation notice once per process.
 */
export const resolveModel = (
  registry: ProviderRegistry.Service,
  known: Pick<EmbeddingRequest.Known, "model" | "model_id">
): Effect.Effect<
  { readonly route: ModelRoute.ModelRoute; readonly spec: ModelSpec.Any },
  InvalidRequestError | UnsupportedModelError
> =>
  Effect.gen(function* () {
    let route = yield* Effect.fromResult(ModelRoute.parse(known.model))
    if (known.model_id !== undefined) route = ModelRoute.withModelId(route, known.model_id)
    const { spec, unversioned } = yield* specOf(registry, route)
    const problem = checkId(route, spec, unversioned)
    if (problem !== undefined) return yield* problem
    if (spec.deprecation !== undefined && !deprecationsLogged.has(spec.id)) {
      deprecationsLogged.add(spec.id)
      yield* Effect.logWarning(spec.deprecation)
    }
    return { route, spec }
  })
