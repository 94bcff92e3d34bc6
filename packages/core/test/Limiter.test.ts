/**
 * The adaptive limiter: concurrency, the verdict on each throttle (noise, congestion, late), the
 * ceiling learnt from the accepted rate, the cubic recovery, and convergence under a simulated
 * fixed-window quota. Time is a fake clock (`now`) and, where calls wait, the TestClock: nothing
 * depends on real timing. Concurrency is counted with Refs and each call is held by its own
 * Deferred.
 */
import { Limiter } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"

/** A fake clock in milliseconds. */
const fakeClock = () => {
  let t = 0
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) }
}

/** `count` successes spread evenly over `[from, from + ms)`, each `tokens` tokens and `size` long. */
const accept = (
  limiter: Limiter.Limiter,
  clock: ReturnType<typeof fakeClock>,
  count: number,
  ms: number,
  tokens = 50,
  size = 200
) => {
  const step = ms / count
  for (let i = 0; i < count; i++) {
    clock.advance(step)
    limiter.onSuccess({ sentAt: clock.now() - 1, tokens, size })
  }
}

/** Six throttles of calls sent just now: six of the last ten answers refused, congestion. */
const congest = (limiter: Limiter.Limiter, clock: ReturnType<typeof fakeClock>) =>
  [0, 1, 2, 3, 4, 5].map(() => {
    clock.advance(1)
    return limiter.onThrottle(clock.now() - 1)
  })

describe("Limiter (concurrency)", () => {
  it("grows by one per success up to max, and throttles do not cut it", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 4, max: 10, now: clock.now })
    accept(limiter, clock, 3, 3)
    assert.strictEqual(limiter.limit(), 7)
    accept(limiter, clock, 100, 100)
    assert.strictEqual(limiter.limit(), 10)
    congest(limiter, clock)
    assert.strictEqual(limiter.decreases(), 1)
    assert.strictEqual(limiter.limit(), 10, "a quota is a rate: the cut is in the pace")
  })

  it("clamps the initial limit into [min, max]", () => {
    assert.strictEqual(Limiter.make({ initial: 100, max: 10 }).limit(), 10)
    assert.strictEqual(Limiter.make({ initial: 0 }).limit(), 1)
    assert.strictEqual(Limiter.make({ initial: 2, min: 5 }).limit(), 5)
  })
})

describe("Limiter (throttles)", () => {
  it("an isolated throttle among successes is noise: nothing is cut, however many there are", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, max: 64, now: clock.now })
    // 5 000 calls over ten seconds, every 50th throttled (2 %), the others accepted.
    for (let i = 0; i < 5000; i++) {
      clock.advance(2)
      if (i % 50 === 49) assert.strictEqual(limiter.onThrottle(clock.now() - 1), "noise")
      else limiter.onSuccess({ sentAt: clock.now() - 1 })
    }
    assert.strictEqual(limiter.decreases(), 0)
    assert.strictEqual(limiter.rates().calls, Number.POSITIVE_INFINITY, "never paced")
    assert.strictEqual(limiter.limit(), 64)
  })

  it("a few refusals arriving together (answered at once, ahead of slower successes) are noise", () => {
    const clock = fakeClock()
    const quiet = Limiter.make({ initial: 16, now: clock.now })
    for (let burst = 0; burst < 5; burst++) {
      accept(quiet, clock, 300, 1000)
      for (let i = 0; i < 4; i++) {
        clock.advance(1)
        assert.strictEqual(quiet.onThrottle(clock.now() - 1), "noise")
      }
    }
    assert.strictEqual(quiet.decreases(), 0)
  })

  it("scattered throttles are congestion once they pass 5 % of a window's answers", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    accept(limiter, clock, 300, 1000)
    // Every 10th call refused, never two in a row: a token bucket overdrawn by big calls.
    const verdicts: Array<Limiter.Verdict> = []
    for (let i = 1; i <= 100; i++) {
      clock.advance(3)
      if (i % 10 === 0) verdicts.push(limiter.onThrottle(clock.now() - 1))
      else limiter.onSuccess({ sentAt: clock.now() - 1, tokens: 50, size: 200 })
    }
    assert.deepStrictEqual(verdicts, [...Array(9).fill("noise"), "congestion"], "at the 100th answer, 10 % refused")
    assert.strictEqual(limiter.decreases(), 1)
  })

  it("six refusals in the last ten answers are congestion: the pace becomes 0.9 × the accepted rate, calls and tokens", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    // 300 calls of 50 tokens accepted over the first second: 300 calls/s, 15 000 tokens/s.
    accept(limiter, clock, 300, 1000)
    assert.deepStrictEqual(congest(limiter, clock), [...Array(5).fill("noise"), "congestion"])
    assert.strictEqual(limiter.decreases(), 1)
    const { calls, tokens } = limiter.rates()
    assert.closeTo(calls, 0.9 * 300, 3)
    assert.closeTo(tokens, 0.9 * 15_000, 150)
  })

  it("measures over two windows once it can, so a fixed window's double reading does not count", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    // A fixed window of 100 calls: 100 accepted late in one window, 100 early in the next — 200
    // within one second, 200 over two.
    accept(limiter, clock, 1, 1)
    clock.set(1500)
    accept(limiter, clock, 100, 500)
    accept(limiter, clock, 100, 500)
    congest(limiter, clock)
    assert.closeTo(limiter.rates().calls, 0.9 * 100, 2)
  })

  it("ignores throttles of calls sent before the last cut", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    accept(limiter, clock, 200, 1000)
    const sentBefore = clock.now()
    congest(limiter, clock)
    const pace = limiter.rates().calls
    for (let i = 0; i < 20; i++) assert.strictEqual(limiter.onThrottle(sentBefore), "late")
    assert.strictEqual(limiter.decreases(), 1)
    assert.strictEqual(limiter.rates().calls, pace)
  })

  it("while congested each further throttle halves the pace; the first success jumps back to 0.9 × the ceiling", () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    accept(limiter, clock, 400, 1000)
    congest(limiter, clock)
    const first = limiter.rates().calls
    for (let i = 1; i <= 3; i++) {
      clock.advance(5)
      assert.strictEqual(limiter.onThrottle(clock.now() - 1), "congestion")
      assert.closeTo(limiter.rates().calls, first / 2 ** i, 0.01)
    }
    clock.advance(5)
    limiter.onSuccess({ sentAt: clock.now() - 1 })
    assert.closeTo(limiter.rates().calls, first, 1)
  })
})

