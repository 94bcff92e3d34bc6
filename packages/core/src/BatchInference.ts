/**
 * Bedrock batch inference (`CreateModelInvocationJob`) for corpora beyond one machine: the
 * request is planned and checked like any embedding request, written to S3 as JSONL records
 * (`{ recordId, modelInput }`, the InvokeModel body), run by Bedrock as a job, and read back from
 * the job's `.out` files by record id — Bedrock does not keep input order — into vectors in input
 * order, with a per-input error for every record that failed or has no output line. Nothing is
 * lost silently.
 *
 * Only models Bedrock runs batch inference for are accepted (`capabilities.batchInference`).
 * Submission is idempotent: the job's name and `clientRequestToken` derive from the model and
 * the records, so submitting the same corpus again returns the same job.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  type GetModelInvocationJobResponse
} from "@aws-sdk/client-bedrock"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import * as AwsCredentials from "./AwsCredentials.ts"
import * as EmbeddingRequest from "./EmbeddingRequest.ts"
import { decodeResponse, plan, resolveModel, type StreamItem } from "./Embeddings.ts"
import {
  AsyncJobFailedError,
  AsyncJobTimeoutError,
  type BedrockError,
  type CredentialsError,
  type EmbeddingError,
  InvalidRequestError,
  ModelInvocationError,
  type ObjectStoreError,
  type UnsupportedModelError
} from "./Errors.ts"
import { fromSdk } from "./internal/awsErrors.ts"
import { retryStatus } from "./internal/poll.ts"
import { sdkAuth } from "./internal/sdkAuth.ts"
import type * as ModelSpec from "./ModelSpec.ts"
import * as ObjectStore from "./ObjectStore.ts"
import * as Pricing from "./Pricing.ts"
import * as ProviderRegistry from "./ProviderRegistry.ts"
import * as Target from "./Target.ts"

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
  /** The job's name; default `bedrock-embed-<digest of model and records>`. */
  readonly jobName?: string | undefined
  /** Idempotency token; default the same digest. */
  readonly clientRequestToken?: string | undefined
  /** Bedrock's job timeout, 24–168 hours; default 24. */
  readonly timeoutHours?: number | undefined
  /** Records per input file; default 50 000. */
  readonly recordsPerFile?: number | undefined
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
 * A finished job's vectors, in input order, and its usage.
 *
 * @category models
 * @since 0.1.0
 */
export interface Results {
  /** One item per input, by `index`: a vector or the reason there is none. */
  readonly items: ReadonlyArray<StreamItem>
  readonly tokens: number
  /** At the batch price: half the on-demand price, as Bedrock bills batch inference. */
  readonly cost: number
}

type Failure = EmbeddingError | BedrockError | CredentialsError | ObjectStoreError | UnsupportedModelError

/**
 * The batch inference service's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Plans and checks the request, writes its records to S3 and creates the job. */
  readonly submit: (
    request: EmbeddingRequest.EmbeddingRequest,
    job: JobOptions
  ) => Effect.Effect<Submitted, Failure | InvalidRequestError>
  /** GetModelInvocationJob. The region comes from the ARN unless given. */
  readonly status: (jobArn: string, params?: Target.Params) => Effect.Effect<JobStatus, Failure>
  /** Polls until the job ends; fails with `AsyncJobFailedError` unless it completed. */
  readonly await: (
    jobArn: string,
    options?: {
      readonly params?: Target.Params | undefined
      readonly interval?: Duration.Input | undefined
      readonly timeout?: Duration.Input | undefined
      readonly onStatus?: ((status: JobStatus) => void) | undefined
    }
  ) => Effect.Effect<JobStatus, Failure | AsyncJobFailedError | AsyncJobTimeoutError>
  /** Reads a completed job's results for the request it was submitted with. */
  readonly results: (
    jobArn: string,
    request: EmbeddingRequest.EmbeddingRequest
  ) => Effect.Effect<Results, Failure | InvalidRequestError>
}

/**
 * The batch inference service.
 *
 * @category services
 * @since 0.1.0
 */
export class BatchInference extends Context.Service<BatchInference, Service>()("@bedrock-embed/core/BatchInference") {}

const arnPattern = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):(\d{12}):model-invocation-job\/([a-z0-9]+)$/
const terminal = new Set(["Completed", "Failed", "Stopped", "Expired", "PartiallyCompleted"])

