/** `GET /metrics`: the real gateway on the emulator, scraped and parsed as Prometheus text. */
import { createHash } from "node:crypto"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import parse from "parse-prometheus-text-format"

let emulator: Emulator
let dir: string
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  emulator = await startEmulator()
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-metrics-"))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  await emulator.close()
})

const deployment = (alias: string, model: string) => `
  - model_name: ${alias}
    litellm_params:
      model: bedrock/${model}
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: os.environ/TEST_BEDROCK_ENDPOINT
      aws_access_key_id: os.environ/TEST_AWS_KEY
      aws_secret_access_key: os.environ/TEST_AWS_SECRET`

const start = async (masterKey?: string) => {
  const file = join(dir, `config-${gateways.length}.yaml`)
  await writeFile(
    file,
    `model_list:${deployment("titan", "amazon.titan-embed-text-v2:0")}${deployment("cohere", "cohere.embed-english-v3")}
litellm_settings:
  drop_params: true
${masterKey === undefined ? "" : "general_settings:\n  master_key: os.environ/TEST_MASTER_KEY\n"}`
  )
  const config = await Effect.runPromise(
    Config.load(file, {
      TEST_BEDROCK_ENDPOINT: emulator.url,
      TEST_AWS_KEY: EMULATOR_CREDENTIALS.accessKeyId,
      TEST_AWS_SECRET: EMULATOR_CREDENTIALS.secretAccessKey,
      ...(masterKey === undefined ? {} : { TEST_MASTER_KEY: masterKey })
    })
  )
  const gateway = await Server.start({ config, port: 0, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const embed = (url: string, token: string, body: unknown) =>
  fetch(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body)
  })

const scrape = async (url: string, token?: string) => {
  const response = await fetch(
    `${url}/metrics`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }
  )
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
}

const family = (families: ReturnType<typeof parse>, name: string) => {
  const found = families.find((f) => f.name === name)
  assert.isDefined(found, `${name} is exported`)
  return found!
}

/** The sum of the samples named `name` whose labels include `labels` (untyped samples may come in several runs). */
const total = (families: ReturnType<typeof parse>, name: string, labels: Readonly<Record<string, string>>) => {
  family(families, name)
  return families
    .filter((f) => f.name === name)
    .flatMap((f) => f.metrics)
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value), 0)
}

