/**
 * A fault-injecting Bedrock Runtime stand-in for the chaos suite: NOT the emulator's happy path.
 * Plain `node:http` (HTTP/1.1, what the transport speaks to a custom endpoint), written for the
 * suite. It serves InvokeModel for Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`) and
 * Cohere Embed English V3 (`cohere.embed-english-v3`) with the wire shapes AWS sends
 * (`../shared/research/recorded-bedrock/`), accepts any Authorization, and answers each call
 * with one {@link Fault}:
 *
 * - per request: an input text holding `chaos:<fault>` gets that fault on every attempt, and
 *   `chaos:<fault>x<N>` on its first N attempts only (then a good answer), so a retry is visible;
 * - per run or per model: `POST /_chaos {"mix":{"server-error":0.3},"model"?:id,"seed"?:n}`
 *   sets the fraction of calls drawn for each fault (seeded, so a run repeats); `DELETE /_chaos`
 *   clears every mix and count; `GET /_chaos` returns the counts ({@link Stats}).
 *
 * Vectors are a pure function of the text ({@link vectorOf}), so a caller can check that every
 * answer it got belongs to its input, in order. Run directly, it listens and prints
 * `chaos standin listening on http://127.0.0.1:<port>`
 * (`--port 0 --mix server-error=0.3,throttle=0.1 --trickle-ms 400 --seed 7`).
 */
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"

/**
 * What one InvokeModel call gets.
 */
export const faults = [
  "ok",
  "wrong-length", // a vector one element short
  "empty-vector", // `[]`
  "nan", // a bare `NaN` token: invalid JSON
  "overflow", // `1e999`: valid JSON that parses to Infinity
  "malformed", // a 200 whose JSON is cut short, with an honest content-length
  "wrong-shape", // a 200 of valid JSON without the model's fields
  "huge-length", // a 200 claiming content-length 1e12, then a few bytes and silence
  "trickle", // a good body, one byte per `trickleMs`
  "truncated", // content-length of the whole body, half of it sent, then the socket closed
  "reset", // half a body, then a TCP reset
  "hang", // headers never sent; the socket stays open until the caller leaves
  "throttle", // 429 ThrottlingException
  "server-error", // 500 InternalServerException
  "unavailable", // 503 ServiceUnavailableException
  "model-timeout" // 408 ModelTimeoutException
] as const

export type Fault = (typeof faults)[number]

export const isFault = (name: string): name is Fault => (faults as ReadonlyArray<string>).includes(name)

/** Fractions of calls per fault; what is left over is answered well. */
export type Mix = Partial<Record<Fault, number>>

export interface Stats {
  /** InvokeModel calls received, by the fault they got. */
  readonly calls: Partial<Record<Fault, number>>
  /** Calls received per model id. */
  readonly models: Record<string, number>
  /** Calls still open (hangs, trickles, huge lengths). */
  readonly open: number
}

export interface Options {
  readonly port?: number | undefined
  /** Delay between trickled bytes; default 400 ms. */
  readonly trickleMs?: number | undefined
  /** The fault mix at start, for every model. */
  readonly mix?: Mix | undefined
  readonly seed?: number | undefined
}

export interface Standin {
  readonly url: string
  readonly port: number
  /** Sets the mix for every model, or for one model id. */
  readonly setMix: (mix: Mix, model?: string) => void
  readonly stats: () => Stats
  readonly reset: () => void
  readonly close: () => Promise<void>
}

export const TITAN_V2 = "amazon.titan-embed-text-v2:0"
export const COHERE_V3 = "cohere.embed-english-v3"
export const COHERE_DIMENSIONS = 1024
const TITAN_DIMENSIONS = [256, 512, 1024]

