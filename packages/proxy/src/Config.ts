/**
 * The gateway's configuration: LiteLLM's `config.yaml` format, so existing configs work unchanged.
 *
 * ```yaml
 * model_list:
 *   - model_name: titan-embed            # the alias clients send as `model`
 *     litellm_params:
 *       model: bedrock/amazon.titan-embed-text-v2:0
 *       aws_region_name: us-east-1
 *       aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
 * litellm_settings: { drop_params: true }
 * general_settings: { master_key: os.environ/GATEWAY_KEY }
 * ```
 *
 * `os.environ/NAME` values are read at load time through Effect `Config`: from the environment, or
 * from whatever `ConfigProvider` the program provides (tests provide one; see {@link load}). The file is checked with
 * Schema before the server listens; a bad file fails with the path of the bad field and why.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { BedrockEmbed, type ModelSpec } from "bedrock-embed"
import { ConfigProvider, Config as EffectConfig, Effect, Option, Schema } from "effect"
import { parse as parseYaml } from "yaml"

/**
 * A configuration that cannot be used, with the path of the field at fault.
 *
 * @category errors
 * @since 0.1.0
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {}

const NonEmpty = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))

const Positive = Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0)))
const PositiveInt = Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
const Count = Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

/**
 * LiteLLM's deadline and retry knobs, where a config may set them: per deployment, in
 * `litellm_settings` and in `router_settings` (the engine's request parameters of the same names).
 */
const Reliability = {
  /** Seconds a request may take, every Bedrock call, retry and backoff included (then 504). */
  timeout: Positive,
  /** LiteLLM's other spelling of `timeout`. */
  request_timeout: Positive,
  /** Retries of one Bedrock call on retryable errors. */
  num_retries: Count,
  /** OpenAI's spelling of `num_retries`. */
  max_retries: Count
}

/** A port or number as LiteLLM configs write it: `6379` or `"6379"` (an `os.environ/` value is text). */
const WholeNumber = (max: number) =>
  Schema.optional(
    Schema.Union([Schema.Int, Schema.NumberFromString.check(Schema.isInt())]).check(
      Schema.isBetween({ minimum: 0, maximum: max }, { message: `must be a whole number from 0 to ${max}` })
    )
  )

/**
 * Where per-key RPM/TPM counters are shared by every gateway (LiteLLM's `router_settings` keys;
 * `REDIS_URL` or `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD` when none is set).
 */
const RedisSettings = {
  redis_host: Schema.optional(NonEmpty),
  redis_port: WholeNumber(65_535),
  redis_password: Schema.optional(Schema.String),
  redis_db: WholeNumber(1_000_000)
}

/** The error kinds of LiteLLM's `retry_policy` and `allowed_fails_policy` (`<kind>Retries`, `<kind>AllowedFails`). */
export const errorKinds = [
  "BadRequestError",
  "AuthenticationError",
  "TimeoutError",
  "RateLimitError",
  "ContentPolicyViolationError",
  "InternalServerError"
] as const

/**
 * An error kind of LiteLLM's router policies.
 *
 * @category models
 * @since 0.1.0
 */
export type ErrorKind = (typeof errorKinds)[number]