describe("GET /metrics", () => {
  it("counts requests, tokens, cost, latency and errors by model, deployment and key", async () => {
    const gateway = await start()
    const token = "sk-Zq81LmWv0XpT4rNc7Yb2Hd9eKsUa"
    const texts = ["the secret input text", "another confidential sentence"]
    const sent = { titan: { requests: 0, tokens: 0, cost: 0 }, cohere: { requests: 0, tokens: 0, cost: 0 } }
    emulator.clearInvocations()
    for (const alias of ["titan", "cohere", "titan", "cohere"] as const) {
      // The last request's first call is throttled once, then retried.
      if (alias === "cohere" && sent.cohere.requests === 1) emulator.injectFaults([{ error: "ThrottlingException" }])
      const response = await embed(gateway.url, token, { model: alias, input: texts, encoding_format: "float" })
      assert.strictEqual(response.status, 200)
      const body = (await response.json()) as { usage: { prompt_tokens: number } }
      sent[alias].requests++
      sent[alias].tokens += body.usage.prompt_tokens
      sent[alias].cost += Number(response.headers.get("x-bedrock-embed-response-cost"))
    }
    const bad = await embed(gateway.url, token, [texts[0]])
    assert.strictEqual(bad.status, 400)
    const badError = ((await bad.json()) as { error: { type: string; code: string } }).error

    const scraped = await scrape(gateway.url)
    assert.strictEqual(scraped.status, 200)
    assert.match(scraped.type ?? "", /^text\/plain; version=0\.0\.4/)
    const families = parse(scraped.text)
    // The parser flattens a histogram's labelled series into one (it keeps neither labels nor
    // counts), so the histogram's samples are parsed again without their TYPE line, as plain samples.
    const histogram = parse(scraped.text.replace(/^# TYPE bedrock_embed_request_duration_seconds histogram$/m, ""))
    const key = createHash("sha256").update(token).digest("hex").slice(0, 8)
    for (const [alias, model] of [
      ["titan", "amazon.titan-embed-text-v2:0"],
      ["cohere", "cohere.embed-english-v3"]
    ] as const) {
      const labels = { model: alias, bedrock_model: model, key }
      assert.isAbove(sent[alias].tokens, 0)
      assert.strictEqual(total(families, "bedrock_embed_requests_total", labels), sent[alias].requests)
      assert.strictEqual(total(families, "bedrock_embed_input_tokens_total", labels), sent[alias].tokens)
      assert.closeTo(total(families, "bedrock_embed_spend_usd_total", labels), sent[alias].cost, 1e-12)
      const latency = { model: alias, bedrock_model: model }
      assert.strictEqual(
        total(histogram, "bedrock_embed_request_duration_seconds_count", latency),
        sent[alias].requests
      )
      assert.strictEqual(
        total(histogram, "bedrock_embed_request_duration_seconds_bucket", { ...latency, le: "+Inf" }),
        sent[alias].requests
      )
      assert.isAbove(total(histogram, "bedrock_embed_request_duration_seconds_sum", latency), 0)
      const deployment = { model: alias, bedrock_model: model }
      const calls = emulator.invocations.filter((call) => call.modelId === model)
      const throttled = calls.filter((call) => call.status === 429).length
      assert.strictEqual(throttled, alias === "cohere" ? 1 : 0)
      // Calls that answered, and failed attempts that were re-sent: every call Bedrock received.
      assert.strictEqual(total(families, "bedrock_embed_bedrock_calls_total", deployment), calls.length - throttled)
      assert.strictEqual(total(families, "bedrock_embed_retries_total", deployment), throttled)
      assert.strictEqual(total(families, "bedrock_embed_throttles_total", deployment), throttled)
    }
    assert.strictEqual(family(families, "bedrock_embed_request_duration_seconds").type, "HISTOGRAM")
    assert.strictEqual(family(families, "bedrock_embed_requests_total").type, "COUNTER")
    const errors = family(families, "bedrock_embed_errors_total").metrics
    assert.deepStrictEqual(
      errors.map((m) => m.labels),
      [{ route: "embeddings", status: "400", type: badError.type, code: badError.code, key }]
    )
    assert.strictEqual(Number(errors[0]!.value), 1)
    assert.strictEqual(Number(family(families, "bedrock_embed_in_flight_requests").metrics[0]!.value), 0)
    const engine = (name: string) => Number(family(families, `bedrock_embed_engine_${name}_total`).metrics[0]!.value)
    assert.strictEqual(engine("calls"), emulator.invocations.length)
    assert.strictEqual(engine("throttles"), 1)
    assert.strictEqual(engine("retries"), 1)
    // No label value holds the token (or a piece of it) or input text.
    const values = families.flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})))
    assert.isAbove(values.length, 0)
    for (const value of values) {
      if (value.length >= 4) assert.notInclude(token, value)
      assert.notInclude(value, token.slice(3, 9))
      for (const text of texts) assert.notInclude(value, text)
    }
    assert.notInclude(scraped.text, token)
    for (const text of texts) assert.notInclude(scraped.text, text)
  })

  it("asks for the master key when one is configured", async () => {
    const masterKey = "sk-metrics-master-key-abcdef"
    const gateway = await start(masterKey)
    assert.strictEqual((await embed(gateway.url, masterKey, { model: "cohere", input: "hi" })).status, 200)
    assert.strictEqual((await embed(gateway.url, "sk-wrong", { model: "cohere", input: "hi" })).status, 401)
    assert.strictEqual((await scrape(gateway.url)).status, 401)
    assert.strictEqual((await scrape(gateway.url, "sk-wrong")).status, 401)
    const scraped = await scrape(gateway.url, masterKey)
    assert.strictEqual(scraped.status, 200)
    const families = parse(scraped.text)
    assert.strictEqual(total(families, "bedrock_embed_requests_total", { model: "cohere", key: "master" }), 1)
    // Refused tokens are one `invalid` series, whatever they are.
    const errors = family(families, "bedrock_embed_errors_total").metrics
    assert.deepStrictEqual(
      errors.map((m) => [m.labels?.route, m.labels?.code, m.labels?.key, m.value]),
      [
        ["embeddings", "invalid_api_key", "invalid", "1"],
        ["metrics", "invalid_api_key", "invalid", "2"]
      ]
    )
    assert.notInclude(scraped.text, masterKey)
  })

  it("labels a virtual key by its alias, and refuses it /metrics", async () => {
    const masterKey = "sk-metrics-master-key-for-virtual"
    const gateway = await start(masterKey)
    const generated = await fetch(`${gateway.url}/key/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${masterKey}` },
      body: JSON.stringify({ key_alias: "search-team" })
    })
    assert.strictEqual(generated.status, 200)
    const { key } = (await generated.json()) as { key: string }
    assert.strictEqual((await embed(gateway.url, key, { model: "titan", input: "hi" })).status, 200)
    assert.strictEqual((await scrape(gateway.url, key)).status, 401)
    const scraped = await scrape(gateway.url, masterKey)
    const families = parse(scraped.text)
    assert.strictEqual(total(families, "bedrock_embed_requests_total", { model: "titan", key: "search-team" }), 1)
    assert.notInclude(scraped.text, key)
  })

  it("counts a client that leaves mid-request as client_closed_request, and no longer in flight", async () => {
    const gateway = await start()
    emulator.setFaults({ latencyMs: 2_000 })
    try {
      const aborted = new AbortController()
      const request = embed(gateway.url, "sk-leaving", { model: "titan", input: "hi" })
      const pending = fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "cohere", input: "hi" }),
        signal: aborted.signal
      }).catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const during = parse((await scrape(gateway.url)).text)
      assert.strictEqual(Number(family(during, "bedrock_embed_in_flight_requests").metrics[0]!.value), 2)
      aborted.abort()
      await pending
      assert.strictEqual((await request).status, 200)
      const after = parse((await scrape(gateway.url)).text)
      assert.strictEqual(Number(family(after, "bedrock_embed_in_flight_requests").metrics[0]!.value), 0)
      assert.strictEqual(total(after, "bedrock_embed_errors_total", { code: "client_closed_request", key: "none" }), 1)
      assert.strictEqual(total(after, "bedrock_embed_requests_total", { model: "titan" }), 1)
    } finally {
      emulator.setFaults({ latencyMs: 0 })
    }
  })
})
