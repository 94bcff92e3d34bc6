/**
 * Where calls go and as whom: region, endpoints and identity from request parameters, the model
 * string and the environment — one rule for Bedrock Runtime and for S3.
 *
 * The environment is read through Effect `Config` from the `ConfigProvider` in context (the live
 * `process.env` when none is provided). The AWS SDK clients still read `process.env` themselves
 * for what this module does not decide (the credential chain, `AWS_ENDPOINT_URL_*` when no
 * endpoint is set, FIPS/dual-stack flags).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as AwsCredentials from "./AwsCredentials.ts"
import type * as BedrockRuntime from "./BedrockRuntime.ts"
import { InvalidRequestError } from "./Errors.ts"
import * as Env from "./internal/env.ts"
import { regionPattern } from "./ModelRoute.ts"
import type * as ObjectStore from "./ObjectStore.ts"

/**
 * The request parameters that decide the target.
 *
 * @category models
 * @since 0.1.0
 */
export interface Params extends AwsCredentials.AuthParams {
  /** LiteLLM's endpoint override: a Bedrock Runtime URL, path prefix kept (`https://gw.example.com/bedrock`). */
  readonly api_base?: string | undefined
  readonly aws_region_name?: string | undefined
  readonly aws_bedrock_runtime_endpoint?: string | undefined
  /** A custom S3 endpoint, for reading async outputs (else `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`). */
  readonly aws_s3_endpoint?: string | undefined
  /** A custom Bedrock control-plane endpoint, for batch inference jobs (else `AWS_ENDPOINT_URL_BEDROCK`, then `AWS_ENDPOINT_URL`, then the runtime endpoint). */
  readonly aws_bedrock_endpoint?: string | undefined
}

/**
 * The first of the variables that is set. A provider that cannot be read is a broken
 * environment, not a bad request: a defect.
 */
const env = (...names: ReadonlyArray<string>): Effect.Effect<string | undefined> =>
  Effect.flatMap(Env.provider, (from) => Env.first(from, names)).pipe(Effect.orDie)

/** `value`, else the first of the variables that is set. */
const orEnv = (value: string | undefined, ...names: ReadonlyArray<string>): Effect.Effect<string | undefined> =>
  value === undefined ? env(...names) : Effect.succeed(value)

/**
 * The region: the parameter, else the region in the model string or ARN, else `AWS_REGION`,
 * `AWS_REGION_NAME`, `AWS_DEFAULT_REGION`, else `us-east-1`.
 *
 * @category resolution
 * @since 0.1.0
 */
export const region = (params: Params, fromModel?: string): Effect.Effect<string, InvalidRequestError> =>
  orEnv(params.aws_region_name ?? fromModel, "AWS_REGION", "AWS_REGION_NAME", "AWS_DEFAULT_REGION").pipe(
    Effect.flatMap((found) => {
      const value = found ?? "us-east-1"
      return regionPattern.test(value)
        ? Effect.succeed(value)
        : Effect.fail(
            new InvalidRequestError({
              message: `"${value}" is not an AWS region name (expected a name such as us-east-1).`,
              param: "aws_region_name"
            })
          )
    })
  )

/** A caller-given endpoint, checked to be an http(s) URL; its path prefix is kept. */
const endpointParam = (
  param: string,
  value: string | undefined
): Effect.Effect<string | undefined, InvalidRequestError> => {
  if (value === undefined) return Effect.succeed(undefined)
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return Effect.fail(
      new InvalidRequestError({
        message: `${param} must be an http(s) URL such as https://bedrock-runtime.us-east-1.amazonaws.com; got a value that is not one.`,
        param
      })
    )
  }
  return Effect.succeed(value.replace(/\/+$/, ""))
}

/**
 * The Bedrock Runtime target.
 *
 * @category resolution
 * @since 0.1.0
 */
export const runtime = Effect.fnUntraced(function* (params: Params, fromModel?: string) {
  const credentials = yield* AwsCredentials.AwsCredentials
  const resolved = yield* region(params, fromModel)
  const endpoint = yield* endpointParam(
    params.api_base !== undefined ? "api_base" : "aws_bedrock_runtime_endpoint",
    params.api_base ?? params.aws_bedrock_runtime_endpoint
  )
  const auth = yield* credentials.resolve(params, resolved)
  return {
    region: resolved,
    endpoint: yield* orEnv(endpoint, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"),
    auth
  } satisfies BedrockRuntime.Target
})

/**
 * The Bedrock control-plane target (batch inference jobs): the runtime target's region and
 * identity, with the control-plane endpoint. A custom runtime endpoint stands for both when no
 * control-plane one is given (the emulator serves both).
 *
 * @category resolution
 * @since 0.1.0
 */
export const control = Effect.fnUntraced(function* (params: Params, fromModel?: string) {
  const target = yield* runtime(params, fromModel)
  const endpoint = yield* orEnv(params.aws_bedrock_endpoint, "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL")
  return { ...target, endpoint: endpoint ?? target.endpoint } satisfies BedrockRuntime.Target
})

/**
 * The S3 target (SigV4 only).
 *
 * @category resolution
 * @since 0.1.0
 */
export const objectStore = Effect.fnUntraced(function* (params: Params, resolvedRegion: string) {
  const credentials = yield* AwsCredentials.AwsCredentials
  const auth = yield* credentials.resolveSigV4(params, resolvedRegion)
  return {
    region: resolvedRegion,
    endpoint: yield* orEnv(params.aws_s3_endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    credentials: auth.credentials,
    cacheKey: auth.cacheKey
  } satisfies ObjectStore.Target
})
