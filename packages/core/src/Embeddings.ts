/**
 * The engine: validate the request → route → pick the model spec → check every input and
 * parameter → split into calls of the model's batch size → run them with bounded concurrency,
 * retrying only retryable errors with jittered exponential backoff → decode → one OpenAI-format
 * response in input order, with the usage Bedrock reported and its cost.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Result, Schedule, Schema, Stream } from "effect"
import { randomUUID } from "node:crypto"
import * as AwsCredentials from "./AwsCredentials.ts"
import * as BedrockRuntime from "./BedrockRuntime.ts"
import * as EmbeddingRequest from "./EmbeddingRequest.ts"
import { type EmbeddingData, type EmbeddingResponse, toBase64 } from "./EmbeddingResponse.ts"
import {
  type BedrockError,
  type EmbeddingError,
  type InvalidRequestError,
  ModelInvocationError,
  ResponseDecodeError,
  ThrottlingError,
  type UnsupportedModelError
} from "./Errors.ts"
import { parseFloat32Json } from "./Float32Json.ts"
import { checkDecoded } from "./internal/integrity.ts"
import {
  applyAliases,
  applyBlockParams,
  applyScopes,
  checkInput,
  invalid,
  itemsOf,
  kindName,
  resolveParams
} from "./internal/params.ts"
import * as Limiter from "./Limiter.ts"
import * as Media from "./Media.ts"
import * as ModelRoute from "./ModelRoute.ts"
import type * as ModelSpec from "./ModelSpec.ts"
import * as Pricing from "./Pricing.ts"
import * as ProviderRegistry from "./ProviderRegistry.ts"
import * as Target from "./Target.ts"

/**
 * Engine options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Bedrock calls in flight at start, shared by every request of this engine. Default 16. */
  readonly concurrency?: number | undefined
  /**
   * Upper bound for adaptive concurrency: calls in flight grow by one per round of successes and
   * halve on throttling (AIMD), between 1 and this. Default 4 × `concurrency`; set it equal to
   * `concurrency` for a fixed limit.
   */
  readonly maxConcurrency?: number | undefined
  /** Retries of one call on retryable errors. Default 8. */
  readonly maxRetries?: number | undefined
  /** First backoff delay; doubles each retry, with jitter. Default 100 ms (throttles: 5× that). */
  readonly retryBaseDelay?: Duration.Input | undefined
  /** Longest single backoff delay. Default 20 s. */
  readonly maxRetryDelay?: Duration.Input | undefined
  /** Most inputs one request may carry. Default {@link defaultMaxInputs}. */
  readonly maxInputs?: number | undefined
}

/**
 * The default cap on inputs per request: a request holds all its vectors in memory at once.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxInputs = 100_000

/**
 * The engine's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Embeds a request; fails with a typed error, never with a partial response. */
  readonly embed: (request: EmbeddingRequest.EmbeddingRequest) => Effect.Effect<EmbeddingResponse, EmbeddingError>
  /**
   * Embeds a stream of inputs with the other request fields fixed: results come out in input
   * order, with bounded memory (a few calls' worth in flight), and an input that fails yields an
   * error item instead of failing the stream. Bad request parameters fail the stream at once.
   */
  readonly embedStream: <E, R>(
    request: Omit<EmbeddingRequest.EmbeddingRequest, "input">,
    inputs: Stream.Stream<Media.InputItem, E, R>
  ) => Stream.Stream<StreamItem, EmbeddingError | E, R>
  /** The adaptive concurrency limiter shared by this engine's calls. */
  readonly limiter: Limiter.Limiter
  /** Counters since the engine started: Bedrock calls made, throttled, and retried. */
  readonly stats: () => { readonly calls: number; readonly throttles: number; readonly retries: number }
}

/**
 * One result of {@link Service.embedStream}. The first item of each Bedrock call carries that
 * call's `tokens` and `cost`, so summing them over the stream gives the totals.
 *
 * @category models
 * @since 0.1.0
 */
