/**
 * The engine under upstream faults, against node:http stand-ins written here (not the emulator's
 * happy path): response size bounds, deadlines per attempt and over all retries, what is retried
 * and what is split input by input, and Bedrock's retry-after hints.
 */
import * as Http from "node:http"
import { EmbeddingRequest, Embeddings, type Errors } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Stream } from "effect"

interface Arrival {
  /** `Date.now()` when the request's body had arrived. */
  readonly at: number
  readonly json: unknown
}

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, arrival: Arrival, n: number) => void

interface StandIn {
  readonly url: string
  readonly arrivals: Array<Arrival>
  /** Connections the client closed or the server saw end. */
  readonly closedConnections: () => number
}

/** A Bedrock stand-in that answers each request as `handler` says, recording when it came. */
const standIn = (handler: Handler) =>
  Effect.gen(function* () {
    const arrivals: Array<Arrival> = []
    let closed = 0
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const arrival = { at: Date.now(), json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }
        arrivals.push(arrival)
        handler(req, res, arrival, arrivals.length)
      })
    })
    server.on("connection", (socket) => socket.on("close", () => closed++))
    const port = yield* listen(server)
    return { url: `http://127.0.0.1:${port}`, arrivals, closedConnections: () => closed } satisfies StandIn
  })

const params = (server: StandIn) => ({
  aws_bedrock_runtime_endpoint: server.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: "AKIDSTANDIN",
  aws_secret_access_key: "stand-in-secret"
})

const TITAN = "bedrock/amazon.titan-embed-text-v2:0"
const COHERE = "bedrock/cohere.embed-english-v3"

const titanBody = (dimensions = 256) =>
  JSON.stringify({ embedding: Array.from({ length: dimensions }, (_, i) => i / dimensions), inputTextTokenCount: 3 })

const cohereBody = (texts: number) =>
  JSON.stringify({
    id: "standin",
    response_type: "embeddings_floats",
    embeddings: Array.from({ length: texts }, () => Array.from({ length: 1024 }, (_, i) => i / 1024))
  })

const json = (res: Http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) =>
  res
    .writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers })
    .end(body)

