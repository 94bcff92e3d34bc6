/**
 * Decoding one model response for a planned call: shared by the engine and batch inference,
 * whose output lines carry the same bodies.
 *
 * @internal
 */
import { Result, Schema } from "effect"
import { ModelInvocationError, ResponseDecodeError } from "../Errors.ts"
import { parseFloat32Json } from "../Float32Json.ts"
import type * as Media from "../Media.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import { checkDecoded } from "./integrity.ts"

interface Context {
  readonly modelId: string
  readonly requestId?: string | undefined
}

const idsOf = (context: Context) => ({
  modelId: context.modelId,
  ...(context.requestId === undefined ? {} : { requestId: context.requestId })
})

const shapeError = (spec: ModelSpec.Any, context: Context, message: string) =>
  new ResponseDecodeError({
    message: `Bedrock's response for ${spec.id} does not match the documented shape: ${message}`,
    ...idsOf(context)
  })

const utf8 = new TextDecoder()

/**
 * Parses a response body: straight into `Float32Array` vectors (the stream path: no body string,
 * no arrays of doubles; `"without text"`: vectors that do not keep the body alive), or as
 * `JSON.parse` gives it, as the OpenAI response carries vectors.
 */
export const parseBodyResult = (
  spec: ModelSpec.Any,
  body: Uint8Array,
  float32: boolean | "without text",
  context: Context
): Result.Result<unknown, ResponseDecodeError> => {
  try {
    return Result.succeed(
      float32 === false
        ? (JSON.parse(utf8.decode(body)) as unknown)
        : parseFloat32Json(body, { keepText: float32 !== "without text" })
    )
  } catch {
    return Result.fail(shapeError(spec, context, "the body is not JSON"))
  }
}

const decoders = new WeakMap<ModelSpec.Any, (json: unknown) => Result.Result<unknown, Schema.SchemaError>>()

/** The spec's response decoder, made once per spec. */
const decoderOf = (spec: ModelSpec.Any) => {
  let decoder = decoders.get(spec)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownResult(spec.response)
    decoders.set(spec, decoder)
  }
  return decoder
}

/**
 * Decodes one model response (already parsed JSON) for a call: the spec's response schema, its
 * `decode`, the checks that every input got exactly one vector, and the integrity of every vector
 * (length, values). Synchronous: it runs once per Bedrock call.
 */
export const decodeResponseResult = (
  spec: ModelSpec.Any,
  json: unknown,
  call: { readonly indices: ReadonlyArray<number>; readonly items: ReadonlyArray<Media.EmbeddingInput> },
  callOptions: ModelSpec.CallOptions<unknown>,
  context: Context
): Result.Result<ModelSpec.DecodedBatch, ResponseDecodeError | ModelInvocationError> => {
  const body = decoderOf(spec)(json)
  if (Result.isFailure(body)) return Result.fail(shapeError(spec, context, body.failure.message))
  const decoded = spec.decode(body.success, call.items, callOptions)
  if (decoded.failure !== undefined) {
    return Result.fail(
      new ModelInvocationError({
        message: `${spec.id} failed on input[${call.indices[0]}]: ${decoded.failure}`,
        ...idsOf(context)
      })
    )
  }
  const count = call.items.length
  if (decoded.vectors.length !== count) {
    return Result.fail(shapeError(spec, context, `expected ${count} vectors, got ${decoded.vectors.length}`))
  }
  if (decoded.byType !== undefined && decoded.byType.length !== count) {
    return Result.fail(shapeError(spec, context, `expected ${count} embeddings by type, got ${decoded.byType.length}`))
  }
  const fault = checkDecoded(spec, decoded, call.indices, callOptions)
  if (fault !== undefined) {
    return Result.fail(
      new ResponseDecodeError({
        message: `Bedrock's response for ${spec.id} holds an invalid embedding: ${fault}.`,
        ...idsOf(context)
      })
    )
  }
  return Result.succeed(decoded)
}