export type StreamItem =
  | {
      readonly index: number
      readonly embedding: Float32Array
      readonly tokens?: number | undefined
      readonly cost?: number | undefined
    }
  | { readonly index: number; readonly error: EmbeddingError }

/**
 * The embedding engine service.
 *
 * @category services
 * @since 0.1.0
 */
export class Embeddings extends Context.Service<Embeddings, Service>()("@bedrock-embed/core/Embeddings") {}

/**
 * Splits inputs into calls: by kind unless the model mixes kinds, each kind in input order, at
 * most the model's per-call limits. Calls come back ordered by their first input.
 */
const batch = (inputs: ReadonlyArray<Media.EmbeddingInput>, caps: ModelSpec.Capabilities): Array<Array<number>> => {
  const groups = new Map<string, Array<number>>()
  for (let i = 0; i < inputs.length; i++) {
    const key = caps.mixedKindsPerCall ? "*" : inputs[i]!.kind
    let group = groups.get(key)
    if (group === undefined) {
      group = []
      groups.set(key, group)
    }
    group.push(i)
  }
  const calls: Array<Array<number>> = []
  for (const [key, indices] of groups) {
    const byKind = key === "*" ? undefined : caps.maxInputsPerCallByKind?.[key as Media.InputKind]
    const limit = Math.max(1, Math.min(caps.maxInputsPerCall, byKind ?? Number.POSITIVE_INFINITY))
    for (let start = 0; start < indices.length; start += limit) calls.push(indices.slice(start, start + limit))
  }
  return calls.sort((a, b) => a[0]! - b[0]!)
}

/**
 * One planned InvokeModel call.
 *
 * @category models
 * @since 0.1.0
 */
export interface PlannedCall {
  /** Positions of the call's inputs in the request. */
  readonly indices: ReadonlyArray<number>
  readonly items: ReadonlyArray<Media.EmbeddingInput>
  /** The wire body, as checked against the spec's request schema. */
  readonly wire: unknown
  /** The wire body as sent. */
  readonly body: string
}

/**
 * Everything decided before the network.
 *
 * @category models
 * @since 0.1.0
 */
export interface Plan {
  readonly options: ModelSpec.CallOptions<unknown>
  readonly inputs: ReadonlyArray<Media.EmbeddingInput>
  readonly calls: ReadonlyArray<PlannedCall>
}

/** The request's input items, checked for count. */
const checkedItems = (
  known: EmbeddingRequest.Known,
  maxInputs: number
): Effect.Effect<ReadonlyArray<Media.InputItem>, InvalidRequestError> => {
  const items = itemsOf(known)
  if (items.length === 0)
    return Effect.fail(invalid("input is empty: pass a string or a non-empty list of inputs", "input"))
  if (items.length > maxInputs) {
    return Effect.fail(
      invalid(
        `input has ${items.length} items; one request takes at most ${maxInputs}. Split it into several requests.`,
        "input"
      )
    )
  }
  return Effect.succeed(items)
}

/** The request with the model's role parameters and its other spellings of fields applied. */
const prepare = (spec: ModelSpec.Any, request: EmbeddingRequest.Decoded) => {
  const { known, extras } = EmbeddingRequest.withRole(request, spec.roles)
  return Effect.fromResult(
    Result.flatMap(applyAliases(spec, known, extras), (aliased) =>
      applyBlockParams(spec, aliased.known, aliased.extras)
    )
  )
}

/** Parses and checks every input, then drops or refuses parameters that apply to none of them. */
const checkedInputs = Effect.fnUntraced(function* (
  spec: ModelSpec.Any,
  known: EmbeddingRequest.Known,
  items: ReadonlyArray<Media.InputItem>,
  options: ModelSpec.CallOptions<unknown>
) {
  const inputs = yield* Effect.fromResult(
    Media.parseInputs(items, known.input_type, { mediaSource: known.media_source, mediaSources: known.media_sources })
  )
  for (let i = 0; i < inputs.length; i++) {
    const problem = checkInput(spec, inputs[i]!, i, options)
    if (problem !== undefined) return yield* problem
  }
  const scoped = yield* Effect.fromResult(applyScopes(spec, options, inputs, known.drop_params === true))
  return { inputs, options: scoped }
})

