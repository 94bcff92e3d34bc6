/** Cohere through embedding(), the official SDK and the ctx.emulator. */
import { assert, describe, it } from "@effect/vitest"
import { InvalidRequestError } from "bedrock-embed"
import { tinyPng, useClient } from "./emulator.ts"

const ctx = useClient()

const vec = (d: { embedding: unknown }) => d.embedding as ReadonlyArray<number>

describe("Cohere v3", () => {
  it("splits 250 texts into exactly 3 calls (96+96+58) and keeps input order", async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => `document ${i} about topic ${i % 7}`)
    const r = await ctx.client.embedding({ model: "bedrock/cohere.embed-english-v3", input: inputs, ...ctx.params })
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => (i.body as { texts: Array<string> }).texts.length),
      [96, 96, 58]
    )
    assert.deepStrictEqual(
      ctx.emulator.invocations.flatMap((i) => (i.body as { texts: Array<string> }).texts),
      inputs
    )
    assert.strictEqual(r.data.length, 250)
    assert.isTrue(r.data.every((d, i) => d.index === i && vec(d).length === 1024))
    for (const i of [0, 95, 96, 191, 192, 249]) {
      const single = await ctx.client.embedding({
        model: "bedrock/cohere.embed-english-v3",
        input: inputs[i]!,
        ...ctx.params
      })
      assert.deepStrictEqual(vec(single.data[0]!), vec(r.data[i]!), `input ${i}`)
    }
    assert.isAbove(r.usage.prompt_tokens, 0)
    assert.closeTo(r._hidden_params.response_cost, r.usage.prompt_tokens * 0.0000001, 1e-12)
    assert.strictEqual(r._hidden_params.calls, 3)
  })

  it("defaults input_type to search_document and passes search_query through", async () => {
    await ctx.client.embedding({ model: "bedrock/cohere.embed-multilingual-v3", input: "doc", ...ctx.params })
    await ctx.client.embedding({
      model: "bedrock/cohere.embed-multilingual-v3",
      input: "query",
      input_type: "search_query",
      ...ctx.params
    })
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => i.body),
      [
        { input_type: "search_document", texts: ["doc"] },
        { input_type: "search_query", texts: ["query"] }
      ]
    )
  })

  it("embeds a PNG data URL as an image call", async () => {
    const r = await ctx.client.embedding({
      model: "bedrock/cohere.embed-english-v3",
      input: `data:image/png;base64,${tinyPng()}`,
      ...ctx.params
    })
    assert.strictEqual(vec(r.data[0]!).length, 1024)
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, {
      input_type: "image",
      images: [`data:image/png;base64,${tinyPng()}`]
    })
    assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 1)
  })
})

describe("Cohere v4", () => {
  it("honours dimensions through a global inference profile", async () => {
    const r = await ctx.client.embedding({
      model: "bedrock/global.cohere.embed-v4:0",
      input: ["a", "b"],
      dimensions: 512,
      ...ctx.params
    })
    assert.isTrue(r.data.every((d) => vec(d).length === 512))
    assert.strictEqual(ctx.emulator.invocations[0]!.modelId, "global.cohere.embed-v4:0")
    assert.deepStrictEqual(ctx.emulator.invocations[0]!.body, {
      input_type: "search_document",
      texts: ["a", "b"],
      output_dimension: 512
    })
  })

  it("exposes every requested embedding type; embedding holds the first", async () => {
    const r = await ctx.client.embedding({
      model: "bedrock/us.cohere.embed-v4:0",
      input: ["x", "y"],
      dimensions: 256,
      embedding_types: ["int8", "float", "ubinary"],
      ...ctx.params
    })
    for (const d of r.data) {
      const byType = d.embeddings_by_type!
      assert.sameMembers(Object.keys(byType), ["int8", "float", "ubinary"])
      assert.deepStrictEqual(d.embedding, byType.int8)
      assert.isTrue(byType.int8!.every((x) => Number.isInteger(x) && x >= -128 && x <= 127))
      assert.strictEqual(byType.float!.length, 256)
      assert.strictEqual(byType.ubinary!.length, 32)
    }
  })

  it("embeds a PNG data URL and a text+image pair", async () => {
    const png = `data:image/png;base64,${tinyPng()}`
    const r = await ctx.client.embedding({
      model: "bedrock/cohere.embed-v4:0",
      input: [png, { text: "red", image: png }],
      ...ctx.params
    })
    assert.strictEqual(r.data.length, 2)
    assert.isTrue(r.data.every((d) => vec(d).length === 1536))
    assert.deepStrictEqual(
      ctx.emulator.invocations.map((i) => Object.keys(i.body as object).sort()),
      [
        ["images", "input_type"],
        ["input_type", "inputs"]
      ]
    )
    assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 2)
  })

  it("rejects a BMP before any call, naming the supported formats", async () => {
    const error = await ctx.client
      .embedding({
        model: "bedrock/cohere.embed-v4:0",
        input: "data:image/bmp;base64,Qk0eAAAAAAAAABoAAAAMAAAAAQABAAEAGAAAAP8A",
        ...ctx.params
      })
      .catch((e: unknown) => e)
    assert.instanceOf(error, InvalidRequestError)
    assert.include((error as Error).message, "png, jpeg, webp, gif")
    assert.strictEqual(ctx.emulator.invocations.length, 0)
  })
})
