/**
 * The OpenAI-compatible gateway: `POST /v1/embeddings` (and `/embeddings`), `GET /v1/models`,
 * `GET /v1/batches/{id}`, `GET /health/liveliness`, `GET /health/readiness` — on `effect/http`,
 * an Effect program on the engine's services: each request runs `Embeddings` in the server's own
 * runtime, so a client that disconnects interrupts its fiber and aborts its Bedrock calls.
 *
 * Clients send OpenAI's request with a configured alias as `model`; the alias picks a deployment
 * (round-robin over several), whose parameters (model, region, identity) the client cannot
 * override. Errors use OpenAI's `{ error: { message, type, code } }` shape with the right status
 * (see `HttpErrors`). Each request is logged as one JSON line (method, path, model, status,
 * latency, tokens, cost) — never a body, a key or a secret.
 *
 * @since 0.1.0
 */
import { randomUUID, timingSafeEqual } from "node:crypto"
import { EmbeddingRequest, Embeddings, type EmbeddingResponse, Jobs } from "@bedrock-embed/core"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Config } from "./Config.ts"
import { badRequest, fromError, type OpenAiError, respond } from "./HttpErrors.ts"
import * as ResponseBody from "./ResponseBody.ts"

/**
 * Gateway options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly config: Config
  /** Where request log lines go; default stdout. Lines never hold bodies or secrets. */
  readonly log?: ((line: string) => void) | undefined
}

type Deployment = Config["model_list"][number]

interface Handled {
  readonly response: HttpServerResponse.HttpServerResponse
  readonly fields?: Readonly<Record<string, unknown>> | undefined
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

// Request fields the client may not set: the deployment's identity, endpoints, target and
// headers (signed with the deployment's identity), and its prices (they decide reported spend).
const reserved = (key: string) =>
  key.startsWith("aws_") ||
  key.startsWith("input_cost_per_") ||
  key === "api_key" ||
  key === "api_base" ||
  key === "model_id" ||
  key === "model" ||
  key === "extra_headers" ||
  key === "headers"

/** Round-robin over each alias's deployments. */
const deploymentPicker = (config: Config) => {
  const deployments = new Map<string, Array<Deployment>>()
  for (const deployment of config.model_list) {
    const list = deployments.get(deployment.model_name) ?? []
    list.push(deployment)
    deployments.set(deployment.model_name, list)
  }
  const turns = new Map<string, number>()
  const pick = (alias: string): Deployment | undefined => {
    const list = deployments.get(alias)
    if (list === undefined) return undefined
    const turn = turns.get(alias) ?? 0
    turns.set(alias, turn + 1)
    return list[turn % list.length]
  }
  return { pick, aliases: () => [...deployments.keys()] }
}

let pending: Array<string> = []
const flush = () => {
  if (pending.length === 0) return
  const text = `${pending.join("\n")}\n`
  pending = []
  process.stdout.write(text)
}
// Whatever is still buffered goes out before the process ends.
process.once("exit", flush)

/**
 * The default request log: lines to stdout, written once per turn of the event loop (a write per
 * request would cost more than the rest of the gateway's own work on a busy gateway).
 */
const stdoutLines = (line: string): void => {
  if (pending.push(line) === 1) setImmediate(flush)
}

/** Runs a handler with auth, error mapping, the request id and one log line (also when the client leaves). */
const handler =
  (options: Options, name: string) =>
  (run: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<Handled, OpenAiError>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const log = options.log ?? stdoutLines
      const masterKey = options.config.general_settings?.master_key
      const started = performance.now()
      const requestId = randomUUID()
      const line = (status: number, fields: Readonly<Record<string, unknown>>) =>
        log(
          JSON.stringify({
            time: new Date().toISOString(),
            request_id: requestId,
            route: name,
            method: request.method,
            path: request.url.split("?")[0],
            status,
            latency_ms: Math.round((performance.now() - started) * 10) / 10,
            ...fields
          })
        )
      const authorization = request.headers.authorization ?? ""
      const denied =
        masterKey !== undefined && !sameSecret(authorization.replace(/^Bearer\s+/i, ""), masterKey)
          ? badRequest(
              "invalid_api_key",
              authorization === "" ? "Missing API key: send Authorization: Bearer <key>." : "Invalid API key.",
              401
            )
          : undefined
      const outcome = yield* (denied === undefined ? run(request) : Effect.fail(denied)).pipe(
        // 499, as nginx logs it: the client closed the connection; its Bedrock calls were aborted.
        Effect.onInterrupt(() => Effect.sync(() => line(499, { error: "client_closed_request" }))),
        Effect.result
      )
      const [response, fields] =
        outcome._tag === "Success"
          ? [outcome.success.response, outcome.success.fields ?? {}]
          : [respond(outcome.failure), { error: outcome.failure.code }]
      line(response.status, fields)
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    })

/** The body as JSON, within the size limit. */
const readJson = (request: HttpServerRequest.HttpServerRequest, maxBody: number) =>
  Effect.gen(function* () {
    const tooLarge = badRequest("request_too_large", `The request body is larger than ${maxBody} bytes.`, 413)
    if (Number(request.headers["content-length"] ?? 0) > maxBody) return yield* Effect.fail(tooLarge)
    const text = yield* request.text.pipe(
      Effect.mapError(() => badRequest("invalid_body", "Could not read the request body."))
    )
    if (Buffer.byteLength(text) > maxBody) return yield* Effect.fail(tooLarge)
    return yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => badRequest("invalid_json", "The request body is not valid JSON.")
    })
  })

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The OpenAI response body for an engine response under the client's alias. */
const payloadOf = (alias: string, response: EmbeddingResponse.EmbeddingResponse) => {
  const hidden = response._hidden_params
  return {
    object: "list",
    data: response.data,
    model: alias,
    usage: response.usage,
    // Async routes: the job's ARN, which LiteLLM's proxy loses; poll it at /v1/batches/{id}.
    ...(hidden._invocation_arn === undefined
      ? {}
      : { id: hidden._invocation_arn, invocation_arns: hidden._invocation_arns })
  }
}