/** `{ RateLimitErrorRetries: 3, … }`: a count per error kind; other keys are refused at load. */
const PerKind = Schema.Record(Schema.String, Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

/** The router strategies this gateway serves (LiteLLM's names). */
export const routingStrategies = ["simple-shuffle", "least-busy", "latency-based-routing"] as const

/**
 * LiteLLM's router settings over the deployments of each alias (see `internal/router.ts`).
 */
const RouterSettings = {
  /** How a request picks among an alias's deployments (default `simple-shuffle`). */
  routing_strategy: Schema.optional(NonEmpty),
  /** Retries per error kind (`RateLimitErrorRetries`, …), within `num_retries`. */
  retry_policy: Schema.optional(PerKind),
  /** Failures a deployment may have in a minute before it is cooled down. */
  allowed_fails: Count,
  /** `allowed_fails` per error kind (`RateLimitErrorAllowedFails`, …). */
  allowed_fails_policy: Schema.optional(PerKind),
  /** Seconds a failing deployment is left out (default 5). */
  cooldown_time: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Never cool a deployment down. */
  disable_cooldowns: Schema.optional(Schema.Boolean),
  /** `[{ alias: [other alias, …] }]`: where a request goes when its alias's deployments all failed. */
  fallbacks: Schema.optional(Schema.Array(Schema.Record(Schema.String, Schema.Array(NonEmpty))))
}

/**
 * The embedding cache's settings (LiteLLM's `litellm_settings.cache_params`), used with
 * `litellm_settings.cache: true`; see `internal/cache.ts`.
 */
const CacheParams = Schema.StructWithRest(
  Schema.Struct({
    /**
     * `disk` (default: a SQLite file, kept across restarts), `local` (in this process), `redis` or
     * `s3` (shared by a fleet). LiteLLM's default is `local`.
     */
    type: Schema.optional(NonEmpty),
    /** Seconds an entry lives; none: until evicted. */
    ttl: Positive,
    /** When given, the cache serves embeddings only if it lists `embedding` or `aembedding`. */
    supported_call_types: Schema.optional(Schema.Array(Schema.String)),
    /**
     * `disk`: the directory of the SQLite file (default `.bedrock-embed-cache` next to the config
     * file given to `bedrock-embed serve --config`, else in the working directory).
     */
    disk_cache_dir: Schema.optional(NonEmpty),
    /** `local`: most entries held (default 10000), least recently used evicted first. */
    max_size_in_memory: PositiveInt,
    /** `redis`: where it is; else `router_settings.redis_*`, `REDIS_URL`, `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`. */
    host: Schema.optional(NonEmpty),
    port: WholeNumber(65_535),
    password: Schema.optional(Schema.String),
    /** A prefix of every key, to keep apart gateways that must not share vectors. */
    namespace: Schema.optional(NonEmpty),
    /** `s3`: the bucket (required), one object per entry. */
    s3_bucket_name: Schema.optional(NonEmpty),
    /** `s3`: the bucket's region; else `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`. */
    s3_region_name: Schema.optional(NonEmpty),
    /** `s3`: an S3-compatible endpoint (path-style); else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`. */
    s3_endpoint_url: Schema.optional(NonEmpty),
    /** `s3`: the key prefix of the entries (a folder). */
    s3_path: Schema.optional(NonEmpty),
    /** `s3`: the identity; else the default AWS credential chain. */
    s3_aws_access_key_id: Schema.optional(NonEmpty),
    s3_aws_secret_access_key: Schema.optional(NonEmpty),
    s3_aws_session_token: Schema.optional(NonEmpty)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** The cache types this gateway serves. */
const cacheTypes = ["local", "disk", "redis", "s3"] as const

/** What is wrong with `cache_params.type`, if anything. */
const cacheTypeProblem = (type: string | undefined, bucket?: string): string | undefined => {
  if (type === "s3" && bucket === undefined) {
    return '"s3" needs cache_params.s3_bucket_name: the bucket that holds one object per cached input'
  }
  if (type === undefined || (cacheTypes as ReadonlyArray<string>).includes(type)) return undefined
  return `"${type}" is not a cache type bedrock-embed knows (supported: ${cacheTypes.join(", ")})`
}

/** The first thing wrong with the router settings (a strategy, a policy key, a fallback), if any. */
const routerSettingsProblem = (config: {
  readonly model_list: ReadonlyArray<{ readonly model_name: string }>
  readonly router_settings?:
    | {
        readonly routing_strategy?: string | undefined
        readonly retry_policy?: Readonly<Record<string, number>> | undefined
        readonly allowed_fails_policy?: Readonly<Record<string, number>> | undefined
      }
    | undefined
}): { readonly path: string; readonly message: string } | undefined => {
  const settings = config.router_settings
  const strategy = settings?.routing_strategy
  if (strategy !== undefined && !(routingStrategies as ReadonlyArray<string>).includes(strategy)) {
    return {
      path: "router_settings.routing_strategy",
      message: `"${strategy}" is not a routing strategy bedrock-embed serves (supported: ${routingStrategies.join(", ")})`
    }
  }
  for (const [name, suffix] of [
    ["retry_policy", "Retries"],
    ["allowed_fails_policy", "AllowedFails"]
  ] as const) {
    for (const key of Object.keys(settings?.[name] ?? {})) {
      if (!errorKinds.some((kind) => `${kind}${suffix}` === key)) {
        return {
          path: `router_settings.${name}.${key}`,
          message: `not a key of ${name} (known: ${errorKinds.map((kind) => `${kind}${suffix}`).join(", ")})`
        }
      }
    }
  }
  return undefined
}

/**
 * One deployment: an alias and the request parameters that serve it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Deployment = Schema.Struct({
  model_name: NonEmpty,
  litellm_params: Schema.StructWithRest(
    Schema.Struct({ model: NonEmpty, ...Reliability, max_response_bytes: PositiveInt }),
    [Schema.Record(Schema.String, Schema.Unknown)]
  ),
  model_info: Schema.optional(
    Schema.StructWithRest(
      Schema.Struct({
        /** A stable id for the deployment (in `/health`, logs and metrics); default `<alias>/<n>`. */
        id: Schema.optional(NonEmpty),
        /** `embedding` (the health check embeds one word); LiteLLM's other modes are not probed. */
        mode: Schema.optional(NonEmpty),
        /** Leave this deployment out of the background health checks. */
        disable_background_health_check: Schema.optional(Schema.Boolean)
      }),
      [Schema.Record(Schema.String, Schema.Unknown)]
    )
  )
})

