/**
 * The chaos cases: each drives the gateway (a child process) or the library (a child process)
 * against the fault stand-in and checks the contract of issue 13 — the gateway never dies; every
 * fault ends in OpenAI's error shape with the right status and no secret, upstream host or stack
 * trace; deadlines hold; retries deliver every input in order; memory stays bounded. A case
 * throws an `Error` naming what broke; it may return a note (figures) for the table.
 *
 * `short` cases run in `pnpm test` (a few seconds each); `pnpm chaos` runs them all.
 */
import { spawn } from "node:child_process"
import * as Http from "node:http"
import { join } from "node:path"
import * as Harness from "./harness.ts"
import * as Standin from "./standin.ts"

export interface Context {
  readonly standin: Standin.Standin
  /** The gateway under test (restarted by the runner if a case killed it). */
  readonly gateway: () => Harness.Gateway
}

export interface Case {
  readonly name: string
  readonly short: boolean
  readonly run: (ctx: Context) => Promise<string | undefined>
}

const fail = (message: string): never => {
  throw new Error(message)
}

const check = (ok: boolean, message: () => string) => {
  if (!ok) fail(message())
}

let nonce = 0
/** Texts unique to this run and call, so `chaos:<fault>x<N>` counts attempts of this case only. */
const texts = (count: number, marker = "") =>
  Array.from({ length: count }, (_, i) => `${marker} chaos text ${process.pid}-${++nonce}-${i}`.trim())

const stackTrace = /\n\s+at \S|\bat [\w.<>]+ \(\S+:\d+:\d+\)|\.ts:\d+:\d+/

/** No secret, no stand-in host, no stack trace anywhere in an answer. */
const assertClean = (answer: Harness.Answer, standinUrl: string) => {
  const everything = `${answer.text}\n${[...answer.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`
  for (const [name, secret] of Object.entries(Harness.SECRETS))
    check(!everything.includes(secret), () => `the answer shows the ${name}: ${answer.text.slice(0, 300)}`)
  const host = Harness.standinHost(standinUrl)
  check(!everything.includes(host), () => `the answer shows the upstream host ${host}: ${answer.text.slice(0, 300)}`)
  check(!stackTrace.test(answer.text), () => `the answer holds a stack trace: ${answer.text.slice(0, 300)}`)
}

/** OpenAI's `{ error: { message, type, code } }` with one of the statuses allowed. */
const assertError = (answer: Harness.Answer, statuses: ReadonlyArray<number>, standinUrl: string) => {
  check(
    statuses.includes(answer.status),
    () => `status ${answer.status}, expected ${statuses.join(" or ")}: ${answer.text.slice(0, 300)}`
  )
  const error = (answer.json as { error?: { message?: unknown; type?: unknown } } | undefined)?.error
  check(
    typeof error?.message === "string" && error.message.length > 0 && typeof error.type === "string",
    () => `not OpenAI's error shape {error:{message,type,code}}: ${answer.text.slice(0, 300)}`
  )
  assertClean(answer, standinUrl)
}

/** A 200 whose vectors are the stand-in's for these texts, in order. */
const assertVectors = (answer: Harness.Answer, inputs: ReadonlyArray<string>, dimensions: number) => {
  check(answer.status === 200, () => `status ${answer.status}, expected 200: ${answer.text.slice(0, 300)}`)
  const data = (answer.json as { data?: Array<{ index: number; embedding: Array<number> }> }).data ?? []
  check(data.length === inputs.length, () => `${data.length} vectors for ${inputs.length} inputs`)
  data.forEach((d, i) => {
    const expected = Standin.vectorOf(inputs[i]!, dimensions)
    check(d.index === i, () => `vector ${i} has index ${d.index}`)
    check(
      d.embedding.length === dimensions,
      () => `vector ${i} has ${d.embedding.length} dimensions, not ${dimensions}`
    )
    check(
      Math.abs(d.embedding[0]! - expected[0]!) < 1e-6 && Math.abs(d.embedding.at(-1)! - expected.at(-1)!) < 1e-6,
      () => `vector ${i} is not the one for input ${i}: out of order or mixed up`
    )
  })
}

const MODELS = {
  titan: { alias: "titan", dimensions: 256, inputs: 1, extra: { dimensions: 256 } },
  cohere: { alias: "cohere", dimensions: Standin.COHERE_DIMENSIONS, inputs: 3, extra: {} }
} as const
type ModelName = keyof typeof MODELS

