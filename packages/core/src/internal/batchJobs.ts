/**
 * Bedrock batch inference (`CreateModelInvocationJob`) for corpora beyond one machine: the
 * request is resolved and planned like any embedding request, written to S3 as JSONL records
 * (`{ recordId, modelInput }`, the InvokeModel body), run by Bedrock as a job, and read back from
 * the job's `.out` files by record id — Bedrock does not keep input order — into vectors in input
 * order, with a per-input error for every record that failed or has no output line.
 *
 * Only models Bedrock runs batch inference for are accepted (`capabilities.batchInference`).
 * Submission is idempotent: the job's name and `clientRequestToken` derive from the model, the
 * records, the S3 folder, the role and the settings, so submitting the same request again returns
 * the same job, and the same records elsewhere or as another role make another job. Fewer records
 * than Bedrock's minimum are refused before anything is written. Token counts come from the job's
 * `manifest.json.out` (Bedrock's count; some models' records carry none).
 *
 * @internal
 */
import { createHash } from "node:crypto"
import type { BedrockClient, GetModelInvocationJobResponse } from "@aws-sdk/client-bedrock"
import { Effect } from "effect"
import * as AwsCredentials from "../AwsCredentials.ts"
import type * as BedrockRuntime from "../BedrockRuntime.ts"
import * as EmbeddingRequest from "../EmbeddingRequest.ts"
import type { StreamItem } from "../Embeddings.ts"
import {
  type BedrockError,
  BedrockValidationError,
  type CredentialsError,
  type EmbeddingError,
  InvalidRequestError,
  ModelInvocationError
} from "../Errors.ts"
import type * as Jobs from "../Jobs.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import * as ObjectStore from "../ObjectStore.ts"
import * as Plan from "../Plan.ts"
import * as Pricing from "../Pricing.ts"
import * as ProviderRegistry from "../ProviderRegistry.ts"
import * as Target from "../Target.ts"
import { fromSdk } from "./awsErrors.ts"
import * as ClientCache from "./clientCache.ts"
import { decodeResponseResult } from "./decode.ts"
import { batchStatus, type JobArn, parseArn } from "./jobArn.ts"
import { retryStatus } from "./poll.ts"
import { keyOf } from "./endpoint.ts"
import { lazyImport } from "./lazy.ts"
import { sdkAuth } from "./sdkAuth.ts"

/**
 * The control-plane SDK, loaded on first use: a gateway or an embedding run that never starts a
 * batch job does not carry it in memory.
 */
type Sdk = typeof import("@aws-sdk/client-bedrock")
const loadSdk = lazyImport(() => import("@aws-sdk/client-bedrock"))
type Handler = typeof import("@smithy/node-http-handler")
const loadHandler = lazyImport(() => import("@smithy/node-http-handler"))

/** Record ids: `R` and the call's position, eleven alphanumerics as Bedrock's examples have. */
const recordId = (call: number) => `R${String(call).padStart(10, "0")}`

const trimSlash = (uri: string) => uri.replace(/\/+$/, "")

const failedStates = new Set(["Failed", "Stopped", "Expired"])
const doneStates = new Set(["Completed", "PartiallyCompleted"])

