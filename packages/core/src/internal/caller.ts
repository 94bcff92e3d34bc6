/**
 * Running Bedrock calls: the adaptive limiter, retries of retryable errors with jittered
 * exponential backoff (harder on throttles, never sooner than Bedrock asked), a deadline over
 * every attempt and backoff of a call, and the counters.
 *
 * @internal
 */
import { Cause, Duration, Effect, Fiber, Result, Schedule } from "effect"
import type * as BedrockRuntime from "../BedrockRuntime.ts"
import {
  type BedrockError,
  type ModelInvocationError,
  ModelTimeoutError,
  type ResponseDecodeError,
  ThrottlingError
} from "../Errors.ts"
import * as Limiter from "../Limiter.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import type { Options } from "../Embeddings.ts"
import type { PlannedCall, Resolved } from "../Plan.ts"
import { decodeResponseResult, parseBodyResult } from "./decode.ts"

/** The engine options that concern calls (see `Embeddings.Options`). */
export type CallerOptions = Omit<Options, "maxInputs">

/** One call's outcome: what Bedrock sent, decoded, and how many attempts failed before it. */
export interface CallResult {
  readonly call: PlannedCall
  readonly result: BedrockRuntime.InvokeResult
  readonly decoded: ModelSpec.DecodedBatch
  readonly failedAttempts: number
  /** How many of those failed attempts were throttled. */
  readonly throttledAttempts: number
}

/**
 * When a call must be done by: the request's `timeout` (started once for all its calls), else
 * the engine's `totalTimeout` (started per call).
 */
export interface Deadline {
  /** Epoch milliseconds. */
  readonly at: number
  readonly ms: number
  /** What to raise for more time, as the error message says it. */
  readonly setting: string
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const deadlineError = (
  modelId: string,
  deadline: Deadline,
  attempts: number,
  last: BedrockError | undefined
): ModelTimeoutError =>
  new ModelTimeoutError({
    message:
      `No result from ${modelId} within ${deadline.ms / 1000} s, ` +
      (attempts === 0 ? "before this call could be sent" : `after ${plural(attempts, "attempt")}`) +
      (last === undefined ? "" : `; the last failure was ${last._tag}: ${last.message}`) +
      `. That deadline is ${deadline.setting}: raise it if the model needs longer.`,
    modelId,
    deadlineMs: deadline.ms,
    attempts
  })

/**
 * `effect`, or `orElse()` once `ms` have passed (interrupting it): `Effect.timeoutOrElse` for one
 * forked fiber and one timer per call, where its race forks two and interrupts a sleeping one.
 */
const within = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  ms: number,
  orElse: () => Effect.Effect<never, E2>
): Effect.Effect<A, E | E2, R> =>
  Effect.flatMap(Effect.forkChild(effect, { startImmediately: true }), (fiber) =>
    Effect.callback<A, E | E2>((resume) => {
      const timer = setTimeout(() => {
        stop()
        resume(Effect.andThen(Fiber.interrupt(fiber), Effect.suspend(orElse)))
      }, ms)
      const stop = fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.suspend(() => {
        clearTimeout(timer)
        stop()
        return Fiber.interrupt(fiber)
      })
    })
  )

export type Retry = <A, R>(
  effect: Effect.Effect<A, BedrockError, R>,
  retries: number | undefined
) => Effect.Effect<A, BedrockError, R>

const backoff = (baseDelay: Duration.Duration, maxDelay: Duration.Duration, retries: number) =>
  Schedule.max([
    Schedule.exponential(baseDelay, 2).pipe(
      // Jittered first, so that the floor below is never cut by the jitter.
      Schedule.jittered,
      Schedule.modifyDelay(({ duration, input }: { duration: Duration.Duration; input: BedrockError }) => {
        // Throttling means the account is at its limit: back off harder, and never sooner than Bedrock asked.
        // An isolated throttle (the limiter's verdict) is re-sent after about a call's latency.
        const quick = Limiter.noiseRetryMs(input)
        const throttled = input instanceof ThrottlingError && quick === undefined
        let delay = Duration.min(throttled ? Duration.times(duration, 2) : duration, maxDelay)
        if (quick !== undefined) delay = Duration.min(delay, Duration.millis(quick))
        if (input instanceof ThrottlingError && input.retryAfter !== undefined)
          delay = Duration.max(delay, input.retryAfter)
        return Effect.succeed(delay)
      })
    ),
    Schedule.recurs(retries)
  ])