/**
 * Checks a request against a model and encodes its calls — everything the engine does before
 * the network, as a pure effect. A request that passes here is sent; one that fails never is.
 *
 * @category planning
 * @since 0.1.0
 */
export const plan = (
  spec: ModelSpec.Any,
  request: EmbeddingRequest.Decoded,
  limits: { readonly maxInputs?: number | undefined } = {}
): Effect.Effect<Plan, InvalidRequestError> =>
  Effect.gen(function* () {
    const { known, extras } = yield* prepare(spec, request)
    const resolved = yield* Effect.fromResult(resolveParams(spec, known, extras, "sync"))
    const items = yield* checkedItems(known, limits.maxInputs ?? defaultMaxInputs)
    const { inputs, options } = yield* checkedInputs(spec, known, items, resolved)
    const calls = yield* Effect.forEach(batch(inputs, spec.capabilities), (indices) => {
      const callItems = indices.map((i) => inputs[i]!)
      return Schema.encodeUnknownEffect(spec.request)(spec.encode(callItems, options)).pipe(
        Effect.map((wire): PlannedCall => ({ indices, items: callItems, wire, body: JSON.stringify(wire) })),
        Effect.mapError((error) =>
          invalid(`The request body for ${spec.id} is invalid: ${error.message}`, undefined, spec.id)
        )
      )
    })
    return { options, inputs, calls }
  })

const s3UriPattern = /^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/

/**
 * The jobs of an async-invoke request: checked and encoded before any is submitted.
 *
 * @category planning
 * @since 0.1.0
 */
export const planAsync = (
  spec: ModelSpec.Any,
  request: EmbeddingRequest.Decoded,
  limits: { readonly maxInputs?: number | undefined } = {}
): Effect.Effect<
  {
    readonly outputS3Uri: string
    readonly modelInputs: ReadonlyArray<unknown>
    readonly inputs: ReadonlyArray<Media.EmbeddingInput>
  },
  InvalidRequestError
> =>
  Effect.gen(function* () {
    const { known, extras } = yield* prepare(spec, request)
    const codec = spec.async
    const kinds = spec.capabilities.async
    if (codec === undefined || kinds.length === 0) {
      return yield* invalid(`${spec.id} has no async-invoke route; call it as "bedrock/${spec.id}".`, "model", spec.id)
    }
    const outputS3Uri = known.output_s3_uri?.trim() ?? ""
    if (outputS3Uri.length === 0) {
      return yield* invalid(
        "output_s3_uri cannot be empty for async invoke requests: pass the s3://bucket/prefix/ where Bedrock should write the results.",
        "output_s3_uri",
        spec.id
      )
    }
    if (!s3UriPattern.test(outputS3Uri)) {
      return yield* invalid(
        `output_s3_uri "${outputS3Uri}" is not an S3 URI; expected s3://<bucket>/<prefix>/ (bucket names are 3-63 lowercase letters, digits, dots and hyphens).`,
        "output_s3_uri",
        spec.id
      )
    }
    const inputType = known.input_type
    if (inputType === undefined) {
      return yield* invalid(
        `input_type is required for async invoke: one of ${kinds.join(", ")} (what ${spec.id} embeds through async invoke).`,
        "input_type",
        spec.id
      )
    }
    if (!(kinds as ReadonlyArray<string>).includes(inputType)) {
      return yield* invalid(
        `input_type "${inputType}" is not supported by async invoke of ${spec.id}; use one of ${kinds.join(", ")}.`,
        "input_type",
        spec.id
      )
    }
    const { input_type: _, ...rest } = known
    const options = yield* Effect.fromResult(resolveParams(spec, rest as EmbeddingRequest.Known, extras, "async"))
    const items = yield* checkedItems(known, limits.maxInputs ?? defaultMaxInputs)
    const checked = yield* checkedInputs(spec, known, items, { ...options, inputType, mode: "async" })
    for (let i = 0; i < checked.inputs.length; i++) {
      const input = checked.inputs[i]!
      if (input.kind !== inputType) {
        return yield* invalid(
          `input[${i}] is ${kindName(input.kind)} but input_type is "${inputType}"; send one kind of input per request.`,
          `input[${i}]`,
          spec.id
        )
      }
    }
    const modelInputs = yield* Effect.forEach(checked.inputs, (input) =>
      Schema.encodeUnknownEffect(codec.request)(codec.encode(input, checked.options)).pipe(
        Effect.mapError((error) =>
          invalid(`The async-invoke modelInput for ${spec.id} is invalid: ${error.message}`, undefined, spec.id)
        )
      )
    )
    return { outputS3Uri, modelInputs, inputs: checked.inputs }
  })

