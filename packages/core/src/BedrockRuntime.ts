/**
 * The transport: Bedrock Runtime calls.
 *
 * InvokeModel, the hot call, is a SigV4-signed (`aws4`, `internal/sigv4.ts`) or bearer POST on a
 * keep-alive HTTP/1.1 pool: the SDK's generic middleware stack cost more client CPU per call than
 * the rest of the engine (see `pnpm bench`). The async-invoke operations use the official
 * `@aws-sdk/client-bedrock-runtime` on the same pool. Per region, endpoint and identity, InvokeModel's
 * signers are kept in a map (the 1 024 most recently used) and SDK clients in an `RcMap`
 * (released after five idle minutes); all are released, then the pool closed, with the layer.
 * Neither retries (`maxAttempts: 1`): the engine is the one layer that retries. Interrupting a
 * call aborts its HTTP request.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as Https from "node:https"
import { Context, type Duration, Effect, Layer } from "effect"
import type * as AwsCredentials from "./AwsCredentials.ts"
import { type BedrockError, ResponseDecodeError } from "./Errors.ts"
import { asyncOperationsWith, type Loaded } from "./internal/asyncInvoke.ts"
import { fromSdk } from "./internal/awsErrors.ts"
import * as ClientCache from "./internal/clientCache.ts"
import { endpointOf, keyOf } from "./internal/endpoint.ts"
import {
  type Connection,
  connect,
  isOversize,
  isWireError,
  makeInvoker,
  type OversizeResponse,
  type WireError
} from "./internal/invoke.ts"
import { sdkAuth } from "./internal/sdkAuth.ts"

/**
 * Where and as whom a call is made.
 *
 * @category models
 * @since 0.1.0
 */
export interface Target {
  readonly region: string
  /** A custom endpoint (emulator, VPC endpoint, gateway); `undefined` for AWS's regional endpoint. */
  readonly endpoint: string | undefined
  readonly auth: AwsCredentials.Auth
}

/**
 * What InvokeModel returned.
 *
 * @category models
 * @since 0.1.0
 */
export interface InvokeResult {
  /** The raw response body (the model's JSON). */
  readonly body: Uint8Array
  readonly requestId: string | undefined
  /** Bedrock's `x-amzn-bedrock-input-token-count` header, when present. */
  readonly inputTokenCount: number | undefined
}

/**
 * An async-invoke job as Bedrock reports it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncJob {
  readonly invocationArn: string
  readonly modelArn: string
  readonly status: "InProgress" | "Completed" | "Failed"
  readonly failureMessage: string | undefined
  readonly clientRequestToken: string | undefined
  readonly submitTime: Date | undefined
  readonly lastModifiedTime: Date | undefined
  readonly endTime: Date | undefined
  /** Where the job writes its output: the requested `s3Uri` with the job's id appended. */
  readonly outputS3Uri: string | undefined
}

/**
 * An InvokeModel request.
 *
 * @category models
 * @since 0.1.0
 */
export interface InvokeInput {
  readonly modelId: string
  readonly body: string
  readonly target: Target
  /** Extra headers sent (and signed) with the call: lower-case names, none of the reserved ones. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A deadline for this attempt in milliseconds, instead of the transport's. */
  readonly timeoutMs?: number | undefined
  /** The most response bytes to read, instead of the transport's `maxResponseBytes`. */
  readonly maxResponseBytes?: number | undefined
}

/**
 * A StartAsyncInvoke request.
 *
 * @category models
 * @since 0.1.0
 */
