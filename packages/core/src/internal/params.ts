/**
 * Checks a request's parameters and inputs against a model spec, before anything is sent: which
 * parameters the model takes (and where they apply), their values, and every input's kind,
 * size, format and length.
 *
 * @internal
 */
import { Result, Schema } from "effect"
import type * as EmbeddingRequest from "../EmbeddingRequest.ts"
import { InvalidRequestError } from "../Errors.ts"
import * as Media from "../Media.ts"
import type { Mode } from "../ModelRoute.ts"
import type * as ModelSpec from "../ModelSpec.ts"

export const invalid = (message: string, param?: string, modelId?: string) =>
  new InvalidRequestError({
    message,
    ...(param === undefined ? {} : { param }),
    ...(modelId === undefined ? {} : { modelId })
  })

export const kindName = (kind: Media.InputKind): string =>
  kind === "text_image" ? "text+image" : kind === "multi_input" ? "multi_input (text with named images)" : kind

const modalityTypes: ReadonlyArray<string> = ["text", "image", "video", "audio", "text_image", "multi_input"]

/** Whether an `input_type` value names what an input is, rather than a model's own input type. */
export const isModalityType = (value: string | undefined): boolean =>
  value !== undefined && modalityTypes.includes(value)

/**
 * The `input_type` values a model takes: the kinds of input it embeds on either route, and its
 * own input types (a kind only the other route takes is accepted here, so the input gets the
 * error that names that route).
 */
const inputTypeValues = (spec: ModelSpec.Any): ReadonlyArray<string> => [
  ...new Set<string>([
    "text",
    ...spec.capabilities.sync,
    ...spec.capabilities.async,
    ...(spec.capabilities.inputTypes ?? [])
  ])
]

/** Every parameter name the model takes, as error messages list them. */
export const supportedParams = (spec: ModelSpec.Any): ReadonlyArray<string> => [
  ...new Set([
    ...spec.supportedParams,
    "encoding_format",
    "input_type",
    ...Object.keys(spec.params.fields),
    ...Object.keys(spec.paramAliases ?? {})
  ])
]

const unsupported = (spec: ModelSpec.Any, param: string) =>
  invalid(
    `${spec.unsupportedParams?.[param] ?? `Parameter "${param}" is not supported by ${spec.id}.`} Supported parameters: ${supportedParams(spec).join(", ")}. ` +
      "Remove it, or set drop_params: true to drop unsupported parameters.",
    param,
    spec.id
  )

/** Moves a spec's other spellings of request fields (`output_dimension`) onto the fields. */
export const applyAliases = (
  spec: ModelSpec.Any,
  known: EmbeddingRequest.Known,
  extras: Readonly<Record<string, unknown>>
): Result.Result<{ known: EmbeddingRequest.Known; extras: Readonly<Record<string, unknown>> }, InvalidRequestError> => {
  const aliases = spec.paramAliases
  if (aliases === undefined) return Result.succeed({ known, extras })
  const nextKnown: Record<string, unknown> = { ...known }
  const nextExtras: Record<string, unknown> = { ...extras }
  for (const [alias, field] of Object.entries(aliases)) {
    const value = nextExtras[alias]
    if (value === undefined) continue
    delete nextExtras[alias]
    if (
      (field === "dimensions" || field === "input_type") &&
      nextKnown[field] !== undefined &&
      nextKnown[field] !== value
    ) {
      return Result.fail(
        invalid(
          `${alias} and ${field} disagree (${JSON.stringify(value)} and ${JSON.stringify(nextKnown[field])}); ${alias} is ${spec.id}'s name for ${field}: pass one of them.`,
          alias,
          spec.id
        )
      )
    }
    if (field !== "dimensions" && field !== "input_type") {
      if (nextExtras[field] !== undefined && nextExtras[field] !== value) {
        return Result.fail(
          invalid(
            `${alias} and ${field} disagree; ${alias} is another spelling of ${field}: pass one of them.`,
            alias,
            spec.id
          )
        )
      }
      nextExtras[field] = value
      continue
    }
    const ok = field === "dimensions" ? Number.isInteger(value) && (value as number) > 0 : typeof value === "string"
    if (!ok) {
      return Result.fail(
        invalid(
          `Invalid value ${JSON.stringify(value)} for parameter "${alias}" of ${spec.id}: expected ${field === "dimensions" ? "a positive integer" : "a string"}.`,
          alias,
          spec.id
        )
      )
    }
    nextKnown[field] = value
  }
  return Result.succeed({ known: nextKnown as EmbeddingRequest.Known, extras: nextExtras })
}

