/** The gateway through the official `openai` client and plain HTTP, on the emulator. */
import { once } from "node:events"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EMULATOR_CREDENTIALS, type Emulator, Fixtures, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect } from "effect"
import OpenAI from "openai"
import { bedrockEmbed, listening } from "./cli.ts"

let emulator: Emulator
let dir: string
const logs: Array<string> = []
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 50 })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-proxy-"))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  await emulator.close()
})

const emulatorParams = () => ({
  aws_region_name: "us-east-1",
  aws_bedrock_runtime_endpoint: emulator.url,
  aws_s3_endpoint: emulator.s3Url!,
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

const startGateway = async (config: Config.Config, bedrock?: BedrockEmbed.Options) => {
  const gateway = await Server.start({ config, port: 0, bedrock, log: (line) => logs.push(line) })
  gateways.push(gateway)
  return gateway
}

const yaml = (masterKeyVar?: string) => `
model_list:
  - model_name: titan
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v2:0
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: os.environ/TEST_BEDROCK_ENDPOINT
      aws_access_key_id: os.environ/TEST_AWS_KEY
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
  - model_name: cohere
    litellm_params:
      model: bedrock/cohere.embed-english-v3
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: os.environ/TEST_BEDROCK_ENDPOINT
      aws_access_key_id: os.environ/TEST_AWS_KEY
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
  - model_name: nova
    litellm_params:
      model: bedrock/amazon.nova-2-multimodal-embeddings-v1:0
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: os.environ/TEST_BEDROCK_ENDPOINT
      aws_access_key_id: os.environ/TEST_AWS_KEY
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
litellm_settings:
  drop_params: true
${masterKeyVar === undefined ? "" : `general_settings:\n  master_key: os.environ/${masterKeyVar}\n  max_inputs_per_request: 100\n  max_request_body_bytes: 100000\n`}`

const env = () => ({
  TEST_BEDROCK_ENDPOINT: emulator.url,
  TEST_AWS_KEY: EMULATOR_CREDENTIALS.accessKeyId,
  TEST_AWS_SECRET: EMULATOR_CREDENTIALS.secretAccessKey,
  TEST_MASTER_KEY: "sk-gateway-test-key"
})

describe("with the official openai client", () => {
  it("embeds through Titan, Cohere and Nova aliases, as floats and as base64, with usage", async () => {
    const file = join(dir, "config.yaml")
    await writeFile(file, yaml())
    const config = await Effect.runPromise(Config.load(file, env()))
    const gateway = await startGateway(config)
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 })
    for (const [alias, dimension] of [
      ["titan", 1024],
      ["cohere", 1024],
      ["nova", 3072]
    ] as const) {
      const floats = await openai.embeddings.create({
        model: alias,
        input: ["hello world", "goodbye"],
        encoding_format: "float"
      })
      assert.strictEqual(floats.model, alias)
      assert.strictEqual(floats.data.length, 2)
      assert.strictEqual(floats.data[1]!.index, 1)
      assert.strictEqual(floats.data[0]!.embedding.length, dimension)
      assert.isAbove(floats.usage.prompt_tokens, 0)
      // The client's default: base64 on the wire, decoded by the client to float32.
      const b64 = await openai.embeddings.create({ model: alias, input: ["hello world", "goodbye"] })
      assert.strictEqual(b64.data[0]!.embedding.length, dimension)
      for (let i = 0; i < dimension; i++) {
        assert.closeTo(b64.data[0]!.embedding[i]!, floats.data[0]!.embedding[i]!, 1e-6)
      }
      assert.strictEqual(b64.usage.prompt_tokens, floats.usage.prompt_tokens)
    }
    const models = await openai.models.list()
    assert.sameMembers(
      models.data.map((m) => m.id),
      ["titan", "cohere", "nova"]
    )
  })
})

