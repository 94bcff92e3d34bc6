/**
 * Adaptive flow control for Bedrock calls: a concurrency limit, and a pacing rate (calls and
 * tokens per second) learnt from throttles.
 *
 * **Concurrency.** Calls in flight start at `initial` and grow by one per success (doubling each
 * round of calls) up to `max`. Throttles do not cut it: a quota is a rate, and a concurrency limit
 * alone can only oscillate around one (overshoot, cut, grow back through the quota again).
 *
 * **Congestion, not noise.** Only throttles of calls sent since the last cut count (the others
 * were in flight when it happened). Congestion is more than half of the last ten answers refused
 * (a spent quota refuses every call until it refills; a refusal is answered at once, so a few
 * can overtake the successes of calls sent before them, but not six in ten), or more than
 * `often` (5 %) of a window's answers (a token bucket overdrawn a little refuses big calls among
 * small ones). Any other throttle is noise (a busy host, another tenant) that slowing down would
 * not cure: it cuts nothing, and its call may be re-sent after about one call's latency
 * (`noiseRetryMs`).
 *
 * **The ceiling.** At congestion the limiter learns what the service accepted since the last cut,
 * over one to two `windowMs` — calls, and the tokens they used (Bedrock's quotas are tokens per
 * minute, enforced as a bucket) — and paces sends at `backoff` (0.9) × that ceiling. While
 * congested (no call sent since the cut has succeeded yet) each further throttle halves the pace,
 * so a spent window is probed exponentially less often rather than hammered; the first success
 * jumps back to `backoff` × the ceiling.
 *
 * **Growth.** From there the pace grows on a cubic curve in time, as TCP CUBIC does: back at the
 * ceiling after about 1.3 s, flat around it (where the last congestion was) for a second or so,
 * then faster and faster above it, so a quota that grew, or a ceiling learnt low, is found within
 * seconds while a quota that stays is touched only now and then. At `forget` (4) × the ceiling
 * without congestion the ceiling is dropped: calls are no longer paced.
 *
 * Tokens are known only once a call succeeds; before it is sent, its tokens are estimated from its
 * size (the request body's length) with the tokens per unit of size seen so far.
 *
 * The permits are an Effect `Semaphore` resized to the whole part of the concurrency limit; pacing
 * happens after a permit is taken, one waiting call at a time, so a cut holds every call behind it.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Result, Semaphore } from "effect"

/**
 * A limiter's live state and its operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limiter {
  /**
   * Runs an effect once a slot is free and the pacing allows it; the slot is released whatever
   * the outcome. With `call`, the limiter records the outcome itself (with the exact time the call
   * was sent): do not also call `onSuccess` / `onThrottle` for it.
   */
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>, call?: Call<A, E>) => Effect.Effect<A, E, R>
  /** A call succeeded (for callers that do not pass `call` to `withPermit`). */
  readonly onSuccess: (outcome?: Outcome) => void
  /** A call sent at `sentAt` (default: about one call's latency ago) was throttled. */
  readonly onThrottle: (sentAt?: number) => Verdict
  /** The current limit on calls in flight. */
  readonly limit: () => number
  readonly inFlight: () => number
  /** How many times the rate was cut. */
  readonly decreases: () => number
  /** The pacing rates now, calls and tokens per second; `Infinity` when not paced. */
  readonly rates: () => { readonly calls: number; readonly tokens: number }
}

/**
 * What the limiter may know about one call it runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Call<A, E> {
  /** The call's size (e.g. its body's length), for estimating its tokens before it is sent. */
  readonly size?: number | undefined
  /** The tokens the call used, from its result. */
  readonly tokensOf?: ((result: A) => number | undefined) | undefined
  /** Whether a failure is a throttle. */
  readonly isThrottle?: ((error: E) => boolean) | undefined
}

