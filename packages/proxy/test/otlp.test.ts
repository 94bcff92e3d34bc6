/**
 * Traces over OTLP: the real gateway on the emulator, exporting to an OTLP/HTTP receiver written
 * here. The spans arrive as one trace per request (request → engine → Bedrock call) and no byte
 * of what was sent holds the master key, a bearer token, the AWS secret or the input text.
 * `Server.start`'s `telemetryEnv` stands for the environment; the CLI case uses the real one.
 */
import * as Http from "node:http"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bedrockEmbed, finish, listening } from "./cli.ts"

const masterKey = "sk-master-otlp-3f9d2c71"
const queryToken = "sk-virtual-in-query-8e1a44"
const collectorKey = "collector-secret-5b7c"
const text = "purple otter rides the ferris wheel 4711"
const badInput = "s3://x/ purple otter quoted by the error 0932"

interface Export {
  readonly path: string
  readonly type: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

/** An OTLP/HTTP receiver: keeps every POST, answers 200 `{}` as a collector does. */
const receiver = async () => {
  const exports: Array<Export> = []
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      exports.push({
        path: request.url ?? "",
        type: request.headers["content-type"] ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks)
      })
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, exports, close: () => new Promise((r) => server.close(r)) }
}

let emulator: Emulator
let dir: string
let collector: Awaited<ReturnType<typeof receiver>>

beforeAll(async () => {
  emulator = await startEmulator()
  collector = await receiver()
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-otlp-"))
})
afterAll(async () => {
  await collector.close()
  await emulator.close()
})

const configFile = async () => {
  const file = join(dir, "config.yaml")
  await writeFile(
    file,
    `model_list:
  - model_name: titan
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v2:0
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: os.environ/TEST_BEDROCK_ENDPOINT
      aws_access_key_id: os.environ/TEST_AWS_KEY
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
general_settings:
  master_key: os.environ/TEST_MASTER_KEY
`
  )
  return Effect.runPromise(
    Config.load(file, {
      TEST_BEDROCK_ENDPOINT: emulator.url,
      TEST_AWS_KEY: EMULATOR_CREDENTIALS.accessKeyId,
      TEST_AWS_SECRET: EMULATOR_CREDENTIALS.secretAccessKey,
      TEST_MASTER_KEY: masterKey
    })
  )
}

