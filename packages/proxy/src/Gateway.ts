/**
 * The OpenAI-compatible gateway: `POST /v1/embeddings` (and `/embeddings`), `GET /v1/models`,
 * `GET /v1/batches/{id}`, `GET /health` (every deployment's health), `GET /health/liveliness`,
 * `GET /health/readiness` — on `effect/http`,
 * an Effect program on the engine's services: each request runs `Embeddings` in the server's own
 * runtime, so a client that disconnects interrupts its fiber and aborts its Bedrock calls.
 *
 * Clients send OpenAI's request with a configured alias as `model`; the alias picks a deployment
 * (routed over several: `internal/router.ts`), whose parameters (model, region, identity) the client cannot
 * override. Errors use OpenAI's `{ error: { message, type, code } }` shape with the right status
 * (see `HttpErrors`), and name no upstream host or secret. Each request is logged as one JSON line
 * (method, path, model, status, latency, tokens, cost) — never a body, a key or a secret.
 *
 * An embeddings request is admitted before its body is read, within a bound on requests and on
 * body bytes in flight (429 beyond); its body is limited while it streams (413) and must arrive
 * within a deadline (408).
 *
 * @since 0.1.0
 */
import { randomUUID, timingSafeEqual } from "node:crypto"
import { EmbeddingRequest, Embeddings, type EmbeddingResponse, Jobs } from "@bedrock-embed/core"
import { Duration, Effect, Layer, Result } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Config } from "./Config.ts"
import { badRequest, fromError, type OpenAiError, type Redaction, redaction, respond } from "./HttpErrors.ts"
import * as Admission from "./internal/admission.ts"
import * as Cache from "./internal/cache.ts"
import * as Limits from "./internal/limits.ts"
import * as Metrics from "./internal/metrics.ts"
import * as Router from "./internal/router.ts"
import { admitted, type BodyLimits, readJson } from "./internal/body.ts"
import * as TeamAdmin from "./internal/team/admin.ts"
import * as TeamJobs from "./internal/team/jobs.ts"
import * as Team from "./internal/team/team.ts"
import * as Dashboard from "./internal/ui/routes.ts"
import * as ResponseBody from "./ResponseBody.ts"

/**
 * Gateway options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly config: Config
  /** Where request log lines go; default stdout. Lines never hold bodies or secrets. */
  readonly log?: ((line: string) => void) | undefined
  /**
   * The SQLite file for virtual keys and spend, used only with a `general_settings.master_key`
   * and when neither `general_settings.database_url` nor `DATABASE_URL` names one; default
   * `:memory:` (keys last as long as the process). `bedrock-embed serve` passes
   * `bedrock-embed.db` next to the config.
   */
  readonly database?: string | undefined
}

type Deployment = Config["model_list"][number]

