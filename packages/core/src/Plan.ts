/**
 * The one front end of every path (embed, embedStream, async submit, batch inference, the
 * conformance suite): {@link resolve} turns a request into its route, spec, parameters and call
 * controls once; {@link plan} checks a set of inputs against them and groups them into calls;
 * {@link encodeCall} encodes one call's body when it is about to be sent. Nothing here touches the
 * network: a request that fails here is never sent.
 *
 * Inputs are all checked before the first call goes out (a bad input costs nothing); bodies are
 * encoded one call at a time, so a large request never holds every body at once. Encoding cannot
 * fail on what the checks passed except through a codec defect, which then fails the request.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { resolveModel } from "./internal/modelId.ts"
import * as EmbeddingRequest from "./EmbeddingRequest.ts"
import type { InvalidRequestError, UnsupportedModelError } from "./Errors.ts"
import { groupsOf } from "./internal/grouping.ts"
import {
  applyAliases,
  applyBlockParams,
  applyScopes,
  type BlockParam,
  checkInput,
  invalid,
  itemsOf,
  kindName,
  resolveParams,
  withBlock
} from "./internal/params.ts"
import * as Media from "./Media.ts"
import type * as ModelRoute from "./ModelRoute.ts"
import type * as ModelSpec from "./ModelSpec.ts"
import type * as ProviderRegistry from "./ProviderRegistry.ts"

export {
  /**
   * Resolves a request's model: the route, its spec, and the checks Bedrock would make of the id
   * (an id Bedrock does not have, an inference profile where the route takes none, and back), all
   * before the call. Logs a model's deprecation notice once per process.
   *
   * @category planning
   * @since 0.1.0
   */
  resolveModel
} from "./internal/modelId.ts"

/**
 * The default cap on inputs per request: a request holds all its vectors in memory at once.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxInputs = 100_000

/**
 * A request's call controls: extra headers, the deadline over all its calls and retries, the
 * retry count, the response size bound.
 *
 * @category models
 * @since 0.1.0
 */
export interface Controls {
  readonly headers: Readonly<Record<string, string>> | undefined
  /** `timeout` / `request_timeout`: the whole request's deadline, every attempt and backoff included. */
  readonly timeoutMs: number | undefined
  readonly retries: number | undefined
  /** `max_response_bytes`: the most bytes one Bedrock response may have. */
  readonly maxResponseBytes: number | undefined
}

/**
 * Where an async-invoke request's results go, and what it embeds.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncTarget {
  readonly outputS3Uri: string
  readonly inputType: string
}

/**
 * A request resolved against its model: everything decided once, whatever its inputs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resolved {
  readonly route: ModelRoute.ModelRoute
  readonly spec: ModelSpec.Any
  /** The request with the model's role parameters and other spellings applied. */
  readonly known: EmbeddingRequest.Known
  /** The call options before the inputs narrow them (see `paramScopes`). */
  readonly options: ModelSpec.CallOptions<unknown>
  readonly controls: Controls
  /** The request's own prices (LiteLLM's custom pricing keys), when it names any. */
  readonly price: ModelSpec.Price | undefined
  /** A content block parameter that stands for every input. */
  readonly block: BlockParam | undefined
  /** Set on the async-invoke route. */
  readonly async: AsyncTarget | undefined
}

/**
 * A request's inputs checked against its resolution, grouped into calls.
 *
 * @category models
 * @since 0.1.0
 */
export interface Plan {
  /** The call options for these inputs. */
  readonly options: ModelSpec.CallOptions<unknown>
  readonly inputs: ReadonlyArray<Media.EmbeddingInput>
  /** The calls, each the positions of its inputs, ordered by their first input. */
  readonly groups: ReadonlyArray<ReadonlyArray<number>>
}

/**
 * One InvokeModel call, encoded.
 *
 * @category models
 * @since 0.1.0
 */
export interface PlannedCall {
  /** Positions of the call's inputs in the request. */
  readonly indices: ReadonlyArray<number>
  readonly items: ReadonlyArray<Media.EmbeddingInput>
  /** The wire body as sent, checked against the spec's request schema. */
  readonly body: string
}

const controlsOf = (known: EmbeddingRequest.Known): Result.Result<Controls, InvalidRequestError> =>
  Result.map(EmbeddingRequest.extraHeaders(known), (headers) => {
    const seconds = known.timeout ?? known.request_timeout
    return {
      headers,
      timeoutMs: seconds === undefined ? undefined : Math.max(1, Math.round(seconds * 1000)),
      retries: known.num_retries ?? known.max_retries,
      maxResponseBytes: known.max_response_bytes
    }
  })

const priceOf = (known: EmbeddingRequest.Known): ModelSpec.Price | undefined => {
  const entries = Object.entries({
    perInputToken: known.input_cost_per_token,
    perImage: known.input_cost_per_image,
    perVideoSecond: known.input_cost_per_video_per_second,
    perAudioSecond: known.input_cost_per_audio_per_second,
    perQuery: known.input_cost_per_query
  }).filter(([, value]) => value !== undefined)
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as ModelSpec.Price)
}

