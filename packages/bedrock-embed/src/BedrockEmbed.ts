/**
 * Batteries included: every finished provider wired to the engine, as an Effect layer and as a
 * Promise API whose rejections are the typed error instances.
 *
 * @since 0.1.0
 */
import {
  AwsCredentials,
  BedrockRuntime,
  type EmbeddingRequest,
  type EmbeddingResponse,
  Embeddings,
  Jobs,
  ModelRoute,
  type ModelSpec,
  ObjectStore,
  Pricing,
  ProviderRegistry
} from "@bedrock-embed/core"
import * as Cohere from "@bedrock-embed/provider-cohere"
import * as Nova from "@bedrock-embed/provider-nova"
import * as Titan from "@bedrock-embed/provider-titan"
import * as TwelveLabs from "@bedrock-embed/provider-twelvelabs"
import { Cause, type Effect, Exit, Layer, ManagedRuntime, Result } from "effect"

/**
 * Options of a client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Engine options: concurrency and retries. */
  readonly engine?: Embeddings.Options | undefined
  /** Transport options: socket pool and timeouts. */
  readonly transport?: BedrockRuntime.Options | undefined
  /** Price overrides keyed by canonical model id. */
  readonly prices?: Readonly<Record<string, ModelSpec.Price>> | undefined
}

/**
 * Every model spec this package wires.
 *
 * @category models
 * @since 0.1.0
 */
export const specs: ReadonlyArray<ModelSpec.Any> = [...Titan.specs, ...Cohere.specs, ...Nova.specs, ...TwelveLabs.specs]

/**
 * The spec serving a model string (`bedrock/…` or a bare id, geo prefixes and ARNs included), if any.
 *
 * @category models
 * @since 0.1.0
 */
export const findSpec = (model: string): ModelSpec.Any | undefined => {
  const route = ModelRoute.parse(model)
  return Result.isSuccess(route) ? specs.find((spec) => spec.matches(route.success.baseModelId)) : undefined
}

/**
 * The registry with every provider of this package registered.
 *
 * @category layers
 * @since 0.1.0
 */
export const registry: Layer.Layer<ProviderRegistry.ProviderRegistry> = Layer.provideMerge(
  Layer.mergeAll(Titan.layer, Cohere.layer, Nova.layer, TwelveLabs.layer),
  ProviderRegistry.layer
)

/**
 * The engine and the jobs service with every provider, the AWS transport, S3, credentials and prices.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Embeddings.Embeddings | Jobs.Jobs> =>
  Layer.mergeAll(Embeddings.layerWith(options.engine ?? {}), Jobs.layer).pipe(
    Layer.provide(
      Layer.mergeAll(
        registry,
        BedrockRuntime.layerWith(options.transport ?? {}),
        ObjectStore.layer,
        AwsCredentials.layer,
        Pricing.layerOverrides(options.prices ?? {})
      )
    )
  )

/**
 * Options of one call.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallOptions {
  /** Aborts the call: in-flight Bedrock requests are cancelled. */
  readonly signal?: AbortSignal | undefined
}

/**
 * A batch request: the job's ARN plus optional region, endpoints and identity.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchRequest extends Jobs.Params {
  /** The `_invocation_arn` of an async embedding response. */
  readonly batch_id: string
}

/**
 * A client: the Promise API over one engine.
 *
 * @category models
 * @since 0.1.0
 */
export interface Client {
  /** Embeds a request; rejects with a typed error from `Errors`. */
  readonly embedding: (
    request: EmbeddingRequest.EmbeddingRequest,
    options?: CallOptions
  ) => Promise<EmbeddingResponse.EmbeddingResponse>
  /** The status of an async-invoke job (`in_progress` | `completed` | `failed`). */
  readonly retrieveBatch: (request: BatchRequest, options?: CallOptions) => Promise<Jobs.BatchStatus>
  /** Polls a job until it ends; rejects with `AsyncJobFailedError` or `AsyncJobTimeoutError`. */
  readonly awaitBatch: (request: BatchRequest & Jobs.AwaitOptions, options?: CallOptions) => Promise<Jobs.BatchStatus>
  /** Reads a completed job's vectors back from S3, with their modality and segment times. */
  readonly batchResults: (request: BatchRequest, options?: CallOptions) => Promise<Jobs.BatchResults>
  /** One page of jobs, newest first. */
  readonly listBatches: (
    filter?: Jobs.ListFilter & Jobs.Params,
    options?: CallOptions
  ) => Promise<{ readonly data: ReadonlyArray<Jobs.BatchStatus>; readonly next_token: string | undefined }>
  /** Closes the client's connections. */
  readonly dispose: () => Promise<void>
}

