/**
 * Bedrock jobs, both kinds, in one place: async-invoke jobs (`StartAsyncInvoke`, one per input
 * of a `bedrock/async_invoke/…` request) and batch inference jobs (`CreateModelInvocationJob`, a
 * corpus as JSONL records in S3). One ARN parser tells them apart; one poller waits for either,
 * retrying status calls that are throttled, 5xx or network-faulted; status is reported in
 * LiteLLM's batch words (`in_progress` | `completed` | `failed`) for both.
 *
 * - async invoke: {@link Service.retrieve}, {@link Service.await}, {@link Service.results} (the
 *   vectors read back from S3 and decoded by the model's own codec — the part nobody else does),
 *   {@link Service.list}.
 * - batch inference: {@link Service.submit} plans and checks the request like any embedding
 *   request and writes its records, and a manifest beside them (record id → input position and
 *   the caller's id); {@link Service.status} has the record counts; {@link Service.batchResults}
 *   reads the `.out` files back from the job's ARN alone, a page at a time, joined through the
 *   manifest into vectors in input order, with a per-input error for every record that failed or
 *   has no output line.
 *
 * @since 0.1.0
 */
import type { GetModelInvocationJobResponse } from "@aws-sdk/client-bedrock"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { pollUntil } from "./internal/poll.ts"
import type * as AwsCredentials from "./AwsCredentials.ts"
import type * as BedrockRuntime from "./BedrockRuntime.ts"
import type * as EmbeddingRequest from "./EmbeddingRequest.ts"
import type { EmbeddingUsage } from "./EmbeddingResponse.ts"
import type { StreamItem } from "./Embeddings.ts"
import {
  AsyncJobFailedError,
  AsyncJobTimeoutError,
  type BedrockError,
  type CredentialsError,
  type EmbeddingError,
  type InvalidRequestError,
  type ObjectStoreError,
  type ResponseDecodeError,
  type UnsupportedModelError
} from "./Errors.ts"
import { makeAsyncJobs } from "./internal/asyncJobs.ts"
import { makeBatchJobs } from "./internal/batchJobs.ts"
import { type JobArn, modelIdOf, parseArn } from "./internal/jobArn.ts"
import type * as ObjectStore from "./ObjectStore.ts"
import type * as Pricing from "./Pricing.ts"
import type * as ProviderRegistry from "./ProviderRegistry.ts"
import type * as Target from "./Target.ts"

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
    /** The job's status as Bedrock words it (`InProgress`, `PartiallyCompleted`, `Stopped` …). */
    readonly bedrock_status: string
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
  /**
   * What the job used, as its output shows it, in the sync responses' shape: input tokens, and in
   * `prompt_tokens_details` the queries, images and seconds of video or audio. A clip's seconds
   * are the media the segments cover, counted once however many modalities embed it.
   */
  readonly usage: EmbeddingUsage
  /**
   * USD at the model's on-demand price (the {@link Pricing} service, so its overrides apply).
   * Whether Bedrock bills async invoke at the on-demand price is UNCONFIRMED: no AWS source read
   * states an async-invoke price (batch inference is billed apart, see {@link Results.cost}).
   */
  readonly cost: number
  /**
   * `false` when the output does not say everything the job used — text tokens the output does
   * not count, or an input kind it does not name: `usage` and `cost` are then lower bounds.
   */
  readonly usage_known: boolean
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
  /** Give up after this long with `AsyncJobTimeoutError`. Default 1 hour for async invoke, none for batch inference (Bedrock's own job timeout bounds it). */
  readonly timeout?: Duration.Input | undefined
  /**
   * The polling schedule. Default: async invoke exponential from 2 s, ×1.5, capped at 30 s;
   * batch inference every 30 s.
   */
  readonly schedule?: Schedule.Schedule<unknown, BatchStatus> | undefined
  /** Called with every status polled (progress: `request_counts`). */
  readonly onStatus?: ((status: BatchStatus) => void) | undefined
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
 * Where the job's files go and how it runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface JobOptions extends Target.Params {
  /** A working folder, `s3://bucket/prefix`: records go to `{s3Uri}/{jobName}/input/`, results to `{s3Uri}/{jobName}/output/`. */
  readonly s3Uri: string
  /** The IAM service role Bedrock assumes to read and write those objects. */
  readonly roleArn: string
  /** The job's name; default `bedrock-embed-<digest of model, records, ids, s3Uri, role and settings>`. */
  readonly jobName?: string | undefined
  /** Idempotency token; default the same digest. */
  readonly clientRequestToken?: string | undefined
  /** Bedrock's job timeout, 24–168 hours; default 24. */
  readonly timeoutHours?: number | undefined
  /** Records per input file (Bedrock's quota "Records per input file per batch inference job"); default 50 000. */
  readonly recordsPerFile?: number | undefined
  /**
   * Fewer records are refused before anything is written (Bedrock's quota "Minimum number of
   * records per batch inference job"); default 100.
   */
  readonly minRecords?: number | undefined
  /**
   * The caller's id for each input, in input order (any JSON value): kept in the job's manifest,
   * so {@link Service.batchResults} gives every item its id without the inputs at hand. Part of
   * the job's identity: the same inputs under other ids are another job.
   */
  readonly ids?: ReadonlyArray<unknown> | undefined
}

