/**
 * The emulator answers as the real recordings show (recorded-bedrock/README.md: "Headers seen",
 * "Where recordings contradict or go beyond AWS documentation").
 */
import { InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime"
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const { invoke, raw, rejects, url, client } = useEmulator()
const png = `data:image/png;base64,${Fixtures.png(4, 4)}`
const nova = (purpose: string, value: string) => ({
  taskType: "SINGLE_EMBEDDING",
  singleEmbeddingParams: { embeddingPurpose: purpose, text: { value, truncationMode: "NONE" } }
})

describe("Titan", () => {
  it("v2 always sends embeddingsByType, in the recorded key order; v1 never does", async () => {
    const { text } = await raw("amazon.titan-embed-text-v2:0", { inputText: "Hello, world!", normalize: true })
    const body = JSON.parse(text)
    assert.deepStrictEqual(Object.keys(body), ["embedding", "embeddingsByType", "inputTextTokenCount"])
    assert.deepStrictEqual(Object.keys(body.embeddingsByType), ["float"])
    assert.deepStrictEqual(body.embeddingsByType.float, body.embedding)
    const binary = await invoke("amazon.titan-embed-text-v2:0", { inputText: "x", embeddingTypes: ["binary"] })
    assert.deepStrictEqual(Object.keys(binary), ["embeddingsByType", "inputTextTokenCount"])
    assert.deepStrictEqual(Object.keys(binary.embeddingsByType), ["binary"])
    const v1 = await invoke("amazon.titan-embed-text-v1", { inputText: "Hello World!" })
    assert.deepStrictEqual(Object.keys(v1), ["embedding", "inputTextTokenCount"])
  })
})

describe("Cohere", () => {
  it("v4 without embedding_types answers embeddings_by_type with a float list, 2026 key order", async () => {
    const { out, text } = await raw("cohere.embed-v4:0", {
      texts: ["Hello, world!"],
      input_type: "search_query",
      truncate: "NONE"
    })
    const body = JSON.parse(text)
    assert.deepStrictEqual(Object.keys(body), ["id", "texts", "embeddings", "response_type"])
    assert.strictEqual(body.response_type, "embeddings_by_type")
    assert.deepStrictEqual(Object.keys(body.embeddings), ["float"])
    assert.lengthOf(body.embeddings.float, 1)
    assert.lengthOf(body.embeddings.float[0], 1536)
    assert.strictEqual(body.id, out.$metadata.requestId)
  })

  it("v3 answers embeddings_floats as a list, echoes texts lower-cased, and its id is the request id", async () => {
    const { out, text } = await raw("cohere.embed-english-v3", {
      texts: ["Hello World!", "Goodbye cruel world!"],
      input_type: "search_document"
    })
    const body = JSON.parse(text)
    assert.deepStrictEqual(Object.keys(body), ["id", "texts", "embeddings", "response_type"])
    assert.deepStrictEqual(body.texts, ["hello world!", "goodbye cruel world!"])
    assert.strictEqual(body.response_type, "embeddings_floats")
    assert.isArray(body.embeddings)
    assert.strictEqual(body.id, out.$metadata.requestId)
    const v4 = await invoke("cohere.embed-v4:0", { texts: ["Hello World!"], input_type: "search_query" })
    assert.deepStrictEqual(v4.texts, ["Hello World!"])
  })

  it("v4 accepts truncate START and END as well as NONE, LEFT and RIGHT; v3 keeps its own values", async () => {
    for (const truncate of ["NONE", "LEFT", "RIGHT", "START", "END"]) {
      const body = await invoke("cohere.embed-v4:0", {
        texts: ["Test truncation"],
        input_type: "search_query",
        truncate
      })
      assert.lengthOf(body.embeddings.float, 1)
    }
    await rejects(
      "cohere.embed-english-v3",
      { texts: ["x"], input_type: "search_query", truncate: "RIGHT" },
      "RIGHT is not a valid enum value"
    )
  })

  it("v4 image parts take image_url as a data URI string or as { url }", async () => {
    for (const image_url of [png, { url: png }]) {
      const body = await invoke("cohere.embed-v4:0", {
        input_type: "search_document",
        inputs: [
          {
            content: [
              { type: "text", text: "grey" },
              { type: "image_url", image_url }
            ]
          }
        ]
      })
      assert.lengthOf(body.embeddings.float[0], 1536)
      assert.deepStrictEqual(body.inputs[0].content[1].image_url, image_url)
    }
    await rejects(
      "cohere.embed-v4:0",
      { input_type: "search_document", inputs: [{ content: [{ type: "image_url", image_url: 3 }] }] },
      "#/inputs/0/content/0/image_url: expected type: JSONObject, found: Integer"
    )
  })
})

describe("Nova", () => {
  it("answers {embedding, embeddingType} in the recorded order, and counts the purpose's tokens", async () => {
    const cases = [
      ["GENERIC_RETRIEVAL", "Hello, world!", 19],
      ["GENERIC_INDEX", "hello", 3],
      ["TEXT_RETRIEVAL", "Test Nova settings", 22]
    ] as const
    for (const [purpose, value, tokens] of cases) {
      const response = await fetch(`${url()}/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke`, {
        method: "POST",
        headers: { authorization: "Bearer t", "content-type": "application/json" },
        body: JSON.stringify(nova(purpose, value))
      })
      assert.strictEqual(response.headers.get("x-amzn-bedrock-input-token-count"), String(tokens), purpose)
      const body = (await response.json()) as { embeddings: Array<Record<string, unknown>> }
      assert.deepStrictEqual(Object.keys(body), ["embeddings"])
      assert.deepStrictEqual(Object.keys(body.embeddings[0]!), ["embedding", "embeddingType"])
      assert.lengthOf(body.embeddings[0]!.embedding as Array<number>, 3072)
    }
  })
})

describe("headers", () => {
  const expectHeaders = (headers: Record<string, string | undefined>, body: Uint8Array | string) => {
    assert.strictEqual(headers["content-type"], "application/json")
    assert.strictEqual(Number(headers["content-length"]), Buffer.byteLength(body))
    assert.isFalse(Number.isNaN(Date.parse(headers.date ?? "")), "date")
    assert.match(headers["x-amzn-requestid"] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    assert.match(headers["x-amzn-bedrock-input-token-count"] ?? "", /^\d+$/)
    assert.match(headers["x-amzn-bedrock-invocation-latency"] ?? "", /^\d+$/)
    assert.isUndefined(headers["x-amzn-bedrock-output-token-count"])
  }

  it("sends the recorded success headers over HTTP/2 (the SDK's default handler)", async () => {
    let seen: Record<string, string> = {}
    const command = new InvokeModelCommand({
      modelId: "cohere.embed-english-v3",
      contentType: "application/json",
      body: JSON.stringify({ texts: ["headers"], input_type: "search_query" })
    })
    command.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args)
        seen = (result.response as { headers: Record<string, string> }).headers
        return result
      },
      { step: "deserialize", name: "captureHeaders" }
    )
    const out = await client().send(command)
    expectHeaders(seen, out.body)
  })

  it("and over HTTP/1.1", async () => {
    const response = await fetch(`${url()}/model/amazon.titan-embed-text-v1/invoke`, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ inputText: "Hello, world!" })
    })
    const text = await response.text()
    expectHeaders(Object.fromEntries(response.headers), text)
    assert.strictEqual(
      response.headers.get("x-amzn-bedrock-input-token-count"),
      String(JSON.parse(text).inputTextTokenCount)
    )
  })
})
