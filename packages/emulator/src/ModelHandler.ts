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

/** An emulated model. */
export interface ModelHandler {
  /** The canonical model id, e.g. `amazon.titan-embed-text-v2:0`. */
  readonly id: string
  /** Whether a base model id (no geo prefix, no ARN) names this model. */
  readonly matches: (baseModelId: string) => boolean
  /** Answers an InvokeModel body (already parsed JSON). */
  readonly invoke: (body: unknown) => ModelAnswer | BedrockFault
  /** StartAsyncInvoke support; absent for models Bedrock runs synchronously only. */
  readonly async?: AsyncHandler | undefined
}

/** Whether a handler result is a fault. */
export const isFault = (result: ModelAnswer | BedrockFault): result is BedrockFault => "error" in result

const geoPrefixes = new Set(["us", "eu", "apac", "global", "jp", "au", "ca", "us-gov", "apne"])
const arnPattern = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d{0,12}:(foundation-model|inference-profile)\/(.+)$/

/** The base model id of a model id as sent: geo prefix and ARN stripped; `undefined` for other ARNs. */
export const baseModelId = (modelId: string): string | undefined => {
  let id = modelId
  if (id.startsWith("arn:")) {
    const match = arnPattern.exec(id)
    if (match === null) return undefined
    id = match[2]!
  }
  const dot = id.indexOf(".")
  if (dot > 0 && geoPrefixes.has(id.slice(0, dot)) && id.indexOf(".", dot + 1) > 0) id = id.slice(dot + 1)
  return id
}
