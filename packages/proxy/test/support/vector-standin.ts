/**
 * A Bedrock Runtime stand-in (`node:http`, written here, not the emulator) that answers Titan v2
 * and Cohere v3 bodies with vectors computed from each text (an image's from its bytes) and size,
 * and records every InvokeModel it receives: the cache tests read "no Bedrock call" and "one call
 * carrying the 3 others" from outside the process that made them.
 */
import { once } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** Input tokens the stand-in reports for every call. */
export const TOKENS_PER_CALL = 5

/** One InvokeModel the stand-in received. */
export interface Call {
  readonly model: string
  /** The texts it carried (an image as `image:<base64>`). */
  readonly texts: ReadonlyArray<string>
  readonly dimensions: number | undefined
  /** The body as sent. */
  readonly body: string
  /** When it arrived (ms). */
  readonly at: number
}

/** The stand-in's vector for a text: values that depend on every character and on the size. */
export const vectorFor = (text: string, size: number): Array<number> => {
  let seed = size
  for (const char of text) seed = (seed * 31 + char.charCodeAt(0)) % 1_000_003
  return Array.from({ length: size }, (_, i) => Math.sin(seed + i * 0.7) / 3)
}

/** What a client reads for it: the float32 each number rounds to. */
export const float32For = (text: string, size: number) => vectorFor(text, size).map(Math.fround)

/** A running stand-in; its knobs are read at each call. */
export interface VectorStandIn {
  readonly url: string
  readonly received: Array<Call>
  /** How long it takes to answer, in ms (a call in flight long enough for others to join it). */
  delayMs: number
  /** How many calls it refuses (HTTP 400) before it answers again. */
  failNext: number
  readonly close: () => void
}

/** Starts a stand-in on a free port of 127.0.0.1. */
export const startVectorStandIn = async (): Promise<VectorStandIn> => {
  const server = Http.createServer()
  const self: VectorStandIn = {
    url: "",
    received: [],
    delayMs: 0,
    failNext: 0,
    close: () => {
      server.closeAllConnections()
      server.close()
    }
  }
  server.on("request", (req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on("end", () => {
      const model = decodeURIComponent(req.url?.split("/")[2] ?? "")
      const parsed = JSON.parse(body) as {
        inputText?: string
        inputImage?: string
        texts?: Array<string>
        dimensions?: number
        embeddingConfig?: { outputEmbeddingLength?: number }
      }
      // An image's vector comes from its bytes, as a text's from its characters.
      const texts = parsed.texts ?? [
        parsed.inputImage === undefined ? (parsed.inputText ?? "") : `image:${parsed.inputImage}`
      ]
      self.received.push({ model, texts, dimensions: parsed.dimensions, body, at: Date.now() })
      const size = parsed.embeddingConfig?.outputEmbeddingLength ?? parsed.dimensions ?? 1024
      const delayMs = self.delayMs
      if (self.failNext > 0) {
        self.failNext--
        setTimeout(() => {
          res.writeHead(400, { "content-type": "application/json", "x-amzn-errortype": "ValidationException" })
          res.end(JSON.stringify({ message: "the stand-in refuses this call" }))
        }, delayMs)
        return
      }
      res.writeHead(200, {
        "content-type": "application/json",
        "x-amzn-bedrock-input-token-count": String(TOKENS_PER_CALL)
      })
      const answer = JSON.stringify(
        parsed.texts === undefined
          ? { embedding: vectorFor(texts[0]!, size), inputTextTokenCount: TOKENS_PER_CALL }
          : {
              id: "stand-in",
              response_type: "embeddings_floats",
              texts,
              embeddings: texts.map((t) => vectorFor(t, size))
            }
      )
      setTimeout(() => res.end(answer), delayMs)
    })
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return Object.assign(self, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
}
