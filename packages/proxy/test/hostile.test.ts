/**
 * The gateway under a hostile client and a faulty upstream: bodies limited while they stream,
 * body and upstream deadlines, admission control, no secret or internal host in what a client
 * sees, and a demo gateway that refuses what it cannot do. The upstream is a plain `node:http`
 * stand-in written for this test (not the emulator), whose behaviour each test sets; clients are
 * raw `node:http` requests, so a test controls every byte a client sends and sees when the
 * gateway stops reading.
 */
import { once } from "node:events"
import { mkdtemp, writeFile } from "node:fs/promises"
import * as Http from "node:http"
import { type AddressInfo, connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { Config, HttpErrors, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { bedrockEmbed, finish, listening } from "./cli.ts"

type Behaviour = (req: Http.IncomingMessage, res: Http.ServerResponse, body: string) => void

/** Titan Text v2's answer for the dimensions asked. */
const answer: Behaviour = (_req, res, body) => {
  const { dimensions = 1024 } = JSON.parse(body) as { dimensions?: number }
  res.writeHead(200, { "content-type": "application/json" })
  res.end(JSON.stringify({ embedding: Array.from({ length: dimensions }, (_, i) => i / 1000), inputTextTokenCount: 2 }))
}

let behaviour: Behaviour = answer
let calls = 0
let upstream: Http.Server
let upstreamUrl: string

beforeAll(async () => {
  upstream = Http.createServer((req, res) => {
    calls++
    let body = ""
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => behaviour(req, res, body))
  })
  upstream.listen(0, "127.0.0.1")
  await once(upstream, "listening")
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
afterAll(() => {
  upstream.closeAllConnections()
  upstream.close()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const titan = (params: Record<string, unknown> = {}) => ({
  model: "bedrock/amazon.titan-embed-text-v2:0",
  aws_region_name: "us-east-1",
  aws_bedrock_runtime_endpoint: upstreamUrl,
  aws_access_key_id: "AKIDEXAMPLE",
  aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  ...params
})

const gatewayWith = (settings: Partial<Config.Config>, params: Record<string, unknown> = {}) =>
  Server.start({
    config: { model_list: [{ model_name: "titan", litellm_params: titan(params) }], ...settings },
    port: 0,
    log: () => {}
  })

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** Body bytes the client got out before the gateway answered or closed. */
  readonly written: number
  readonly ms: number
}

/**
 * POSTs a body piece by piece, waiting for the socket to drain between pieces (and `pauseMs`),
 * until `total` bytes are out or the gateway answers or closes; then what it answered.
 */
const send = (
  url: string,
  options: {
    readonly total: number
    readonly piece: Buffer
    readonly headers?: Http.OutgoingHttpHeaders
    readonly pauseMs?: number
    readonly first?: string
  }
) =>
  new Promise<Answer>((resolve, reject) => {
    const started = performance.now()
    const request = Http.request(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers }
    })
    let written = 0
    let answered = false
    let wake = () => {}
    const finished = (error?: Error) => {
      if (answered) return
      answered = true
      wake()
      if (error !== undefined) reject(error)
    }
    request.on("response", (res) => {
      let body = ""
      res.on("data", (chunk) => {
        body += chunk
      })
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, written, ms: performance.now() - started })
        request.destroy()
      })
      finished()
    })
    request.on("error", (error) => finished(error))
    request.on("close", () => finished(new Error(`closed without an answer after ${written} bytes`)))
    request.on("drain", () => wake())
    const pump = async () => {
      if (options.first !== undefined) {
        request.write(options.first)
        written += Buffer.byteLength(options.first)
      }
      while (!answered && written < options.total) {
        const piece = options.piece.subarray(0, Math.min(options.piece.length, options.total - written))
        written += piece.length
        if (!request.write(piece)) await new Promise<void>((r) => (wake = r))
        if (options.pauseMs !== undefined) await sleep(options.pauseMs)
      }
      if (!answered) request.end()
    }
    void pump()
  })

const errorOf = (answer: Answer) =>
  (JSON.parse(answer.body) as { error: { message: string; type: string; code: string; param: unknown } }).error

