/**
 * Async invoke: StartAsyncInvoke, GetAsyncInvoke and ListAsyncInvokes with Bedrock's shapes.
 * Jobs go InProgress → Completed (or Failed, e.g. for missing or bad media) after a configurable
 * delay, and write their outputs to S3 under `{s3Uri}/{invocationId}/` as Bedrock does.
 */
import { randomBytes } from "node:crypto"
import type { BedrockFault } from "./Errors.ts"
import { findModel, type ModelHandler, resolveModelId } from "./ModelHandler.ts"
import type { ObjectStore } from "./S3.ts"
import * as Validate from "./Validate.ts"

/** A job as GetAsyncInvoke reports it. */
export interface AsyncJob {
  readonly invocationArn: string
  readonly modelArn: string
  readonly clientRequestToken: string | undefined
  status: "InProgress" | "Completed" | "Failed"
  failureMessage?: string
  readonly submitTime: string
  lastModifiedTime: string
  endTime?: string
  readonly outputDataConfig: { readonly s3OutputDataConfig: { readonly s3Uri: string; readonly bucketOwner?: string } }
  /** The submitted body, to tell a retried submission from a conflicting one. */
  readonly fingerprint: string
  /** The submitted modelInput (not part of Bedrock's answers; for tests and debugging). */
  readonly modelInput: unknown
}

/** An answer of an async operation: a JSON body or a fault. */
export type AsyncAnswer = { readonly body: unknown } | BedrockFault

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
const jobId = () => {
  const bytes = randomBytes(12)
  let id = ""
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length]
  return id
}

const startBody = Validate.object({
  clientRequestToken: { check: Validate.string(1) },
  modelId: { check: Validate.string(1), required: true },
  modelInput: { check: () => undefined, required: true },
  outputDataConfig: {
    required: true,
    check: Validate.object({
      s3OutputDataConfig: {
        required: true,
        check: Validate.object({
          s3Uri: { check: Validate.string(1), required: true },
          kmsKeyId: { check: Validate.string(1) },
          bucketOwner: { check: Validate.string(12) }
        })
      }
    })
  },
  tags: {
    check: Validate.arrayOf(
      Validate.object({
        key: { check: Validate.string(1), required: true },
        value: { check: Validate.string(0), required: true }
      }),
      { maxItems: 200 }
    )
  }
})

const s3UriPattern = /^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/

/** What a job store needs: where it runs, its models, S3, and how long jobs take. */
export interface JobStoreOptions {
  readonly region: string
  readonly account: string
  readonly models: ReadonlyArray<ModelHandler>
  readonly store: () => Promise<ObjectStore>
  readonly delayMs: () => number
}