const request = (model: ModelName, input: ReadonlyArray<string>, suffix = "") => ({
  model: `${MODELS[model].alias}${suffix}`,
  input,
  ...MODELS[model].extra
})

/** A gateway call with a fault marker; checks the answer's status and shape. */
const faultCase = (
  fault: Standin.Fault,
  model: ModelName,
  statuses: ReadonlyArray<number>,
  options: { readonly short?: boolean; readonly times?: number; readonly withinS?: number } = {}
): Case => ({
  name: `${model}: ${fault}${options.times === undefined ? "" : ` ×${options.times} then ok`} → ${statuses.join("/")}`,
  short: options.short ?? false,
  run: async (ctx) => {
    const marker = `chaos:${fault}${options.times === undefined ? "" : `x${options.times}`}`
    const input = texts(MODELS[model].inputs, marker)
    const answer = await Harness.embed(ctx.gateway().url, request(model, input))
    if (statuses.includes(200) && answer.status === 200) assertVectors(answer, input, MODELS[model].dimensions)
    else assertError(answer, statuses, ctx.standin.url)
    if (options.withinS !== undefined)
      check(
        answer.ms < options.withinS * 1000,
        () => `answered after ${(answer.ms / 1000).toFixed(1)} s, past the ${options.withinS} s allowed`
      )
    return `${answer.status} in ${Math.round(answer.ms)} ms`
  }
})

/** Where the deadline is checked: the configured `timeout` plus slack for one backoff and the answer. */
const DEADLINE_S = Harness.TIMEOUT_S + 1.5

const decodeFaults: ReadonlyArray<Standin.Fault> = [
  "wrong-length",
  "empty-vector",
  "nan",
  "overflow",
  "malformed",
  "wrong-shape"
]
const shortDecode = new Set<Standin.Fault>(["wrong-length", "empty-vector", "nan", "overflow", "malformed"])

const faultCases: ReadonlyArray<Case> = (["titan", "cohere"] as const).flatMap((model) => {
  const short = (yes: boolean) => yes && model === "titan"
  return [
    ...decodeFaults.map((f) => faultCase(f, model, [502], { short: short(shortDecode.has(f)) })),
    faultCase("malformed", model, [200], { times: 1, short: short(true) }),
    faultCase("truncated", model, [502, 503], { short: short(true) }),
    faultCase("truncated", model, [200], { times: 1, short: short(true) }),
    faultCase("reset", model, [502, 503], { short: short(true) }),
    faultCase("reset", model, [200], { times: 1, short: short(true) }),
    faultCase("server-error", model, [502, 503], { short: short(true) }),
    faultCase("server-error", model, [200], { times: 2, short: short(true) }),
    faultCase("unavailable", model, [502, 503]),
    faultCase("model-timeout", model, [504, 408]),
    faultCase("hang", model, [504], { withinS: DEADLINE_S, short: short(true) }),
    faultCase("trickle", model, [504, 200], { withinS: DEADLINE_S, short: short(true) })
  ]
})

const okCases: ReadonlyArray<Case> = (["titan", "cohere"] as const).map((model) => ({
  name: `${model}: good answers → 200, vectors in order`,
  short: true,
  run: async (ctx) => {
    const input = texts(model === "titan" ? 3 : 5)
    assertVectors(await Harness.embed(ctx.gateway().url, request(model, input)), input, MODELS[model].dimensions)
    return undefined
  }
}))

/** Throttled on every attempt: after the retries, the client hears 429 (on a patient deployment). */
const throttleCase: Case = {
  name: "titan: throttled on every attempt → 429",
  short: true,
  run: async (ctx) => {
    const input = texts(1, "chaos:throttle")
    const answer = await Harness.embed(ctx.gateway().url, { model: "titan-patient", input, dimensions: 256 })
    assertError(answer, [429], ctx.standin.url)
    return `${answer.status} in ${Math.round(answer.ms)} ms`
  }
}

