/**
 * Async-invoke jobs: status (GetAsyncInvoke) in LiteLLM's words, the list, and the vectors read
 * back from S3 and decoded by the model's own codec, with the usage that codec reads in the output
 * and its cost at the model's on-demand price.
 *
 * @internal
 */
import { Effect } from "effect"
import * as AwsCredentials from "../AwsCredentials.ts"
import * as BedrockRuntime from "../BedrockRuntime.ts"
import { AsyncJobFailedError, InvalidRequestError, ResponseDecodeError } from "../Errors.ts"
import type * as Jobs from "../Jobs.ts"
import * as ModelRoute from "../ModelRoute.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import * as ObjectStore from "../ObjectStore.ts"
import * as Pricing from "../Pricing.ts"
import * as ProviderRegistry from "../ProviderRegistry.ts"
import * as Target from "../Target.ts"
import { vectorFault } from "./integrity.ts"
import { batchStatus, modelIdOf, parseArn } from "./jobArn.ts"
import { embeddingUsage } from "./response.ts"

/** An async-invoke job as a batch status. */
export const toStatus = (job: BedrockRuntime.AsyncJob): Jobs.BatchStatus => {
  const status = job.status === "Completed" ? "completed" : job.status === "Failed" ? "failed" : "in_progress"
  return batchStatus({
    id: job.invocationArn,
    status,
    submitTime: job.submitTime,
    endTime: job.endTime ?? job.lastModifiedTime,
    counts: { total: 1, completed: status === "completed" ? 1 : 0, failed: status === "failed" ? 1 : 0 },
    metadata: {
      output_file_id: job.outputS3Uri ?? "",
      failure_message: job.failureMessage ?? "",
      model_arn: job.modelArn,
      client_request_token: job.clientRequestToken ?? "",
      bedrock_status: job.status
    }
  })
}

const toEmbedding = (segment: ModelSpec.AsyncSegment, index: number): Jobs.BatchEmbedding => ({
  object: "embedding",
  index,
  embedding: segment.embedding,
  status: segment.status === "FAILURE" ? "failed" : "succeeded",
  ...(segment.failureReason === undefined ? {} : { failure_reason: segment.failureReason }),
  ...(segment.message === undefined ? {} : { failure_message: segment.message }),
  modality: segment.modality,
  ...(segment.segmentIndex === undefined ? {} : { segment_index: segment.segmentIndex }),
  ...(segment.startSec === undefined ? {} : { start_sec: segment.startSec }),
  ...(segment.endSec === undefined ? {} : { end_sec: segment.endSec }),
  ...(segment.startChar === undefined ? {} : { start_char: segment.startChar }),
  ...(segment.endChar === undefined ? {} : { end_char: segment.endChar }),
  ...(segment.details === undefined ? {} : { details: segment.details })
})

const describeFailed = (failed: ReadonlyArray<ModelSpec.AsyncSegment>) =>
  `${failed
    .slice(0, 5)
    .map(
      (segment) =>
        `segment ${segment.segmentIndex ?? "?"} ${segment.failureReason ?? "FAILURE"}${segment.message === undefined ? "" : ` (${segment.message})`}`
    )
    .join("; ")}${failed.length > 5 ? `; and ${failed.length - 5} more` : ""}`

/** What is wrong with a decoded output, if anything: every segment failed, or a vector is bad. */
const checkSegments = (
  spec: ModelSpec.Any,
  decoded: { readonly segments: ReadonlyArray<ModelSpec.AsyncSegment>; readonly dimension?: number | undefined }
): { readonly allFailed: string } | { readonly fault: string } | undefined => {
  const failed = decoded.segments.filter((segment) => segment.status === "FAILURE")
  if (decoded.segments.length > 0 && failed.length === decoded.segments.length) {
    return { allFailed: describeFailed(failed) }
  }
  // Every vector has the job's dimension (from its output, else the model's fixed one) and finite float32 values.
  const expected =
    decoded.dimension ??
    (spec.capabilities.dimensions === undefined ? spec.capabilities.defaultDimension : undefined) ??
    decoded.segments.find((s) => s.status !== "FAILURE")?.embedding.length
  for (let i = 0; i < decoded.segments.length; i++) {
    const segment = decoded.segments[i]!
    if (segment.status === "FAILURE") continue
    const fault = vectorFault(segment.embedding, expected)
    if (fault !== undefined) return { fault: `segment ${segment.segmentIndex ?? i} (${segment.modality}): ${fault}` }
  }
  return undefined
}

/** What the job functions share. */
interface Deps {
  readonly runtime: BedrockRuntime.Service
  readonly store: ObjectStore.Service
  readonly registry: ProviderRegistry.Service
  readonly credentials: AwsCredentials.Service
  readonly pricing: Pricing.Service
}

/** The usage a job's output shows, whole: fields the codec did not count are 0. */
const usageOf = (usage: ModelSpec.AsyncUsage | undefined): ModelSpec.Usage => ({
  inputTokens: usage?.inputTokens ?? 0,
  images: usage?.images ?? 0,
  videoSeconds: usage?.videoSeconds ?? 0,
  audioSeconds: usage?.audioSeconds ?? 0,
  queries: usage?.queries ?? 0
})