/** The job store and its operations. */
export const makeJobs = (options: JobStoreOptions) => {
  const jobs = new Map<string, AsyncJob>()
  const byToken = new Map<string, AsyncJob>()
  const timers = new Set<NodeJS.Timeout>()

  const finish = async (job: AsyncJob, handler: ModelHandler, modelInput: unknown) => {
    try {
      const store = await options.store()
      const outputUri = job.outputDataConfig.s3OutputDataConfig.s3Uri
      const outcome = await handler.async!.run(modelInput, { read: store.read, outputUri })
      if ("failure" in outcome) {
        job.status = "Failed"
        job.failureMessage = outcome.failure
      } else {
        for (const [name, body] of Object.entries(outcome.files)) await store.write(`${outputUri}/${name}`, body)
        job.status = "Completed"
      }
    } catch (error) {
      job.status = "Failed"
      job.failureMessage = `Internal error while running the job: ${(error as Error).message}`
    }
    const now = new Date().toISOString()
    job.lastModifiedTime = now
    job.endTime = now
  }

  const start = (raw: unknown): AsyncAnswer => {
    const fault = Validate.body(startBody, raw)
    if (fault !== undefined) return fault
    const request = raw as {
      clientRequestToken?: string
      modelId: string
      modelInput: unknown
      outputDataConfig: { s3OutputDataConfig: { s3Uri: string; bucketOwner?: string } }
    }
    const fingerprint = JSON.stringify([request.modelId, request.modelInput, request.outputDataConfig])
    if (request.clientRequestToken !== undefined) {
      const existing = byToken.get(request.clientRequestToken)
      if (existing !== undefined) {
        return existing.fingerprint === fingerprint
          ? { body: { invocationArn: existing.invocationArn } }
          : {
              error: "ConflictException",
              message: "The clientRequestToken was already used for a different request."
            }
      }
    }
    const { base, profile } = resolveModelId(request.modelId)
    if (profile) {
      // Bedrock runs async jobs on base models only: inference profiles are rejected.
      return { error: "ValidationException", message: "The provided model doesn't support async inference." }
    }
    const handler = findModel(options.models, base)
    if (handler === undefined) {
      return { error: "ValidationException", message: "The provided model identifier is invalid." }
    }
    if (handler.async === undefined) {
      return { error: "ValidationException", message: "The provided model doesn't support async inference." }
    }
    const s3Uri = request.outputDataConfig.s3OutputDataConfig.s3Uri
    if (!s3UriPattern.test(s3Uri)) {
      return {
        error: "ValidationException",
        message: `1 validation error detected: Value '${s3Uri}' at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?`
      }
    }
    const inputFault = handler.async.validate(request.modelInput)
    if (inputFault !== undefined) return inputFault
    const id = jobId()
    const now = new Date().toISOString()
    const job: AsyncJob = {
      invocationArn: `arn:aws:bedrock:${options.region}:${options.account}:async-invoke/${id}`,
      modelArn: `arn:aws:bedrock:${options.region}::foundation-model/${base}`,
      clientRequestToken: request.clientRequestToken,
      status: "InProgress",
      submitTime: now,
      lastModifiedTime: now,
      outputDataConfig: {
        s3OutputDataConfig: {
          // Bedrock reports the requested URI with the job's id appended.
          s3Uri: `${s3Uri.replace(/\/+$/, "")}/${id}`,
          ...(request.outputDataConfig.s3OutputDataConfig.bucketOwner === undefined
            ? {}
            : { bucketOwner: request.outputDataConfig.s3OutputDataConfig.bucketOwner })
        }
      },
      fingerprint,
      modelInput: request.modelInput
    }
    jobs.set(job.invocationArn, job)
    if (request.clientRequestToken !== undefined) byToken.set(request.clientRequestToken, job)
    const delay = options.delayMs()
    if (Number.isFinite(delay)) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        void finish(job, handler, request.modelInput)
      }, delay)
      timers.add(timer)
    }
    return { body: { invocationArn: job.invocationArn } }
  }

  /** The job as Bedrock reports it. */
  const view = (job: AsyncJob) => {
    const { fingerprint: _, modelInput: __, ...rest } = job
    return rest
  }

  const get = (arn: string): AsyncAnswer => {
    const job = jobs.get(arn)
    if (job === undefined) {
      return { error: "ValidationException", message: `Could not find an async invocation with ARN ${arn}.` }
    }
    return { body: view(job) }
  }

  const list = (query: URLSearchParams): AsyncAnswer => {
    const status = query.get("statusEquals")
    if (status !== null && !["InProgress", "Completed", "Failed"].includes(status)) {
      return {
        error: "ValidationException",
        message: `Value '${status}' at 'statusEquals' failed to satisfy constraint.`
      }
    }
    const after = query.get("submitTimeAfter")
    const before = query.get("submitTimeBefore")
    const max = Math.min(1000, Math.max(1, Number(query.get("maxResults") ?? 1000) || 1000))
    const offset =
      query.get("nextToken") === null ? 0 : Number(Buffer.from(query.get("nextToken")!, "base64url").toString())
    const ascending = query.get("sortOrder") === "Ascending"
    const matching = [...jobs.values()]
      .filter((job) => status === null || job.status === status)
      .filter((job) => after === null || Date.parse(job.submitTime) > Date.parse(after))
      .filter((job) => before === null || Date.parse(job.submitTime) < Date.parse(before))
      .sort((a, b) => (ascending ? 1 : -1) * (Date.parse(a.submitTime) - Date.parse(b.submitTime)))
    const page = matching.slice(offset, offset + max)
    const next = offset + max < matching.length ? Buffer.from(String(offset + max)).toString("base64url") : undefined
    return { body: { asyncInvokeSummaries: page.map(view), ...(next === undefined ? {} : { nextToken: next }) } }
  }

  return {
    start,
    get,
    list,
    jobs: () => [...jobs.values()].map(({ fingerprint: _, ...job }) => job),
    close: () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    }
  }
}
