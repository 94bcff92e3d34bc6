/**
 * The OpenAI-compatible gateway: `POST /v1/embeddings` (and `/embeddings`), `GET /v1/models`,
 * `GET /v1/batches/{id}`, `GET /health/liveliness`, `GET /health/readiness` — on `effect/http`.
 *
 * Clients send OpenAI's request with a configured alias as `model`; the alias picks a deployment
 * (round-robin over several), whose parameters (model, region, identity) the client cannot
 * override. Errors use OpenAI's `{ error: { message, type, code } }` shape with the right status.
 * Each request is logged as one JSON line (method, path, model, status, latency, tokens, cost) —
 * never a body, a key or a secret.
 *
 * @since 0.1.0
 */
import { randomUUID, timingSafeEqual } from "node:crypto"
import type { Batches, Errors } from "@bedrock-embed/core"
import type { BedrockEmbed } from "bedrock-embed"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Config } from "./Config.ts"

/**
 * Gateway options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly config: Config
  /** The bedrock-embed client that serves requests. */
  readonly client: BedrockEmbed.Client
  /** Where request log lines go; default stdout. Lines never hold bodies or secrets. */
  readonly log?: ((line: string) => void) | undefined
}

interface OpenAiError {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  readonly headers?: Readonly<Record<string, string>>
}

const errorBody = (e: OpenAiError) => ({ error: { message: e.message, type: e.type, code: e.code, param: null } })

const respondError = (e: OpenAiError) =>
  HttpServerResponse.jsonUnsafe(errorBody(e), { status: e.status, headers: e.headers ?? {} })