/** A request's input as a list of items. */
export const itemsOf = (known: EmbeddingRequest.Known): ReadonlyArray<Media.InputItem> =>
  (typeof known.input === "string" || !Array.isArray(known.input)
    ? [known.input]
    : known.input) as ReadonlyArray<Media.InputItem>

const blockKeys = ["text", "image", "video", "audio"] as const

/** A content block given as a request parameter: which block, and its value. */
export interface BlockParam {
  readonly key: (typeof blockKeys)[number]
  readonly block: unknown
}

/**
 * A content block given as a request parameter (`image: { format, source }`, LiteLLM's way for
 * models whose bodies hold blocks) stands for every input: taken out of the extras here, and
 * applied to the inputs by {@link withBlock}.
 */
export const applyBlockParams = (
  spec: ModelSpec.Any,
  extras: Readonly<Record<string, unknown>>
): Result.Result<{ extras: Readonly<Record<string, unknown>>; block: BlockParam | undefined }, InvalidRequestError> => {
  if (spec.capabilities.inputOptions === undefined) return Result.succeed({ extras, block: undefined })
  const given = blockKeys.filter(
    (key) => typeof extras[key] === "object" && extras[key] !== null && !Array.isArray(extras[key])
  )
  if (given.length === 0) return Result.succeed({ extras, block: undefined })
  if (given.length > 1) {
    return Result.fail(
      invalid(`Give one content block parameter, not ${given.join(" and ")}: each call embeds one.`, given[1], spec.id)
    )
  }
  const key = given[0]!
  const { [key]: block, ...rest } = extras
  return Result.succeed({ extras: rest, block: { key, block } })
}

/** Each input item as the request's content block parameter, when it has one. */
export const withBlock = (
  block: BlockParam | undefined,
  items: ReadonlyArray<Media.InputItem>
): ReadonlyArray<Media.InputItem> =>
  block === undefined ? items : items.map((): Media.InputItem => ({ [block.key]: block.block }))

/** The issue of a failed params decode, as "the key and what was expected". */
const describeSchemaError = (
  spec: ModelSpec.Any,
  params: Record<string, unknown>,
  error: Schema.SchemaError | undefined
): InvalidRequestError => {
  const issue = error?.issue
  const pointer = issue?._tag === "Composite" ? issue.issues.find((i) => i._tag === "Pointer") : issue
  const key = pointer?._tag === "Pointer" ? String(pointer.path[0]) : undefined
  const expected = (error?.message ?? "does not match the model's parameters")
    .split("\n")[0]!
    .replace(/^Expected/, "expected")
  return key === undefined
    ? invalid(`Invalid parameter for ${spec.id}: ${expected}`, undefined, spec.id)
    : invalid(
        `Invalid value ${JSON.stringify(params[key])} for parameter "${key}" of ${spec.id}: ${expected}.`,
        key,
        spec.id
      )
}

/**
 * The call options of a request for a spec (after {@link applyAliases}): `dimensions` and
 * `input_type` checked, the provider-specific extras decoded; unsupported parameters dropped or refused.
 */