/** `POST /v1/embeddings`: the alias's deployment, the client's parameters under it, the engine. */
const embeddingsRoute = (
  options: Options,
  engine: Embeddings.Service,
  deployments: ReturnType<typeof deploymentPicker>
) => {
  const { config } = options
  const maxBody = config.general_settings?.max_request_body_bytes ?? 20_000_000
  const maxInputs = config.general_settings?.max_inputs_per_request ?? 2048
  const dropParams = config.litellm_settings?.drop_params === true
  return handler(
    options,
    "embeddings"
  )((request) =>
    Effect.gen(function* () {
      const body = yield* readJson(request, maxBody)
      if (!isRecord(body)) {
        return yield* Effect.fail(
          badRequest("invalid_request", "The request body must be a JSON object with `model` and `input`.")
        )
      }
      const alias = typeof body.model === "string" ? body.model : ""
      const deployment = deployments.pick(alias)
      if (deployment === undefined) {
        return yield* Effect.fail<OpenAiError>({
          ...badRequest(
            "model_not_found",
            `The model "${alias}" does not exist on this gateway. Available: ${deployments.aliases().join(", ")}.`,
            404
          )
        })
      }
      const inputs = Array.isArray(body.input) ? body.input.length : 1
      if (inputs > maxInputs) {
        return yield* Effect.fail(
          badRequest(
            "too_many_inputs",
            `The request has ${inputs} inputs; this gateway takes at most ${maxInputs} per request.`
          )
        )
      }
      const clientParams = Object.fromEntries(Object.entries(body).filter(([key]) => !reserved(key)))
      const decoded = yield* EmbeddingRequest.decode({
        ...(dropParams ? { drop_params: true } : {}),
        ...clientParams,
        ...deployment.litellm_params
      }).pipe(Effect.mapError(fromError))
      // Vectors stay as Bedrock's JSON text (or float32 for base64): nothing is formatted twice.
      const response = yield* engine.embedDecoded(decoded, { float32: true }).pipe(Effect.mapError(fromError))
      const hidden = response._hidden_params
      return {
        response: HttpServerResponse.uint8Array(ResponseBody.encode(payloadOf(alias, response)), {
          contentType: "application/json",
          headers: {
            "x-bedrock-embed-response-cost": String(hidden.response_cost),
            "x-bedrock-embed-model-id": hidden.model_id
          }
        }),
        fields: {
          model: alias,
          bedrock_model: hidden.model_id,
          inputs,
          tokens: response.usage.prompt_tokens,
          cost: hidden.response_cost,
          calls: hidden.calls,
          retries: hidden.retries
        }
      }
    })
  )
}

/** `GET /v1/batches/{id}`: a job's status, read with a deployment's identity (the first with an async route). */
const batchRoute = (options: Options, jobs: Jobs.Service) => {
  const { config } = options
  const deployment =
    config.model_list.find((d) => d.litellm_params.model.includes("async_invoke/")) ?? config.model_list[0]
  const { model: _, ...params } = deployment?.litellm_params ?? { model: "" }
  return handler(
    options,
    "batches"
  )((request) =>
    Effect.gen(function* () {
      const id = decodeURIComponent(request.url.split("?")[0]!.replace(/^\/v1\/batches\//, ""))
      const status = yield* jobs.retrieve(id, params).pipe(Effect.mapError(fromError))
      return { response: HttpServerResponse.jsonUnsafe(status), fields: { batch: id, batch_status: status.status } }
    })
  )
}

/**
 * The gateway's routes, as a layer on `HttpRouter`; needs the engine and the jobs service.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (
  options: Options
): Layer.Layer<never, never, HttpRouter.HttpRouter | Embeddings.Embeddings | Jobs.Jobs> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const engine = yield* Embeddings.Embeddings
      const jobs = yield* Jobs.Jobs
      const { config } = options
      const deployments = deploymentPicker(config)
      const aliases = deployments.aliases()
      const created = Math.floor(Date.now() / 1000)
      const embeddings = embeddingsRoute(options, engine, deployments)
      const models = handler(
        options,
        "models"
      )(() =>
        Effect.succeed({
          response: HttpServerResponse.jsonUnsafe({
            object: "list",
            data: aliases.map((id) => ({ id, object: "model", created, owned_by: "bedrock-embed" }))
          })
        })
      )
      const readiness = HttpServerResponse.jsonUnsafe({
        status: "healthy",
        models: aliases.length,
        auth: config.general_settings?.master_key !== undefined
      })
      return Layer.mergeAll(
        HttpRouter.add("POST", "/v1/embeddings", embeddings),
        HttpRouter.add("POST", "/embeddings", embeddings),
        HttpRouter.add("GET", "/v1/models", models),
        HttpRouter.add("GET", "/models", models),
        HttpRouter.add("GET", "/v1/batches/*", batchRoute(options, jobs)),
        HttpRouter.add("GET", "/health/liveliness", HttpServerResponse.jsonUnsafe("I'm alive!")),
        HttpRouter.add("GET", "/health/readiness", readiness)
      )
    })
  )
