/**
 * Batch retrieval for async-invoke jobs: status in LiteLLM's words (`in_progress` | `completed` |
 * `failed`), polling to the end on an Effect `Schedule`, and the vectors read back from S3 and
 * decoded by the model's own codec — the part nobody else does.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import * as AwsCredentials from "./AwsCredentials.ts"
import * as BedrockRuntime from "./BedrockRuntime.ts"
import {
  AsyncJobFailedError,
  AsyncJobTimeoutError,
  type BedrockError,
  type CredentialsError,
  InvalidRequestError,
  type ObjectStoreError,
  ResponseDecodeError,
  type UnsupportedModelError
} from "./Errors.ts"
import * as ModelRoute from "./ModelRoute.ts"
import type * as ModelSpec from "./ModelSpec.ts"
import * as ObjectStore from "./ObjectStore.ts"
import * as ProviderRegistry from "./ProviderRegistry.ts"
import { vectorFault } from "./internal/integrity.ts"
import { retryStatus } from "./internal/poll.ts"
import * as Target from "./Target.ts"

/**
 * A job's status, in the shape of an OpenAI batch object.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchStatus {
  /** The invocation ARN. */
  readonly id: string
  readonly object: "batch"
  readonly endpoint: "/v1/embeddings"
  readonly status: "in_progress" | "completed" | "failed"
  /** Unix seconds. */
  readonly created_at: number | null
  readonly completed_at: number | null
  readonly failed_at: number | null
  readonly request_counts: { readonly total: number; readonly completed: number; readonly failed: number }
  readonly metadata: {
    /** Where the job writes its output (`{output_s3_uri}/{job id}`). */
    readonly output_file_id: string
    /** Bedrock's failure message; empty unless failed. */
    readonly failure_message: string
    readonly model_arn: string
    readonly client_request_token: string
  }
}

/**
 * One embedding read back from a job's output.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchEmbedding {
  readonly object: "embedding"
  readonly index: number
  /** The vector; empty when the segment failed (see `status`). */
  readonly embedding: ReadonlyArray<number>
  /** `succeeded`, or `failed` for a segment the model refused: `failure_reason` and `failure_message` say why. */
  readonly status: "succeeded" | "failed"
  /** Bedrock's code for a failed segment, e.g. `RAI_VIOLATION_INPUT_TEXT_DEFLECTION`. */
  readonly failure_reason?: string
  readonly failure_message?: string
  /** `text`, `image`, `video`, `audio`, `audio_video`, or the model's own label (`visual-text`, …). */
  readonly modality: string
  readonly segment_index?: number
  readonly start_sec?: number
  readonly end_sec?: number
  readonly start_char?: number
  readonly end_char?: number
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * A finished job's embeddings.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchResults {
  readonly object: "list"
  readonly id: string
  /** The foundation model id the job ran. */
  readonly model: string
  readonly data: ReadonlyArray<BatchEmbedding>
  /** The S3 objects read. */
  readonly files: ReadonlyArray<string>
}

/**
 * Call parameters: region, endpoints and identity (the embedding request's names).
 *
 * @category models
 * @since 0.1.0
 */
export type Params = Target.Params

/**
 * How {@link Service.await} polls.
 *
 * @category models
 * @since 0.1.0
 */
export interface AwaitOptions {
  /** Give up after this long with `AsyncJobTimeoutError`. Default 1 hour. */
  readonly timeout?: Duration.Input | undefined
  /** The polling schedule. Default: exponential from 2 s, ×1.5, capped at 30 s. */
  readonly schedule?: Schedule.Schedule<unknown, BatchStatus> | undefined
}

/**
 * Filters of {@link Service.list}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ListFilter {
  readonly status?: BatchStatus["status"] | undefined
  readonly submitted_after?: Date | undefined
  readonly submitted_before?: Date | undefined
  readonly limit?: number | undefined
  /** The `next_token` of a previous page. */
  readonly after?: string | undefined
  /** By submission time: `desc` (newest first, the default) or `asc`. */
  readonly order?: "asc" | "desc" | undefined
}

/**
 * Errors of batch retrieval.
 *
 * @category errors
 * @since 0.1.0
 */
export type BatchError = BedrockError | InvalidRequestError | CredentialsError

