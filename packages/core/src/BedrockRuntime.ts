/**
 * The transport: Bedrock Runtime calls.
 *
 * InvokeModel, the hot call, is a SigV4-signed (`@smithy/signature-v4`) or bearer POST on a
 * keep-alive HTTP/1.1 pool: the SDK's generic middleware stack cost more client CPU per call than
 * the rest of the engine (see `pnpm bench`). The async-invoke operations use the official
 * `@aws-sdk/client-bedrock-runtime`, cached per region, endpoint and identity, on the same pool.
 * Neither retries (`maxAttempts: 1`): the engine is the one layer that retries.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as Https from "node:https"
import {
  type AsyncInvokeSummary,
  BedrockRuntimeClient,
  GetAsyncInvokeCommand,
  ListAsyncInvokesCommand,
  StartAsyncInvokeCommand
} from "@aws-sdk/client-bedrock-runtime"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { Context, Effect, Layer } from "effect"
import type * as AwsCredentials from "./AwsCredentials.ts"
import type { BedrockError } from "./Errors.ts"
import { fromSdk } from "./internal/awsErrors.ts"
import { sdkAuth } from "./internal/sdkAuth.ts"
import { isWireError, makeInvoker, type WireError } from "./internal/invoke.ts"

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
}

/**
 * The endpoint used when the target names none.
 *
 * @category getters
 * @since 0.1.0
 */
export const defaultEndpoint = (region: string): string =>
  `https://bedrock-runtime.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`

const toJob = (summary: AsyncInvokeSummary): AsyncJob => ({
  invocationArn: summary.invocationArn ?? "",
  modelArn: summary.modelArn ?? "",
  status: summary.status ?? "InProgress",
  failureMessage: summary.failureMessage,
  clientRequestToken: summary.clientRequestToken,
  submitTime: summary.submitTime,
  lastModifiedTime: summary.lastModifiedTime,
  endTime: summary.endTime,
  outputS3Uri: summary.outputDataConfig?.s3OutputDataConfig?.s3Uri
})

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

  const invoker = makeInvoker({
    httpAgent,
    httpsAgent,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 5_000,
    endpointFor: (target) => target.endpoint ?? defaultEndpoint(target.region)
  })

  const clientFor = (target: Target): BedrockRuntimeClient => {
    const key = `${target.region}\u0000${target.endpoint ?? ""}\u0000${target.auth.cacheKey}`
    let client = clients.get(key)
    if (client !== undefined) return client
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
      ...sdkAuth(target.auth)
    })
    clients.set(key, client)
    return client
  }

  /** Sends one command; every SDK failure becomes a tagged error. */
  const send = <A>(
    target: Target,
    modelId: string | undefined,
    run: (client: BedrockRuntimeClient, signal: AbortSignal) => Promise<A>
  ) =>
    Effect.tryPromise({
      try: (signal) => run(clientFor(target), signal),
      catch: (cause) =>
        fromSdk(cause, {
          ...(modelId === undefined ? {} : { modelId }),
          endpoint: target.endpoint ?? defaultEndpoint(target.region)
        })
    })

  const invokeModel = Effect.fn("BedrockRuntime.invokeModel")(function* (input: InvokeInput) {
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": input.modelId, "aws.region": input.target.region })
    const outcome = yield* Effect.callback<InvokeResult | WireError>((resume) => {
      const cancel = invoker.invoke(
        input.target,
        input.modelId,
        input.body,
        (result) => resume(Effect.succeed(result)),
        {
          headers: input.headers,
          timeoutMs: input.timeoutMs
        }
      )
      return Effect.sync(cancel)
    })
    if (isWireError(outcome)) {
      return yield* Effect.fail(
        fromSdk(outcome, {
          modelId: input.modelId,
          endpoint: input.target.endpoint ?? defaultEndpoint(input.target.region)
        })
      )
    }
    return outcome
  })

  const startAsyncInvoke = Effect.fn("BedrockRuntime.startAsyncInvoke")(function* (input: StartAsyncInvokeInput) {
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": input.modelId, "aws.region": input.target.region })
    const output = yield* send(input.target, input.modelId, (client, signal) => {
      const command = new StartAsyncInvokeCommand({
        modelId: input.modelId,
        // biome-ignore lint/suspicious/noExplicitAny: the SDK types modelInput as a JSON document
        modelInput: input.modelInput as any,
        clientRequestToken: input.clientRequestToken,
        outputDataConfig: {
          s3OutputDataConfig: {
            s3Uri: input.outputS3Uri,
            ...(input.bucketOwner === undefined ? {} : { bucketOwner: input.bucketOwner }),
            ...(input.kmsKeyId === undefined ? {} : { kmsKeyId: input.kmsKeyId })
          }
        }
      })
      const headers = input.headers
      if (headers !== undefined && Object.keys(headers).length > 0) {
        // Added at the build step, before the signer runs, so the headers are signed.
        command.middlewareStack.add(
          (next) => (args) => {
            const request = args.request as { headers?: Record<string, string> }
            if (request.headers !== undefined) Object.assign(request.headers, headers)
            return next(args)
          },
          { step: "build", name: "bedrockEmbedExtraHeaders" }
        )
      }
      return client.send(command, { abortSignal: signal })
    })
    return { invocationArn: output.invocationArn ?? "", requestId: output.$metadata.requestId }
  })

  const getAsyncInvoke = Effect.fn("BedrockRuntime.getAsyncInvoke")(function* (input: {
    readonly invocationArn: string
    readonly target: Target
  }) {
    const output = yield* send(input.target, undefined, (client, signal) =>
      client.send(new GetAsyncInvokeCommand({ invocationArn: input.invocationArn }), { abortSignal: signal })
    )
    return toJob(output)
  })

  const listAsyncInvokes = Effect.fn("BedrockRuntime.listAsyncInvokes")(function* (input: {
    readonly filter: AsyncJobFilter
    readonly target: Target
  }) {
    const f = input.filter
    const output = yield* send(input.target, undefined, (client, signal) =>
      client.send(
        new ListAsyncInvokesCommand({
          ...(f.status === undefined ? {} : { statusEquals: f.status }),
          ...(f.submitTimeAfter === undefined ? {} : { submitTimeAfter: f.submitTimeAfter }),
          ...(f.submitTimeBefore === undefined ? {} : { submitTimeBefore: f.submitTimeBefore }),
          ...(f.maxResults === undefined ? {} : { maxResults: f.maxResults }),
          ...(f.nextToken === undefined ? {} : { nextToken: f.nextToken }),
          sortBy: "SubmissionTime",
          sortOrder: f.sortOrder ?? "Descending"
        }),
        { abortSignal: signal }
      )
    )
    return { jobs: (output.asyncInvokeSummaries ?? []).map(toJob), nextToken: output.nextToken }
  })

  return BedrockRuntime.of({ invokeModel, startAsyncInvoke, getAsyncInvoke, listAsyncInvokes })
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
