/**
 * The gateway writes each vector as the float32 values the model returned, by one rule whatever
 * notation Bedrock used: the shortest text that reads back, as a double, as that float32 (what
 * `JSON.stringify` writes for it); base64 holds the same float32 values. The upstream is a plain
 * `node:http` server written for this test (not the emulator), answering with numbers in many
 * JSON notations.
 */
import { once } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { type Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

const notations = ["-0.012345678", "1.5e-3", "-2E-05", "0", "0.5", "1234e-7", "0.001234568e+1", "-0.10000000149011612"]
const text = (i: number) => notations[i % notations.length]!
const body = (dimensions: number, shift: number) =>
  `{"embedding":[${Array.from({ length: dimensions }, (_, i) => text(i + shift)).join(",")}],"inputTextTokenCount":3}`

let upstream: Http.Server
let url: string
const sent: Array<string> = []

beforeAll(async () => {
  upstream = Http.createServer((req, res) => {
    let request = ""
    req.on("data", (chunk) => {
      request += chunk
    })
    req.on("end", () => {
      const { dimensions } = JSON.parse(request) as { dimensions: number }
      const answer = body(dimensions, sent.length)
      sent.push(answer)
      res.writeHead(200, { "content-type": "application/json", "x-amzn-bedrock-input-token-count": "3" })
      res.end(answer)
    })
  })
  upstream.listen(0, "127.0.0.1")
  await once(upstream, "listening")
  url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
afterAll(() => {
  upstream.close()
})

const config = (): Config.Config => ({
  model_list: [
    {
      model_name: "titan",
      litellm_params: {
        model: "bedrock/amazon.titan-embed-text-v2:0",
        aws_region_name: "us-east-1",
        aws_bedrock_runtime_endpoint: url,
        aws_access_key_id: "AKIDEXAMPLE",
        aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
      }
    }
  ]
})

const post = async (gateway: Server.Gateway, request: Record<string, unknown>) => {
  const response = await fetch(`${gateway.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "titan", ...request })
  })
  assert.strictEqual(response.status, 200)
  assert.strictEqual(response.headers.get("content-type"), "application/json")
  return (await response.json()) as {
    data: Array<{ index: number; embedding: Array<number> | string }>
    usage: { prompt_tokens: number }
    model: string
  }
}

describe("vectors through the gateway", () => {
  it("float: the float32s of Bedrock's numbers, in input order; base64: the same float32s", async () => {
    const gateway = await Server.start({ config: config(), port: 0, log: () => {} })
    try {
      sent.length = 0
      const floats = await post(gateway, { input: ["a", "b", "c"], dimensions: 256 })
      assert.strictEqual(floats.model, "titan")
      assert.strictEqual(floats.usage.prompt_tokens, 9)
      const upstreamVectors = sent.map((answer) =>
        (JSON.parse(answer) as { embedding: Array<number> }).embedding.map(Math.fround)
      )
      // Calls run concurrently: each vector is one of the bodies sent, each body used once.
      const matched = floats.data.map((d) =>
        upstreamVectors.findIndex((v) => JSON.stringify(v) === JSON.stringify(d.embedding))
      )
      assert.deepStrictEqual([...matched].sort(), [0, 1, 2])
      assert.deepStrictEqual(
        floats.data.map((d) => d.index),
        [0, 1, 2]
      )
      sent.length = 0
      const encoded = await post(gateway, { input: "a", dimensions: 512, encoding_format: "base64" })
      const bytes = Buffer.from(encoded.data[0]!.embedding as string, "base64")
      const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      const want = Float32Array.from((JSON.parse(sent[0]!) as { embedding: Array<number> }).embedding)
      assert.deepStrictEqual(Array.from(vector), Array.from(want))
    } finally {
      await gateway.close()
    }
  })
})