const toJobStatus = (job: GetModelInvocationJobResponse, jobId: string): Jobs.JobStatus => ({
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

/** A batch inference job as a batch status: records are the requests. */
const toBatchStatus = (job: GetModelInvocationJobResponse, jobId: string): Jobs.BatchStatus => {
  const state = job.status ?? "Submitted"
  const status = doneStates.has(state) ? "completed" : failedStates.has(state) ? "failed" : "in_progress"
  const failed = job.errorRecordCount ?? 0
  return batchStatus({
    id: job.jobArn ?? "",
    status,
    submitTime: job.submitTime,
    endTime: job.endTime ?? job.lastModifiedTime,
    counts: {
      total: job.totalRecordCount ?? 0,
      completed: Math.max(0, (job.processedRecordCount ?? 0) - failed),
      failed
    },
    metadata: {
      output_file_id: toJobStatus(job, jobId).outputUri,
      failure_message: status === "failed" ? (job.message ?? "") : "",
      model_arn: job.modelId ?? "",
      client_request_token: job.clientRequestToken ?? "",
      bedrock_status: state
    }
  })
}

/** One output line of a job: the record's body, or Bedrock's error for it. */
const readRecord = (line: string, calls: number) => {
  let record: { recordId?: unknown; modelOutput?: unknown; error?: { errorCode?: unknown; errorMessage?: unknown } }
  try {
    record = JSON.parse(line) as typeof record
  } catch {
    return undefined
  }
  const id =
    typeof record.recordId === "string" && /^R\d{10}$/.test(record.recordId) ? Number(record.recordId.slice(1)) : -1
  if (id < 0 || id >= calls) return undefined
  if (record.modelOutput !== undefined) return { id, output: record.modelOutput }
  const code = record.error?.errorCode
  const message = String(record.error?.errorMessage ?? "Bedrock reported an error for this record")
  return { id, error: code === undefined ? message : `error ${String(code)}: ${message}` }
}

/** What the job functions share: the services and the control-plane sender. */
interface Deps {
  readonly credentials: AwsCredentials.Service
  readonly store: ObjectStore.Service
  readonly registry: ProviderRegistry.Service
  readonly pricing: Pricing.Service
  readonly send: <A>(
    params: Target.Params,
    region: string | undefined,
    run: (client: BedrockClient, sdk: Sdk, abortSignal: AbortSignal) => Promise<A>
  ) => Effect.Effect<A, BedrockError | CredentialsError | InvalidRequestError>
}

const provide = (deps: Deps) => Effect.provideService(AwsCredentials.AwsCredentials, deps.credentials)

const getJob = (deps: Deps, arn: JobArn, jobArn: string, params: Target.Params) =>
  deps.send(params, params.aws_region_name ?? arn.region, (client, sdk, abortSignal) =>
    client.send(new sdk.GetModelInvocationJobCommand({ jobIdentifier: jobArn }), { abortSignal })
  )

/** The request resolved and planned for batch inference; inputs that fail their checks set aside. */
const prepare = Effect.fnUntraced(function* (deps: Deps, request: EmbeddingRequest.EmbeddingRequest) {
  const { registry } = deps
  // The control-plane endpoint is a jobs parameter (`Target.control`), not an embedding one.
  const { aws_bedrock_endpoint: _control, ...embedding } = request as EmbeddingRequest.EmbeddingRequest &
    Pick<Target.Params, "aws_bedrock_endpoint">
  const resolved = yield* Plan.resolve(registry, yield* EmbeddingRequest.decode(embedding))
  const { spec } = resolved
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
  const items = yield* Plan.itemsOfRequest(resolved.known, Number.MAX_SAFE_INTEGER)
  const whole = yield* Effect.result(Plan.plan(resolved, items))
  if (whole._tag === "Success") return { resolved, planned: whole.success, kept: undefined, rejected: [] }
  // One bad input must not hold back the rest: check each alone, submit the good ones, and
  // report the others as per-input errors (a parameter error already failed the whole request).
  if (items.length <= 1) return yield* whole.failure
  const kept: Array<number> = []
  const rejected: Array<StreamItem> = []
  for (let i = 0; i < items.length; i++) {
    const one = yield* Effect.result(Plan.plan(resolved, [items[i]!]))
    if (one._tag === "Success") kept.push(i)
    else rejected.push({ index: i, error: one.failure })
  }
  if (kept.length === 0) return yield* whole.failure
  const planned = yield* Plan.plan(
    resolved,
    kept.map((i) => items[i]!)
  )
  return { resolved, planned, kept: kept as ReadonlyArray<number> | undefined, rejected }
})

/** The records of a plan, one InvokeModel body each. */
const recordsOf = (spec: ModelSpec.Any, planned: Plan.Plan) =>
  Effect.forEach(planned.groups, (group, i) =>
    Effect.map(
      Plan.encodeCall(spec, planned, group),
      (call) => `{"recordId":"${recordId(i)}","modelInput":${call.body}}`
    )
  )

const checkJob = (job: Jobs.JobOptions) => {
  if (ObjectStore.parseUri(`${trimSlash(job.s3Uri)}/x`) === undefined) {
    return new InvalidRequestError({
      message: `s3Uri must look like s3://bucket/prefix; got "${job.s3Uri}".`,
      param: "s3_uri"
    })
  }
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(job.roleArn)) {
    return new InvalidRequestError({
      message: `roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>) Bedrock can assume; got "${job.roleArn}".`,
      param: "role_arn"
    })
  }
  return undefined
}

/** Bedrock's default quota "Minimum number of records per batch inference job". */
const minRecordsDefault = 100

/** Fewer records than a job takes: refused before any object is written or job created. */
const tooFewRecords = (records: number, minimum: number) =>
  new InvalidRequestError({
    message:
      `A batch inference job needs at least ${minimum} records (Bedrock's quota "Minimum number of records per batch inference job"); ` +
      `this one has ${records}. Nothing was written to S3 and no job was created: embed these inputs with the stream mode (InvokeModel) instead, or add inputs.`,
    param: "input"
  })

/**
 * The job's identity: everything that makes it another job — model, records (the InvokeModel
 * bodies, so every model parameter), working folder, role and settings. The same corpus sent to
 * another folder or as another role is another job, not a conflict with the first.
 */
const jobDigest = (modelId: string, lines: ReadonlyArray<string>, job: Jobs.JobOptions, perFile: number) => {
  const hash = createHash("sha256")
  for (const part of [modelId, trimSlash(job.s3Uri), job.roleArn, String(job.timeoutHours ?? 24), String(perFile)]) {
    hash.update(part).update("\u0000")
  }
  return hash.update(lines.join("\n")).digest("hex")
}

/** ConflictException on create: the token was used for another request; say so and what to do. */
const explainConflict =
  (token: string, jobName: string) =>
  <E extends BedrockError | InvalidRequestError>(error: E): E | BedrockValidationError =>
    error._tag === "BedrockValidationError" && error.awsErrorName === "ConflictException"
      ? new BedrockValidationError({
          ...error,
          message:
            `${error.message} — Bedrock already has a batch inference job created with the idempotency token "${token}" (job name ${jobName}) ` +
            "from a different request (another model, records, S3 folder or role). Pass another clientRequestToken and jobName, " +
            "or resubmit the original request unchanged to get that job back."
        })
      : error

const submit = Effect.fn("Jobs.submit")(function* (
  deps: Deps,
  request: EmbeddingRequest.EmbeddingRequest,
  job: Jobs.JobOptions
) {
  const problem = checkJob(job)
  if (problem !== undefined) return yield* problem
  const { resolved, planned, rejected } = yield* prepare(deps, request)
  const { route } = resolved
  const lines = yield* recordsOf(resolved.spec, planned)
  const minimum = job.minRecords ?? minRecordsDefault
  if (lines.length < minimum) return yield* tooFewRecords(lines.length, minimum)
  const perFile = Math.max(1, job.recordsPerFile ?? 50_000)
  const digest = jobDigest(route.modelId, lines, job, perFile)
  const jobName = job.jobName ?? `bedrock-embed-${digest.slice(0, 24)}`
  const token = job.clientRequestToken ?? digest.slice(0, 24)
  const base = `${trimSlash(job.s3Uri)}/${jobName}`
  const target = yield* Target.control(job, route.region).pipe(provide(deps))
  const storeTarget = yield* Target.objectStore(job, target.region).pipe(provide(deps))
  for (let start = 0, part = 1; start < lines.length; start += perFile, part++) {
    const body = `${lines.slice(start, start + perFile).join("\n")}\n`
    yield* deps.store.put(`${base}/input/part-${String(part).padStart(5, "0")}.jsonl`, body, storeTarget)
  }
  // Retried like a status call: the idempotency token makes a repeated CreateModelInvocationJob the same job.
  const created = yield* retryStatus(
    deps.send(job, route.region, (client, sdk, abortSignal) =>
      client.send(
        new sdk.CreateModelInvocationJobCommand({
          jobName,
          roleArn: job.roleArn,
          clientRequestToken: token,
          modelId: route.modelId,
          inputDataConfig: { s3InputDataConfig: { s3Uri: `${base}/input/`, s3InputFormat: "JSONL" } },
          outputDataConfig: { s3OutputDataConfig: { s3Uri: `${base}/output/` } },
          timeoutDurationInHours: job.timeoutHours ?? 24
        }),
        { abortSignal }
      )
    )
  ).pipe(Effect.mapError(explainConflict(token, jobName)))
  return {
    jobArn: created.jobArn ?? "",
    jobName,
    inputUri: `${base}/input/`,
    outputUri: `${base}/output/`,
    inputs: planned.inputs.length + rejected.length,
    records: lines.length,
    rejected
  } satisfies Jobs.Submitted
})

const status = Effect.fn("Jobs.status")(function* (deps: Deps, jobArn: string, params: Target.Params = {}) {
  const arn = yield* Effect.fromResult(parseArn(jobArn, "batch-inference"))
  return toJobStatus(yield* retryStatus(getJob(deps, arn, jobArn, params)), arn.jobId)
})

const retrieve = (deps: Deps, arn: JobArn, jobArn: string, params: Target.Params) =>
  Effect.map(getJob(deps, arn, jobArn, params), (job) => toBatchStatus(job, arn.jobId)).pipe(
    Effect.withSpan("Jobs.retrieve")
  )

/** Every output line of a finished job, by call. */
const outputs = (deps: Deps, done: Jobs.JobStatus, params: Target.Params, region: string, calls: number) =>
  Effect.gen(function* () {
    const storeTarget = yield* Target.objectStore(params, region).pipe(provide(deps))
    // One `.out` per input file, and `manifest.json.out`: the job's summary, with its token count.
    const objects = yield* deps.store.list(`${done.outputUri}/`, storeTarget)
    const files = objects.filter((object) => object.uri.endsWith(".out") && !object.uri.endsWith("manifest.json.out"))
    const byCall = new Map<number, { readonly output?: unknown; readonly error?: string }>()
    for (const file of files) {
      const text = yield* deps.store.getText(file.uri, storeTarget)
      for (const line of text.split("\n")) {
        const record = line.trim().length === 0 ? undefined : readRecord(line, calls)
        if (record !== undefined) byCall.set(record.id, record)
      }
    }
    const manifest = objects.find((object) => object.uri.endsWith("/manifest.json.out"))
    const tokens =
      manifest === undefined ? undefined : manifestTokens(yield* deps.store.getText(manifest.uri, storeTarget))
    return { byCall, manifestTokens: tokens }
  })

/** `inputTokenCount` of a job's `manifest.json.out`, when it is there and a number. */
const manifestTokens = (text: string): number | undefined => {
  try {
    const count = (JSON.parse(text) as { inputTokenCount?: unknown }).inputTokenCount
    return typeof count === "number" && Number.isFinite(count) && count >= 0 ? count : undefined
  } catch {
    return undefined
  }
}

const results = Effect.fn("Jobs.batchResults")(function* (
  deps: Deps,
  jobArn: string,
  request: EmbeddingRequest.EmbeddingRequest
) {
  const { resolved, planned, kept, rejected } = yield* prepare(deps, request)
  const { route, spec } = resolved
  const original = (index: number) => (kept === undefined ? index : kept[index]!)
  const params: Target.Params = request
  const arn = yield* Effect.fromResult(parseArn(jobArn, "batch-inference"))
  const done = yield* status(deps, jobArn, params)
  const { byCall, manifestTokens: jobTokens } = yield* outputs(deps, done, params, arn.region, planned.groups.length)
  let uncounted = 0
  const items: Array<StreamItem> = [...rejected]
  const usage = { inputTokens: 0, images: 0, videoSeconds: 0, audioSeconds: 0, queries: 0 }
  for (let i = 0; i < planned.groups.length; i++) {
    const indices = planned.groups[i]!
    const found = byCall.get(i)
    const failAll = (error: EmbeddingError) => {
      for (const index of indices) items.push({ index: original(index), error })
    }
    const first = original(indices[0]!)
    if (found?.error !== undefined || found === undefined) {
      const message =
        found === undefined
          ? `Batch inference job ${jobArn} has no output record for input[${first}] (record ${recordId(i)}).`
          : `${spec.id} failed on input[${first}] in batch inference: ${found.error}`
      failAll(new ModelInvocationError({ message, modelId: route.modelId }))
      continue
    }
    const call = { indices, items: indices.map((j) => planned.inputs[j]!) }
    const decoded = decodeResponseResult(spec, found.output, call, planned.options, { modelId: route.modelId })
    if (decoded._tag === "Failure") {
      failAll(decoded.failure)
      continue
    }
    if (decoded.success.inputTokens === undefined) uncounted++
    usage.inputTokens += decoded.success.inputTokens ?? 0
    usage.images += decoded.success.media?.images ?? 0
    decoded.success.vectors.forEach((vector, j) => {
      items.push({ index: original(indices[j]!), embedding: Float32Array.from(vector) })
    })
  }
  items.sort((a, b) => a.index - b.index)
  // Some models' records carry no token count (on demand it is a response header, which batch
  // output has not): the job's manifest has Bedrock's count for the whole job.
  if (jobTokens !== undefined) usage.inputTokens = jobTokens
  const tokensKnown = jobTokens !== undefined || uncounted === 0
  // At the batch price: half the on-demand price, as Bedrock bills batch inference.
  return {
    items,
    tokens: usage.inputTokens,
    cost: deps.pricing.cost(spec, usage) / 2,
    tokensKnown
  } satisfies Jobs.Results
})

export const makeBatchJobs = Effect.gen(function* () {
  const credentials = yield* AwsCredentials.AwsCredentials
  const store = yield* ObjectStore.ObjectStore
  const registry = yield* ProviderRegistry.ProviderRegistry
  const pricing = yield* Pricing.Pricing
  // Clients live while in use and a while after (a poll every 30 s keeps one), then are
  // destroyed; their idle timers never keep the process alive.
  type Made = { readonly target: BedrockRuntime.Target; readonly sdk: Sdk; readonly handler: Handler }
  const clients = yield* ClientCache.make<Made, BedrockClient>({
    acquire: ({ target, sdk, handler }) =>
      new sdk.BedrockClient({
        region: target.region,
        ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
        // Status calls are retried by the poller, submissions by their idempotency token: one retry layer.
        maxAttempts: 1,
        requestHandler: new handler.NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
        ...sdkAuth(target.auth)
      }),
    release: (client) => client.destroy(),
    idleTimeToLive: "5 minutes"
  })

  /** Sends one control-plane command with the client for the parameters' target. */
  const send = <A>(
    params: Target.Params,
    region: string | undefined,
    run: (client: BedrockClient, sdk: Sdk, abortSignal: AbortSignal) => Promise<A>
  ) =>
    Effect.gen(function* () {
      const target = yield* Target.control(params, region).pipe(
        Effect.provideService(AwsCredentials.AwsCredentials, credentials)
      )
      const [sdk, handler] = yield* Effect.zip(loadSdk, loadHandler)
      const key = keyOf(target)
      return yield* clients.use(key, { target, sdk, handler }, (client) =>
        Effect.tryPromise({
          try: (signal) => run(client, sdk, signal),
          catch: (cause): BedrockError =>
            fromSdk(cause, { endpoint: target.endpoint ?? `https://bedrock.${target.region}.amazonaws.com` })
        })
      )
    })

  const deps: Deps = { credentials, store, registry, pricing, send }
  return {
    submit: (request: EmbeddingRequest.EmbeddingRequest, job: Jobs.JobOptions) => submit(deps, request, job),
    status: (jobArn: string, params?: Target.Params) => status(deps, jobArn, params),
    retrieve: (arn: JobArn, jobArn: string, params: Target.Params) => retrieve(deps, arn, jobArn, params),
    results: (jobArn: string, request: EmbeddingRequest.EmbeddingRequest) => results(deps, jobArn, request)
  }
})
