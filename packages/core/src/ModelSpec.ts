/**
 * The provider contract: everything a model family knows, as data plus two pure functions.
 *
 * A provider package exports `ModelSpec`s and a layer that registers them. Core validates the
 * request against the spec's capabilities, encodes each call with `encode`, checks the body
 * against `request`, decodes Bedrock's answer with `response` and `decode`, and prices it with
 * `price`. If core ever needs to know which family it talks to, this contract is missing a field.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { EmbeddingInput, InputKind, Modality } from "./Media.ts"
import type { Mode } from "./ModelRoute.ts"

/**
 * Limits for one media modality.
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaLimits {
  /** Accepted formats, in Bedrock's short names (`png`, `jpeg`, `mp4`, …). */
  readonly formats: ReadonlyArray<string>
  /** Largest accepted inline payload, in decoded bytes. */
  readonly maxBytes: number
  /** Where the media may come from: inline base64, S3, or both. */
  readonly sources: ReadonlyArray<"Base64" | "S3">
  /**
   * Longest clip InvokeModel takes, in seconds (video, audio). Inline media whose container gives
   * its length is checked before the call; longer clips are sent to the async route.
   */
  readonly maxSeconds?: number | undefined
  /**
   * Most inputs carrying this modality one InvokeModel call takes, when lower than
   * {@link Capabilities.maxInputsPerCall} (one image per call while texts go 96 at a time). Inputs
   * are batched by kind; a kind's calls take the lowest limit of the modalities it carries.
   */
  readonly maxPerCall?: number | undefined
}

/**
 * A limit that may differ by route: one number for both, or one per route (a route left out has none).
 *
 * @category models
 * @since 0.1.0
 */
export type ByMode<A extends number | string | boolean> = A | { readonly [M in Mode]?: A | undefined }

/**
 * What a model can do, as data the engine enforces before sending anything.
 *
 * @category models
 * @since 0.1.0
 */
export interface Capabilities {
  /** Input kinds accepted by InvokeModel. */
  readonly sync: ReadonlyArray<InputKind>
  /** Input kinds accepted by StartAsyncInvoke (empty: no async route). */
  readonly async: ReadonlyArray<InputKind>
  /**
   * How many inputs one InvokeModel call takes; larger requests are split. One call carries one
   * kind of input: the engine groups inputs by kind, each group in input order, and splits each
   * group on its own (lower per-modality limits: {@link MediaLimits.maxPerCall}).
   */
  readonly maxInputsPerCall: number
  /** Output dimensions the caller may pick with `dimensions`; absent when the size is fixed. */
  readonly dimensions?: ReadonlyArray<number> | undefined
  /** The output dimension when the caller picks none. */
  readonly defaultDimension: number
  /**
   * Longest accepted text, in characters: one limit for both routes, or one per route
   * (`{ sync: 50_000, async: 1_000_000 }`; a sync refusal then names the async route's limit).
   */
  readonly maxTextChars?: ByMode<number> | undefined
  /** Per-modality media limits. */
  readonly media?: Partial<Record<Modality, MediaLimits>> | undefined
  /**
   * The values of the OpenAI-level `input_type` parameter that are the model's own — what the
   * vectors are for (`search_query`, `classification` …) rather than a modality name — as
   * `dimensions` lists the values of `dimensions`. Absent when the model has none: an `input_type`
   * other than a modality name is then an unsupported parameter (which `drop_params` may drop);
   * when present, any other value is refused. Declare `"input_type"` in `supportedParams` with it.
   */
  readonly inputTypes?: ReadonlyArray<string> | undefined
  /**
   * Whether Bedrock runs the model as batch inference (CreateModelInvocationJob), one record per
   * call. The one declaration: batch inference accepts exactly the specs that set it.
   */
  readonly batchInference?: boolean | undefined
  /**
   * Fields a content block may carry beside its format and source (`{ video: { format, source,
   * embeddingMode } }`), which the encoder puts in the body; other fields are refused.
   */
  readonly inputOptions?: ReadonlyArray<string> | undefined
  /** Whether InvokeModel takes this model only through a cross-region inference profile (`us.…`). */
  readonly syncViaProfile?: boolean | undefined
  /** Whether StartAsyncInvoke takes this model only by its base id (no inference profile). */
  readonly asyncViaBase?: boolean | undefined
}