/**
 * The configuration file.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ConfigSchema = Schema.Struct({
  model_list: Schema.NonEmptyArray(Deployment),
  litellm_settings: Schema.optional(
    Schema.StructWithRest(
      Schema.Struct({
        drop_params: Schema.optional(Schema.Boolean),
        ...Reliability,
        /** LiteLLM's other place for `fallbacks` (`router_settings.fallbacks` wins). */
        fallbacks: RouterSettings.fallbacks,
        /** Caches embeddings per input (LiteLLM's switch), as `cache_params` says. */
        cache: Schema.optional(Schema.Boolean),
        cache_params: Schema.optional(CacheParams)
      }),
      [Schema.Record(Schema.String, Schema.Unknown)]
    )
  ),
  /** LiteLLM's router settings; `timeout` and `num_retries` here win over `litellm_settings`. */
  router_settings: Schema.optional(
    Schema.StructWithRest(Schema.Struct({ ...Reliability, ...RouterSettings, ...RedisSettings }), [
      Schema.Record(Schema.String, Schema.Unknown)
    ])
  ),
  general_settings: Schema.optional(
    Schema.StructWithRest(
      Schema.Struct({
        /** Clients must send `Authorization: Bearer <master_key>`. */
        master_key: Schema.optional(NonEmpty),
        /** Largest request body, in bytes, counted as the bytes arrive (default 20 MB): 413 above. */
        max_request_body_bytes: PositiveInt,
        /** Most inputs in one request (default 2048, as OpenAI). */
        max_inputs_per_request: PositiveInt,
        /** Seconds a client has to send a request's body once its headers arrived (default 30): 408 after. */
        request_body_timeout: Positive,
        /** Requests one gateway process serves at once (LiteLLM's name; default 512): 429 beyond. */
        max_in_flight_requests_per_worker: PositiveInt,
        /** Request body bytes one gateway process holds at once (default 100 MB): 429 beyond. */
        max_request_bytes_in_flight: PositiveInt,
        /**
         * Where virtual keys and spend live (with a `master_key`): a `postgres://` URL (what a
         * fleet of gateways shares), a `sqlite:`/`file:` URL or a path (LiteLLM's name;
         * `DATABASE_URL` otherwise). Default: `bedrock-embed.db` next to the config.
         */
        database_url: Schema.optional(NonEmpty),
        /**
         * Seconds between looks at async jobs keys submitted, to record their spend when they
         * end (LiteLLM's name; default 60). A client reading a finished job at
         * `/v1/batches/{id}` settles it at once.
         */
        proxy_batch_polling_interval: Positive,
        /** Probe every deployment with a one-word embedding every `health_check_interval` seconds. */
        background_health_checks: Schema.optional(Schema.Boolean),
        /** Seconds between background health checks (default 300, as LiteLLM). */
        health_check_interval: Positive
      }),
      [Schema.Record(Schema.String, Schema.Unknown)]
    )
  )
})