const hugeLengthCase = (concurrent: number, short: boolean): Case => ({
  name: `titan: 200 claiming content-length 1e12 ×${concurrent} → 502, process alive, RSS bounded`,
  short,
  run: async (ctx) => {
    const before = ctx.gateway().rssMb()
    const answers = await Promise.all(
      Array.from({ length: concurrent }, () =>
        // Many at once queue for the engine's call slots: the patient deployment's deadline leaves
        // them time, so this case checks the process and its memory, and `hang` checks deadlines.
        Harness.embed(
          ctx.gateway().url,
          request("titan", texts(1, "chaos:huge-length"), concurrent > 1 ? "-patient" : "")
        )
      )
    )
    for (const answer of answers) assertError(answer, [502], ctx.standin.url)
    check(ctx.gateway().alive(), () => "the gateway died")
    const after = ctx.gateway().rssMb()
    check(!(after - before > 256), () => `RSS grew ${Math.round(after - before)} MB (${before} → ${after} MB)`)
    return `RSS ${Math.round(before)} → ${Math.round(after)} MB`
  }
})

/** No URL credential or upstream host of a deployment reaches its client, on a 5xx either. */
const userinfoCase: Case = {
  name: "titan-userinfo: endpoint with URL credentials, upstream 5xx → no secret or host in the answer",
  short: true,
  run: async (ctx) => {
    const answer = await Harness.embed(ctx.gateway().url, {
      model: "titan-userinfo",
      input: texts(1, "chaos:server-error"),
      dimensions: 256
    })
    check(answer.status >= 400, () => `status ${answer.status}: the fault was not seen`)
    assertError(answer, [answer.status], ctx.standin.url)
    return `${answer.status}`
  }
}

/** A fraction of faults on every call; N requests all succeed, their vectors in order. */
const fractionCase = (
  model: ModelName,
  mix: Standin.Mix,
  requests: number,
  concurrency: number,
  short: boolean
): Case => ({
  name: `${model}: ${Object.entries(mix)
    .map(([f, x]) => `${Math.round(x! * 100)} % ${f}`)
    .join(", ")}, ${requests} requests → all 200 in order`,
  short,
  run: async (ctx) => {
    ctx.standin.setMix(mix, model === "titan" ? Standin.TITAN_V2 : Standin.COHERE_V3)
    try {
      let next = 0
      const failures: Array<string> = []
      const worker = async () => {
        while (next < requests && failures.length === 0) {
          next++
          const input = texts(MODELS[model].inputs + 1)
          const answer = await Harness.embed(ctx.gateway().url, request(model, input, "-steady"))
          try {
            assertVectors(answer, input, MODELS[model].dimensions)
          } catch (error) {
            failures.push(`request ${next}: ${(error as Error).message}`)
          }
        }
      }
      await Promise.all(Array.from({ length: concurrency }, worker))
      check(failures.length === 0, () => failures.join("; "))
      const calls = ctx.standin.stats().calls
      return `upstream calls: ${JSON.stringify(calls)}`
    } finally {
      ctx.standin.reset()
    }
  }
})

