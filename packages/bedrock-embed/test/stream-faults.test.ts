/**
 * `embedStream` under a slow call, against node:http stand-ins written here: a call that hangs or
 * retries delays only its own results. The calls behind it are all sent, up to the reorder window
 * (`streamWindow`) and no further, the results still come out in input order, each once, and
 * interrupting the stream aborts the call still open. Assertions are on what the stand-in received
 * and what the stream emitted, not on timing.
 */
import * as Http from "node:http"
import { Embeddings } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Fiber, Stream } from "effect"

/** One InvokeModel call the stand-in received. */
interface Arrival {
  /** The doc numbers of the call's texts ("document <n>"). */
  readonly docs: ReadonlyArray<number>
  /** 1 for the first call carrying `docs[0]`, 2 for its first retry, … */
  readonly attempt: number
}

type Handler = (arrival: Arrival, res: Http.ServerResponse, arrivals: ReadonlyArray<Arrival>) => void

const docOf = (text: string) => Number(/^document (\d+)$/.exec(text)![1])

/** A Titan v2 / Cohere v3 stand-in answering each call as `handler` says, recording every arrival. */
const standIn = (handler: Handler) =>
  Effect.gen(function* () {
    const arrivals: Array<Arrival> = []
    const attempts = new Map<number, number>()
    let open = 0
    let maxOpen = 0
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { inputText?: string; texts?: Array<string> }
        const docs = (body.texts ?? [body.inputText!]).map(docOf)
        const attempt = (attempts.get(docs[0]!) ?? 0) + 1
        attempts.set(docs[0]!, attempt)
        const arrival = { docs, attempt }
        arrivals.push(arrival)
        maxOpen = Math.max(maxOpen, ++open)
        res.once("close", () => open--)
        handler(arrival, res, arrivals)
      })
    })
    const port = yield* listen(server)
    return { url: `http://127.0.0.1:${port}`, arrivals, maxOpen: () => maxOpen }
  })

type StandIn = Effect.Success<ReturnType<typeof standIn>>

const params = (server: StandIn) => ({
  aws_bedrock_runtime_endpoint: server.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: "AKIDSTANDIN",
  aws_secret_access_key: "stand-in-secret"
})

const json = (res: Http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) =>
  res
    .writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers })
    .end(body)

/** A vector that names its doc: `[doc, 1, 0, 0, …]`. */
const vector = (doc: number, dimensions: number) => [doc, 1, ...new Array<number>(dimensions - 2).fill(0)]

/** The good answer: Titan's shape for one doc, Cohere's for several. */
const answer = (res: Http.ServerResponse, { docs }: Arrival, cohere = false) =>
  json(
    res,
    200,
    cohere
      ? JSON.stringify({
          id: "standin",
          response_type: "embeddings_floats",
          embeddings: docs.map((d) => vector(d, 1024))
        })
      : JSON.stringify({ embedding: vector(docs[0]!, 256), inputTextTokenCount: 3 })
  )

const serverError = (res: Http.ServerResponse) =>
  json(res, 500, JSON.stringify({ message: "stand-in InternalServerException" }), {
    "x-amzn-errortype": "InternalServerException:http://internal.amazon.com/coral/com.amazon.bedrock/"
  })

/** Whether a doc's first attempt gets a 500: about 30 % of docs, fixed by the doc number. */
const faulty = (doc: number) => Math.imul(doc + 1, 0x9e3779b1) >>> 0 < 0.3 * 2 ** 32

const TITAN = "bedrock/amazon.titan-embed-text-v2:0"
const COHERE = "bedrock/cohere.embed-english-v3"
const docs = (n: number) => Array.from({ length: n }, (_, i) => `document ${i}`)
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

const withEngine = <A>(options: Embeddings.Options, f: (engine: Embeddings.Service) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    return yield* f(yield* Embeddings.Embeddings)
  }).pipe(
    Effect.provide(
      BedrockEmbed.layer({ engine: { retryBaseDelay: "1 millis", maxRetryDelay: "5 millis", ...options } })
    )
  )

/** Every item is a vector, in input order, each index once, each vector its own doc's. */
const assertInOrder = (items: ReadonlyArray<Embeddings.StreamItem>, n: number) => {
  assert.deepStrictEqual(
    items.map((item) => item.index),
    range(0, n)
  )
  for (const item of items) {
    assert.isTrue("embedding" in item, `input ${item.index} got ${"error" in item ? item.error.message : ""}`)
    if ("embedding" in item) assert.strictEqual(item.embedding[0], item.index, `input ${item.index}'s own vector`)
  }
}

/** The distinct docs sent so far, sorted. */
const sentDocs = (arrivals: ReadonlyArray<Arrival>) =>
  [...new Set(arrivals.flatMap((a) => a.docs))].sort((a, b) => a - b)

/** Waits (up to `ms`) until `done()` holds. */
const until = (done: () => boolean, ms = 5_000) =>
  Effect.gen(function* () {
    const end = Date.now() + ms
    while (!done() && Date.now() < end) yield* Effect.sleep("10 millis")
  })