interface Handled {
  readonly response: HttpServerResponse.HttpServerResponse
  readonly fields?: Readonly<Record<string, unknown>> | undefined
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * The gateway's defaults: body limit, inputs per request, body deadline, and the admission bounds
 * (requests and request-body bytes held at once by one process).
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults = {
  max_request_body_bytes: 20_000_000,
  max_inputs_per_request: 2048,
  request_body_timeout: 30,
  max_in_flight_requests_per_worker: 512,
  max_request_bytes_in_flight: 100_000_000,
  /** Seconds between looks at pending async jobs, to record their spend when they end. */
  proxy_batch_polling_interval: 60
} as const

// What the engine reads of a deployment's deadline and retries, under either spelling.
const timeoutKeys = ["timeout", "request_timeout"] as const
const retryKeys = ["num_retries", "max_retries"] as const

// Request fields the client may not set: the deployment's identity, endpoints, target and
// headers (signed with the deployment's identity), its prices (they decide reported spend), and
// its deadlines and retries (a client could hold the gateway's resources for as long as it liked).
const reserved = (key: string) =>
  key.startsWith("aws_") ||
  key.startsWith("input_cost_per_") ||
  key === "api_key" ||
  key === "api_base" ||
  key === "model_id" ||
  key === "model" ||
  key === "extra_headers" ||
  key === "headers" ||
  key === "max_response_bytes" ||
  (timeoutKeys as ReadonlyArray<string>).includes(key) ||
  (retryKeys as ReadonlyArray<string>).includes(key)

type Settings = { readonly [K in (typeof timeoutKeys)[number] | (typeof retryKeys)[number]]?: number | undefined }

const firstOf = (settings: Settings | undefined, keys: ReadonlyArray<keyof Settings>) =>
  keys.map((key) => settings?.[key]).find((value) => value !== undefined)

/**
 * A deployment with LiteLLM's global deadline and retries filled in where it sets none of its
 * own: `router_settings` first, then `litellm_settings`.
 */
const withGlobalSettings = (config: Config) => {
  const timeout = firstOf(config.router_settings, timeoutKeys) ?? firstOf(config.litellm_settings, timeoutKeys)
  const retries = firstOf(config.router_settings, retryKeys) ?? firstOf(config.litellm_settings, retryKeys)
  return (deployment: Deployment): Deployment => {
    const params = deployment.litellm_params
    return {
      ...deployment,
      litellm_params: {
        ...(timeout === undefined || firstOf(params, timeoutKeys) !== undefined ? {} : { timeout }),
        ...(retries === undefined || firstOf(params, retryKeys) !== undefined ? {} : { num_retries: retries }),
        ...params
      }
    }
  }
}

const secretKey = /secret|token|password|credential|(^|_)key($|_)/i

/** The secrets and upstream URLs a config holds (and the environment's), for {@link redaction}. */
const redactionOf = (config: Config): Redaction => {
  const secrets: Array<string> = []
  const urls: Array<string> = []
  const collect = (record: Readonly<Record<string, unknown>>) => {
    for (const [key, value] of Object.entries(record)) {
      if (typeof value !== "string") continue
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) urls.push(value)
      else if (secretKey.test(key)) secrets.push(value)
    }
  }
  for (const deployment of config.model_list) collect(deployment.litellm_params)
  collect(config.general_settings ?? {})
  collect(
    Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name.startsWith("AWS_") || name.startsWith("BEDROCK_"))
    )
  )
  return redaction(secrets, urls)
}

/** An engine or jobs error as the OpenAI error a client sees, redacted. */
type Fail = (error: Parameters<typeof fromError>[0]) => OpenAiError

let pending: Array<string> = []
const flush = () => {
  if (pending.length === 0) return
  const text = `${pending.join("\n")}\n`
  pending = []
  process.stdout.write(text)
}
// Whatever is still buffered goes out before the process ends.
process.once("exit", flush)

/**
 * The default request log: lines to stdout, written once per turn of the event loop (a write per
 * request would cost more than the rest of the gateway's own work on a busy gateway).
 */
const stdoutLines = (line: string): void => {
  if (pending.push(line) === 1) setImmediate(flush)
}

/** What every route's handler needs: the options, and the keys and metrics made for them. */
interface Served {
  readonly options: Options
  /** The virtual keys and spend; none without a master key. */
  readonly team: Team.Team | undefined
  readonly metrics: Metrics.GatewayMetrics
  /** Per-key RPM and TPM, counted in this process or in Redis. */
  readonly limits: Limits.Limits
  /** The embedding cache (`litellm_settings.cache`); none when off. */
  readonly cache: Cache.Cache | undefined
}

/**
 * What a request has done so far, for its log line and spend row when it does not finish: a
 * route sets the alias once the request is admitted, and adds each Bedrock call's tokens and
 * cost as it succeeds (Bedrock bills a call that succeeded, whatever happens to the request).
 */
interface Meter {
  fields: Record<string, unknown> | undefined
}