/** OpenAI status, type and code for each of our errors. */
const fromEmbeddingError = (
  error: Errors.EmbeddingError | { readonly _tag: string; readonly message: string }
): OpenAiError => {
  const message = error.message
  switch (error._tag) {
    case "InvalidRequestError":
    case "BedrockValidationError":
      return { status: 400, type: "invalid_request_error", code: "invalid_request", message }
    case "UnsupportedModelError":
    case "ResourceNotFoundError":
      return { status: 404, type: "invalid_request_error", code: "model_not_found", message }
    case "ThrottlingError": {
      const retryAfter = (error as Errors.ThrottlingError).retryAfter
      const seconds = retryAfter === undefined ? 1 : Math.max(1, Math.ceil(Duration.toMillis(retryAfter) / 1000))
      return {
        status: 429,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        message,
        headers: { "retry-after": String(seconds) }
      }
    }
    case "QuotaExceededError":
      return { status: 429, type: "insufficient_quota", code: "insufficient_quota", message }
    case "CredentialsError":
    case "AccessDeniedError":
      // The gateway's own AWS identity failed: a server-side problem, not the client's key.
      return { status: 502, type: "api_error", code: "upstream_auth_error", message }
    case "ModelTimeoutError":
      return { status: 504, type: "api_error", code: "upstream_timeout", message }
    case "ModelInvocationError":
      return { status: 422, type: "invalid_request_error", code: "model_error", message }
    case "AsyncJobFailedError":
    case "AsyncJobTimeoutError":
    case "ObjectStoreError":
    case "ResponseDecodeError":
      return { status: 502, type: "api_error", code: "upstream_error", message }
    default:
      return { status: 503, type: "api_error", code: "service_unavailable", message }
  }
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

/**
 * The gateway's routes, as a layer on `HttpRouter`.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (options: Options) => {
  const { config, client } = options
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const masterKey = config.general_settings?.master_key
  const maxBody = config.general_settings?.max_request_body_bytes ?? 20_000_000
  const maxInputs = config.general_settings?.max_inputs_per_request ?? 2048
  const dropParams = config.litellm_settings?.drop_params === true
  const deployments = new Map<string, Array<Config["model_list"][number]>>()
  for (const deployment of config.model_list) {
    const list = deployments.get(deployment.model_name) ?? []
    list.push(deployment)
    deployments.set(deployment.model_name, list)
  }
  const turns = new Map<string, number>()
  const pick = (alias: string) => {
    const list = deployments.get(alias)
    if (list === undefined) return undefined
    const turn = turns.get(alias) ?? 0
    turns.set(alias, turn + 1)
    return list[turn % list.length]!
  }
  const created = Math.floor(Date.now() / 1000)

  /** Runs a handler with auth, error mapping and one log line. */
  const handle = (
    name: string,
    run: (
      request: HttpServerRequest.HttpServerRequest
    ) => Effect.Effect<
      { response: HttpServerResponse.HttpServerResponse; fields?: Record<string, unknown> },
      OpenAiError
    >
  ) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = performance.now()
      const requestId = randomUUID()
      const authorization = request.headers.authorization ?? ""
      const outcome =
        masterKey !== undefined && !sameSecret(authorization.replace(/^Bearer\s+/i, ""), masterKey)
          ? yield* Effect.fail<OpenAiError>({
              status: 401,
              type: "invalid_request_error",
              code: "invalid_api_key",
              message: authorization === "" ? "Missing API key: send Authorization: Bearer <key>." : "Invalid API key."
            }).pipe(Effect.result)
          : yield* run(request).pipe(Effect.result)
      const [response, fields] =
        outcome._tag === "Success"
          ? [outcome.success.response, outcome.success.fields ?? {}]
          : [respondError(outcome.failure), { error: outcome.failure.code }]
      log(
        JSON.stringify({
          time: new Date().toISOString(),
          request_id: requestId,
          route: name,
          method: request.method,
          path: request.url.split("?")[0],
          status: response.status,
          latency_ms: Math.round((performance.now() - started) * 10) / 10,
          ...fields
        })
      )
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    })

  const readJson = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const declared = Number(request.headers["content-length"] ?? 0)
      const tooLarge: OpenAiError = {
        status: 413,
        type: "invalid_request_error",
        code: "request_too_large",
        message: `The request body is larger than ${maxBody} bytes.`
      }
      if (declared > maxBody) return yield* Effect.fail(tooLarge)
      const text = yield* request.text.pipe(
        Effect.mapError(
          (): OpenAiError => ({
            status: 400,
            type: "invalid_request_error",
            code: "invalid_body",
            message: "Could not read the request body."
          })
        )
      )
      if (Buffer.byteLength(text) > maxBody) return yield* Effect.fail(tooLarge)
      return yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (): OpenAiError => ({
          status: 400,
          type: "invalid_request_error",
          code: "invalid_json",
          message: "The request body is not valid JSON."
        })
      })
    })

  const embeddings = handle("embeddings", (request) =>
    Effect.gen(function* () {
      const body = yield* readJson(request)
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return yield* Effect.fail<OpenAiError>({
          status: 400,
          type: "invalid_request_error",
          code: "invalid_request",
          message: "The request body must be a JSON object with `model` and `input`."
        })
      }
      const record = body as Record<string, unknown>
      const alias = typeof record.model === "string" ? record.model : ""
      const deployment = pick(alias)
      if (deployment === undefined) {
        return yield* Effect.fail<OpenAiError>({
          status: 404,
          type: "invalid_request_error",
          code: "model_not_found",
          message: `The model "${alias}" does not exist on this gateway. Available: ${[...deployments.keys()].join(", ")}.`
        })
      }
      const inputs = Array.isArray(record.input) ? record.input.length : 1
      if (inputs > maxInputs) {
        return yield* Effect.fail<OpenAiError>({
          status: 400,
          type: "invalid_request_error",
          code: "too_many_inputs",
          message: `The request has ${inputs} inputs; this gateway takes at most ${maxInputs} per request.`
        })
      }
      const clientParams = Object.fromEntries(Object.entries(record).filter(([key]) => !reserved(key)))
      const embeddingRequest = {
        ...(dropParams ? { drop_params: true } : {}),
        ...clientParams,
        ...deployment.litellm_params
      }
      const response = yield* Effect.tryPromise({
        try: () => client.embedding(embeddingRequest as never),
        catch: (error) => fromEmbeddingError(error as Errors.EmbeddingError)
      })
      const hidden = response._hidden_params
      const payload: Record<string, unknown> = {
        object: "list",
        data: response.data,
        model: alias,
        usage: response.usage,
        // Async routes: the job's ARN, which LiteLLM's proxy loses; poll it at /v1/batches/{id}.
        ...(hidden._invocation_arn === undefined
          ? {}
          : { id: hidden._invocation_arn, invocation_arns: hidden._invocation_arns })
      }
      return {
        response: HttpServerResponse.jsonUnsafe(payload, {
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

  const models = handle("models", () =>
    Effect.succeed({
      response: HttpServerResponse.jsonUnsafe({
        object: "list",
        data: [...deployments.keys()].map((id) => ({ id, object: "model", created, owned_by: "bedrock-embed" }))
      })
    })
  )

  const batch = handle("batches", (request) =>
    Effect.gen(function* () {
      const id = decodeURIComponent(request.url.split("?")[0]!.replace(/^\/v1\/batches\//, ""))
      // The job belongs to one of the deployments; their identity (first with an async route) reads it.
      const deployment =
        config.model_list.find((d) => d.litellm_params.model.includes("async_invoke/")) ?? config.model_list[0]!
      const { model: _, ...params } = deployment.litellm_params
      const status = yield* Effect.tryPromise({
        try: () => client.retrieveBatch({ ...(params as Batches.Params), batch_id: id }),
        catch: (error) => fromEmbeddingError(error as Errors.EmbeddingError)
      })
      return { response: HttpServerResponse.jsonUnsafe(status), fields: { batch: id, batch_status: status.status } }
    })
  )

  const liveliness = Effect.succeed(HttpServerResponse.jsonUnsafe("I'm alive!"))
  const readiness = Effect.succeed(
    HttpServerResponse.jsonUnsafe({ status: "healthy", models: deployments.size, auth: masterKey !== undefined })
  )

  return Layer.mergeAll(
    HttpRouter.add("POST", "/v1/embeddings", embeddings),
    HttpRouter.add("POST", "/embeddings", embeddings),
    HttpRouter.add("GET", "/v1/models", models),
    HttpRouter.add("GET", "/models", models),
    HttpRouter.add("GET", "/v1/batches/*", batch),
    HttpRouter.add("GET", "/health/liveliness", liveliness),
    HttpRouter.add("GET", "/health/readiness", readiness)
  )
}