const embed = (url: string, input: unknown) =>
  fetch(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${masterKey}` },
    body: JSON.stringify({ model: "titan", input })
  })

/** A gateway on these `OTEL_*` variables, some traffic, then closed; what the receiver got. */
const traffic = async (telemetryEnv: Readonly<Record<string, string>>) => {
  const before = collector.exports.length
  const gateway = await Server.start({ config: await configFile(), port: 0, log: () => {}, telemetryEnv })
  const statuses: Array<number> = []
  for (const input of [text, [text, `${text} again`], text]) statuses.push((await embed(gateway.url, input)).status)
  statuses.push((await embed(gateway.url, badInput)).status)
  // LiteLLM's `/key/info?key=…` takes a virtual key in the query string.
  const info = await fetch(`${gateway.url}/key/info?key=${queryToken}`, {
    headers: { authorization: `Bearer ${masterKey}` }
  })
  statuses.push(info.status)
  await info.text()
  await gateway.close()
  return { statuses, exports: collector.exports.slice(before) }
}

interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
  readonly status: { readonly code: number; readonly message?: string }
}

const spansOf = (exports: ReadonlyArray<Export>): ReadonlyArray<Span> =>
  exports.flatMap((e) =>
    (
      JSON.parse(e.body.toString("utf8")) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Span> }> }>
      }
    ).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
  )

const attribute = (span: Span, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value as Record<string, unknown> | undefined
  return value === undefined ? undefined : Object.values(value)[0]
}

/** Every secret and every input, in the spellings a span could carry them. */
const forbidden = [
  masterKey,
  `Bearer ${masterKey}`,
  queryToken,
  EMULATOR_CREDENTIALS.secretAccessKey,
  text,
  "purple otter",
  encodeURIComponent(text)
]

const assertClean = (exports: ReadonlyArray<Export>) => {
  for (const e of exports) {
    const raw = e.body.toString("latin1")
    for (const secret of forbidden) assert.notInclude(raw, secret, `an export to ${e.path} holds ${secret}`)
  }
}

describe("OTLP traces", () => {
  it("exports each request as one trace (request → engine → Bedrock call), with no secret or input", async () => {
    const { statuses, exports } = await traffic({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${collectorKey}`
    })
    assert.deepStrictEqual(statuses.slice(0, 4), [200, 200, 200, 400])
    assert.isAbove(exports.length, 0, "the spans were sent when the gateway closed")
    for (const e of exports) {
      assert.strictEqual(e.path, "/v1/traces")
      assert.include(e.type, "application/json")
      assert.strictEqual(e.headers["x-collector-key"], collectorKey)
    }
    assert.include(exports[0]!.body.toString("utf8"), `"bedrock-embed-gateway"`)
    const spans = spansOf(exports)
    const requests = spans.filter((s) => s.name === "POST /v1/embeddings")
    assert.strictEqual(requests.length, 4, spans.map((s) => s.name).join(", "))
    const childrenOf = (parent: Span, name: string) =>
      spans.filter((s) => s.name === name && s.parentSpanId === parent.spanId && s.traceId === parent.traceId)
    let ok = 0
    for (const request of requests) {
      assert.strictEqual(request.kind, 2, "a server span")
      assert.strictEqual(attribute(request, "http.route"), "/v1/embeddings")
      const status = Number(attribute(request, "http.response.status_code"))
      if (status !== 200) continue
      ok++
      const [engine, more] = childrenOf(request, "Embeddings.embed")
      assert.isDefined(engine, "the engine's span is the request span's child")
      assert.isUndefined(more)
      assert.strictEqual(attribute(engine!, "bedrock.model_id"), "amazon.titan-embed-text-v2:0")
      const calls = childrenOf(engine!, "BedrockRuntime.invokeModel")
      assert.isAbove(calls.length, 0, "the Bedrock calls are the engine span's children")
      for (const call of calls) assert.strictEqual(attribute(call, "aws.region"), "us-east-1")
    }
    assert.strictEqual(ok, 3)
    // The refused input's engine span failed; it tells the error's tag, not the message quoting the input.
    const failed = spans.filter((s) => s.name === "Embeddings.embed" && s.status.code === 2)
    assert.strictEqual(failed.length, 1)
    assert.strictEqual(failed[0]!.status.message, "InvalidRequestError")
    const info = spans.find((s) => attribute(s, "url.path") === "/key/info")
    assert.isDefined(info, "the /key/info request is traced")
    assert.include(String(attribute(info!, "url.full")), "key=REDACTED")
    assertClean(exports)
    assert.notInclude(exports.map((e) => e.body.toString("utf8")).join(""), "0932", "the refused input")
  })

  it("sends protobuf by default (OpenTelemetry's default protocol), with no secret or input", async () => {
    const { exports } = await traffic({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`,
      OTEL_SERVICE_NAME: "team-gateway"
    })
    assert.isAbove(exports.length, 0)
    for (const e of exports) {
      assert.strictEqual(e.path, "/custom/traces", "the full traces URL wins")
      assert.strictEqual(e.type, "application/x-protobuf")
    }
    // Protobuf keeps strings as their UTF-8 bytes: names and secrets can be looked for as text.
    const raw = exports.map((e) => e.body.toString("latin1")).join("")
    for (const name of ["team-gateway", "POST /v1/embeddings", "Embeddings.embed", "BedrockRuntime.invokeModel"])
      assert.include(raw, name)
    assert.notInclude(raw, "bedrock-embed-gateway", "OTEL_SERVICE_NAME names the service")
    assertClean(exports)
  })

  it("exports nothing without OTEL_EXPORTER_OTLP_ENDPOINT, or with OTEL_SDK_DISABLED=true", async () => {
    const vars = { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "quiet-gateway" }
    const unset = await traffic(vars)
    const disabled = await traffic({ ...vars, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SDK_DISABLED: "true" })
    const none = await traffic({ ...vars, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_EXPORTER: "none" })
    for (const run of [unset, disabled, none]) assert.deepStrictEqual(run.statuses.slice(0, 3), [200, 200, 200])
    assert.deepStrictEqual(
      [unset, disabled, none].map((run) => run.exports.length),
      [0, 0, 0]
    )
    // The same variables with the endpoint (and the SDK on) do export: the receiver was reachable.
    const on = await traffic({ ...vars, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SDK_DISABLED: "false" })
    assert.isAbove(on.exports.length, 0)
  })

  it("refuses an endpoint that is not a URL, without echoing it", async () => {
    const telemetryEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318/with-secret-path" }
    const error = await Server.start({ config: await configFile(), port: 0, log: () => {}, telemetryEnv }).then(
      () => assert.fail("started"),
      (e: unknown) => e as Error
    )
    assert.include(error.message, "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL")
    assert.notInclude(error.message, "with-secret-path")
  })

  it("`bedrock-embed serve` exits 1 on such an endpoint, naming the variable", async () => {
    const child = bedrockEmbed(["serve", "--port", "0"], { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })
    const { code, err } = await finish(child)
    assert.strictEqual(code, 1)
    assert.include(err, "invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL")
  })

  it("`bedrock-embed serve` sends its spans when SIGTERM stops it", async () => {
    const before = collector.exports.length
    const child = bedrockEmbed(["serve", "--port", "0"], {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      // Longer than the test: only the shutdown flush can send the spans.
      OTEL_BSP_SCHEDULE_DELAY: "600000"
    })
    const done = finish(child)
    const { url } = await listening(child)
    const response = await fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "amazon.titan-embed-text-v2:0", input: text })
    })
    assert.strictEqual(response.status, 200)
    child.kill("SIGTERM")
    const { code } = await done
    assert.strictEqual(code, 0)
    const exports = collector.exports.slice(before)
    const names = spansOf(exports).map((s) => s.name)
    for (const name of ["POST /v1/embeddings", "Embeddings.embed", "BedrockRuntime.invokeModel"])
      assert.include(names, name)
    assertClean(exports)
  })
})
