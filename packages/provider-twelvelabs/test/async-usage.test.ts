/**
 * The usage a Marengo async job's `output.json` shows, from the shapes AWS documents
 * (`aws-documented-vectors.json`, cases 22 and 27) replayed through the decoders.
 */
import { readFileSync } from "node:fs"
import { type ModelSpec, Pricing } from "@bedrock-embed/core"
import { Marengo27, Marengo30 } from "@bedrock-embed/provider-twelvelabs"
import { assert, describe, it } from "@effect/vitest"

interface DocumentedCase {
  readonly operation: string
  readonly response_body: unknown
}

const documented = JSON.parse(
  readFileSync(
    new URL("../../bedrock-embed/test/fixtures/ground-truth/aws-documented-vectors.json", import.meta.url),
    "utf8"
  )
) as ReadonlyArray<DocumentedCase>
const doc = (i: number) => documented[i]!

const usageOf = (spec: ModelSpec.Any, body: unknown) => {
  const decoded = spec.async!.decode([
    { name: "output.json", uri: "s3://out/abcdefghijkl/output.json", text: JSON.stringify(body) }
  ])
  if ("failure" in decoded) return assert.fail(decoded.failure)
  return decoded.usage
}

const costOf = (spec: ModelSpec.Any, usage: ModelSpec.AsyncUsage | undefined) =>
  Pricing.make().cost(spec, { inputTokens: 0, images: 0, videoSeconds: 0, audioSeconds: 0, ...usage })

describe("Marengo async usage, from AWS's documented outputs", () => {
  it("case 22 (2.7): visual-text 0–5 and 5–10 with audio 0–10 are 10 s of video, not 20", () => {
    assert.match(doc(22).operation, /output\.json/)
    const usage = usageOf(Marengo27.spec, doc(22).response_body)
    assert.deepStrictEqual(usage, { videoSeconds: 10 })
    assert.closeTo(costOf(Marengo27.spec, usage), 10 * Marengo27.spec.price.perVideoSecond!, 1e-12)
  })

  it("case 27 (3.0): a visual clip 10–15 and the fused asset 10–20 are 10 s of video, not 15", () => {
    assert.match(doc(27).operation, /output\.json/)
    const usage = usageOf(Marengo30.spec, doc(27).response_body)
    assert.deepStrictEqual(usage, { videoSeconds: 10 })
    assert.closeTo(costOf(Marengo30.spec, usage), 10 * Marengo30.spec.price.perVideoSecond!, 1e-12)
  })

  it("outputs that do not name the input kind are lower bounds: sound alone, a still", () => {
    // Case 22's audio element alone: an audio input, or a video embedded for its sound only.
    const audioOnly = {
      data: (doc(22).response_body as { data: ReadonlyArray<{ embeddingOption: string }> }).data.filter(
        (element) => element.embeddingOption === "audio"
      )
    }
    assert.deepStrictEqual(usageOf(Marengo27.spec, audioOnly), { audioSeconds: 10, known: false })
    // A text or image job's one embedding, without options or times.
    assert.deepStrictEqual(usageOf(Marengo30.spec, { data: [{ embedding: [0.1, 0.2] }] }), {
      queries: 1,
      known: false
    })
  })
})