/** Every fault at once under load: only typed errors in OpenAI's shape, the process alive. */
const loadCase: Case = {
  name: "titan + cohere: every fault mixed, 200 requests × 16 at once → typed errors only, process alive",
  short: false,
  run: async (ctx) => {
    const mix = Object.fromEntries(Standin.faults.filter((f) => f !== "ok").map((f) => [f, 0.03]))
    ctx.standin.setMix(mix)
    const statuses: Record<number, number> = {}
    try {
      let next = 0
      const worker = async () => {
        while (next++ < 200) {
          const model: ModelName = next % 2 === 0 ? "titan" : "cohere"
          const input = texts(MODELS[model].inputs)
          const answer = await Harness.embed(ctx.gateway().url, request(model, input))
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
          if (answer.status === 200) assertVectors(answer, input, MODELS[model].dimensions)
          else assertError(answer, [429, 502, 503, 504], ctx.standin.url)
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
    } finally {
      ctx.standin.reset()
    }
    check(ctx.gateway().alive(), () => "the gateway died under load")
    return `statuses ${JSON.stringify(statuses)}`
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Clients that give up take their Bedrock calls with them: no upstream socket stays open. */
const disconnectCase: Case = {
  name: "titan: 20 clients leave a hung call after 300 ms → every upstream call closed",
  short: false,
  run: async (ctx) => {
    // A warm gateway (clients made, identity resolved) reaches the stand-in well within 300 ms.
    await Harness.embed(ctx.gateway().url, request("titan", texts(1)))
    const gone = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        Harness.embed(ctx.gateway().url, request("titan", texts(1, "chaos:hang"), "-patient"), { waitMs: 300 })
      )
    )
    check(
      gone.every((g) => g.status === "rejected"),
      () => "a hung call was answered"
    )
    const until = Date.now() + 3_000
    while (ctx.standin.stats().open > 0 && Date.now() < until) await sleep(50)
    const { open, calls } = ctx.standin.stats()
    check((calls.hang ?? 0) > 0, () => "no hung call reached the stand-in: the case saw nothing")
    check(open === 0, () => `${open} upstream calls still open 3 s after their clients left`)
    return `${calls.hang} upstream calls, all closed`
  }
}

/** A 150 MB chunked body: 413 once the limit is read, without holding the rest. */
const bodyLimitCase: Case = {
  name: "a 150 MB chunked request body → 413, gateway RSS bounded",
  short: false,
  run: async (ctx) => {
    const gateway = ctx.gateway()
    const before = gateway.rssMb()
    let peak = before
    const sampler = setInterval(() => {
      peak = Math.max(peak, gateway.rssMb())
    }, 20)
    try {
      const status = await streamBody(gateway.url, 150)
      check(status === 413, () => `status ${status}, expected 413`)
    } finally {
      clearInterval(sampler)
    }
    check(peak - before < 128, () => `RSS rose ${Math.round(peak - before)} MB (${before} → ${peak} MB)`)
    return `RSS ${Math.round(before)} → peak ${Math.round(peak)} MB`
  }
}

/** Writes `mb` MB of a JSON body in 1 MB chunks (no content-length); the status, once answered. */
const streamBody = (url: string, mb: number) =>
  new Promise<number>((resolve, reject) => {
    const req = Http.request(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${Harness.SECRETS.masterKey}` }
    })
    const chunk = Buffer.alloc(1 << 20, "a")
    let written = 0
    let answered = false
    req.once("response", (res) => {
      answered = true
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.once("error", (error) => (answered ? undefined : reject(error)))
    const pump = () => {
      while (!answered && written < mb) {
        written++
        if (written === 1) req.write('{"model":"titan","input":["')
        if (!req.write(chunk)) return req.once("drain", pump)
      }
      if (!answered) req.end('"]}')
    }
    pump()
  })

/** More requests than the gateway admits: the rest hear 429 with retry-after at once. */
const admissionCase: Case = {
  name: "admission: 40 hung requests on a gateway admitting 8 → 429 with retry-after for the rest",
  short: false,
  run: async (ctx) => {
    const config = Harness.configFor(ctx.standin.url)
    const gateway = await Harness.startGateway({
      ...config,
      general_settings: { ...config.general_settings, max_in_flight_requests_per_worker: 8 }
    })
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => Harness.embed(gateway.url, request("titan", texts(1, "chaos:hang"))))
      )
      const refused = answers.filter((a) => a.status === 429)
      const statuses = answers.map((a) => a.status).join(",")
      check(refused.length >= 32, () => `${refused.length} of 40 refused with 429, expected at least 32: ${statuses}`)
      for (const a of refused) {
        assertError(a, [429], ctx.standin.url)
        check(a.headers.get("retry-after") !== null, () => "a 429 without retry-after")
      }
      for (const a of answers.filter((a) => a.status !== 429)) assertError(a, [504], ctx.standin.url)
      check(gateway.alive(), () => "the gateway died")
      return `${refused.length} × 429, ${40 - refused.length} × 504`
    } finally {
      await gateway.close()
    }
  }
}

/** The operator's log may name hosts, never secrets. */
const logCase: Case = {
  name: "gateway output (log) holds no secret",
  short: true,
  run: async (ctx) => {
    const output = ctx.gateway().output()
    for (const [name, secret] of Object.entries(Harness.SECRETS))
      check(!output.includes(secret), () => `the gateway's output shows the ${name}`)
    return `${output.split("\n").length} lines checked`
  }
}

// --- the library, in a child process ---------------------------------------------------------

interface Probe {
  readonly ok: boolean
  readonly tag?: string
  readonly message?: string
  readonly vectors?: ReadonlyArray<readonly [number, number, number]>
  readonly ms: number
}

const probe = (
  standinUrl: string,
  input: ReadonlyArray<string>,
  extra: Record<string, unknown> = {},
  model: string = Standin.COHERE_V3
) =>
  new Promise<Probe>((resolve, reject) => {
    const request = {
      model: `bedrock/${model}`,
      input,
      aws_region_name: "us-east-1",
      aws_bedrock_runtime_endpoint: standinUrl,
      aws_access_key_id: Harness.SECRETS.accessKey,
      aws_secret_access_key: Harness.SECRETS.secretKey,
      timeout: Harness.TIMEOUT_S,
      num_retries: Harness.NUM_RETRIES,
      ...extra
    }
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "library-probe.ts"), JSON.stringify({ request })],
      {
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    let out = ""
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8")
    })
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString("utf8")
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      const line = out.split("\n").find((l) => l.startsWith("{"))
      if (line === undefined) reject(new Error(`the library process died (${code ?? signal}): ${out.slice(-600)}`))
      else resolve(JSON.parse(line) as Probe)
    })
  })

