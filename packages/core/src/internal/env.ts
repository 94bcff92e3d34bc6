/**
 * Environment variables through Effect `Config`, from the `ConfigProvider` in context.
 *
 * When none is provided, the live `process.env` is read: Effect's default provider copies
 * `process.env` once, at its first use anywhere in the process, which would freeze the
 * environment (a script setting `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` after start-up, as the
 * examples do, would go unseen). Empty values count as unset, as the AWS SDK treats them.
 *
 * @internal
 */
import { Config, ConfigProvider, Context, Effect, Option, type Redacted } from "effect"

const liveEnv = ConfigProvider.fromEnvRecord(process.env)

/** The provider env vars are read from: the one in context, else the live `process.env`. */
export const provider: Effect.Effect<ConfigProvider.ConfigProvider> = Effect.contextWith((context) =>
  Effect.succeed(Context.getOrUndefined(context, ConfigProvider.ConfigProvider) ?? liveEnv)
)

/** A provider over a fixed environment record (read live: later changes to it are seen). */
export const fromRecord = (env: Record<string, string | undefined>): ConfigProvider.ConfigProvider =>
  env === process.env ? liveEnv : ConfigProvider.fromEnvRecord(env)

/** A variable's value; `undefined` when unset or empty. */
export const string = (
  from: ConfigProvider.ConfigProvider,
  name: string
): Effect.Effect<string | undefined, Config.ConfigError> =>
  Config.option(Config.String(name)).parse(from).pipe(Effect.map(Option.getOrUndefined))

/** A secret variable's value, redacted; `undefined` when unset or empty. */
export const redacted = (
  from: ConfigProvider.ConfigProvider,
  name: string
): Effect.Effect<Redacted.Redacted<string> | undefined, Config.ConfigError> =>
  Config.option(Config.Redacted(name)).parse(from).pipe(Effect.map(Option.getOrUndefined))

/** The first of `names` that is set, in order. */
export const first = (
  from: ConfigProvider.ConfigProvider,
  names: ReadonlyArray<string>
): Effect.Effect<string | undefined, Config.ConfigError> =>
  names.length === 0
    ? Effect.succeed(undefined)
    : Effect.flatMap(string(from, names[0]!), (value) =>
        value === undefined ? first(from, names.slice(1)) : Effect.succeed(value)
      )
