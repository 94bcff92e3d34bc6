/**
 * The adaptive limiter: its AIMD arithmetic, and that its permits (an Effect semaphore resized
 * with the limit) bound the calls in flight. Concurrency is counted with Refs and each call is
 * held by its own Deferred, so nothing depends on timing.
 */
import { Limiter } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"

/** Lets forked fibers (and the semaphore's scheduled wake-ups) run until nothing moves. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/** `count` calls through the limiter; each enters, records itself and waits for its own gate. */
const startCalls = (limiter: Limiter.Limiter, count: number) =>
  Effect.gen(function* () {
    const running = yield* Ref.make(0)
    const peak = yield* Ref.make(0)
    const gates = yield* Effect.forEach(Array.from({ length: count }), () => Deferred.make<void>())
    const entered: Array<Deferred.Deferred<void>> = []
    const fibers = yield* Effect.forEach(gates, (gate) =>
      Effect.forkChild(
        limiter.withPermit(
          Effect.gen(function* () {
            entered.push(gate)
            const now = yield* Ref.updateAndGet(running, (n) => n + 1)
            yield* Ref.update(peak, (p) => Math.max(p, now))
            yield* Deferred.await(gate)
            yield* Ref.update(running, (n) => n - 1)
          })
        )
      )
    )
    /** Lets the `n` oldest calls that entered finish. */
    const finish = (n: number) =>
      Effect.forEach(entered.splice(0, n), (gate) => Deferred.succeed(gate, undefined), { discard: true })
    /** Lets every call finish, those still waiting included. */
    const finishAll = Effect.forEach(gates, (gate) => Deferred.succeed(gate, undefined), { discard: true })
    return { running: Ref.get(running), peak: Ref.get(peak), finish, finishAll, fibers }
  })

describe("Limiter (math)", () => {
  it("grows about one per round of successes before the first throttle, within max", () => {
    const limiter = Limiter.make({ initial: 4, max: 6 })
    for (let i = 0; i < 4; i++) limiter.onSuccess()
    assert.closeTo(limiter.limit(), 5, 0.1)
    for (let i = 0; i < 100; i++) limiter.onSuccess()
    assert.strictEqual(limiter.limit(), 6)
  })

  it("halves on a throttle without a measured rate, once per cooldown, never below min", () => {
    const limiter = Limiter.make({ initial: 10, min: 3, cooldownMs: 60_000 })
    limiter.onThrottle()
    limiter.onThrottle()
    assert.strictEqual(limiter.limit(), 5)
    assert.strictEqual(limiter.decreases(), 1)
    const floor = Limiter.make({ initial: 4, min: 3 })
    floor.onThrottle()
    assert.strictEqual(floor.limit(), 3)
  })

  it("does not grow while congested, inside the cooldown", () => {
    const limiter = Limiter.make({ initial: 8, cooldownMs: 60_000, increaseIntervalMs: 0 })
    limiter.onThrottle()
    for (let i = 0; i < 50; i++) limiter.onSuccess()
    assert.strictEqual(limiter.limit(), 4)
  })

  it("clamps the initial limit into [min, max]", () => {
    assert.strictEqual(Limiter.make({ initial: 100, max: 10 }).limit(), 10)
    assert.strictEqual(Limiter.make({ initial: 0 }).limit(), 1)
    assert.strictEqual(Limiter.make({ initial: 2, min: 5 }).limit(), 5)
  })
})

describe("Limiter (permits)", () => {
  it.effect("never has more calls in flight than the limit", () =>
    Effect.gen(function* () {
      const limiter = Limiter.make({ initial: 3, max: 3 })
      const calls = yield* startCalls(limiter, 10)
      yield* settle
      assert.strictEqual(yield* calls.running, 3)
      assert.strictEqual(limiter.inFlight(), 3)
      // Each finished call lets exactly one waiting call in.
      for (let left = 10; left > 3; left--) {
        yield* calls.finish(1)
        yield* settle
        assert.strictEqual(yield* calls.running, 3)
      }
      yield* calls.finishAll
      yield* Fiber.joinAll(calls.fibers)
      assert.strictEqual(yield* calls.peak, 3)
      assert.strictEqual(limiter.inFlight(), 0)
    })
  )

  it.effect("a higher limit lets waiting calls in at once; a cut holds new calls until enough finish", () =>
    Effect.gen(function* () {
      const limiter = Limiter.make({ initial: 2, max: 8, cooldownMs: 60_000 })
      const calls = yield* startCalls(limiter, 8)
      yield* settle
      assert.strictEqual(yield* calls.running, 2)
      // Additive increase, +1/limit per success: three successes take 2 to 3.24.
      limiter.onSuccess()
      limiter.onSuccess()
      yield* settle
      assert.strictEqual(yield* calls.running, 2, "2.9 is still two permits")
      limiter.onSuccess()
      assert.strictEqual(Math.floor(limiter.limit()), 3)
      yield* settle
      assert.strictEqual(yield* calls.running, 3, "the resize woke one waiting call")
      while (Math.floor(limiter.limit()) < 4) limiter.onSuccess()
      yield* settle
      assert.strictEqual(yield* calls.running, 4)
      // A throttle with no measured latency halves the limit: 4.x → 2.x. The four calls in
      // flight keep their permits; no new call starts until fewer than two are in flight.
      limiter.onThrottle()
      assert.strictEqual(Math.floor(limiter.limit()), 2)
      yield* calls.finish(1)
      yield* settle
      assert.strictEqual(yield* calls.running, 3)
      yield* calls.finish(1)
      yield* settle
      assert.strictEqual(yield* calls.running, 2)
      yield* calls.finish(1)
      yield* settle
      assert.strictEqual(yield* calls.running, 2, "one finished, one started: back at the limit")
      yield* calls.finishAll
      yield* Fiber.joinAll(calls.fibers)
      assert.strictEqual(yield* calls.peak, 4)
      assert.strictEqual(limiter.inFlight(), 0)
    })
  )

  it.effect("an interrupted waiting call leaves the queue; an interrupted running call frees its permit", () =>
    Effect.gen(function* () {
      const limiter = Limiter.make({ initial: 1, max: 1 })
      const calls = yield* startCalls(limiter, 3)
      yield* settle
      assert.strictEqual(yield* calls.running, 1)
      // Interrupt the running call (the first fiber holds the permit) and a waiting one.
      yield* Fiber.interrupt(calls.fibers[0]!)
      yield* Fiber.interrupt(calls.fibers[1]!)
      yield* settle
      assert.strictEqual(limiter.inFlight(), 1, "the third call got the freed permit")
      yield* calls.finishAll
      yield* Fiber.join(calls.fibers[2]!)
      assert.strictEqual(limiter.inFlight(), 0)
    })
  )
})