/**
 * A checked configuration.
 *
 * @category models
 * @since 0.1.0
 */
export type Config = typeof ConfigSchema.Type

/**
 * Where `os.environ/NAME` values come from: a record (as `process.env`), or, when none is given,
 * the current Effect `ConfigProvider` (the environment unless a program provides another).
 *
 * @category models
 * @since 0.1.0
 */
export type Environment = Readonly<Record<string, string | undefined>>

/** The value of the variable `name`, through Effect `Config`; empty counts as unset. */
const variable = (name: string, path: string): Effect.Effect<string, ConfigError> =>
  EffectConfig.option(EffectConfig.String(name)).pipe(
    Effect.mapError(
      (error) =>
        new ConfigError({ message: `${path}: cannot read environment variable ${name}: ${error.message}`, path })
    ),
    Effect.flatMap(
      Option.match({
        onNone: () =>
          Effect.fail(new ConfigError({ message: `${path}: environment variable ${name} is not set`, path })),
        onSome: Effect.succeed
      })
    )
  )

/** Replaces `os.environ/NAME` strings with the variables' values. */
const resolveEnv = (value: unknown, path: string): Effect.Effect<unknown, ConfigError> => {
  if (typeof value === "string" && value.startsWith("os.environ/"))
    return variable(value.slice("os.environ/".length), path)
  if (Array.isArray(value)) return Effect.forEach(value, (item, i) => resolveEnv(item, `${path}[${i}]`))
  if (typeof value === "object" && value !== null) {
    return Effect.map(
      Effect.forEach(Object.entries(value), ([key, item]) =>
        Effect.map(resolveEnv(item, path === "" ? key : `${path}.${key}`), (resolved) => [key, resolved] as const)
      ),
      Object.fromEntries
    )
  }
  return Effect.succeed(value)
}