describe("embedStream: no head-of-line stall", () => {
  it.live("a call held for 2 s delays only its own results: the whole window behind it is sent meanwhile", () =>
    Effect.gen(function* () {
      let sentWhileHeld: ReadonlyArray<number> = []
      let callsWhileHeld = 0
      const server = yield* standIn((arrival, res, arrivals) => {
        const [doc] = arrival.docs as [number]
        if (doc === 0) {
          setTimeout(() => {
            sentWhileHeld = sentDocs(arrivals)
            callsWhileHeld = arrivals.length
            answer(res, arrival)
          }, 2_000)
        } else if (arrival.attempt === 1 && faulty(doc)) serverError(res)
        else answer(res, arrival)
      })
      const items = yield* withEngine({ concurrency: 4, maxConcurrency: 4, streamWindow: 40 }, (engine) =>
        Stream.runCollect(
          engine.embedStream({ model: TITAN, dimensions: 256, ...params(server) }, Stream.fromIterable(docs(100)))
        )
      )
      // The window is 40 groups (one input each): doc 0 and the 39 behind it, every one sent
      // (their 500s retried) while doc 0 was held, and not one more.
      assert.deepStrictEqual(sentWhileHeld, range(0, 40))
      const faults = range(1, 40).filter(faulty).length
      assert.isAbove(faults, 0, "some of the window's calls failed first")
      assert.strictEqual(callsWhileHeld, 40 + faults, "each of the window's docs sent, and re-sent after its 500")
      assert.isAtMost(server.maxOpen(), 4, "calls in flight stay within maxConcurrency")
      assertInOrder(items, 100)
      assert.strictEqual(
        server.arrivals.length,
        100 + range(1, 100).filter(faulty).length,
        "nothing sent twice but retries"
      )
    }).pipe(Effect.scoped)
  )

  it.live("a call retried with a 1 s backoff delays only its own results: the window is sent before its retry", () =>
    Effect.gen(function* () {
      let sentBeforeRetry: ReadonlyArray<number> = []
      const server = yield* standIn((arrival, res, arrivals) => {
        if (arrival.docs[0] === 0 && arrival.attempt === 1) return serverError(res)
        if (arrival.docs[0] === 0) sentBeforeRetry = sentDocs(arrivals.slice(0, -1))
        answer(res, arrival)
      })
      const items = yield* withEngine(
        { concurrency: 4, maxConcurrency: 4, streamWindow: 40, retryBaseDelay: "1 second", maxRetryDelay: "1 second" },
        (engine) =>
          Stream.runCollect(
            engine.embedStream({ model: TITAN, dimensions: 256, ...params(server) }, Stream.fromIterable(docs(100)))
          )
      )
      assert.deepStrictEqual(sentBeforeRetry, range(0, 40), "the 39 docs behind doc 0 were sent before its retry")
      assert.deepStrictEqual(
        server.arrivals.filter((a) => a.docs[0] === 0).map((a) => a.attempt),
        [1, 2]
      )
      assertInOrder(items, 100)
    }).pipe(Effect.scoped)
  )

  it.live("the window counts inputs: Cohere groups of 96 with streamWindow 480 hold at most 5 groups", () =>
    Effect.gen(function* () {
      let groupsWhileHeld: ReadonlyArray<number> = []
      const server = yield* standIn((arrival, res, arrivals) => {
        if (arrival.docs[0] === 0)
          setTimeout(() => {
            groupsWhileHeld = arrivals.map((a) => a.docs[0]!)
            answer(res, arrival, true)
          }, 1_000)
        else answer(res, arrival, true)
      })
      const items = yield* withEngine({ concurrency: 2, maxConcurrency: 2, streamWindow: 480 }, (engine) =>
        Stream.runCollect(
          engine.embedStream(
            { model: COHERE, input_type: "search_document", ...params(server) },
            Stream.fromIterable(docs(1000))
          )
        )
      )
      assert.deepStrictEqual(groupsWhileHeld, [0, 96, 192, 288, 384], "five full groups, the held one first")
      assert.strictEqual(server.arrivals.length, 11)
      assertInOrder(items, 1000)
    }).pipe(Effect.scoped)
  )

  it.live("interrupting the stream aborts the held call and sends nothing more", () =>
    Effect.gen(function* () {
      let aborted = false
      const server = yield* standIn((arrival, res) => {
        if (arrival.docs[0] === 0) res.once("close", () => (aborted = !res.writableEnded))
        else answer(res, arrival)
      })
      yield* withEngine({ concurrency: 4, maxConcurrency: 4, streamWindow: 40 }, (engine) =>
        Effect.gen(function* () {
          const emitted: Array<number> = []
          const fiber = yield* Effect.forkChild(
            Stream.runForEach(
              engine.embedStream({ model: TITAN, dimensions: 256, ...params(server) }, Stream.fromIterable(docs(100))),
              (item) => Effect.sync(() => emitted.push(item.index))
            )
          )
          yield* until(() => server.arrivals.length === 40)
          assert.deepStrictEqual(sentDocs(server.arrivals), range(0, 40), "the window sent while doc 0 hangs")
          assert.deepStrictEqual(emitted, [], "nothing emitted ahead of doc 0")
          yield* Fiber.interrupt(fiber)
          yield* until(() => aborted, 2_000)
          assert.isTrue(aborted, "the held call's connection was closed by the client")
          yield* Effect.sleep("100 millis")
          assert.strictEqual(server.arrivals.length, 40, "no call sent after the interruption")
        })
      )
    }).pipe(Effect.scoped)
  )
})
