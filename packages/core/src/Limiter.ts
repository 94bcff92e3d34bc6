/**
 * Adaptive concurrency (AIMD) for Bedrock calls: the number of calls in flight grows by one per
 * round of successes and halves on throttling, so goodput settles near the account's limit
 * instead of hammering it with retries (the error storms of unbounded peers).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

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
  /** Throttles within this many milliseconds of a cut count as the same congestion event. */
  readonly cooldownMs?: number | undefined
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
  const cooldown = options.cooldownMs ?? 250
  let limit = Math.min(max, Math.max(min, options.initial))
  let inFlight = 0
  let lastCut = 0
  let cuts = 0
  const waiters: Array<() => void> = []

  const wake = () => {
    while (waiters.length > 0 && inFlight < Math.floor(limit)) {
      inFlight++
      waiters.shift()!()
    }
  }
  const acquire = Effect.callback<void>((resume) => {
    if (inFlight < Math.floor(limit) && waiters.length === 0) {
      inFlight++
      resume(Effect.void)
      return
    }
    const waiter = () => resume(Effect.void)
    waiters.push(waiter)
    // Interrupted while waiting: leave the queue without taking a slot.
    return Effect.sync(() => {
      const at = waiters.indexOf(waiter)
      if (at >= 0) waiters.splice(at, 1)
    })
  })
  const release = Effect.sync(() => {
    inFlight--
    wake()
  })

  return {
    withPermit: (effect) =>
      Effect.acquireUseRelease(
        acquire,
        () => effect,
        () => release
      ),
    onSuccess: () => {
      const before = Math.floor(limit)
      limit = Math.min(max, limit + 1 / limit)
      if (Math.floor(limit) > before) wake()
    },
    onThrottle: () => {
      const now = Date.now()
      if (now - lastCut < cooldown) return
      lastCut = now
      cuts++
      limit = Math.max(min, limit / 2)
    },
    limit: () => limit,
    inFlight: () => inFlight,
    decreases: () => cuts
  }
}
