/**
 * Resolves the AWS identity a call is made with: a Bedrock API key (bearer token) or SigV4
 * credentials from request parameters, the environment, or the standard Node provider chain
 * (profiles, SSO, web identity, container, IMDS) of `@aws-sdk/credential-providers`.
 *
 * Providers are memoised per distinct parameter set, so refreshing credentials (assumed roles,
 * SSO) are fetched once and renewed by the SDK before they expire. Secrets stay in `Redacted`
 * values or inside SDK providers; cache keys hold only digests.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import {
  fromEnv,
  fromIni,
  fromNodeProviderChain,
  fromTemporaryCredentials,
  fromWebToken
} from "@aws-sdk/credential-providers"
import type { AwsCredentialIdentityProvider } from "@smithy/types"
import { Context, Effect, Layer, Redacted } from "effect"
import { CredentialsError } from "./Errors.ts"

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

/**
 * Makes the service. `env` defaults to `process.env`, read at each call so a changed environment
 * takes effect without a restart.
 *
 * Order: `api_key` → `aws_web_identity_token` + `aws_role_name` → `aws_role_name` (assumed with
 * the request's keys, profile, or the default chain) → `aws_profile_name` → `aws_access_key_id` +
 * `aws_secret_access_key` → `AWS_BEARER_TOKEN_BEDROCK` → `AWS_ACCESS_KEY_ID` +
 * `AWS_SECRET_ACCESS_KEY` → the default Node provider chain.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (env: NodeJS.ProcessEnv = process.env): Service => {
  const cache = new Map<string, Auth>()
  const memo = (cacheKey: string, build: () => Auth): Auth => {
    let auth = cache.get(cacheKey)
    if (auth === undefined) {
      auth = build()
      cache.set(cacheKey, auth)
    }
    return auth
  }
  const sigv4 = (cacheKey: string, source: string, credentials: () => AwsCredentialIdentityProvider): Auth =>
    memo(cacheKey, () => ({ _tag: "SigV4", credentials: credentials(), source, cacheKey }))
  const bearer = (token: string, source: string): Auth => {
    const cacheKey = `bearer:${digest(token)}`
    return memo(cacheKey, () => ({ _tag: "Bearer", token: Redacted.make(token), source, cacheKey }))
  }

  const resolveWith = (
    params: AuthParams,
    region: string,
    allowBearer: boolean
  ): Effect.Effect<Auth, CredentialsError> =>
    Effect.suspend(() => {
      const apiKey = allowBearer ? nonEmpty(params.api_key) : undefined
      if (apiKey !== undefined) return Effect.succeed(bearer(apiKey, "the api_key parameter"))

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
      const staticKeys =
        keyId !== undefined && secret !== undefined
          ? {
              accessKeyId: keyId,
              secretAccessKey: secret,
              ...(nonEmpty(params.aws_session_token) === undefined ? {} : { sessionToken: params.aws_session_token! })
            }
          : undefined
      const profile = nonEmpty(params.aws_profile_name)
      const role = nonEmpty(params.aws_role_name)
      const sessionName = nonEmpty(params.aws_session_name) ?? `bedrock-embed-${Date.now()}`
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
        return Effect.succeed(
          sigv4(`web:${digest(role, webToken, params.aws_session_name, stsEndpoint)}`, "aws_web_identity_token", () =>
            fromWebToken({
              roleArn: role,
              webIdentityToken: webToken,
              roleSessionName: sessionName,
              clientConfig: stsConfig
            })
          )
        )
      }
      if (role !== undefined) {
        const master = staticKeys ?? (profile === undefined ? fromNodeProviderChain() : fromIni({ profile }))
        return Effect.succeed(
          sigv4(
            `role:${digest(
              role,
              params.aws_session_name,
              params.aws_external_id,
              keyId,
              secret,
              profile,
              region,
              stsEndpoint,
              params.aws_session_tags === undefined ? undefined : JSON.stringify(params.aws_session_tags)
            )}`,
            "aws_role_name",
            () =>
              fromTemporaryCredentials({
                params: {
                  RoleArn: role,
                  RoleSessionName: sessionName,
                  ...(params.aws_external_id === undefined ? {} : { ExternalId: params.aws_external_id }),
                  ...(params.aws_session_tags === undefined ? {} : { Tags: [...params.aws_session_tags] })
                },
                masterCredentials: master,
                clientConfig: stsConfig
              })
          )
        )
      }
      if (profile !== undefined) {
        return Effect.succeed(sigv4(`profile:${profile}`, `the AWS profile "${profile}"`, () => fromIni({ profile })))
      }
      if (staticKeys !== undefined) {
        return Effect.succeed(
          sigv4(
            `static:${digest(keyId, secret, params.aws_session_token)}`,
            "aws_access_key_id",
            () => async () => staticKeys
          )
        )
      }
      const envToken = allowBearer ? nonEmpty(env.AWS_BEARER_TOKEN_BEDROCK) : undefined
      if (envToken !== undefined) return Effect.succeed(bearer(envToken, "AWS_BEARER_TOKEN_BEDROCK"))
      if (nonEmpty(env.AWS_ACCESS_KEY_ID) !== undefined && nonEmpty(env.AWS_SECRET_ACCESS_KEY) !== undefined) {
        return Effect.succeed(
          sigv4(
            `env:${digest(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN)}`,
            "AWS_ACCESS_KEY_ID",
            () => fromEnv()
          )
        )
      }
      return Effect.succeed(sigv4("chain", "the default AWS credential chain", () => fromNodeProviderChain()))
    })

  return {
    resolve: (params, region) => resolveWith(params, region, true),
    resolveSigV4: (params, region) =>
      resolveWith(params, region, false) as Effect.Effect<Extract<Auth, { _tag: "SigV4" }>, CredentialsError>
  }
}

/**
 * Credentials from parameters, `process.env` and the default AWS chain.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<AwsCredentials> = Layer.sync(AwsCredentials, () => make())
