/** The registry of emulated models: each handler validates a body the way Bedrock does and answers it. */
import type { BedrockFault } from "./Errors.ts"

/** A successful model answer. */
export interface ModelAnswer {
  readonly body: unknown
  /** Input tokens, also sent as `x-amzn-bedrock-input-token-count`. */
  readonly inputTokens: number
}

/** What an async job may do while it runs. */
export interface AsyncIO {
  /** Reads an input object (`s3://…`); `undefined` when it does not exist. */
  readonly read: (uri: string) => Promise<Uint8Array | undefined>
  /** The job's output folder, `{s3Uri}/{invocationId}` (no trailing slash). */
  readonly outputUri: string
}

/** The outcome of an async job: files to write under the output folder, or why it failed. */
export type AsyncOutcome = { readonly files: Readonly<Record<string, string>> } | { readonly failure: string }

/** How a model runs as a StartAsyncInvoke job. */
export interface AsyncHandler {
  /** Checks `modelInput` at submission, as Bedrock does; a fault rejects the StartAsyncInvoke call. */
  readonly validate: (modelInput: unknown) => BedrockFault | undefined
  /** Runs the job. */
  readonly run: (modelInput: unknown, io: AsyncIO) => Promise<AsyncOutcome>
}

/** What a synchronous invocation may use besides its body. */
export interface InvokeContext {
  /** The `x-amzn-requestid` the answer goes out with (Cohere echoes it as `id`). */
  readonly requestId: string
  /** Reads an input object (`s3://…`) from the emulator's S3; `undefined` when it does not exist. */
  readonly read: (uri: string) => Promise<Uint8Array | undefined>
}

/** An emulated model. */
export interface ModelHandler {
  /** The canonical model id, e.g. `amazon.titan-embed-text-v2:0`. */
  readonly id: string
  /** Whether a base model id (no geo prefix, no ARN, no provisioned-throughput suffix) names this model. */
  readonly matches: (baseModelId: string) => boolean
  /**
   * Answers an InvokeModel body (already parsed JSON). A body that points at S3 media makes the
   * answer asynchronous.
   */
  readonly invoke: (
    body: unknown,
    context: InvokeContext
  ) => ModelAnswer | BedrockFault | Promise<ModelAnswer | BedrockFault>
  /** Whether InvokeModel in `region` needs an inference profile (a geo-prefixed id or profile ARN). */
  readonly profileOnly?: ((region: string) => boolean) | undefined
  /** StartAsyncInvoke support; absent for models Bedrock runs synchronously only. */
  readonly async?: AsyncHandler | undefined
}

/** Whether a handler result is a fault. */
export const isFault = (result: ModelAnswer | BedrockFault): result is BedrockFault => "error" in result

/** The model id as sent, taken apart. */
export interface ResolvedModelId {
  /** The base model id: geo prefix and ARN stripped; `undefined` for ARNs the emulator does not know. */
  readonly base: string | undefined
  /** Whether the id names an inference profile (a geo prefix, or an inference-profile ARN). */
  readonly profile: boolean
}

const geoPrefixes = new Set(["us", "eu", "apac", "global", "jp", "au", "ca", "us-gov", "apne"])
const arnPattern = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d{0,12}:(foundation-model|inference-profile)\/(.+)$/

/** Takes a model id as sent apart: ARN, geo prefix, base model id. */
export const resolveModelId = (modelId: string): ResolvedModelId => {
  let id = modelId
  let profile = false
  if (id.startsWith("arn:")) {
    const match = arnPattern.exec(id)
    if (match === null) return { base: undefined, profile: false }
    id = match[2]!
    profile = match[1] === "inference-profile"
  }
  const dot = id.indexOf(".")
  if (dot > 0 && geoPrefixes.has(id.slice(0, dot)) && id.indexOf(".", dot + 1) > 0) {
    id = id.slice(dot + 1)
    profile = true
  }
  return { base: id, profile }
}

/** The base model id of a model id as sent: geo prefix and ARN stripped; `undefined` for other ARNs. */
export const baseModelId = (modelId: string): string | undefined => resolveModelId(modelId).base

/** A provisioned-throughput id with a context suffix, `amazon.titan-embed-text-v1:2:8k`. */
const contextual = /^(.+):(\d+):([0-9a-z]+)$/

/**
 * The model a base id names. Bedrock's provisioned-throughput ids add `:<version>:<context>`
 * to the model (`amazon.titan-embed-text-v2:0:8k`, `cohere.embed-english-v3:0:512`, where the
 * on-demand id has no version, or `amazon.titan-embed-text-v1:2:8k`): they name the same model.
 */
export const findModel = (models: ReadonlyArray<ModelHandler>, base: string | undefined): ModelHandler | undefined => {
  if (base === undefined) return undefined
  const direct = models.find((m) => m.matches(base))
  if (direct !== undefined) return direct
  const match = contextual.exec(base)
  if (match === null) return undefined
  const versioned = `${match[1]}:${match[2]}`
  return models.find((m) => m.matches(versioned)) ?? models.find((m) => m.matches(match[1]!))
}
