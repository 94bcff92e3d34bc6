/**
 * The stream path: a request resolved once, its inputs taken a call's worth at a time, vectors
 * read straight into `Float32Array`s, results in input order; a group that fails because of an
 * input is retried input by input so one bad input yields one error item, not a failed stream.
 * A request's `timeout` bounds each call here (every attempt of it), not the endless stream.
 *
 * @internal
 */
import { Effect, Stream } from "effect"
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

export const makeStreamer = (caller: Caller, pricing: Pricing.Service) => {
  /** One group's inputs, planned and called; a failure fails the whole group. */
  const embedGroup = (
    resolved: Plan.Resolved,
    target: BedrockRuntime.Target,
    group: ReadonlyArray<Entry>
  ): Effect.Effect<ReadonlyArray<StreamItem>, EmbeddingError> =>
    Effect.gen(function* () {
      const planned = yield* Plan.plan(
        resolved,
        group.map(([item]) => item)
      )
      const out: Array<StreamItem> = new Array(group.length)
      yield* Effect.forEach(
        planned.groups,
        (indices) =>
          Effect.flatMap(Plan.encodeCall(resolved.spec, planned, indices), (call) =>
            Effect.map(caller.invoke(resolved, target, call, planned.options, true), (outcome) => {
              const usage = usageOf(outcome)
              const cost = pricing.cost(resolved.spec, usage, resolved.price)
              outcome.decoded.vectors.forEach((vector, j) => {
                const at = call.indices[j]!
                out[at] = {
                  index: group[at]![1],
                  embedding: asFloat32(vector),
                  ...(j === 0 ? { tokens: usage.inputTokens, cost } : {})
                }
              })
            })
          ),
        { concurrency: "unbounded", discard: true }
      )
      return out
    })

  /** A group, or each of its inputs alone when one of them made the group fail. */
  const isolate = (
    resolved: Plan.Resolved,
    target: BedrockRuntime.Target,
    group: ReadonlyArray<Entry>
  ): Effect.Effect<ReadonlyArray<StreamItem>> =>
    embedGroup(resolved, target, group).pipe(
      Effect.withSpan("Embeddings.embedStream.call"),
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
  ): Stream.Stream<StreamItem, E, R> =>
    inputs.pipe(
      Stream.zipWithIndex,
      Stream.grouped(resolved.spec.capabilities.maxInputsPerCall),
      Stream.mapEffect((group) => isolate(resolved, target, group), { concurrency: caller.maxConcurrency }),
      Stream.flattenIterable
    )
}