/** Runs a handler with auth, error mapping, the request id and one log line (also when the client leaves). */
const handler =
  ({ options, team, metrics }: Served, name: string) =>
  (
    run: (
      request: HttpServerRequest.HttpServerRequest,
      principal: Team.Principal,
      meter: Meter
    ) => Effect.Effect<Handled, OpenAiError>
  ) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const log = options.log ?? stdoutLines
      const masterKey = options.config.general_settings?.master_key
      const started = performance.now()
      metrics.started(name)
      const requestId = randomUUID()
      const line = (status: number, fields: Readonly<Record<string, unknown>>) =>
        log(
          JSON.stringify({
            time: new Date().toISOString(),
            request_id: requestId,
            route: name,
            method: request.method,
            path: request.url.split("?")[0],
            status,
            latency_ms: Math.round((performance.now() - started) * 10) / 10,
            ...fields
          })
        )
      const authorization = request.headers.authorization ?? ""
      const principal = yield* Team.principalOf(team, masterKey, authorization.replace(/^Bearer\s+/i, ""), sameSecret)
      const meter: Meter = { fields: undefined }
      const outcome = yield* ("_tag" in principal ? run(request, principal, meter) : Effect.fail(principal)).pipe(
        // 499, as nginx logs it: the client closed the connection; its Bedrock calls were aborted
        // (those that already succeeded were billed: the meter's spend is recorded).
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            const fields = { error: "client_closed_request", ...meter.fields }
            line(499, fields)
            if (team !== undefined && "_tag" in principal) {
              team.spent(requestId, principal, fields, performance.now() - started)
            }
            metrics.finished(name, 499, {}, authorization, undefined, performance.now() - started)
          })
        ),
        Effect.result
      )
      const [response, fields] =
        outcome._tag === "Success"
          ? [outcome.success.response, outcome.success.fields ?? {}]
          : [
              respond(outcome.failure),
              {
                error: outcome.failure.code,
                ...(outcome.failure.detail === undefined ? {} : { detail: outcome.failure.detail }),
                ...meter.fields
              }
            ]
      line(response.status, fields)
      if (team !== undefined && "_tag" in principal)
        team.spent(requestId, principal, fields, performance.now() - started)
      metrics.finished(
        name,
        response.status,
        fields,
        authorization,
        outcome._tag === "Failure" ? outcome.failure : undefined,
        performance.now() - started,
        "_tag" in principal && principal._tag === "Key" ? principal.key.key_alias : undefined
      )
      // The request's span (effect/http's): its alias and the key's alias, never a token or input.
      const keyAlias = "_tag" in principal && principal._tag === "Key" ? principal.key.key_alias : null
      yield* Effect.annotateCurrentSpan({
        "bedrock_embed.route": name,
        "bedrock_embed.request_id": requestId,
        ...("model" in fields && typeof fields.model === "string" ? { "gen_ai.request.model": fields.model } : {}),
        ...(keyAlias === null ? {} : { "bedrock_embed.key_alias": keyAlias })
      })
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    })

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The OpenAI response body for an engine response under the client's alias. */
const payloadOf = (alias: string, response: EmbeddingResponse.EmbeddingResponse) => {
  const hidden = response._hidden_params
  return {
    object: "list",
    data: response.data,
    model: alias,
    usage: response.usage,
    // Async routes: the job's ARN, which LiteLLM's proxy loses; poll it at /v1/batches/{id}.
    ...(hidden._invocation_arn === undefined
      ? {}
      : { id: hidden._invocation_arn, invocation_arns: hidden._invocation_arns })
  }
}

/** A virtual key's limits, when it has any. */
const limitedKey = (principal: {
  readonly hash: string
  readonly key: Omit<Limits.LimitedKey, "hash">
}): Limits.LimitedKey | undefined =>
  principal.key.rpm_limit === null && principal.key.tpm_limit === null
    ? undefined
    : { hash: principal.hash, rpm_limit: principal.key.rpm_limit, tpm_limit: principal.key.tpm_limit }

