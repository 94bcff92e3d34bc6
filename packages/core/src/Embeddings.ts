/**
 * The engine: resolve the request once (`Plan.resolve`) → check its inputs and group them into
 * calls (`Plan.plan`) → encode and send each call as a slot frees up, with bounded adaptive
 * concurrency, retrying only retryable errors with jittered exponential backoff → decode → one
 * OpenAI-format response in input order, with the usage Bedrock reported and its cost.
 *
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer, Stream } from "effect"
import * as AwsCredentials from "./AwsCredentials.ts"
import * as BedrockRuntime from "./BedrockRuntime.ts"
import * as EmbeddingRequest from "./EmbeddingRequest.ts"
import type { EmbeddingResponse } from "./EmbeddingResponse.ts"
import { type BedrockError, type EmbeddingError, InvalidRequestError } from "./Errors.ts"
import { makeCaller, type RoutedAttempts } from "./internal/caller.ts"
import { collector, usageOf } from "./internal/response.ts"
import { makeStreamer, type StreamItem as Item } from "./internal/stream.ts"
import { submit } from "./internal/submit.ts"
import type * as Limiter from "./Limiter.ts"
import type * as Media from "./Media.ts"
import * as Plan from "./Plan.ts"
import * as Pricing from "./Pricing.ts"
import * as ProviderRegistry from "./ProviderRegistry.ts"
import * as Target from "./Target.ts"

/**
 * Engine options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Bedrock calls in flight at start, shared by every request of this engine. Default 16. */
  readonly concurrency?: number | undefined
  /**
   * Upper bound for adaptive concurrency: calls in flight grow by one per round of successes and
   * halve on throttling (AIMD), between 1 and this. Default 4 × `concurrency`; set it equal to
   * `concurrency` for a fixed limit.
   */
  readonly maxConcurrency?: number | undefined
  /** Retries of one call on retryable errors. Default 8. */
  readonly maxRetries?: number | undefined
  /**
   * Longest one Bedrock call may take, every attempt and backoff included, when the request sets
   * no `timeout` (which bounds the whole request instead); past it the call fails with
   * `ModelTimeoutError` (`deadlineMs` set). Each attempt also ends at the transport's
   * `requestTimeoutMs`. Default 3 minutes.
   */
  readonly totalTimeout?: Duration.Input | undefined
  /**
   * The most bytes one Bedrock response may have (a request's `max_response_bytes` overrides it);
   * a longer one fails its call with `ResponseDecodeError`, never holding more. Default
   * `BedrockRuntime.defaultMaxResponseBytes` (64 MiB).
   */
  readonly maxResponseBytes?: number | undefined
  /** First backoff delay; doubles each retry, with jitter. Default 100 ms (throttles: 5× that). */
  readonly retryBaseDelay?: Duration.Input | undefined
  /** Longest single backoff delay. Default 20 s. */
  readonly maxRetryDelay?: Duration.Input | undefined
  /** Most inputs one request may carry. Default {@link defaultMaxInputs}. */
  readonly maxInputs?: number | undefined
  /**
   * `embedStream`'s reorder window, in inputs: how many it may have started (in flight, or done
   * and waiting to be emitted in order) from the oldest one not yet emitted. A call retried with
   * backoff delays only its own results until the window is full behind it; memory holds at most
   * this many inputs' vectors. Never fewer than `maxConcurrency` calls' worth. Default
   * 64 × `maxConcurrency` (4 096).
   */
  readonly streamWindow?: number | undefined
}

/**
 * The default cap on inputs per request: a request holds all its vectors in memory at once.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxInputs = Plan.defaultMaxInputs

/**
 * One result of {@link Service.embedStream}. The first item of each Bedrock call carries that
 * call's `tokens` and `cost`, so summing them over the stream gives the totals.
 *
 * @category models
 * @since 0.1.0
 */
export type StreamItem = Item

/**
 * How {@link Service.embedDecoded} reads vectors.
 *
 * @category models
 * @since 0.1.0
 */
export interface DecodeOptions {
  /** Vectors as `Float32Array`s (always so for `encoding_format: "base64"`). */
  readonly float32?: boolean | undefined
  /**
   * Called for each Bedrock call that succeeded, as it succeeds, with its input tokens and cost:
   * what Bedrock billed so far, also when the request fails or is interrupted later (a gateway
   * records that spend for a request that did not finish). On success the sums equal the
   * response's usage and cost.
   */
  readonly onCall?: ((billed: Billed) => void) | undefined
  /**
   * A router over deployments of this model: it picks where each attempt of each call goes and
   * hears how it ended, so retries move to another deployment instead of waiting on one that
   * throttles. The engine's per-call retries stay the only retry loop (the request's
   * `num_retries`, its deadline); the router only steers them. Without it every attempt goes to
   * the request's own target.
   */
  readonly failover?: Failover | undefined
}