/**
 * A submitted job.
 *
 * @category models
 * @since 0.1.0
 */
export interface Submitted {
  readonly jobArn: string
  readonly jobName: string
  readonly inputUri: string
  readonly outputUri: string
  /**
   * The job's manifest, `{s3Uri}/{jobName}/manifest.jsonl`: one header line (model, call options,
   * counts), one line per record (`recordId`, its inputs' positions and ids), one per rejected input.
   */
  readonly manifestUri: string
  /** Inputs, and records (one InvokeModel body each) written for them. */
  readonly inputs: number
  readonly records: number
  /** Inputs that failed their checks and were not submitted (also reported by `results`). */
  readonly rejected: ReadonlyArray<StreamItem>
}

/**
 * A job's state, as GetModelInvocationJob reports it.
 *
 * @category models
 * @since 0.1.0
 */
export interface JobStatus {
  readonly jobArn: string
  readonly status: NonNullable<GetModelInvocationJobResponse["status"]>
  readonly message: string | undefined
  readonly totalRecords: number | undefined
  readonly processedRecords: number | undefined
  readonly failedRecords: number | undefined
  /** Where Bedrock wrote the results: `{output s3Uri}/{job id}`. */
  readonly outputUri: string
}

/**
 * One input of a finished batch inference job: its vector or why there is none, by `index` (its
 * position in the submitted request), with the caller's `id` when {@link JobOptions.ids} gave one.
 *
 * @category models
 * @since 0.1.0
 */
export type BatchItem = StreamItem & { readonly id?: unknown }

/**
 * A finished job's vectors, in input order, and its usage.
 *
 * @category models
 * @since 0.1.0
 */
export interface Results {
  /** One item per input, in input order: a vector or the reason there is none. */
  readonly items: ReadonlyArray<BatchItem>
  /**
   * Input tokens: the job's `inputTokenCount` from its `manifest.json.out` (Bedrock's own count,
   * the only one for models whose output records carry none), else the records' own counts.
   */
  readonly tokens: number
  /** At the batch price: half the on-demand price, as Bedrock bills batch inference. */
  readonly cost: number
  /** `false` when neither the manifest nor every record gave a token count: `tokens` and `cost` are then lower bounds. */
  readonly tokensKnown: boolean
}

export {
  /**
   * What a job ARN names.
   *
   * @category models
   * @since 0.1.0
   */
  type JobArn,
  /**
   * The foundation model id in a model ARN (`…:foundation-model/<id>`), or the ARN's last part.
   *
   * @category parsing
   * @since 0.1.0
   */
  modelIdOf,
  /**
   * Parses a job ARN of either kind; `expected` narrows it to one kind.
   *
   * @category parsing
   * @since 0.1.0
   */
  parseArn
} from "./internal/jobArn.ts"

/**
 * Errors of the jobs service.
 *
 * @category errors
 * @since 0.1.0
 */
export type JobError = BedrockError | InvalidRequestError | CredentialsError

type Failure = EmbeddingError | BedrockError | CredentialsError | ObjectStoreError | UnsupportedModelError

