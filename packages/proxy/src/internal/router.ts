/**
 * The router over each alias's deployments, on LiteLLM's `router_settings`: a strategy picks a
 * request's deployment (`simple-shuffle`, `least-busy`, `latency-based-routing`), a deployment
 * that throttles or fails is cooled down (`cooldown_time`, `allowed_fails`,
 * `allowed_fails_policy`), and `fallbacks` name the alias a request moves to when its own
 * deployments all failed.
 *
 * There is one retry loop: the engine's per-call retries (the request's `num_retries` and
 * deadline). The router steers it: deployments of an alias that differ only in where they are
 * (region, account, endpoint) form a failover group, and each retry of a call goes to the group's
 * best deployment that is not cooling down, at once (a move is not backed off). `retry_policy`
 * bounds the retries per error kind. A fallback is not a retry: it runs once the alias's retries
 * are spent, and only between aliases whose vectors have the same dimensions (checked at start).
 *
 * Health: `GET /health` embeds one word on every deployment (the last background check's result
 * with `general_settings.background_health_checks`); a deployment that failed its check is left
 * out of picks while another is healthy.
 *
 * @internal
 */
import { EmbeddingRequest, type Embeddings, type Errors, ModelRoute } from "@bedrock-embed/core"
import { Duration, Effect, Result, Schedule, type Scope } from "effect"
import type { Config, ErrorKind } from "../Config.ts"
import { canonical, modelIdOf } from "./cache.ts"

type Deployment = Config["model_list"][number]

/** Parameters that say where a call goes and as whom (`Target.Params`), not what it computes. */
const whereKeys: ReadonlySet<string> = new Set([
  "api_base",
  "api_key",
  "aws_region_name",
  "aws_bedrock_runtime_endpoint",
  "aws_s3_endpoint",
  "aws_bedrock_endpoint",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_profile_name",
  "aws_role_name",
  "aws_session_name",
  "aws_web_identity_token",
  "aws_external_id",
  "aws_sts_endpoint",
  "aws_session_tags"
])

/** Parameters of the request's own controls or of routing: they do not change a vector either. */
const routingKeys: ReadonlySet<string> = new Set([
  "weight",
  "rpm",
  "tpm",
  "timeout",
  "request_timeout",
  "num_retries",
  "max_retries",
  "max_response_bytes"
])

/**
 * One deployment and what the router knows of it, in this process.
 *
 * @internal
 */
export interface Member {
  readonly deployment: Deployment
  /** `model_info.id`, else `<alias>/<n>` (its place among the alias's deployments). */
  readonly id: string
  /** The Bedrock model id it calls (`bedrock/async_invoke/<id>` → `<id>`), for spend rows and cache keys. */
  readonly modelId: string
  /** An async-invoke route: its requests start jobs whose vectors land in S3. */
  readonly startsJobs: boolean
  readonly where: Readonly<Record<string, unknown>>
  /** What the deployment computes: members with the same one fail over to each other per call. */
  readonly signature: string
  readonly weight: number
  inFlight: number
  /** Moving average of its calls' milliseconds; none before its first success. */
  latencyMs: number | undefined
  cooldownUntil: number
  /** Failures and calls in the current minute, and the failures per error kind. */
  minute: number
  calls: number
  fails: number
  readonly failsByKind: Map<ErrorKind, number>
  /** Times it was cooled down. */
  cooldowns: number
  /** The last health check's verdict. */
  check: { readonly healthy: boolean; readonly at: number; readonly error: string | undefined } | undefined
}

/**
 * A request's route: the deployment whose parameters it is decoded with, and the failover the
 * engine steers its calls' attempts with (none when there is nothing to steer).
 *
 * @internal
 */
export interface Routed {
  readonly member: Member
  readonly failover: Embeddings.Failover | undefined
}

/**
 * The router's settings, read from the config once.
 */
