/**
 * Region, endpoints and identity from the environment, read through Effect `Config`: a provided
 * `ConfigProvider` decides, not `process.env`, with the documented precedence; without one, the
 * live `process.env` is read.
 */
import { AwsCredentials, Target } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { afterEach, beforeEach } from "vitest"

const withEnv = (env: Record<string, string>) =>
  Layer.merge(AwsCredentials.layer, ConfigProvider.layer(ConfigProvider.fromUnknown(env)))

/** What process.env says while these tests run: none of it may leak into a provided config. */
const processEnv = {
  AWS_REGION: "ap-south-1",
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: "http://process-env.invalid",
  AWS_ENDPOINT_URL: "http://process-env-any.invalid",
  AWS_BEARER_TOKEN_BEDROCK: "process-env-token",
  AWS_ACCESS_KEY_ID: "AKIDPROCESS",
  AWS_SECRET_ACCESS_KEY: "process-secret"
}
const saved: Record<string, string | undefined> = {}
beforeEach(() => {
  for (const [name, value] of Object.entries(processEnv)) {
    saved[name] = process.env[name]
    process.env[name] = value
  }
})
afterEach(() => {
  for (const name of Object.keys(processEnv)) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
})

describe("Target through a ConfigProvider", () => {
  it.effect("reads region, runtime endpoint and bearer token from the provider, not process.env", () =>
    Effect.gen(function* () {
      const target = yield* Target.runtime({})
      assert.strictEqual(target.region, "eu-west-3")
      assert.strictEqual(target.endpoint, "http://config-runtime.test")
      assert.strictEqual(target.auth._tag, "Bearer")
      assert.strictEqual(target.auth.source, "AWS_BEARER_TOKEN_BEDROCK")
      if (target.auth._tag === "Bearer") assert.strictEqual(Redacted.value(target.auth.token), "config-token")
    }).pipe(
      Effect.provide(
        withEnv({
          AWS_REGION: "eu-west-3",
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: "http://config-runtime.test",
          AWS_BEARER_TOKEN_BEDROCK: "config-token"
        })
      )
    )
  )

  it.effect(
    "region: parameter, then the model's, then AWS_REGION, AWS_REGION_NAME, AWS_DEFAULT_REGION, us-east-1",
    () =>
      Effect.gen(function* () {
        const all = withEnv({ AWS_REGION: "eu-west-1", AWS_REGION_NAME: "eu-west-2", AWS_DEFAULT_REGION: "eu-west-3" })
        const region = (params: Target.Params, fromModel?: string) => Target.region(params, fromModel)
        assert.strictEqual(
          yield* region({ aws_region_name: "us-west-2" }, "us-east-2").pipe(Effect.provide(all)),
          "us-west-2"
        )
        assert.strictEqual(yield* region({}, "us-east-2").pipe(Effect.provide(all)), "us-east-2")
        assert.strictEqual(yield* region({}).pipe(Effect.provide(all)), "eu-west-1")
        const noRegion = { AWS_REGION_NAME: "eu-west-2", AWS_DEFAULT_REGION: "eu-west-3" }
        assert.strictEqual(yield* region({}).pipe(Effect.provide(withEnv(noRegion))), "eu-west-2")
        const onlyDefault = { AWS_REGION: "", AWS_DEFAULT_REGION: "eu-west-3" }
        assert.strictEqual(yield* region({}).pipe(Effect.provide(withEnv(onlyDefault))), "eu-west-3", "empty is unset")
        assert.strictEqual(yield* region({}).pipe(Effect.provide(withEnv({}))), "us-east-1")
        const bad = yield* Effect.flip(region({}).pipe(Effect.provide(withEnv({ AWS_REGION: "mars" }))))
        assert.strictEqual(bad._tag, "InvalidRequestError")
      })
  )
})

describe("Target endpoints and keys through a ConfigProvider", () => {
  it.effect("endpoints: parameter, then the service's variable, then AWS_ENDPOINT_URL", () =>
    Effect.gen(function* () {
      const env = withEnv({
        AWS_ENDPOINT_URL: "http://any.test",
        AWS_ENDPOINT_URL_BEDROCK: "http://control.test",
        AWS_ENDPOINT_URL_S3: "http://s3.test",
        AWS_ACCESS_KEY_ID: "AKIDCONFIG",
        AWS_SECRET_ACCESS_KEY: "config-secret"
      })
      const runtime = yield* Target.runtime({}).pipe(Effect.provide(env))
      assert.strictEqual(runtime.endpoint, "http://any.test")
      const param = yield* Target.runtime({ aws_bedrock_runtime_endpoint: "http://param.test/" }).pipe(
        Effect.provide(env)
      )
      assert.strictEqual(param.endpoint, "http://param.test")
      const control = yield* Target.control({}).pipe(Effect.provide(env))
      assert.strictEqual(control.endpoint, "http://control.test")
      const store = yield* Target.objectStore({}, "us-east-1").pipe(Effect.provide(env))
      assert.strictEqual(store.endpoint, "http://s3.test")
      const none = yield* Target.runtime({}).pipe(
        Effect.provide(withEnv({ AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "B" }))
      )
      assert.isUndefined(none.endpoint, "process.env's endpoints are not read")
    })
  )

  it.effect("environment keys come from the provider, session token included", () =>
    Effect.gen(function* () {
      const target = yield* Target.runtime({}).pipe(
        Effect.provide(
          withEnv({ AWS_ACCESS_KEY_ID: "AKIDCONFIG", AWS_SECRET_ACCESS_KEY: "config-secret", AWS_SESSION_TOKEN: "tok" })
        )
      )
      const auth = target.auth
      assert.strictEqual(auth._tag, "SigV4")
      assert.strictEqual(auth.source, "AWS_ACCESS_KEY_ID")
      if (auth._tag === "SigV4") {
        const identity = yield* Effect.promise(() => auth.credentials())
        assert.deepStrictEqual(identity, {
          accessKeyId: "AKIDCONFIG",
          secretAccessKey: "config-secret",
          sessionToken: "tok"
        })
        assert.notInclude(auth.cacheKey, "config-secret")
      }
    })
  )

  it.effect("S3 skips the bearer token; without keys, the chain gets the provider's AWS_PROFILE", () =>
    Effect.gen(function* () {
      const store = yield* Target.objectStore({}, "us-east-1").pipe(
        Effect.provide(withEnv({ AWS_BEARER_TOKEN_BEDROCK: "t", AWS_PROFILE: "dev" }))
      )
      assert.strictEqual(store.cacheKey, "chain:dev")
      const runtime = yield* Target.runtime({}).pipe(Effect.provide(withEnv({ AWS_BEARER_TOKEN_BEDROCK: "t" })))
      assert.strictEqual(runtime.auth._tag, "Bearer")
    })
  )
})

describe("Target without a ConfigProvider", () => {
  it.effect("reads the live process.env, changes included", () =>
    Effect.gen(function* () {
      const first = yield* Target.runtime({})
      assert.strictEqual(first.region, "ap-south-1")
      assert.strictEqual(first.endpoint, "http://process-env.invalid")
      assert.strictEqual(first.auth.source, "AWS_BEARER_TOKEN_BEDROCK")
      process.env.AWS_REGION = "sa-east-1"
      process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = ""
      const second = yield* Target.runtime({})
      assert.strictEqual(second.region, "sa-east-1")
      assert.strictEqual(second.endpoint, "http://process-env-any.invalid", "an empty variable is unset")
    }).pipe(Effect.provide(AwsCredentials.layer))
  )
})
