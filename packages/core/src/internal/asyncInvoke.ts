/**
 * The async-invoke operations (StartAsyncInvoke, GetAsyncInvoke, ListAsyncInvokes) on
 * `@aws-sdk/client-bedrock-runtime`, loaded on first use.
 *
 * @internal
 */
import type {
  AsyncInvokeSummary,
  BedrockRuntimeClient,
  ListAsyncInvokesCommand,
  StartAsyncInvokeCommand
} from "@aws-sdk/client-bedrock-runtime"
import type { NodeHttpHandler, NodeHttpHandlerOptions } from "@smithy/node-http-handler"
import type { DocumentType } from "@smithy/types"
import { Effect } from "effect"
import type { AsyncJob, AsyncJobFilter, StartAsyncInvokeInput, Target } from "../BedrockRuntime.ts"
import { fromSdk } from "./awsErrors.ts"
import type * as ClientCache from "./clientCache.ts"
import { endpointOf, keyOf } from "./endpoint.ts"
import { lazyImport } from "./lazy.ts"

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
 * The SDK's request handler on the transport's shared pool. `NodeHttpHandler.destroy` destroys
 * its agents, which would cut every other client's and InvokeModel's sockets when one idle client
 * is released; the pool is closed with the layer instead.
 */
const pooledHandler = (module: typeof import("@smithy/node-http-handler")): PooledHandler =>
  class PooledHttpHandler extends module.NodeHttpHandler {
    override destroy(): void {}
  }

type PooledHandler = new (options: NodeHttpHandlerOptions) => NodeHttpHandler

/**
 * The async-invoke SDK and its HTTP handler, loaded on first use: InvokeModel does not need them,
 * so a gateway or a bulk run that never submits a job does not carry them in memory.
 */
type Sdk = typeof import("@aws-sdk/client-bedrock-runtime")
export interface Loaded {
  readonly sdk: Sdk
  readonly Handler: PooledHandler
}
export const loadSdk = lazyImport(
  (): Promise<Loaded> =>
    Promise.all([import("@aws-sdk/client-bedrock-runtime"), import("@smithy/node-http-handler")]).then(
      ([sdk, handler]) => ({ sdk, Handler: pooledHandler(handler) })
    )
)

/** StartAsyncInvoke, with the caller's extra headers added before signing. */
const startCommand = (sdk: Sdk, input: StartAsyncInvokeInput): StartAsyncInvokeCommand => {
  const command = new sdk.StartAsyncInvokeCommand({
    modelId: input.modelId,
    // The SDK types a JSON document; the provider's codec made and checked this one.
    modelInput: input.modelInput as DocumentType,
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
  return command
}

const listCommand = (sdk: Sdk, f: AsyncJobFilter): ListAsyncInvokesCommand =>
  new sdk.ListAsyncInvokesCommand({
    ...(f.status === undefined ? {} : { statusEquals: f.status }),
    ...(f.submitTimeAfter === undefined ? {} : { submitTimeAfter: f.submitTimeAfter }),
    ...(f.submitTimeBefore === undefined ? {} : { submitTimeBefore: f.submitTimeBefore }),
    ...(f.maxResults === undefined ? {} : { maxResults: f.maxResults }),
    ...(f.nextToken === undefined ? {} : { nextToken: f.nextToken }),
    sortBy: "SubmissionTime",
    sortOrder: f.sortOrder ?? "Descending"
  })

/** The async-invoke operations on the SDK; interruption aborts the request (`abortSignal`). */
export const asyncOperationsWith = (
  clients: ClientCache.ClientCache<{ readonly target: Target; readonly loaded: Loaded }, BedrockRuntimeClient>
) => {
  /** Sends one command; every SDK failure becomes a tagged error. */
  const send = <A>(
    target: Target,
    modelId: string | undefined,
    run: (client: BedrockRuntimeClient, sdk: Sdk, signal: AbortSignal) => Promise<A>
  ) =>
    Effect.flatMap(loadSdk, (loaded) =>
      clients.use(keyOf(target), { target, loaded }, (client) =>
        Effect.tryPromise({
          try: (signal) => run(client, loaded.sdk, signal),
          catch: (cause) =>
            fromSdk(cause, { ...(modelId === undefined ? {} : { modelId }), endpoint: endpointOf(target) })
        })
      )
    )

  const startAsyncInvoke = Effect.fn("BedrockRuntime.startAsyncInvoke")(function* (input: StartAsyncInvokeInput) {
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": input.modelId, "aws.region": input.target.region })
    const output = yield* send(input.target, input.modelId, (client, sdk, signal) =>
      client.send(startCommand(sdk, input), { abortSignal: signal })
    )
    return { invocationArn: output.invocationArn ?? "", requestId: output.$metadata.requestId }
  })

  const getAsyncInvoke = Effect.fn("BedrockRuntime.getAsyncInvoke")(function* (input: {
    readonly invocationArn: string
    readonly target: Target
  }) {
    const output = yield* send(input.target, undefined, (client, sdk, signal) =>
      client.send(new sdk.GetAsyncInvokeCommand({ invocationArn: input.invocationArn }), { abortSignal: signal })
    )
    return toJob(output)
  })

  const listAsyncInvokes = Effect.fn("BedrockRuntime.listAsyncInvokes")(function* (input: {
    readonly filter: AsyncJobFilter
    readonly target: Target
  }) {
    const output = yield* send(input.target, undefined, (client, sdk, signal) =>
      client.send(listCommand(sdk, input.filter), { abortSignal: signal })
    )
    return { jobs: (output.asyncInvokeSummaries ?? []).map(toJob), nextToken: output.nextToken }
  })

  return { startAsyncInvoke, getAsyncInvoke, listAsyncInvokes }
}
