/**
 * TwelveLabs Marengo Embed 3.0 (`twelvelabs.marengo-embed-3-0-v1:0`): text, image, text+image
 * (`media_source`) and multi_input (a text referencing named images as `<@name>`, `media_sources`)
 * through InvokeModel, video and audio too through async invoke. 512 dimensions; not compatible
 * with 2.7 vectors. `s3://` media needs `bucketOwner`.
 *
 * @since 0.1.0
 */
import { Media, ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"
import {
  AccountId,
  decodeOutput,
  decodeSync,
  media,
  MediaSource,
  mediaSourceOf,
  price,
  Response,
  sourceOf,
  timed
} from "./internal/shared.ts"

const Segmentation = Schema.Union([
  Schema.Struct({ method: Schema.Literal("dynamic"), dynamic: Schema.Struct({ minDurationSec: Schema.Number }) }),
  Schema.Struct({ method: Schema.Literal("fixed"), fixed: Schema.Struct({ durationSec: Schema.Number }) })
])
const Timed = {
  mediaSource: MediaSource,
  startSec: Schema.optionalKey(Schema.Number),
  endSec: Schema.optionalKey(Schema.Number),
  segmentation: Schema.optionalKey(Segmentation),
  embeddingOption: Schema.optionalKey(Schema.NonEmptyArray(Schema.Literals(["visual", "audio", "transcription"]))),
  embeddingType: Schema.optionalKey(Schema.NonEmptyArray(Schema.Literals(["separate_embedding", "fused_embedding"]))),
  embeddingScope: Schema.optionalKey(Schema.NonEmptyArray(Schema.Literals(["clip", "asset"])))
}
const inferenceId = Schema.optionalKey(Schema.String)

/**
 * The InvokeModel body: the part named after `inputType` holds the input.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Union([
  Schema.Struct({ inferenceId, inputType: Schema.Literal("text"), text: Schema.Struct({ inputText: Schema.String }) }),
  Schema.Struct({
    inferenceId,
    inputType: Schema.Literal("image"),
    image: Schema.Struct({ mediaSource: MediaSource })
  }),
  Schema.Struct({
    inferenceId,
    inputType: Schema.Literal("text_image"),
    text_image: Schema.Struct({ inputText: Schema.String, mediaSource: MediaSource })
  }),
  Schema.Struct({
    inferenceId,
    inputType: Schema.Literal("multi_input"),
    multi_input: Schema.Struct({
      inputText: Schema.optionalKey(Schema.String),
      mediaSources: Schema.NonEmptyArray(
        Schema.Union([
          Schema.Struct({ name: Schema.String, mediaType: Schema.Literal("image"), base64String: Schema.String }),
          Schema.Struct({
            name: Schema.String,
            mediaType: Schema.Literal("image"),
            s3Location: Schema.Struct({ uri: Schema.String, bucketOwner: Schema.optionalKey(Schema.String) })
          })
        ])
      )
    })
  })
])

/**
 * The StartAsyncInvoke `modelInput`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const AsyncRequest = Schema.Union([
  ...Request.members,
  Schema.Struct({ inferenceId, inputType: Schema.Literal("video"), video: Schema.Struct(Timed) }),
  Schema.Struct({ inferenceId, inputType: Schema.Literal("audio"), audio: Schema.Struct(Timed) })
])

/**
 * The response, in any of the three envelopes.
 *
 * @category schemas
 * @since 0.1.0
 */
export { Response }

/**
 * Marengo 3.0 parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** The account that owns the S3 bucket of `s3://` media (12 digits); required for S3 media. */
  bucketOwner: Schema.optional(AccountId),
  /** An id of yours, echoed by Bedrock. */
  inferenceId: Schema.optional(Schema.String),
  /** Async video/audio: start and end of the part to embed, in seconds. */
  startSec: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  endSec: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Async video/audio: `{ method: "dynamic", dynamic: { minDurationSec } }` or `{ method: "fixed", fixed: { durationSec } }`. */
  segmentation: Schema.optional(Segmentation),
  /** Async video/audio: `visual`, `audio`, `transcription`. */
  embeddingOption: Schema.optional(Schema.NonEmptyArray(Schema.Literals(["visual", "audio", "transcription"]))),
  /** Async video/audio: `separate_embedding` (default) or `fused_embedding`. */
  embeddingType: Schema.optional(Schema.NonEmptyArray(Schema.Literals(["separate_embedding", "fused_embedding"]))),
  /** Async video/audio: `clip` and/or `asset`. */
  embeddingScope: Schema.optional(Schema.NonEmptyArray(Schema.Literals(["clip", "asset"])))
})