describe("a LiteLLM-style config with os.environ references and a master key", () => {
  it("ignores a client's api_base, headers and prices: the deployment's endpoint, signature and prices stay", async () => {
    const file = join(dir, "config-reserved.yaml")
    await writeFile(file, yaml())
    const gateway = await startGateway(await Effect.runPromise(Config.load(file, env())))
    const post = (body: Record<string, unknown>) =>
      fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "titan", input: "hello", ...body })
      })
    const plain = await post({})
    const before = emulator.stats.invocations
    const hostile = await post({
      api_base: "http://127.0.0.1:9/elsewhere",
      extra_headers: { "x-amzn-bedrock-guardrailidentifier": "attacker" },
      headers: { "x-team": "x" },
      input_cost_per_token: 1000
    })
    assert.strictEqual(hostile.status, 200)
    assert.strictEqual(emulator.stats.invocations, before + 1, "served by the deployment's endpoint")
    assert.deepStrictEqual(emulator.invocations.at(-1)!.body, { inputText: "hello" })
    assert.strictEqual(
      hostile.headers.get("x-bedrock-embed-response-cost"),
      plain.headers.get("x-bedrock-embed-response-cost"),
      "the deployment's price, not the client's"
    )
  })

  it("the every-model config (the embedded demo) serves a text through every model it lists", async () => {
    const gateway = await startGateway(Config.everyModel(emulatorParams()))
    const served: Array<string> = []
    for (const spec of BedrockEmbed.specs) {
      const response = await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: spec.id, input: "hello" })
      })
      assert.strictEqual(response.status, 200, `${spec.id}: ${await response.clone().text()}`)
      const body = (await response.json()) as { data: Array<{ embedding: Array<number> }> }
      assert.strictEqual(body.data[0]!.embedding.length, spec.capabilities.defaultDimension, spec.id)
      served.push(spec.id)
    }
    assert.lengthOf(served, BedrockEmbed.specs.length)
  })

  it("answers 401 without a key, 401 with a wrong key, 200 with the right one", async () => {
    const file = join(dir, "secured.yaml")
    await writeFile(file, yaml("TEST_MASTER_KEY"))
    const gateway = await startGateway(await Effect.runPromise(Config.load(file, env())))
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "titan", input: "x" })
      })
    const none = await post({})
    assert.strictEqual(none.status, 401)
    assert.deepStrictEqual(await none.json(), {
      error: {
        message: "Missing API key: send Authorization: Bearer <key>.",
        type: "invalid_request_error",
        code: "invalid_api_key",
        param: null
      }
    })
    const wrong = await post({ authorization: "Bearer sk-wrong" })
    assert.strictEqual(wrong.status, 401)
    assert.strictEqual(((await wrong.json()) as { error: { code: string } }).error.code, "invalid_api_key")
    const right = await post({ authorization: "Bearer sk-gateway-test-key" })
    assert.strictEqual(right.status, 200)
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "sk-gateway-test-key", maxRetries: 0 })
    assert.strictEqual((await openai.embeddings.create({ model: "cohere", input: "x" })).data.length, 1)
  })

  it("enforces the body and input limits with 413 and 400", async () => {
    const file = join(dir, "limits.yaml")
    await writeFile(file, yaml("TEST_MASTER_KEY"))
    const gateway = await startGateway(await Effect.runPromise(Config.load(file, env())))
    const post = (body: unknown) =>
      fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-gateway-test-key" },
        body: JSON.stringify(body)
      })
    const big = await post({ model: "titan", input: "x".repeat(200_000) })
    assert.strictEqual(big.status, 413)
    const many = await post({ model: "cohere", input: Array.from({ length: 101 }, () => "x") })
    assert.strictEqual(many.status, 400)
    assert.include(((await many.json()) as { error: { message: string } }).error.message, "at most 100")
    const unknown = await post({ model: "gpt-4", input: "x" })
    assert.strictEqual(unknown.status, 404)
    assert.strictEqual(((await unknown.json()) as { error: { code: string } }).error.code, "model_not_found")
    const bad = await post({ model: "titan", input: "x", dimensions: 300 })
    assert.strictEqual(bad.status, 400)
    assert.include(((await bad.json()) as { error: { message: string } }).error.message, "256, 512, 1024")
  })

  it("names the bad field of a malformed config, before listening", async () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["model_list: []\n", "model_list"],
      ["model_list:\n  - model_name: x\n    litellm_params: {}\n", "model_list[0].litellm_params.model"],
      [
        "model_list:\n  - model_name: x\n    litellm_params: { model: bedrock/acme.nothing-v1 }\n",
        "model_list[0].litellm_params.model"
      ],
      [
        "model_list:\n  - model_name: x\n    litellm_params: { model: bedrock/amazon.titan-embed-text-v1, aws_access_key_id: os.environ/NOT_SET_ANYWHERE }\n",
        "NOT_SET_ANYWHERE is not set"
      ],
      [
        "general_settings: { master_key: 3 }\nmodel_list: [{ model_name: x, litellm_params: { model: bedrock/amazon.titan-embed-text-v1 } }]\n",
        "general_settings.master_key"
      ]
    ]
    for (const [text, fragment] of cases) {
      const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.yaml`)
      await writeFile(file, text)
      const error = await Effect.runPromise(Effect.flip(Config.load(file, {})))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, fragment)
    }
  })
})

describe("errors, batches and logs", () => {
  it("throttling → 429 with retry-after, in OpenAI's error shape", async () => {
    const gateway = await startGateway(Config.everyModel(emulatorParams()), { engine: { maxRetries: 0 } })
    emulator.injectFaults([{ error: "ThrottlingException", retryAfterSeconds: 2 }])
    const response = await fetch(`${gateway.url}/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "amazon.titan-embed-text-v2:0", input: "x" })
    })
    assert.strictEqual(response.status, 429)
    assert.strictEqual(response.headers.get("retry-after"), "2")
    const body = (await response.json()) as { error: { type: string; code: string } }
    assert.strictEqual(body.error.type, "rate_limit_error")
    assert.strictEqual(body.error.code, "rate_limit_exceeded")
  })

  it("returns the async job's ARN and serves its status at /v1/batches/{id}", async () => {
    const config = Config.everyModel(emulatorParams())
    const withAsync: Config.Config = {
      ...config,
      model_list: [
        ...config.model_list,
        {
          model_name: "nova-async",
          litellm_params: {
            ...emulatorParams(),
            model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"
          }
        }
      ] as unknown as Config.Config["model_list"]
    }
    const gateway = await startGateway(withAsync)
    const { S3Client, CreateBucketCommand, PutObjectCommand } = await import("@aws-sdk/client-s3")
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: emulator.s3Url!,
      forcePathStyle: true,
      credentials: EMULATOR_CREDENTIALS
    })
    await s3.send(new CreateBucketCommand({ Bucket: "gw-media" }))
    await s3.send(
      new PutObjectCommand({ Bucket: "gw-media", Key: "v.mp4", Body: Buffer.from(Fixtures.mp4(6), "base64") })
    )
    s3.destroy()
    const submitted = (await (
      await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "nova-async",
          input: "s3://gw-media/v.mp4",
          input_type: "video",
          output_s3_uri: "s3://gw-media/out/"
        })
      })
    ).json()) as { id: string }
    assert.match(submitted.id, /:async-invoke\/[a-z0-9]{12}$/)
    let status = ""
    for (let i = 0; i < 50 && status !== "completed"; i++) {
      const batch = (await (await fetch(`${gateway.url}/v1/batches/${encodeURIComponent(submitted.id)}`)).json()) as {
        object: string
        status: string
      }
      assert.strictEqual(batch.object, "batch")
      status = batch.status
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.strictEqual(status, "completed")
  })

  it("logs one JSON line per request — method, model, status, latency, tokens, cost — and no secret", async () => {
    const line = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.route === "embeddings" && l.status === 200)
    assert.isDefined(line)
    for (const field of ["method", "path", "model", "status", "latency_ms", "tokens", "cost", "request_id"]) {
      assert.property(line, field)
    }
    const all = logs.join("\n")
    for (const secret of [EMULATOR_CREDENTIALS.secretAccessKey, "sk-gateway-test-key", "hello world"]) {
      assert.notInclude(all, secret)
    }
  })
})