/** Record ids: `R` and the call's position, eleven alphanumerics as Bedrock's examples have. */
const recordId = (call: number) => `R${String(call).padStart(10, "0")}`

const trimSlash = (uri: string) => uri.replace(/\/+$/, "")

/**
 * Makes the service. Control-plane clients are created on first use and destroyed with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const credentials = yield* AwsCredentials.AwsCredentials
  const store = yield* ObjectStore.ObjectStore
  const registry = yield* ProviderRegistry.ProviderRegistry
  const pricing = yield* Pricing.Pricing
  const withCredentials = Effect.provideService(AwsCredentials.AwsCredentials, credentials)
  const clients = new Map<string, BedrockClient>()
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const client of clients.values()) client.destroy()
      clients.clear()
    })
  )

  const control = Effect.fnUntraced(function* (params: Target.Params, region: string | undefined) {
    const target = yield* Target.control(params, region).pipe(withCredentials)
    const endpoint = target.endpoint
    const key = `${target.region}\u0000${endpoint ?? ""}\u0000${target.auth.cacheKey}`
    let client = clients.get(key)
    if (client === undefined) {
      client = new BedrockClient({
        region: target.region,
        ...(endpoint === undefined ? {} : { endpoint }),
        maxAttempts: 3,
        requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
        ...sdkAuth(target.auth)
      })
      clients.set(key, client)
    }
    const send = <A>(run: (client: BedrockClient) => Promise<A>) =>
      Effect.tryPromise({
        try: () => run(client!),
        catch: (cause) =>
          fromSdk(cause, { endpoint: endpoint ?? `https://bedrock.${target.region}.amazonaws.com` }) as BedrockError
      })
    return { target, send }
  })

  const checkArn = (jobArn: string) => {
    const match = arnPattern.exec(jobArn)
    return match === null
      ? Effect.fail(
          new InvalidRequestError({
            message: `"${jobArn}" is not a batch inference job ARN; expected arn:aws:bedrock:<region>:<account>:model-invocation-job/<id>.`,
            param: "job_arn"
          })
        )
      : Effect.succeed({ region: match[1]!, jobId: match[3]! })
  }

  /** The spec and the plan of a request, checked for batch inference. */
  const prepare = Effect.fnUntraced(function* (request: EmbeddingRequest.EmbeddingRequest) {
    const decoded = yield* EmbeddingRequest.decode(request)
    const { route, spec } = yield* resolveModel(registry, decoded.known)
    if (spec.capabilities.batchInference !== true) {
      const able = registry
        .specs()
        .filter((s) => s.capabilities.batchInference === true)
        .map((s) => s.id)
      return yield* new InvalidRequestError({
        message: `${spec.id} does not run as Bedrock batch inference. Models that do: ${able.join(", ")}. Embed it with the stream mode instead.`,
        param: "model"
      })
    }
    const limits = { maxInputs: Number.MAX_SAFE_INTEGER }
    const whole = yield* Effect.result(plan(spec, decoded, limits))
    if (whole._tag === "Success") {
      return { route, spec, planned: whole.success, kept: undefined, rejected: [] as Array<StreamItem> }
    }
    // One bad input must not hold back the rest: check each alone, submit the good ones, and
    // report the others as per-input errors (a parameter error still fails the whole request).
    const items = Array.isArray(request.input) ? (request.input as ReadonlyArray<unknown>) : [request.input]
    if (items.length <= 1) return yield* whole.failure
    const kept: Array<number> = []
    const rejected: Array<StreamItem> = []
    for (let i = 0; i < items.length; i++) {
      const one = yield* Effect.result(
        Effect.flatMap(
          EmbeddingRequest.decode({ ...request, input: [items[i]] } as EmbeddingRequest.EmbeddingRequest),
          (d) => plan(spec, d, limits)
        )
      )
      if (one._tag === "Success") kept.push(i)
      else rejected.push({ index: i, error: one.failure })
    }
    if (kept.length === 0) return yield* whole.failure
    const subset = yield* EmbeddingRequest.decode({
      ...request,
      input: kept.map((i) => items[i])
    } as EmbeddingRequest.EmbeddingRequest)
    const planned = yield* plan(spec, subset, limits)
    return { route, spec, planned, kept: kept as ReadonlyArray<number> | undefined, rejected }
  })

  const toStatus = (job: GetModelInvocationJobResponse, jobId: string): JobStatus => ({
    jobArn: job.jobArn ?? "",
    status: job.status ?? "Submitted",
    message: job.message,
    totalRecords: job.totalRecordCount,
    processedRecords: job.processedRecordCount,
    failedRecords: job.errorRecordCount,
    outputUri: `${trimSlash(
      job.outputDataConfig !== undefined && "s3OutputDataConfig" in job.outputDataConfig
        ? (job.outputDataConfig.s3OutputDataConfig?.s3Uri ?? "")
        : ""
    )}/${jobId}`
  })

  const submit = Effect.fn("BatchInference.submit")(function* (
    request: EmbeddingRequest.EmbeddingRequest,
    job: JobOptions
  ) {
    if (ObjectStore.parseUri(`${trimSlash(job.s3Uri)}/x`) === undefined) {
      return yield* new InvalidRequestError({
        message: `s3Uri must look like s3://bucket/prefix; got "${job.s3Uri}".`,
        param: "s3_uri"
      })
    }
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(job.roleArn)) {
      return yield* new InvalidRequestError({
        message: `roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>) Bedrock can assume; got "${job.roleArn}".`,
        param: "role_arn"
      })
    }
    const { route, planned, rejected } = yield* prepare(request)
    const lines = planned.calls.map((call, i) => `{"recordId":"${recordId(i)}","modelInput":${call.body}}`)
    const digest = createHash("sha256")
      .update(route.modelId)
      .update("\u0000")
      .update(lines.join("\n"))
      .digest("hex")
      .slice(0, 24)
    const jobName = job.jobName ?? `bedrock-embed-${digest}`
    const token = job.clientRequestToken ?? digest
    const base = `${trimSlash(job.s3Uri)}/${jobName}`
    const { target, send } = yield* control(job, route.region)
    const storeTarget = yield* Target.objectStore(job, target.region).pipe(withCredentials)
    const perFile = Math.max(1, job.recordsPerFile ?? 50_000)
    for (let start = 0, part = 1; start < lines.length; start += perFile, part++) {
      const body = `${lines.slice(start, start + perFile).join("\n")}\n`
      yield* store.put(`${base}/input/part-${String(part).padStart(5, "0")}.jsonl`, body, storeTarget)
    }
    const created = yield* send((client) =>
      client.send(
        new CreateModelInvocationJobCommand({
          jobName,
          roleArn: job.roleArn,
          clientRequestToken: token,
          modelId: route.modelId,
          inputDataConfig: { s3InputDataConfig: { s3Uri: `${base}/input/`, s3InputFormat: "JSONL" } },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: `${base}/output/` } },
          timeoutDurationInHours: job.timeoutHours ?? 24
        })
      )
    )
    return {
      jobArn: created.jobArn ?? "",
      jobName,
      inputUri: `${base}/input/`,
      outputUri: `${base}/output/`,
      inputs: planned.inputs.length + rejected.length,
      records: lines.length,
      rejected
    } satisfies Submitted
  })

  const status = Effect.fn("BatchInference.status")(function* (jobArn: string, params: Target.Params = {}) {
    const { region, jobId } = yield* checkArn(jobArn)
    const { send } = yield* control(params, params.aws_region_name ?? region)
    const job = yield* send((client) => client.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn })))
    return toStatus(job, jobId)
  })

  const awaitJob: Service["await"] = (jobArn, options = {}) => {
    const interval = Duration.fromInputUnsafe(options.interval ?? "30 seconds")
    const poll = retryStatus(status(jobArn, options.params ?? {})).pipe(
      Effect.tap((s) => Effect.sync(() => options.onStatus?.(s))),
      Effect.repeat({ schedule: Schedule.spaced(interval), until: (s) => terminal.has(s.status) })
    )
    const finished = Effect.flatMap(poll, (s) =>
      s.status === "Completed"
        ? Effect.succeed(s)
        : Effect.fail(
            new AsyncJobFailedError({
              message: `Batch inference job ${jobArn} ended ${s.status}${s.message ? `: ${s.message}` : ""}`,
              invocationArn: jobArn
            })
          )
    )
    return options.timeout === undefined
      ? finished
      : finished.pipe(
          Effect.timeoutOrElse({
            duration: options.timeout,
            orElse: () =>
              Effect.fail(
                new AsyncJobTimeoutError({
                  message: `Batch inference job ${jobArn} did not finish within ${Duration.format(Duration.fromInputUnsafe(options.timeout!))}; it keeps running — await it again later.`,
                  invocationArn: jobArn
                })
              )
          })
        )
  }

  const results = Effect.fn("BatchInference.results")(function* (
    jobArn: string,
    request: EmbeddingRequest.EmbeddingRequest
  ) {
    const { route, spec, planned, kept, rejected } = yield* prepare(request)
    const original = (index: number) => (kept === undefined ? index : kept[index]!)
    const params = request as Target.Params
    const { region } = yield* checkArn(jobArn)
    const done = yield* status(jobArn, params)
    const storeTarget = yield* Target.objectStore(params, region).pipe(withCredentials)
    // One `.out` per input file; the manifest is the job's summary, not records.
    const files = (yield* store.list(`${done.outputUri}/`, storeTarget)).filter(
      (object) => object.uri.endsWith(".out") && !object.uri.endsWith("manifest.json.out")
    )
    const byCall = new Map<number, { readonly output?: unknown; readonly error?: string }>()
    for (const file of files) {
      const text = yield* store.getText(file.uri, storeTarget)
      for (const line of text.split("\n")) {
        if (line.trim().length === 0) continue
        let record: {
          recordId?: unknown
          modelOutput?: unknown
          error?: { errorCode?: unknown; errorMessage?: unknown }
        }
        try {
          record = JSON.parse(line) as typeof record
        } catch {
          continue
        }
        const id =
          typeof record.recordId === "string" && /^R\d{10}$/.test(record.recordId)
            ? Number(record.recordId.slice(1))
            : -1
        if (id < 0 || id >= planned.calls.length) continue
        byCall.set(
          id,
          record.modelOutput !== undefined
            ? { output: record.modelOutput }
            : {
                error: [
                  record.error?.errorCode === undefined ? undefined : `error ${String(record.error.errorCode)}`,
                  String(record.error?.errorMessage ?? "Bedrock reported an error for this record")
                ]
                  .filter((part) => part !== undefined)
                  .join(": ")
              }
        )
      }
    }
    const items: Array<StreamItem> = [...rejected]
    let tokens = 0
    let images = 0
    for (let i = 0; i < planned.calls.length; i++) {
      const call = planned.calls[i]!
      const found = byCall.get(i)
      const fail = (message: string) => {
        for (const index of call.indices)
          items.push({ index: original(index), error: new ModelInvocationError({ message, modelId: route.modelId }) })
      }
      if (found === undefined) {
        fail(
          `Batch inference job ${jobArn} has no output record for input[${original(call.indices[0]!)}] (record ${recordId(i)}).`
        )
        continue
      }
      if (found.error !== undefined) {
        fail(`${spec.id} failed on input[${original(call.indices[0]!)}] in batch inference: ${found.error}`)
        continue
      }
      const decoded = yield* Effect.result(
        decodeResponse(spec, found.output, call, planned.options, { modelId: route.modelId })
      )
      if (decoded._tag === "Failure") {
        for (const index of call.indices) items.push({ index: original(index), error: decoded.failure })
        continue
      }
      tokens += decoded.success.inputTokens ?? 0
      images += decoded.success.media?.images ?? 0
      decoded.success.vectors.forEach((vector, j) => {
        items.push({ index: original(call.indices[j]!), embedding: Float32Array.from(vector) })
      })
    }
    items.sort((a, b) => a.index - b.index)
    const usage: ModelSpec.Usage = { inputTokens: tokens, images, videoSeconds: 0, audioSeconds: 0, queries: 0 }
    return { items, tokens, cost: pricing.cost(spec, usage) / 2 } satisfies Results
  })

  return BatchInference.of({ submit, status, await: awaitJob, results })
})

/**
 * The service; needs credentials, S3, the registry and prices.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  BatchInference,
  never,
  AwsCredentials.AwsCredentials | ObjectStore.ObjectStore | ProviderRegistry.ProviderRegistry | Pricing.Pricing
> = Layer.effect(BatchInference, make)