/**
 * A success reported with `onSuccess`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outcome {
  /** When the call was sent, on the limiter's clock (default: about one call's latency ago). */
  readonly sentAt?: number | undefined
  /** The tokens it used. */
  readonly tokens?: number | undefined
  /** Its size, as `Call.size`. */
  readonly size?: number | undefined
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
  /** The accepted rate is measured over one to two of these, and refusals tallied per one (ms). Default 1 000. */
  readonly windowMs?: number | undefined
  /** The rate right after congestion, as a share of the ceiling learnt. Default 0.9. */
  readonly backoff?: number | undefined
  /** The cubic growth constant, in multiples of the ceiling per second³. Default 0.05. */
  readonly growth?: number | undefined
  /** Pacing lets through this many milliseconds' worth of calls at once. Default 20. */
  readonly burstMs?: number | undefined
  /** A window of `windowMs` that refused more than this share of its answers is congestion. Default 0.05. */
  readonly often?: number | undefined
  /** Past this multiple of the ceiling without congestion, calls are no longer paced. Default 4. */
  readonly forget?: number | undefined
  /** The clock, in milliseconds (tests pass a fake one). Default `performance.now`. */
  readonly now?: (() => number) | undefined
}

/**
 * What a throttle told the limiter: `noise` (isolated among successes: counted, nothing cut),
 * `congestion` (the rate was cut), or `late` (the call was sent before the last cut, which
 * already answered it).
 *
 * @category models
 * @since 0.1.0
 */
export type Verdict = "noise" | "congestion" | "late"

/** Throttle errors judged noise, and the delay suggested for re-sending each (ms). */
const noise = new WeakMap<object, number>()
/** Congestion at once: more than half of the last `RECENT` answers refused. */
const RECENT = 10

/**
 * For a throttle error a limiter judged isolated noise, how soon to re-send the call: about one
 * call's latency (a busy moment, not a spent quota, and the limiter's pacing, not this delay,
 * guards the rate). `undefined` for any other error: back off as usual.
 *
 * @category utils
 * @since 0.1.0
 */
export const noiseRetryMs = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null ? noise.get(error) : undefined

/**
 * Makes a limiter.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Limiter => {
  const min = Math.max(1, options.min ?? 1)
  const max = Math.max(min, options.max ?? options.initial * 4)
  const clock = options.now ?? (() => performance.now())
  let limit = Math.min(max, Math.max(min, options.initial))
  let inFlight = 0
  let meanLatencyMs = 0
  const rate = makeRate(options, clock)

  let permits = Math.floor(limit)
  const semaphore = Semaphore.makeUnsafe(permits)
  // The resize is a synchronous effect that wakes waiters that now fit; it runs only when the
  // whole part of the limit moved.
  const resize = () => {
    const next = Math.floor(limit)
    if (next === permits) return
    permits = next
    Effect.runSync(semaphore.resize(next))
  }

  const succeeded = (outcome: Outcome | undefined) => {
    const now = clock()
    limit = Math.min(max, limit + 1)
    resize()
    rate.success(now, outcome?.sentAt ?? now - meanLatencyMs, outcome?.tokens, outcome?.size)
  }
  const throttled = (sentAt: number | undefined) => {
    const now = clock()
    return rate.throttle(now, sentAt ?? now - meanLatencyMs)
  }

  /** Records a call's outcome (when the caller passed `call`) and its latency, once it ends. */
  const ended = <A, E>(exit: Exit.Exit<A, E>, sentAt: number, call: Call<A, E> | undefined) => {
    if (call !== undefined) {
      if (Exit.isSuccess(exit)) succeeded({ sentAt, size: call.size, tokens: call.tokensOf?.(exit.value) })
      else {
        const error = Cause.findError(exit.cause)
        if (
          Result.isSuccess(error) &&
          call.isThrottle?.(error.success) === true &&
          throttled(sentAt) === "noise" &&
          typeof error.success === "object" &&
          error.success !== null
        )
          noise.set(error.success, Math.max(1, meanLatencyMs))
      }
    }
    const latency = clock() - sentAt
    meanLatencyMs = meanLatencyMs === 0 ? latency : meanLatencyMs * 0.9 + latency * 0.1
    inFlight--
  }

  // One finalizer records everything about a call: a tap, a tapError and an onExit per call were
  // a measurable part of a stream's hot path.
  const withPermit = <A, E, R>(effect: Effect.Effect<A, E, R>, call?: Call<A, E>): Effect.Effect<A, E, R> => {
    // Uninterruptible until `effect` starts, so every counted call is also uncounted.
    const run = Effect.uninterruptibleMask((restore) => {
      inFlight++
      const sentAt = clock()
      return Effect.onExit(restore(effect), (exit) => {
        ended(exit, sentAt, call)
        return Effect.void
      })
    })
    return semaphore.withPermit(Effect.suspend(() => (rate.paced() ? Effect.andThen(rate.pace(call?.size), run) : run)))
  }

  return {
    withPermit,
    onSuccess: succeeded,
    onThrottle: throttled,
    limit: () => limit,
    inFlight: () => inFlight,
    decreases: rate.cuts,
    rates: rate.rates
  }
}