/**
 * On-demand prices in USD. Every field is optional: a model bills what it bills.
 *
 * @category models
 * @since 0.1.0
 */
export interface Price {
  readonly perInputToken?: number | undefined
  readonly perImage?: number | undefined
  readonly perVideoSecond?: number | undefined
  readonly perAudioSecond?: number | undefined
  /** Per query: a text (or text with media) embedded by a model that bills queries, not tokens. */
  readonly perQuery?: number | undefined
}

/**
 * Billable usage of one response, as Bedrock reported it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  readonly inputTokens: number
  readonly images: number
  readonly videoSeconds: number
  readonly audioSeconds: number
  /** Queries, for models that bill per query (see {@link Price.perQuery}). */
  readonly queries?: number | undefined
}

/**
 * The resolved options one call is encoded with.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallOptions<P> {
  /** The requested output dimension, already checked against `capabilities.dimensions`. */
  readonly dimensions: number | undefined
  /**
   * The request's `input_type` when it is one of `capabilities.inputTypes` (a modality name is not
   * passed on: the input's kind says it); on the async route, the kind the job embeds.
   */
  readonly inputType: string | undefined
  /** The provider-specific parameters, decoded with the spec's `params` schema. */
  readonly params: P
  readonly mode: Mode
}

/**
 * What `decode` extracts from one response.
 *
 * @category models
 * @since 0.1.0
 */
export interface DecodedBatch {
  /** One vector per input of the batch, in the batch's order. */
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  /** Input tokens counted in the body, when the body counts them (else the response header is used). */
  readonly inputTokens?: number | undefined
  /** Media usage of the batch (images, seconds of video or audio). */
  readonly media?: Partial<Omit<Usage, "inputTokens">> | undefined
  /**
   * Every embedding type the caller asked for, per input, for models that return several
   * encodings of one vector (`float`, `int8`, `binary`, …; more than one family has them); `vectors` holds the
   * first. Returned as `embeddings_by_type`; each is checked at {@link ModelSpec.expectedLength}.
   */
  readonly byType?: ReadonlyArray<Readonly<Record<string, ReadonlyArray<number>>>> | undefined
  /** What the model said went wrong, when the body reports a failure instead of failing the call. */
  readonly failure?: string | undefined
  /**
   * The embedding type of `vectors` (`float`, `int8`, `binary`, …) when it is not `float`, so the
   * engine checks each vector's length with {@link ModelSpec.expectedLength}.
   */
  readonly primaryType?: string | undefined
  /**
   * Separate vectors per modality, per input (`{ video, audio }` for a clip embedded as picture and
   * sound apart); `vectors` holds the first. Returned as `embeddings_by_modality`.
   */
  readonly byModality?: ReadonlyArray<Readonly<Record<string, ReadonlyArray<number>>>> | undefined
}

/**
 * A schema of provider-specific parameters, as a struct so the engine can tell known keys.
 *
 * @category models
 * @since 0.1.0
 */
export interface ParamsSchema<P> extends Schema.Codec<P, unknown> {
  readonly fields: Readonly<Record<string, unknown>>
}

/**
 * One object an async-invoke job wrote, read back from S3.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncOutputFile {
  /** The object's key relative to the job's output folder, e.g. `output.json`. */
  readonly name: string
  readonly uri: string
  readonly text: string
}