/**
 * A router's say in a call's attempts (see `Embeddings.Failover`), with its targets resolved:
 * index 0 is the request's own.
 */
export interface RoutedAttempts {
  readonly targets: ReadonlyArray<BedrockRuntime.Target>
  readonly pick: (attempt: number, previous: number | undefined) => number
  readonly settled: (index: number, error: BedrockError | undefined, ms: number | undefined) => boolean
  readonly retries?: ((error: BedrockError, failures: number, retryable: boolean) => boolean) | undefined
}

const tokensOfResult = (result: BedrockRuntime.InvokeResult) => result.inputTokenCount
const isThrottleError = (error: unknown) => error instanceof ThrottlingError

export const makeCaller = (runtime: BedrockRuntime.Service, options: CallerOptions) => {
  const concurrency = options.concurrency ?? 16
  const maxConcurrency = Math.max(concurrency, options.maxConcurrency ?? concurrency * 4)
  const limiter = Limiter.make({ initial: concurrency, max: maxConcurrency })
  const counters = { calls: 0, throttles: 0, retries: 0 }
  const baseDelay = Duration.fromInputUnsafe(options.retryBaseDelay ?? "100 millis")
  const maxDelay = Duration.fromInputUnsafe(options.maxRetryDelay ?? "20 seconds")
  const defaultRetries = options.maxRetries ?? 8
  const totalTimeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.totalTimeout ?? "3 minutes"))
  const maxResponseBytes = options.maxResponseBytes
  const defaultSchedule = backoff(baseDelay, maxDelay, defaultRetries)
  const scheduleOf = (retries: number | undefined) =>
    retries === undefined || retries === defaultRetries ? defaultSchedule : backoff(baseDelay, maxDelay, retries)

  /** The backoff, skipped when the router sends the next attempt elsewhere at once. */
  const routedSchedule = (retries: number | undefined, moved: () => boolean) =>
    scheduleOf(retries).pipe(Schedule.modifyDelay(({ duration }) => Effect.succeed(moved() ? Duration.zero : duration)))

  const retry: Retry = (effect, retries) =>
    Effect.retry(effect, { schedule: scheduleOf(retries), while: (error: BedrockError) => error.retryable })

  /** The request's own deadline, started now, when it sets `timeout`; else each call gets the engine's. */
  const requestDeadline = (resolved: Resolved): Deadline | undefined => {
    const ms = resolved.controls.timeoutMs
    return ms === undefined ? undefined : { at: Date.now() + ms, ms, setting: "the request's timeout, in seconds" }
  }
  const callDeadline = (): Deadline => ({
    at: Date.now() + totalTimeoutMs,
    ms: totalTimeoutMs,
    setting: "the engine's totalTimeout option (a request's timeout, in seconds, overrides it)"
  })

  /**
   * One planned call through the limiter, retried (a body that is not JSON too) within its
   * retries and its deadline, then decoded.
   */
  const invoke = (
    resolved: Resolved,
    target: BedrockRuntime.Target,
    call: PlannedCall,
    options: ModelSpec.CallOptions<unknown>,
    float32: boolean | "without text",
    deadline: Deadline | undefined = requestDeadline(resolved),
    routed?: RoutedAttempts | undefined
  ): Effect.Effect<CallResult, BedrockError | ResponseDecodeError | ModelInvocationError> =>
    Effect.suspend(() => {
      const { route, spec, controls } = resolved
      const due = deadline ?? callDeadline()
      let failedAttempts = 0
      let throttledAttempts = 0
      let sent = 0
      let last: BedrockError | undefined
      // A 200 whose body is not JSON (cut short, garbled) is a transport fault, re-sent within the
      // call's retries like a reset connection. A body that is JSON but not what the model
      // documents is not re-sent: the same answer would come back.
      let malformed: ResponseDecodeError | undefined
      // With a router, each attempt goes where it says, and it hears how each ended; a throttle
      // it answers by moving the next attempt elsewhere is not the engine's to slow down for.
      let moved = false
      let previous: number | undefined
      const send = (to: BedrockRuntime.Target) =>
        runtime.invokeModel({
          modelId: route.modelId,
          target: to,
          body: call.body,
          headers: controls.headers,
          maxResponseBytes: controls.maxResponseBytes ?? maxResponseBytes
        })
      const routedSend = (router: RoutedAttempts) => {
        const index = router.pick(sent - 1, previous)
        previous = index
        const started = Date.now()
        return send(router.targets[index] ?? router.targets[0]!).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              const ms = Date.now() - started
              if (exit._tag === "Success") {
                router.settled(index, undefined, ms)
                return
              }
              // An interrupted attempt (the request is gone) still frees the router's slot.
              const error = Cause.findError(exit.cause)
              moved = Result.isSuccess(error) && router.settled(index, error.success, ms)
              if (Result.isFailure(error)) router.settled(index, undefined, undefined)
            })
          )
        )
      }
      const attempt = limiter.withPermit(
        Effect.suspend(() => {
          sent++
          return routed === undefined ? send(target) : routedSend(routed)
        }),
        // The limiter records each outcome itself, with the time the call was sent.
        {
          size: call.body.length,
          tokensOf: tokensOfResult,
          isThrottle: routed === undefined ? isThrottleError : (error) => !moved && isThrottleError(error)
        }
      )
      // Counting and reading the body are plain code in one continuation per attempt: a tap, a
      // tapError and a flatMap each were a measurable part of the hot path.
      const parsed = Effect.matchEffect(attempt, {
        onFailure: (error) => {
          last = error
          failedAttempts++
          counters.calls++
          counters.retries++
          if (error instanceof ThrottlingError) {
            counters.throttles++
            throttledAttempts++
          }
          return Effect.fail(error)
        },
        onSuccess: (result) => {
          counters.calls++
          const json = parseBodyResult(spec, result.body, float32, {
            modelId: route.modelId,
            requestId: result.requestId
          })
          if (Result.isSuccess(json)) return Effect.succeed({ result, json: json.success })
          malformed = last = json.failure
          failedAttempts++
          counters.retries++
          return Effect.fail(json.failure)
        }
      })
      // The engine's own verdict; a router's policy has the last word, knowing it.
      const retryable = (error: BedrockError) => error.retryable || error === malformed
      const retrying =
        routed?.retries === undefined
          ? retryable
          : (error: BedrockError) => routed.retries!(error, failedAttempts, retryable(error))
      // The schedule is started at the first failure (replayed to it), not for every call: most
      // calls succeed at once, and a retry driver per call was a measurable part of the hot path.
      const retried = Effect.catch(parsed, (first: BedrockError) => {
        if (!retrying(first)) return Effect.fail(first)
        let replay = true
        const again = Effect.suspend(() => {
          if (!replay) return parsed
          replay = false
          return Effect.fail(first)
        })
        const schedule =
          routed === undefined ? scheduleOf(controls.retries) : routedSchedule(controls.retries, () => moved)
        return Effect.retry(again, { schedule, while: retrying })
      })
      const remaining = due.at - Date.now()
      if (remaining <= 0) return Effect.fail(deadlineError(route.modelId, due, 0, undefined))
      const timed = within(retried, remaining, () => Effect.fail(deadlineError(route.modelId, due, sent, last)))
      return Effect.flatMap(timed, ({ result, json }) => {
        const context = { modelId: route.modelId, requestId: result.requestId }
        const decoded = decodeResponseResult(spec, json, call, options, context)
        return Result.isSuccess(decoded)
          ? Effect.succeed({ call, result, decoded: decoded.success, failedAttempts, throttledAttempts })
          : Effect.fail(decoded.failure)
      })
    })

  return {
    concurrency,
    maxConcurrency,
    limiter,
    retry,
    requestDeadline,
    invoke,
    stats: () => ({ ...counters })
  }
}

export type Caller = ReturnType<typeof makeCaller>