describe("request bodies are limited while they stream", () => {
  it("a 150 MB chunked body against a 1 MB limit: 413 after about the limit, the rest never read", async () => {
    const gateway = await gatewayWith({ general_settings: { max_request_body_bytes: 1_000_000 } })
    try {
      const total = 150_000_000
      const before = process.memoryUsage().rss
      const chunked = await send(gateway.url, { total, piece: Buffer.alloc(64 * 1024, "x"), first: '{"input":"' })
      const grown = process.memoryUsage().rss - before
      assert.strictEqual(chunked.status, 413)
      assert.strictEqual(chunked.headers.connection, "close")
      assert.deepStrictEqual(errorOf(chunked), {
        message: "The request body is larger than 1000000 bytes (general_settings.max_request_body_bytes).",
        type: "invalid_request_error",
        code: "request_too_large",
        param: null
      })
      // The limit plus what the loopback socket buffers hold; today's gateway read all 150 MB first.
      assert.isBelow(chunked.written, 40_000_000, `the client got ${chunked.written} bytes out`)
      assert.isBelow(grown, 100_000_000, `RSS grew by ${grown} bytes`)
      // A declared length above the limit is refused before a byte of the body is read.
      const declared = await send(gateway.url, {
        total,
        piece: Buffer.alloc(64 * 1024, "x"),
        headers: { "content-length": String(total) }
      })
      assert.strictEqual(declared.status, 413)
      assert.strictEqual(declared.headers.connection, "close")
      assert.isBelow(declared.written, 40_000_000)
      // The gateway still serves.
      const ok = await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        body: JSON.stringify({ model: "titan", input: "x", dimensions: 256 })
      })
      assert.strictEqual(ok.status, 200)
    } finally {
      await gateway.close()
    }
  })
})

describe("deadlines", () => {
  it("a body trickled one byte every 400 ms gets 408 in OpenAI's shape at request_body_timeout", async () => {
    const gateway = await gatewayWith({ general_settings: { request_body_timeout: 1.5 } })
    try {
      const trickled = await send(gateway.url, { total: 1_000, piece: Buffer.from("x"), pauseMs: 400, first: "{" })
      assert.strictEqual(trickled.status, 408)
      assert.strictEqual(trickled.headers.connection, "close")
      assert.strictEqual(errorOf(trickled).code, "request_timeout")
      assert.include(errorOf(trickled).message, "1.5 s")
      assert.isBelow(trickled.ms, 5_000)
      assert.isBelow(trickled.written, 20)
    } finally {
      await gateway.close()
    }
  })

  it("a hanging upstream: 504 code timeout, on litellm_settings' request_timeout or the deployment's own", async () => {
    behaviour = () => {}
    const gateway = await Server.start({
      config: {
        model_list: [
          { model_name: "global", litellm_params: titan() },
          { model_name: "own", litellm_params: titan({ timeout: 0.5, num_retries: 1 }) }
        ],
        litellm_settings: { request_timeout: 1, num_retries: 0 }
      },
      port: 0,
      log: () => {}
    })
    try {
      const post = async (body: Record<string, unknown>) => {
        const started = performance.now()
        const response = await fetch(`${gateway.url}/v1/embeddings`, { method: "POST", body: JSON.stringify(body) })
        return { response, ms: performance.now() - started }
      }
      calls = 0
      // The client's own deadline and retries are not the gateway's to take.
      const global = await post({ model: "global", input: "x", timeout: 3600, num_retries: 50 })
      assert.strictEqual(global.response.status, 504)
      const error = ((await global.response.json()) as { error: Record<string, unknown> }).error
      assert.strictEqual(error.code, "timeout")
      assert.strictEqual(error.type, "api_error")
      assert.isString(error.message)
      assert.notInclude(error.message as string, "127.0.0.1")
      assert.isBelow(global.ms, 5_000)
      assert.strictEqual(calls, 1, "num_retries: 0 from litellm_settings")
      calls = 0
      const own = await post({ model: "own", input: "x" })
      assert.strictEqual(own.response.status, 504)
      assert.strictEqual(((await own.response.json()) as { error: { code: string } }).error.code, "timeout")
      assert.isBelow(own.ms, 4_000)
      assert.isAtLeast(calls, 1)
      assert.isAtMost(calls, 2, "the deployment's num_retries: 1")
    } finally {
      behaviour = answer
      await gateway.close()
    }
  })

  it("what Node answers itself (a request that is not HTTP) is in OpenAI's error shape too", async () => {
    const gateway = await gatewayWith({})
    try {
      const socket = connect(gateway.port, "127.0.0.1")
      socket.end("NOT HTTP AT ALL\r\n\r\n")
      let raw = ""
      socket.on("data", (d) => {
        raw += d
      })
      await once(socket, "close")
      const [head = "", body = ""] = raw.split("\r\n\r\n")
      assert.match(head, /^HTTP\/1\.1 400 /)
      assert.include(head.toLowerCase(), "content-type: application/json")
      assert.strictEqual((JSON.parse(body) as { error: { code: string } }).error.code, "invalid_request")
    } finally {
      await gateway.close()
    }
  })

  it("rejects a bad deadline or retry count in the config, naming the field", async () => {
    const model_list = [{ model_name: "x", litellm_params: { model: "bedrock/amazon.titan-embed-text-v2:0" } }]
    for (const [raw, field] of [
      [{ model_list, litellm_settings: { request_timeout: -1 } }, "litellm_settings.request_timeout"],
      [{ model_list, router_settings: { num_retries: 1.5 } }, "router_settings.num_retries"],
      [{ model_list, general_settings: { max_in_flight_requests_per_worker: 0 } }, "max_in_flight_requests_per_worker"],
      [
        { model_list: [{ model_name: "x", litellm_params: { ...model_list[0]!.litellm_params, timeout: "soon" } }] },
        "model_list[0].litellm_params.timeout"
      ]
    ] as const) {
      const error = await Effect.runPromise(Effect.flip(Config.decode(raw, {})))
      assert.include(error.message, field)
    }
  })
})