/** FNV-1a over the UTF-16 code units: the seed of a text's vector. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0 || 1
}

/** xorshift32 on a seed, as a stream of numbers in [0, 1). */
const stream = (seed: number) => {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

/**
 * The unit vector the stand-in answers for a text: a pure function of text and length.
 */
export const vectorOf = (text: string, dimensions: number): Array<number> => {
  const next = stream(hash(text))
  const raw = Array.from({ length: dimensions }, () => next() - 0.5)
  const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0))
  return raw.map((v) => v / norm)
}

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4.7))

/** Bedrock's error answer: the `x-amzn-errortype` header and `{"message":…}`. */
const errorAnswer = (res: Http.ServerResponse, status: number, type: string, message: string) => {
  const body = JSON.stringify({ message })
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    "x-amzn-requestid": crypto.randomUUID()
  })
  res.end(body)
}

const errors: Partial<Record<Fault, readonly [number, string, string]>> = {
  throttle: [429, "ThrottlingException", "Too many requests, please wait before trying again."],
  "server-error": [
    500,
    "InternalServerException",
    "The system encountered an unexpected error during processing. Try your request again."
  ],
  unavailable: [503, "ServiceUnavailableException", "Bedrock is unable to process your request."],
  "model-timeout": [408, "ModelTimeoutException", "Model has timed out in processing the request. Try again."]
}

/** A parsed InvokeModel body: the texts to embed and how to write the answer. */
interface Call {
  readonly texts: ReadonlyArray<string>
  readonly dimensions: number
  /** The JSON body for these vectors (the vectors as JSON text, already written). */
  readonly body: (vectors: ReadonlyArray<string>) => string
}

const numbers = (vector: ReadonlyArray<number>) => `[${vector.join(",")}]`

const titanCall = (request: Record<string, unknown>): Call | string => {
  const { inputText, dimensions = 1024 } = request
  if (typeof inputText !== "string" || inputText.length === 0) return "inputText must be a non-empty string"
  if (typeof dimensions !== "number" || !TITAN_DIMENSIONS.includes(dimensions))
    return "dimensions must be one of 256, 512, 1024"
  return {
    texts: [inputText],
    dimensions,
    body: ([vector]) =>
      `{"embedding":${vector},"embeddingsByType":{"float":${vector}},"inputTextTokenCount":${tokensOf(inputText)}}`
  }
}

const cohereCall = (request: Record<string, unknown>): Call | string => {
  const { texts, input_type, embedding_types } = request
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > 96 || !texts.every((t) => typeof t === "string"))
    return "texts must be an array of 1 to 96 strings"
  if (typeof input_type !== "string") return "#: required key [input_type] not found"
  const byType = Array.isArray(embedding_types)
  if (byType && embedding_types.some((t) => t !== "float")) return "this stand-in serves embedding_types [float] only"
  const id = crypto.randomUUID()
  const echo = JSON.stringify(texts.map((t: string) => t.toLowerCase()))
  return {
    texts,
    dimensions: COHERE_DIMENSIONS,
    body: (vectors) =>
      byType
        ? `{"embeddings":{"float":[${vectors.join(",")}]},"id":"${id}","response_type":"embeddings_by_type","texts":${echo}}`
        : `{"embeddings":[${vectors.join(",")}],"id":"${id}","response_type":"embeddings_floats","texts":${echo}}`
  }
}

const callOf = (model: string, request: Record<string, unknown>): Call | string | undefined =>
  model === TITAN_V2 ? titanCall(request) : model === COHERE_V3 ? cohereCall(request) : undefined

/** A 400 from the control endpoint. */
const refuse = (res: Http.ServerResponse, message: string) => {
  res.writeHead(400, { "content-type": "application/json" })
  res.end(JSON.stringify({ message }))
}

const marker = /chaos:([a-z-]+)(?:x(\d+))?/