type P = typeof Params.Type

const body = (input: Media.EmbeddingInput, params: P) => {
  const id = params.inferenceId === undefined ? {} : { inferenceId: params.inferenceId }
  switch (input.kind) {
    case "text":
      return { ...id, inputType: "text" as const, text: { inputText: input.text } }
    case "image":
      return { ...id, inputType: "image" as const, image: { mediaSource: mediaSourceOf(input, params.bucketOwner) } }
    case "text_image":
      return {
        ...id,
        inputType: "text_image" as const,
        text_image: { inputText: input.text, mediaSource: mediaSourceOf(input, params.bucketOwner) }
      }
    case "multi_input":
      return {
        ...id,
        inputType: "multi_input" as const,
        multi_input: {
          ...(input.text.length === 0 ? {} : { inputText: input.text }),
          // Each source is flattened into its entry, beside its name.
          mediaSources: input.media.map((entry) => ({
            name: entry.name,
            mediaType: "image" as const,
            ...sourceOf(entry.media, params.bucketOwner)
          }))
        }
      }
    default: {
      const timed = {
        mediaSource: mediaSourceOf(input, params.bucketOwner),
        ...(params.startSec === undefined ? {} : { startSec: params.startSec }),
        ...(params.endSec === undefined ? {} : { endSec: params.endSec }),
        ...(params.segmentation === undefined ? {} : { segmentation: params.segmentation }),
        ...(params.embeddingOption === undefined ? {} : { embeddingOption: params.embeddingOption }),
        ...(params.embeddingType === undefined ? {} : { embeddingType: params.embeddingType }),
        ...(params.embeddingScope === undefined ? {} : { embeddingScope: params.embeddingScope })
      }
      return input.kind === "video"
        ? { ...id, inputType: "video" as const, video: timed }
        : { ...id, inputType: "audio" as const, audio: timed }
    }
  }
}

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "twelvelabs.marengo-embed-3-0-v1:0",
  family: "twelvelabs",
  matches: (id) => id === "twelvelabs.marengo-embed-3-0-v1:0" || id === "twelvelabs.marengo-embed-3-0-v1",
  ids: ["twelvelabs.marengo-embed-3-0-v1:0"],
  capabilities: {
    sync: ["text", "image", "text_image", "multi_input"],
    async: ["text", "image", "text_image", "video", "audio"],
    maxInputsPerCall: 1,
    defaultDimension: 512,
    media,
    // Bedrock rejects inference profiles for async invoke ("doesn't support async inference").
    asyncViaBase: true
  },
  supportedParams: [],
  params: Params,
  paramAliases: { inputType: "input_type" },
  paramScopes: {
    bucketOwner: { s3: true },
    startSec: timed,
    endSec: timed,
    segmentation: timed,
    embeddingOption: timed,
    embeddingType: timed,
    embeddingScope: timed
  },
  unsupportedParams: Object.fromEntries(
    ["textTruncate", "lengthSec", "useFixedLengthSec", "minClipSec"].map((name) => [
      name,
      `Marengo 3.0 does not accept the Marengo 2.7 parameters ${name}; set drop_params to drop them (3.0 takes endSec and segmentation instead).`
    ])
  ),
  request: Request,
  response: Response,
  check: (input, { params }) =>
    Media.mediaListOf(input).some((m) => m.source._tag === "S3" && m.source.bucketOwner === undefined) &&
    params.bucketOwner === undefined
      ? "s3:// media requires the 'bucketOwner' parameter, the account id that owns the bucket"
      : undefined,
  encode: ([input], { params }) => body(input ?? { kind: "text", text: "" }, params) as typeof Request.Type,
  decode: decodeSync,
  price,
  async: {
    request: AsyncRequest,
    encode: (input, { params }) => body(input, params) as typeof AsyncRequest.Type,
    decode: decodeOutput
  }
})
