/**
 * Pure parsing of model strings: `bedrock/[async_invoke/]<model id>`.
 *
 * The model id may be a foundation model id (`acme.embed-text-v2:0`), a cross-region
 * inference profile id (`us.…`, `eu.…`, `apac.…`, `global.…`), or an ARN. The route keeps the id
 * exactly as given (that is what Bedrock must receive) and derives the base model id that
 * providers match on.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { InvalidRequestError } from "./Errors.ts"

/**
 * How a model is called: InvokeModel, or a StartAsyncInvoke job.
 *
 * @category models
 * @since 0.1.0
 */
export type Mode = "sync" | "async"

/**
 * A parsed model string.
 *
 * @category models
 * @since 0.1.0
 */
export interface ModelRoute {
  /** The model string as the caller wrote it. */
  readonly model: string
  /** `async` for `bedrock/async_invoke/…`. */
  readonly mode: Mode
  /** The id sent to Bedrock: a model id, an inference profile id or an ARN, unchanged. */
  readonly modelId: string
  /**
   * The foundation model id without geo prefix, ARN or provisioned-throughput context
   * (`acme.embed-text-v1:2:8k` → `acme.embed-text-v1:2`), used to find the provider.
   */
  readonly baseModelId: string
  /** The provisioned-throughput context of a contextual model id (`8k` of `…:2:8k`), when there is one. */
  readonly context?: string | undefined
  /** The cross-region inference profile prefix (`us`, `eu`, `global`, …), when there is one. */
  readonly geoPrefix: string | undefined
  /** The region named by the model string (an ARN's region, or `bedrock/<region>/<id>`). */
  readonly region: string | undefined
  /** Whether `modelId` came from a `model_id` parameter rather than the model string. */
  readonly viaModelId?: boolean | undefined
}

/**
 * Cross-region inference profile prefixes that Bedrock documents.
 *
 * @category constants
 * @since 0.1.0
 */
export const geoPrefixes: ReadonlyArray<string> = ["us", "eu", "apac", "global", "jp", "au", "ca", "us-gov", "apne"]

/**
 * AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
 *
 * @category constants
 * @since 0.1.0
 */
export const regionPattern = /^[a-z]{2}(-[a-z]+)+-\d+$/

const arnPattern = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]*):(\d{12})?:([a-z-]+)\/(.+)$/

const invalid = (model: string, message: string) =>
  new InvalidRequestError({ message: `Invalid model "${model}": ${message}`, param: "model" })

/**
 * Strips a cross-region inference profile prefix: `us.acme.embed-text-v2:0` →
 * `["us", "acme.embed-text-v2:0"]`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const splitGeoPrefix = (id: string): readonly [string | undefined, string] => {
  const dot = id.indexOf(".")
  if (dot > 0) {
    const head = id.slice(0, dot)
    // A provider name never collides with a geo prefix, so a match is unambiguous.
    if (geoPrefixes.includes(head) && id.indexOf(".", dot + 1) > 0) return [head, id.slice(dot + 1)]
  }
  return [undefined, id]
}

// A provisioned-throughput contextual id: `<id>:<version>:<context>`, e.g. `:2:8k`, `:0:512`.
const contextPattern = /^(.+:\d+):(\d+k?)$/

const splitContext = (id: string): readonly [string, string | undefined] => {
  const match = contextPattern.exec(id)
  return match === null ? [id, undefined] : [match[1]!, match[2]]
}

const withBase = (geoPrefix: string | undefined, id: string) => {
  const [baseModelId, context] = splitContext(id)
  return { baseModelId, geoPrefix, ...(context === undefined ? {} : { context }) }
}

/**
 * Parses a model string.
 *
 * Accepted forms: `bedrock/<id>`, `bedrock/async_invoke/<id>`, `bedrock/<region>/<id>`,
 * `bedrock/invoke/<id>` (LiteLLM's chat spelling), and the bare `<id>`; `<id>` may be an ARN of a
 * foundation model or an inference profile. Application inference profiles and provisioned
 * models hide the model behind an opaque ARN: pass a recognisable model plus `model_id: <ARN>`
 * (see {@link withModelId}).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (model: string): Result.Result<ModelRoute, InvalidRequestError> => {
  const trimmed = model.trim()
  if (trimmed.length === 0) return Result.fail(invalid(model, 'the model is empty; use "bedrock/<model id>"'))
  let rest = trimmed.startsWith("bedrock/") ? trimmed.slice("bedrock/".length) : trimmed
  let mode: Mode = "sync"
  let region: string | undefined
  for (;;) {
    if (rest.startsWith("async_invoke/")) {
      mode = "async"
      rest = rest.slice("async_invoke/".length)
      continue
    }
    if (rest.startsWith("invoke/")) {
      rest = rest.slice("invoke/".length)
      continue
    }
    const slash = rest.indexOf("/")
    if (slash > 0 && !rest.startsWith("arn:") && regionPattern.test(rest.slice(0, slash))) {
      region = rest.slice(0, slash)
      rest = rest.slice(slash + 1)
      continue
    }
    break
  }
  if (rest.length === 0) return Result.fail(invalid(model, "no model id after the route prefix"))
  if (rest.startsWith("arn:")) {
    const match = arnPattern.exec(rest)
    if (match === null) {
      return Result.fail(invalid(model, "not a Bedrock ARN (expected arn:aws:bedrock:<region>:<account>:<type>/<id>)"))
    }
    const [, arnRegion = "", , resourceType, resource = ""] = match
    const [geoPrefix, baseModelId] =
      resourceType === "foundation-model" || resourceType === "inference-profile"
        ? splitGeoPrefix(resource)
        : [undefined, resource]
    return Result.succeed({
      model,
      mode,
      modelId: rest,
      ...withBase(geoPrefix, baseModelId),
      region: region ?? (arnRegion.length > 0 ? arnRegion : undefined)
    })
  }
  if (/\s/.test(rest)) return Result.fail(invalid(model, "model ids contain no whitespace"))
  const [geoPrefix, baseModelId] = splitGeoPrefix(rest)
  return Result.succeed({ model, mode, modelId: rest, ...withBase(geoPrefix, baseModelId), region })
}

/**
 * Sends the call to another id (an application inference profile or provisioned model ARN) while
 * the route's base model still picks the provider: LiteLLM's `model_id` parameter.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withModelId = (route: ModelRoute, modelId: string): ModelRoute => {
  const match = arnPattern.exec(modelId)
  return { ...route, modelId, region: route.region ?? (match?.[1] ? match[1] : undefined), viaModelId: true }
}

/**
 * The model's own id for responses: the id as routed, except that an ARN (of a profile, a
 * provisioned model, or a `model_id`) gives way to the base model id it serves.
 *
 * @category getters
 * @since 0.1.0
 */
export const responseModel = (route: ModelRoute): string =>
  route.modelId.startsWith("arn:") ? route.baseModelId : route.modelId