/** The body a decode fault sends in place of the good one. */
const badBody = (fault: Fault, call: Call): string => {
  const good = (text: string) => numbers(vectorOf(text, call.dimensions))
  switch (fault) {
    case "wrong-length":
      return call.body(call.texts.map((t) => numbers(vectorOf(t, call.dimensions - 1))))
    case "empty-vector":
      return call.body(call.texts.map(() => "[]"))
    case "nan":
      return call.body(call.texts.map((t) => good(t).replace(/^\[[^,]*/, "[NaN")))
    case "overflow":
      return call.body(call.texts.map((t) => good(t).replace(/^\[[^,]*/, "[1e999")))
    case "malformed": {
      const whole = call.body(call.texts.map(good))
      return whole.slice(0, Math.floor(whole.length / 2))
    }
    default:
      return `{"unexpected":true,"note":"not this model's response"}`
  }
}

const okHeaders = (length: number | string, call: Call) => ({
  "content-type": "application/json",
  "content-length": String(length),
  "x-amzn-requestid": crypto.randomUUID(),
  "x-amzn-bedrock-invocation-latency": "12",
  "x-amzn-bedrock-input-token-count": String(call.texts.reduce((n, t) => n + tokensOf(t), 0))
})

export const start = (options: Options = {}): Promise<Standin> => {
  const trickleMs = options.trickleMs ?? 400
  let random = stream(options.seed ?? 7)
  let mixes = new Map<string, Mix>(options.mix === undefined ? [] : [["*", options.mix]])
  let calls: Partial<Record<Fault, number>> = {}
  let models: Record<string, number> = {}
  let attempts = new Map<string, number>()
  const sockets = new Set<Socket>()
  let open = 0

  const draw = (model: string): Fault => {
    const mix = mixes.get(model) ?? mixes.get("*") ?? {}
    let x = random()
    for (const [fault, fraction] of Object.entries(mix) as Array<[Fault, number]>) {
      if (x < fraction) return fault
      x -= fraction
    }
    return "ok"
  }

  /** The fault for a call: a text's own marker first, then the mix. */
  const choose = (model: string, call: Call): Fault => {
    for (const text of call.texts) {
      const m = marker.exec(text)
      if (m === null || !isFault(m[1]!)) continue
      const seen = (attempts.get(text) ?? 0) + 1
      attempts.set(text, seen)
      if (m[2] === undefined || seen <= Number(m[2])) return m[1] as Fault
      return "ok"
    }
    return draw(model)
  }

  /** Keeps a slow answer counted as open until its socket closes. */
  const holdOpen = (res: Http.ServerResponse, onClose: () => void = () => {}) => {
    open++
    res.once("close", () => {
      open--
      onClose()
    })
  }

  const trickle = (res: Http.ServerResponse, body: Buffer, call: Call) => {
    res.writeHead(200, okHeaders(body.length, call))
    let sent = 0
    const timer = setInterval(() => {
      if (sent >= body.length) {
        clearInterval(timer)
        res.end()
        return
      }
      res.write(body.subarray(sent, ++sent))
    }, trickleMs)
    holdOpen(res, () => clearInterval(timer))
  }

  const answer = (res: Http.ServerResponse, fault: Fault, call: Call) => {
    const status = errors[fault]
    if (status !== undefined) return errorAnswer(res, ...status)
    const good = Buffer.from(call.body(call.texts.map((t) => numbers(vectorOf(t, call.dimensions)))))
    switch (fault) {
      case "ok":
        res.writeHead(200, okHeaders(good.length, call))
        return res.end(good)
      case "hang":
        return holdOpen(res)
      case "trickle":
        return trickle(res, good, call)
      case "huge-length": {
        res.writeHead(200, okHeaders("1000000000000", call))
        res.write(good.subarray(0, 64))
        const timer = setTimeout(() => res.destroy(), 30_000)
        return holdOpen(res, () => clearTimeout(timer))
      }
      case "truncated":
        res.writeHead(200, okHeaders(good.length, call))
        res.write(good.subarray(0, good.length >> 1))
        return setTimeout(() => res.socket?.destroy(), 50)
      case "reset":
        res.writeHead(200, okHeaders(good.length, call))
        res.write(good.subarray(0, good.length >> 1))
        return setTimeout(() => res.socket?.resetAndDestroy(), 50)
      default: {
        const bad = badBody(fault, call)
        res.writeHead(200, okHeaders(Buffer.byteLength(bad), call))
        return res.end(bad)
      }
    }
  }

  const invoke = (res: Http.ServerResponse, model: string, raw: string) => {
    let request: unknown
    try {
      request = JSON.parse(raw)
    } catch {
      return errorAnswer(
        res,
        400,
        "ValidationException",
        "Malformed input request, please reformat your input and try again."
      )
    }
    const call =
      typeof request === "object" && request !== null
        ? callOf(model, request as Record<string, unknown>)
        : "not an object"
    if (call === undefined)
      return errorAnswer(res, 404, "ResourceNotFoundException", "The provided model identifier is invalid.")
    if (typeof call === "string")
      return errorAnswer(res, 400, "ValidationException", `Malformed input request: ${call}`)
    models[model] = (models[model] ?? 0) + 1
    const fault = choose(model, call)
    calls[fault] = (calls[fault] ?? 0) + 1
    answer(res, fault, call)
  }

  const control = (req: Http.IncomingMessage, res: Http.ServerResponse, raw: string) => {
    if (req.method === "POST") {
      let setting: { mix?: Mix; model?: string; seed?: number }
      try {
        setting = JSON.parse(raw || "{}")
      } catch {
        return refuse(res, 'the body must be JSON: {"mix":{"<fault>":<fraction>},"model"?:"<id>","seed"?:<n>}')
      }
      const { mix = {}, model = "*", seed } = setting
      const unknown = Object.keys(mix).filter((name) => !isFault(name))
      if (unknown.length > 0) return refuse(res, `unknown faults ${unknown.join(", ")}; known: ${faults.join(", ")}`)
      mixes.set(model, mix)
      if (seed !== undefined) random = stream(seed)
    }
    if (req.method === "DELETE") reset()
    const body = JSON.stringify({ ...stats(), mixes: Object.fromEntries(mixes) })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  }

  const stats = (): Stats => ({ calls: { ...calls }, models: { ...models }, open })
  const reset = () => {
    mixes = new Map()
    calls = {}
    models = {}
    attempts = new Map()
    random = stream(options.seed ?? 7)
  }

  const invokePath = /^\/model\/([^/]+)\/invoke$/
  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8")
      const path = (req.url ?? "").split("?")[0]!
      if (path === "/_chaos") return control(req, res, raw)
      const match = req.method === "POST" ? invokePath.exec(path) : null
      if (match === null) return errorAnswer(res, 404, "UnknownOperationException", "no such operation")
      invoke(res, decodeURIComponent(match[1]!), raw)
    })
  })
  server.keepAliveTimeout = 60_000
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  return new Promise((resolve) => {
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        setMix: (mix, model = "*") => mixes.set(model, mix),
        stats,
        reset,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
}

/** `--mix server-error=0.3,throttle=0.1` as a {@link Mix}; throws naming what is wrong. */
export const parseMix = (text: string): Mix => {
  const mix: Mix = {}
  for (const part of text.split(",").filter((p) => p !== "")) {
    const [name = "", value = ""] = part.split("=")
    const fraction = Number(value)
    if (!isFault(name)) throw new Error(`unknown fault "${name}"; known: ${faults.join(", ")}`)
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`fraction of ${name} must be in [0, 1], got "${value}"`)
    mix[name] = fraction
  }
  return mix
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { parseArgs } = await import("node:util")
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      mix: { type: "string", default: "" },
      "trickle-ms": { type: "string", default: "400" },
      seed: { type: "string", default: "7" }
    }
  })
  const standin = await start({
    port: Number(values.port),
    mix: parseMix(values.mix),
    trickleMs: Number(values["trickle-ms"]),
    seed: Number(values.seed)
  })
  process.stdout.write(`chaos standin listening on ${standin.url}\n`)
  process.once("SIGTERM", () => process.exit(0))
  process.once("SIGINT", () => process.exit(0))
}