interface Settings {
  readonly strategy: "simple-shuffle" | "least-busy" | "latency-based-routing"
  readonly latencyBuffer: number
  readonly cooldownMs: number
  readonly cooldowns: boolean
  readonly allowedFails: number | undefined
  readonly allowedFailsPolicy: Readonly<Record<string, number>>
  readonly retryPolicy: Readonly<Record<string, number>>
}

/**
 * LiteLLM's error kind of a Bedrock error (the names of `retry_policy` and `allowed_fails_policy`).
 *
 * @internal
 */
export const kindOf = (error: Errors.BedrockError): ErrorKind => {
  switch (error._tag) {
    case "ThrottlingError":
    case "QuotaExceededError":
      return "RateLimitError"
    case "ModelTimeoutError":
      return "TimeoutError"
    case "AccessDeniedError":
    case "CredentialsError":
      return "AuthenticationError"
    case "BedrockValidationError":
    case "ResourceNotFoundError":
      return "BadRequestError"
    default:
      return "InternalServerError"
  }
}

/** The Bedrock errors a fallback may fix: all but a request Bedrock refused as invalid. */
const fallbackTags: ReadonlySet<string> = new Set([
  "CredentialsError",
  "AccessDeniedError",
  "ThrottlingError",
  "QuotaExceededError",
  "ModelTimeoutError",
  "ModelNotReadyError",
  "ModelInvocationError",
  "ServiceUnavailableError",
  "ResourceNotFoundError",
  "ResponseDecodeError"
])

/**
 * Whether a request that failed so on its alias goes to the alias's fallbacks: not when the
 * request itself is at fault (a bad parameter, an input the model refuses).
 *
 * @internal
 */
export const fallsBack = (error: { readonly _tag: string }): boolean => fallbackTags.has(error._tag)

/** Errors that cool a deployment down at once (LiteLLM's rule when `allowed_fails` is not set). */
const coolsAtOnce = (error: Errors.BedrockError) =>
  error._tag === "ThrottlingError" ||
  error._tag === "QuotaExceededError" ||
  error._tag === "AccessDeniedError" ||
  error._tag === "CredentialsError" ||
  error._tag === "ResourceNotFoundError" ||
  error._tag === "ModelTimeoutError"

const settingsOf = (config: Config): Settings => {
  const router = config.router_settings
  const args = (router as { readonly routing_strategy_args?: { readonly lowest_latency_buffer?: unknown } } | undefined)
    ?.routing_strategy_args
  const buffer = typeof args?.lowest_latency_buffer === "number" ? args.lowest_latency_buffer : 0
  return {
    strategy: (router?.routing_strategy as Settings["strategy"] | undefined) ?? "simple-shuffle",
    latencyBuffer: Math.max(0, buffer),
    cooldownMs: (router?.cooldown_time ?? 5) * 1000,
    cooldowns: router?.disable_cooldowns !== true,
    allowedFails: router?.allowed_fails,
    allowedFailsPolicy: router?.allowed_fails_policy ?? {},
    retryPolicy: router?.retry_policy ?? {}
  }
}

const membersOf = (deployments: ReadonlyArray<Deployment>): Map<string, Array<Member>> => {
  const byAlias = new Map<string, Array<Member>>()
  for (const deployment of deployments) {
    const list = byAlias.get(deployment.model_name) ?? []
    const where: Record<string, unknown> = {}
    const what: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(deployment.litellm_params)) {
      if (whereKeys.has(key)) where[key] = value
      else if (!routingKeys.has(key)) what[key] = value
    }
    const weight = deployment.litellm_params.weight
    const route = ModelRoute.parse(deployment.litellm_params.model)
    list.push({
      deployment,
      id: deployment.model_info?.id ?? `${deployment.model_name}/${list.length}`,
      modelId: modelIdOf(deployment.litellm_params.model),
      startsJobs: Result.isSuccess(route) && route.success.mode === "async",
      where,
      signature: canonical(what),
      weight: typeof weight === "number" && weight > 0 ? weight : 1,
      inFlight: 0,
      latencyMs: undefined,
      cooldownUntil: 0,
      minute: 0,
      calls: 0,
      fails: 0,
      failsByKind: new Map(),
      cooldowns: 0,
      check: undefined
    })
    byAlias.set(deployment.model_name, list)
  }
  return byAlias
}

