/**
 * The stream path: a request resolved once, its inputs taken a call's worth at a time, vectors
 * read straight into `Float32Array`s, results in input order; a group that fails because of an
 * input is retried input by input so one bad input yields one error item, not a failed stream.
 * A request's `timeout` bounds each call here (every attempt of it), not the endless stream.
 *
 * Order is kept by a reorder window ({@link inOrder}), not by waiting on the oldest call: groups
 * start as fast as calls can run and a retried call delays only its own results, while the window
 * bounds how many groups are started and not yet emitted (so memory stays flat).
 *
 * @internal
 */
import { Effect, Result, Semaphore, Stream } from "effect"
import type * as BedrockRuntime from "../BedrockRuntime.ts"
import type { EmbeddingError } from "../Errors.ts"
import type * as Media from "../Media.ts"
import * as Plan from "../Plan.ts"
import type * as Pricing from "../Pricing.ts"
import type { Caller } from "./caller.ts"
import { usageOf } from "./response.ts"

/**
 * One result of a stream: the first item of each Bedrock call carries that call's `tokens` and
 * `cost`, so summing them over the stream gives the totals.
 */
export type StreamItem =
  | {
      readonly index: number
      readonly embedding: Float32Array
      readonly tokens?: number | undefined
      readonly cost?: number | undefined
    }
  | { readonly index: number; readonly error: EmbeddingError }

type Entry = readonly [Media.InputItem, number]

/**
 * Whether an error can be one input's fault, so that sending the inputs one by one isolates it:
 * a bad input we caught (`InvalidRequestError`), a body Bedrock rejected (`BedrockValidationError`,
 * HTTP 400) and a model that failed on its input (`ModelInvocationError`, HTTP 424 or a per-input
 * failure in the body). Everything else would fail every input the same way — identity
 * (`CredentialsError`, `AccessDeniedError`), the model or account (`ResourceNotFoundError`,
 * `UnsupportedModelError`, `QuotaExceededError`), throttles, 5xx and timeouts past their retries —
 * or is a fault of the answer, not the input (`ResponseDecodeError`): splitting would only
 * multiply the calls, so every input of the group gets the error.
 */
const inputCaused = (error: EmbeddingError): boolean =>
  error._tag === "InvalidRequestError" ||
  error._tag === "BedrockValidationError" ||
  error._tag === "ModelInvocationError"

const asFloat32 = (vector: ReadonlyArray<number>): Float32Array =>
  vector instanceof Float32Array ? vector : Float32Array.from(vector)

/**
 * The default window: inputs a stream may hold started ahead of its oldest unfinished group, per
 * unit of the engine's `maxConcurrency` (so 4 096 at the default 64: 16 MiB of 1024-dimension
 * vectors). A call retried with backoff takes seconds; the window lets the calls behind it go on
 * for that long instead of waiting for it.
 */
export const windowInputsPerSlot = 64

/**
 * The window in groups: `windowInputs` inputs' worth, and never fewer than `running` (the
 * fibers that may run calls at once), so the window never holds back the concurrency itself.
 */
export const windowGroups = (windowInputs: number, groupSize: number, running: number): number =>
  Math.max(running, Math.floor(windowInputs / Math.max(1, groupSize)) || 0)

/**
 * `f` over a stream with up to `running` effects at once, each effect's results emitted flat and
 * in input order through a reorder window: a group takes a slot before it starts and gives it back
 * when its results are emitted, so at most `window` groups are running or done and waiting for an
 * older one. A slow effect delays only its own results and, once the window is full behind it,
 * new starts; the others keep running. Interrupting the stream interrupts every running effect.
 *
 * Two stages and a flatten, the fewest that keep the bound: the sequential one takes a slot and
 * numbers the group (so upstream is pulled only once a slot is free), the concurrent one runs it
 * and hands back, in order, every result its finishing made ready.
 */
export const inOrder = <A, B, E, R, R2>(
  inputs: Stream.Stream<A, E, R>,
  f: (a: A) => Effect.Effect<ReadonlyArray<B>, never, R2>,
  options: { readonly running: number; readonly window: number }
): Stream.Stream<B, E, R | R2> =>
  Stream.unwrap(
    Effect.map(Semaphore.make(options.window), (slots) => {
      const done = new Map<number, ReadonlyArray<B>>()
      const none: ReadonlyArray<B> = []
      let next = 0
      let started = 0
      /** Takes a finished group; hands back every result now ready, in order, freeing their slots. */
      const settle = (at: number, result: ReadonlyArray<B>): Effect.Effect<ReadonlyArray<B>> => {
        if (at !== next) {
          done.set(at, result)
          return Effect.succeed(none)
        }
        next++
        let freed = 1
        let ready = result
        let more = done.get(next)
        if (more !== undefined) {
          const all = Array.from(result)
          do {
            done.delete(next++)
            freed++
            for (const b of more) all.push(b)
            more = done.get(next)
          } while (more !== undefined)
          ready = all
        }
        return Effect.as(slots.release(freed), ready)
      }
      return inputs.pipe(
        // Sequential: upstream is pulled only once a slot is free, which is what bounds the window.
        Stream.mapEffect((a) => Effect.map(slots.take(1), () => [a, started++] as const)),
        Stream.mapEffect(([a, at]) => Effect.flatMap(f(a), (b) => settle(at, b)), {
          concurrency: options.running,
          unordered: true
        }),
        Stream.flattenIterable
      )
    })
  )