const decoder = new TextDecoder()

/**
 * Decodes one model response (already parsed JSON) for a planned call: the spec's response
 * schema, its `decode`, the checks that every input got exactly one vector, and the integrity of
 * every vector (length, values). Shared by the engine and batch inference, whose output lines
 * carry the same bodies.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeResponse = (
  spec: ModelSpec.Any,
  json: unknown,
  call: { readonly indices: ReadonlyArray<number>; readonly items: ReadonlyArray<Media.EmbeddingInput> },
  callOptions: ModelSpec.CallOptions<unknown>,
  context: { readonly modelId: string; readonly requestId?: string | undefined }
): Effect.Effect<ModelSpec.DecodedBatch, ResponseDecodeError | ModelInvocationError> =>
  Effect.gen(function* () {
    const ids = {
      modelId: context.modelId,
      ...(context.requestId === undefined ? {} : { requestId: context.requestId })
    }
    const responseError = (message: string) =>
      new ResponseDecodeError({
        message: `Bedrock's response for ${spec.id} does not match the documented shape: ${message}`,
        ...ids
      })
    const body = yield* Schema.decodeUnknownEffect(spec.response)(json).pipe(
      Effect.mapError((error) => responseError(error.message))
    )
    const decoded = spec.decode(body, call.items, callOptions)
    if (decoded.failure !== undefined) {
      return yield* new ModelInvocationError({
        message: `${spec.id} failed on input[${call.indices[0]}]: ${decoded.failure}`,
        ...ids
      })
    }
    if (decoded.vectors.length !== call.items.length) {
      return yield* responseError(`expected ${call.items.length} vectors, got ${decoded.vectors.length}`)
    }
    if (decoded.byType !== undefined && decoded.byType.length !== call.items.length) {
      return yield* responseError(`expected ${call.items.length} embeddings by type, got ${decoded.byType.length}`)
    }
    const fault = checkDecoded(spec, decoded, call.indices, callOptions)
    if (fault !== undefined) {
      return yield* new ResponseDecodeError({
        message: `Bedrock's response for ${spec.id} holds an invalid embedding: ${fault}.`,
        ...ids
      })
    }
    return decoded
  })

const deprecationsLogged = new Set<string>()

/**
 * Resolves a request's model: the route, its spec, and the checks Bedrock would make of the id
 * (an id Bedrock does not have, an inference profile where the route takes none, and back), all
 * before the call. Logs a model's deprecation notice once per process.
 *
 * @category planning
 * @since 0.1.0
 */
export const resolveModel = (
  registry: ProviderRegistry.Service,
  known: Pick<EmbeddingRequest.Known, "model" | "model_id">
): Effect.Effect<
  { readonly route: ModelRoute.ModelRoute; readonly spec: ModelSpec.Any },
  InvalidRequestError | UnsupportedModelError
