/**
 * The usage a Nova async job's output shows, from the output shapes AWS documents
 * (`aws-documented-vectors.json`, cases 16–18) replayed through the decoder.
 */
import { readFileSync } from "node:fs"
import { ModelSpec, Pricing } from "@bedrock-embed/core"
import { NovaEmbeddings } from "@bedrock-embed/provider-nova"
import { assert, describe, it } from "@effect/vitest"

interface DocumentedCase {
  readonly operation: string
  readonly request_body: unknown
  readonly response_body: unknown
}

const documented = JSON.parse(
  readFileSync(
    new URL("../../bedrock-embed/test/fixtures/ground-truth/aws-documented-vectors.json", import.meta.url),
    "utf8"
  )
) as ReadonlyArray<DocumentedCase>
const doc = (i: number) => documented[i]!

const jsonl = (lines: unknown) => (lines as ReadonlyArray<unknown>).map((line) => JSON.stringify(line)).join("\n")
const file = (out: string, name: string, text: string): ModelSpec.AsyncOutputFile => ({
  name,
  uri: `${out}/${name}`,
  text
})

const usageOf = (files: ReadonlyArray<ModelSpec.AsyncOutputFile>) => {
  const decoded = NovaEmbeddings.decodeAsyncOutput(files)
  if ("failure" in decoded) return assert.fail(decoded.failure)
  return decoded.usage
}

describe("Nova async usage, from AWS's documented outputs", () => {
  it("cases 16 and 17: the video job's two 15 s segments are 30 s of video, at $/s", () => {
    assert.match(doc(16).operation, /segmented-embedding-result\.json/)
    assert.match(doc(17).operation, /embedding-audio-video\.jsonl/)
    const out = "s3://my-embedding-destination-bucket/embeddings-output/lvmxrnjf5mo3"
    const usage = usageOf([
      file(out, "segmented-embedding-result.json", JSON.stringify(doc(16).response_body)),
      file(out, "embedding-audio-video.jsonl", jsonl(doc(17).response_body))
    ])
    assert.deepStrictEqual(usage, { videoSeconds: 30, known: true })
    const cost = Pricing.make().cost(NovaEmbeddings.spec, {
      inputTokens: 0,
      images: 0,
      videoSeconds: usage.videoSeconds ?? 0,
      audioSeconds: 0
    })
    assert.closeTo(cost, 30 * NovaEmbeddings.spec.price.perVideoSecond!, 1e-12)
  })

  it("case 18: text segments carry no token count, so the usage is unknown", () => {
    assert.match(doc(18).operation, /embedding-text\.jsonl/)
    const out = "s3://results/abcdef123456"
    // The documentation shows no result file for a text job: this one follows case 16's schema.
    const summary = {
      embeddingDimension: 1024,
      embeddingResults: [
        { embeddingType: "TEXT", status: "PARTIAL_SUCCESS", outputFileUri: `${out}/embedding-text.jsonl` }
      ]
    }
    const usage = usageOf([
      file(out, "segmented-embedding-result.json", JSON.stringify(summary)),
      file(out, "embedding-text.jsonl", jsonl(doc(18).response_body))
    ])
    assert.deepStrictEqual(usage, { known: false })
  })

  it("AUDIO_VIDEO_SEPARATE over case 17's times, and audio alone: the clip's seconds once, by its kind", () => {
    const out = "s3://results/abcdef123456"
    const result = (embeddingType: string, name: string) => ({
      embeddingType,
      status: "SUCCESS",
      outputFileUri: `${out}/${name}`
    })
    const separate = usageOf([
      file(
        out,
        "segmented-embedding-result.json",
        JSON.stringify({
          embeddingResults: [result("VIDEO", "embedding-video.jsonl"), result("AUDIO", "embedding-audio.jsonl")]
        })
      ),
      file(out, "embedding-video.jsonl", jsonl(doc(17).response_body)),
      file(out, "embedding-audio.jsonl", jsonl(doc(17).response_body))
    ])
    assert.deepStrictEqual(separate, { videoSeconds: 30, known: true })
    const audio = usageOf([
      file(
        out,
        "segmented-embedding-result.json",
        JSON.stringify({ embeddingResults: [result("AUDIO", "embedding-audio.jsonl")] })
      ),
      file(out, "embedding-audio.jsonl", jsonl(doc(17).response_body))
    ])
    assert.deepStrictEqual(audio, { audioSeconds: 30, known: true })
  })

  it("coveredSeconds: latest end less earliest start, overlaps and repeats once", () => {
    const at = (startSec: number, endSec: number): ModelSpec.AsyncSegment => ({
      embedding: [],
      modality: "x",
      startSec,
      endSec
    })
    assert.strictEqual(ModelSpec.coveredSeconds([at(10, 15), at(10, 20), at(15, 20), at(10, 15)]), 10)
    assert.strictEqual(ModelSpec.coveredSeconds([{ embedding: [], modality: "text" }]), 0)
  })
})