const provide = (deps: Deps) => Effect.provideService(AwsCredentials.AwsCredentials, deps.credentials)

const job = (deps: Deps, arn: Jobs.JobArn, id: string, params: Jobs.Params) =>
  Effect.gen(function* () {
    const target = yield* Target.runtime(params, arn.region).pipe(provide(deps))
    return { target, job: yield* deps.runtime.getAsyncInvoke({ invocationArn: id, target }) }
  })

const retrieve = (deps: Deps, arn: Jobs.JobArn, id: string, params: Jobs.Params) =>
  Effect.map(job(deps, arn, id, params), (found) => toStatus(found.job)).pipe(Effect.withSpan("Jobs.retrieve"))

/** The job's output files, read from its output location. */
const outputFiles = (deps: Deps, prefix: string, target: BedrockRuntime.Target, params: Jobs.Params) =>
  Effect.gen(function* () {
    const storeTarget = yield* Target.objectStore(params, target.region).pipe(provide(deps))
    const objects = yield* deps.store.list(`${prefix}/`, storeTarget)
    return yield* Effect.forEach(
      objects,
      (object) =>
        Effect.map(
          deps.store.getText(object.uri, storeTarget),
          (text): ModelSpec.AsyncOutputFile => ({ name: object.uri.slice(prefix.length + 1), uri: object.uri, text })
        ),
      { concurrency: 8 }
    )
  })

const results = Effect.fn("Jobs.results")(function* (deps: Deps, id: string, params: Jobs.Params = {}) {
  const arn = yield* Effect.fromResult(parseArn(id, "async-invoke"))
  const { target, job: found } = yield* job(deps, arn, id, params)
  const status = toStatus(found)
  if (status.status === "failed") {
    return yield* new AsyncJobFailedError({
      message: `Async job ${id} failed: ${status.metadata.failure_message || "Bedrock gave no reason"}`,
      invocationArn: id
    })
  }
  if (status.status === "in_progress") {
    return yield* new InvalidRequestError({
      message: `Async job ${id} is still in progress; wait for it with awaitBatch before reading its results.`,
      param: "batch_id"
    })
  }
  const modelId = modelIdOf(found.modelArn)
  const spec = yield* deps.registry.resolve(yield* Effect.fromResult(ModelRoute.parse(modelId)))
  const decodeError = (message: string) =>
    new ResponseDecodeError({ message: `The output of async job ${id} (${modelId}): ${message}`, modelId })
  if (spec.async === undefined) return yield* decodeError(`${spec.id} has no async-invoke codec`)
  const prefix = status.metadata.output_file_id.replace(/\/+$/, "")
  if (prefix.length === 0) return yield* decodeError("Bedrock reported no output location")
  const files = yield* outputFiles(deps, prefix, target, params)
  const decoded = spec.async.decode(files)
  if ("failure" in decoded) return yield* decodeError(decoded.failure)
  const problem = checkSegments(spec, decoded)
  if (problem !== undefined && "allFailed" in problem) {
    return yield* new AsyncJobFailedError({
      message: `Async job ${id} (${modelId}) completed, but every segment failed: ${problem.allFailed}`,
      invocationArn: id
    })
  }
  if (problem !== undefined) return yield* decodeError(problem.fault)
  // A codec that reports no usage leaves it unknown, not free.
  const usage = usageOf(decoded.usage)
  return {
    object: "list",
    id,
    model: modelId,
    files: files.map((file) => file.uri),
    data: decoded.segments.map(toEmbedding),
    usage: embeddingUsage(usage),
    cost: deps.pricing.cost(spec, usage),
    usage_known: decoded.usage !== undefined && decoded.usage.known !== false
  } satisfies Jobs.BatchResults
})

const list = Effect.fn("Jobs.list")(function* (deps: Deps, filter: Jobs.ListFilter = {}, params: Jobs.Params = {}) {
  const target = yield* Target.runtime(params).pipe(provide(deps))
  const status =
    filter.status === undefined
      ? undefined
      : filter.status === "completed"
        ? "Completed"
        : filter.status === "failed"
          ? "Failed"
          : "InProgress"
  const page = yield* deps.runtime.listAsyncInvokes({
    filter: {
      ...(status === undefined ? {} : { status }),
      submitTimeAfter: filter.submitted_after,
      submitTimeBefore: filter.submitted_before,
      maxResults: filter.limit,
      nextToken: filter.after,
      sortOrder: filter.order === "asc" ? "Ascending" : "Descending"
    },
    target
  })
  return { data: page.jobs.map(toStatus), next_token: page.nextToken }
})

export const makeAsyncJobs = Effect.gen(function* () {
  const deps: Deps = {
    runtime: yield* BedrockRuntime.BedrockRuntime,
    store: yield* ObjectStore.ObjectStore,
    registry: yield* ProviderRegistry.ProviderRegistry,
    credentials: yield* AwsCredentials.AwsCredentials,
    pricing: yield* Pricing.Pricing
  }
  return {
    retrieve: (arn: Jobs.JobArn, id: string, params: Jobs.Params) => retrieve(deps, arn, id, params),
    results: (id: string, params?: Jobs.Params) => results(deps, id, params),
    list: (filter?: Jobs.ListFilter, params?: Jobs.Params) => list(deps, filter, params)
  }
})
