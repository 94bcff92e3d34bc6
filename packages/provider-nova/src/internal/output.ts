/**
 * A Nova async job's output folder (bedrock-wire.md §5.2): `segmented-embedding-result.json`
 * names one result per modality and the JSONL file of its segments. Every segment comes back,
 * failed ones too (an RAI deflection, invalid content) with their status and reason, and the
 * usage the output shows: a clip's seconds, an image; never text tokens, which it does not count.
 *
 * @internal
 */
import { ModelSpec } from "@bedrock-embed/core"

const modalities: Record<string, string> = {
  TEXT: "text",
  IMAGE: "image",
  VIDEO: "video",
  AUDIO: "audio",
  AUDIO_VIDEO_COMBINED: "audio_video"
}

/** Nova's `embeddingType` as bedrock-embed names modalities (`AUDIO_VIDEO_COMBINED` → `audio_video`). */
export const modalityOf = (embeddingType: string | undefined): string =>
  modalities[embeddingType ?? ""] ?? (embeddingType ?? "unknown").toLowerCase()

interface Line {
  readonly embedding?: ReadonlyArray<number>
  readonly status?: string
  readonly failureReason?: string
  readonly message?: string
  readonly segmentMetadata?: {
    readonly segmentIndex?: number
    readonly segmentStartCharPosition?: number
    readonly segmentEndCharPosition?: number
    readonly segmentStartSeconds?: number
    readonly segmentEndSeconds?: number
  }
}

interface Result {
  readonly embeddingType?: string
  readonly status?: string
  readonly failureReason?: string
  readonly message?: string
  readonly outputFileUri?: string
}

const isFailure = (status: string | undefined) => status === "FAILURE" || status === "FAILED"

const parseLines = (text: string): Array<Line> => {
  const trimmed = text.trim()
  if (trimmed.startsWith("[")) return JSON.parse(trimmed) as Array<Line>
  return trimmed
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as Line)
}

const segmentOf = (line: Line, modality: string): ModelSpec.AsyncSegment => {
  const meta = line.segmentMetadata
  const failed = isFailure(line.status) || line.embedding === undefined
  return {
    embedding: failed ? [] : line.embedding!,
    status: failed ? "FAILURE" : "SUCCESS",
    ...(failed ? { failureReason: line.failureReason ?? "NO_EMBEDDING" } : {}),
    ...(failed && line.message !== undefined ? { message: line.message } : {}),
    modality,
    segmentIndex: meta?.segmentIndex,
    startSec: meta?.segmentStartSeconds,
    endSec: meta?.segmentEndSeconds,
    startChar: meta?.segmentStartCharPosition,
    endChar: meta?.segmentEndCharPosition
  }
}

/**
 * What a job used, from the kinds of its results: a clip's seconds — the media its segments cover,
 * once, though `AUDIO_VIDEO_SEPARATE` embeds picture and sound apart over the same times, and
 * billed as video as the sync route bills the clip — or one image. A text job's tokens are in no
 * output file, so its usage is unknown (0, a lower bound).
 */
const usageOf = (types: ReadonlySet<string>, segments: ReadonlyArray<ModelSpec.AsyncSegment>): ModelSpec.AsyncUsage => {
  const video = types.has("VIDEO") || types.has("AUDIO_VIDEO_COMBINED")
  const clip = video || types.has("AUDIO")
  const seconds = clip ? ModelSpec.coveredSeconds(segments) : 0
  return {
    ...(types.has("IMAGE") ? { images: 1 } : {}),
    ...(clip ? (video ? { videoSeconds: seconds } : { audioSeconds: seconds }) : {}),
    // Text tokens are in no output file; a clip whose results name no times (failed whole) has no length.
    known: !types.has("TEXT") && (!clip || seconds > 0)
  }
}

/** Reads the files of one job. */
export const decodeOutput = (
  files: ReadonlyArray<ModelSpec.AsyncOutputFile>
):
  | {
      readonly segments: ReadonlyArray<ModelSpec.AsyncSegment>
      readonly dimension?: number | undefined
      readonly usage: ModelSpec.AsyncUsage
    }
  | { readonly failure: string } => {
  const index = files.find((file) => file.name.endsWith("segmented-embedding-result.json"))
  if (index === undefined) return { failure: "segmented-embedding-result.json is missing" }
  let summary: { embeddingResults?: ReadonlyArray<Result>; embeddingDimension?: unknown }
  try {
    summary = JSON.parse(index.text) as typeof summary
  } catch {
    return { failure: "segmented-embedding-result.json is not JSON" }
  }
  const segments: Array<ModelSpec.AsyncSegment> = []
  const types = new Set<string>()
  for (const result of summary.embeddingResults ?? []) {
    types.add(result.embeddingType ?? "")
    const modality = modalityOf(result.embeddingType)
    const name = result.outputFileUri?.split("/").pop() ?? ""
    const file =
      name.length === 0
        ? undefined
        : files.find(
            (candidate) =>
              candidate.uri === result.outputFileUri || candidate.name.endsWith(`/${name}`) || candidate.name === name
          )
    if (file === undefined) {
      // A modality that failed as a whole names no file: it is one failed entry, not a lost one.
      if (isFailure(result.status)) {
        segments.push({
          embedding: [],
          status: "FAILURE",
          failureReason: result.failureReason ?? "FAILURE",
          ...(result.message === undefined ? {} : { message: result.message }),
          modality
        })
        continue
      }
      return { failure: `${name || "an embedding file"} named by the result is missing` }
    }
    let lines: Array<Line>
    try {
      lines = parseLines(file.text)
    } catch {
      return { failure: `${name} is not JSON lines` }
    }
    for (const line of lines) segments.push(segmentOf(line, modality))
  }
  const dimension = typeof summary.embeddingDimension === "number" ? summary.embeddingDimension : undefined
  return { segments, ...(dimension === undefined ? {} : { dimension }), usage: usageOf(types, segments) }
}