/** Runs `effect` reading variables from `env` when given, else from the current `ConfigProvider`. */
const withEnvironment = <A, E>(effect: Effect.Effect<A, E>, env: Environment | undefined): Effect.Effect<A, E> =>
  env === undefined
    ? effect
    : Effect.provideService(effect, ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

/** `["model_list"][0]["litellm_params"]` → `model_list[0].litellm_params`. */
const dotted = (schemaPath: string): string => schemaPath.replace(/\["([^"]+)"\]/g, ".$1").replace(/^\./, "")

/**
 * Checks a parsed configuration (after `os.environ/` resolution: from `env` when given, else from
 * the current `ConfigProvider`).
 *
 * @category decoding
 * @since 0.1.0
 */
export const decode = (raw: unknown, env?: Environment): Effect.Effect<Config, ConfigError> =>
  Effect.gen(function* () {
    const resolved = yield* withEnvironment(resolveEnv(raw, ""), env)
    const config = yield* Schema.decodeUnknownEffect(ConfigSchema)(resolved).pipe(
      Effect.mapError((error) => {
        const [reason = "invalid", at] = error.message.split("\n")
        const path = at === undefined ? undefined : dotted(at.replace(/^\s*at\s+/, ""))
        return new ConfigError({
          message: path === undefined ? reason : `${path}: ${reason}`,
          ...(path === undefined ? {} : { path })
        })
      })
    )
    const cacheProblem = cacheTypeProblem(
      config.litellm_settings?.cache_params?.type,
      config.litellm_settings?.cache_params?.s3_bucket_name
    )
    if (cacheProblem !== undefined) {
      const path = "litellm_settings.cache_params.type"
      return yield* new ConfigError({ message: `${path}: ${cacheProblem}`, path })
    }
    const routerProblem = routerSettingsProblem(config)
    if (routerProblem !== undefined) {
      return yield* new ConfigError({
        message: `${routerProblem.path}: ${routerProblem.message}`,
        path: routerProblem.path
      })
    }
    for (let i = 0; i < config.model_list.length; i++) {
      const model = config.model_list[i]!.litellm_params.model
      if (BedrockEmbed.findSpec(model) === undefined) {
        const path = `model_list[${i}].litellm_params.model`
        return yield* new ConfigError({
          message: `${path}: "${model}" is not a Bedrock embedding model bedrock-embed knows (known: ${BedrockEmbed.specs
            .map((spec) => spec.id)
            .join(", ")})`,
          path
        })
      }
    }
    return config
  })

/**
 * What is wrong with the YAML and where, without the offending line: the parser quotes it, and a
 * config line can hold an inline secret.
 */
const yamlProblem = (cause: unknown): string => {
  const error = cause as { readonly message?: unknown; readonly code?: unknown; readonly linePos?: unknown }
  const message = typeof error.message === "string" ? error.message : String(cause)
  const problem = message.split(/ at line \d+, column \d+/)[0]!.split("\n")[0]!
  const at = Array.isArray(error.linePos) ? (error.linePos[0] as { line?: unknown; col?: unknown }) : undefined
  const where = typeof at?.line === "number" && typeof at.col === "number" ? ` (line ${at.line}, column ${at.col})` : ""
  const code = typeof error.code === "string" ? ` [${error.code}]` : ""
  return `${problem}${where}${code}`
}

/**
 * Reads, parses and checks a `config.yaml`. `os.environ/NAME` values come from `env` when given,
 * else from the current `ConfigProvider`, so a test can provide one:
 *
 * ```ts
 * Config.load("config.yaml").pipe(
 *   Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ GATEWAY_KEY: "sk-test" }))
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const load = (file: string, env?: Environment): Effect.Effect<Config, ConfigError> =>
  Effect.map(loadWithSource(file, env), ({ config }) => config)

/**
 * {@link load}, plus the parsed YAML as written, before `os.environ/` resolution: how a value
 * was given (e.g. that `master_key` is `os.environ/GATEWAY_KEY`), without reading the file again.
 *
 * @category constructors
 * @since 0.1.0
 */
export const loadWithSource = (
  file: string,
  env?: Environment
): Effect.Effect<{ readonly config: Config; readonly source: unknown }, ConfigError> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (cause) => new ConfigError({ message: `cannot read ${file}: ${(cause as Error).message}` })
    })
    const source = yield* Effect.try({
      try: () => parseYaml(text, { logLevel: "error" }) as unknown,
      catch: (cause) => new ConfigError({ message: `${file} is not valid YAML: ${yamlProblem(cause)}` })
    })
    const config = yield* decode(source, env).pipe(
      Effect.mapError(
        (error) =>
          new ConfigError({
            message: `${file}: ${error.message}`,
            ...(error.path === undefined ? {} : { path: error.path })
          })
      )
    )
    return { config, source }
  })

/**
 * A configuration naming every model bedrock-embed knows, each under its own id, for the given
 * request parameters (region, endpoint, identity).
 *
 * @category constructors
 * @since 0.1.0
 */
export const everyModel = (params: Readonly<Record<string, unknown>>): Config => {
  const deployment = (spec: ModelSpec.Any): Config["model_list"][number] => ({
    model_name: spec.id,
    // A model InvokeModel takes only through an inference profile is served through the us. one.
    litellm_params: { ...params, model: `bedrock/${spec.capabilities.syncViaProfile === true ? "us." : ""}${spec.id}` }
  })
  const [first, ...rest] = BedrockEmbed.specs
  if (first === undefined) throw new Error("bedrock-embed wires no model")
  return { model_list: [deployment(first), ...rest.map(deployment)] }
}
