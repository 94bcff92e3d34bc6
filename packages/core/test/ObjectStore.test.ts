/**
 * The object store's client lifecycle against a local node:http server: one S3 client (one
 * keep-alive connection) per region/endpoint/identity, released when idle or with the layer, and
 * interrupting a read aborts it upstream.
 */
import * as Http from "node:http"
import { ObjectStore } from "@bedrock-embed/core"
import { listen } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Schedule, Scope } from "effect"

/** A server answering every request with `text` after `delayMs`, counting connections. */
const upstream = (delayMs: number, text = "hello") =>
  Effect.gen(function* () {
    const arrived = yield* Deferred.make<void>()
    const aborted = yield* Deferred.make<void>()
    let opened = 0
    let closed = 0
    const server = Http.createServer((req, res) => {
      req.resume()
      Deferred.doneUnsafe(arrived, Exit.void)
      const timer = setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end(text), delayMs)
      res.on("close", () => {
        clearTimeout(timer)
        if (!res.writableFinished) Deferred.doneUnsafe(aborted, Exit.void)
      })
    })
    server.on("connection", (socket) => {
      opened++
      socket.on("close", () => closed++)
    })
    const port = yield* listen(server)
    return { url: `http://127.0.0.1:${port}`, arrived, aborted, opened: () => opened, closed: () => closed }
  })

const target = (endpoint: string, identity: string): ObjectStore.Target => ({
  region: "us-east-1",
  endpoint,
  credentials: async () => ({ accessKeyId: `AKID${identity}`, secretAccessKey: "secret" }),
  cacheKey: `static:${identity}`
})

/** Polls until `done` holds (sockets close asynchronously), failing after two seconds. */
const eventually = (done: () => boolean) =>
  Effect.suspend(() => (done() ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry({ schedule: Schedule.spaced("10 millis") }),
    Effect.timeout("2 seconds")
  )

describe("ObjectStore", () => {
  it.live("reuses one client per region, endpoint and identity", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0)
      const store = yield* ObjectStore.make()
      assert.strictEqual(yield* store.getText("s3://bucket/a.json", target(server.url, "a")), "hello")
      yield* store.getText("s3://bucket/b.json", target(server.url, "a"))
      yield* store.put("s3://bucket/c.json", "{}", target(server.url, "a"))
      assert.strictEqual(server.opened(), 1, "one keep-alive connection: the same client")
      yield* store.getText("s3://bucket/a.json", target(server.url, "b"))
      assert.strictEqual(server.opened(), 2, "another identity, another client")
    }).pipe(Effect.scoped)
  )

  it.live("destroys an idle client after its idle time, and every client with the layer", () =>
    Effect.gen(function* () {
      const server = yield* upstream(0)
      const scope = yield* Scope.make()
      const store = yield* ObjectStore.make({ clientIdleTimeToLive: "50 millis" }).pipe(Scope.provide(scope))
      yield* store.getText("s3://bucket/a.json", target(server.url, "idle"))
      yield* eventually(() => server.closed() === 1)
      const longLived = yield* ObjectStore.make().pipe(Scope.provide(scope))
      yield* longLived.getText("s3://bucket/a.json", target(server.url, "kept"))
      assert.strictEqual(server.closed(), 1)
      yield* Scope.close(scope, Exit.void)
      yield* eventually(() => server.closed() === 2)
    }).pipe(Effect.scoped)
  )

  it.live("never releases a client during a call, however long the call", () =>
    Effect.gen(function* () {
      const server = yield* upstream(300)
      const store = yield* ObjectStore.make({ clientIdleTimeToLive: "20 millis" })
      const slow = target(server.url, "busy")
      const [a, b] = yield* Effect.all([store.getText("s3://bucket/a", slow), store.getText("s3://bucket/b", slow)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual([a, b], ["hello", "hello"])
      assert.strictEqual(server.closed(), 0, "no socket was cut mid-call")
    }).pipe(Effect.scoped)
  )

  it.live("interrupting a read in flight aborts the upstream request", () =>
    Effect.gen(function* () {
      const server = yield* upstream(10_000)
      const store = yield* ObjectStore.make()
      const fiber = yield* Effect.forkChild(store.getText("s3://bucket/slow.json", target(server.url, "a")))
      yield* Deferred.await(server.arrived)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(server.aborted).pipe(Effect.timeout("2 seconds"))
    }).pipe(Effect.scoped)
  )
})