/**
 * The jobs service's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** A job's status, either kind (GetAsyncInvoke / GetModelInvocationJob). The region comes from the ARN unless given. */
  readonly retrieve: (id: string, params?: Params) => Effect.Effect<BatchStatus, JobError>
  /** Polls a job of either kind until it ends; fails with `AsyncJobFailedError` unless it completed. */
  readonly await: (
    id: string,
    options?: AwaitOptions & Params
  ) => Effect.Effect<BatchStatus, JobError | AsyncJobFailedError | AsyncJobTimeoutError>
  /** Reads a completed async-invoke job's embeddings from its output location. */
  readonly results: (
    id: string,
    params?: Params
  ) => Effect.Effect<
    BatchResults,
    JobError | AsyncJobFailedError | ObjectStoreError | UnsupportedModelError | ResponseDecodeError
  >
  /** One page of async-invoke jobs, newest first. */
  readonly list: (
    filter?: ListFilter,
    params?: Params
  ) => Effect.Effect<{ readonly data: ReadonlyArray<BatchStatus>; readonly next_token: string | undefined }, JobError>
  /**
   * Plans and checks a request, writes its records and manifest to S3 and creates a batch
   * inference job. The same request, folder and role give the same job (its name and token derive
   * from them), so submitting again after a crash finds it instead of starting another.
   */
  readonly submit: (
    request: EmbeddingRequest.EmbeddingRequest,
    job: JobOptions
  ) => Effect.Effect<Submitted, Failure | InvalidRequestError>
  /** A batch inference job's state with its record counts (GetModelInvocationJob). */
  readonly status: (jobArn: string, params?: Target.Params) => Effect.Effect<JobStatus, Failure>
  /**
   * Reads a completed batch inference job's results from its ARN alone: the manifest
   * {@link Service.submit} wrote says which inputs (and ids) each record is, and how to decode it;
   * the `.out` files are read a page at a time. `params` are region, endpoints and identity (a
   * request passes as is; its inputs are not read). A job without a manifest (not made by
   * `submit`) fails with `InvalidRequestError`.
   */
  readonly batchResults: (jobArn: string, params?: Params) => Effect.Effect<Results, Failure | InvalidRequestError>
}

/**
 * The jobs service.
 *
 * @category services
 * @since 0.1.0
 */
export class Jobs extends Context.Service<Jobs, Service>()("@bedrock-embed/core/Jobs") {}

/**
 * The default polling schedule of async-invoke jobs: exponential from 2 s, ×1.5, capped at 30 s.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: Schedule.Schedule<Duration.Duration> = Schedule.exponential("2 seconds", 1.5).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30)))),
  Schedule.jittered
)

/** The one poller, for both kinds: to the end, then the final status or why it failed. */
const awaitJob = (id: string, arn: JobArn, options: AwaitOptions, status: Effect.Effect<BatchStatus, JobError>) => {
  const timeout = options.timeout ?? (arn.kind === "async-invoke" ? "1 hour" : undefined)
  const what = arn.kind === "async-invoke" ? "Async job" : "Batch inference job"
  const polled = pollUntil({
    status,
    done: (s: BatchStatus) => s.status !== "in_progress",
    schedule: options.schedule ?? (arn.kind === "async-invoke" ? defaultSchedule : Schedule.spaced("30 seconds")),
    timeout,
    onStatus: options.onStatus,
    onTimeout: () =>
      new AsyncJobTimeoutError({
        message: `${what} ${id} did not finish within ${Duration.format(Duration.fromInputUnsafe(timeout ?? 0))}; it may still be running — poll it again with retrieveBatch.`,
        invocationArn: id
      })
  })
  return Effect.flatMap(polled, (final) =>
    final.status === "completed"
      ? Effect.succeed(final)
      : Effect.fail(
          new AsyncJobFailedError({
            message: `${what} ${id} ${arn.kind === "async-invoke" ? "failed" : `ended ${final.metadata.bedrock_status}`}: ${final.metadata.failure_message || "Bedrock gave no reason"}`,
            invocationArn: id,
            ...(final.metadata.model_arn === "" ? {} : { modelId: modelIdOf(final.metadata.model_arn) })
          })
        )
  )
}

/**
 * Makes the service. Control-plane clients are created on first use and released with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const asyncJobs = yield* makeAsyncJobs
  const batchJobs = yield* makeBatchJobs
  const retrieve: Service["retrieve"] = (id, params = {}) =>
    Effect.flatMap(Effect.fromResult(parseArn(id)), (arn) =>
      arn.kind === "async-invoke" ? asyncJobs.retrieve(arn, id, params) : batchJobs.retrieve(arn, id, params)
    )
  const await_: Service["await"] = (id, options = {}) =>
    Effect.flatMap(Effect.fromResult(parseArn(id)), (arn) => awaitJob(id, arn, options, retrieve(id, options)))
  return Jobs.of({
    retrieve,
    await: await_,
    results: asyncJobs.results,
    list: asyncJobs.list,
    submit: batchJobs.submit,
    status: batchJobs.status,
    batchResults: batchJobs.results
  })
})

/**
 * The service; needs the runtime, credentials, S3, the registry and prices.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Jobs,
  never,
  | BedrockRuntime.BedrockRuntime
  | AwsCredentials.AwsCredentials
  | ObjectStore.ObjectStore
  | ProviderRegistry.ProviderRegistry
  | Pricing.Pricing
> = Layer.effect(Jobs, make)