const libraryError = (fault: Standin.Fault, tags: ReadonlyArray<string>, withinS?: number): Case => ({
  name: `library: ${fault} → ${tags.join(" or ")}${withinS === undefined ? "" : ` within ${withinS} s`}`,
  short: true,
  run: async (ctx) => {
    const result = await probe(ctx.standin.url, texts(2, `chaos:${fault}`))
    check(!result.ok, () => "the call succeeded on a fault")
    check(tags.includes(result.tag ?? ""), () => `rejected with ${result.tag}: ${result.message}`)
    for (const secret of Object.values(Harness.SECRETS))
      check(!(result.message ?? "").includes(secret), () => `the error message shows a secret: ${result.message}`)
    if (withinS !== undefined)
      check(result.ms < withinS * 1000, () => `rejected after ${Math.round(result.ms)} ms, past ${withinS} s`)
    return `${result.tag} in ${Math.round(result.ms)} ms`
  }
})

const libraryFraction: Case = {
  name: "library: 30 % server errors, 40 inputs in one request → all delivered in order",
  short: true,
  run: async (ctx) => {
    ctx.standin.setMix({ "server-error": 0.3 }, Standin.TITAN_V2)
    try {
      const input = texts(40)
      // Titan embeds one text per call: forty calls, each a fault draw of its own.
      const result = await probe(
        ctx.standin.url,
        input,
        { timeout: 20, num_retries: Harness.STEADY_RETRIES, dimensions: 256 },
        Standin.TITAN_V2
      )
      check(result.ok, () => `rejected with ${result.tag}: ${result.message}`)
      check(result.vectors?.length === input.length, () => `${result.vectors?.length} vectors for ${input.length}`)
      result.vectors!.forEach(([index, length, first], i) => {
        check(index === i && length === 256, () => `vector ${i}: index ${index}, ${length} dims`)
        check(Math.abs(first - Standin.vectorOf(input[i]!, length)[0]!) < 1e-6, () => `vector ${i} is not input ${i}'s`)
      })
      return `upstream calls: ${JSON.stringify(ctx.standin.stats().calls)}`
    } finally {
      ctx.standin.reset()
    }
  }
}

const libraryCases: ReadonlyArray<Case> = [
  libraryError("nan", ["ResponseDecodeError"]),
  libraryError("wrong-length", ["ResponseDecodeError"]),
  libraryError("huge-length", ["ResponseDecodeError"]),
  libraryError("hang", ["ModelTimeoutError"], DEADLINE_S),
  libraryError("throttle", ["ThrottlingError", "ModelTimeoutError"]),
  libraryFraction
]

/** Every case, in the order they run. */
export const cases: ReadonlyArray<Case> = [
  ...okCases,
  ...faultCases,
  throttleCase,
  hugeLengthCase(1, true),
  hugeLengthCase(20, false),
  userinfoCase,
  fractionCase("titan", { "server-error": 0.3 }, 20, 4, true),
  fractionCase("cohere", { "server-error": 0.3 }, 20, 4, true),
  fractionCase("titan", { "server-error": 0.3 }, 300, 16, false),
  fractionCase("cohere", { unavailable: 0.15, "server-error": 0.15 }, 200, 16, false),
  fractionCase("titan", { throttle: 0.2 }, 200, 16, false),
  fractionCase("titan", { reset: 0.1, truncated: 0.1, malformed: 0.1 }, 200, 16, false),
  loadCase,
  disconnectCase,
  bodyLimitCase,
  admissionCase,
  ...libraryCases,
  logCase
]

// --- quotas, on the benchmark's stand-in (its --rpm / --tpm / --throttle-fraction) -------------