/** The rate half of the limiter: the ceiling learnt at congestion, the cubic growth, the pacing. */
const makeRate = (options: Options, clock: () => number) => {
  const windowMs = options.windowMs ?? 1_000
  const backoff = options.backoff ?? 0.9
  const growth = (options.growth ?? 0.05) / 1e9 // per ms³
  const burstMs = options.burstMs ?? 20
  const forget = options.forget ?? 4
  const often = options.often ?? 0.05
  const accepted = makeAccepted()
  /** Calls and tokens per ms accepted at the last congestion; `Infinity` while none. */
  let ceilingCalls = Number.POSITIVE_INFINITY
  let ceilingTokens = Number.POSITIVE_INFINITY
  /** The rate as a share of the ceiling when growth (re)started at `growthFrom`. */
  let level = 1
  let growthFrom = 0
  let congested = false
  let lastCut = Number.NEGATIVE_INFINITY
  let firstSuccess = Number.NEGATIVE_INFINITY
  /** The last `RECENT` answers to calls sent since the last cut, 1 for a refusal (a ring). */
  const recent = new Uint8Array(RECENT)
  let recentAt = 0
  let recentRefused = 0
  const remember = (refused: boolean) => {
    const slot = recentAt++ % RECENT
    recentRefused += (refused ? 1 : 0) - recent[slot]!
    recent[slot] = refused ? 1 : 0
    return recentRefused * 2 > RECENT
  }
  /** The current tally window: its start, its answers, its refusals. */
  let windowFrom = 0
  let answers = 0
  let refusals = 0
  let cuts = 0
  let tokensPerUnit = 0
  /** Theoretical arrival times of the next call and of the next token (GCRA). */
  let nextCall = Number.NEGATIVE_INFINITY
  let nextToken = Number.NEGATIVE_INFINITY
  const pacer = Semaphore.makeUnsafe(1)

  const paced = () => ceilingCalls !== Number.POSITIVE_INFINITY || ceilingTokens !== Number.POSITIVE_INFINITY
  /** The rate now, as a share of the ceiling: cubic in the time since growth started. */
  const share = (now: number) => {
    if (congested) return level
    const k = Math.cbrt((1 - level) / growth)
    return 1 + growth * (now - growthFrom - k) ** 3
  }
  /** Calls and tokens per ms now; at least one call per window, so a zero quota is still probed. */
  const current = (now: number) => {
    const s = share(now)
    if (s >= forget && !congested) {
      ceilingCalls = Number.POSITIVE_INFINITY
      ceilingTokens = Number.POSITIVE_INFINITY
    }
    return { calls: Math.max(ceilingCalls * s, 1 / windowMs), tokens: ceilingTokens * s }
  }
  const cut = (now: number, to: number) => {
    level = to
    congested = true
    lastCut = now
    recent.fill(0)
    recentRefused = 0
    windowFrom = now
    answers = 0
    refusals = 0
    cuts++
    nextCall = Math.max(nextCall, now)
    nextToken = Math.max(nextToken, now)
  }

  /** Learns the ceiling from what was accepted, and cuts the pace to `backoff` × it. */
  const congestion = (now: number) => {
    // Since the last cut, within one to two windows: a fixed-window quota lets up to two of its
    // windows' worth through in any span of one window, so one window can read up to twice it,
    // and a bucket's first burst (a full bucket at start) is not a rate it can sustain.
    const span = Math.max(windowMs, Math.min(2 * windowMs, now - firstSuccess, now - lastCut))
    const { calls, tokens } = accepted.since(now - span)
    ceilingCalls = Math.max(1, calls) / span
    ceilingTokens = tokens > 0 ? tokens / span : Number.POSITIVE_INFINITY
    cut(now, backoff)
  }
  /**
   * Counts an answer to a call sent since the last cut, in windows of `windowMs`; whether the
   * window so far (100 answers at least) refused more than `often` of them — a bucket quota
   * overdrawn a little refuses big calls among small ones, seldom three in a row.
   */
  const tally = (now: number, refused: boolean) => {
    if (now - windowFrom >= windowMs) {
      windowFrom = now
      answers = 0
      refusals = 0
    }
    answers++
    if (refused) refusals++
    return answers >= 100 && refusals > often * answers
  }

  /** Milliseconds to wait before a call of `cost` tokens may go, or 0 after booking it. */
  const reserve = (cost: number) => {
    const now = clock()
    const { calls, tokens } = current(now)
    const pacedTokens = tokens !== Number.POSITIVE_INFINITY && cost > 0
    const wait = Math.max(
      calls === Number.POSITIVE_INFINITY ? 0 : nextCall - burstMs - now,
      pacedTokens ? nextToken - burstMs - now : 0
    )
    if (wait > 0) return wait
    if (calls !== Number.POSITIVE_INFINITY) nextCall = Math.max(nextCall, now) + 1 / calls
    if (pacedTokens) nextToken = Math.max(nextToken, now) + cost / tokens
    return 0
  }
  const waitTurn = (cost: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const wait = reserve(cost)
      // Short naps, so that a pace that rose meanwhile (a recovery) is seen within 10 ms.
      return wait <= 0 ? Effect.void : Effect.andThen(Effect.sleep(Math.min(10, Math.ceil(wait))), waitTurn(cost))
    })

  return {
    /** Whether calls are paced (a ceiling is known). */
    paced,
    /** Waits for this call's turn; nothing to wait for while no ceiling is known. */
    pace: (size: number | undefined): Effect.Effect<void> =>
      Effect.suspend(() => (paced() ? pacer.withPermit(waitTurn((size ?? 0) * tokensPerUnit)) : Effect.void)),
    success: (now: number, sentAt: number, tokens: number | undefined, size: number | undefined) => {
      accepted.record(now, tokens ?? 0)
      if (firstSuccess === Number.NEGATIVE_INFINITY) firstSuccess = now
      if (tokens !== undefined && size !== undefined && size > 0 && tokens >= 0)
        tokensPerUnit = tokensPerUnit === 0 ? tokens / size : tokensPerUnit * 0.95 + (tokens / size) * 0.05
      if (sentAt < lastCut) return
      if (!congested) {
        remember(false)
        tally(now, false)
      }
      if (congested) {
        // The quota answers again: straight back to where the last congestion put the rate.
        congested = false
        level = Math.max(level, backoff)
        growthFrom = now
        // The next turn was booked at the halved pace: rebook it at this one.
        nextCall = Math.min(nextCall, now)
        nextToken = Math.min(nextToken, now)
      }
    },
    throttle: (now: number, sentAt: number): Verdict => {
      if (sentAt < lastCut) return "late"
      if (congested) {
        cut(now, Math.max(level / 2, 1 / 64))
        return "congestion"
      }
      const often = tally(now, true)
      if (!remember(true) && !often) return "noise"
      congestion(now)
      return "congestion"
    },
    cuts: () => cuts,
    rates: () => {
      const { calls, tokens } = current(clock())
      return paced() ? { calls: calls * 1000, tokens: tokens * 1000 } : { calls: Infinity, tokens: Infinity }
    }
  }
}

/** Completion times and tokens of the last successes (a ring), for what the service accepts. */
const makeAccepted = () => {
  const size = 8192
  const times = new Float64Array(size)
  const tokens = new Float64Array(size)
  let end = 0
  return {
    record: (now: number, used: number) => {
      times[end % size] = now
      tokens[end % size] = used
      end++
    },
    /** Calls and tokens accepted after `from`. */
    since: (from: number) => {
      let calls = 0
      let sum = 0
      for (let i = end - 1; i >= 0 && i >= end - size; i--) {
        if (times[i % size]! <= from) break
        calls++
        sum += tokens[i % size]!
      }
      return { calls, tokens: sum }
    }
  }
}
