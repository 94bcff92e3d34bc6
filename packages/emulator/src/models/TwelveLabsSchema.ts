/** The request schemas of TwelveLabs Marengo Embed 2.7 and 3.0 (bedrock-wire.md §4.7–4.8). */
import { type BedrockFault, malformed } from "../Errors.ts"
import * as Validate from "../Validate.ts"

export type Source = { base64String?: string; s3Location?: { uri: string } }

const account: Validate.Check = (value, path) =>
  typeof value === "string" && /^\d{12}$/.test(value) ? undefined : `${path}: expected a 12-digit account id`
const number: Validate.Check = (value, path) =>
  typeof value === "number" && Number.isFinite(value) && value >= 0
    ? undefined
    : `${path}: expected a non-negative number`

const mediaSource =
  (needsOwner: boolean): Validate.Check =>
  (value, path) => {
    if (typeof value === "object" && value !== null && "base64String" in value) {
      return Validate.object({ base64String: { check: Validate.string(1), required: true } })(value, path)
    }
    return Validate.object({
      s3Location: {
        required: true,
        check: Validate.object({
          uri: { check: Validate.string(1), required: true },
          bucketOwner: { check: account, required: needsOwner }
        })
      }
    })(value, path)
  }

export const v27 = {
  text: Validate.object({
    inputType: { check: Validate.oneOf(["text"]), required: true },
    inputText: { check: Validate.string(1), required: true },
    textTruncate: { check: Validate.oneOf(["end", "none"]) }
  }),
  image: Validate.object({
    inputType: { check: Validate.oneOf(["image"]), required: true },
    mediaSource: { check: mediaSource(false), required: true }
  }),
  video: Validate.object({
    inputType: { check: Validate.oneOf(["video"]), required: true },
    mediaSource: { check: mediaSource(false), required: true },
    startSec: { check: number },
    lengthSec: { check: number },
    useFixedLengthSec: { check: number },
    minClipSec: { check: Validate.oneOf([1, 2, 3, 4, 5]) },
    embeddingOption: {
      check: Validate.arrayOf(Validate.oneOf(["visual-text", "visual-image", "audio"]), { minItems: 1, unique: true })
    }
  }),
  audio: Validate.object({
    inputType: { check: Validate.oneOf(["audio"]), required: true },
    mediaSource: { check: mediaSource(false), required: true },
    startSec: { check: number },
    lengthSec: { check: number },
    useFixedLengthSec: { check: number }
  })
} as Record<string, Validate.Check>

const timed30 = Validate.object({
  mediaSource: { check: mediaSource(true), required: true },
  startSec: { check: number },
  endSec: { check: number },
  segmentation: {
    check: (value, path) =>
      typeof value === "object" && value !== null ? undefined : `${path}: expected type: JSONObject`
  },
  embeddingOption: {
    check: Validate.arrayOf(Validate.oneOf(["visual", "audio", "transcription"]), { minItems: 1, unique: true })
  },
  embeddingType: {
    check: Validate.arrayOf(Validate.oneOf(["separate_embedding", "fused_embedding"]), { minItems: 1 })
  },
  embeddingScope: { check: Validate.arrayOf(Validate.oneOf(["clip", "asset"]), { minItems: 1 }) }
})
/** A named media source of `multi_input`: inline or S3, referenced from the text as `<@name>`. */
const namedSource: Validate.Check = (value, path) => {
  const fields = {
    name: { check: Validate.string(1), required: true },
    mediaType: { check: Validate.oneOf(["image"]), required: true }
  }
  if (typeof value === "object" && value !== null && "base64String" in value) {
    return Validate.object({ ...fields, base64String: { check: Validate.string(1), required: true } })(value, path)
  }
  return Validate.object({
    ...fields,
    s3Location: {
      required: true,
      check: Validate.object({
        uri: { check: Validate.string(1), required: true },
        bucketOwner: { check: account, required: true }
      })
    }
  })(value, path)
}

const multiInput = Validate.object({
  inputText: { check: Validate.string(1), required: true },
  mediaSources: { check: Validate.arrayOf(namedSource, { minItems: 1 }), required: true }
})

const v30 = (inputType: string): Validate.Check =>
  Validate.object({
    inferenceId: { check: Validate.string(1) },
    inputType: { check: Validate.oneOf([inputType]), required: true },
    [inputType]: {
      required: true,
      check:
        inputType === "text"
          ? Validate.object({ inputText: { check: Validate.string(1), required: true } })
          : inputType === "image"
            ? Validate.object({ mediaSource: { check: mediaSource(true), required: true } })
            : inputType === "text_image"
              ? Validate.object({
                  inputText: { check: Validate.string(1), required: true },
                  mediaSource: { check: mediaSource(true), required: true }
                })
              : inputType === "multi_input"
                ? multiInput
                : timed30
    }
  })

export type Version = "2.7" | "3.0"
export const dimensionOf = (version: Version) => (version === "2.7" ? 1024 : 512)
const types = (version: Version) =>
  version === "2.7"
    ? ["text", "image", "video", "audio"]
    : ["text", "image", "text_image", "multi_input", "video", "audio"]

/** Checks a body's schema: an unknown key (the async-only `startSec` in a text body) is extraneous. */
export const checkBody = (raw: unknown, version: Version): BedrockFault | undefined => {
  const inputType = (raw as { inputType?: unknown } | null)?.inputType
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return Validate.body(Validate.object({}), raw)
  if (inputType === undefined)
    return Validate.body(Validate.object({ inputType: { check: Validate.string(1), required: true } }), {})
  if (typeof inputType !== "string" || !types(version).includes(inputType)) {
    return Validate.body(Validate.object({ inputType: { check: Validate.oneOf(types(version)) } }), { inputType })
  }
  const fault = Validate.body(version === "2.7" ? v27[inputType]! : v30(inputType), raw)
  return fault ?? (inputType === "multi_input" ? checkReferences((raw as Body).multi_input!) : undefined)
}

/** Every `<@name>` in a multi_input text names one of its media sources, and names are unique. */
const checkReferences = (input: NonNullable<Body["multi_input"]>): BedrockFault | undefined => {
  const names = new Set<string>()
  for (const source of input.mediaSources) {
    if (names.has(source.name)) {
      return malformed(`#/multi_input/mediaSources: the name [${source.name}] is used by more than one media source`)
    }
    names.add(source.name)
  }
  for (const match of input.inputText.matchAll(/<@([^>]*)>/g)) {
    if (!names.has(match[1]!)) {
      return malformed(`#/multi_input/inputText: ${match[0]} does not name any of the mediaSources`)
    }
  }
  return undefined
}

export interface Body {
  inputType: string
  inputText?: string
  mediaSource?: Source
  text?: { inputText: string }
  image?: { mediaSource: Source }
  text_image?: { inputText: string; mediaSource: Source }
  multi_input?: { inputText: string; mediaSources: Array<Source & { name: string; mediaType: string }> }
  video?: Timed30
  audio?: Timed30
  startSec?: number
  lengthSec?: number
  useFixedLengthSec?: number
  embeddingOption?: Array<string>
}

/** The video or audio member of a 3.0 body. */
export interface Timed30 {
  mediaSource: Source
  startSec?: number
  endSec?: number
  segmentation?: { method: string; fixed?: { durationSec: number }; dynamic?: { minDurationSec: number } }
  embeddingOption?: Array<string>
  embeddingType?: Array<string>
  embeddingScope?: Array<string>
}