export const resolveParams = (
  spec: ModelSpec.Any,
  known: EmbeddingRequest.Known,
  extras: Readonly<Record<string, unknown>>,
  mode: Mode
): Result.Result<ModelSpec.CallOptions<unknown>, InvalidRequestError> => {
  const drop = known.drop_params === true

  let dimensions = known.dimensions
  if (dimensions !== undefined) {
    const allowed = spec.capabilities.dimensions
    if (!spec.supportedParams.includes("dimensions") || allowed === undefined) {
      if (!drop) return Result.fail(unsupported(spec, "dimensions"))
      dimensions = undefined
    } else if (!allowed.includes(dimensions)) {
      return Result.fail(
        invalid(
          `dimensions must be one of ${allowed.join(", ")} for ${spec.id}; got ${dimensions}.`,
          "dimensions",
          spec.id
        )
      )
    }
  }

  let inputType = known.input_type
  if (inputType !== undefined) {
    const values = inputTypeValues(spec)
    if (!values.includes(inputType)) {
      // A model with input types of its own (search_query …) has a wrong value; one without has
      // no such parameter, which drop_params may drop.
      if (!drop || spec.capabilities.inputTypes !== undefined) {
        return Result.fail(
          invalid(
            `Invalid value "${inputType}" for parameter "input_type" of ${spec.id}: expected one of ${values.join(", ")}.` +
              (spec.capabilities.inputTypes === undefined ? " Set drop_params: true to drop it." : ""),
            "input_type",
            spec.id
          )
        )
      }
      inputType = undefined
    } else if (isModalityType(inputType)) inputType = undefined
  }

  const allowedExtras = Object.keys(spec.params.fields)
  const params: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(extras)) {
    if (allowedExtras.includes(key)) params[key] = value
    else if (!drop) return Result.fail(unsupported(spec, key))
  }
  const decoded = Schema.decodeUnknownExit(spec.params)(params)
  if (decoded._tag === "Failure") {
    const error = decoded.cause.reasons.find((r) => r._tag === "Fail")?.error as Schema.SchemaError | undefined
    return Result.fail(describeSchemaError(spec, params, error))
  }
  return Result.succeed({ dimensions, inputType, params: decoded.value, mode })
}

const listKinds = (kinds: ReadonlyArray<Media.InputKind>) => kinds.map(kindName).join(", ")

/**
 * Parameters that apply to none of the request's inputs on this route: refused naming them and
 * where they apply, or dropped with `drop_params` — never left out of the body in silence.
 */
export const applyScopes = (
  spec: ModelSpec.Any,
  options: ModelSpec.CallOptions<unknown>,
  inputs: ReadonlyArray<Media.EmbeddingInput>,
  drop: boolean
): Result.Result<ModelSpec.CallOptions<unknown>, InvalidRequestError> => {
  const scopes = spec.paramScopes
  if (scopes === undefined) return Result.succeed(options)
  const params = { ...(options.params as Record<string, unknown>) }
  const refused: Array<readonly [string, string]> = []
  for (const [key, scope] of Object.entries(scopes)) {
    if (params[key] === undefined) continue
    const modeOk = scope.modes === undefined || scope.modes.includes(options.mode)
    const fits = (input: Media.EmbeddingInput) =>
      (scope.kinds === undefined || scope.kinds.includes(input.kind)) &&
      (scope.s3 !== true || Media.mediaListOf(input).some((media) => media.source._tag === "S3"))
    if (modeOk && inputs.some(fits)) continue
    const where =
      (scope.kinds === undefined ? "every input" : `${listKinds(scope.kinds)} inputs`) +
      (scope.s3 === true ? " with s3:// media" : "") +
      (scope.modes === undefined
        ? ""
        : scope.modes.includes("sync")
          ? " on the sync route"
          : ` through async invoke (bedrock/async_invoke/${spec.id})`)
    delete params[key]
    refused.push([key, where])
  }
  if (refused.length === 0) return Result.succeed(options)
  if (drop) return Result.succeed({ ...options, params })
  const kinds = [...new Set(inputs.map((input) => input.kind))].join("', '")
  const names = refused.map(([key]) => key).join(", ")
  const wheres = [...new Set(refused.map(([, where]) => where))]
  return Result.fail(
    invalid(
      `Input type '${kinds}' does not accept ${names}; set drop_params to drop them. ` +
        `On ${spec.id} ${refused.length === 1 ? "it applies" : "they apply"} to ${wheres.join("; ")}` +
        `${options.mode === "sync" ? ", and this request is on the sync route" : ""}.`,
      refused[0]![0],
      spec.id
    )
  )
}

