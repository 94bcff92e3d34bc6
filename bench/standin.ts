/**
 * A Bedrock Runtime stand-in for the gateway benchmark, written for it (not the emulator):
 *
 *   standin.ts [--port 0] [--latency-ms 20] [--exit-with-stdin]
 *
 * Plain `node:http` (HTTP/1.1, what bedrock-embed's transport speaks to a custom endpoint). It
 * answers `POST /model/amazon.titan-embed-text-v2:0/invoke` (the id raw or percent-encoded) the way
 * Titan Text Embeddings V2 does — `{"embedding":[…],"embeddingsByType":{"float":[…]},
 * "inputTextTokenCount":N}` plus the `x-amzn-*` headers — after a fixed delay. It accepts any
 * Authorization (no SigV4 check). The vectors are unit length and written in a mix of JSON number
 * notations (`-0.012345678`, `1.5e-3`, `-2E-05`, `0`, `1234e-7`, `0.001234568e+1`, shortest
 * round-trip doubles, …), and every body is built once per dimension at start, so serving one
 * costs the stand-in a small `JSON.parse` of the request and a buffer copy.
 *
 * Prints `standin listening on http://127.0.0.1:<port>` once ready. `GET /_standin/stats` returns
 * `{"invocations":N}` (InvokeModel calls answered with 200). With `--exit-with-stdin` it exits when
 * its stdin closes, so it does not outlive a benchmark that was killed outright.
 */
import * as Http from "node:http"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "latency-ms": { type: "string", default: "20" },
    "exit-with-stdin": { type: "boolean", default: false }
  }
})
const port = Number(values.port)
const latencyMs = Number(values["latency-ms"])
const MODEL = "amazon.titan-embed-text-v2:0"
const DIMENSIONS = [256, 512, 1024] as const
const VARIANTS = 4

// A small deterministic PRNG (mulberry32), so every run serves the same bytes.
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** One number in one of several valid JSON notations, picked by position. */
const notation = (v: number, i: number): string => {
  switch (i % 9) {
    case 0:
      return v.toFixed(9) // -0.012345678
    case 1:
      return v.toExponential(1) // 1.5e-3
    case 2: {
      // -2E-05: one significant digit, upper-case E, two-digit exponent.
      const [mantissa, exponent] = v.toExponential(0).split("e") as [string, string]
      const e = Number(exponent)
      return `${mantissa}E${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`
    }
    case 3:
      return i % 97 === 3 ? "0" : v.toFixed(4) // 0 now and then, else a short decimal
    case 4:
      return `${Math.round(v * 1e7)}e-7` // 1234e-7
    case 5:
      return String(v) // shortest round-trip double: up to 17 significant digits
    case 6:
      return `${(v / 10).toFixed(9)}e+1` // 0.001234568e+1
    case 7:
      return String(Math.fround(v)) // a float32 printed as a double
    default:
      return v.toPrecision(7) // 0.01234568 (or 1.234568e-7 for tiny values)
  }
}

/** Everything up to the token count; the count and `}` are appended per request. */
const prefixes = new Map<number, ReadonlyArray<Buffer>>()
for (const dimensions of DIMENSIONS) {
  const variants: Array<Buffer> = []
  for (let variant = 0; variant < VARIANTS; variant++) {
    const random = prng(dimensions * 31 + variant)
    const raw = Array.from({ length: dimensions }, () => random() - 0.5)
    const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0))
    const numbers = raw.map((v, i) => notation(v / norm, i)).join(",")
    variants.push(
      Buffer.from(`{"embedding":[${numbers}],"embeddingsByType":{"float":[${numbers}]},"inputTextTokenCount":`)
    )
  }
  prefixes.set(dimensions, variants)
}

let invocations = 0
let served = 0

const fail = (res: Http.ServerResponse, status: number, type: string, message: string) => {
  const body = JSON.stringify({ message })
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    "x-amzn-requestid": "00000000-0000-0000-0000-000000000000"
  })
  res.end(body)
}

const invokePath = /^\/model\/([^/]+)\/invoke$/

const server = Http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/_standin/stats") {
    const body = JSON.stringify({ invocations })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
    return
  }
  const match = req.method === "POST" ? invokePath.exec(req.url ?? "") : null
  if (match === null) {
    fail(res, 404, "UnknownOperationException", `no route for ${req.method} ${req.url}`)
    req.resume()
    return
  }
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    const modelId = decodeURIComponent(match[1]!)
    if (modelId !== MODEL) return fail(res, 404, "ResourceNotFoundException", `model ${modelId} not served here`)
    let request: { inputText?: unknown; dimensions?: unknown }
    try {
      request = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch {
      return fail(res, 400, "ValidationException", "Malformed input request, please reformat your input and try again.")
    }
    const dimensions = request.dimensions ?? 1024
    const variants = prefixes.get(dimensions as number)
    if (typeof request.inputText !== "string" || request.inputText.length === 0 || variants === undefined)
      return fail(res, 400, "ValidationException", "Malformed input request: inputText or dimensions")
    const tokens = Math.max(1, Math.ceil(request.inputText.length / 4.7))
    const body = Buffer.concat([variants[served++ % VARIANTS]!, Buffer.from(`${tokens}}`)])
    setTimeout(() => {
      invocations++
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": body.length,
        "x-amzn-requestid": "11111111-2222-3333-4444-555555555555",
        "x-amzn-bedrock-invocation-latency": String(latencyMs),
        "x-amzn-bedrock-input-token-count": String(tokens)
      })
      res.end(body)
    }, latencyMs)
  })
})
// Idle pauses between the benchmark's phases must not close the clients' pooled sockets.
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.listen(port, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  process.stdout.write(`standin listening on http://127.0.0.1:${address.port}\n`)
})
if (values["exit-with-stdin"]) process.stdin.on("end", () => process.exit(0)).resume()
process.once("SIGTERM", () => process.exit(0))
process.once("SIGINT", () => process.exit(0))
