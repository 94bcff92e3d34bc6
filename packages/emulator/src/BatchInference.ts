/**
 * Batch inference (the Bedrock control plane): CreateModelInvocationJob, GetModelInvocationJob,
 * ListModelInvocationJobs and StopModelInvocationJob with Bedrock's shapes.
 *
 * A job reads every `.jsonl` file at its input URI (a file or a folder) from S3, answers each
 * `{ recordId, modelInput }` line as InvokeModel would, and writes `{outputUri}/{jobId}/{file}.out`
 * (`{ recordId, modelInput, modelOutput }`, or `error` in place of `modelOutput`) in an order that
 * is not the input's — Bedrock does not keep it either — plus `manifest.json.out` with the counts.
 * Jobs go Submitted → Validating → InProgress → Completed (or Failed) over the async delay.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import type { JobStoreOptions } from "./Async.ts"
import type { BedrockFault } from "./Errors.ts"
import { stringify } from "./Json.ts"
import { baseModelId, findModel, isFault, type ModelHandler } from "./ModelHandler.ts"
import * as Validate from "./Validate.ts"

type Status = "Submitted" | "Validating" | "InProgress" | "Completed" | "Failed" | "Stopping" | "Stopped"

/** A job as GetModelInvocationJob reports it. */
export interface BatchJob {
  readonly jobArn: string
  readonly jobName: string
  readonly modelId: string
  readonly clientRequestToken: string | undefined
  readonly roleArn: string
  status: Status
  message?: string
  readonly submitTime: string
  lastModifiedTime: string
  endTime?: string
  readonly inputDataConfig: { readonly s3InputDataConfig: { readonly s3Uri: string; readonly s3InputFormat?: string } }
  readonly outputDataConfig: { readonly s3OutputDataConfig: { readonly s3Uri: string } }
  readonly timeoutDurationInHours: number
  readonly jobExpirationTime: string
  totalRecordCount?: number
  processedRecordCount?: number
  successRecordCount?: number
  errorRecordCount?: number
}

/** Models Bedrock runs batch inference for (embeddings): the ones the AWS table lists. */
export const BATCH_MODELS: ReadonlySet<string> = new Set([
  "amazon.titan-embed-text-v2:0",
  "amazon.titan-embed-image-v1",
  "amazon.nova-2-multimodal-embeddings-v1:0"
])

/** Bedrock's default quota "Minimum number of records per batch inference job". */
export const MIN_RECORDS = 100

/**
 * The batch inference quotas a job is checked against while Validating: "Minimum number of
 * records per batch inference job" (100), "Records per batch inference job" and "Records per
 * input file per batch inference job" (50 000 each by default; adjustable on AWS per model).
 */
export interface BatchQuotas {
  readonly minRecords: number
  readonly recordsPerJob: number
  readonly recordsPerFile: number
}

/** Bedrock's default batch inference quotas. */
export const DEFAULT_BATCH_QUOTAS: BatchQuotas = {
  minRecords: MIN_RECORDS,
  recordsPerJob: 50_000,
  recordsPerFile: 50_000
}

/** Why a job's input breaks a quota, or `undefined`. */
const quotaProblem = (
  quotas: BatchQuotas,
  inputs: ReadonlyArray<{ readonly name: string; readonly lines: ReadonlyArray<string> }>,
  total: number
): string | undefined => {
  if (total < quotas.minRecords) {
    return `The job has ${total} records, fewer than the minimum of ${quotas.minRecords} records per batch inference job.`
  }
  if (total > quotas.recordsPerJob) {
    return `The job has ${total} records, more than the quota of ${quotas.recordsPerJob} records per batch inference job.`
  }
  const big = inputs.find((file) => file.lines.length > quotas.recordsPerFile)
  return big === undefined
    ? undefined
    : `The input file ${big.name} has ${big.lines.length} records, more than the quota of ${quotas.recordsPerFile} records per input file per batch inference job.`
}

export type BatchAnswer = { readonly body: unknown } | BedrockFault

