/**
 * Running Bedrock calls: the adaptive limiter, retries of retryable errors with jittered
 * exponential backoff (harder on throttles, never sooner than Bedrock asked), and the counters.
 *
 * @internal
 */
import { Duration, Effect, Result, Schedule } from "effect"
import type * as BedrockRuntime from "../BedrockRuntime.ts"
import { type BedrockError, type ModelInvocationError, type ResponseDecodeError, ThrottlingError } from "../Errors.ts"
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
}

export type Retry = <A, R>(
  effect: Effect.Effect<A, BedrockError, R>,
  retries: number | undefined
) => Effect.Effect<A, BedrockError, R>

const backoff = (baseDelay: Duration.Duration, maxDelay: Duration.Duration, retries: number) =>
  Schedule.max([
    Schedule.exponential(baseDelay, 2).pipe(
      Schedule.modifyDelay(({ duration, input }: { duration: Duration.Duration; input: BedrockError }) => {
        // Throttling means the account is at its limit: back off harder, and never sooner than Bedrock asked.
        const throttled = input instanceof ThrottlingError
        let delay = Duration.min(throttled ? Duration.times(duration, 2) : duration, maxDelay)
        if (throttled && input.retryAfter !== undefined) delay = Duration.max(delay, input.retryAfter)
        return Effect.succeed(delay)
      }),
      Schedule.jittered
    ),
    Schedule.recurs(retries)
  ])

export const makeCaller = (runtime: BedrockRuntime.Service, options: CallerOptions) => {
  const concurrency = options.concurrency ?? 16
  const maxConcurrency = Math.max(concurrency, options.maxConcurrency ?? concurrency * 4)
  const limiter = Limiter.make({ initial: concurrency, max: maxConcurrency })
  const counters = { calls: 0, throttles: 0, retries: 0 }
  const baseDelay = Duration.fromInputUnsafe(options.retryBaseDelay ?? "100 millis")
  const maxDelay = Duration.fromInputUnsafe(options.maxRetryDelay ?? "20 seconds")
  const defaultRetries = options.maxRetries ?? 8
  const defaultSchedule = backoff(baseDelay, maxDelay, defaultRetries)
  const scheduleOf = (retries: number | undefined) =>
    retries === undefined || retries === defaultRetries ? defaultSchedule : backoff(baseDelay, maxDelay, retries)

  const retry: Retry = (effect, retries) =>
    Effect.retry(effect, { schedule: scheduleOf(retries), while: (error: BedrockError) => error.retryable })

  /** One planned call through the limiter, retried, then decoded. */
  const invoke = (
    resolved: Resolved,
    target: BedrockRuntime.Target,
    call: PlannedCall,
    options: ModelSpec.CallOptions<unknown>,
    float32: boolean
  ): Effect.Effect<CallResult, BedrockError | ResponseDecodeError | ModelInvocationError> =>
    Effect.suspend(() => {
      const { route, spec, controls } = resolved
      let failedAttempts = 0
      const attempt = limiter
        .withPermit(
          runtime.invokeModel({
            modelId: route.modelId,
            target,
            body: call.body,
            headers: controls.headers,
            timeoutMs: controls.timeoutMs
          })
        )
        .pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              counters.calls++
              limiter.onSuccess()
            })
          ),
          Effect.tapError((error) =>
            Effect.sync(() => {
              failedAttempts++
              counters.calls++
              counters.retries++
              if (error instanceof ThrottlingError) {
                counters.throttles++
                limiter.onThrottle()
              }
            })
          )
        )
      // Reading and checking the body is plain code, once per call: no effect per step.
      return Effect.flatMap(retry(attempt, controls.retries), (result) => {
        const context = { modelId: route.modelId, requestId: result.requestId }
        const decoded = Result.flatMap(parseBodyResult(spec, result.body, float32, context), (json) =>
          decodeResponseResult(spec, json, call, options, context)
        )
        return Result.isSuccess(decoded)
          ? Effect.succeed({ call, result, decoded: decoded.success, failedAttempts })
          : Effect.fail(decoded.failure)
      })
    })

  return {
    concurrency,
    maxConcurrency,
    limiter,
    retry,
    invoke,
    stats: () => ({ ...counters })
  }
}

export type Caller = ReturnType<typeof makeCaller>