/** The current minute's counters, started afresh when the minute turned. */
const counted = (member: Member, now: number) => {
  const minute = Math.floor(now / 60_000)
  if (member.minute !== minute) {
    member.minute = minute
    member.calls = 0
    member.fails = 0
    member.failsByKind.clear()
  }
  return member
}

/**
 * Whether a call may go to the member now: not cooling down, not failed its last check. Back
 * from a cooldown it is on trial: one call at a time until one succeeds, so a deployment still
 * throttling costs one retry per cooldown, not one per call in flight.
 */
const usable = (member: Member, now: number) =>
  member.cooldownUntil <= now &&
  member.check?.healthy !== false &&
  (member.cooldownUntil === 0 || member.inFlight === 0)

/** A member by the strategy among `candidates` (never empty). */
const choose = (settings: Settings, candidates: ReadonlyArray<Member>): Member => {
  if (candidates.length === 1) return candidates[0]!
  switch (settings.strategy) {
    case "least-busy": {
      const least = Math.min(...candidates.map((m) => m.inFlight))
      const idle = candidates.filter((m) => m.inFlight === least)
      return idle[Math.floor(Math.random() * idle.length)]!
    }
    case "latency-based-routing": {
      // A deployment not yet measured is tried first; then the fastest, within the buffer.
      const unmeasured = candidates.filter((m) => m.latencyMs === undefined)
      if (unmeasured.length > 0) return unmeasured[Math.floor(Math.random() * unmeasured.length)]!
      const fastest = Math.min(...candidates.map((m) => m.latencyMs!))
      const near = candidates.filter((m) => m.latencyMs! <= fastest * (1 + settings.latencyBuffer))
      return near[Math.floor(Math.random() * near.length)]!
    }
    default: {
      const total = candidates.reduce((sum, m) => sum + m.weight, 0)
      let at = Math.random() * total
      for (const member of candidates) {
        at -= member.weight
        if (at < 0) return member
      }
      return candidates[candidates.length - 1]!
    }
  }
}

/** The usable members (all, when none is), the soonest back from a cooldown first. */
const available = (members: ReadonlyArray<Member>, now: number): ReadonlyArray<Member> => {
  const usableNow = members.filter((m) => usable(m, now))
  if (usableNow.length > 0) return usableNow
  const soonest = Math.min(...members.map((m) => m.cooldownUntil))
  return members.filter((m) => m.cooldownUntil === soonest)
}

/**
 * The router: routes, failovers, fallbacks and health.
 *
 * @internal
 */
export interface Router {
  readonly aliases: ReadonlyArray<string>
  /** A request's route on `alias`, or none for an alias no deployment serves. */
  readonly route: (alias: string) => Routed | undefined
  /** The aliases a request on `alias` falls back to, in order. */
  readonly fallbacks: (alias: string) => ReadonlyArray<string>
  /** Every deployment, in config order, for `/health` and the dashboard. */
  readonly members: ReadonlyArray<Member>
  /** Checks every deployment now (all of `alias`'s with one), with a one-word embedding. */
  readonly check: (alias?: string) => Effect.Effect<void>
}

