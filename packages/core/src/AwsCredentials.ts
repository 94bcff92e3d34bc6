/**
 * Resolves the AWS identity a call is made with: a Bedrock API key (bearer token) or SigV4
 * credentials from request parameters, the environment, or the standard Node provider chain
 * (profiles, SSO, web identity, container, IMDS) of `@aws-sdk/credential-providers`.
 *
 * Providers are memoised per distinct parameter set, so refreshing credentials (assumed roles,
 * SSO) are fetched once and renewed by the SDK before they expire. Secrets stay in `Redacted`
 * values or inside SDK providers; cache keys hold only digests.
 *
 * The environment (`AWS_BEARER_TOKEN_BEDROCK`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, …) is read
 * through Effect `Config` from the `ConfigProvider` in context — the live `process.env` when none
 * is provided. The SDK's own providers behind a profile or the default chain (SSO, web identity
 * token files, container and instance metadata) read `process.env` and the shared config files
 * themselves.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials, fromWebToken } from "@aws-sdk/credential-providers"
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types"
import { type Config, type ConfigProvider, Context, Effect, Layer, Redacted } from "effect"
import { CredentialsError } from "./Errors.ts"
import * as Env from "./internal/env.ts"

/**
 * The identity parameters of a request (LiteLLM's names).
 *
 * @category models
 * @since 0.1.0
 */
export interface AuthParams {
  readonly aws_access_key_id?: string | undefined
  readonly aws_secret_access_key?: string | undefined
  readonly aws_session_token?: string | undefined
  readonly aws_profile_name?: string | undefined
  readonly aws_role_name?: string | undefined
  readonly aws_session_name?: string | undefined
  readonly aws_web_identity_token?: string | undefined
  readonly aws_external_id?: string | undefined
  /** A custom STS endpoint for assuming `aws_role_name` (VPC endpoints, FIPS). */
  readonly aws_sts_endpoint?: string | undefined
  /** Session tags of the assumed role: `[{ Key, Value }]`. */
  readonly aws_session_tags?: ReadonlyArray<{ readonly Key: string; readonly Value: string }> | undefined
  /** A Bedrock API key, sent as `Authorization: Bearer …` instead of SigV4. */
  readonly api_key?: string | undefined
}

/**
 * A resolved identity. `source` names where it came from (for messages; never the secret).
 *
 * @category models
 * @since 0.1.0
 */
export type Auth =
  | {
      readonly _tag: "Bearer"
      readonly token: Redacted.Redacted<string>
      readonly source: string
      readonly cacheKey: string
    }
  | {
      readonly _tag: "SigV4"
      readonly credentials: AwsCredentialIdentityProvider
      readonly source: string
      readonly cacheKey: string
    }

/**
 * The credentials service's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The identity for a request's parameters; `region` is where STS calls for assumed roles go. */
  readonly resolve: (params: AuthParams, region: string) => Effect.Effect<Auth, CredentialsError>
  /** The SigV4 identity for services that take no Bedrock API key (S3): bearer sources are skipped. */
  readonly resolveSigV4: (
    params: AuthParams,
    region: string
  ) => Effect.Effect<Extract<Auth, { _tag: "SigV4" }>, CredentialsError>
}

/**
 * The credentials service.
 *
 * @category services
 * @since 0.1.0
 */
export class AwsCredentials extends Context.Service<AwsCredentials, Service>()("@bedrock-embed/core/AwsCredentials") {}

const digest = (...parts: ReadonlyArray<string | undefined>): string =>
  createHash("sha256")
    .update(parts.map((p) => p ?? "").join("\u0000"))
    .digest("hex")
    .slice(0, 24)

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.length === 0 ? undefined : value

type Bearer = Extract<Auth, { _tag: "Bearer" }>
type SigV4 = Extract<Auth, { _tag: "SigV4" }>

/** Builds identities, memoised by cache key so equal parameters share one (refreshing) provider. */
interface Identities {
  readonly bearer: (token: Redacted.Redacted<string>, source: string) => Bearer
  readonly sigv4: (cacheKey: string, source: string, credentials: () => AwsCredentialIdentityProvider) => SigV4
}

const memoize = <A>() => {
  const cache = new Map<string, A>()
  return (cacheKey: string, build: () => A): A => {
    let value = cache.get(cacheKey)
    if (value === undefined) {
      value = build()
      cache.set(cacheKey, value)
    }
    return value
  }
}

