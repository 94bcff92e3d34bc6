/**
 * A Bedrock Runtime stand-in for the gateway benchmark, written for it (not the emulator):
 *
 *   standin.ts [--port 0] [--latency-ms 20] [--exit-with-stdin] [--notation mixed|full]
 *
 * Plain `node:http` (HTTP/1.1, what bedrock-embed's transport speaks to a custom endpoint). It
 * answers `POST /model/amazon.titan-embed-text-v2:0/invoke` (the id raw or percent-encoded) the way
 * Titan Text Embeddings V2 does — `{"embedding":[…],"embeddingsByType":{"float":[…]},
 * "inputTextTokenCount":N}` plus the `x-amzn-*` headers — after a fixed delay. It accepts any
 * Authorization (no SigV4 check). The vectors are unit length and written in a mix of JSON number
 * notations (`-0.012345678`, `1.5e-3`, `-2E-05`, `0`, `1234e-7`, `0.001234568e+1`, shortest
 * round-trip doubles, …) — or, with `--notation full`, as real Titan v2 bodies print them: float32
 * values written as Java's `Double.toString` does, 14–17 significant digits with `E` exponents
 * below 10^-3 (`-0.05289186164736748`, `1.5667552361264825E-5`) — and every body is built once per
 * dimension at start, so serving one costs the stand-in a small `JSON.parse` of the request and a
 * buffer copy.
 *
 * Prints `standin listening on http://127.0.0.1:<port>` once ready. `GET /_standin/stats` returns
 * `{"invocations":N}` (InvokeModel calls answered with 200). With `--exit-with-stdin` it exits when
 * its stdin closes, so it does not outlive a benchmark that was killed outright.
 */
import * as Http from "node:http"
import { parseArgs } from "node:util"

// ---------------------------------------------------------------------------------------------
// Throttling and quotas (for `bench/throttle.ts`): every refusal is Bedrock's 429
// ThrottlingException, answered at once (no latency), and a refused call consumes no quota.
//
//   --throttle-fraction F   refuse a fraction F of calls at random (seeded: --seed, default 1)
//   --rpm N --window-ms W   a fixed-window request quota: N per minute, counted in windows of W ms
//                           (N × W / 60 000 calls per window; windows start when the server does)
//   --tpm N --bucket-ms B   a tokens-per-minute quota enforced as a token bucket, as AWS does: it
//                           refills at N / 60 000 tokens per ms and holds B ms of them (default
//                           60 000: a minute), full at start. A call costs the input token count it
//                           reports (`inputTextTokenCount`) and is refused when the bucket holds fewer.
//
// `GET /_standin/stats` adds `requests` (every InvokeModel call), `throttled`, `tokens` (accepted)
// and `firstMs` / `lastMs` (server clock, ms: the first call received, the last answer sent).

const quotaOptions = {
  "throttle-fraction": { type: "string", default: "0" },
  seed: { type: "string", default: "1" },
  rpm: { type: "string" },
  "window-ms": { type: "string", default: "60000" },
  tpm: { type: "string" },
  "bucket-ms": { type: "string", default: "60000" }
} as const

interface QuotaValues {
  readonly "throttle-fraction": string
  readonly seed: string
  readonly rpm?: string | undefined
  readonly "window-ms": string
  readonly tpm?: string | undefined
  readonly "bucket-ms": string
}

/** A positive finite number from a flag, or exit 2 with a message naming the flag. */
const positiveFlag = (name: string, text: string, allowZero = false) => {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    process.stderr.write(
      `standin: --${name} must be a ${allowZero ? "non-negative" : "positive"} number, got "${text}"\n`
    )
    process.exit(2)
  }
  return value
}