export interface StartAsyncInvokeInput {
  readonly modelId: string
  readonly modelInput: unknown
  readonly outputS3Uri: string
  readonly bucketOwner?: string | undefined
  readonly kmsKeyId?: string | undefined
  /** Idempotency token: the same token and body never start a second job. */
  readonly clientRequestToken: string
  readonly target: Target
  /** Extra headers sent (and signed) with the call. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * ListAsyncInvokes filters.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncJobFilter {
  readonly status?: "InProgress" | "Completed" | "Failed" | undefined
  readonly submitTimeAfter?: Date | undefined
  readonly submitTimeBefore?: Date | undefined
  readonly maxResults?: number | undefined
  readonly nextToken?: string | undefined
  readonly sortOrder?: "Ascending" | "Descending" | undefined
}

/**
 * The transport's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** InvokeModel with a JSON body. */
  readonly invokeModel: (input: InvokeInput) => Effect.Effect<InvokeResult, BedrockError>
  /** StartAsyncInvoke: submits a job, returns its invocation ARN. */
  readonly startAsyncInvoke: (
    input: StartAsyncInvokeInput
  ) => Effect.Effect<{ readonly invocationArn: string; readonly requestId: string | undefined }, BedrockError>
  /** GetAsyncInvoke. */
  readonly getAsyncInvoke: (input: {
    readonly invocationArn: string
    readonly target: Target
  }) => Effect.Effect<AsyncJob, BedrockError>
  /** ListAsyncInvokes: one page. */
  readonly listAsyncInvokes: (input: {
    readonly filter: AsyncJobFilter
    readonly target: Target
  }) => Effect.Effect<{ readonly jobs: ReadonlyArray<AsyncJob>; readonly nextToken: string | undefined }, BedrockError>
}

/**
 * The transport service.
 *
 * @category services
 * @since 0.1.0
 */
export class BedrockRuntime extends Context.Service<BedrockRuntime, Service>()("@bedrock-embed/core/BedrockRuntime") {}

/**
 * Transport options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Sockets kept per client (one client per region/endpoint/identity). Default 64. */
  readonly maxSockets?: number | undefined
  /** Per-request timeout in milliseconds. Default 60 000. */
  readonly requestTimeoutMs?: number | undefined
  /** Connection timeout in milliseconds. Default 5 000. */
  readonly connectionTimeoutMs?: number | undefined
  /** The most bytes of one InvokeModel response read; a longer one fails the call. Default {@link defaultMaxResponseBytes}. */
  readonly maxResponseBytes?: number | undefined
  /** How long a region/endpoint/identity's SDK client (async-invoke calls) is kept unused. Default 5 minutes. */
  readonly clientIdleTimeToLive?: Duration.Input | undefined
}

export {
  /**
   * The endpoint used when the target names none.
   *
   * @category getters
   * @since 0.1.0
   */
  defaultEndpoint
} from "./internal/endpoint.ts"

/**
 * Five minutes: far longer than the gaps between one identity's async-invoke calls (a poller asks
 * every few seconds), so a client and its resolved identity are reused across a job's life, yet a
 * gateway serving many short-lived identities does not keep every one of them for its lifetime.
 */
const CLIENT_IDLE_TIME_TO_LIVE: Duration.Input = "5 minutes"

/**
 * The most bytes of one InvokeModel response read by default: 64 MiB. The largest legitimate
 * body is a full batch of the widest vectors in every embedding type the models offer, plus the
 * echoed input texts — about 5 MB of vectors and at most the 25 MB request again, JSON escaping
 * included well under 64 MiB. A longer answer is a fault, and never gets memory for its
 * `content-length`.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxResponseBytes = 64 * 1024 * 1024

const oversizeError = (outcome: OversizeResponse, modelId: string) => {
  const size =
    outcome.declared === undefined
      ? `sent more than ${outcome.limit} bytes (reading stopped there)`
      : `declared ${outcome.declared} bytes (content-length; nothing was read)`
  return new ResponseDecodeError({
    message:
      `Bedrock's HTTP ${outcome.status} response for ${modelId} ${size}, over the ${outcome.limit}-byte limit, ` +
      "so the call was abandoned. If the model really answers that much, raise the engine's maxResponseBytes " +
      "option or the request's max_response_bytes.",
    modelId,
    httpStatus: outcome.status,
    ...(outcome.requestId === undefined ? {} : { requestId: outcome.requestId })
  })
}

type Invoker = ReturnType<typeof makeInvoker>

/**
 * Connections (endpoint and signer) kept, least recently used first out. They hold no sockets
 * (the pool is shared), so dropping one is free and safe mid-call; a bound, not an idle timer,
 * keeps a gateway serving many identities from growing — and the hot path timer-free.
 */
