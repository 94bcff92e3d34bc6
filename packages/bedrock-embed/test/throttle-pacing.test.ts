/**
 * The engine's limiter hooks, against a node:http Bedrock stand-in written here: an isolated
 * throttle is re-sent at once (not after the throttle backoff), and a quota's congestion paces the
 * engine by the calls and the tokens the service accepted (the token counts Bedrock reports).
 * Outcomes are checked, not timings: the backoff is set far beyond the call's deadline, so only
 * a prompt re-send can succeed.
 */
import * as Http from "node:http"
import { Embeddings } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, Stream } from "effect"

const TITAN = "bedrock/amazon.titan-embed-text-v2:0"

/** A Titan stand-in: `refuse(n)` says whether the n-th call (from 1) is throttled. */
const standIn = (refuse: (n: number) => boolean) =>
  Effect.gen(function* () {
    let calls = 0
    const server = Http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        const n = ++calls
        const body = refuse(n)
          ? JSON.stringify({ message: "Too many requests, please wait before trying again." })
          : JSON.stringify({ embedding: Array.from({ length: 256 }, (_, i) => i / 256), inputTextTokenCount: 40 })
        res.writeHead(refuse(n) ? 429 : 200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-amzn-bedrock-input-token-count": "40",
          ...(refuse(n)
            ? {
                "x-amzn-errortype":
                  "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"
              }
            : {})
        })
        res.end(body)
      })
    })
    const port = yield* listen(server)
    return {
      params: {
        aws_bedrock_runtime_endpoint: `http://127.0.0.1:${port}`,
        aws_region_name: "us-east-1",
        aws_access_key_id: "AKIDSTANDIN",
        aws_secret_access_key: "stand-in-secret"
      },
      calls: () => calls
    }
  })

const withEngine = <A>(options: BedrockEmbed.Options, f: (engine: Embeddings.Service) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    return yield* f(yield* Embeddings.Embeddings)
  }).pipe(Effect.provide(BedrockEmbed.layer(options)))

describe("throttle pacing", () => {
  it.live("an isolated throttle is re-sent after about a call's latency, not the throttle backoff", () =>
    Effect.gen(function* () {
      // Every 20th call refused: isolated throttles. The backoff (a minute at least) is far past
      // the 10 s deadline, so only the limiter's prompt re-send lets every input through.
      const server = yield* standIn((n) => n % 20 === 0)
      const items = yield* withEngine(
        { engine: { retryBaseDelay: "30 seconds", totalTimeout: "10 seconds", concurrency: 4 } },
        (engine) =>
          Stream.runCollect(
            engine.embedStream(
              { model: TITAN, dimensions: 256, ...server.params },
              Stream.fromIterable(Array.from({ length: 100 }, (_, i) => `document ${i}`))
            )
          ).pipe(Effect.map((items) => ({ items, stats: engine.stats(), decreases: engine.limiter.decreases() })))
      )
      const errors = Array.from(items.items).filter((item) => "error" in item)
      assert.deepStrictEqual(errors, [], "every input embedded")
      assert.isAbove(items.stats.throttles, 3)
      assert.strictEqual(items.decreases, 0, "noise cuts nothing")
    }).pipe(Effect.scoped)
  )

  it.live("a quota's run of refusals paces the engine by the calls and tokens it accepted", () =>
    Effect.gen(function* () {
      // 30 calls accepted, then 10 refused, then accepted again: congestion once.
      const server = yield* standIn((n) => n > 30 && n <= 40)
      const result = yield* withEngine(
        { engine: { retryBaseDelay: "1 millis", maxRetryDelay: "5 millis", concurrency: 2, maxConcurrency: 2 } },
        (engine) =>
          Stream.runCollect(
            engine.embedStream(
              { model: TITAN, dimensions: 256, ...server.params },
              Stream.fromIterable(Array.from({ length: 40 }, (_, i) => `document ${i}`))
            )
          ).pipe(
            Effect.map((items) => ({ items, rates: engine.limiter.rates(), decreases: engine.limiter.decreases() }))
          )
      )
      assert.strictEqual(Array.from(result.items).filter((item) => "embedding" in item).length, 40)
      assert.isAtLeast(result.decreases, 1)
      assert.isTrue(Number.isFinite(result.rates.calls), "paced by calls")
      // 40 tokens per call, as Bedrock reported them: the token pace is 40 × the call pace.
      assert.closeTo(result.rates.tokens / result.rates.calls, 40, 0.5)
    }).pipe(Effect.scoped)
  )
})