/**
 * Where a call's attempts go (see {@link DecodeOptions.failover}). Target 0 is the request's
 * own parameters; the others are other deployments of the same model, as their `Target.Params`
 * (region, endpoint, identity).
 *
 * @category models
 * @since 0.1.0
 */
export interface Failover {
  readonly others: ReadonlyArray<Target.Params>
  /**
   * The target of a call's attempt `attempt` (0 is its first try): an index, 0 for the request's
   * own; `previous` is the target of the attempt before (that failed), if any.
   */
  readonly pick: (attempt: number, previous: number | undefined) => number
  /**
   * An attempt ended on target `index`: `error` is its failure (`undefined` when it succeeded),
   * `ms` its time (`undefined` when it was interrupted: the request is gone). For a failure,
   * return `true` when the next attempt goes elsewhere at once: it is sent without backoff, and
   * the throttle does not slow the engine.
   */
  readonly settled: (index: number, error: BedrockError | undefined, ms: number | undefined) => boolean
  /**
   * Whether a failed attempt is tried again (a retry policy by error kind), within the request's
   * retries and deadline; `failures` counts this call's failed attempts so far, and `retryable`
   * is what the engine would decide itself (the error's `retryable`, or a 200 whose body is not
   * JSON). Default: `retryable`.
   */
  readonly retries?: ((error: BedrockError, failures: number, retryable: boolean) => boolean) | undefined
}

/**
 * What a request's vectors will be, without a call: the Bedrock model and the vector length.
 *
 * @category models
 * @since 0.1.0
 */
export interface Described {
  readonly modelId: string
  readonly dimensions: number
}

/**
 * One successful call's part of a request's spend.
 *
 * @category models
 * @since 0.1.0
 */
export interface Billed {
  readonly inputTokens: number
  readonly cost: number
}

/**
 * The engine's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Embeds a request; fails with a typed error, never with a partial response. */
  readonly embed: (request: EmbeddingRequest.EmbeddingRequest) => Effect.Effect<EmbeddingResponse, EmbeddingError>
  /**
   * Embeds a request already checked by `EmbeddingRequest.decode` (a gateway's parsed body). With
   * `float32`, vectors are `Float32Array`s read straight from the bytes, each keeping the JSON text
   * Bedrock wrote for it (`Float32Json.jsonText`), so a gateway can pass it through unformatted.
   */
  readonly embedDecoded: (
    request: EmbeddingRequest.Decoded,
    options?: DecodeOptions
  ) => Effect.Effect<EmbeddingResponse, EmbeddingError>
  /**
   * Embeds a stream of inputs with the other request fields fixed: the request is resolved once,
   * results come out in input order, and an input that fails yields an error item instead of
   * failing the stream. Calls run ahead of a slow (retrying) one within a reorder window of
   * `streamWindow` inputs, so it delays only its own results and memory stays bounded by the
   * window. Interrupting the stream aborts the calls in flight. Bad request parameters fail the
   * stream at once.
   */
  readonly embedStream: <E, R>(
    request: Omit<EmbeddingRequest.EmbeddingRequest, "input">,
    inputs: Stream.Stream<Media.InputItem, E, R>
  ) => Stream.Stream<StreamItem, EmbeddingError | E, R>
  /**
   * What a request checked by `EmbeddingRequest.decode` would produce (its model and vector
   * length), resolved as `embedDecoded` resolves it, with no Bedrock call; its inputs are not
   * looked at. A gateway checks that fallbacks agree on dimensions with it.
   */
  readonly describe: (request: EmbeddingRequest.Decoded) => Effect.Effect<Described, EmbeddingError>
  /** The adaptive concurrency limiter shared by this engine's calls. */
  readonly limiter: Limiter.Limiter
  /** Counters since the engine started: Bedrock calls made, throttled, and retried. */
  readonly stats: () => { readonly calls: number; readonly throttles: number; readonly retries: number }
}

/**
 * The embedding engine service.
 *
 * @category services
 * @since 0.1.0
 */
export class Embeddings extends Context.Service<Embeddings, Service>()("@bedrock-embed/core/Embeddings") {}