/** `POST /v1/embeddings`: the alias's deployment, the client's parameters under it, the engine. */
const embeddingsRoute = (served: Served, engine: Embeddings.Service, router: Router.Router, fail: Fail) => {
  const { config } = served.options
  const settings = config.general_settings
  const maxBody = settings?.max_request_body_bytes ?? defaults.max_request_body_bytes
  const limits: BodyLimits = {
    maxBody,
    deadline: Duration.seconds(settings?.request_body_timeout ?? defaults.request_body_timeout),
    // A bytes bound below the body limit would refuse every maximum-size request.
    admission: Admission.make({
      maxRequests: settings?.max_in_flight_requests_per_worker ?? defaults.max_in_flight_requests_per_worker,
      maxBytes: Math.max(maxBody, settings?.max_request_bytes_in_flight ?? defaults.max_request_bytes_in_flight)
    })
  }
  const maxInputs = settings?.max_inputs_per_request ?? defaults.max_inputs_per_request
  const dropParams = config.litellm_settings?.drop_params === true
  const embed = (
    request: HttpServerRequest.HttpServerRequest,
    ticket: Admission.Ticket,
    principal: Team.Principal,
    meter: Meter
  ) =>
    Effect.gen(function* () {
      const body = yield* readJson(request, limits, ticket)
      if (!isRecord(body)) {
        return yield* Effect.fail(
          badRequest("invalid_request", "The request body must be a JSON object with `model` and `input`.")
        )
      }
      const alias = typeof body.model === "string" ? body.model : ""
      // A virtual key's models and budget, checked before any Bedrock call.
      const refused = served.team?.admit(principal, alias)
      if (refused !== undefined) return yield* Effect.fail(refused)
      const limited = principal._tag === "Key" ? limitedKey(principal) : undefined
      if (limited !== undefined) yield* served.limits.admit(limited)
      const first = router.route(alias)
      if (first === undefined) {
        return yield* Effect.fail<OpenAiError>({
          ...badRequest(
            "model_not_found",
            `The model "${alias}" does not exist on this gateway. Available: ${router.aliases.join(", ")}.`,
            404
          )
        })
      }
      const inputs = Array.isArray(body.input) ? body.input.length : 1
      if (inputs > maxInputs) {
        return yield* Effect.fail(
          badRequest(
            "too_many_inputs",
            `The request has ${inputs} inputs; this gateway takes at most ${maxInputs} per request.`
          )
        )
      }
      const controls = Cache.switchesOf(body.cache)
      if (Result.isFailure(controls)) {
        return yield* Effect.fail<OpenAiError>({
          ...badRequest("invalid_cache_control", controls.failure),
          param: "cache"
        })
      }
      const switches = controls.success
      // Admitted and routed: from here a failure is the request's own, logged and recorded under
      // its alias with what Bedrock billed for it so far.
      const billed = { model: alias, bedrock_model: first.member.modelId, tokens: 0, cost: 0 }
      meter.fields = billed
      const onCall = (call: Embeddings.Billed) => {
        billed.tokens += call.inputTokens
        billed.cost += call.cost
      }
      const clientParams = Object.fromEntries(Object.entries(body).filter(([key]) => !reserved(key)))
      // One deployment's answer: the client's parameters under the deployment's, through the cache
      // (except async-invoke jobs, whose vectors land in S3, and opted-out requests).
      const answer = (routed: Router.Routed) =>
        Effect.gen(function* () {
          const deployment = routed.member.deployment
          const decoded = yield* EmbeddingRequest.decode({
            ...(dropParams ? { drop_params: true } : {}),
            ...clientParams,
            ...deployment.litellm_params
          })
          // Vectors as the model's float32s, read straight from the body; ResponseBody spells them (one rule).
          const run = (request: EmbeddingRequest.Decoded) =>
            engine.embedDecoded(request, { float32: true, onCall, failover: routed.failover })
          const cache =
            served.cache === undefined || (switches.noCache && switches.noStore) || routed.member.startsJobs
              ? undefined
              : served.cache
          return yield* Cache.embedThrough(cache, routed.member.modelId, decoded, switches, run)
        })
      // The alias's deployments first (their calls' retries steered by the router), then its
      // fallbacks in order, each once: a request the model refuses is not sent elsewhere.
      let fallback: string | undefined
      let outcome = yield* Effect.result(answer(first))
      for (const next of router.fallbacks(alias)) {
        if (outcome._tag === "Success" || !Router.fallsBack(outcome.failure)) break
        const routed = router.route(next)
        if (routed === undefined) break
        fallback = next
        outcome = yield* Effect.result(answer(routed))
      }
      if (outcome._tag === "Failure") return yield* Effect.fail(fail(outcome.failure))
      const { response, status, cached } = outcome.success
      const cacheHeaders =
        status === undefined ? {} : { "x-bedrock-embed-cache": status, "x-bedrock-embed-cache-hits": String(cached) }
      const hidden = response._hidden_params
      // The key's minute gets the tokens Bedrock counted; the answer does not wait for the count.
      if (limited?.tpm_limit != null) {
        yield* Effect.forkDetach(served.limits.used(limited, response.usage.prompt_tokens))
      }
      return {
        response: HttpServerResponse.uint8Array(ResponseBody.encode(payloadOf(alias, response)), {
          contentType: "application/json",
          headers: {
            "x-bedrock-embed-response-cost": String(hidden.response_cost),
            "x-bedrock-embed-model-id": hidden.model_id,
            ...(fallback === undefined ? {} : { "x-bedrock-embed-fallback": fallback }),
            ...cacheHeaders
          }
        }),
        fields: {
          model: alias,
          bedrock_model: hidden.model_id,
          inputs,
          tokens: response.usage.prompt_tokens,
          cost: hidden.response_cost,
          calls: hidden.calls,
          retries: hidden.retries,
          throttles: hidden.throttles ?? 0,
          ...(status === undefined ? {} : { cache: status, cached_inputs: cached }),
          ...(fallback === undefined ? {} : { fallback }),
          // Async-invoke jobs: their spend is recorded when they end.
          ...(hidden._invocation_arns === undefined ? {} : { jobs: hidden._invocation_arns })
        }
      }
    })
  return handler(
    served,
    "embeddings"
  )((request, principal, meter) => admitted(request, limits, (ticket) => embed(request, ticket, principal, meter)))
}