describe("the bedrock-embed CLI", () => {
  const cli = bedrockEmbed

  it("serve with no config runs on the embedded emulator and serves /v1/embeddings", async () => {
    const child = cli(["serve", "--port", "0"])
    const { url, out } = await listening(child)
    assert.include(out, "EMBEDDED BEDROCK EMULATOR")
    assert.include(out, "cohere.embed-v4:0")
    const response = await fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "amazon.titan-embed-text-v2:0", input: ["hello"], dimensions: 256 })
    })
    assert.strictEqual(response.status, 200)
    assert.strictEqual(
      ((await response.json()) as { data: Array<{ embedding: Array<number> }> }).data[0]!.embedding.length,
      256
    )
    child.kill("SIGTERM")
    assert.strictEqual((await once(child, "exit"))[0], 0)
  })

  it("on SIGTERM finishes the requests in flight, then exits 0 (rolling deploys behind a load balancer)", async () => {
    const child = cli(["serve", "--port", "0"], { BEDROCK_EMULATOR_LATENCY_MS: "800" })
    const { url } = await listening(child)
    const inFlight = fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "amazon.titan-embed-text-v2:0", input: ["still answered"], dimensions: 256 })
    })
    await new Promise((r) => setTimeout(r, 200))
    const exited = once(child, "exit")
    child.kill("SIGTERM")
    const response = await inFlight
    assert.strictEqual(response.status, 200)
    assert.lengthOf(((await response.json()) as { data: Array<{ embedding: Array<number> }> }).data[0]!.embedding, 256)
    assert.strictEqual((await exited)[0], 0)
  })

  it("exits non-zero with the bad field of a malformed config", async () => {
    const file = join(dir, "cli-bad.yaml")
    await writeFile(file, "model_list:\n  - model_name: x\n    litellm_params: { model: 42 }\n")
    const child = cli(["serve", "--config", file, "--port", "0"])
    let err = ""
    child.stderr!.on("data", (d) => {
      err += d
    })
    const [code] = await once(child, "exit")
    assert.strictEqual(code, 1)
    assert.include(err, "model_list[0].litellm_params.model")
  })
})
