/**
 * The gateway's Prometheus metrics, on `effect/Metric`, rendered by `effect/observability`'s
 * `PrometheusMetrics` for `GET /metrics`. Names follow LiteLLM's, prefixed `bedrock_embed_`:
 *
 * - `bedrock_embed_requests_total{model,bedrock_model,key}`: embeddings requests answered 200.
 * - `bedrock_embed_input_tokens_total{model,bedrock_model,key}`: their input tokens, as Bedrock counted them.
 * - `bedrock_embed_spend_usd_total{model,bedrock_model,key}`: their cost in USD (the `x-bedrock-embed-response-cost` sum).
 * - `bedrock_embed_request_duration_seconds{model,bedrock_model}`: histogram of their latency.
 * - `bedrock_embed_bedrock_calls_total{model,bedrock_model}`, `bedrock_embed_retries_total{model,bedrock_model}`:
 *   the Bedrock calls that answered them, and the failed attempts (throttles, 5xx, resets) re-sent.
 * - `bedrock_embed_throttles_total{model,bedrock_model}`: of those attempts, the ones Bedrock throttled.
 * - `bedrock_embed_inputs_total{model,bedrock_model}`, `bedrock_embed_cached_inputs_total{model,bedrock_model}`:
 *   the inputs of embeddings requests answered 200, and those the embedding cache answered (the hit rate).
 * - `bedrock_embed_errors_total{route,status,type,code,key}`: requests answered with an OpenAI error, by its type
 *   and code (and clients that left first: `client_closed_request`, status 499).
 * - `bedrock_embed_in_flight_requests`: embeddings requests being served now.
 * - `bedrock_embed_deployment_up{model,deployment}` (1 when the router may pick it: not cooling down, not failed
 *   its last health check), `bedrock_embed_deployment_in_flight_calls{model,deployment}` and
 *   `bedrock_embed_deployment_cooldowns_total{model,deployment}`: the router's view of each deployment
 *   (`deployment` is its `model_info.id`, else `<alias>/<n>`).
 * - `bedrock_embed_engine_calls_total`, `bedrock_embed_engine_throttles_total`, `bedrock_embed_engine_retries_total`:
 *   the engine's own counts of every Bedrock call, throttle and retry (failed requests' included).
 *
 * Labels hold no secret and no input text: `key` is `none` (no bearer token), `master` (the
 * master key), `invalid` (refused 401), the virtual key's `key_alias` when it has one, or else
 * the first 8 hex digits of the token's hash (`hashToken`, the one `/key/info` and `/key/list` show). Distinct key labels are capped (then
 * `other`), so a client sending random tokens cannot grow the registry without bound.
 *
 * Each gateway has its own registry, and each label set's metrics are made once and cached: a
 * request costs a few map lookups and counter additions.
 *
 * @since 0.1.0
 */