/** The failover of a request routed to `primary`: the calls' attempts over its group. */
const failoverOf = (
  settings: Settings,
  group: ReadonlyArray<Member>,
  clustered: boolean,
  primary: Member
): Embeddings.Failover | undefined => {
  const policed = Object.keys(settings.retryPolicy).length > 0
  const others = group.filter((m) => m !== primary)
  // Nothing to steer: one deployment, no cooldowns to learn, no policy.
  if (!clustered && !policed) return undefined
  const targets = [primary, ...others]
  const indexOf = new Map(targets.map((m, i) => [m, i]))
  const pick = (attempt: number, previous: number | undefined): number => {
    const now = Date.now()
    let member: Member
    if (attempt === 0 && usable(primary, now)) member = primary
    else {
      const open = available(targets, now)
      const elsewhere = open.filter((m) => m !== targets[previous ?? -1])
      member = choose(settings, elsewhere.length > 0 ? elsewhere : open)
    }
    member.inFlight++
    return indexOf.get(member)!
  }
  const settled = (index: number, error: Errors.BedrockError | undefined, ms: number | undefined): boolean => {
    const member = targets[index]!
    const now = Date.now()
    member.inFlight--
    if (ms === undefined) return false
    counted(member, now).calls++
    if (error === undefined) {
      member.latencyMs = member.latencyMs === undefined ? ms : member.latencyMs * 0.7 + ms * 0.3
      member.cooldownUntil = 0
      // A call that went through says more than an old failed check.
      if (member.check?.healthy === false) member.check = { healthy: true, at: now, error: undefined }
      return false
    }
    fail(settings, member, error, clustered, now)
    // The next attempt moves at once when another deployment can take it.
    return targets.some((m) => m !== member && usable(m, now))
  }
  // Besides what the engine retries itself, another deployment of the same model may not repeat a
  // throttled account, a region without the model, an identity without access. A bad request is
  // the same everywhere.
  const moving = others.length > 0
  const retries = policed
    ? (error: Errors.BedrockError, failures: number, retryable: boolean) => {
        const allowed = settings.retryPolicy[`${kindOf(error)}Retries`]
        return allowed === undefined ? retryable || (moving && coolsAtOnce(error)) : failures <= allowed
      }
    : moving
      ? (error: Errors.BedrockError, _failures: number, retryable: boolean) => retryable || coolsAtOnce(error)
      : undefined
  return { others: others.map((m) => m.where), pick, settled, retries }
}

/** A failure's mark on a deployment: counted, and cooled down as the settings say. */
const fail = (settings: Settings, member: Member, error: Errors.BedrockError, clustered: boolean, now: number) => {
  const kind = kindOf(error)
  member.fails++
  member.failsByKind.set(kind, (member.failsByKind.get(kind) ?? 0) + 1)
  // A deployment alone under its alias is not cooled down: there is nowhere else to go.
  if (!settings.cooldowns || !clustered) return
  const policy = settings.allowedFailsPolicy[`${kind}AllowedFails`]
  const cools =
    policy !== undefined
      ? member.failsByKind.get(kind)! > policy
      : settings.allowedFails !== undefined
        ? member.fails > settings.allowedFails
        : coolsAtOnce(error) || (member.calls >= 3 && member.fails / member.calls >= 0.5)
  if (!cools) return
  const asked = Duration.toMillis((error._tag === "ThrottlingError" ? error.retryAfter : undefined) ?? Duration.zero)
  if (member.cooldownUntil <= now) member.cooldowns++
  member.cooldownUntil = Math.max(member.cooldownUntil, now + Math.max(settings.cooldownMs, asked))
}

/** The probe request of a deployment: one word, no retries, 10 s. */
const probeOf = (member: Member) =>
  EmbeddingRequest.decode({
    ...member.deployment.litellm_params,
    input: "health",
    num_retries: 0,
    timeout: 10,
    encoding_format: "float"
  })

/** Deployments a probe would not embed one word on: async-invoke routes start jobs. */
const probed = (member: Member) =>
  !member.startsJobs &&
  member.deployment.model_info?.disable_background_health_check !== true &&
  (member.deployment.model_info?.mode ?? "embedding") === "embedding"

/**
 * Checks the fallbacks and the dimensions: every alias in `fallbacks` exists, and a fallback's
 * vectors have the length of its alias's (so are the deployments of one alias among themselves).
 * Fails with the message a user fixes the config from.
 */