const makeIdentities = (): Identities => {
  const bearers = memoize<Bearer>()
  const sigv4s = memoize<SigV4>()
  return {
    bearer: (token, source) => {
      const cacheKey = `bearer:${digest(Redacted.value(token))}`
      return bearers(cacheKey, () => ({ _tag: "Bearer", token, source, cacheKey }))
    },
    sigv4: (cacheKey, source, credentials) =>
      sigv4s(cacheKey, () => ({ _tag: "SigV4", credentials: credentials(), source, cacheKey }))
  }
}

/** The request's static keys; both or neither. */
const staticKeysOf = (params: AuthParams): Effect.Effect<AwsCredentialIdentity | undefined, CredentialsError> => {
  const keyId = nonEmpty(params.aws_access_key_id)
  const secret = nonEmpty(params.aws_secret_access_key)
  if ((keyId === undefined) !== (secret === undefined)) {
    return Effect.fail(
      new CredentialsError({
        message: `${keyId === undefined ? "aws_secret_access_key" : "aws_access_key_id"} was given without ${
          keyId === undefined ? "aws_access_key_id" : "aws_secret_access_key"
        }; pass both, or neither to use the environment and the default AWS credential chain`
      })
    )
  }
  if (keyId === undefined || secret === undefined) return Effect.succeed(undefined)
  const sessionToken = nonEmpty(params.aws_session_token)
  return Effect.succeed({
    accessKeyId: keyId,
    secretAccessKey: secret,
    ...(sessionToken === undefined ? {} : { sessionToken })
  })
}

/** `aws_role_name`, assumed with the request's keys, its profile, or the default chain. */
const assumedRole = (
  identities: Identities,
  params: AuthParams,
  role: string,
  keys: AwsCredentialIdentity | undefined,
  stsConfig: { readonly region: string; readonly endpoint?: string }
): SigV4 => {
  const profile = nonEmpty(params.aws_profile_name)
  const master = keys ?? (profile === undefined ? fromNodeProviderChain() : fromIni({ profile }))
  const cacheKey = `role:${digest(
    role,
    params.aws_session_name,
    params.aws_external_id,
    keys?.accessKeyId,
    keys?.secretAccessKey,
    profile,
    stsConfig.region,
    stsConfig.endpoint,
    params.aws_session_tags === undefined ? undefined : JSON.stringify(params.aws_session_tags)
  )}`
  return identities.sigv4(cacheKey, "aws_role_name", () =>
    fromTemporaryCredentials({
      params: {
        RoleArn: role,
        RoleSessionName: nonEmpty(params.aws_session_name) ?? `bedrock-embed-${Date.now()}`,
        ...(params.aws_external_id === undefined ? {} : { ExternalId: params.aws_external_id }),
        ...(params.aws_session_tags === undefined ? {} : { Tags: [...params.aws_session_tags] })
      },
      masterCredentials: master,
      clientConfig: stsConfig
    })
  )
}

/** The SigV4 identity the request's parameters name, if they name one. */
const fromParams = (
  identities: Identities,
  params: AuthParams,
  region: string
): Effect.Effect<SigV4 | undefined, CredentialsError> =>
  Effect.flatMap(staticKeysOf(params), (keys) => {
    const profile = nonEmpty(params.aws_profile_name)
    const role = nonEmpty(params.aws_role_name)
    const webToken = nonEmpty(params.aws_web_identity_token)
    const stsEndpoint = nonEmpty(params.aws_sts_endpoint)
    const stsConfig = { region, ...(stsEndpoint === undefined ? {} : { endpoint: stsEndpoint }) }
    if (webToken !== undefined) {
      if (role === undefined) {
        return Effect.fail(
          new CredentialsError({
            message: "aws_web_identity_token needs aws_role_name (the ARN of the role to assume with it)"
          })
        )
      }
      const cacheKey = `web:${digest(role, webToken, params.aws_session_name, stsEndpoint)}`
      return Effect.succeed(
        identities.sigv4(cacheKey, "aws_web_identity_token", () =>
          fromWebToken({
            roleArn: role,
            webIdentityToken: webToken,
            roleSessionName: nonEmpty(params.aws_session_name) ?? `bedrock-embed-${Date.now()}`,
            clientConfig: stsConfig
          })
        )
      )
    }
    if (role !== undefined) return Effect.succeed(assumedRole(identities, params, role, keys, stsConfig))
    if (profile !== undefined) {
      return Effect.succeed(
        identities.sigv4(`profile:${profile}`, `the AWS profile "${profile}"`, () => fromIni({ profile }))
      )
    }
    if (keys === undefined) return Effect.succeed(undefined)
    const cacheKey = `static:${digest(keys.accessKeyId, keys.secretAccessKey, keys.sessionToken)}`
    return Effect.succeed(identities.sigv4(cacheKey, "aws_access_key_id", () => async () => keys))
  })

