/**
 * How job pollers treat a failed status call: a throttle, a 5xx or a network fault is retried
 * with jittered backoff (the job is still running; one bad answer must not end an hour-long
 * wait), anything else ends the wait. The pollers' own deadline bounds the retries.
 *
 * @internal
 */
import { Duration, Effect, Schedule } from "effect"

const backoff = Schedule.exponential("500 millis", 2).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30)))),
  Schedule.jittered
)

const retryable = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly retryable?: unknown }).retryable === true

/** Retries one status call while its failure is retryable. */
export const retryStatus = <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(call, { schedule: backoff, while: retryable })

/**
 * The one job poller: asks for a job's status on `schedule`, retrying status calls that fail
 * retryably, until `done` says it ended or `timeout` passes (then `onTimeout`'s error).
 */
export const pollUntil = <S, E, R, T>(options: {
  readonly status: Effect.Effect<S, E, R>
  readonly done: (status: S) => boolean
  readonly schedule: Schedule.Schedule<unknown, S>
  readonly timeout: Duration.Input | undefined
  readonly onTimeout: () => T
  readonly onStatus?: ((status: S) => void) | undefined
}): Effect.Effect<S, E | T, R> => {
  const polled = retryStatus(options.status).pipe(
    Effect.tap((status) => Effect.sync(() => options.onStatus?.(status))),
    Effect.repeat({ schedule: options.schedule, until: options.done })
  )
  return options.timeout === undefined
    ? polled
    : Effect.timeoutOrElse(polled, {
        duration: options.timeout,
        orElse: () => Effect.fail(options.onTimeout())
      })
}
