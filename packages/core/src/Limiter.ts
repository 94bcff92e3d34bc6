/**
 * Adaptive concurrency for Bedrock calls, AIMD with a measured floor.
 *
 * Before the first throttle the limit grows by about one per round of calls (slow start). A
 * throttle cuts it to what the service has just proven it accepts — the calls that succeeded in
 * the last second times their mean latency (Little's law), at most 90 % of the old limit (half
 * when nothing succeeded yet) — and
 * throttles within the cooldown (answers to calls already in flight) do not cut again. After
 * that the limit probes upwards by one per `increaseIntervalMs`, so goodput settles just under
 * the account's limit with few throttles, instead of the error storms of unbounded peers.
 *
 * The AIMD arithmetic lives here; the permits are an Effect `Semaphore`, resized to the whole
 * part of the limit whenever that changes (calls in flight above a cut keep their permits).
 *
 * @since 0.1.0
 */
import { Effect, Semaphore } from "effect"

/**
 * A limiter's live state and its operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limiter {
  /** Runs an effect once a slot is free; the slot is released whatever the outcome. */
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** A call succeeded: additive increase (about +1 per round of calls). */
  readonly onSuccess: () => void
  /** A call was throttled: multiplicative decrease (halve), at most once per cooldown. */
  readonly onThrottle: () => void
  /** The current limit on calls in flight. */
  readonly limit: () => number
  readonly inFlight: () => number
  /** How many times the limit was cut. */
  readonly decreases: () => number
}

/**
 * Limiter settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Calls in flight at start. */
  readonly initial: number
  readonly min?: number | undefined
  readonly max?: number | undefined
  /** Throttles within this many milliseconds of a cut count as the same congestion event. Default 1 000. */
  readonly cooldownMs?: number | undefined
  /** After a throttle, the limit grows by one per this many milliseconds. Default 1 000. */
  readonly increaseIntervalMs?: number | undefined
}

/**
 * Makes a limiter.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Limiter => {
  const min = Math.max(1, options.min ?? 1)
  const max = Math.max(min, options.max ?? options.initial * 4)
  const cooldown = options.cooldownMs ?? 1_000
  const increaseInterval = options.increaseIntervalMs ?? 1_000
  let limit = Math.min(max, Math.max(min, options.initial))
  let inFlight = 0
  let lastCut = Number.NEGATIVE_INFINITY
  let lastIncrease = 0
  let congested = false
  let cuts = 0
  const successes = makeRecentSuccesses()
  let meanLatencyMs = 0

  let permits = Math.floor(limit)
  const semaphore = Semaphore.makeUnsafe(permits)
  // `onSuccess` and `onThrottle` are plain callbacks (called from `Effect.sync`): the resize, a
  // synchronous effect that wakes waiters that now fit, runs on the spot, and only when the whole
  // part of the limit moved.
  const resize = () => {
    const next = Math.floor(limit)
    if (next === permits) return
    permits = next
    Effect.runSync(semaphore.resize(next))
  }

  const withPermit = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    semaphore.withPermit(
      // Uninterruptible until `effect` starts, so every counted call is also uncounted.
      Effect.uninterruptibleMask((restore) => {
        inFlight++
        const started = performance.now()
        return Effect.onExit(restore(effect), () =>
          Effect.sync(() => {
            const latency = performance.now() - started
            meanLatencyMs = meanLatencyMs === 0 ? latency : meanLatencyMs * 0.9 + latency * 0.1
            inFlight--
          })
        )
      })
    )

  return {
    withPermit,
    onSuccess: () => {
      const now = performance.now()
      successes.record(now)
      if (!congested) limit = Math.min(max, limit + 1 / limit)
      else if (now - lastCut >= cooldown && now - lastIncrease >= increaseInterval) {
        limit = Math.min(max, limit + 1)
        lastIncrease = now
      }
      resize()
    },
    onThrottle: () => {
      const now = performance.now()
      if (now - lastCut < cooldown) return
      lastCut = now
      lastIncrease = now
      congested = true
      cuts++
      // Little's law: the concurrency that sustains the rate the service just accepted.
      const fits = (successes.rate(now, meanLatencyMs) * meanLatencyMs) / 1000
      limit = Math.max(min, fits > 0 ? Math.min(limit * 0.9, fits) : limit / 2)
      resize()
    },
    limit: () => limit,
    inFlight: () => inFlight,
    decreases: () => cuts
  }
}

/** Completion times of the last successes (a ring), for the rate the service accepts. */
const makeRecentSuccesses = () => {
  const ring = new Float64Array(4096)
  let end = 0
  return {
    record: (now: number) => {
      ring[end % ring.length] = now
      end++
    },
    /** Successes per second over the last second (or since the first success, when that is sooner). */
    rate: (now: number, meanLatencyMs: number) => {
      let count = 0
      let oldest = now
      for (let i = end - 1; i >= 0 && i >= end - ring.length; i--) {
        const at = ring[i % ring.length]!
        if (at <= now - 1000) break
        oldest = at
        count++
      }
      return count < 2 ? 0 : (count * 1000) / Math.max(now - oldest, meanLatencyMs, 1)
    }
  }
}