const CONNECTIONS = 1024

/**
 * The connections, by target key: a plain map in recency order (a hit moves to the end, the
 * first is dropped past {@link CONNECTIONS}), looked up synchronously, once per call.
 */
const connectionsCache = () => {
  const connections = new Map<string, Connection>()
  return (target: Target): Connection => {
    const key = keyOf(target)
    let connection = connections.get(key)
    if (connection === undefined) {
      connection = connect(target, endpointOf(target))
      if (connections.size >= CONNECTIONS) connections.delete(connections.keys().next().value!)
    } else connections.delete(key)
    connections.set(key, connection)
    return connection
  }
}

/** InvokeModel on the lean path; interruption cancels the request. */
const invokeModelWith = (connectionFor: (target: Target) => Connection, invoker: Invoker) => {
  const call = (input: InvokeInput) =>
    Effect.flatMap(
      Effect.callback<InvokeResult | WireError | OversizeResponse>((resume) => {
        const cancel = invoker.invoke(
          connectionFor(input.target),
          input.modelId,
          input.body,
          (result) => resume(Effect.succeed(result)),
          { headers: input.headers, timeoutMs: input.timeoutMs, maxResponseBytes: input.maxResponseBytes }
        )
        return Effect.sync(cancel)
      }),
      (outcome): Effect.Effect<InvokeResult, BedrockError> =>
        isOversize(outcome)
          ? Effect.fail(oversizeError(outcome, input.modelId))
          : isWireError(outcome)
            ? Effect.fail(fromSdk(outcome, { modelId: input.modelId, endpoint: endpointOf(input.target) }))
            : Effect.succeed(outcome)
    )
  // A span per call, without the stack trace `Effect.fn` captures for it: capturing one cost more
  // than the rest of the span, tens of thousands of times per corpus.
  return (input: InvokeInput): Effect.Effect<InvokeResult, BedrockError> =>
    Effect.withSpan(call(input), "BedrockRuntime.invokeModel", {
      attributes: { "bedrock.model_id": input.modelId, "aws.region": input.target.region },
      captureStackTrace: false
    })
}

/**
 * Makes the transport. Signers and SDK clients are made on first use per region, endpoint and
 * identity (signers beyond the 1 024 most recently used are dropped, SDK clients released when
 * idle) and all released, then the connection pool closed, when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const maxSockets = options.maxSockets ?? 64
  const requestTimeout = options.requestTimeoutMs ?? 60_000
  const connectionTimeout = options.connectionTimeoutMs ?? 5_000
  const maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes
  const idleTimeToLive = options.clientIdleTimeToLive ?? CLIENT_IDLE_TIME_TO_LIVE
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets }
  const httpAgent = new Http.Agent(agentOptions)
  const httpsAgent = new Https.Agent(agentOptions)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      httpAgent.destroy()
      httpsAgent.destroy()
    })
  )
  // Made after the pool's finalizer, so closed before it: clients are released, then the pool.
  const clients = yield* ClientCache.make({
    acquire: ({ target, loaded }: { readonly target: Target; readonly loaded: Loaded }) =>
      new loaded.sdk.BedrockRuntimeClient({
        region: target.region,
        ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
        maxAttempts: 1,
        requestHandler: new loaded.Handler({ httpAgent, httpsAgent, requestTimeout, connectionTimeout }),
        ...sdkAuth(target.auth)
      }),
    release: (client) => client.destroy(),
    idleTimeToLive
  })
  const invoker = makeInvoker({
    httpAgent,
    httpsAgent,
    requestTimeoutMs: requestTimeout,
    connectionTimeoutMs: connectionTimeout,
    maxResponseBytes
  })
  return BedrockRuntime.of({
    invokeModel: invokeModelWith(connectionsCache(), invoker),
    ...asyncOperationsWith(clients)
  })
})

/**
 * The transport with default options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<BedrockRuntime> = Layer.effect(BedrockRuntime, make())

/**
 * The transport with options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (options: Options): Layer.Layer<BedrockRuntime> => Layer.effect(BedrockRuntime, make(options))