describe("admission control", () => {
  it("max_in_flight_requests_per_worker: 2 — the third concurrent request gets 429 with retry-after", async () => {
    behaviour = (req, res, body) => setTimeout(() => answer(req, res, body), 800)
    const gateway = await gatewayWith({ general_settings: { max_in_flight_requests_per_worker: 2 } })
    try {
      const post = () =>
        fetch(`${gateway.url}/v1/embeddings`, {
          method: "POST",
          body: JSON.stringify({ model: "titan", input: "x", dimensions: 256 })
        })
      calls = 0
      const first = [post(), post()]
      while (calls < 2) await sleep(10)
      const third = await post()
      assert.strictEqual(third.status, 429)
      assert.strictEqual(third.headers.get("retry-after"), "1")
      const error = ((await third.json()) as { error: Record<string, unknown> }).error
      assert.deepStrictEqual(
        { type: error.type, code: error.code, param: error.param },
        { type: "rate_limit_error", code: "gateway_busy", param: null }
      )
      assert.include(error.message as string, "requests in flight")
      assert.deepStrictEqual(
        (await Promise.all(first)).map((r) => r.status),
        [200, 200]
      )
      assert.strictEqual(calls, 2, "the refused request made no Bedrock call")
      assert.strictEqual((await post()).status, 200, "admitted again once the first two finished")
    } finally {
      behaviour = answer
      await gateway.close()
    }
  })

  it("max_request_bytes_in_flight: declared lengths count on admission, chunked bodies as they arrive", async () => {
    const gateway = await gatewayWith({
      general_settings: { max_request_body_bytes: 200_000, max_request_bytes_in_flight: 300_000 }
    })
    const piece = Buffer.alloc(10_000, "x")
    const holder = new AbortController()
    try {
      // A slow client holds 200 KB (declared) of the 300 KB while it sends.
      const held = Http.request(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-length": "200000" },
        signal: holder.signal
      })
      held.on("error", () => {})
      held.write(piece)
      await once(held, "socket")
      await sleep(300)
      const declared = await send(gateway.url, { total: 150_000, piece, headers: { "content-length": "150000" } })
      assert.strictEqual(declared.status, 429)
      assert.strictEqual(declared.headers["retry-after"], "1")
      assert.strictEqual(errorOf(declared).code, "gateway_busy")
      assert.include(errorOf(declared).message, "request bytes in flight", "the bound that was passed")
      // A chunked body is admitted (it declares nothing) and refused once its bytes pass the bound.
      const chunked = await send(gateway.url, { total: 150_000, piece, first: '{"input":"' })
      assert.strictEqual(chunked.status, 429)
      assert.include(errorOf(chunked).message, "request bytes in flight")
      holder.abort()
      // 150 KB declared again (JSON padded with whitespace): it fits only once the 200 KB are released.
      const padded = `${JSON.stringify({ model: "titan", input: "x".repeat(1_000), dimensions: 256 })}${" ".repeat(148_000)}`
      let admitted = 429
      for (let i = 0; i < 20 && admitted === 429; i++) {
        if (i > 0) await sleep(100)
        admitted = (await fetch(`${gateway.url}/v1/embeddings`, { method: "POST", body: padded })).status
      }
      assert.strictEqual(admitted, 200, "admitted again once the slow client left")
    } finally {
      holder.abort()
      await gateway.close()
    }
  })
})