const s3Config = (extra: Record<string, { check: Validate.Check; required?: boolean }>) =>
  Validate.object({ s3Uri: { check: Validate.string(1), required: true }, ...extra })

const createBody = Validate.object({
  jobName: { check: Validate.string(1), required: true },
  roleArn: { check: Validate.string(1), required: true },
  clientRequestToken: { check: Validate.string(1) },
  modelId: { check: Validate.string(1), required: true },
  inputDataConfig: {
    required: true,
    check: Validate.object({
      s3InputDataConfig: {
        required: true,
        check: s3Config({
          s3InputFormat: { check: Validate.oneOf(["JSONL"]) },
          s3BucketOwner: { check: Validate.string(12) }
        })
      }
    })
  },
  outputDataConfig: {
    required: true,
    check: Validate.object({
      s3OutputDataConfig: {
        required: true,
        check: s3Config({
          s3EncryptionKeyId: { check: Validate.string(1) },
          s3BucketOwner: { check: Validate.string(12) }
        })
      }
    })
  },
  timeoutDurationInHours: { check: (v, path) => (Number.isInteger(v) ? undefined : `${path}: expected an integer`) },
  modelInvocationType: { check: Validate.oneOf(["InvokeModel", "Converse"]) },
  vpcConfig: { check: () => undefined },
  tags: { check: () => undefined }
})

const jobNamePattern = /^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/
const roleArnPattern = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/
const s3UriPattern = /^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
const randomId = (length: number) => {
  let id = ""
  for (const byte of randomBytes(length)) id += ALPHABET[byte % ALPHABET.length]
  return id
}

const constraint = (value: string, member: string, pattern: RegExp): BedrockFault => ({
  error: "ValidationException",
  message: `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`
})