const checked = (
  config: Config,
  byAlias: Map<string, Array<Member>>,
  engine: Embeddings.Service
): Effect.Effect<Map<string, ReadonlyArray<string>>, string> =>
  Effect.gen(function* () {
    // What each alias's vectors are; an alias whose requests need more than the config gives
    // (an async route's output_s3_uri) is told only when a fallback needs it.
    const dims = new Map<string, number>()
    const unknown = new Map<string, string>()
    for (const [alias, members] of byAlias) {
      for (const member of members) {
        const described = yield* EmbeddingRequest.decode({ ...member.deployment.litellm_params, input: "x" }).pipe(
          Effect.flatMap(engine.describe),
          Effect.result
        )
        if (Result.isFailure(described)) {
          unknown.set(alias, `${member.id}: ${described.failure.message}`)
          continue
        }
        const first = dims.get(alias)
        const length = described.success.dimensions
        if (first !== undefined && first !== length) {
          return yield* Effect.fail(
            `model_list: the deployments of "${alias}" make vectors of different lengths (${first} and ` +
              `${length}, ${member.id}); one alias must serve one vector space: set the same ` +
              "dimensions on each, or give them different model_name values"
          )
        }
        dims.set(alias, length)
      }
    }
    const dimsOf = (alias: string, at: string) => {
      const length = dims.get(alias)
      if (length !== undefined) return Effect.succeed(length)
      const why = unknown.get(alias)
      return Effect.fail(
        why === undefined
          ? `${at}: no deployment in model_list is named "${alias}"`
          : `${at}: cannot tell the dimensions of "${alias}" to check the fallback (${why})`
      )
    }
    const where = config.router_settings?.fallbacks !== undefined ? "router_settings" : "litellm_settings"
    const entries = config.router_settings?.fallbacks ?? config.litellm_settings?.fallbacks ?? []
    const fallbacks = new Map<string, ReadonlyArray<string>>()
    for (let i = 0; i < entries.length; i++) {
      for (const [alias, targets] of Object.entries(entries[i]!)) {
        const at = `${where}.fallbacks[${i}].${alias}`
        const from = yield* dimsOf(alias, at)
        for (const target of targets) {
          const to = yield* dimsOf(target, at)
          if (target === alias) return yield* Effect.fail(`${at}: "${alias}" cannot fall back to itself`)
          if (to !== from) {
            return yield* Effect.fail(
              `${at}: "${alias}" makes vectors of ${from} dimensions and "${target}" of ${to}; a fallback must ` +
                "make vectors of the same length (they are stored side by side): pick another fallback, or set " +
                "dimensions so that they agree"
            )
          }
        }
        fallbacks.set(alias, [...(fallbacks.get(alias) ?? []), ...targets])
      }
    }
    return fallbacks
  })

/**
 * The router for a config, its fallbacks checked against the engine's dimensions; with
 * `general_settings.background_health_checks`, it checks every deployment each
 * `health_check_interval` seconds (default 300) for as long as the scope lives.
 *
 * @internal
 */