const settle = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  // The typed error itself (an Error subclass), or the defect, so `instanceof` works for callers.
  throw Cause.squash(exit.cause)
}

/**
 * Makes a client with its own connections and options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options = {}): Client => {
  const runtime = ManagedRuntime.make(layer(options))
  const run = <A, E>(effect: Effect.Effect<A, E, Embeddings.Embeddings | Jobs.Jobs>, callOptions?: CallOptions) =>
    runtime
      .runPromiseExit(effect, callOptions?.signal === undefined ? undefined : { signal: callOptions.signal })
      .then(settle)
  return {
    embedding: (request, callOptions) =>
      run(
        Embeddings.Embeddings.use((engine) => engine.embed(request)),
        callOptions
      ),
    retrieveBatch: ({ batch_id, ...params }, callOptions) =>
      run(
        Jobs.Jobs.use((jobs) => jobs.retrieve(batch_id, params)),
        callOptions
      ),
    awaitBatch: ({ batch_id, ...params }, callOptions) =>
      run(
        Jobs.Jobs.use((jobs) => jobs.await(batch_id, params)),
        callOptions
      ),
    batchResults: ({ batch_id, ...params }, callOptions) =>
      run(
        Jobs.Jobs.use((jobs) => jobs.results(batch_id, params)),
        callOptions
      ),
    listBatches: (filter = {}, callOptions) => {
      const { status, submitted_after, submitted_before, limit, after, ...params } = filter
      return run(
        Jobs.Jobs.use((jobs) => jobs.list({ status, submitted_after, submitted_before, limit, after }, params)),
        callOptions
      )
    },
    dispose: () => runtime.dispose()
  }
}

let shared: Client | undefined

/**
 * Embeds with the shared default client: `embedding({ model: "bedrock/<model id>", input })`.
 * Rejections are instances of the classes in `Errors` (`InvalidRequestError`, `ThrottlingError`, …).
 *
 * @category api
 * @since 0.1.0
 */
export const embedding = (
  request: EmbeddingRequest.EmbeddingRequest,
  options?: CallOptions
): Promise<EmbeddingResponse.EmbeddingResponse> => {
  return client().embedding(request, options)
}

const client = (): Client => {
  shared ??= make()
  return shared
}

/**
 * The status of an async-invoke job, with the shared default client.
 *
 * @category api
 * @since 0.1.0
 */
export const retrieveBatch = (request: BatchRequest, options?: CallOptions): Promise<Jobs.BatchStatus> =>
  client().retrieveBatch(request, options)

/**
 * Polls an async-invoke job until it ends, with the shared default client.
 *
 * @category api
 * @since 0.1.0
 */
export const awaitBatch = (
  request: BatchRequest & Jobs.AwaitOptions,
  options?: CallOptions
): Promise<Jobs.BatchStatus> => client().awaitBatch(request, options)

/**
 * Reads a completed async-invoke job's vectors from S3, with the shared default client.
 *
 * @category api
 * @since 0.1.0
 */
export const batchResults = (request: BatchRequest, options?: CallOptions): Promise<Jobs.BatchResults> =>
  client().batchResults(request, options)

/**
 * Lists async-invoke jobs, newest first, with the shared default client.
 *
 * @category api
 * @since 0.1.0
 */
export const listBatches = (
  filter?: Jobs.ListFilter & Jobs.Params,
  options?: CallOptions
): ReturnType<Client["listBatches"]> => client().listBatches(filter, options)
