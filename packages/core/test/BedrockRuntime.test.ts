/**
 * The transport against a local node:http server: interrupting a call aborts its HTTP request
 * upstream, signers and clients are reused per region/endpoint/identity and released when idle,
 * and the connection pool closes with the layer.
 */
import { execFile } from "node:child_process"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { type AwsCredentials, BedrockRuntime } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Redacted, Scope } from "effect"

interface Upstream {
  readonly url: string
  /** Completes when a request has arrived (its method and path). */
  readonly arrived: Deferred.Deferred<string>
  /** Completes when a request was closed by the client before it was answered. */
  readonly aborted: Deferred.Deferred<void>
  /** Completes when a connection the server accepted was closed. */
  readonly connectionClosed: Deferred.Deferred<void>
  readonly answered: () => number
}

/** A server that answers every request with `body` after `delayMs`. */
const upstream = (delayMs: number, body = '{"embedding":[0.5]}') =>
  Effect.gen(function* () {
    const arrived = yield* Deferred.make<string>()
    const aborted = yield* Deferred.make<void>()
    const connectionClosed = yield* Deferred.make<void>()
    let answered = 0
    const server = Http.createServer((req, res) => {
      Deferred.doneUnsafe(arrived, Exit.succeed(`${req.method} ${req.url}`))
      const timer = setTimeout(() => {
        answered++
        res.writeHead(200, { "content-type": "application/json", "x-amzn-requestid": "req-1" }).end(body)
      }, delayMs)
      res.on("close", () => {
        clearTimeout(timer)
        if (!res.writableFinished) Deferred.doneUnsafe(aborted, Exit.void)
      })
    })
    server.on("connection", (socket) => socket.on("close", () => Deferred.doneUnsafe(connectionClosed, Exit.void)))
    const port = yield* listen(server)
    return {
      url: `http://127.0.0.1:${port}`,
      arrived,
      aborted,
      connectionClosed,
      answered: () => answered
    } satisfies Upstream
  })

const bearer: AwsCredentials.Auth = {
  _tag: "Bearer",
  token: Redacted.make("test-api-key"),
  source: "test",
  cacheKey: "bearer:test"
}

/** A SigV4 identity whose provider counts how often the signer asked it for credentials. */
const countingIdentity = (cacheKey: string) => {
  let fetched = 0
  const auth: AwsCredentials.Auth = {
    _tag: "SigV4",
    credentials: async () => {
      fetched++
      return { accessKeyId: "AKIDTEST", secretAccessKey: "secret" }
    },
    source: "test",
    cacheKey
  }
  return { auth, fetched: () => fetched }
}

const target = (endpoint: string, auth: AwsCredentials.Auth): BedrockRuntime.Target => ({
  region: "us-east-1",
  endpoint,
  auth
})

const invoke = (runtime: BedrockRuntime.Service, at: BedrockRuntime.Target) =>
  runtime.invokeModel({ modelId: "amazon.titan-embed-text-v2:0", body: '{"inputText":"hi"}', target: at })

