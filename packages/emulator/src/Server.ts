/**
 * The emulator's server: one port speaking HTTP/1.1 and h2c (HTTP/2 with prior knowledge), the
 * Bedrock Runtime routes, authentication, fault injection and a record of what was invoked.
 */
import { randomUUID } from "node:crypto"
import type * as Http from "node:http"
import { makeJobs } from "./Async.ts"
import { type AuthOptions, authenticate, EMULATOR_CREDENTIALS } from "./Auth.ts"
import { type BatchQuotas, makeBatchJobs } from "./BatchInference.ts"
import { type BedrockFault, render } from "./Errors.ts"
import { type FaultOptions, Faults, fromEnv, type Operation, type ScriptedFault } from "./Faults.ts"
import { stringify } from "./Json.ts"
import { listen, type Request, type Response } from "./Listener.ts"
import { findModel, isFault, type ModelHandler, resolveModelId } from "./ModelHandler.ts"
import { cohereModels } from "./models/Cohere.ts"
import { novaModels } from "./models/Nova.ts"
import { titanModels } from "./models/Titan.ts"
import { type ObjectStore, startObjectStore } from "./S3.ts"
import { twelveLabsModels } from "./models/TwelveLabs.ts"

/** Every model the emulator knows by default. */
export const defaultModels: ReadonlyArray<ModelHandler> = [
  ...titanModels,
  ...cohereModels,
  ...novaModels,
  ...twelveLabsModels
]

/** Emulator options. */
export interface EmulatorOptions extends AuthOptions, FaultOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Host to bind; default 127.0.0.1. */
  readonly host?: string | undefined
  /** Region reported in ARNs; default us-east-1. */
  readonly region?: string | undefined
  /** Emulated models; default {@link defaultModels}. */
  readonly models?: ReadonlyArray<ModelHandler> | undefined
  /** How many invocations to keep in `invocations`; default 10 000. */
  readonly recordLimit?: number | undefined
  /** Start an S3 server (s3rver) for async jobs; default true unless `s3Endpoint` is given. */
  readonly s3?: boolean | undefined
  /** An existing S3 endpoint for async jobs, instead of starting one. */
  readonly s3Endpoint?: string | undefined
  /** Milliseconds an async job stays InProgress; default 250 (`BEDROCK_EMULATOR_ASYNC_DELAY_MS`); Infinity never ends. */
  readonly asyncDelayMs?: number | undefined
  /** Account id in ARNs; default 123456789012. */
  readonly account?: string | undefined
  /** Batch inference quotas (records per job and per input file, minimum records per job); default Bedrock's. */
  readonly batchQuotas?: Partial<BatchQuotas> | undefined
}

/** One InvokeModel call the emulator received. */
export interface Invocation {
  /** The model id as sent (decoded from the path). */
  readonly modelId: string
  readonly baseModelId: string | undefined
  /** The parsed JSON body (or the raw text when it was not JSON). */
  readonly body: unknown
  readonly status: number
  readonly auth: "sigv4" | "bearer"
  readonly time: number
}

/** Counters since start. */
export interface EmulatorStats {
  requests: number
  invocations: number
  throttled: number
  faults: number
  byModel: Record<string, number>
}

/** A running emulator. */
export interface Emulator {
  /** `http://host:port`, for `endpoint` / `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`. */
  readonly url: string
  readonly port: number
  readonly region: string
  /** Received InvokeModel calls, oldest first (capped). */
  readonly invocations: ReadonlyArray<Invocation>
  readonly clearInvocations: () => void
  readonly stats: EmulatorStats
  /** Changes fault rates at run time. */
  readonly setFaults: (faults: FaultOptions) => void
  /** Queues faults answered to the next calls of their operation (default InvokeModel), in order. */
  readonly injectFaults: (faults: ReadonlyArray<ScriptedFault>) => void
  /** The S3 endpoint async jobs read from and write to (`AWS_ENDPOINT_URL_S3`), when there is one. */
  readonly s3Url: string | undefined
  /** Every async-invoke job, as GetAsyncInvoke reports it. */
  readonly jobs: () => ReadonlyArray<unknown>
  /** Every batch inference job (CreateModelInvocationJob), as GetModelInvocationJob reports it. */
  readonly batchJobs: () => ReadonlyArray<unknown>
  /** Changes how long new async and batch inference jobs stay in progress. */
  readonly setAsyncDelay: (ms: number) => void
  /** Stops listening and drops every connection. */
  readonly close: () => Promise<void>
}

