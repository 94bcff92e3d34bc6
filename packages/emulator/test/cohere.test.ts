/** The emulator's Cohere models through the official SDK. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const { invoke: call, rejects, url } = useEmulator()
const invoke = async (modelId: string, body: unknown) => ({ body: await call(modelId, body) })
const png = `data:image/png;base64,${Fixtures.png(4, 4)}`

describe("Cohere v3", () => {
  it("answers texts as a list of 1024-dim floats, and by type when asked", async () => {
    const { body } = await invoke("cohere.embed-english-v3", { input_type: "search_document", texts: ["a", "b"] })
    assert.strictEqual(body.response_type, "embeddings_floats")
    assert.strictEqual(body.embeddings.length, 2)
    assert.strictEqual(body.embeddings[0].length, 1024)
    const typed = await invoke("cohere.embed-multilingual-v3", {
      input_type: "search_query",
      texts: ["a"],
      embedding_types: ["int8", "binary"]
    })
    assert.strictEqual(typed.body.response_type, "embeddings_by_type")
    assert.strictEqual(typed.body.embeddings.int8[0].length, 1024)
    assert.strictEqual(typed.body.embeddings.binary[0].length, 128)
  })

  it("embeds one image and counts tokens in the header", async () => {
    const { body } = await invoke("cohere.embed-english-v3", { input_type: "image", images: [png] })
    assert.strictEqual(body.embeddings[0].length, 1024)
    const response = await fetch(`${url()}/model/cohere.embed-english-v3/invoke`, {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: JSON.stringify({ input_type: "search_document", texts: ["hello world"] })
    })
    assert.strictEqual(response.headers.get("x-amzn-bedrock-input-token-count"), "4")
  })

  it("validates as Bedrock does", async () => {
    await rejects("cohere.embed-english-v3", { texts: ["a"] }, "#: required key [input_type] not found")
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "search_document", texts: Array(97).fill("a") },
      "expected maximum item count: 96, found: 97"
    )
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "image", images: [png, png] },
      "expected maximum item count: 1"
    )
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "search_document", texts: ["a"], images: [png] },
      "exactly one of texts or images"
    )
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "search_document", texts: ["a"], output_dimension: 256 },
      "extraneous key [output_dimension]"
    )
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "image", images: ["data:image/webp;base64,UklGRg=="] },
      "supported: image/png, image/jpeg"
    )
    await rejects(
      "cohere.embed-english-v3",
      { input_type: "search_document", texts: ["a"], truncate: "LEFT" },
      "LEFT is not a valid enum value"
    )
  })
})

describe("Cohere v4", () => {
  it("answers by type with output_dimension, for texts, images and mixed inputs", async () => {
    const { body } = await invoke("us.cohere.embed-v4:0", {
      input_type: "search_document",
      texts: ["a"],
      output_dimension: 256
    })
    assert.strictEqual(body.response_type, "embeddings_by_type")
    assert.strictEqual(body.embeddings.float[0].length, 256)
    const images = await invoke("global.cohere.embed-v4:0", { input_type: "search_document", images: [png] })
    assert.strictEqual(images.body.embeddings.float[0].length, 1536)
    const mixed = await invoke("cohere.embed-v4:0", {
      input_type: "search_query",
      inputs: [
        {
          content: [
            { type: "text", text: "grey" },
            { type: "image_url", image_url: { url: png } }
          ]
        }
      ]
    })
    assert.strictEqual(mixed.body.embeddings.float.length, 1)
  })

  it("validates as Bedrock does", async () => {
    await rejects(
      "cohere.embed-v4:0",
      { input_type: "search_document", texts: ["a"], output_dimension: 300 },
      "300 is not a valid enum value"
    )
    await rejects("cohere.embed-v4:0", { input_type: "image", images: [png] }, "image is not a valid enum value")
    await rejects(
      "cohere.embed-v4:0",
      { input_type: "search_document", texts: ["a"], inputs: [] },
      "exactly one of texts, images or inputs"
    )
    await rejects(
      "cohere.embed-v4:0",
      { input_type: "search_document", images: ["data:image/bmp;base64,Qk0="] },
      "supported: image/png"
    )
  })
})
