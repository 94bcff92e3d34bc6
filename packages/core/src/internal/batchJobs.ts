/**
 * Bedrock batch inference (`CreateModelInvocationJob`) for corpora beyond one machine: the
 * request is resolved and planned like any embedding request, written to S3 as JSONL records
 * (`{ recordId, modelInput }`, the InvokeModel body) with a manifest beside them (record id →
 * input positions and the caller's ids, and the call options decoding needs), run by Bedrock as a
 * job, and read back from the job's ARN alone: the `.out` files, a page at a time, joined through
 * the manifest by record id — Bedrock does not keep input order — into vectors in input order,
 * with a per-input error for every record that failed or has no output line.
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
import {
  checkIds,
  type Manifest,
  manifestName,
  manifestText,
  readManifest,
  recordId,
  recordNumber,
  stubInputs
} from "./batchManifest.ts"
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
  const id = recordNumber(record.recordId)
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
  const resolved = yield* Plan.resolve(registry, yield* EmbeddingRequest.decode(request))
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
  const rejected: Array<{ readonly index: number; readonly error: InvalidRequestError }> = []
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
 * another folder or as another role is another job, not a conflict with the first. The caller's
 * ids are part of it too: they are in the job's manifest, and the same texts under other ids must
 * not rewrite the manifest of a job another run is waiting on.
 */