/** `bench/standin.ts` with quota flags, as a child; resolves with its URL and a stop function. */
const benchStandin = (flags: ReadonlyArray<string>) =>
  new Promise<{ readonly url: string; readonly stop: () => void }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(Harness.root, "bench/standin.ts"), "--port", "0", "--latency-ms", "5", ...flags],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    const read = (c: Buffer) => {
      out += c.toString("utf8")
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match !== null) resolve({ url: match[1]!, stop: () => child.kill("SIGTERM") })
    }
    child.stdout.on("data", read)
    child.stderr.on("data", read)
    child.once("exit", (code) => reject(new Error(`bench/standin.ts ${flags.join(" ")} exited (${code}): ${out}`)))
  })

const quotaCase = (label: string, flags: ReadonlyArray<string>, requests: number): Case => ({
  name: `quota ${label}: ${requests} requests × 16 at once → all 200, in order`,
  short: false,
  run: async () => {
    const upstream = await benchStandin(flags)
    const config = {
      model_list: [
        {
          model_name: "titan",
          litellm_params: {
            model: `bedrock/${Standin.TITAN_V2}`,
            aws_region_name: "us-east-1",
            aws_bedrock_runtime_endpoint: upstream.url,
            aws_access_key_id: Harness.SECRETS.accessKey,
            aws_secret_access_key: Harness.SECRETS.secretKey,
            timeout: 120
          }
        }
      ],
      general_settings: { master_key: Harness.SECRETS.masterKey }
    }
    const gateway = await Harness.startGateway(config)
    try {
      const started = performance.now()
      let next = 0
      const statuses: Record<number, number> = {}
      const worker = async () => {
        while (next++ < requests) {
          const answer = await Harness.embed(gateway.url, { model: "titan", input: texts(2), dimensions: 256 })
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
          const data = (answer.json as { data?: Array<{ index: number }> } | undefined)?.data ?? []
          check(answer.status === 200, () => `status ${answer.status}: ${answer.text.slice(0, 300)}`)
          check(
            data.length === 2 && data[0]!.index === 0 && data[1]!.index === 1,
            () => "vectors missing or out of order"
          )
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
      const wallS = (performance.now() - started) / 1000
      const stats = (await (await fetch(`${upstream.url}/_standin/stats`)).json()) as {
        readonly requests?: number
        readonly throttled?: number
      }
      const share = ((stats.throttled ?? 0) / Math.max(1, stats.requests ?? 0)) * 100
      return `${stats.throttled}/${stats.requests} upstream calls throttled (${share.toFixed(1)} %), ${wallS.toFixed(1)} s`
    } finally {
      await gateway.close()
      upstream.stop()
    }
  }
})

/** The quota cases: they start their own stand-in and gateway. */
export const quotaCases: ReadonlyArray<Case> = [
  quotaCase("2 % random throttles", ["--throttle-fraction", "0.02"], 400),
  quotaCase("RPM 6000 in 1 s windows", ["--rpm", "6000", "--window-ms", "1000"], 500),
  quotaCase("TPM 60 000, 1 s bucket", ["--tpm", "60000", "--bucket-ms", "1000"], 400)
]

// --- the runner ------------------------------------------------------------------------------

export interface Outcome {
  readonly name: string
  readonly ok: boolean
  readonly ms: number
  readonly note: string
}

/**
 * Starts the stand-in and a gateway on it; `run` runs one case and then checks the gateway is
 * alive (a dead one fails the case and is replaced, so one crash does not fail every case after).
 */
export const makeRunner = async () => {
  const standin = await Standin.start()
  let gateway = await Harness.startGateway(Harness.configFor(standin.url))
  const ctx: Context = { standin, gateway: () => gateway }
  const run = async (c: Case): Promise<Outcome> => {
    const started = performance.now()
    standin.reset()
    let note = ""
    let ok = true
    try {
      note = (await c.run(ctx)) ?? ""
    } catch (error) {
      ok = false
      note = (error as Error).message
    }
    if (!gateway.alive()) {
      const tail = gateway.output().split("\n").slice(-8).join("\n")
      ok = false
      note = `THE GATEWAY DIED: ${tail}${note === "" ? "" : `\n(case: ${note})`}`
      await gateway.close()
      gateway = await Harness.startGateway(Harness.configFor(standin.url))
    }
    return { name: c.name, ok, ms: performance.now() - started, note }
  }
  const close = async () => {
    await gateway.close()
    await standin.close()
  }
  return { run, close }
}