const s3UriPattern = /^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/

/** The async-invoke route's own requirements: a codec, an S3 output and an input type it takes. */
const asyncTarget = (
  spec: ModelSpec.Any,
  known: EmbeddingRequest.Known
): Result.Result<AsyncTarget, InvalidRequestError> => {
  const kinds = spec.capabilities.async
  if (spec.async === undefined || kinds.length === 0) {
    return Result.fail(
      invalid(`${spec.id} has no async-invoke route; call it as "bedrock/${spec.id}".`, "model", spec.id)
    )
  }
  const outputS3Uri = known.output_s3_uri?.trim() ?? ""
  if (outputS3Uri.length === 0) {
    return Result.fail(
      invalid(
        "output_s3_uri cannot be empty for async invoke requests: pass the s3://bucket/prefix/ where Bedrock should write the results.",
        "output_s3_uri",
        spec.id
      )
    )
  }
  if (!s3UriPattern.test(outputS3Uri)) {
    return Result.fail(
      invalid(
        `output_s3_uri "${outputS3Uri}" is not an S3 URI; expected s3://<bucket>/<prefix>/ (bucket names are 3-63 lowercase letters, digits, dots and hyphens).`,
        "output_s3_uri",
        spec.id
      )
    )
  }
  const inputType = known.input_type
  if (inputType === undefined) {
    return Result.fail(
      invalid(
        `input_type is required for async invoke: one of ${kinds.join(", ")} (what ${spec.id} embeds through async invoke).`,
        "input_type",
        spec.id
      )
    )
  }
  if (!(kinds as ReadonlyArray<string>).includes(inputType)) {
    return Result.fail(
      invalid(
        `input_type "${inputType}" is not supported by async invoke of ${spec.id}; use one of ${kinds.join(", ")}.`,
        "input_type",
        spec.id
      )
    )
  }
  return Result.succeed({ outputS3Uri, inputType })
}

/** The request's parameters for the spec: roles, other spellings, block parameters, then values. */
const paramsOf = (spec: ModelSpec.Any, request: EmbeddingRequest.Decoded, mode: ModelRoute.Mode) =>
  Effect.gen(function* () {
    const roled = EmbeddingRequest.withRole(request, spec.roles)
    const { known, extras } = yield* Effect.fromResult(applyAliases(spec, roled.known, roled.extras))
    const blocks = yield* Effect.fromResult(applyBlockParams(spec, extras))
    if (mode === "sync") {
      const options = yield* Effect.fromResult(resolveParams(spec, known, blocks.extras, "sync"))
      return { known, options, block: blocks.block, async: undefined }
    }
    const target = yield* Effect.fromResult(asyncTarget(spec, known))
    const { input_type: _, ...rest } = known
    const options = yield* Effect.fromResult(resolveParams(spec, rest, blocks.extras, "async"))
    return {
      known,
      options: { ...options, inputType: target.inputType, mode: "async" as const },
      block: blocks.block,
      async: target
    }
  })

/**
 * Resolves a checked request: its route and spec (with Bedrock's id rules), call controls, prices
 * and parameters — once, whatever inputs follow.
 *
 * @category planning
 * @since 0.1.0
 */
export const resolve = (
  registry: ProviderRegistry.Service,
  request: EmbeddingRequest.Decoded
): Effect.Effect<Resolved, InvalidRequestError | UnsupportedModelError> =>
  Effect.gen(function* () {
    const { route, spec } = yield* resolveModel(registry, request.known)
    const controls = yield* Effect.fromResult(controlsOf(request.known))
    const { known, options, block, async } = yield* paramsOf(spec, request, route.mode)
    return { route, spec, known, options, controls, price: priceOf(request.known), block, async }
  })

/**
 * A request's own input items, checked for count.
 *
 * @category planning
 * @since 0.1.0
 */
