/**
 * Clients kept per key (region, endpoint, identity) on an Effect `RcMap`: created on first use
 * with `Effect.acquireRelease`, shared by every call with the same key, held for as long as a
 * call uses them, released once idle for `idleTimeToLive`, and all released when the owning
 * scope (the layer) closes.
 *
 * @internal
 */
import { Clock, Duration, Effect, RcMap, type Scope } from "effect"

/** Clients by key. */
export interface ClientCache<I, A> {
  /**
   * Runs `f` with the client for `key`, made from `input` on first use. The client is neither
   * expired nor released while `f` runs. `input` must be the same for the same `key`.
   */
  readonly use: <B, E, R>(key: string, input: I, f: (client: A) => Effect.Effect<B, E, R>) => Effect.Effect<B, E, R>
}

/** Cache settings. */
export interface Options<I, A> {
  readonly acquire: (input: I) => A
  /** Frees what the client holds; runs once, when it expired or the cache closed. */
  readonly release?: ((client: A) => void) | undefined
  readonly idleTimeToLive: Duration.Input
}

/**
 * An entry: empty when made, filled by its first user from its input. Equal keys have equal
 * inputs, so whichever caller fills it makes the same client; the key stays a plain string
 * (a map lookup per call, not a structural hash).
 */
interface Slot<A> {
  client: A | undefined
}

const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The clock the RcMap's idle timers run on: the caller's time, with timers that do not keep
 * Node running. An idle client waiting to expire must not hold a finished script open for the
 * idle period (the default client of the Promise API is never disposed).
 */
const unrefClock = (base: Clock.Clock): Clock.Clock => ({
  currentTimeMillisUnsafe: () => base.currentTimeMillisUnsafe(),
  currentTimeMillis: base.currentTimeMillis,
  currentTimeNanosUnsafe: () => base.currentTimeNanosUnsafe(),
  currentTimeNanos: base.currentTimeNanos,
  monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: base.monotonicTimeNanos,
  sleep: (duration) =>
    Effect.callback<void>((resume) => {
      const timer = setTimeout(() => resume(Effect.void), Math.min(Duration.toMillis(duration), MAX_TIMER_MS))
      timer.unref()
      return Effect.sync(() => clearTimeout(timer))
    })
})

/** Makes the cache; it lives in, and is closed with, the current scope. */
export const make = <I, A>(options: Options<I, A>): Effect.Effect<ClientCache<I, A>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { acquire, release } = options
    const slots = yield* RcMap.make({
      lookup: (_key: string) =>
        Effect.acquireRelease(
          Effect.sync((): Slot<A> => ({ client: undefined })),
          (slot) =>
            Effect.sync(() => {
              if (slot.client !== undefined) release?.(slot.client)
            })
        ),
      idleTimeToLive: options.idleTimeToLive
    })
    const clocks = new WeakMap<Clock.Clock, Clock.Clock>()
    const idleClock = (base: Clock.Clock) => {
      let clock = clocks.get(base)
      if (clock === undefined) {
        clock = unrefClock(base)
        clocks.set(base, clock)
      }
      return clock
    }
    const use = <B, E, R>(key: string, input: I, f: (client: A) => Effect.Effect<B, E, R>) =>
      // Dropping the reference when this scope closes (re)starts the entry's idle timer, on the
      // clock in context: `idleClock`. `f` runs on it too (its I/O keeps Node running anyway).
      Clock.clockWith((base) =>
        Effect.scoped(
          Effect.flatMap(RcMap.get(slots, key), (slot) => {
            slot.client ??= acquire(input)
            return f(slot.client)
          })
        ).pipe(Effect.provideService(Clock.Clock, idleClock(base)))
      )
    return { use }
  })
