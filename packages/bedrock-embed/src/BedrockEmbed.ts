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
  type Errors,
  type ModelSpec,
  Pricing,
  ProviderRegistry
} from "@bedrock-embed/core"
import * as Cohere from "@bedrock-embed/provider-cohere"
import * as Nova from "@bedrock-embed/provider-nova"
import * as Titan from "@bedrock-embed/provider-titan"
import * as TwelveLabs from "@bedrock-embed/provider-twelvelabs"
import { Cause, Exit, Layer, ManagedRuntime } from "effect"

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
 * The engine with every provider, the AWS transport, credentials and prices.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Embeddings.Embeddings> =>
  Embeddings.layerWith(options.engine ?? {}).pipe(
    Layer.provide(
      Layer.mergeAll(
        registry,
        BedrockRuntime.layerWith(options.transport ?? {}),
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
  /** Closes the client's connections. */
  readonly dispose: () => Promise<void>
}

const settle = <A>(exit: Exit.Exit<A, Errors.EmbeddingError>): A => {
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
  return {
    embedding: (request, callOptions) =>
      runtime
        .runPromiseExit(
          Embeddings.Embeddings.use((engine) => engine.embed(request)),
          callOptions?.signal === undefined ? undefined : { signal: callOptions.signal }
        )
        .then(settle),
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
  shared ??= make()
  return shared.embedding(request, options)
}
