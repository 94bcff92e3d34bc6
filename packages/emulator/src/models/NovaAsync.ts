/**
 * Nova's `SEGMENTED_EMBEDDING` jobs (bedrock-wire.md §5.2): read the media from S3, segment it,
 * and lay out `segmented-embedding-result.json` and one `embedding-<modality>` file per modality.
 *
 * Segments fail as Bedrock documents them when they hold {@link DEFLECT_MARKER}: a text segment
 * (or an image) with the marker gets a `FAILURE` line with a Responsible-AI `failureReason` and
 * no `embedding`. A modality whose segments all fail is `FAILURE` in the result file, one with
 * some failures `PARTIAL_SUCCESS`; the job itself still completes, as Bedrock's does.
 */
import { stringify } from "../Json.ts"
import { durationOf, formatOf } from "../MediaInfo.ts"
import type { AsyncIO, AsyncOutcome } from "../ModelHandler.ts"
import { embedBytes, embedText, floats } from "../Vectors.ts"
import { check, DEFLECT_MARKER, type Params, type Source } from "./NovaSchema.ts"

interface Segment {
  readonly line: Record<string, unknown>
  readonly failed: boolean
}

const deflection = (kind: "TEXT" | "IMAGE") => ({
  status: "FAILURE",
  failureReason: `RAI_VIOLATION_INPUT_${kind}_DEFLECTION`,
  message:
    kind === "TEXT"
      ? "The text segment was blocked by Responsible AI filters."
      : "The image was blocked by Responsible AI filters."
})

const contains = (bytes: Uint8Array, marker: string) => Buffer.from(bytes).includes(marker)

/** `SEGMENTED_EMBEDDING`: reads S3 media, segments it, and lays out the output files. */
export const run = async (raw: unknown, io: AsyncIO): Promise<AsyncOutcome> => {
  const p = check(raw, "SEGMENTED_EMBEDDING") as Params
  const dimension = p.embeddingDimension ?? 3072
  const files: Record<string, string> = {}
  const results: Array<Record<string, unknown>> = []
  let source = ""
  // Inline bytes, or the S3 object (whose URI the result file names as its source).
  const load = (from: Source): Promise<Uint8Array | undefined> => {
    if (from.bytes !== undefined) return Promise.resolve(Buffer.from(from.bytes, "base64"))
    source = from.s3Location!.uri
    return io.read(source)
  }
  const write = (embeddingType: string, name: string, segments: ReadonlyArray<Segment>, lines = true) => {
    files[name] = lines ? `${segments.map((s) => stringify(s.line)).join("\n")}\n` : stringify(segments[0]!.line)
    const failed = segments.filter((s) => s.failed)
    const status = failed.length === 0 ? "SUCCESS" : failed.length === segments.length ? "FAILURE" : "PARTIAL_SUCCESS"
    const first = failed[0]?.line
    results.push({
      embeddingType,
      status,
      ...(status === "FAILURE" ? { failureReason: first!.failureReason, message: first!.message } : {}),
      outputFileUri: `${io.outputUri}/${name}`
    })
  }
  if (p.text !== undefined) {
    let text = p.text.value
    if (text === undefined) {
      source = p.text.source!.s3Location.uri
      const bytes = await io.read(source)
      if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
      text = Buffer.from(bytes).toString("utf8")
    }
    const size = p.text.segmentationConfig?.maxLengthChars ?? 32_000
    const segments: Array<Segment> = []
    for (let start = 0, index = 0; start < text.length; start += size, index++) {
      const end = Math.min(text.length, start + size)
      const piece = text.slice(start, end)
      const segmentMetadata = { segmentIndex: index, segmentStartCharPosition: start, segmentEndCharPosition: end }
      segments.push(
        piece.includes(DEFLECT_MARKER)
          ? { line: { segmentMetadata, ...deflection("TEXT") }, failed: true }
          : {
              line: { embedding: floats(embedText(piece, dimension), "float"), segmentMetadata, status: "SUCCESS" },
              failed: false
            }
      )
    }
    write("TEXT", "embedding-text.jsonl", segments)
  } else if (p.image !== undefined) {
    const bytes = await load(p.image.source)
    if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
    if (formatOf(bytes) !== p.image.format) return { failure: `Invalid image: the input is not ${p.image.format}.` }
    const segment: Segment = contains(bytes, DEFLECT_MARKER)
      ? { line: deflection("IMAGE"), failed: true }
      : { line: { embedding: floats(embedBytes(bytes, dimension), "float"), status: "SUCCESS" }, failed: false }
    write("IMAGE", "embedding-image.json", [segment], false)
  } else {
    const media = (p.video ?? p.audio)!
    const kind = p.video !== undefined ? "video" : "audio"
    const bytes = await load(media.source)
    if (bytes === undefined) return { failure: `Unable to access the input at ${source}.` }
    const duration = durationOf(bytes)
    if (formatOf(bytes) !== media.format || duration === undefined) {
      return { failure: `Invalid ${kind}: could not read the ${kind} as ${media.format}.` }
    }
    const step = media.segmentationConfig?.durationSeconds ?? 5
    const segments = (salt: string) => {
      const out: Array<Segment> = []
      for (let start = 0, index = 0; start < duration; start += step, index++) {
        const end = Math.min(duration, start + step)
        const slice = Buffer.concat([Buffer.from(`${salt}:${start}`), Buffer.from(bytes.subarray(0, 4096))])
        out.push({
          line: {
            embedding: floats(embedBytes(slice, dimension), "float"),
            segmentMetadata: { segmentIndex: index, segmentStartSeconds: start, segmentEndSeconds: end },
            status: "SUCCESS"
          },
          failed: false
        })
      }
      return out
    }
    if (kind === "audio") write("AUDIO", "embedding-audio.jsonl", segments("audio"))
    else if (p.video!.embeddingMode === "AUDIO_VIDEO_SEPARATE") {
      write("VIDEO", "embedding-video.jsonl", segments("video"))
      write("AUDIO", "embedding-audio.jsonl", segments("audio"))
    } else write("AUDIO_VIDEO_COMBINED", "embedding-audio-video.jsonl", segments("audio-video"))
  }
  files["segmented-embedding-result.json"] = JSON.stringify({
    sourceFileUri: source,
    embeddingDimension: dimension,
    embeddingResults: results
  })
  files["manifest.json"] = JSON.stringify({ schemaVersion: "nova-multimodal-embed-v1", files: Object.keys(files) })
  return { files }
}