export const make = (
  config: Config,
  deployments: ReadonlyArray<Deployment>,
  engine: Embeddings.Service,
  /** Makes a core message fit for a client (no host, no secret): `/health` shows check errors. */
  forClient: (message: string) => string
): Effect.Effect<Router, never, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = settingsOf(config)
    const byAlias = membersOf(deployments)
    const fallbacks = yield* checked(config, byAlias, engine).pipe(
      Effect.catch((message) => Effect.die(new Error(`config: ${message}`)))
    )
    // Each deployment's route, made once: a failover holds no state of its own request.
    const routes = new Map<Member, Routed>()
    for (const members of byAlias.values()) {
      for (const member of members) {
        const group = members.filter((m) => m.signature === member.signature)
        routes.set(member, { member, failover: failoverOf(settings, group, members.length > 1, member) })
      }
    }
    const route = (alias: string): Routed | undefined => {
      const members = byAlias.get(alias)
      return members === undefined ? undefined : routes.get(choose(settings, available(members, Date.now())))
    }
    const checkOne = (member: Member) =>
      Effect.flatMap(probeOf(member), (request) => engine.embedDecoded(request)).pipe(
        Effect.result,
        Effect.flatMap((outcome) =>
          Effect.sync(() => {
            const error = Result.isSuccess(outcome) ? undefined : outcome.failure
            // A throttled probe reached a working deployment that is busy: cooled down, not unhealthy.
            if (error?._tag === "ThrottlingError") {
              fail(settings, member, error, byAlias.get(member.deployment.model_name)!.length > 1, Date.now())
            }
            member.check = {
              healthy: error === undefined || error._tag === "ThrottlingError",
              at: Date.now(),
              error: error === undefined ? undefined : forClient(`${error._tag}: ${error.message}`)
            }
          })
        )
      )
    const all = [...byAlias.values()].flat()
    const check = (alias?: string) =>
      Effect.forEach(
        all.filter((m) => probed(m) && (alias === undefined || m.deployment.model_name === alias)),
        checkOne,
        { concurrency: 8, discard: true }
      )
    if (config.general_settings?.background_health_checks === true) {
      const every = Duration.seconds(config.general_settings.health_check_interval ?? 300)
      yield* Effect.forkScoped(Effect.repeat(check(), Schedule.spaced(every)))
    }
    return {
      aliases: [...byAlias.keys()],
      route,
      fallbacks: (alias) => fallbacks.get(alias) ?? [],
      members: all,
      check
    }
  })

/**
 * Each deployment as `/metrics` shows it.
 *
 * @internal
 */
export const viewsOf = (router: Router) =>
  router.members.map((member) => ({
    model: member.deployment.model_name,
    deployment: member.id,
    up: () => member.cooldownUntil <= Date.now() && member.check?.healthy !== false,
    inFlight: () => member.inFlight,
    cooldowns: () => member.cooldowns
  }))

/**
 * What `GET /health` says of a deployment: no secret, no endpoint host.
 *
 * @internal
 */
export const describeMember = (member: Member, now: number) => ({
  model_name: member.deployment.model_name,
  model: member.deployment.litellm_params.model,
  id: member.id,
  ...(typeof member.where.aws_region_name === "string" ? { aws_region_name: member.where.aws_region_name } : {}),
  in_flight: member.inFlight,
  ...(member.latencyMs === undefined ? {} : { latency_ms: Math.round(member.latencyMs * 10) / 10 }),
  ...(member.cooldownUntil > now ? { cooldown_until: new Date(member.cooldownUntil).toISOString() } : {}),
  ...(member.check === undefined ? {} : { checked_at: new Date(member.check.at).toISOString() }),
  ...(member.check?.error === undefined ? {} : { error: member.check.error })
})

/**
 * LiteLLM's `/health` body: the deployments whose last check passed and those whose failed (or
 * that are cooling down), and those not checked (async-invoke and batch routes, opted-out ones).
 *
 * @internal
 */
export const healthOf = (router: Router, alias: string | undefined) => {
  const now = Date.now()
  const members = router.members.filter((m) => alias === undefined || m.deployment.model_name === alias)
  const healthy = members.filter((m) => m.check?.healthy === true && m.cooldownUntil <= now)
  const unhealthy = members.filter(
    (m) => m.check?.healthy === false || (m.check !== undefined && m.cooldownUntil > now)
  )
  const unchecked = members.filter((m) => m.check === undefined)
  return {
    healthy_endpoints: healthy.map((m) => describeMember(m, now)),
    unhealthy_endpoints: unhealthy.map((m) => describeMember(m, now)),
    unchecked_endpoints: unchecked.map((m) => describeMember(m, now)),
    healthy_count: healthy.length,
    unhealthy_count: unhealthy.length
  }
}
