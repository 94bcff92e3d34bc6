/**
 * TwelveLabs Marengo Embed 2.7 (`twelvelabs.marengo-embed-2-7-v1:0`): text and images through
 * InvokeModel (call it through the `us.`, `eu.` or `apac.` inference profile), and text, image,
 * video and audio through async invoke (the base model id). 1024 dimensions.
 *
 * @since 0.1.0
 */
import { type Media, ModelSpec } from "@bedrock-embed/core"
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
  timed
} from "./internal/shared.ts"

const EmbeddingOption = Schema.Literals(["visual-text", "visual-image", "audio"])

/**
 * The InvokeModel body (text or image).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Union([
  Schema.Struct({
    inputType: Schema.Literal("text"),
    inputText: Schema.String,
    textTruncate: Schema.optionalKey(Schema.Literals(["end", "none"]))
  }),
  Schema.Struct({ inputType: Schema.Literal("image"), mediaSource: MediaSource })
])

/**
 * The StartAsyncInvoke `modelInput`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const AsyncRequest = Schema.Union([
  ...Request.members,
  Schema.Struct({
    inputType: Schema.Literals(["video", "audio"]),
    mediaSource: MediaSource,
    startSec: Schema.optionalKey(Schema.Number),
    lengthSec: Schema.optionalKey(Schema.Number),
    useFixedLengthSec: Schema.optionalKey(Schema.Number),
    minClipSec: Schema.optionalKey(Schema.Int),
    embeddingOption: Schema.optionalKey(Schema.NonEmptyArray(EmbeddingOption))
  })
])

/**
 * The response, in any of the three envelopes.
 *
 * @category schemas
 * @since 0.1.0
 */
export { Response }

/**
 * Marengo 2.7 parameters, passed as extra request keys.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Params = Schema.Struct({
  /** `end` (Bedrock's default) cuts text over 77 tokens; `none` fails instead. */
  textTruncate: Schema.optional(Schema.Literals(["end", "none"])),
  /** The account that owns the S3 bucket of `s3://` media (12 digits). */
  bucketOwner: Schema.optional(AccountId),
  /** Async video/audio: where to start, in seconds. */
  startSec: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Async video/audio: how many seconds to process from `startSec`. */
  lengthSec: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Async video/audio: fixed clip length, 2–10 seconds (default: scene detection for video). */
  useFixedLengthSec: Schema.optional(Schema.Number.check(Schema.isBetween({ minimum: 2, maximum: 10 }))),
  /** Async video: shortest clip, 1–5 seconds (default 4). */
  minClipSec: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }))),
  /** Async video: which embeddings to produce (default all three). */
  embeddingOption: Schema.optional(Schema.NonEmptyArray(EmbeddingOption))
})

type P = typeof Params.Type

const body = (input: Media.EmbeddingInput, params: P, async: boolean) => {
  if (input.kind === "text") {
    return {
      inputType: "text" as const,
      inputText: input.text,
      ...(params.textTruncate === undefined ? {} : { textTruncate: params.textTruncate })
    }
  }
  const mediaSource = mediaSourceOf(input, params.bucketOwner)
  if (input.kind === "image" || !async) return { inputType: "image" as const, mediaSource }
  return {
    inputType: input.kind === "audio" ? ("audio" as const) : ("video" as const),
    mediaSource,
    ...(params.startSec === undefined ? {} : { startSec: params.startSec }),
    ...(params.lengthSec === undefined ? {} : { lengthSec: params.lengthSec }),
    ...(params.useFixedLengthSec === undefined ? {} : { useFixedLengthSec: params.useFixedLengthSec }),
    ...(input.kind === "video" && params.minClipSec !== undefined ? { minClipSec: params.minClipSec } : {}),
    ...(input.kind === "video" && params.embeddingOption !== undefined
      ? { embeddingOption: params.embeddingOption }
      : {})
  }
}

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "twelvelabs.marengo-embed-2-7-v1:0",
  family: "twelvelabs",
  matches: (id) => id === "twelvelabs.marengo-embed-2-7-v1:0" || id === "twelvelabs.marengo-embed-2-7-v1",
  ids: ["twelvelabs.marengo-embed-2-7-v1:0"],
  capabilities: {
    sync: ["text", "image"],
    async: ["text", "image", "video", "audio"],
    maxInputsPerCall: 1,
    defaultDimension: 1024,
    media,
    // InvokeModel through the us./eu./apac. inference profiles only; async invoke by the base id only.
    syncViaProfile: true,
    asyncViaBase: true
  },
  supportedParams: [],
  params: Params,
  paramAliases: { inputType: "input_type" },
  paramScopes: {
    bucketOwner: { s3: true },
    textTruncate: { kinds: ["text"] },
    startSec: timed,
    lengthSec: timed,
    useFixedLengthSec: timed,
    minClipSec: { kinds: ["video"], modes: ["async"] },
    embeddingOption: { kinds: ["video"], modes: ["async"] }
  },
  unsupportedParams: Object.fromEntries(
    ["endSec", "segmentation", "embeddingType", "embeddingScope", "inferenceId"].map((name) => [
      name,
      `Marengo 2.7 does not accept the Marengo 3.0 parameter ${name}; set drop_params to drop it (use twelvelabs.marengo-embed-3-0-v1:0 for it).`
    ])
  ),
  deprecation:
    "twelvelabs.marengo-embed-2-7-v1:0 reached its end of life on 2026-11-30: Bedrock may refuse it or bill it at extended-access prices. Move to twelvelabs.marengo-embed-3-0-v1:0 (512 dimensions; its vectors are not compatible with 2.7's, so re-embed the corpus).",
  request: Request,
  response: Response,
  encode: ([input], { params }) => body(input ?? { kind: "text", text: "" }, params, false) as typeof Request.Type,
  decode: decodeSync,
  price,
  async: {
    request: AsyncRequest,
    encode: (input, { params }) => body(input, params, true),
    decode: decodeOutput
  }
})