/**
 * Makes the engine.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const runtime = yield* BedrockRuntime.BedrockRuntime
  const credentials = yield* AwsCredentials.AwsCredentials
  const pricing = yield* Pricing.Pricing
  const caller = makeCaller(runtime, options)
  const streamer = makeStreamer(caller, pricing, options.streamWindow)
  const maxInputs = options.maxInputs ?? Plan.defaultMaxInputs

  const targetOf = (resolved: Plan.Resolved) =>
    Target.runtime(resolved.known, resolved.route.region).pipe(
      Effect.provideService(AwsCredentials.AwsCredentials, credentials)
    )

  /** A router's targets, resolved with the request's (a deployment's bad region fails the request). */
  const routedOf = (resolved: Plan.Resolved, own: BedrockRuntime.Target, failover: Failover) =>
    Effect.map(
      Effect.forEach(failover.others, (params) =>
        Target.runtime(params, resolved.route.region).pipe(
          Effect.provideService(AwsCredentials.AwsCredentials, credentials)
        )
      ),
      (others): RoutedAttempts => ({
        targets: [own, ...others],
        pick: failover.pick,
        settled: failover.settled,
        retries: failover.retries
      })
    )

  const describe = (request: EmbeddingRequest.Decoded) =>
    Effect.map(Plan.resolve(registry, request), (resolved) => ({
      modelId: resolved.route.modelId,
      dimensions: resolved.options.dimensions ?? resolved.spec.capabilities.defaultDimension
    }))

  const embedDecoded = Effect.fn("Embeddings.embed")(function* (
    request: EmbeddingRequest.Decoded,
    decodeOptions: DecodeOptions = {}
  ) {
    const resolved = yield* Plan.resolve(registry, request)
    const { route, spec } = resolved
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": route.modelId, "bedrock.family": spec.family })
    // Every input is checked before any call is sent, so a bad request costs nothing.
    const planned = yield* Plan.plan(resolved, yield* Plan.itemsOfRequest(resolved.known, maxInputs))
    const target = yield* targetOf(resolved)
    if (resolved.async !== undefined) return yield* submit(runtime, caller, resolved, planned, target)
    const routed =
      decodeOptions.failover === undefined ? undefined : yield* routedOf(resolved, target, decodeOptions.failover)
    // base64 output needs float32 values anyway: read them straight into Float32Arrays.
    const float32 = decodeOptions.float32 === true || resolved.known.encoding_format === "base64"
    const collect = collector(resolved, planned.inputs.length)
    const onCall = decodeOptions.onCall
    const counted = (outcome: Parameters<typeof collect.add>[0]) => {
      collect.add(outcome)
      const usage = usageOf(outcome)
      onCall?.({ inputTokens: usage.inputTokens, cost: pricing.cost(resolved.spec, usage, resolved.price) })
    }
    // The request's `timeout` is one deadline for all its calls.
    const deadline = caller.requestDeadline(resolved)
    const one = (group: ReadonlyArray<number>) =>
      Plan.encodeCall(spec, planned, group).pipe(
        Effect.flatMap((call) => caller.invoke(resolved, target, call, planned.options, float32, deadline, routed)),
        Effect.map(onCall === undefined ? collect.add : counted)
      )
    // One call (most requests) runs in this fiber; several fork, bounded.
    if (planned.groups.length === 1) yield* one(planned.groups[0]!)
    else {
      // The limiter decides how many calls are really in flight; this only bounds the fibers.
      yield* Effect.forEach(planned.groups, one, { concurrency: caller.maxConcurrency, discard: true })
    }
    return collect.response(pricing, target.region)
  })

  const embed = (request: EmbeddingRequest.EmbeddingRequest) =>
    Effect.flatMap(EmbeddingRequest.decode(request), (decoded) => embedDecoded(decoded))

  const embedStream = <E, R>(
    request: Omit<EmbeddingRequest.EmbeddingRequest, "input">,
    inputs: Stream.Stream<Media.InputItem, E, R>
  ): Stream.Stream<StreamItem, EmbeddingError | E, R> =>
    Stream.unwrap(
      Effect.gen(function* () {
        // Resolved once, up front: a bad parameter fails the stream, not every item. `input`
        // stands in for the stream's items, which are planned a group at a time.
        const decoded = yield* EmbeddingRequest.decode({ ...request, input: "" })
        const resolved = yield* Plan.resolve(registry, decoded)
        if (resolved.async !== undefined) {
          return yield* new InvalidRequestError({
            message: `embedStream embeds through InvokeModel; submit async-invoke jobs with embed and "${request.model}".`,
            param: "model"
          })
        }
        const target = yield* targetOf(resolved)
        return streamer(resolved, target, inputs)
      })
    )

  return Embeddings.of({ embed, embedDecoded, embedStream, describe, limiter: caller.limiter, stats: caller.stats })
})

/**
 * The engine with default options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Embeddings,
  never,
  ProviderRegistry.ProviderRegistry | BedrockRuntime.BedrockRuntime | AwsCredentials.AwsCredentials | Pricing.Pricing
> = Layer.effect(Embeddings, make())

/**
 * The engine with options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (
  options: Options
): Layer.Layer<
  Embeddings,
  never,
  ProviderRegistry.ProviderRegistry | BedrockRuntime.BedrockRuntime | AwsCredentials.AwsCredentials | Pricing.Pricing
> => Layer.effect(Embeddings, make(options))