> =>
  Effect.gen(function* () {
    let route = yield* Effect.fromResult(ModelRoute.parse(known.model))
    if (known.model_id !== undefined) route = ModelRoute.withModelId(route, known.model_id)
    // A provisioned-throughput id names its model with a version the on-demand id may lack
    // (`acme.embed-v1:2:8k` is `acme.embed-v1`): the versionless id is matched too.
    const unversioned = route.context === undefined ? undefined : route.baseModelId.replace(/:\d+$/, "")
    const spec = yield* registry
      .resolve(route)
      .pipe(
        Effect.catch((error) =>
          unversioned === undefined ? Effect.fail(error) : registry.resolve({ ...route, baseModelId: unversioned })
        )
      )
    const ids = spec.ids ?? [spec.id]
    const named = route.viaModelId !== true
    const prefix = route.mode === "async" ? "bedrock/async_invoke/" : "bedrock/"
    const listed = ids.includes(route.baseModelId) || (unversioned !== undefined && ids.includes(unversioned))
    if (named && !listed) {
      return yield* invalid(
        `Bedrock has no model id "${route.baseModelId}"${route.context === undefined ? "" : ` (with the ${route.context} context)`}; ` +
          `use "${prefix}${route.geoPrefix === undefined ? "" : `${route.geoPrefix}.`}${spec.id}".`,
        "model",
        spec.id
      )
    }
    const isArn = route.modelId.startsWith("arn:")
    if (
      named &&
      !isArn &&
      route.mode === "sync" &&
      spec.capabilities.syncViaProfile === true &&
      route.geoPrefix === undefined
    ) {
      return yield* invalid(
        `${spec.id} is invoked through a cross-region inference profile, not by its base id: use "bedrock/us.${spec.id}" (or eu., apac.).`,
        "model",
        spec.id
      )
    }
    if (route.mode === "async" && spec.capabilities.asyncViaBase === true && route.geoPrefix !== undefined) {
      return yield* invalid(
        `The provided model doesn't support async inference through the inference profile "${route.geoPrefix}.${spec.id}": async invoke takes the base id, "bedrock/async_invoke/${spec.id}".`,
        "model",
        spec.id
      )
    }
    if (spec.deprecation !== undefined && !deprecationsLogged.has(spec.id)) {
      deprecationsLogged.add(spec.id)
      yield* Effect.logWarning(spec.deprecation)
    }
    return { route, spec }
  })

/** The request's call controls: extra headers, the per-call deadline, the retry count. */
const callControls = (known: EmbeddingRequest.Known) =>
  Effect.map(Effect.fromResult(EmbeddingRequest.extraHeaders(known)), (headers) => {
    const seconds = known.timeout ?? known.request_timeout
    return {
      headers,
      timeoutMs: seconds === undefined ? undefined : Math.max(1, Math.round(seconds * 1000)),
      retries: known.num_retries ?? known.max_retries
    }
  })

/** The request's own prices (LiteLLM's custom pricing keys), when it names any. */
const priceOverride = (known: EmbeddingRequest.Known): ModelSpec.Price | undefined => {
  const entries = Object.entries({
    perInputToken: known.input_cost_per_token,
    perImage: known.input_cost_per_image,
    perVideoSecond: known.input_cost_per_video_per_second,
    perAudioSecond: known.input_cost_per_audio_per_second,
    perQuery: known.input_cost_per_query
  }).filter(([, value]) => value !== undefined)
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as ModelSpec.Price)
}