export const makeStreamer = (caller: Caller, pricing: Pricing.Service, windowInputs?: number) => {
  const inputsWindow = windowInputs ?? windowInputsPerSlot * caller.maxConcurrency
  /** One group's inputs, planned and called; a failure fails the whole group. */
  const embedGroup = (
    resolved: Plan.Resolved,
    target: BedrockRuntime.Target,
    group: ReadonlyArray<Entry>
  ): Effect.Effect<ReadonlyArray<StreamItem>, EmbeddingError> =>
    // Planned and encoded as plain code: a stream plans once per group, where the effects of
    // `Plan.plan` and `Plan.encodeCall` showed in the per-call cost.
    Effect.suspend((): Effect.Effect<ReadonlyArray<StreamItem>, EmbeddingError> => {
      const planned = Plan.planResult(
        resolved,
        group.map(([item]) => item)
      )
      if (Result.isFailure(planned)) return Effect.fail(planned.failure)
      const plan = planned.success
      const out: Array<StreamItem> = new Array(group.length)
      const one = (indices: ReadonlyArray<number>): Effect.Effect<void, EmbeddingError> => {
        const encoded = Plan.encodeCallResult(resolved.spec, plan, indices)
        if (Result.isFailure(encoded)) return Effect.fail(encoded.failure)
        const call = encoded.success
        return Effect.map(caller.invoke(resolved, target, call, plan.options, "without text"), (outcome) => {
          const usage = usageOf(outcome)
          const cost = pricing.cost(resolved.spec, usage, resolved.price)
          const vectors = outcome.decoded.vectors
          for (let j = 0; j < vectors.length; j++) {
            const at = call.indices[j]!
            const index = group[at]![1]
            const embedding = asFloat32(vectors[j]!)
            out[at] = j === 0 ? { index, embedding, tokens: usage.inputTokens, cost } : { index, embedding }
          }
        })
      }
      // One call per group is the common case (and the only one for one-input models): no fork.
      const calls =
        plan.groups.length === 1
          ? one(plan.groups[0]!)
          : Effect.forEach(plan.groups, one, { concurrency: "unbounded", discard: true })
      return Effect.as(calls, out)
    })

  /** A group, or each of its inputs alone when one of them made the group fail. */
  const isolate = (
    resolved: Plan.Resolved,
    target: BedrockRuntime.Target,
    group: ReadonlyArray<Entry>
  ): Effect.Effect<ReadonlyArray<StreamItem>> =>
    // Data-first: the pipeable `withSpan` drops its options, and the stack trace a span captures by
    // default cost more than the rest of the group's effects together.
    Effect.withSpan(embedGroup(resolved, target, group), "Embeddings.embedStream.call", {
      captureStackTrace: false
    }).pipe(
      Effect.catch((error: EmbeddingError) =>
        group.length === 1 || !inputCaused(error)
          ? Effect.succeed(group.map(([, index]) => ({ index, error })))
          : Effect.map(
              Effect.forEach(group, (entry) => isolate(resolved, target, [entry]), { concurrency: 4 }),
              (parts) => parts.flat()
            )
      )
    )

  return <E, R>(
    resolved: Plan.Resolved,
    target: BedrockRuntime.Target,
    inputs: Stream.Stream<Media.InputItem, E, R>
  ): Stream.Stream<StreamItem, E, R> => {
    const size = resolved.spec.capabilities.maxInputsPerCall
    // The limiter decides how many calls are really in flight; `running` only bounds the fibers,
    // as `embed` does, so a retried call waits for a permit behind no more callers than there.
    const running = caller.maxConcurrency
    return inputs.pipe(
      Stream.zipWithIndex,
      // One input per call (the common case for text models): a plain map, cheaper than `grouped`.
      (entries): Stream.Stream<ReadonlyArray<Entry>, E, R> =>
        size === 1 ? Stream.map(entries, (entry) => [entry]) : Stream.grouped(entries, size),
      (groups) =>
        inOrder(groups, (group) => isolate(resolved, target, group), {
          running,
          window: windowGroups(inputsWindow, size, running)
        })
    )
  }
}