const checkMedia = (
  spec: ModelSpec.Any,
  media: Media.MediaInput,
  param: string,
  mode: Mode
): InvalidRequestError | undefined => {
  const limits = spec.capabilities.media?.[media.kind]
  if (limits === undefined)
    return invalid(`${param} is ${media.kind}, which ${spec.id} does not embed.`, param, spec.id)
  if (!limits.formats.includes(media.format)) {
    return invalid(
      `${param} is ${media.mimeType}; ${spec.id} accepts ${media.kind} formats ${limits.formats.join(", ")}.`,
      param,
      spec.id
    )
  }
  if (!limits.sources.includes(media.source._tag)) {
    return invalid(
      media.source._tag === "S3"
        ? `${param} is an S3 URI; ${spec.id} takes ${media.kind} inline only: send its bytes as a data URL.`
        : `${param} is inline ${media.kind}; ${spec.id} takes it from S3 only: pass an s3:// URI.`,
      param,
      spec.id
    )
  }
  if (media.source._tag === "Base64" && media.source.byteLength > limits.maxBytes) {
    return invalid(
      `${param} is ${media.source.byteLength} bytes; ${spec.id} accepts ${media.kind} up to ${limits.maxBytes} bytes.`,
      param,
      spec.id
    )
  }
  if (mode === "sync" && limits.maxSeconds !== undefined) {
    const seconds = Media.durationOf(media)
    if (seconds !== undefined && seconds > limits.maxSeconds) {
      return invalid(
        `${param} is ${Math.round(seconds * 10) / 10} seconds of ${media.kind}; ${spec.id} embeds at most ${limits.maxSeconds} s synchronously. ` +
          `Send it through async invoke: model "bedrock/async_invoke/${spec.id}" with output_s3_uri, which embeds long ${media.kind} in segments.`,
        param,
        spec.id
      )
    }
  }
  return undefined
}

/** A route's value of a limit that may differ by route. */
export const forMode = (limit: ModelSpec.ByMode<number> | undefined, mode: Mode): number | undefined =>
  typeof limit === "object" ? limit[mode] : limit

/** Checks one parsed input against the spec's capabilities. */
export const checkInput = (
  spec: ModelSpec.Any,
  input: Media.EmbeddingInput,
  index: number,
  options: ModelSpec.CallOptions<unknown>
): InvalidRequestError | undefined => {
  const caps = spec.capabilities
  const accepted = options.mode === "sync" ? caps.sync : caps.async
  const param = `input[${index}]`
  if (!accepted.includes(input.kind)) {
    const asyncHint =
      options.mode === "sync" && caps.async.includes(input.kind)
        ? ` Input type '${input.kind}' requires async_invoke route. Use model format: 'bedrock/async_invoke/${spec.id}'.`
        : ""
    return invalid(
      `${param} is ${kindName(input.kind)}, but ${spec.id} embeds ${listKinds(accepted)} ` +
        `${options.mode === "sync" ? "synchronously" : "through async invoke"}.${asyncHint}`,
      param,
      spec.id
    )
  }
  const text = Media.textOf(input)
  const maxChars = forMode(caps.maxTextChars, options.mode)
  if (text !== undefined && maxChars !== undefined && text.length > maxChars) {
    const asyncMax = forMode(caps.maxTextChars, "async")
    return invalid(
      `${param} has ${text.length} characters; ${spec.id} accepts at most ${maxChars}${
        options.mode === "sync" && (asyncMax ?? 0) > maxChars
          ? ` synchronously (up to ${asyncMax} through bedrock/async_invoke/${spec.id})`
          : ""
      }. Split the text into smaller chunks.`,
      param,
      spec.id
    )
  }
  for (const media of Media.mediaListOf(input)) {
    const problem = checkMedia(spec, media, param, options.mode)
    if (problem !== undefined) return problem
  }
  const blockOptions =
    input.kind === "text" || input.kind === "image" || input.kind === "video" || input.kind === "audio"
      ? input.options
      : undefined
  if (blockOptions !== undefined) {
    const allowed = caps.inputOptions ?? []
    const extra = Object.keys(blockOptions).filter((key) => !allowed.includes(key))
    if (extra.length > 0) {
      return invalid(
        `${param}: the ${input.kind} block's ${extra.map((key) => `"${key}"`).join(", ")} ${extra.length === 1 ? "is" : "are"} not taken by ${spec.id}` +
          (allowed.length === 0 ? "; give only format and source." : ` (its blocks take ${allowed.join(", ")}).`),
        param,
        spec.id
      )
    }
  }
  const problem = spec.check?.(input, options)
  return problem === undefined ? undefined : invalid(`${param}: ${problem}`, param, spec.id)
}