const MAX_BODY = 25_000_000

const parseJson = (body: Buffer): unknown => {
  try {
    return JSON.parse(body.toString("utf8"))
  } catch {
    return undefined
  }
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Starts an emulator. */
export const startEmulator = async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const env = fromEnv()
  const faults = new Faults({
    latencyMs: options.latencyMs ?? env.latencyMs,
    throttleRps: options.throttleRps ?? env.throttleRps,
    errorRate: options.errorRate ?? env.errorRate,
    seed: options.seed ?? env.seed ?? 1
  })
  const region = options.region ?? "us-east-1"
  const models = options.models ?? defaultModels
  const recordLimit = options.recordLimit ?? 10_000
  let invocations: Array<Invocation> = []
  const stats: EmulatorStats = { requests: 0, invocations: 0, throttled: 0, faults: 0, byModel: {} }
  const envDelay = process.env.BEDROCK_EMULATOR_ASYNC_DELAY_MS
  let asyncDelayMs = options.asyncDelayMs ?? (envDelay === undefined || envDelay === "" ? 250 : Number(envDelay))
  const store: ObjectStore | undefined =
    options.s3 === false && options.s3Endpoint === undefined
      ? undefined
      : await startObjectStore({ endpoint: options.s3Endpoint, host: options.host, credentials: EMULATOR_CREDENTIALS })
  const jobOptions = {
    region,
    account: options.account ?? "123456789012",
    models,
    store: async () => {
      if (store === undefined) throw new Error("the emulator runs without S3 (s3: false)")
      return store
    },
    delayMs: () => asyncDelayMs
  }
  const jobs = makeJobs(jobOptions)
  const batchJobs = makeBatchJobs(jobOptions, options.batchQuotas)

  const send = (res: Response, status: number, body: string, headers: Record<string, string | number> = {}) => {
    ;(res as Http.ServerResponse).writeHead(status, {
      "content-type": "application/json",
      "x-amzn-requestid": randomUUID(),
      "content-length": Buffer.byteLength(body),
      ...headers
    })
    res.end(body)
  }
  const sendFault = (res: Response, fault: BedrockFault & { retryAfterSeconds?: number | undefined }) => {
    const { status, type, body } = render(fault)
    send(res, status, body, {
      "x-amzn-errortype": type,
      ...(fault.retryAfterSeconds === undefined ? {} : { "retry-after": fault.retryAfterSeconds })
    })
    return status
  }

  const record = (invocation: Invocation) => {
    invocations.push(invocation)
    if (invocations.length > recordLimit * 2) invocations = invocations.slice(-recordLimit)
  }

  const invalidId: BedrockFault = { error: "ValidationException", message: "The provided model identifier is invalid." }
  const read = (uri: string) => (store === undefined ? Promise.resolve(undefined) : store.read(uri))

  const invokeModel = async (res: Response, rawId: string, body: Buffer, auth: "sigv4" | "bearer") => {
    let modelId: string
    try {
      modelId = decodeURIComponent(rawId)
    } catch {
      return sendFault(res, invalidId)
    }
    stats.invocations++
    stats.byModel[modelId] = (stats.byModel[modelId] ?? 0) + 1
    const { base, profile } = resolveModelId(modelId)
    let parsed: unknown
    let json = true
    try {
      parsed = JSON.parse(body.toString("utf8"))
    } catch {
      json = false
      parsed = body.toString("utf8")
    }
    const finish = (status: number) => {
      record({ modelId, baseModelId: base, body: parsed, status, auth, time: Date.now() })
      return status
    }
    if (faults.latencyMs > 0) await sleep(faults.latencyMs)
    const fault = faults.next(Date.now())
    if (fault !== undefined) {
      stats.faults++
      if (fault.error === "ThrottlingException") stats.throttled++
      return finish(sendFault(res, fault))
    }
    const model = findModel(models, base)
    if (model === undefined) return finish(sendFault(res, invalidId))
    if (!profile && model.profileOnly?.(region) === true) {
      return finish(
        sendFault(res, {
          error: "ValidationException",
          message: `Invocation of model ID ${base} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.`
        })
      )
    }
    if (!json) {
      return finish(
        sendFault(res, {
          error: "ValidationException",
          message: "Malformed input request: the body is not valid JSON, please reformat your input and try again."
        })
      )
    }
    const started = Date.now()
    const requestId = randomUUID()
    const answer = await model.invoke(parsed, { requestId, read })
    if (isFault(answer)) return finish(sendFault(res, answer))
    send(res, 200, stringify(answer.body), {
      "x-amzn-requestid": requestId,
      "x-amzn-bedrock-invocation-latency": Date.now() - started + faults.latencyMs,
      "x-amzn-bedrock-input-token-count": answer.inputTokens
    })
    return finish(200)
  }

  const handle = (req: Request, res: Response) => {
    stats.requests++
    const chunks: Array<Buffer> = []
    let size = 0
    let tooLarge = false
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) tooLarge = true
      else chunks.push(chunk)
    })
    req.on("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      void route(req, res, body, tooLarge).catch(() => {
        if (!res.headersSent) sendFault(res, { error: "InternalServerException" })
      })
    })
  }

  const route = async (req: Request, res: Response, body: Buffer, tooLarge: boolean) => {
    const url = req.url ?? "/"
    const method = req.method ?? "GET"
    // Counters for benchmarks and demos; no AWS operation lives under /_emulator.
    if (method === "GET" && url === "/_emulator/stats") return send(res, 200, JSON.stringify(stats))
    const auth = await authenticate({ method, url, headers: req.headers, body }, options, { region })
    if (typeof auth !== "string") return sendFault(res, auth)
    if (tooLarge) {
      return sendFault(res, {
        error: "ValidationException",
        message: `Input is too long for requested model. The request body exceeds ${MAX_BODY} bytes.`
      })
    }
    // Split the raw path before decoding: an encoded ARN holds `%2F` that must not split.
    const path = url.split("?")[0]!.split("/")
    if (method === "POST" && path.length === 4 && path[1] === "model" && path[3] === "invoke") {
      return invokeModel(res, path[2]!, body, auth)
    }
    if (path[1] === "async-invoke") {
      const operation: Operation | undefined =
        method === "POST" && path.length === 2
          ? "StartAsyncInvoke"
          : method === "GET" && path.length === 3
            ? "GetAsyncInvoke"
            : method === "GET" && path.length === 2
              ? "ListAsyncInvokes"
              : undefined
      const fault = operation === undefined ? undefined : faults.next(Date.now(), operation)
      if (fault !== undefined) {
        stats.faults++
        return sendFault(res, fault)
      }
      const answer =
        operation === "StartAsyncInvoke"
          ? jobs.start(parseJson(body))
          : operation === "GetAsyncInvoke"
            ? jobs.get(safeDecode(path[2]!))
            : operation === "ListAsyncInvokes"
              ? jobs.list(new URLSearchParams(url.split("?")[1] ?? ""))
              : undefined
      if (answer !== undefined) {
        if ("error" in answer) return sendFault(res, answer)
        return send(res, 200, JSON.stringify(answer.body))
      }
    }
    // The control plane's batch inference operations (service `bedrock`, same identity).
    if (path[1] === "model-invocation-job" || path[1] === "model-invocation-jobs") {
      const answer =
        method === "POST" && path.length === 2 && path[1] === "model-invocation-job"
          ? batchJobs.create(parseJson(body))
          : method === "GET" && path.length === 3 && path[1] === "model-invocation-job"
            ? batchJobs.get(safeDecode(path[2]!))
            : method === "POST" && path.length === 4 && path[3] === "stop"
              ? batchJobs.stop(safeDecode(path[2]!))
              : method === "GET" && path.length === 2 && path[1] === "model-invocation-jobs"
                ? batchJobs.list(new URLSearchParams(url.split("?")[1] ?? ""))
                : undefined
      if (answer !== undefined) {
        if ("error" in answer) return sendFault(res, answer)
        return send(res, 200, JSON.stringify(answer.body))
      }
    }
    return sendFault(res, {
      error: "UnknownOperationException",
      message: `No operation at ${method} ${path.join("/")}`
    })
  }

  const listener = await listen(options.port ?? 0, options.host ?? "127.0.0.1", handle)

  return {
    url: listener.url,
    port: listener.port,
    region,
    get invocations() {
      return invocations.slice(-recordLimit)
    },
    clearInvocations: () => {
      invocations = []
    },
    stats,
    setFaults: (next) => faults.set(next),
    s3Url: store?.url,
    jobs: () => jobs.jobs(),
    batchJobs: () => batchJobs.jobs(),
    setAsyncDelay: (ms) => {
      asyncDelayMs = ms
    },
    injectFaults: (next) => faults.inject(next),
    close: async () => {
      jobs.close()
      batchJobs.close()
      await listener.close()
      await store?.close()
    }
  }
}