export const itemsOfRequest = (
  known: EmbeddingRequest.Known,
  maxInputs: number = defaultMaxInputs
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

/** The async route takes one kind per request: the one `input_type` names. */
const checkAsyncKinds = (resolved: Resolved, inputs: ReadonlyArray<Media.EmbeddingInput>) => {
  const inputType = resolved.async?.inputType
  if (inputType === undefined) return undefined
  const i = inputs.findIndex((input) => input.kind !== inputType)
  return i < 0
    ? undefined
    : invalid(
        `input[${i}] is ${kindName(inputs[i]!.kind)} but input_type is "${inputType}"; send one kind of input per request.`,
        `input[${i}]`,
        resolved.spec.id
      )
}

/**
 * Parses and checks every input, drops or refuses parameters that apply to none of them, and
 * groups them into calls (on the async route: one job per input).
 *
 * @category planning
 * @since 0.1.0
 */
export const plan = (
  resolved: Resolved,
  items: ReadonlyArray<Media.InputItem>
): Effect.Effect<Plan, InvalidRequestError> => Effect.suspend(() => Effect.fromResult(planResult(resolved, items)))

/**
 * {@link plan} as plain code, for the paths that plan once per call (a stream plans each group),
 * where an effect per step is a measurable part of the call.
 *
 * @category planning
 * @since 0.1.0
 */
export const planResult = (
  resolved: Resolved,
  items: ReadonlyArray<Media.InputItem>
): Result.Result<Plan, InvalidRequestError> => {
  const { spec, known } = resolved
  const parsed = Media.parseInputs(withBlock(resolved.block, items), known.input_type, {
    mediaSource: known.media_source,
    mediaSources: known.media_sources
  })
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const inputs = parsed.success
  for (let i = 0; i < inputs.length; i++) {
    const problem = checkInput(spec, inputs[i]!, i, resolved.options)
    if (problem !== undefined) return Result.fail(problem)
  }
  const options = applyScopes(spec, resolved.options, inputs, known.drop_params === true)
  if (Result.isFailure(options)) return Result.fail(options.failure)
  const mismatch = checkAsyncKinds(resolved, inputs)
  if (mismatch !== undefined) return Result.fail(mismatch)
  const groups = resolved.async === undefined ? groupsOf(inputs, spec.capabilities) : inputs.map((_, i) => [i])
  return Result.succeed({ options: options.success, inputs, groups })
}

const encodeFailure = (spec: ModelSpec.Any, what: string) => (error: Schema.SchemaError) =>
  invalid(`The ${what} for ${spec.id} is invalid: ${error.message}`, undefined, spec.id)

/**
 * Encodes one call of a plan: the spec's body for its inputs, checked against the request schema.
 *
 * @category planning
 * @since 0.1.0
 */
export const encodeCall = (
  spec: ModelSpec.Any,
  planned: Plan,
  indices: ReadonlyArray<number>
): Effect.Effect<PlannedCall, InvalidRequestError> =>
  Effect.suspend(() => Effect.fromResult(encodeCallResult(spec, planned, indices)))

/**
 * {@link encodeCall} as plain code, for the paths that encode as they plan (see {@link planResult}).
 *
 * @category planning
 * @since 0.1.0
 */
export const encodeCallResult = (
  spec: ModelSpec.Any,
  planned: Plan,
  indices: ReadonlyArray<number>
): Result.Result<PlannedCall, InvalidRequestError> => {
  const items = indices.map((i) => planned.inputs[i]!)
  const wire = requestEncoderOf(spec)(spec.encode(items, planned.options))
  return Result.isSuccess(wire)
    ? Result.succeed({ indices, items, body: JSON.stringify(wire.success) })
    : Result.fail(encodeFailure(spec, "request body")(wire.failure))
}

const requestEncoders = new WeakMap<ModelSpec.Any, (body: unknown) => Result.Result<unknown, Schema.SchemaError>>()

/** The spec's request encoder, made once per spec (not once per call). */
const requestEncoderOf = (spec: ModelSpec.Any) => {
  let encoder = requestEncoders.get(spec)
  if (encoder === undefined) {
    encoder = Schema.encodeUnknownResult(spec.request)
    requestEncoders.set(spec, encoder)
  }
  return encoder
}

/**
 * Encodes one async-invoke job's `modelInput` for an input of a plan.
 *
 * @category planning
 * @since 0.1.0
 */
export const encodeJob = (
  spec: ModelSpec.Any,
  planned: Plan,
  index: number
): Effect.Effect<unknown, InvalidRequestError> => {
  const codec = spec.async
  if (codec === undefined) return Effect.fail(invalid(`${spec.id} has no async-invoke route.`, "model", spec.id))
  return Schema.encodeUnknownEffect(codec.request)(codec.encode(planned.inputs[index]!, planned.options)).pipe(
    Effect.mapError(encodeFailure(spec, "async-invoke modelInput"))
  )
}

/**
 * A request resolved and its own inputs planned: what every path does before its first call.
 *
 * @category planning
 * @since 0.1.0
 */
export const planRequest = (
  registry: ProviderRegistry.Service,
  request: EmbeddingRequest.Decoded,
  maxInputs: number = defaultMaxInputs
): Effect.Effect<{ readonly resolved: Resolved; readonly plan: Plan }, InvalidRequestError | UnsupportedModelError> =>
  Effect.gen(function* () {
    const resolved = yield* resolve(registry, request)
    return { resolved, plan: yield* plan(resolved, yield* itemsOfRequest(resolved.known, maxInputs)) }
  })

/**
 * A request planned whole, every call encoded: what the conformance suite compares with the
 * documented bodies, and what batch inference writes as records.
 *
 * @category planning
 * @since 0.1.0
 */
export const planAll = (
  registry: ProviderRegistry.Service,
  request: EmbeddingRequest.Decoded,
  maxInputs: number = defaultMaxInputs
): Effect.Effect<
  { readonly resolved: Resolved; readonly plan: Plan; readonly calls: ReadonlyArray<PlannedCall> },
  InvalidRequestError | UnsupportedModelError
> =>
  Effect.flatMap(planRequest(registry, request, maxInputs), ({ resolved, plan: planned }) =>
    Effect.map(
      Effect.forEach(planned.groups, (group) => encodeCall(resolved.spec, planned, group)),
      (calls) => ({ resolved, plan: planned, calls })
    )
  )
