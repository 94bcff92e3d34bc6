/**
 * Per-key request and token rates (a virtual key's `rpm_limit` and `tpm_limit`), as LiteLLM's
 * proxy enforces them: a request over its key's RPM, or sent while its key's tokens this minute
 * are spent, is refused with 429 before any Bedrock call; the tokens a request used (Bedrock's own
 * count, embeddings included — LiteLLM once counted none, BerriAI/litellm#27738) count once it is
 * answered.
 *
 * The counters are Effect's rate-limiter store (`effect/persistence/RateLimiter`, fixed windows):
 * in this process by default, in Redis when one is configured (`router_settings.redis_host` /
 * `redis_port` / `redis_password` / `redis_db`, else `REDIS_URL` or `REDIS_HOST` / `REDIS_PORT` /
 * `REDIS_PASSWORD`, as LiteLLM reads them), so every gateway on that Redis shares one count per
 * key. A Redis that stops answering does not stop the gateway: its requests are counted in this
 * process until Redis answers again (and a line on stderr says so, once a minute at most).
 *
 * @internal
 */
import { Context, Config as EffectConfig, Duration, Effect, Layer, Option, References, type Scope } from "effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import type { Config } from "../Config.ts"
import type { OpenAiError } from "../HttpErrors.ts"

/** What the limits read of a key: its hash (the counters' name) and its two limits. */
export interface LimitedKey {
  readonly hash: string
  readonly rpm_limit: number | null
  readonly tpm_limit: number | null
}

/** The rate limits of one gateway. */
export interface Limits {
  /** Where the counters are: `"process"` or `"redis"`. */
  readonly store: "process" | "redis"
  /** Counts this request against its key's RPM, or refuses it (RPM reached, TPM spent). */
  readonly admit: (key: LimitedKey) => Effect.Effect<void, OpenAiError>
  /** Adds the tokens a request used to its key's minute. */
  readonly used: (key: LimitedKey, tokens: number) => Effect.Effect<void>
}

/** Where a Redis is, from the config or the environment; `undefined` for none. */
export interface RedisTarget {
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly password?: string | undefined
  readonly db?: number | undefined
}

const MINUTE_MS = 60_000

const envVar = (name: string) =>
  EffectConfig.option(EffectConfig.String(name)).pipe(
    Effect.map((value) => Option.getOrUndefined(value)?.trim() || undefined),
    Effect.orElseSucceed(() => undefined)
  )

/** `REDIS_PORT` as a port, or a defect that names the variable. */
const envPort = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(port >= 1 && port <= 65_535)) throw new Error(`REDIS_PORT must be a port from 1 to 65535; got "${value}"`)
  return port
}

/**
 * The Redis to share counters through: `router_settings.redis_*` first (LiteLLM's config keys,
 * checked when the config loads), then `REDIS_URL`, then `REDIS_HOST` / `REDIS_PORT` /
 * `REDIS_PASSWORD`.
 */
export const redisTarget = (config: Config): Effect.Effect<RedisTarget | undefined> =>
  Effect.gen(function* () {
    const settings = config.router_settings
    if (settings?.redis_host !== undefined) {
      return {
        host: settings.redis_host,
        port: settings.redis_port,
        password: settings.redis_password === "" ? undefined : settings.redis_password,
        db: settings.redis_db
      }
    }
    const url = yield* envVar("REDIS_URL")
    if (url !== undefined) return { url }
    const host = yield* envVar("REDIS_HOST")
    if (host === undefined) return undefined
    return { host, port: envPort(yield* envVar("REDIS_PORT")), password: yield* envVar("REDIS_PASSWORD") }
  })

/** How a Redis target is named in messages: its host and port, never its password. */
export const describeRedis = (target: RedisTarget): string => {
  if (target.url !== undefined) {
    try {
      const url = new URL(target.url)
      return `${url.hostname}:${url.port || 6379} (REDIS_URL)`
    } catch {
      return "REDIS_URL (not a URL)"
    }
  }
  return `${target.host}:${target.port ?? 6379}`
}

/** LiteLLM's words for a key over its limits: 429, `Max parallel request limit reached …`, `retry-after`. */
const limitReached = (
  key: LimitedKey,
  what: "rpm" | "tpm",
  limit: number,
  current: number,
  retryAfterMs: number
): OpenAiError => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return {
    status: 429,
    type: "rate_limit_error",
    code: "429",
    message:
      `Max parallel request limit reached. Hit limit for api_key: ${key.hash}. ` +
      `${what}_limit: ${limit}, current ${what}: ${Math.round(current)}. Try again in ${seconds} s.`,
    headers: { "retry-after": String(seconds) }
  }
}

type Store = RateLimiter.RateLimiterStore["Service"]

/** How long a count may take in Redis before this process counts that request itself. */
const REDIS_ANSWER_MS = 500