/**
 * Makes the engine.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const runtime = yield* BedrockRuntime.BedrockRuntime
  const credentials = yield* AwsCredentials.AwsCredentials
  const pricing = yield* Pricing.Pricing

  const concurrency = options.concurrency ?? 16
  const maxConcurrency = Math.max(concurrency, options.maxConcurrency ?? concurrency * 4)
  const limiter = Limiter.make({ initial: concurrency, max: maxConcurrency })
  const counters = { calls: 0, throttles: 0, retries: 0 }
  const baseDelay = Duration.fromInputUnsafe(options.retryBaseDelay ?? "100 millis")
  const maxDelay = Duration.fromInputUnsafe(options.maxRetryDelay ?? "20 seconds")
  const scheduleFor = (retries: number) =>
    Schedule.max([
      Schedule.exponential(baseDelay, 2).pipe(
        Schedule.modifyDelay(({ duration, input }: { duration: Duration.Duration; input: BedrockError }) => {
          // Throttling means the account is at its limit: back off harder, and never sooner than Bedrock asked.
          let delay = input instanceof ThrottlingError ? Duration.times(duration, 2) : duration
          delay = Duration.min(delay, maxDelay)
          if (input instanceof ThrottlingError && input.retryAfter !== undefined) {
            delay = Duration.max(delay, input.retryAfter)
          }
          return Effect.succeed(delay)
        }),
        Schedule.jittered
      ),
      Schedule.recurs(retries)
    ])
  const defaultRetries = options.maxRetries ?? 8
  const retrySchedule = scheduleFor(defaultRetries)
  const scheduleOf = (retries: number | undefined) =>
    retries === undefined || retries === defaultRetries ? retrySchedule : scheduleFor(retries)

  /**
   * The engine's one path. With `float32`, response bodies are read straight into `Float32Array`
   * vectors (the stream path: no body string, no arrays of doubles to collect); without, vectors
   * are the numbers `JSON.parse` gives, as the OpenAI response carries them.
   */
  const embedWith = Effect.fnUntraced(function* (
    request: EmbeddingRequest.EmbeddingRequest,
    mode: { readonly float32: boolean }
  ) {
    const { known, extras } = yield* EmbeddingRequest.decode(request)
    const { route, spec } = yield* resolveModel(registry, known)
    yield* Effect.annotateCurrentSpan({ "bedrock.model_id": route.modelId, "bedrock.family": spec.family })
    const controls = yield* callControls(known)

    if (route.mode === "async") return yield* submit(spec, route, { known, extras }, controls)

    // Every call is encoded and checked before any is sent, so a bad request costs nothing.
    const {
      options: callOptions,
      inputs,
      calls
    } = yield* plan(spec, { known, extras }, { maxInputs: options.maxInputs })

    const target = yield* Target.runtime(known, route.region).pipe(
      Effect.provideService(AwsCredentials.AwsCredentials, credentials)
    )
    const region = target.region
    const schedule = scheduleOf(controls.retries)
    const invokeInput = { modelId: route.modelId, target, headers: controls.headers, timeoutMs: controls.timeoutMs }

    let retries = 0
    const results = yield* Effect.forEach(
      calls,
      (call) =>
        Effect.gen(function* () {
          const result = yield* limiter.withPermit(runtime.invokeModel({ ...invokeInput, body: call.body })).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                counters.calls++
                limiter.onSuccess()
              })
            ),
            Effect.tapError((error) =>
              Effect.sync(() => {
                // Every failed attempt of a call that finally succeeded was followed by a retry.
                retries++
                counters.calls++
                counters.retries++
                if (error instanceof ThrottlingError) {
                  counters.throttles++
                  limiter.onThrottle()
                }
              })
            ),
            Effect.retry({ schedule, while: (error: BedrockError) => error.retryable })
          )
          const json = yield* Effect.try({
            try: () =>
              mode.float32 ? parseFloat32Json(result.body) : (JSON.parse(decoder.decode(result.body)) as unknown),
            catch: () =>
              new ResponseDecodeError({
                message: `Bedrock's response for ${spec.id} does not match the documented shape: the body is not JSON`,
                modelId: route.modelId,
                ...(result.requestId === undefined ? {} : { requestId: result.requestId })
              })
          })
          const decoded = yield* decodeResponse(spec, json, call, callOptions, {
            modelId: route.modelId,
            requestId: result.requestId
          })
          return { call, result, decoded }
        }),
      // The limiter decides how many calls are really in flight; this only bounds the fibers.
      { concurrency: maxConcurrency }
    )

    const data: Array<EmbeddingData> = new Array(inputs.length)
    const usage = { inputTokens: 0, images: 0, videoSeconds: 0, audioSeconds: 0, queries: 0 }
    const requestIds: Array<string> = []
    for (const { call, result, decoded } of results) {
      for (let j = 0; j < decoded.vectors.length; j++) {
        const index = call.indices[j]!
        const vector = decoded.vectors[j]!
        const byType = decoded.byType?.[j]
        const byModality = decoded.byModality?.[j]
        data[index] = {
          object: "embedding",
          index,
          embedding: known.encoding_format === "base64" ? toBase64(vector) : vector,
          ...(byType === undefined ? {} : { embeddings_by_type: byType }),
          ...(byModality === undefined ? {} : { embeddings_by_modality: byModality })
        }
      }
      usage.inputTokens += decoded.inputTokens ?? result.inputTokenCount ?? 0
      usage.images += decoded.media?.images ?? 0
      usage.videoSeconds += decoded.media?.videoSeconds ?? 0
      usage.audioSeconds += decoded.media?.audioSeconds ?? 0
      usage.queries += decoded.media?.queries ?? 0
      if (result.requestId !== undefined) requestIds.push(result.requestId)
    }
    const details = {
      ...(usage.queries > 0 ? { query_count: usage.queries } : {}),
      ...(usage.images > 0 ? { image_count: usage.images } : {}),
      ...(usage.videoSeconds > 0 ? { video_seconds: usage.videoSeconds } : {}),
      ...(usage.audioSeconds > 0 ? { audio_seconds: usage.audioSeconds } : {})
    }
    return {
      object: "list",
      data,
      model: ModelRoute.responseModel(route),
      usage: {
        prompt_tokens: usage.inputTokens,
        total_tokens: usage.inputTokens,
        ...(Object.keys(details).length > 0 ? { prompt_tokens_details: details } : {})
      },
      _hidden_params: {
        response_cost: pricing.cost(spec, usage, priceOverride(known)),
        model_id: route.modelId,
        family: spec.family,
        region,
        calls: calls.length,
        retries,
        request_ids: requestIds
      }
    } satisfies EmbeddingResponse
  })

  const embed = Effect.fn("Embeddings.embed")(function* (request: EmbeddingRequest.EmbeddingRequest) {
    return yield* embedWith(request, { float32: false })
  })

  /** The async route: one StartAsyncInvoke job per input; the response carries the invocation ARNs. */
  const submit = Effect.fnUntraced(function* (
    spec: ModelSpec.Any,
    route: ModelRoute.ModelRoute,
    request: EmbeddingRequest.Decoded,
    controls: { readonly headers: Readonly<Record<string, string>> | undefined; readonly retries: number | undefined }
  ) {
    const { known } = request
    const jobs = yield* planAsync(spec, request, { maxInputs: options.maxInputs })
    const target = yield* Target.runtime(known, route.region).pipe(
      Effect.provideService(AwsCredentials.AwsCredentials, credentials)
    )
    const token = known.client_request_token ?? randomUUID()
    const schedule = scheduleOf(controls.retries)
    const started = yield* Effect.forEach(
      jobs.modelInputs,
      (modelInput, i) =>
        runtime
          .startAsyncInvoke({
            modelId: route.modelId,
            modelInput,
            outputS3Uri: jobs.outputS3Uri,
            // One token per input: retrying a submission never starts a second job.
            clientRequestToken: jobs.modelInputs.length === 1 ? token : `${token}-${i}`,
            target,
            headers: controls.headers
          })
          // StartAsyncInvoke is idempotent under its token, so retrying it is safe.
          .pipe(Effect.retry({ schedule, while: (error: BedrockError) => error.retryable })),
      { concurrency }
    )
    const arns = started.map((job) => job.invocationArn)
    return {
      object: "list",
      data: arns.map((_, index): EmbeddingData => ({ object: "embedding", index, embedding: [] })),
      model: ModelRoute.responseModel(route),
      usage: { prompt_tokens: 0, total_tokens: 0 },
      _hidden_params: {
        response_cost: 0,
        model_id: route.modelId,
        family: spec.family,
        region: target.region,
        calls: arns.length,
        retries: 0,
        request_ids: started.flatMap((job) => (job.requestId === undefined ? [] : [job.requestId])),
        _invocation_arn: arns[0]!,
        _invocation_arns: arns
      }
    } satisfies EmbeddingResponse
  })

  /** One group of streamed inputs; a failing group is retried input by input to isolate the culprit. */
  const embedGroup = (
    request: Omit<EmbeddingRequest.EmbeddingRequest, "input">,
    group: ReadonlyArray<readonly [Media.InputItem, number]>
  ): Effect.Effect<ReadonlyArray<StreamItem>> => {
    const items = group.map(([item]) => item)
    // Vectors come back as Float32Arrays already (float32 mode); encoding_format does not apply.
    const { encoding_format: _, ...rest } = request as Omit<EmbeddingRequest.EmbeddingRequest, "input"> & {
      encoding_format?: unknown
    }
    return embedWith({ ...rest, input: items } as unknown as EmbeddingRequest.EmbeddingRequest, { float32: true }).pipe(
      Effect.withSpan("Embeddings.embedStream.call"),
      Effect.map(
        (response): ReadonlyArray<StreamItem> =>
          response.data.map((d, j) => ({
            index: group[j]![1],
            embedding:
              d.embedding instanceof Float32Array
                ? d.embedding
                : Float32Array.from(d.embedding as ReadonlyArray<number>),
            ...(j === 0 ? { tokens: response.usage.prompt_tokens, cost: response._hidden_params.response_cost } : {})
          }))
      ),
      Effect.catch((error: EmbeddingError) =>
        group.length === 1
          ? Effect.succeed([{ index: group[0]![1], error }] as ReadonlyArray<StreamItem>)
          : Effect.map(
              Effect.forEach(group, (entry) => embedGroup(request, [entry]), { concurrency: 4 }),
              (parts) => parts.flat()
            )
      )
    )
  }

  const embedStream = <E, R>(
    request: Omit<EmbeddingRequest.EmbeddingRequest, "input">,
    inputs: Stream.Stream<Media.InputItem, E, R>
  ): Stream.Stream<StreamItem, EmbeddingError | E, R> =>
    Stream.unwrap(
      Effect.gen(function* () {
        // Check the parameters once, up front: a bad parameter fails the stream, not every item.
        const probe = yield* EmbeddingRequest.decode({ ...request, input: "probe" })
        const { spec } = yield* resolveModel(registry, probe.known)
        const prepared = yield* prepare(spec, probe)
        yield* Effect.fromResult(resolveParams(spec, prepared.known, prepared.extras, "sync"))
        yield* callControls(probe.known)
        return inputs.pipe(
          Stream.zipWithIndex,
          Stream.grouped(spec.capabilities.maxInputsPerCall),
          Stream.mapEffect((group) => embedGroup(request, group), { concurrency: maxConcurrency }),
          Stream.flattenIterable
        )
      })
    )

  return Embeddings.of({ embed, embedStream, limiter, stats: () => ({ ...counters }) })
})

/**
 * The engine with default options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Embeddings,
  never,
  ProviderRegistry.ProviderRegistry | BedrockRuntime.BedrockRuntime | AwsCredentials.AwsCredentials | Pricing.Pricing
> = Layer.effect(Embeddings, make())

/**
 * The engine with options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (
  options: Options
): Layer.Layer<
  Embeddings,
  never,
  ProviderRegistry.ProviderRegistry | BedrockRuntime.BedrockRuntime | AwsCredentials.AwsCredentials | Pricing.Pricing
> => Layer.effect(Embeddings, make(options))