/**
 * One embedding read back from an async job's output: a whole input, or a segment of it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncSegment {
  /** The vector; empty when the segment failed. */
  readonly embedding: ReadonlyArray<number>
  /** `SUCCESS`, or `FAILURE` for a segment the model refused (its reason and message with it). */
  readonly status?: "SUCCESS" | "FAILURE" | undefined
  /** Bedrock's code for a failed segment, e.g. `RAI_VIOLATION_INPUT_TEXT_DEFLECTION`. */
  readonly failureReason?: string | undefined
  readonly message?: string | undefined
  /** What the vector embeds: `text`, `image`, `video`, `audio`, `audio_video`, or a model's own option name. */
  readonly modality: string
  readonly segmentIndex?: number | undefined
  /** Start and end of the segment in seconds (video, audio). */
  readonly startSec?: number | undefined
  readonly endSec?: number | undefined
  /** Start and end of the segment in characters (text; end exclusive). */
  readonly startChar?: number | undefined
  readonly endChar?: number | undefined
  /** Model-specific labels (`embeddingOption`, `embeddingScope`, …). */
  readonly details?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What an async job's output shows was billed: the {@link Usage} fields it counts (absent ones are
 * 0), and whether that is all of it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncUsage extends Partial<Usage> {
  /**
   * `false` when the output does not say everything the job used (text tokens it does not count,
   * an input kind it does not name): the usage, and the cost from it, are then lower bounds.
   * Default `true`.
   */
  readonly known?: boolean | undefined
}

/**
 * The seconds of media an input's segments cover: the latest end less the earliest start, so
 * segments that overlap or repeat per modality (picture and sound of the same clip) count once.
 * 0 when no segment has times.
 *
 * @category models
 * @since 0.1.0
 */
export const coveredSeconds = (segments: ReadonlyArray<AsyncSegment>): number => {
  let start = Number.POSITIVE_INFINITY
  let end = Number.NEGATIVE_INFINITY
  for (const segment of segments) {
    if (segment.startSec === undefined || segment.endSec === undefined) continue
    start = Math.min(start, segment.startSec)
    end = Math.max(end, segment.endSec)
  }
  return end > start ? end - start : 0
}

/**
 * How a model is driven through StartAsyncInvoke.
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncCodec<P, Req = unknown> {
  /** The `modelInput` sent for one input, checked before sending. */
  readonly request: Schema.Codec<Req, unknown>
  /** Builds the `modelInput` of the job for one input: a value of `request`'s type (inferred from `request` alone). */
  readonly encode: (input: EmbeddingInput, options: CallOptions<P>) => NoInfer<Req>
  /**
   * Reads the job's output objects. Returns every segment — failed ones too, with their status and
   * reason — or what is wrong with the output as a whole (a missing file, a body that is not JSON).
   */
  readonly decode: (files: ReadonlyArray<AsyncOutputFile>) =>
    | {
        readonly segments: ReadonlyArray<AsyncSegment>
        /** The output dimension the job reports, when its output says. */
        readonly dimension?: number | undefined
        /** What the output shows the job used, priced at the model's on-demand price; absent: unknown. */
        readonly usage?: AsyncUsage | undefined
      }
    | { readonly failure: string }
}

/**
 * The description of one Bedrock embedding model.
 *
 * @category models
 * @since 0.1.0
 */