/** The job store and its operations. */
export const makeBatchJobs = (options: JobStoreOptions, quotaOptions: Partial<BatchQuotas> = {}) => {
  const quotas: BatchQuotas = { ...DEFAULT_BATCH_QUOTAS, ...quotaOptions }
  const jobs = new Map<string, BatchJob>()
  const byToken = new Map<string, { readonly job: BatchJob; readonly fingerprint: string }>()
  const timers = new Set<NodeJS.Timeout>()

  const later = (ms: number, f: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
  }

  const end = (job: BatchJob, status: Status, message?: string) => {
    job.status = status
    if (message !== undefined) job.message = message
    const now = new Date().toISOString()
    job.lastModifiedTime = now
    job.endTime = now
  }

  const run = async (job: BatchJob, handler: ModelHandler) => {
    const store = await options.store()
    const inputUri = job.inputDataConfig.s3InputDataConfig.s3Uri
    const files = inputUri.endsWith(".jsonl")
      ? [inputUri]
      : (await store.list(inputUri.endsWith("/") ? inputUri : `${inputUri}/`)).filter((uri) => uri.endsWith(".jsonl"))
    if (files.length === 0) return end(job, "Failed", `No .jsonl input files found at ${inputUri}.`)
    const inputs: Array<{ readonly name: string; readonly lines: ReadonlyArray<string> }> = []
    for (const uri of files) {
      const bytes = await store.read(uri)
      if (bytes === undefined) return end(job, "Failed", `Unable to read input file ${uri}.`)
      const lines = Buffer.from(bytes)
        .toString("utf8")
        .split("\n")
        .filter((line) => line.trim().length > 0)
      inputs.push({ name: uri.slice(uri.lastIndexOf("/") + 1), lines })
    }
    const total = inputs.reduce((sum, file) => sum + file.lines.length, 0)
    job.totalRecordCount = total
    const problem = quotaProblem(quotas, inputs, total)
    if (problem !== undefined) return end(job, "Failed", problem)
    if (job.status === "Stopping") return end(job, "Stopped")
    job.status = "InProgress"
    job.lastModifiedTime = new Date().toISOString()
    const jobId = job.jobArn.slice(job.jobArn.lastIndexOf("/") + 1)
    const outputUri = `${job.outputDataConfig.s3OutputDataConfig.s3Uri.replace(/\/+$/, "")}/${jobId}`
    let success = 0
    let errors = 0
    let inputTokens = 0
    for (const file of inputs) {
      const out: Array<string> = []
      for (const line of file.lines) {
        let record: { recordId?: unknown; modelInput?: unknown }
        try {
          record = JSON.parse(line) as typeof record
        } catch {
          errors++
          out.push(
            JSON.stringify({ recordId: randomId(11), error: { errorCode: 400, errorMessage: "Malformed JSON line." } })
          )
          continue
        }
        const recordId = typeof record.recordId === "string" ? record.recordId : randomId(11).toUpperCase()
        const answer =
          typeof record.modelInput === "object" && record.modelInput !== null
            ? await handler.invoke(record.modelInput, { requestId: randomUUID(), read: store.read })
            : ({ error: "ValidationException", message: "required key [modelInput] not found" } as BedrockFault)
        if (isFault(answer)) {
          errors++
          out.push(
            JSON.stringify({
              recordId,
              modelInput: record.modelInput,
              error: { errorCode: 400, errorMessage: answer.message ?? answer.error }
            })
          )
        } else {
          success++
          inputTokens += answer.inputTokens
          out.push(stringify({ recordId, modelInput: record.modelInput, modelOutput: answer.body }))
        }
      }
      // Bedrock does not keep input order in the output; neither do we (a fixed shuffle per job).
      const keyed = out.map((line, i) => [createHash("sha1").update(`${jobId}:${i}`).digest("hex"), line] as const)
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : 1))
      await store.write(`${outputUri}/${file.name}.out`, `${keyed.map(([, line]) => line).join("\n")}\n`)
    }
    await store.write(
      `${outputUri}/manifest.json.out`,
      JSON.stringify({
        totalRecordCount: total,
        processedRecordCount: success + errors,
        successRecordCount: success,
        errorRecordCount: errors,
        inputTokenCount: inputTokens,
        outputTokenCount: 0
      })
    )
    job.processedRecordCount = success + errors
    job.successRecordCount = success
    job.errorRecordCount = errors
    end(job, "Completed")
  }

  const create = (raw: unknown): BatchAnswer => {
    const fault = Validate.body(createBody, raw)
    if (fault !== undefined) return fault
    const request = raw as {
      jobName: string
      roleArn: string
      clientRequestToken?: string
      modelId: string
      inputDataConfig: BatchJob["inputDataConfig"]
      outputDataConfig: BatchJob["outputDataConfig"]
      timeoutDurationInHours?: number
    }
    const fingerprint = JSON.stringify([
      request.jobName,
      request.modelId,
      request.inputDataConfig,
      request.outputDataConfig,
      request.roleArn
    ])
    if (request.clientRequestToken !== undefined) {
      const existing = byToken.get(request.clientRequestToken)
      if (existing !== undefined) {
        return existing.fingerprint === fingerprint
          ? { body: { jobArn: existing.job.jobArn } }
          : { error: "ConflictException", message: "The clientRequestToken was already used for a different request." }
      }
    }
    if (!jobNamePattern.test(request.jobName)) return constraint(request.jobName, "jobName", jobNamePattern)
    if (!roleArnPattern.test(request.roleArn)) return constraint(request.roleArn, "roleArn", roleArnPattern)
    for (const [uri, member] of [
      [request.inputDataConfig.s3InputDataConfig.s3Uri, "inputDataConfig.s3InputDataConfig.s3Uri"],
      [request.outputDataConfig.s3OutputDataConfig.s3Uri, "outputDataConfig.s3OutputDataConfig.s3Uri"]
    ] as const) {
      if (!s3UriPattern.test(uri)) return constraint(uri, member, s3UriPattern)
    }
    const hours = request.timeoutDurationInHours ?? 24
    if (hours < 24 || hours > 168) {
      return {
        error: "ValidationException",
        message: `1 validation error detected: Value '${hours}' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168`
      }
    }
    const base = baseModelId(request.modelId)
    const handler = findModel(options.models, base)
    if (handler === undefined)
      return { error: "ValidationException", message: "The provided model identifier is invalid." }
    if (!BATCH_MODELS.has(handler.id)) {
      return {
        error: "ValidationException",
        message: `The model ${request.modelId} is not supported for batch inference.`
      }
    }
    if ([...jobs.values()].some((job) => job.jobName === request.jobName)) {
      return { error: "ValidationException", message: `A job with the name ${request.jobName} already exists.` }
    }
    const now = new Date()
    const job: BatchJob = {
      jobArn: `arn:aws:bedrock:${options.region}:${options.account}:model-invocation-job/${randomId(12)}`,
      jobName: request.jobName,
      modelId: request.modelId,
      clientRequestToken: request.clientRequestToken,
      roleArn: request.roleArn,
      status: "Submitted",
      submitTime: now.toISOString(),
      lastModifiedTime: now.toISOString(),
      inputDataConfig: {
        s3InputDataConfig: { s3Uri: request.inputDataConfig.s3InputDataConfig.s3Uri, s3InputFormat: "JSONL" }
      },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: request.outputDataConfig.s3OutputDataConfig.s3Uri } },
      timeoutDurationInHours: hours,
      jobExpirationTime: new Date(now.getTime() + hours * 3_600_000).toISOString()
    }
    jobs.set(job.jobArn, job)
    if (request.clientRequestToken !== undefined) byToken.set(request.clientRequestToken, { job, fingerprint })
    const delay = options.delayMs()
    if (Number.isFinite(delay)) {
      later(delay / 3, () => {
        if (job.status === "Submitted") job.status = "Validating"
      })
      later(delay, () => {
        if (job.status === "Stopping") return end(job, "Stopped")
        run(job, handler).catch((error: Error) =>
          end(job, "Failed", `Internal error while running the job: ${error.message}`)
        )
      })
    }
    return { body: { jobArn: job.jobArn } }
  }

  const find = (identifier: string): BatchJob | undefined =>
    jobs.get(identifier) ?? [...jobs.values()].find((job) => job.jobArn.endsWith(`/${identifier}`))

  const notFound = (identifier: string): BedrockFault => ({
    error: "ResourceNotFoundException",
    message: `The model invocation job ${identifier} was not found.`
  })

  const get = (identifier: string): BatchAnswer => {
    const job = find(identifier)
    return job === undefined ? notFound(identifier) : { body: job }
  }

  const stop = (identifier: string): BatchAnswer => {
    const job = find(identifier)
    if (job === undefined) return notFound(identifier)
    if (job.status === "Completed" || job.status === "Failed" || job.status === "Stopped") {
      return { error: "ValidationException", message: `The job is ${job.status} and cannot be stopped.` }
    }
    job.status = "Stopping"
    job.lastModifiedTime = new Date().toISOString()
    return { body: {} }
  }

  const list = (query: URLSearchParams): BatchAnswer => {
    const status = query.get("statusEquals")
    const name = query.get("nameContains")
    const max = Math.min(1000, Math.max(1, Number(query.get("maxResults") ?? 1000) || 1000))
    const offset =
      query.get("nextToken") === null ? 0 : Number(Buffer.from(query.get("nextToken")!, "base64url").toString())
    const matching = [...jobs.values()]
      .filter((job) => status === null || job.status === status)
      .filter((job) => name === null || job.jobName.includes(name))
      .sort((a, b) => Date.parse(b.submitTime) - Date.parse(a.submitTime))
    const page = matching.slice(offset, offset + max)
    const next = offset + max < matching.length ? Buffer.from(String(offset + max)).toString("base64url") : undefined
    return { body: { invocationJobSummaries: page, ...(next === undefined ? {} : { nextToken: next }) } }
  }

  return {
    create,
    get,
    stop,
    list,
    jobs: () => [...jobs.values()],
    close: () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    }
  }
}
