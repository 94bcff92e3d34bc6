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