describe("Limiter (recovery)", () => {
  /** A limiter congested at 100 calls/s; the clock is at the moment of the cut. */
  const congested = () => {
    const clock = fakeClock()
    const limiter = Limiter.make({ initial: 16, now: clock.now })
    accept(limiter, clock, 200, 2000)
    congest(limiter, clock)
    limiter.onSuccess({ sentAt: clock.now() })
    return { clock, limiter, ceiling: limiter.rates().calls / 0.9 }
  }

  it("is back at the ceiling within about a second, stays near it, then probes above it ever faster", () => {
    const { clock, limiter, ceiling } = congested()
    const at = (ms: number) => {
      clock.advance(ms)
      return limiter.rates().calls / ceiling
    }
    // The default curve: back at the ceiling after cbrt(0.1 / 0.05) ≈ 1.26 s.
    const share = [at(500), at(760), at(240), at(1000), at(1000), at(1750)]
    assert.isAbove(share[0]!, 0.97, "half a second on: most of the way back already")
    assert.closeTo(share[1]!, 1, 0.001)
    assert.isBelow(share[2]!, 1.001, "flat around the ceiling")
    assert.isBelow(share[3]!, 1.1, "a second past it: still near it")
    assert.isAbove(share[4]!, 1.5, "two seconds past it: probing hard")
    assert.strictEqual(share[5], Number.POSITIVE_INFINITY, "unpaced again: the quota no longer binds")
  })

  it("does not grow back while congested", () => {
    const { clock, limiter } = congested()
    congest(limiter, clock)
    const pace = limiter.rates().calls
    clock.advance(10_000)
    assert.strictEqual(limiter.rates().calls, pace)
  })
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

/** Lets forked fibers (and the semaphore's scheduled wake-ups) run until nothing moves. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
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

  it.effect("a higher limit lets waiting calls in at once", () =>
    Effect.gen(function* () {
      const limiter = Limiter.make({ initial: 2, max: 8 })
      const calls = yield* startCalls(limiter, 8)
      yield* settle
      assert.strictEqual(yield* calls.running, 2)
      limiter.onSuccess()
      yield* settle
      assert.strictEqual(yield* calls.running, 3, "the resize woke one waiting call")
      limiter.onSuccess()
      limiter.onSuccess()
      yield* settle
      assert.strictEqual(yield* calls.running, 5)
      yield* calls.finishAll
      yield* Fiber.joinAll(calls.fibers)
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

describe("Limiter (a simulated fixed-window quota)", () => {
  class Throttled {
    readonly _tag = "Throttled"
  }

  it.effect("converges: few throttles, and the quota's windows nearly full", () =>
    Effect.gen(function* () {
      // 200 calls per 1 s window, 20 ms per call, 16 workers that would send 800/s unpaced; on
      // the TestClock, with the limiter on a clock that follows it.
      let t = 0
      const limiter = Limiter.make({ initial: 16, max: 16, now: () => t })
      const perWindow = 200
      let window = -1
      let inWindow = 0
      let accepted = 0
      let throttled = 0
      const perSecond: Array<number> = []
      const throttledPerSecond: Array<number> = []
      const call = Effect.suspend(() => {
        const current = Math.floor(t / 1000)
        if (current !== window) {
          window = current
          inWindow = 0
        }
        if (inWindow >= perWindow) {
          throttledPerSecond[current] = (throttledPerSecond[current] ?? 0) + 1
          throttled++
          return Effect.fail(new Throttled())
        }
        inWindow++
        perSecond[current] = (perSecond[current] ?? 0) + 1
        return Effect.as(Effect.sleep("20 millis"), 1)
      })
      const options = { isThrottle: (e: Throttled) => e._tag === "Throttled" }
      const worker = Effect.forever(
        limiter.withPermit(call, options).pipe(
          Effect.tap(() => Effect.sync(() => accepted++)),
          Effect.catch(() => Effect.void)
        )
      )
      const fibers = yield* Effect.forEach(Array.from({ length: 16 }), () => Effect.forkChild(worker))
      const seconds = 20
      for (let ms = 0; ms < seconds * 1000; ms++) {
        t++
        yield* TestClock.adjust("1 millis")
      }
      yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      const share = throttled / (accepted + throttled)
      const perSecondText = `accepted per window ${perSecond}, throttled ${throttledPerSecond}`
      assert.isBelow(share, 0.05, `${throttled} throttled of ${accepted + throttled}; ${perSecondText}`)
      assert.isAbove(accepted, 0.9 * perWindow * seconds, `${accepted} of ${perWindow * seconds}; ${perSecondText}`)
    })
  )
})
