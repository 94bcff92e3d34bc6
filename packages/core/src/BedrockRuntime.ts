/**
 * The transport: Bedrock Runtime calls on the official `@aws-sdk/client-bedrock-runtime`.
 *
 * Clients are cached per region, endpoint and identity. Each client runs on a keep-alive HTTP/1.1
 * connection pool sized to the engine's concurrency, so a burst of calls reuses warm sockets
 * instead of opening a connection (or an HTTP/2 session, the SDK's default) per call. The SDK's
 * own retries are off (`maxAttempts: 1`): the engine is the one layer that retries.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as Https from "node:https"
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { Context, Effect, Layer, Redacted } from "effect"
import type * as AwsCredentials from "./AwsCredentials.ts"
import type { BedrockError } from "./Errors.ts"
import { fromSdk } from "./internal/awsErrors.ts"

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
 * The transport's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** InvokeModel with a JSON body. */
  readonly invokeModel: (input: {
    readonly modelId: string
    readonly body: string
    readonly target: Target
  }) => Effect.Effect<InvokeResult, BedrockError>
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
}

/**
 * The endpoint used when the target names none.
 *
 * @category getters
 * @since 0.1.0
 */
export const defaultEndpoint = (region: string): string =>
  `https://bedrock-runtime.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`

const inputTokens = new WeakMap<object, number>()

/**
 * Makes the transport. Clients are created on first use and destroyed with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const maxSockets = options.maxSockets ?? 64
  const clients = new Map<string, BedrockRuntimeClient>()
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets }
  const httpAgent = new Http.Agent(agentOptions)
  const httpsAgent = new Https.Agent(agentOptions)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const client of clients.values()) client.destroy()
      clients.clear()
      httpAgent.destroy()
      httpsAgent.destroy()
    })
  )

  const clientFor = (target: Target): BedrockRuntimeClient => {
    const key = `${target.region}\u0000${target.endpoint ?? ""}\u0000${target.auth.cacheKey}`
    let client = clients.get(key)
    if (client !== undefined) return client
    const auth = target.auth
    client = new BedrockRuntimeClient({
      region: target.region,
      ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        httpAgent,
        httpsAgent,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
        connectionTimeout: options.connectionTimeoutMs ?? 5_000
      }),
      // An explicit preference wins over AWS_BEARER_TOKEN_BEDROCK in the environment, so the identity
      // AwsCredentials chose is the one used.
      ...(auth._tag === "Bearer"
        ? {
            authSchemePreference: ["httpBearerAuth"],
            token: async () => ({ token: Redacted.value(auth.token) })
          }
        : { authSchemePreference: ["sigv4"], credentials: auth.credentials })
    })
    // Bedrock reports input tokens in a header the SDK does not model; keep it beside the output.
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args)
        const headers = (result.response as { headers?: Record<string, string> }).headers
        const count = headers?.["x-amzn-bedrock-input-token-count"]
        if (count !== undefined && typeof result.output === "object" && result.output !== null) {
          inputTokens.set(result.output, Number(count))
        }
        return result
      },
      { step: "deserialize", name: "bedrockEmbedInputTokenHeader" }
    )
    clients.set(key, client)
    return client
  }

  const invokeModel = Effect.fn("BedrockRuntime.invokeModel")(function* (input: {
    readonly modelId: string
    readonly body: string
    readonly target: Target
  }) {
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": input.modelId, "aws.region": input.target.region })
    const client = clientFor(input.target)
    const endpoint = input.target.endpoint ?? defaultEndpoint(input.target.region)
    const output = yield* Effect.tryPromise({
      try: (signal) =>
        client.send(
          new InvokeModelCommand({
            modelId: input.modelId,
            body: input.body,
            contentType: "application/json",
            accept: "application/json"
          }),
          { abortSignal: signal }
        ),
      catch: (cause) => fromSdk(cause, { modelId: input.modelId, endpoint })
    })
    return {
      body: output.body,
      requestId: output.$metadata.requestId,
      inputTokenCount: inputTokens.get(output)
    } satisfies InvokeResult
  })

  return BedrockRuntime.of({ invokeModel })
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