describe("no secret or internal host in what a client sees", () => {
  const secrets = ["PASSWORD-7f3a9c", "AKIA-SECRET-55", "SECRET-ACCESS-4b1d", "sk-master-0d15ea5e", "svc-user"]

  it("503 and 502 bodies, headers, and the gateway's stdout and stderr hold none of them", async () => {
    const closed = Http.createServer()
    closed.listen(0, "127.0.0.1")
    await once(closed, "listening")
    const closedPort = (closed.address() as AddressInfo).port
    closed.close()
    const upstreamPort = new URL(upstreamUrl).port
    // An upstream that quotes what it was sent: the signature (with the access key id) and its host.
    behaviour = (req, res) => {
      res.writeHead(403, { "content-type": "application/json", "x-amzn-errortype": "AccessDeniedException" })
      res.end(JSON.stringify({ message: `Denied ${req.headers.authorization} at ${req.headers.host}` }))
    }
    const dir = await mkdtemp(join(tmpdir(), "bedrock-embed-hostile-"))
    const file = join(dir, "config.yaml")
    const deployment = (alias: string, port: string | number) =>
      [
        `  - model_name: ${alias}`,
        "    litellm_params:",
        "      model: bedrock/amazon.titan-embed-text-v2:0",
        "      aws_region_name: us-east-1",
        `      aws_bedrock_runtime_endpoint: http://svc-user:PASSWORD-7f3a9c@localhost:${port}`,
        "      aws_access_key_id: AKIA-SECRET-55",
        "      aws_secret_access_key: SECRET-ACCESS-4b1d",
        "      num_retries: 0"
      ].join("\n")
    await writeFile(
      file,
      `model_list:\n${deployment("refused", closedPort)}\n${deployment("quoting", upstreamPort)}\ngeneral_settings:\n  master_key: sk-master-0d15ea5e\n`
    )
    const child = bedrockEmbed(["serve", "--config", file, "--port", "0"])
    let err = ""
    child.stderr!.on("data", (d) => {
      err += d
    })
    try {
      const { url, out: banner } = await listening(child)
      assert.include(banner, "unsupported params: refused with 400")
      assert.include(banner, "512 requests and 100 MB of bodies in flight")
      let logs = ""
      child.stdout!.on("data", (d) => {
        logs += d
      })
      const seen: Array<string> = []
      const post = async (body: Record<string, unknown>, key = "sk-master-0d15ea5e") => {
        const response = await fetch(`${url}/v1/embeddings`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify(body)
        })
        const text = await response.text()
        seen.push(text, JSON.stringify([...response.headers]))
        return { status: response.status, text }
      }
      const refused = await post({ model: "refused", input: "x" })
      assert.strictEqual(refused.status, 503)
      assert.include(JSON.parse(refused.text).error.message, "<upstream>")
      const quoting = await post({ model: "quoting", input: "x" })
      assert.strictEqual(quoting.status, 502)
      assert.strictEqual((await post({ model: "refused", input: "x" }, "sk-wrong")).status, 401)
      assert.strictEqual((await post({ model: "nothing", input: "x" })).status, 404)
      await sleep(200)
      const client = seen.join("\n")
      for (const hidden of [...secrets, "localhost", "127.0.0.1", "::1", `:${closedPort}`, `:${upstreamPort}`]) {
        assert.notInclude(client, hidden, `a client saw ${hidden}`)
      }
      const operator = `${banner}\n${logs}\n${err}`
      for (const hidden of secrets) assert.notInclude(operator, hidden, `the operator's output holds ${hidden}`)
      // The operator's log still says which upstream failed.
      const lines = logs
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { status: number; detail?: string })
      assert.include(lines.find((l) => l.status === 503)?.detail ?? "", `localhost:${closedPort}`)
    } finally {
      behaviour = answer
      child.kill("SIGTERM")
      await once(child, "exit")
    }
  })

  it("redaction: clients see no URL, configured host, address, account id or secret; the log keeps hosts", () => {
    const redact = HttpErrors.redaction(
      ["AKIA-SECRET-55"],
      ["http://svc-user:PASSWORD-7f3a9c@bedrock.internal.corp:8443/prefix", "http://gw:80"]
    )
    const messages = [
      "Could not reach Bedrock at http://svc-user:PASSWORD-7f3a9c@bedrock.internal.corp:8443/prefix: ECONNREFUSED",
      "getaddrinfo ENOTFOUND bedrock.internal.corp; connect ECONNREFUSED 10.1.2.3:8443, [fd00::1]:8443",
      "Denied Credential=AKIA-SECRET-55/20261201/us-east-1/bedrock/aws4_request at gw:80",
      "User: arn:aws:iam::123456789012:user/ops is not authorized"
    ]
    const client = messages.map(redact.forClient).join("\n")
    for (const hidden of [...secrets, "bedrock.internal.corp", "10.1.2.3", "fd00::1", "gw:80", "123456789012"]) {
      assert.notInclude(client, hidden)
    }
    assert.include(client, "Could not reach Bedrock at <upstream>: ECONNREFUSED")
    const log = messages.map(redact.forLog).join("\n")
    for (const hidden of secrets) assert.notInclude(log, hidden)
    assert.include(log, "bedrock.internal.corp:8443")
  })

  it("a YAML syntax error names its line and column, not the line's content", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bedrock-embed-hostile-"))
    const file = join(dir, "broken.yaml")
    await writeFile(
      file,
      [
        "model_list:",
        "  - model_name: x",
        "    litellm_params:",
        "      model: bedrock/amazon.titan-embed-text-v2:0",
        "      aws_secret_access_key: PASSWORD-7f3a9c: AKIA-SECRET-55",
        ""
      ].join("\n")
    )
    const { code, out, err } = await finish(bedrockEmbed(["serve", "--config", file, "--port", "0"]))
    assert.strictEqual(code, 1)
    assert.include(err, "is not valid YAML")
    assert.include(err, "line 5, column")
    for (const hidden of secrets) assert.notInclude(`${out}\n${err}`, hidden)
  })
})

