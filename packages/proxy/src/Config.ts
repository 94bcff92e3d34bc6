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

/**
 * One deployment: an alias and the request parameters that serve it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Deployment = Schema.Struct({
  model_name: NonEmpty,
  litellm_params: Schema.StructWithRest(Schema.Struct({ model: NonEmpty }), [
    Schema.Record(Schema.String, Schema.Unknown)
  ]),
  model_info: Schema.optional(Schema.Unknown)
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
    Schema.StructWithRest(Schema.Struct({ drop_params: Schema.optional(Schema.Boolean) }), [
      Schema.Record(Schema.String, Schema.Unknown)
    ])
  ),
  general_settings: Schema.optional(
    Schema.StructWithRest(
      Schema.Struct({
        /** Clients must send `Authorization: Bearer <master_key>`. */
        master_key: Schema.optional(NonEmpty),
        /** Largest request body, in bytes (default 20 MB). */
        max_request_body_bytes: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
        /** Most inputs in one request (default 2048, as OpenAI). */
        max_inputs_per_request: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
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
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (cause) => new ConfigError({ message: `cannot read ${file}: ${(cause as Error).message}` })
    })
    const raw = yield* Effect.try({
      try: () => parseYaml(text) as unknown,
      catch: (cause) => new ConfigError({ message: `${file} is not valid YAML: ${(cause as Error).message}` })
    })
    return yield* decode(raw, env).pipe(
      Effect.mapError(
        (error) =>
          new ConfigError({
            message: `${file}: ${error.message}`,
            ...(error.path === undefined ? {} : { path: error.path })
          })
      )
    )
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
  return { model_list: [deployment(first), ...rest.map(deployment)], litellm_settings: { drop_params: true } }
}
