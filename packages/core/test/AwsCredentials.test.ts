import { AwsCredentials } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"

const resolve = (params: AwsCredentials.AuthParams, env: NodeJS.ProcessEnv = {}) =>
  AwsCredentials.make(env).resolve(params, "us-east-1")

describe("AwsCredentials", () => {
  it.effect("prefers the api_key parameter, as a redacted bearer token", () =>
    Effect.gen(function* () {
      const auth = yield* resolve(
        { api_key: "bedrock-api-key-abc", aws_access_key_id: "AKID", aws_secret_access_key: "s" },
        { AWS_BEARER_TOKEN_BEDROCK: "from-env" }
      )
      assert.strictEqual(auth._tag, "Bearer")
      if (auth._tag === "Bearer") {
        assert.strictEqual(Redacted.value(auth.token), "bedrock-api-key-abc")
        assert.notInclude(String(auth.token), "abc")
        assert.notInclude(auth.cacheKey, "abc")
      }
    })
  )

  it.effect("uses request keys before the environment, and never puts secrets in cache keys", () =>
    Effect.gen(function* () {
      const auth = yield* resolve(
        { aws_access_key_id: "AKIDPARAM", aws_secret_access_key: "secret-param", aws_session_token: "tok" },
        { AWS_BEARER_TOKEN_BEDROCK: "from-env", AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "e" }
      )
      assert.strictEqual(auth._tag, "SigV4")
      if (auth._tag === "SigV4") {
        const identity = yield* Effect.promise(() => auth.credentials())
        assert.deepStrictEqual(identity, {
          accessKeyId: "AKIDPARAM",
          secretAccessKey: "secret-param",
          sessionToken: "tok"
        })
        assert.notInclude(auth.cacheKey, "secret-param")
      }
    })
  )

  it.effect("falls back to AWS_BEARER_TOKEN_BEDROCK, then environment keys, then the default chain", () =>
    Effect.gen(function* () {
      const bearer = yield* resolve(
        {},
        { AWS_BEARER_TOKEN_BEDROCK: "env-token", AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "B" }
      )
      assert.strictEqual(bearer.source, "AWS_BEARER_TOKEN_BEDROCK")
      const envKeys = yield* resolve({}, { AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "B" })
      assert.strictEqual(envKeys.source, "AWS_ACCESS_KEY_ID")
      const chain = yield* resolve({}, {})
      assert.strictEqual(chain.source, "the default AWS credential chain")
      const profile = yield* resolve({ aws_profile_name: "dev" }, {})
      assert.strictEqual(profile.source, 'the AWS profile "dev"')
      const role = yield* resolve({ aws_role_name: "arn:aws:iam::123456789012:role/r" }, {})
      assert.strictEqual(role.source, "aws_role_name")
    })
  )

  it.effect("memoises providers per identity", () =>
    Effect.gen(function* () {
      const service = AwsCredentials.make({})
      const a = yield* service.resolve({ aws_access_key_id: "K", aws_secret_access_key: "S" }, "us-east-1")
      const b = yield* service.resolve({ aws_access_key_id: "K", aws_secret_access_key: "S" }, "us-east-1")
      const c = yield* service.resolve({ aws_access_key_id: "K", aws_secret_access_key: "T" }, "us-east-1")
      assert.strictEqual(a, b)
      assert.notStrictEqual(a, c)
    })
  )

  it.effect("fails with a typed error on half-given identities", () =>
    Effect.gen(function* () {
      const keyOnly = yield* Effect.flip(resolve({ aws_access_key_id: "K" }))
      assert.strictEqual(keyOnly._tag, "CredentialsError")
      assert.include(keyOnly.message, "without aws_secret_access_key")
      const tokenOnly = yield* Effect.flip(resolve({ aws_web_identity_token: "jwt" }))
      assert.include(tokenOnly.message, "needs aws_role_name")
    })
  )
})

describe("AwsCredentials and Config", () => {
  it.effect("without an env record, reads the environment through the ConfigProvider in context", () =>
    Effect.gen(function* () {
      const provided = Effect.provideService(
        ConfigProvider.ConfigProvider,
        ConfigProvider.fromUnknown({ AWS_BEARER_TOKEN_BEDROCK: "from-config" })
      )
      const fromConfig = yield* AwsCredentials.make().resolve({}, "us-east-1").pipe(provided)
      assert.strictEqual(fromConfig._tag, "Bearer")
      if (fromConfig._tag === "Bearer") assert.strictEqual(Redacted.value(fromConfig.token), "from-config")
      // An explicit record is the environment, whatever the context holds.
      const fromRecord = yield* AwsCredentials.make({ AWS_BEARER_TOKEN_BEDROCK: "from-record" })
        .resolve({}, "us-east-1")
        .pipe(provided)
      if (fromRecord._tag === "Bearer") assert.strictEqual(Redacted.value(fromRecord.token), "from-record")
      assert.strictEqual(fromRecord._tag, "Bearer")
    })
  )
})