const makeQuota = (values: QuotaValues) => {
  const fraction = positiveFlag("throttle-fraction", values["throttle-fraction"], true)
  const random = prng(positiveFlag("seed", values.seed, true))
  const t0 = performance.now()
  const windowMs = positiveFlag("window-ms", values["window-ms"])
  const perWindow = values.rpm === undefined ? Infinity : (positiveFlag("rpm", values.rpm) * windowMs) / 60_000
  let window = -1
  let inWindow = 0
  const tokensPerMs = values.tpm === undefined ? 0 : positiveFlag("tpm", values.tpm) / 60_000
  const capacity = tokensPerMs * positiveFlag("bucket-ms", values["bucket-ms"])
  let level = capacity
  let refilledAt = t0
  const counts = { requests: 0, throttled: 0, tokens: 0, firstMs: 0, lastMs: 0 }
  const refuse = (now: number, tokens: number) => {
    if (fraction > 0 && random() < fraction) return true
    const current = Math.floor((now - t0) / windowMs)
    if (current !== window) {
      window = current
      inWindow = 0
    }
    if (inWindow + 1 > perWindow) return true
    if (tokensPerMs > 0) {
      level = Math.min(capacity, level + (now - refilledAt) * tokensPerMs)
      refilledAt = now
      if (level < tokens) return true
      level -= tokens
    }
    inWindow++
    return false
  }
  return {
    /** Whether this call is throttled; counts it either way. */
    refuses: (tokens: number) => {
      const now = performance.now()
      if (counts.requests++ === 0) counts.firstMs = now
      const refused = refuse(now, tokens)
      if (refused) {
        counts.throttled++
        counts.lastMs = now
      } else counts.tokens += tokens
      return refused
    },
    /** An accepted call was answered. */
    answered: () => {
      counts.lastMs = performance.now()
    },
    stats: () => ({ ...counts })
  }
}

const throttle = (res: Http.ServerResponse) => {
  const body = JSON.stringify({ message: "Too many requests, please wait before trying again." })
  res.writeHead(429, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/",
    "x-amzn-requestid": "00000000-0000-0000-0000-000000000429"
  })
  res.end(body)
}
// ---------------------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "latency-ms": { type: "string", default: "20" },
    "exit-with-stdin": { type: "boolean", default: false },
    notation: { type: "string", default: "mixed" },
    ...quotaOptions
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

/** A float32 as Java's `Double.toString` prints it: shortest double digits, `E` below 10^-3. */
const javaDouble = (v: number): string => {
  const f = Math.fround(v)
  const abs = Math.abs(f)
  if (abs === 0 || (abs >= 1e-3 && abs < 1e7)) return String(f)
  const [mantissa, exponent] = f.toExponential().split("e") as [string, string]
  return `${mantissa.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`
}
if (values.notation !== "mixed" && values.notation !== "full") {
  process.stderr.write(`standin: --notation must be mixed or full, got "${values.notation}"\n`)
  process.exit(2)
}
const write = values.notation === "full" ? javaDouble : notation

/** Everything up to the token count; the count and `}` are appended per request. */
const prefixes = new Map<number, ReadonlyArray<Buffer>>()
for (const dimensions of DIMENSIONS) {
  const variants: Array<Buffer> = []
  for (let variant = 0; variant < VARIANTS; variant++) {
    const random = prng(dimensions * 31 + variant)
    const raw = Array.from({ length: dimensions }, () => random() - 0.5)
    const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0))
    const numbers = raw.map((v, i) => write(v / norm, i)).join(",")
    variants.push(
      Buffer.from(`{"embedding":[${numbers}],"embeddingsByType":{"float":[${numbers}]},"inputTextTokenCount":`)
    )
  }
  prefixes.set(dimensions, variants)
}

const quota = makeQuota(values)
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
    const body = JSON.stringify({ invocations, ...quota.stats() })
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
    if (quota.refuses(tokens)) return throttle(res)
    const body = Buffer.concat([variants[served++ % VARIANTS]!, Buffer.from(`${tokens}}`)])
    setTimeout(() => {
      invocations++
      quota.answered()
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