/** The checks over one store; `fallback` takes over for a call the store could not answer in time. */
const limitsOver = (primary: Store, fallback: Store | undefined, onStoreError: (error: unknown) => void) => {
  const window = <A>(run: (store: Store) => Effect.Effect<A, RateLimiter.RateLimiterError>) =>
    fallback === undefined
      ? Effect.orDie(run(primary))
      : run(primary).pipe(
          Effect.timeout(Duration.millis(REDIS_ANSWER_MS)),
          Effect.catch((error) => {
            onStoreError(error)
            return Effect.orDie(run(fallback))
          })
        )
  // Each token's share of the minute, per limit (made once: a Duration a call showed in profiles).
  const refills = new Map<number, Duration.Duration>()
  const refill = (limit: number) => {
    let duration = refills.get(limit)
    if (duration === undefined) {
      if (refills.size >= 1_024) refills.clear()
      duration = Duration.millis(MINUTE_MS / limit)
      refills.set(limit, duration)
    }
    return duration
  }
  const admit = (key: LimitedKey): Effect.Effect<void, OpenAiError> => {
    const { rpm_limit: rpm, tpm_limit: tpm } = key
    if (rpm === null && tpm === null) return Effect.void
    return Effect.gen(function* () {
      // Tokens first, without taking any: a request refused for its tokens uses no RPM slot.
      if (tpm !== null) {
        if (tpm === 0) return yield* Effect.fail(limitReached(key, "tpm", 0, 0, MINUTE_MS))
        const [tokens, ttl] = yield* window((store) =>
          store.fixedWindow({ key: `tpm:${key.hash}`, tokens: 0, refillRate: refill(tpm), limit: undefined })
        )
        if (tokens >= tpm) return yield* Effect.fail(limitReached(key, "tpm", tpm, tokens, ttl))
      }
      if (rpm !== null) {
        if (rpm === 0) return yield* Effect.fail(limitReached(key, "rpm", 0, 0, MINUTE_MS))
        const [requests, ttl] = yield* window((store) =>
          store.fixedWindow({ key: `rpm:${key.hash}`, tokens: 1, refillRate: refill(rpm), limit: rpm })
        )
        // Over the limit, the store took nothing and says what it would have been.
        if (requests > rpm) return yield* Effect.fail(limitReached(key, "rpm", rpm, requests - 1, ttl))
      }
    })
  }
  const used = (key: LimitedKey, tokens: number): Effect.Effect<void> => {
    const tpm = key.tpm_limit
    if (tpm === null || tpm === 0 || !(tokens > 0)) return Effect.void
    return Effect.asVoid(
      window((store) =>
        store.fixedWindow({ key: `tpm:${key.hash}`, tokens, refillRate: refill(tpm), limit: undefined })
      )
    )
  }
  return { admit, used }
}

/**
 * Writes `line(error)` to stderr once a minute at most: a shared store that is down fails every
 * request, and one line a minute says so (the rate limits' Redis, the embedding cache's store).
 *
 * @internal
 */
export const everyMinute = (line: (error: unknown) => string) => {
  let last = Number.NEGATIVE_INFINITY
  return (error: unknown): void => {
    const now = Date.now()
    if (now - last < MINUTE_MS) return
    last = now
    process.stderr.write(line(error))
  }
}

/** Once a minute at most: a line on stderr that Redis failed and this process counts meanwhile. */
const warnEveryMinute = (where: string) =>
  everyMinute(
    (error) =>
      `bedrock-embed: the Redis at ${where} did not answer a rate-limit count (${error instanceof Error ? error.message : String(error)}); ` +
      "counting in this process until it does\n"
  )

const buildStore = <E>(layer: Layer.Layer<RateLimiter.RateLimiterStore, E>) =>
  Effect.map(Layer.build(layer), Context.get(RateLimiter.RateLimiterStore))

/**
 * node-redis's client options for a target. A command sent while the connection is down fails
 * at once (the caller falls back or misses) rather than waiting in node-redis's queue for a
 * reconnect.
 */
export const redisOptions = (target: RedisTarget) =>
  target.url !== undefined
    ? { url: target.url, disableOfflineQueue: true }
    : {
        socket: { host: target.host, port: target.port ?? 6379, connectTimeout: 5_000 },
        disableOfflineQueue: true,
        ...(target.password === undefined ? {} : { password: target.password }),
        ...(target.db === undefined ? {} : { database: target.db })
      }

/** Connects to Redis (node-redis, through `@effect/platform-node/NodeRedis`), or says why not. */
const redisStore = (target: RedisTarget): Effect.Effect<Store, never, Scope.Scope> =>
  Effect.gen(function* () {
    const NodeRedis = yield* Effect.promise(() => import("@effect/platform-node/NodeRedis"))
    return yield* buildStore(
      RateLimiter.layerStoreRedis({ prefix: "bedrock-embed:limits:" }).pipe(
        Layer.provide(NodeRedis.layer(redisOptions(target)))
      )
    ).pipe(
      // node-redis's socket errors would be logged by Effect's logger on every reconnect attempt,
      // in another format than the gateway's JSON lines; the fallback's one line a minute says it.
      Effect.provideService(References.MinimumLogLevel, "None")
    )
  }).pipe(
    Effect.catch((error) =>
      Effect.die(
        new Error(
          `cannot connect to the Redis for rate limits at ${describeRedis(target)}: ${error.message}; ` +
            "start it, fix router_settings.redis_host / redis_port / redis_password (or REDIS_URL, REDIS_HOST, REDIS_PORT), " +
            "or remove them to count in this process"
        )
      )
    )
  )

/** The gateway's limits: counted in Redis when one is configured, else in this process. */
export const make = (config: Config): Effect.Effect<Limits, never, Scope.Scope> =>
  Effect.gen(function* () {
    const memory = yield* buildStore(RateLimiter.layerStoreMemory)
    const target = yield* redisTarget(config)
    if (target === undefined) return { store: "process" as const, ...limitsOver(memory, undefined, () => {}) }
    const redis = yield* redisStore(target)
    return { store: "redis" as const, ...limitsOver(redis, memory, warnEveryMinute(describeRedis(target))) }
  })
