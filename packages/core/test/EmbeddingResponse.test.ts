import { EmbeddingResponse, Pricing } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"

describe("EmbeddingResponse.toBase64", () => {
  it("encodes little-endian float32 as OpenAI does, and round-trips", () => {
    // 1.0f = 0x3f800000 → bytes 00 00 80 3f
    assert.strictEqual(EmbeddingResponse.toBase64([1]), Buffer.from([0, 0, 0x80, 0x3f]).toString("base64"))
    const vector = [0.5, -0.25, 3.75]
    assert.deepStrictEqual([...EmbeddingResponse.fromBase64(EmbeddingResponse.toBase64(vector))], vector)
  })
})

describe("Pricing.costAt", () => {
  it("prices tokens, images and seconds", () => {
    const cost = Pricing.costAt(
      { perInputToken: 0.001, perImage: 0.1, perVideoSecond: 1, perAudioSecond: 10 },
      { inputTokens: 2, images: 3, videoSeconds: 4, audioSeconds: 5 }
    )
    assert.closeTo(cost, 0.002 + 0.3 + 4 + 50, 1e-12)
  })

  it("prices queries, for models that bill per query", () => {
    const cost = Pricing.costAt(
      { perQuery: 0.00007, perImage: 0.0001 },
      { inputTokens: 9, images: 2, videoSeconds: 0, audioSeconds: 0, queries: 3 }
    )
    assert.closeTo(cost, 3 * 0.00007 + 2 * 0.0001, 1e-15)
  })
})