const jobDigest = (modelId: string, lines: ReadonlyArray<string>, job: Jobs.JobOptions, perFile: number) => {
  const hash = createHash("sha256")
  for (const part of [modelId, trimSlash(job.s3Uri), job.roleArn, String(job.timeoutHours ?? 24), String(perFile)]) {
    hash.update(part).update("\u0000")
  }
  hash.update(lines.join("\n"))
  if (job.ids !== undefined) {
    hash.update("\u0000ids")
    for (const id of job.ids) hash.update("\u0000").update(JSON.stringify(id))
  }
  return hash.digest("hex")
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
  const { resolved, planned, kept, rejected } = yield* prepare(deps, request)
  const { route } = resolved
  const inputs = planned.inputs.length + rejected.length
  const badIds = checkIds(job.ids, inputs)
  if (badIds !== undefined) return yield* badIds
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
  // The manifest first: a job whose records are in S3 can always be read back from its ARN.
  const original = (i: number) => (kept === undefined ? i : kept[i]!)
  const byOriginal = new Map<number, number>(kept?.map((index, i) => [index, i]))
  const manifest = manifestText({
    header: {
      model: resolved.known.model,
      ...(resolved.known.model_id === undefined ? {} : { model_id: resolved.known.model_id }),
      modelId: route.modelId,
      options: planned.options,
      inputs,
      records: lines.length
    },
    groups: planned.groups.map((group) => group.map(original)),
    inputAt: (index) => planned.inputs[kept === undefined ? index : (byOriginal.get(index) ?? -1)],
    ids: job.ids,
    rejected
  })
  yield* deps.store.put(`${base}/${manifestName}`, manifest, storeTarget)
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
    manifestUri: `${base}/${manifestName}`,
    inputs,
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

/** `inputTokenCount` of a job's `manifest.json.out`, when it is there and a number. */
const manifestTokens = (text: string): number | undefined => {
  try {
    const count = (JSON.parse(text) as { inputTokenCount?: unknown }).inputTokenCount
    return typeof count === "number" && Number.isFinite(count) && count >= 0 ? count : undefined
  } catch {
    return undefined
  }
}

/** Where the manifest of a job made by {@link submit} is: beside its `input/` folder. */
const manifestUriOf = (job: GetModelInvocationJobResponse) => {
  const input =
    job.inputDataConfig !== undefined && "s3InputDataConfig" in job.inputDataConfig
      ? (job.inputDataConfig.s3InputDataConfig?.s3Uri ?? "")
      : ""
  return `${trimSlash(input).replace(/\/input$/, "")}/${manifestName}`
}

/** The spec and route of a manifest's model, found again as at submission. */
const resolveManifest = (deps: Deps, manifest: Manifest) =>
  Effect.flatMap(
    EmbeddingRequest.decode({
      model: manifest.header.model,
      input: "",
      ...(manifest.header.model_id === undefined ? {} : { model_id: manifest.header.model_id })
    }),
    (decoded) => Plan.resolve(deps.registry, decoded)
  )

/** The items of a job being read: each input's vector or error, by position, with its id. */
const collector = (deps: Deps, jobArn: string, manifest: Manifest, spec: ModelSpec.Any, modelId: string) => {
  const { header, records } = manifest
  const items: Array<Jobs.BatchItem | undefined> = new Array(header.inputs)
  const seen = new Uint8Array(header.records)
  const usage = { inputTokens: 0, images: 0, videoSeconds: 0, audioSeconds: 0, queries: 0 }
  let uncounted = 0
  const put = (index: number, id: unknown, item: Jobs.BatchItem) => {
    items[index] = id === undefined ? item : { ...item, id }
  }
  const failAll = (n: number, error: EmbeddingError) => {
    const entry = records[n]
    entry?.inputs.forEach((index, j) => {
      put(index, entry.ids?.[j], { index, error })
    })
  }
  /** One `.out` line, decoded as it arrives: its vectors go in, its text does not stay. */
  const add = (line: string) => {
    const record = readRecord(line, header.records)
    const entry = record === undefined ? undefined : records[record.id]
    if (record === undefined || entry === undefined || seen[record.id] === 1) return
    seen[record.id] = 1
    if (record.error !== undefined) {
      const message = `${spec.id} failed on input[${entry.inputs[0]}] in batch inference: ${record.error}`
      return failAll(record.id, new ModelInvocationError({ message, modelId }))
    }
    const call = { indices: entry.inputs, items: stubInputs(entry) }
    const decoded = decodeResponseResult(spec, record.output, call, header.options, { modelId })
    if (decoded._tag === "Failure") return failAll(record.id, decoded.failure)
    if (decoded.success.inputTokens === undefined) uncounted++
    usage.inputTokens += decoded.success.inputTokens ?? 0
    usage.images += decoded.success.media?.images ?? 0
    decoded.success.vectors.forEach((vector, j) => {
      const index = entry.inputs[j]!
      put(index, entry.ids?.[j], { index, embedding: Float32Array.from(vector) })
    })
  }
  /** Records with no output line, and the inputs never submitted; then every item in input order. */
  const finish = () => {
    for (let n = 0; n < header.records; n++) {
      if (seen[n] === 1) continue
      const first = records[n]?.inputs[0]
      const message = `Batch inference job ${jobArn} has no output record for input[${first}] (record ${recordId(n)}).`
      failAll(n, new ModelInvocationError({ message, modelId }))
    }
    for (const { index, id, error } of manifest.rejected) put(index, id, { index, error })
    return items.filter((item): item is Jobs.BatchItem => item !== undefined)
  }
  return { add, finish, usage, uncounted: () => uncounted, cost: () => deps.pricing.cost(spec, usage) / 2 }
}

const results = Effect.fn("Jobs.batchResults")(function* (deps: Deps, jobArn: string, params: Target.Params = {}) {
  const arn = yield* Effect.fromResult(parseArn(jobArn, "batch-inference"))
  const job = yield* retryStatus(getJob(deps, arn, jobArn, params))
  const done = toJobStatus(job, arn.jobId)
  const storeTarget = yield* Target.objectStore(params, arn.region).pipe(provide(deps))
  const manifest = yield* readManifest(deps.store, manifestUriOf(job), storeTarget)
  const { route, spec } = yield* resolveManifest(deps, manifest)
  const collected = collector(deps, jobArn, manifest, spec, route.modelId)
  // One `.out` per input file, and `manifest.json.out`: the job's summary, with its token count.
  const objects = yield* deps.store.list(`${done.outputUri}/`, storeTarget)
  for (const object of objects) {
    if (object.uri.endsWith(".out") && !object.uri.endsWith("manifest.json.out")) {
      yield* ObjectStore.forEachLine(deps.store, object, storeTarget, collected.add)
    }
  }
  const summary = objects.find((object) => object.uri.endsWith("/manifest.json.out"))
  const jobTokens =
    summary === undefined ? undefined : manifestTokens(yield* deps.store.getText(summary.uri, storeTarget))
  const items = collected.finish()
  // Some models' records carry no token count (on demand it is a response header, which batch
  // output has not): the job's manifest has Bedrock's count for the whole job.
  if (jobTokens !== undefined) collected.usage.inputTokens = jobTokens
  // At the batch price: half the on-demand price, as Bedrock bills batch inference.
  return {
    items,
    tokens: collected.usage.inputTokens,
    cost: collected.cost(),
    tokensKnown: jobTokens !== undefined || collected.uncounted() === 0
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
    results: (jobArn: string, params?: Target.Params) => results(deps, jobArn, params)
  }
})