import type { Embeddings } from "@bedrock-embed/core"
import { Context, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import type { OpenAiError } from "../HttpErrors.ts"
import { hashToken } from "./team/store.ts"

/** Latency buckets, in seconds: from a cached call to a long async job. */
const latencyBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/** At most this many distinct `key` label values; beyond, `other`. */
const maxKeyLabels = 1000

interface Series {
  readonly requests: Metric.Counter<number>
  readonly tokens: Metric.Counter<number>
  readonly spend: Metric.Counter<number>
  readonly latency: Metric.Histogram<number>
  readonly calls: Metric.Counter<number>
  readonly retries: Metric.Counter<number>
  readonly throttles: Metric.Counter<number>
  readonly inputs: Metric.Counter<number>
  readonly cachedInputs: Metric.Counter<number>
}

/**
 * One gateway's metrics.
 *
 * @category models
 * @since 0.1.0
 */
export interface GatewayMetrics {
  /** A request on `route` has started. */
  readonly started: (route: string) => void
  /**
   * A request on `route` was answered: its status, log fields, `Authorization` header, error,
   * latency and the virtual key's alias, if any.
   */
  readonly finished: (
    route: string,
    status: number,
    fields: Readonly<Record<string, unknown>>,
    authorization: string,
    error: OpenAiError | undefined,
    elapsedMs: number,
    keyAlias?: string | null | undefined
  ) => void
  /** The Prometheus text exposition of every metric. */
  readonly format: () => string
}

const counter = (name: string, description: string, attributes?: Record<string, string>) =>
  Metric.counter(name, { description, incremental: true, attributes })

/** The `key` label for a bearer token: never the token. Cached by the raw header (no regex per request). */
const keyLabels = (masterKey: string | undefined) => {
  const labels = new Map<string, string>()
  const labelOf = (authorization: string): string => {
    const token = authorization.replace(/^Bearer\s+/i, "")
    if (token === "") return "none"
    if (masterKey !== undefined && token === masterKey) return "master"
    return hashToken(token).slice(0, 8)
  }
  return (authorization: string, status: number, alias: string | null | undefined): string => {
    if (status === 401) return "invalid"
    if (alias !== undefined && alias !== null && alias !== "") return alias
    const known = labels.get(authorization)
    if (known !== undefined) return known
    if (labels.size >= maxKeyLabels) return "other"
    const label = labelOf(authorization)
    labels.set(authorization, label)
    return label
  }
}

/** The value `map` holds under `key`, made and stored on first use. */
const getOrMake = <A>(map: Map<string, A>, key: string, make: () => A): A => {
  const found = map.get(key)
  if (found !== undefined) return found
  const made = make()
  map.set(key, made)
  return made
}

type Nested<A> = Map<string, Map<string, Map<string, A>>>

/** A value cached by three string keys, in nested maps: no key string is built per lookup. */
const cached = <A>(cache: Nested<A>, a: string, b: string, c: string, make: () => A): A =>
  getOrMake(
    getOrMake(
      getOrMake(cache, a, () => new Map()),
      b,
      () => new Map()
    ),
    c,
    make
  )

const seriesOf = (model: string, bedrock_model: string, key: string): Series => {
  const keyed = { model, bedrock_model, key }
  const deployment = { model, bedrock_model }
  return {
    requests: counter("bedrock_embed_requests_total", "Embeddings requests answered 200.", keyed),
    tokens: counter(
      "bedrock_embed_input_tokens_total",
      "Input tokens of embeddings requests, as Bedrock counted them.",
      keyed
    ),
    spend: counter("bedrock_embed_spend_usd_total", "Cost of embeddings requests, in USD.", keyed),
    latency: Metric.histogram("bedrock_embed_request_duration_seconds", {
      description: "Latency of embeddings requests answered 200, in seconds.",
      boundaries: latencyBoundaries,
      attributes: deployment
    }),
    calls: counter("bedrock_embed_bedrock_calls_total", "Bedrock calls that answered embeddings requests.", deployment),
    retries: counter(
      "bedrock_embed_retries_total",
      "Failed Bedrock attempts re-sent for embeddings requests.",
      deployment
    ),
    throttles: counter(
      "bedrock_embed_throttles_total",
      "Bedrock attempts throttled while serving embeddings requests.",
      deployment
    ),
    inputs: counter("bedrock_embed_inputs_total", "Inputs of embeddings requests answered 200.", deployment),
    cachedInputs: counter(
      "bedrock_embed_cached_inputs_total",
      "Inputs the embedding cache answered (no Bedrock call).",
      deployment
    )
  }
}

const errorOf = (route: string, status: number, error: OpenAiError, key: string) =>
  counter("bedrock_embed_errors_total", "Requests answered with an OpenAI error, by its type and code.", {
    route,
    status: String(status),
    type: error.type,
    code: error.code,
    key
  })

/** A client that closed its connection before the answer (logged 499, as nginx does). */
const clientClosed: OpenAiError = {
  status: 499,
  type: "client_closed_request",
  code: "client_closed_request",
  message: "The client closed the connection."
}

const numberOf = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0)
const stringOf = (value: unknown) => (typeof value === "string" ? value : "")

/** The engine's own running counts, read when scraped. */
const registerEngine = (context: Context.Context<never>, engine: Embeddings.Service) => {
  const engineCounter = (name: string, description: string, read: () => number) =>
    Metric.registerUnsafe(counter(name, description), context, {
      get: () => ({ count: read(), incremental: true }),
      update: () => {},
      modify: () => {}
    })
  engineCounter("bedrock_embed_engine_calls_total", "Bedrock calls the engine made.", () => engine.stats().calls)
  engineCounter(
    "bedrock_embed_engine_throttles_total",
    "Bedrock calls that were throttled.",
    () => engine.stats().throttles
  )
  engineCounter("bedrock_embed_engine_retries_total", "Bedrock calls that were retries.", () => engine.stats().retries)
}