describe("BedrockRuntime: interruption", () => {
  it.live("interrupting an InvokeModel in flight aborts the upstream request", () =>
    Effect.gen(function* () {
      const server = yield* upstream(10_000)
      const runtime = yield* BedrockRuntime.make()
      const fiber = yield* Effect.forkChild(invoke(runtime, target(server.url, bearer)))
      const request = yield* Deferred.await(server.arrived)
      assert.strictEqual(request, "POST /model/amazon.titan-embed-text-v2%3A0/invoke")
      yield* Fiber.interrupt(fiber)
      // The server sees the request closed long before it would have answered (10 s).
      yield* Deferred.await(server.aborted).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(server.answered(), 0)
    }).pipe(Effect.scoped)
  )

  it.live("interrupting an async-invoke call in flight aborts the upstream request (SDK path)", () =>
    Effect.gen(function* () {
      const server = yield* upstream(10_000, "{}")
      const runtime = yield* BedrockRuntime.make()
      const fiber = yield* Effect.forkChild(
        runtime.getAsyncInvoke({
          invocationArn: "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc",
          target: target(server.url, bearer)
        })
      )
      const request = yield* Deferred.await(server.arrived)
      assert.match(request, /^GET \/async-invoke\//)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(server.aborted).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(server.answered(), 0)
    }).pipe(Effect.scoped)
  )
})

describe("BedrockRuntime: signers and clients", () => {
  it.live("reuses one signer per region, endpoint and identity", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0)
      const runtime = yield* BedrockRuntime.make()
      const a = countingIdentity("static:a")
      const b = countingIdentity("static:b")
      const first = yield* invoke(runtime, target(server.url, a.auth))
      assert.strictEqual(new TextDecoder().decode(first.body), '{"embedding":[0.5]}')
      assert.strictEqual(first.requestId, "req-1")
      yield* invoke(runtime, target(server.url, a.auth))
      yield* Effect.all([invoke(runtime, target(server.url, a.auth)), invoke(runtime, target(server.url, a.auth))], {
        concurrency: "unbounded"
      })
      assert.strictEqual(a.fetched(), 1, "one signer, credentials memoised, for the same key")
      yield* invoke(runtime, target(server.url, b.auth))
      assert.strictEqual(b.fetched(), 1, "another identity has its own signer")
      assert.strictEqual(a.fetched(), 1)
    }).pipe(Effect.scoped)
  )

  it.live("keeps the 1024 most recently used signers", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0)
      const runtime = yield* BedrockRuntime.make()
      const kept = countingIdentity("static:kept")
      const dropped = countingIdentity("static:dropped")
      yield* invoke(runtime, target(server.url, dropped.auth))
      yield* invoke(runtime, target(server.url, kept.auth))
      const others = (from: number, count: number) =>
        Effect.forEach(
          Array.from({ length: count }, (_, i) => countingIdentity(`static:other-${from + i}`)),
          (other) => invoke(runtime, target(server.url, other.auth)),
          { concurrency: 16, discard: true }
        )
      yield* others(0, 1000)
      yield* invoke(runtime, target(server.url, kept.auth))
      yield* others(1000, 100)
      yield* invoke(runtime, target(server.url, kept.auth))
      yield* invoke(runtime, target(server.url, dropped.auth))
      assert.strictEqual(kept.fetched(), 1, "used recently: kept, credentials still memoised")
      assert.strictEqual(dropped.fetched(), 2, "least recently used: dropped, then made again")
    }).pipe(Effect.scoped)
  )

  it.live("releases an idle SDK client after its idle time", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0, "{}")
      const runtime = yield* BedrockRuntime.make({ clientIdleTimeToLive: "50 millis" })
      const identity = countingIdentity("static:sdk")
      const get = runtime.getAsyncInvoke({
        invocationArn: "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc",
        target: target(server.url, identity.auth)
      })
      yield* get
      yield* get
      assert.strictEqual(identity.fetched(), 1, "one client, its identity memoised")
      yield* Effect.sleep("250 millis")
      yield* get
      assert.strictEqual(identity.fetched(), 2, "the idle client was released, a new one resolved the identity")
    }).pipe(Effect.scoped)
  )
})

describe("BedrockRuntime: layer scope", () => {
  it.live("closes its connections when the layer's scope closes", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0)
      const scope = yield* Scope.make()
      const runtime = yield* BedrockRuntime.make().pipe(Scope.provide(scope))
      yield* invoke(runtime, target(server.url, bearer))
      // The keep-alive socket stays open while the transport lives…
      assert.isFalse(yield* Deferred.isDone(server.connectionClosed))
      yield* Scope.close(scope, Exit.void)
      // …and is closed with it.
      yield* Deferred.await(server.connectionClosed).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.scoped)
  )
})

describe("BedrockRuntime: lifecycle", () => {
  it("does not keep the process alive while an idle client waits to expire", async () => {
    // The transport's scope is never closed there; with Node's default (ref'd) timers the idle
    // timer would hold the process for the whole idle time (5 minutes).
    const script = fileURLToPath(new URL("./fixtures/scripts/idle-exit.ts", import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000 })
    assert.strictEqual(stdout.trim(), "done")
  })
})
