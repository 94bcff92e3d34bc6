/** `config.yaml`'s `os.environ/NAME` values come through Effect `Config`: from a provided `ConfigProvider`. */
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Config } from "@bedrock-embed/proxy"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"

const file = Effect.promise(async () => {
  const path = join(await mkdtemp(join(tmpdir(), "bedrock-embed-config-")), "config.yaml")
  await writeFile(
    path,
    [
      "model_list:",
      "  - model_name: titan",
      "    litellm_params:",
      "      model: bedrock/amazon.titan-embed-text-v2:0",
      "      aws_region_name: us-east-1",
      "      aws_access_key_id: os.environ/BEDROCK_EMBED_TEST_KEY_ID",
      "general_settings: { master_key: os.environ/BEDROCK_EMBED_TEST_MASTER_KEY }",
      ""
    ].join("\n")
  )
  return path
})

const provided = (values: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(values))

describe("Config os.environ/ references", () => {
  it.effect("are resolved from the provided ConfigProvider, not process.env", () =>
    Effect.gen(function* () {
      process.env.BEDROCK_EMBED_TEST_KEY_ID = "from-process-env"
      try {
        const config = yield* Config.load(yield* file).pipe(
          provided({ BEDROCK_EMBED_TEST_KEY_ID: "AKIDPROVIDED", BEDROCK_EMBED_TEST_MASTER_KEY: "sk-provided" })
        )
        assert.strictEqual(config.model_list[0]!.litellm_params.aws_access_key_id, "AKIDPROVIDED")
        assert.strictEqual(config.general_settings?.master_key, "sk-provided")
      } finally {
        delete process.env.BEDROCK_EMBED_TEST_KEY_ID
      }
    })
  )

  it.effect("a variable the provider lacks fails with the path of the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Config.load(yield* file).pipe(provided({ BEDROCK_EMBED_TEST_KEY_ID: "AKID" })))
      assert.strictEqual(error.path, "general_settings.master_key")
      assert.include(error.message, "environment variable BEDROCK_EMBED_TEST_MASTER_KEY is not set")
    })
  )

  it.effect("an explicit environment record still wins over the provider", () =>
    Effect.gen(function* () {
      const config = yield* Config.load(yield* file, {
        BEDROCK_EMBED_TEST_KEY_ID: "AKIDRECORD",
        BEDROCK_EMBED_TEST_MASTER_KEY: "sk-record"
      }).pipe(provided({}))
      assert.strictEqual(config.general_settings?.master_key, "sk-record")
    })
  )
})