describe("the demo gateway (no config) says what it does", () => {
  let emulator: Awaited<ReturnType<typeof startEmulator>>
  beforeAll(async () => {
    emulator = await startEmulator()
  })
  afterAll(async () => {
    await emulator.close()
  })

  it("refuses a parameter the model lacks, as the library does, and serves the README's examples", async () => {
    const gateway = await Server.start({
      config: Config.everyModel({
        aws_region_name: emulator.region,
        aws_bedrock_runtime_endpoint: emulator.url,
        aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
        aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
      }),
      port: 0,
      log: () => {}
    })
    try {
      const post = (body: Record<string, unknown>) =>
        fetch(`${gateway.url}/v1/embeddings`, { method: "POST", body: JSON.stringify(body) })
      const refused = await post({ model: "cohere.embed-english-v3", input: ["hello"], dimensions: 256 })
      const error = ((await refused.json()) as { error: { message: string; code: string } }).error
      assert.strictEqual(refused.status, 400, error.message)
      assert.include(error.message, "dimensions")
      assert.include(error.message, "drop_params")
      const titan = await post({ model: "amazon.titan-embed-text-v2:0", input: ["hello", "world"], dimensions: 256 })
      assert.strictEqual(titan.status, 200)
      assert.lengthOf(((await titan.json()) as { data: Array<{ embedding: Array<number> }> }).data[1]!.embedding, 256)
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 })
      const { data } = await openai.embeddings.create({ model: "cohere.embed-english-v3", input: ["hello"] })
      assert.lengthOf(data[0]!.embedding, 1024)
    } finally {
      await gateway.close()
    }
  })
})