export interface ModelSpec<Req = unknown, Res = unknown, P = unknown, AsyncReq = unknown> {
  /** The canonical foundation model id, e.g. `acme.embed-text-v2:0`. */
  readonly id: string
  /** The model family, e.g. `acme`. */
  readonly family: string
  /** Whether a base model id (no geo prefix, no ARN) names this model. */
  readonly matches: (baseModelId: string) => boolean
  /**
   * The model ids Bedrock accepts for this model (default: `[id]`). An id that `matches` but is not
   * one of these (`acme.embed-text-v2` for `acme.embed-text-v2:0`) fails before the call, naming the right one.
   */
  readonly ids?: ReadonlyArray<string> | undefined
  readonly capabilities: Capabilities
  /** OpenAI-level parameters this model maps into its body. */
  readonly supportedParams: ReadonlyArray<"dimensions" | "input_type">
  /** Provider-specific parameters accepted as extra request keys. */
  readonly params: ParamsSchema<P>
  /**
   * Other spellings callers use for this model's request fields and parameters
   * (`output_dimension` → `dimensions`, `inputType` → `input_type`, `truncation_mode` → `truncationMode`).
   */
  readonly paramAliases?: Readonly<Record<string, string>> | undefined
  /**
   * What to say of parameters callers bring from a sibling model that this one does not take
   * (`textTruncate` on a model that dropped it); they are refused (or dropped) as unsupported.
   */
  readonly unsupportedParams?: Readonly<Record<string, string>> | undefined
  /**
   * Where a parameter applies, for parameters that apply to some inputs or routes only. A parameter
   * that applies to none of a request's inputs is refused naming it (or dropped with `drop_params`),
   * never silently left out of the body.
   */
  readonly paramScopes?:
    | Readonly<
        Record<
          string,
          {
            readonly kinds?: ReadonlyArray<InputKind> | undefined
            readonly modes?: ReadonlyArray<Mode> | undefined
            /** Applies only to inputs whose media is an S3 object (`bucketOwner`). */
            readonly s3?: boolean | undefined
          }
        >
      >
    | undefined
  /**
   * The length of a vector of the given embedding type at the given dimension, when it is not the
   * dimension itself (packed bits: dimension ÷ 8), for models that return other embedding types
   * (see {@link DecodedBatch.byType}). `type` is `undefined` for plain floats.
   */
  readonly expectedLength?: ((type: string | undefined, dimension: number) => number) | undefined
  /** A notice logged once per process when the model is used (end of life, successor). */
  readonly deprecation?: string | undefined
  /** The body sent to Bedrock, checked before sending. */
  readonly request: Schema.Codec<Req, unknown>
  /** The body accepted from Bedrock, checked on arrival. */
  readonly response: Schema.Codec<Res, unknown>
  /** Builds the body of one call from a batch of at most `maxInputsPerCall` inputs. */
  readonly encode: (batch: ReadonlyArray<EmbeddingInput>, options: CallOptions<P>) => NoInfer<Req>
  /** Extracts vectors and usage from a checked response body. */
  readonly decode: (body: Res, batch: ReadonlyArray<EmbeddingInput>, options: CallOptions<P>) => DecodedBatch
  /**
   * A rule across one input and the call's parameters that no declarative field states (e.g.
   * s3:// media needs its bucket's owner, on the source or in a parameter).
   * Returns what is wrong, or `undefined`; the engine reports it as `input[i]: …`. Runs after every
   * declarative check — prefer those (kinds, limits, `paramScopes`) where one fits.
   */
  readonly check?: ((input: EmbeddingInput, options: CallOptions<P>) => string | undefined) | undefined
  readonly price: Price
  /**
   * Request parameters that say what the vectors are for, applied when a caller gives `role`
   * (`document`: to be indexed; `query`: to search with) and has not set them explicitly —
   * e.g. an `input_type` of search_document or search_query.
   */
  readonly roles?: Readonly<Record<"document" | "query", Readonly<Record<string, unknown>>>> | undefined
  /** The StartAsyncInvoke codec, for models with `capabilities.async`. */
  readonly async?: AsyncCodec<P, AsyncReq> | undefined
}

/**
 * A spec of any model, as the registry holds them.
 *
 * @category models
 * @since 0.1.0
 */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds specs of every body type
export type Any = ModelSpec<any, any, any, any>

/**
 * Defines a model spec with its types inferred.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Req, Res, P, AsyncReq = unknown>(
  spec: ModelSpec<Req, Res, P, AsyncReq>
): ModelSpec<Req, Res, P, AsyncReq> => spec

const isVector = (u: unknown): u is ReadonlyArray<number> => {
  // The engine's stream path reads vectors straight into Float32Arrays.
  if (u instanceof Float32Array) return true
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (typeof u[i] !== "number") return false
  return true
}

/**
 * One embedding in a response body: an array of numbers (a `Float32Array` when the engine read
 * the body for its stream path; specs pass vectors through unchanged). Checked in one pass instead of one
 * schema step per element — one response can hold 96 × 1536 of them, and a per-element decode
 * cost more CPU than the HTTP call (measured by `pnpm bench`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Vector: Schema.declare<ReadonlyArray<number>> = Schema.declare(isVector, {
  title: "Vector",
  description: "an array of numbers"
})

/**
 * Several embeddings in a response body: an array of {@link Vector}s.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Vectors: Schema.declare<ReadonlyArray<ReadonlyArray<number>>> = Schema.declare(
  (u: unknown): u is ReadonlyArray<ReadonlyArray<number>> => Array.isArray(u) && u.every(isVector),
  { title: "Vectors", description: "an array of arrays of numbers" }
)