const awsError = (res: Http.ServerResponse, status: number, name: string, extra: Record<string, string> = {}) =>
  json(res, status, JSON.stringify({ message: `stand-in ${name}` }), {
    "x-amzn-errortype": `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    ...extra
  })

/** Runs `f` with an engine of the given options. */
const withEngine = <A>(options: BedrockEmbed.Options, f: (engine: Embeddings.Service) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    return yield* f(yield* Embeddings.Embeddings)
  }).pipe(Effect.provide(BedrockEmbed.layer(options)))

const fast = { retryBaseDelay: "1 millis", maxRetryDelay: "5 millis" } as const

const failure = (effect: Effect.Effect<unknown, Errors.EmbeddingError>) => Effect.flip(effect)

const texts = (n: number) => Array.from({ length: n }, (_, i) => `document ${i}`)

describe("response size", () => {
  it.live("a 200 declaring a 1 TB content-length fails the call with ResponseDecodeError, before allocating", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000000000000" })
        res.write('{"embedding":[')
      })
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) }))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.include(error.message, "declared 1000000000000 bytes")
      assert.include(error.message, `over the ${64 * 1024 * 1024}-byte limit`)
      assert.include(error.message, "maxResponseBytes")
      assert.include(error.message, "max_response_bytes")
      assert.strictEqual(server.arrivals.length, 1, "not retried: the same answer would come back")
      // The process is alive and the engine still serves.
    }).pipe(Effect.scoped)
  )

  it.live("an endless chunked body is cut at max_response_bytes and its socket destroyed", () =>
    Effect.gen(function* () {
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      let written = 0
      const server = yield* standIn((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length
          if (!res.destroyed) res.once("drain", pump)
        }
        pump()
      })
      const started = Date.now()
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(
          engine.embed({ model: TITAN, input: "x", dimensions: 256, max_response_bytes: 1_000_000, ...params(server) })
        )
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.include(error.message, "sent more than 1000000 bytes")
      assert.isBelow(Date.now() - started, 5_000, "cut as the bytes arrived, not at the attempt's timeout")
      yield* Effect.sleep("100 millis")
      assert.strictEqual(server.closedConnections(), 1, "the connection was destroyed, not drained")
      assert.isBelow(written, 50_000_000)
    }).pipe(Effect.scoped)
  )

  it.live("the engine's maxResponseBytes bounds a declared length too; a body within it is read", () =>
    Effect.gen(function* () {
      const body = titanBody()
      const server = yield* standIn((_req, res) => json(res, 200, body))
      const small = Buffer.byteLength(body) - 1
      const error = yield* withEngine({ engine: { ...fast, maxResponseBytes: small } }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) }))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.include(error.message, `declared ${small + 1} bytes`)
      const ok = yield* withEngine({ engine: { ...fast, maxResponseBytes: small + 1 } }, (engine) =>
        engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) })
      )
      assert.strictEqual(ok.data[0]!.embedding.length, 256)
    }).pipe(Effect.scoped)
  )
})

describe("deadlines", () => {
  it.live("one attempt's deadline covers the body: a body trickled a byte every 400 ms times out", () =>
    Effect.gen(function* () {
      const body = titanBody()
      const server = yield* standIn((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        let at = 0
        const timer = setInterval(() => {
          if (res.destroyed || at >= body.length) return clearInterval(timer)
          res.write(body[at++]!)
        }, 400)
        res.on("close", () => clearInterval(timer))
      })
      const started = Date.now()
      const error = yield* withEngine(
        { engine: { ...fast, maxRetries: 0 }, transport: { requestTimeoutMs: 1_000 } },
        (engine) => failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) }))
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "ModelTimeoutError")
      assert.isAtLeast(elapsed, 900)
      assert.isBelow(elapsed, 2_500)
    }).pipe(Effect.scoped)
  )

  it.live("a request's timeout bounds every attempt and backoff: a hang with timeout 1 fails in about 1 s", () =>
    Effect.gen(function* () {
      const server = yield* standIn(() => {
        // Never answers.
      })
      const started = Date.now()
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, timeout: 1, ...params(server) }))
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "ModelTimeoutError")
      assert.isAtLeast(elapsed, 950)
      assert.isBelow(elapsed, 2_000)
      assert.strictEqual(server.arrivals.length, 1)
      const timeout = error as Errors.ModelTimeoutError
      assert.strictEqual(timeout.deadlineMs, 1_000)
      assert.strictEqual(timeout.attempts, 1)
      assert.isFalse(timeout.retryable, "the engine spent the budget; nobody should retry it again")
      assert.include(timeout.message, "within 1 s, after 1 attempt")
      assert.include(timeout.message, "the request's timeout, in seconds")
      yield* Effect.sleep("100 millis")
      assert.strictEqual(server.closedConnections(), 1, "the abandoned attempt's request was aborted upstream")
    }).pipe(Effect.scoped)
  )

  it.live("the engine's totalTimeout bounds a call whose attempts each time out, retries and all", () =>
    Effect.gen(function* () {
      const server = yield* standIn(() => {
        // Never answers.
      })
      const started = Date.now()
      const error = yield* withEngine(
        { engine: { ...fast, totalTimeout: "1 second" }, transport: { requestTimeoutMs: 300 } },
        (engine) => failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) }))
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "ModelTimeoutError")
      assert.isBelow(elapsed, 1_800, "not 9 attempts of 300 ms")
      assert.isAtLeast(server.arrivals.length, 2, "attempts that timed out were retried within the deadline")
      assert.isAtMost(server.arrivals.length, 4)
      assert.include(error.message, "totalTimeout")
      assert.include(error.message, "the last failure was ModelTimeoutError")
    }).pipe(Effect.scoped)
  )

  it.live("a request's timeout is one deadline for all of its calls, and num_retries still bounds them", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => awsError(res, 503, "ServiceUnavailableException"))
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(
          engine.embed({ model: TITAN, input: "x", dimensions: 256, timeout: 5, num_retries: 2, ...params(server) })
        )
      )
      assert.strictEqual(error._tag, "ServiceUnavailableError")
      assert.strictEqual(server.arrivals.length, 3, "the call and two retries, well within the deadline")
    }).pipe(Effect.scoped)
  )
})

describe("what is retried, what is split", () => {
  const streamItems = (engine: Embeddings.Service, server: StandIn, n: number, extra: Record<string, unknown> = {}) =>
    Stream.runCollect(engine.embedStream({ model: COHERE, ...params(server), ...extra }, Stream.fromIterable(texts(n))))

  it.live("AccessDenied on a stream group of 96 is one call, not 97: every input gets the error", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => awsError(res, 403, "AccessDeniedException"))
      const items = yield* withEngine({ engine: fast }, (engine) => streamItems(engine, server, 96))
      assert.strictEqual(server.arrivals.length, 1)
      assert.strictEqual(items.length, 96)
      assert.deepStrictEqual(
        items.map((item) => item.index),
        Array.from({ length: 96 }, (_, i) => i)
      )
      assert.isTrue(items.every((item) => "error" in item && item.error._tag === "AccessDeniedError"))
    }).pipe(Effect.scoped)
  )

  it.live("a 5xx past its retries fails the group without splitting it", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => awsError(res, 500, "InternalServerException"))
      const items = yield* withEngine({ engine: fast }, (engine) => streamItems(engine, server, 96, { num_retries: 1 }))
      assert.strictEqual(server.arrivals.length, 2, "the call and its one retry")
      assert.isTrue(items.every((item) => "error" in item && item.error._tag === "ServiceUnavailableError"))
    }).pipe(Effect.scoped)
  )

  it.live("a 400 ValidationException may be one input's fault: the group is split and the rest delivered", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res, arrival) => {
        const sent = (arrival.json as { texts: Array<string> }).texts
        if (sent.includes("document 7")) return awsError(res, 400, "ValidationException")
        json(res, 200, cohereBody(sent.length))
      })
      const items = yield* withEngine({ engine: fast }, (engine) => streamItems(engine, server, 96))
      assert.strictEqual(server.arrivals.length, 97, "the group, then each input alone")
      assert.deepStrictEqual(
        items.filter((item) => "error" in item).map((item) => [item.index, "error" in item && item.error._tag]),
        [[7, "BedrockValidationError"]]
      )
    }).pipe(Effect.scoped)
  )

  it.live("a 200 with truncated JSON is re-sent: once cut short, then good, is a success in 2 calls", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res, _arrival, n) =>
        json(res, 200, n === 1 ? titanBody().slice(0, 100) : titanBody())
      )
      const response = yield* withEngine({ engine: fast }, (engine) =>
        engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) })
      )
      assert.strictEqual(server.arrivals.length, 2)
      assert.strictEqual(response.data[0]!.embedding.length, 256)
      assert.strictEqual(response._hidden_params.retries, 1)
      assert.strictEqual(response._hidden_params.throttles, 0, "a cut-short body is a retry, not a throttle")
    }).pipe(Effect.scoped)
  )

  it.live("the stream path re-sends a truncated body too", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res, arrival, n) => {
        const body = cohereBody((arrival.json as { texts: Array<string> }).texts.length)
        json(res, 200, n === 1 ? body.slice(0, body.length - 10) : body)
      })
      const items = yield* withEngine({ engine: fast }, (engine) => streamItems(engine, server, 96))
      assert.strictEqual(server.arrivals.length, 2)
      assert.isTrue(items.every((item) => "embedding" in item && item.embedding.length === 1024))
    }).pipe(Effect.scoped)
  )

  it.live("a body that is never JSON fails with ResponseDecodeError once num_retries re-sends are spent", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => json(res, 200, '{"embedding":[0.1,0.2'))
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, num_retries: 2, ...params(server) }))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.include(error.message, "not JSON")
      assert.strictEqual(server.arrivals.length, 3)
    }).pipe(Effect.scoped)
  )

  it.live("num_retries: 0 sends a body that is not JSON once", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => json(res, 200, "{"))
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, num_retries: 0, ...params(server) }))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.strictEqual(server.arrivals.length, 1)
    }).pipe(Effect.scoped)
  )

  it.live("valid JSON with a wrong-length vector is not re-sent: the same answer would come back", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res) => json(res, 200, titanBody(255)))
      const error = yield* withEngine({ engine: fast }, (engine) =>
        failure(engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) }))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.strictEqual(server.arrivals.length, 1)
    }).pipe(Effect.scoped)
  )
})

describe("retry-after on throttles", () => {
  /** The gap between the first two calls when the first is throttled with `headers`. */
  const gapAfter = (headers: () => Record<string, string>) =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res, _arrival, n) =>
        n === 1 ? awsError(res, 429, "ThrottlingException", headers()) : json(res, 200, titanBody())
      )
      yield* withEngine({ engine: fast }, (engine) =>
        engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) })
      )
      assert.strictEqual(server.arrivals.length, 2)
      return server.arrivals[1]!.at - server.arrivals[0]!.at
    }).pipe(Effect.scoped)

  it.live("retry-after: 2 (seconds) is honoured, jitter never cutting it", () =>
    Effect.map(
      gapAfter(() => ({ "retry-after": "2" })),
      (gap) => {
        assert.isAtLeast(gap, 1_990)
        assert.isBelow(gap, 4_000)
      }
    )
  )

  it.live("x-amz-retry-after: 1500 (milliseconds) is honoured", () =>
    Effect.map(
      gapAfter(() => ({ "x-amz-retry-after": "1500" })),
      (gap) => {
        assert.isAtLeast(gap, 1_490)
        assert.isBelow(gap, 3_500)
      }
    )
  )

  it.live("the backoff's jitter never cuts the wait below what Bedrock asked, throttle after throttle", () =>
    Effect.gen(function* () {
      const throttles = 6
      const server = yield* standIn((_req, res, _arrival, n) =>
        n <= throttles
          ? awsError(res, 429, "ThrottlingException", { "x-amz-retry-after": "300" })
          : json(res, 200, titanBody())
      )
      const response = yield* withEngine({ engine: fast }, (engine) =>
        engine.embed({ model: TITAN, input: "x", dimensions: 256, ...params(server) })
      )
      const gaps = server.arrivals.slice(1).map((arrival, i) => arrival.at - server.arrivals[i]!.at)
      assert.strictEqual(gaps.length, throttles)
      // The response counts them: every throttled attempt was a retry.
      assert.strictEqual(response._hidden_params.throttles, throttles)
      assert.strictEqual(response._hidden_params.retries, throttles)
      for (const gap of gaps) assert.isAtLeast(gap, 295, `gaps: ${gaps.join(", ")}`)
    }).pipe(Effect.scoped)
  )

  it.live("retry-after as an HTTP date is honoured", () =>
    Effect.map(
      gapAfter(() => ({ "retry-after": new Date(Date.now() + 3_000).toUTCString() })),
      (gap) => {
        // An HTTP date has whole seconds: the wait is between 2 and 3 s.
        assert.isAtLeast(gap, 1_900)
        assert.isBelow(gap, 4_500)
      }
    )
  )
})

describe("failover: a router steering a call's attempts (embedDecoded's failover option)", () => {
  it.live("each attempt goes where pick says, settled hears every outcome, and a move is not backed off", () =>
    Effect.gen(function* () {
      const throttling = yield* standIn((_req, res) => awsError(res, 429, "ThrottlingException"))
      const healthy = yield* standIn((_req, res) => json(res, 200, titanBody()))
      const picks: Array<[number, number | undefined]> = []
      const outcomes: Array<[number, string | undefined]> = []
      const failover: Embeddings.Failover = {
        others: [params(healthy)],
        pick: (attempt, previous) => {
          picks.push([attempt, previous])
          return attempt === 0 ? 0 : 1
        },
        settled: (index, error, ms) => {
          assert.isNumber(ms)
          outcomes.push([index, error?._tag])
          return error !== undefined
        }
      }
      // A backoff of a minute would outlast the request's 5 s deadline: the move must skip it.
      const slowBackoff = { retryBaseDelay: "60 seconds", maxRetryDelay: "60 seconds" } as const
      const response = yield* withEngine({ engine: slowBackoff }, (engine) =>
        Effect.flatMap(
          EmbeddingRequest.decode({ model: TITAN, input: "x", dimensions: 256, timeout: 5, ...params(throttling) }),
          (request) => engine.embedDecoded(request, { failover })
        )
      )
      assert.strictEqual(response.data.length, 1)
      assert.deepStrictEqual(picks, [
        [0, undefined],
        [1, 0]
      ])
      assert.deepStrictEqual(outcomes, [
        [0, "ThrottlingError"],
        [1, undefined]
      ])
      assert.strictEqual(throttling.arrivals.length, 1)
      assert.strictEqual(healthy.arrivals.length, 1)
      assert.strictEqual(response._hidden_params.retries, 1)
    }).pipe(Effect.scoped)
  )

  it.live("retries says which failures are tried again; num_retries still bounds them all", () =>
    Effect.gen(function* () {
      const a = yield* standIn((_req, res) => awsError(res, 403, "AccessDeniedException"))
      const b = yield* standIn((_req, res) => awsError(res, 403, "AccessDeniedException"))
      const failover: Embeddings.Failover = {
        others: [params(b)],
        pick: (attempt) => attempt % 2,
        settled: () => true,
        // Access denied is not retryable by itself; another account may have access.
        retries: (error) => error._tag === "AccessDeniedError"
      }
      const error = yield* withEngine({ engine: fast }, (engine) =>
        Effect.flatMap(
          EmbeddingRequest.decode({ model: TITAN, input: "x", dimensions: 256, num_retries: 3, ...params(a) }),
          (request) => Effect.flip(engine.embedDecoded(request, { failover }))
        )
      )
      assert.strictEqual(error._tag, "AccessDeniedError")
      assert.deepStrictEqual(
        [a.arrivals.length, b.arrivals.length],
        [2, 2],
        "4 attempts: 1 + num_retries 3, alternating"
      )
    }).pipe(Effect.scoped)
  )

  it.live("retries hears the engine's own verdict: a 200 whose body is not JSON is retryable", () =>
    Effect.gen(function* () {
      const server = yield* standIn((_req, res, _arrival, n) =>
        json(res, 200, n === 1 ? '{"embedding":[0.1,' : titanBody())
      )
      const verdicts: Array<[string, boolean]> = []
      const failover: Embeddings.Failover = {
        others: [],
        pick: () => 0,
        settled: () => false,
        retries: (error, _failures, retryable) => {
          verdicts.push([error._tag, retryable])
          return retryable
        }
      }
      const response = yield* withEngine({ engine: fast }, (engine) =>
        Effect.flatMap(
          EmbeddingRequest.decode({ model: TITAN, input: "x", dimensions: 256, ...params(server) }),
          (request) => engine.embedDecoded(request, { failover })
        )
      )
      assert.strictEqual(response.data.length, 1)
      // Asked once or more of the one failure (the first failure is replayed into the retry schedule).
      assert.deepStrictEqual(
        [...new Set(verdicts.map(([tag, retryable]) => `${tag} ${retryable}`))],
        ["ResponseDecodeError true"]
      )
      assert.strictEqual(server.arrivals.length, 2, "the cut-short body was sent again")
    }).pipe(Effect.scoped)
  )

  it.effect("describe says a request's model and vector length without a call", () =>
    withEngine({}, (engine) =>
      Effect.gen(function* () {
        const titan = yield* engine.describe(
          yield* EmbeddingRequest.decode({ model: TITAN, input: "x", dimensions: 512 })
        )
        assert.deepStrictEqual(titan, { modelId: "amazon.titan-embed-text-v2:0", dimensions: 512 })
        const cohere = yield* engine.describe(yield* EmbeddingRequest.decode({ model: COHERE, input: "x" }))
        assert.deepStrictEqual(cohere, { modelId: "cohere.embed-english-v3", dimensions: 1024 })
      })
    )
  )
})