/**
 * The batches service's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** GetAsyncInvoke, as a batch status. The region comes from the ARN unless given. */
  readonly retrieve: (id: string, params?: Params) => Effect.Effect<BatchStatus, BatchError>
  /** Polls until the job ends: its final status, or `AsyncJobFailedError` / `AsyncJobTimeoutError`. */
  readonly await: (
    id: string,
    options?: AwaitOptions & Params
  ) => Effect.Effect<BatchStatus, BatchError | AsyncJobFailedError | AsyncJobTimeoutError>
  /** Reads a completed job's output from S3 and decodes it with the model's codec. */
  readonly results: (
    id: string,
    params?: Params
  ) => Effect.Effect<
    BatchResults,
    BatchError | AsyncJobFailedError | ObjectStoreError | UnsupportedModelError | ResponseDecodeError
  >
  /** ListAsyncInvokes: one page of jobs, newest first. */
  readonly list: (
    filter?: ListFilter,
    params?: Params
  ) => Effect.Effect<{ readonly data: ReadonlyArray<BatchStatus>; readonly next_token: string | undefined }, BatchError>
}

/**
 * The batches service.
 *
 * @category services
 * @since 0.1.0
 */
export class Batches extends Context.Service<Batches, Service>()("@bedrock-embed/core/Batches") {}

const arnPattern = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):(\d{12}):async-invoke\/([a-z0-9]+)$/

const seconds = (date: Date | undefined): number | null =>
  date === undefined ? null : Math.floor(date.getTime() / 1000)

/**
 * A Bedrock job as an OpenAI-style batch status.
 *
 * @category conversions
 * @since 0.1.0
 */
export const toStatus = (job: BedrockRuntime.AsyncJob): BatchStatus => {
  const status = job.status === "Completed" ? "completed" : job.status === "Failed" ? "failed" : "in_progress"
  return {
    id: job.invocationArn,
    object: "batch",
    endpoint: "/v1/embeddings",
    status,
    created_at: seconds(job.submitTime),
    completed_at: status === "completed" ? seconds(job.endTime ?? job.lastModifiedTime) : null,
    failed_at: status === "failed" ? seconds(job.endTime ?? job.lastModifiedTime) : null,
    request_counts: {
      total: 1,
      completed: status === "completed" ? 1 : 0,
      failed: status === "failed" ? 1 : 0
    },
    metadata: {
      output_file_id: job.outputS3Uri ?? "",
      failure_message: job.failureMessage ?? "",
      model_arn: job.modelArn,
      client_request_token: job.clientRequestToken ?? ""
    }
  }
}

const checkArn = (id: string) => {
  const match = arnPattern.exec(id)
  return match === null
    ? Effect.fail(
        new InvalidRequestError({
          message: `"${id}" is not an async-invoke ARN; expected arn:aws:bedrock:<region>:<account>:async-invoke/<id> (the _invocation_arn of an async embedding response).`,
          param: "batch_id"
        })
      )
    : Effect.succeed({ region: match[1]!, jobId: match[3]! })
}

/** The foundation model id in a model ARN (`…:foundation-model/<id>`), or the ARN's last part. */
const modelIdOf = (modelArn: string): string => {
  const slash = modelArn.lastIndexOf("/")
  return slash < 0 ? modelArn : modelArn.slice(slash + 1)
}