/**
 * What the router knows of a deployment, read when scraped.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeploymentView {
  readonly model: string
  readonly deployment: string
  readonly up: () => boolean
  readonly inFlight: () => number
  readonly cooldowns: () => number
}

/** The router's per-deployment gauges and counter, read when scraped. */
const registerDeployments = (context: Context.Context<never>, deployments: ReadonlyArray<DeploymentView>) => {
  const hooks = { update: () => {}, modify: () => {} }
  for (const d of deployments) {
    const attributes = { model: d.model, deployment: d.deployment }
    Metric.registerUnsafe(
      Metric.gauge("bedrock_embed_deployment_up", {
        description: "1 when the router may pick the deployment (not cooling down, not failed its health check).",
        attributes
      }),
      context,
      { ...hooks, get: () => ({ value: d.up() ? 1 : 0 }) }
    )
    Metric.registerUnsafe(
      Metric.gauge("bedrock_embed_deployment_in_flight_calls", {
        description: "Bedrock calls the router has in flight on the deployment.",
        attributes
      }),
      context,
      { ...hooks, get: () => ({ value: d.inFlight() }) }
    )
    Metric.registerUnsafe(
      counter("bedrock_embed_deployment_cooldowns_total", "Times the router cooled the deployment down.", attributes),
      context,
      { ...hooks, get: () => ({ count: d.cooldowns(), incremental: true }) }
    )
  }
}

/**
 * A gateway's metrics, in a registry of their own.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  engine: Embeddings.Service,
  masterKey: string | undefined,
  deployments: ReadonlyArray<DeploymentView> = []
): GatewayMetrics => {
  const context = Context.make(Metric.MetricRegistry, new Map())
  const inFlight = Metric.gauge("bedrock_embed_in_flight_requests", {
    description: "Embeddings requests being served now."
  })
  inFlight.modifyUnsafe(0, context)
  registerEngine(context, engine)
  registerDeployments(context, deployments)
  const keyOf = keyLabels(masterKey)
  const series: Nested<Series> = new Map()
  const errors: Nested<Map<string, Metric.Counter<number>>> = new Map()
  const counted = (route: string) => route === "embeddings"
  return {
    started: (route) => {
      if (counted(route)) inFlight.modifyUnsafe(1, context)
    },
    finished: (route, status, fields, authorization, answered, elapsedMs, keyAlias) => {
      if (counted(route)) inFlight.modifyUnsafe(-1, context)
      const key = keyOf(authorization, status, keyAlias)
      const error = answered ?? (status === 499 ? clientClosed : undefined)
      if (error !== undefined) {
        const byCode = cached(errors, route, error.type, key, () => new Map())
        getOrMake(byCode, `${error.code} ${status}`, () => errorOf(route, status, error, key)).updateUnsafe(1, context)
        return
      }
      if (!counted(route) || status !== 200) return
      const model = stringOf(fields.model)
      const bedrockModel = stringOf(fields.bedrock_model)
      const s = cached(series, model, bedrockModel, key, () => {
        const made = seriesOf(model, bedrockModel, key)
        // Shown at 0 from the start: retries and throttles are only added when there are some.
        made.retries.updateUnsafe(0, context)
        made.throttles.updateUnsafe(0, context)
        made.cachedInputs.updateUnsafe(0, context)
        return made
      })
      s.requests.updateUnsafe(1, context)
      s.tokens.updateUnsafe(numberOf(fields.tokens), context)
      s.spend.updateUnsafe(numberOf(fields.cost), context)
      s.latency.updateUnsafe(elapsedMs / 1000, context)
      s.calls.updateUnsafe(numberOf(fields.calls), context)
      const retries = numberOf(fields.retries)
      if (retries > 0) s.retries.updateUnsafe(retries, context)
      const throttles = numberOf(fields.throttles)
      if (throttles > 0) s.throttles.updateUnsafe(throttles, context)
      s.inputs.updateUnsafe(numberOf(fields.inputs), context)
      const fromCache = numberOf(fields.cached_inputs)
      if (fromCache > 0) s.cachedInputs.updateUnsafe(fromCache, context)
    },
    format: () => PrometheusMetrics.formatUnsafe(context)
  }
}