/** Reads the environment; a provider that cannot be read fails as a credentials error. */
const readEnv = <A>(read: Effect.Effect<A, Config.ConfigError>): Effect.Effect<A, CredentialsError> =>
  Effect.mapError(
    read,
    (error) => new CredentialsError({ message: `Could not read the AWS environment: ${error.message}` })
  )

/** `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (with the session token), else the default chain. */
const fromEnvironment = (
  identities: Identities,
  env: ConfigProvider.ConfigProvider
): Effect.Effect<SigV4, CredentialsError> =>
  readEnv(
    Effect.gen(function* () {
      const accessKeyId = yield* Env.string(env, "AWS_ACCESS_KEY_ID")
      const secret = yield* Env.redacted(env, "AWS_SECRET_ACCESS_KEY")
      if (accessKeyId === undefined || secret === undefined) {
        // The chain reads AWS_PROFILE itself, from process.env; passing it keeps a provided one.
        const profile = yield* Env.string(env, "AWS_PROFILE")
        return identities.sigv4(
          profile === undefined ? "chain" : `chain:${profile}`,
          "the default AWS credential chain",
          () => fromNodeProviderChain(profile === undefined ? {} : { profile })
        )
      }
      const session = yield* Env.redacted(env, "AWS_SESSION_TOKEN")
      const expiration = yield* Env.string(env, "AWS_CREDENTIAL_EXPIRATION")
      const credentialScope = yield* Env.string(env, "AWS_CREDENTIAL_SCOPE")
      const accountId = yield* Env.string(env, "AWS_ACCOUNT_ID")
      // What the SDK's `fromEnv` builds from the same variables.
      const identity: AwsCredentialIdentity = {
        accessKeyId,
        secretAccessKey: Redacted.value(secret),
        ...(session === undefined ? {} : { sessionToken: Redacted.value(session) }),
        ...(expiration === undefined ? {} : { expiration: new Date(expiration) }),
        ...(credentialScope === undefined ? {} : { credentialScope }),
        ...(accountId === undefined ? {} : { accountId })
      }
      const cacheKey = `env:${digest(
        accessKeyId,
        identity.secretAccessKey,
        identity.sessionToken,
        expiration,
        credentialScope,
        accountId
      )}`
      return identities.sigv4(cacheKey, "AWS_ACCESS_KEY_ID", () => async () => identity)
    })
  )

/**
 * Makes the service. Without `env`, the environment is read through Effect `Config` from the
 * `ConfigProvider` in context (the live `process.env` when none is provided); with `env`, from
 * that record. Either is read at each call, so a changed environment takes effect without a
 * restart.
 *
 * Order: `api_key` → `aws_web_identity_token` + `aws_role_name` → `aws_role_name` (assumed with
 * the request's keys, profile, or the default chain) → `aws_profile_name` → `aws_access_key_id` +
 * `aws_secret_access_key` → `AWS_BEARER_TOKEN_BEDROCK` → `AWS_ACCESS_KEY_ID` +
 * `AWS_SECRET_ACCESS_KEY` → the default Node provider chain (with `AWS_PROFILE`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (env?: NodeJS.ProcessEnv): Service => {
  const fixed = env === undefined ? undefined : Env.fromRecord(env)
  const provider = fixed === undefined ? Env.provider : Effect.succeed(fixed)
  const identities = makeIdentities()

  const resolveSigV4 = (params: AuthParams, region: string): Effect.Effect<SigV4, CredentialsError> =>
    Effect.gen(function* () {
      const fromRequest = yield* fromParams(identities, params, region)
      if (fromRequest !== undefined) return fromRequest
      return yield* fromEnvironment(identities, yield* provider)
    })

  const resolve = (params: AuthParams, region: string): Effect.Effect<Auth, CredentialsError> =>
    Effect.gen(function* () {
      const apiKey = nonEmpty(params.api_key)
      if (apiKey !== undefined) return identities.bearer(Redacted.make(apiKey), "the api_key parameter")
      const fromRequest = yield* fromParams(identities, params, region)
      if (fromRequest !== undefined) return fromRequest
      const from = yield* provider
      const token = yield* readEnv(Env.redacted(from, "AWS_BEARER_TOKEN_BEDROCK"))
      if (token !== undefined) return identities.bearer(token, "AWS_BEARER_TOKEN_BEDROCK")
      return yield* fromEnvironment(identities, from)
    })

  return { resolve, resolveSigV4 }
}

/**
 * Credentials from parameters, the environment (through `Config`) and the default AWS chain.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<AwsCredentials> = Layer.sync(AwsCredentials, () => make())