/**
 * `GET /health` (LiteLLM's): every deployment's health, from a one-word embedding on each — made
 * now, or the last background check's with `general_settings.background_health_checks`;
 * `?model=<alias>` for one alias. The master key's: it lists deployments and regions.
 */
const healthRoute = (served: Served, router: Router.Router) => {
  const background = served.options.config.general_settings?.background_health_checks === true
  return handler(
    served,
    "health"
  )((request, principal) =>
    principal._tag === "Key"
      ? Effect.fail(Team.masterOnly("read /health"))
      : Effect.gen(function* () {
          const alias = new URL(request.url, "http://gateway").searchParams.get("model") ?? undefined
          if (alias !== undefined && !router.aliases.includes(alias)) {
            return yield* Effect.fail(
              badRequest("model_not_found", `The model "${alias}" does not exist on this gateway.`, 404)
            )
          }
          if (!background) yield* router.check(alias)
          return { response: HttpServerResponse.jsonUnsafe(Router.healthOf(router, alias)) }
        })
  )
}

/** A job's deployment parameters (region, identity, endpoints), from the alias and model it was submitted to. */
const paramsOfJob =
  (config: Config): TeamJobs.ParamsOf =>
  (job) => {
    const named = config.model_list.filter((deployment) => deployment.model_name === job.model)
    const deployment = named.find((d) => d.litellm_params.model.endsWith(`/${job.deployment}`)) ?? named[0]
    if (deployment === undefined) return undefined
    const { model: _, ...params } = deployment.litellm_params
    return params
  }

/**
 * `GET /v1/batches/{id}`: a job's status, read with a deployment's identity (the first with an
 * async route); a job seen ended has its spend settled (`ended`).
 */