/**
 * The default polling schedule: exponential from 2 s, ×1.5, capped at 30 s, with jitter.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: Schedule.Schedule<Duration.Duration> = Schedule.exponential("2 seconds", 1.5).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30)))),
  Schedule.jittered
)

/**
 * Makes the service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* () {
  const runtime = yield* BedrockRuntime.BedrockRuntime
  const store = yield* ObjectStore.ObjectStore
  const registry = yield* ProviderRegistry.ProviderRegistry
  const credentials = yield* AwsCredentials.AwsCredentials
  const withCredentials = Effect.provideService(AwsCredentials.AwsCredentials, credentials)

  const job = (id: string, params: Params) =>
    Effect.gen(function* () {
      const { region } = yield* checkArn(id)
      const target = yield* Target.runtime(params, region).pipe(withCredentials)
      return { target, job: yield* runtime.getAsyncInvoke({ invocationArn: id, target }) }
    })

  const retrieve = Effect.fn("Batches.retrieve")(function* (id: string, params: Params = {}) {
    return toStatus((yield* job(id, params)).job)
  })

  const await_ = Effect.fn("Batches.await")(function* (id: string, options: AwaitOptions & Params = {}) {
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "1 hour")
    const final = yield* retryStatus(retrieve(id, options)).pipe(
      Effect.repeat({
        schedule: options.schedule ?? defaultSchedule,
        until: (status: BatchStatus) => status.status !== "in_progress"
      }),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new AsyncJobTimeoutError({
              message: `Async job ${id} did not finish within ${Duration.format(timeout)}; it may still be running — poll it again with retrieveBatch.`,
              invocationArn: id
            })
          )
      })
    )
    if (final.status === "failed") {
      return yield* new AsyncJobFailedError({
        message: `Async job ${id} failed: ${final.metadata.failure_message || "Bedrock gave no reason"}`,
        invocationArn: id,
        modelId: modelIdOf(final.metadata.model_arn)
      })
    }
    return final
  })

  const results = Effect.fn("Batches.results")(function* (id: string, params: Params = {}) {
    const { target, job: found } = yield* job(id, params)
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
    const route = yield* Effect.fromResult(ModelRoute.parse(modelId))
    const spec = yield* registry.resolve(route)
    const decodeError = (message: string) =>
      new ResponseDecodeError({ message: `The output of async job ${id} (${modelId}): ${message}`, modelId })
    if (spec.async === undefined) return yield* decodeError(`${spec.id} has no async-invoke codec`)
    const prefix = status.metadata.output_file_id.replace(/\/+$/, "")
    if (prefix.length === 0) return yield* decodeError("Bedrock reported no output location")
    const storeTarget = yield* Target.objectStore(params, target.region).pipe(withCredentials)
    const objects = yield* store.list(`${prefix}/`, storeTarget)
    const files: Array<ModelSpec.AsyncOutputFile> = yield* Effect.forEach(
      objects,
      (object) =>
        Effect.map(store.getText(object.uri, storeTarget), (text) => ({
          name: object.uri.slice(prefix.length + 1),
          uri: object.uri,
          text
        })),
      { concurrency: 8 }
    )
    const decoded = spec.async.decode(files)
    if ("failure" in decoded) return yield* decodeError(decoded.failure)
    const failed = decoded.segments.filter((segment) => segment.status === "FAILURE")
    if (decoded.segments.length > 0 && failed.length === decoded.segments.length) {
      return yield* new AsyncJobFailedError({
        message: `Async job ${id} (${modelId}) completed, but every segment failed: ${failed
          .slice(0, 5)
          .map(
            (segment) =>
              `segment ${segment.segmentIndex ?? "?"} ${segment.failureReason ?? "FAILURE"}${segment.message === undefined ? "" : ` (${segment.message})`}`
          )
          .join("; ")}${failed.length > 5 ? `; and ${failed.length - 5} more` : ""}`,
        invocationArn: id
      })
    }
    // Every vector has the job's dimension (from its output, else the model's fixed one) and finite float32 values.
    const expected =
      decoded.dimension ?? (spec.capabilities.dimensions === undefined ? spec.capabilities.defaultDimension : undefined)
    for (let i = 0; i < decoded.segments.length; i++) {
      const segment = decoded.segments[i]!
      if (segment.status === "FAILURE") continue
      const fault = vectorFault(
        segment.embedding,
        expected ?? decoded.segments.find((s) => s.status !== "FAILURE")?.embedding.length
      )
      if (fault !== undefined)
        return yield* decodeError(`segment ${segment.segmentIndex ?? i} (${segment.modality}): ${fault}`)
    }
    return {
      object: "list",
      id,
      model: modelId,
      files: files.map((file) => file.uri),
      data: decoded.segments.map(
        (segment, index): BatchEmbedding => ({
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
      )
    } satisfies BatchResults
  })

  const list = Effect.fn("Batches.list")(function* (filter: ListFilter = {}, params: Params = {}) {
    const target = yield* Target.runtime(params).pipe(withCredentials)
    const page = yield* runtime.listAsyncInvokes({
      filter: {
        ...(filter.status === undefined
          ? {}
          : {
              status: filter.status === "completed" ? "Completed" : filter.status === "failed" ? "Failed" : "InProgress"
            }),
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

  return Batches.of({ retrieve, await: await_, results, list })
})

/**
 * The batches service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Batches,
  never,
  | BedrockRuntime.BedrockRuntime
  | ObjectStore.ObjectStore
  | ProviderRegistry.ProviderRegistry
  | AwsCredentials.AwsCredentials
> = Layer.effect(Batches, make())