const batchRoute = (served: Served, jobs: Jobs.Service, fail: Fail, ended: (arn: string) => void) => {
  const { config } = served.options
  const deployment =
    config.model_list.find((d) => d.litellm_params.model.includes("async_invoke/")) ?? config.model_list[0]
  const { model: _, ...rest } = deployment?.litellm_params ?? { model: "" }
  const params: Readonly<Record<string, unknown>> = rest
  return handler(
    served,
    "batches"
  )((request) =>
    Effect.gen(function* () {
      const id = decodeURIComponent(request.url.split("?")[0]!.replace(/^\/v1\/batches\//, ""))
      const status = yield* jobs.retrieve(id, params).pipe(Effect.mapError(fail))
      if (status.status !== "in_progress") ended(id)
      return { response: HttpServerResponse.jsonUnsafe(status), fields: { batch: id, batch_status: status.status } }
    })
  )
}

/**
 * The gateway's routes, as a layer on `HttpRouter`; needs the engine and the jobs service.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (
  options: Options
): Layer.Layer<never, never, HttpRouter.HttpRouter | Embeddings.Embeddings | Jobs.Jobs> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const engine = yield* Embeddings.Embeddings
      const jobs = yield* Jobs.Jobs
      const { config } = options
      const team = yield* Team.layerOf(options)
      const created = Math.floor(Date.now() / 1000)
      // One redaction for every route: the config's secrets and upstream hosts, found once.
      const redact = redactionOf(config)
      const router = yield* Router.make(
        config,
        config.model_list.map(withGlobalSettings(config)),
        engine,
        redact.forClient
      )
      const aliases = router.aliases
      const fail: Fail = (error) => fromError(error, redact)
      const metrics = Metrics.make(engine, config.general_settings?.master_key, Router.viewsOf(router))
      const limits = yield* Limits.make(config)
      const pollSeconds = config.general_settings?.proxy_batch_polling_interval ?? defaults.proxy_batch_polling_interval
      const jobSpend =
        team === undefined
          ? undefined
          : yield* TeamJobs.watch(team, jobs, paramsOfJob(config), Duration.seconds(pollSeconds))
      const cache = yield* Cache.make(config)
      const served: Served = { options, team, metrics, limits, cache }
      const embeddings = embeddingsRoute(served, engine, router, fail)
      const models = handler(
        served,
        "models"
      )((_, principal) =>
        Effect.succeed({
          response: HttpServerResponse.jsonUnsafe({
            object: "list",
            data: Team.visible(principal, aliases).map((id) => ({
              id,
              object: "model",
              created,
              owned_by: "bedrock-embed"
            }))
          })
        })
      )
      const readiness = HttpServerResponse.jsonUnsafe({
        status: "healthy",
        models: aliases.length,
        auth: config.general_settings?.master_key !== undefined
      })
      return Layer.mergeAll(
        HttpRouter.add("POST", "/v1/embeddings", embeddings),
        HttpRouter.add("POST", "/embeddings", embeddings),
        HttpRouter.add("GET", "/v1/models", models),
        HttpRouter.add("GET", "/models", models),
        HttpRouter.add(
          "GET",
          "/v1/batches/*",
          batchRoute(served, jobs, fail, (arn) => jobSpend?.ended(arn))
        ),
        HttpRouter.add("GET", "/health/liveliness", HttpServerResponse.jsonUnsafe("I'm alive!")),
        HttpRouter.add("GET", "/health/readiness", readiness),
        HttpRouter.add("GET", "/health", healthRoute(served, router)),
        team === undefined ? Layer.empty : TeamAdmin.routes(team, (name) => handler(served, name)),
        team === undefined ? Layer.empty : Dashboard.routes(config, team, (name) => handler(served, name)),
        // Prometheus text format. Unlike LiteLLM (open unless `require_auth_for_metrics_endpoint`),
        // it asks for the master key when one is set: its labels show each key's spend and traffic.
        HttpRouter.add(
          "GET",
          "/metrics",
          handler(
            served,
            "metrics"
          )((_, principal) =>
            principal._tag === "Key"
              ? Effect.fail(Team.masterOnly("read /metrics"))
              : Effect.sync(() => ({
                  response: HttpServerResponse.text(metrics.format(), {
                    contentType: "text/plain; version=0.0.4; charset=utf-8"
                  })
                }))
          )
        )
      )
    })
  )
