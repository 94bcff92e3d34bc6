/**
 * The router over deployments (`router_settings`): a deployment that throttles is cooled down and
 * its traffic moves to the other; one retry loop, steered; retry and cooldown policies; fallbacks
 * to another alias (and the config they are refused in); the routing strategies; `GET /health`
 * and background health checks. Each deployment is its own `node:http` stand-in written here,
 * which counts the InvokeModel calls it receives, so where calls went is read from outside the
 * gateway.
 */
import { once } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, afterEach, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

type Behaviour = "ok" | "throttle" | "fail" | "denied" | "invalid"

/** A Bedrock Runtime stand-in answering Titan v2 bodies as `behaviour` says, counting calls. */
interface StandIn {
  readonly url: string
  calls: number
  /** The `inputText` of each call, in order. */
  readonly texts: Array<string>
  behaviour: Behaviour
  delayMs: number
  /** When its first call was answered (ms since the epoch). */
  firstAnswer: number | undefined
  readonly server: Http.Server
}

const standIns: Array<StandIn> = []
const gateways: Array<Server.Gateway> = []

const standIn = async (behaviour: Behaviour, delayMs = 0): Promise<StandIn> => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const self: StandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: 0,
    texts: [],
    behaviour,
    delayMs,
    firstAnswer: undefined,
    server
  }
  server.on("request", (req, res) => {
    self.calls++
    let body = ""
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on("end", () => {
      self.texts.push(String(JSON.parse(body).inputText))
      const answer = () => {
        self.firstAnswer ??= Date.now()
        const error = (status: number, type: string, message: string) => {
          res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type })
          res.end(JSON.stringify({ message }))
        }
        if (self.behaviour === "throttle") return error(429, "ThrottlingException", "Too many requests")
        if (self.behaviour === "fail") return error(500, "InternalServerException", "Internal failure")
        if (self.behaviour === "denied") return error(403, "AccessDeniedException", "Not allowed in this account")
        if (self.behaviour === "invalid") return error(400, "ValidationException", "Malformed input request")
        res.writeHead(200, { "content-type": "application/json", "x-amzn-bedrock-input-token-count": "2" })
        res.end(JSON.stringify({ embedding: Array.from({ length: 256 }, (_, i) => i / 512), inputTextTokenCount: 2 }))
      }
      if (self.delayMs > 0) setTimeout(answer, self.delayMs)
      else answer()
    })
  })
  standIns.push(self)
  return self
}

afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
  for (const s of standIns.splice(0)) {
    s.server.closeAllConnections()
    s.server.close()
  }
})
afterAll(() => {})

const identity = {
  aws_access_key_id: "AKIDEXAMPLE",
  aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
}

/** A Titan v2 (256 dimensions) deployment of `alias` on a stand-in, in `region`. */
const titan = (alias: string, to: StandIn, region = "us-east-1", extra: Record<string, unknown> = {}) => ({
  model_name: alias,
  litellm_params: {
    model: "bedrock/amazon.titan-embed-text-v2:0",
    aws_region_name: region,
    aws_bedrock_runtime_endpoint: to.url,
    ...identity,
    dimensions: 256,
    ...extra
  }
})

const configOf = (raw: Record<string, unknown>) => Effect.runPromise(Config.decode(raw))

const start = async (raw: Record<string, unknown>, lines?: Array<string>) => {
  const gateway = await Server.start({
    config: await configOf(raw),
    port: 0,
    log: lines === undefined ? () => {} : (line) => lines.push(line),
    // Backoffs short enough for a test; a move to another deployment has none anyway.
    bedrock: { engine: { retryBaseDelay: "5 millis", maxRetryDelay: "50 millis" } }
  })
  gateways.push(gateway)
  return gateway
}

const embed = async (gateway: Server.Gateway, model: string, input: unknown = "hello") => {
  const response = await fetch(`${gateway.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, input })
  })
  // biome-ignore lint/suspicious/noExplicitAny: the test reads OpenAI's JSON shapes field by field
  return { status: response.status, headers: response.headers, body: (await response.json()) as any }
}

/** Runs `count` tasks, `concurrency` at a time. */
const pool = async <A>(count: number, concurrency: number, task: (i: number) => Promise<A>) => {
  const results: Array<A> = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++
        results[i] = await task(i)
      }
    })
  )
  return results
}

describe("a deployment that throttles every call", () => {
  it("is cooled down: 1000 requests all succeed on the other, ≤ 2 % of them retried once the cooldown is set", async () => {
    const throttled = await standIn("throttle")
    const healthy = await standIn("ok")
    const lines: Array<string> = []
    const gateway = await start(
      {
        model_list: [titan("titan", throttled, "us-east-1"), titan("titan", healthy, "us-west-2")],
        router_settings: { cooldown_time: 1 }
      },
      lines
    )
    const started: Array<number> = []
    const answers = await pool(1000, 16, async (i) => {
      started[i] = Date.now()
      return embed(gateway, "titan", `text ${i}`)
    })
    const statuses = new Map<number, number>()
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
    assert.deepStrictEqual([...statuses], [[200, 1000]], "every request succeeded")
    // Which requests were retried: their log lines (one per request, in request-id order of answers).
    const retriedById = new Map<string, number>()
    for (const line of lines) {
      const fields = JSON.parse(line)
      if (fields.route === "embeddings") retriedById.set(fields.request_id, fields.retries)
    }
    const cooledAt = throttled.firstAnswer!
    const after = answers.map((answer, i) => ({ answer, at: started[i]! })).filter(({ at }) => at > cooledAt)
    const retriedAfter = after.filter(({ answer }) => retriedById.get(answer.headers.get("x-request-id")!)! > 0)
    const retriedAll = answers.filter((answer) => retriedById.get(answer.headers.get("x-request-id")!)! > 0)
    console.log(
      `router: 1000 requests, ${throttled.calls} calls to the throttling deployment, ${healthy.calls} to the other; ` +
        `${retriedAll.length} requests retried in all, ${retriedAfter.length} of the ${after.length} sent after the cooldown set in ` +
        `(${((100 * retriedAfter.length) / after.length).toFixed(2)} %)`
    )
    assert.isAbove(after.length, 900)
    assert.isAtMost(retriedAfter.length / after.length, 0.02)
    assert.strictEqual(healthy.calls, 1000, "each request's call succeeded once, on the healthy deployment")
    assert.strictEqual(
      throttled.calls,
      retriedAll.length,
      "every call to the throttling deployment was retried elsewhere"
    )
  })

  it("costs the throttling deployment one call per cooldown (a trial), not one per call in flight", async () => {
    const throttled = await standIn("throttle")
    const healthy = await standIn("ok", 20)
    const gateway = await start({
      model_list: [titan("titan", throttled, "us-east-1"), titan("titan", healthy, "us-west-2")],
      router_settings: { cooldown_time: 0.2 }
    })
    const first = Date.now()
    await pool(300, 16, (i) => embed(gateway, "titan", `t${i}`))
    const cooldowns = (Date.now() - first) / 200
    // Before the first throttle is back, up to 16 requests may have picked it; after, one per cooldown.
    assert.isAtMost(throttled.calls, 16 + Math.ceil(cooldowns) + 1)
    assert.strictEqual(healthy.calls, 300)
  })
})

describe("one retry loop", () => {
  it("num_retries bounds every attempt of a call across deployments: 2 retries are 3 calls, not 3 × 3", async () => {
    const a = await standIn("throttle")
    const b = await standIn("throttle")
    const gateway = await start({
      model_list: [titan("titan", a, "us-east-1"), titan("titan", b, "us-west-2")],
      router_settings: { num_retries: 2 }
    })
    const answer = await embed(gateway, "titan")
    assert.strictEqual(answer.status, 429, JSON.stringify(answer.body))
    assert.strictEqual(a.calls + b.calls, 3)
    assert.isAtLeast(a.calls, 1)
    assert.isAtLeast(b.calls, 1)
  })

  it("retry_policy bounds the retries of one error kind: RateLimitErrorRetries 0 sends one call", async () => {
    const a = await standIn("throttle")
    const b = await standIn("throttle")
    const gateway = await start({
      model_list: [titan("titan", a, "us-east-1"), titan("titan", b, "us-west-2")],
      router_settings: { num_retries: 5, retry_policy: { RateLimitErrorRetries: 0 } }
    })
    assert.strictEqual((await embed(gateway, "titan")).status, 429)
    assert.strictEqual(a.calls + b.calls, 1)
  })

  it("moves an access-denied call to the other account, and never a request Bedrock refused as invalid", async () => {
    const denied = await standIn("denied")
    const ok = await standIn("ok")
    // Weighted so that the denied one is picked (a request picks it with odds 99 in 100).
    const gateway = await start({
      model_list: [titan("titan", denied, "us-east-1", { weight: 99 }), titan("titan", ok, "us-west-2")]
    })
    for (let i = 0; i < 10; i++) assert.strictEqual((await embed(gateway, "titan", `t${i}`)).status, 200)
    assert.strictEqual(ok.calls, 10)
    assert.strictEqual(denied.calls, 1, "cooled down after its first refusal")
    // /metrics shows the router's view: the denied deployment down and cooled once, the other up.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    const sample = (name: string, deployment: string) =>
      Number(metrics.match(new RegExp(`^${name}\\{[^}]*deployment="${deployment}"[^}]*\\} (\\S+)$`, "m"))?.[1])
    assert.strictEqual(sample("bedrock_embed_deployment_cooldowns_total", "titan/0"), denied.calls)
    assert.strictEqual(sample("bedrock_embed_deployment_up", "titan/0"), 0)
    assert.strictEqual(sample("bedrock_embed_deployment_up", "titan/1"), 1)
    assert.strictEqual(sample("bedrock_embed_deployment_in_flight_calls", "titan/1"), 0)
    const invalidA = await standIn("invalid")
    const invalidB = await standIn("invalid")
    const strict = await start({ model_list: [titan("v", invalidA), titan("v", invalidB, "us-west-2")] })
    assert.strictEqual((await embed(strict, "v")).status, 400)
    assert.strictEqual(invalidA.calls + invalidB.calls, 1)
  })
})

describe("cooldowns", () => {
  it("allowed_fails: a deployment is cooled down only after more failures than allowed in a minute", async () => {
    const failing = await standIn("fail")
    const ok = await standIn("ok")
    const gateway = await start({
      model_list: [titan("titan", failing), titan("titan", ok, "us-west-2")],
      router_settings: { allowed_fails: 2, cooldown_time: 60 }
    })
    let sent = 0
    while (failing.calls < 3 && sent < 200) {
      assert.strictEqual((await embed(gateway, "titan", `t${sent}`)).status, 200)
      sent++
    }
    assert.strictEqual(failing.calls, 3, "three failures reached it: two allowed, the third cooled it")
    for (let i = 0; i < 30; i++) await embed(gateway, "titan", `after ${i}`)
    assert.strictEqual(failing.calls, 3, "none after it was cooled down")
  })

  it("disable_cooldowns keeps a failing deployment in the picks", async () => {
    const failing = await standIn("throttle")
    const ok = await standIn("ok")
    const gateway = await start({
      model_list: [titan("titan", failing), titan("titan", ok, "us-west-2")],
      router_settings: { disable_cooldowns: true }
    })
    for (let i = 0; i < 40; i++) assert.strictEqual((await embed(gateway, "titan", `t${i}`)).status, 200)
    assert.isAtLeast(failing.calls, 8, `simple-shuffle kept sending to it (${failing.calls} of 40)`)
  })
})

describe("fallbacks", () => {
  it("a request whose alias fails goes to its fallback; a refused request does not", async () => {
    const down = await standIn("fail")
    const backup = await standIn("ok")
    const gateway = await start({
      model_list: [titan("primary", down), titan("backup", backup, "eu-west-1")],
      router_settings: { num_retries: 1, fallbacks: [{ primary: ["backup"] }] }
    })
    const answer = await embed(gateway, "primary")
    assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
    assert.strictEqual(answer.headers.get("x-bedrock-embed-fallback"), "backup")
    assert.strictEqual(answer.body.model, "primary")
    assert.strictEqual(down.calls, 2, "its own call and one retry first")
    assert.strictEqual(backup.calls, 1)
    down.behaviour = "invalid"
    const refused = await embed(gateway, "primary")
    assert.strictEqual(refused.status, 400)
    assert.strictEqual(backup.calls, 1, "a request Bedrock refused is not sent to the fallback")
  })

  it("litellm_settings.fallbacks works too, and each fallback is tried in order", async () => {
    const down = await standIn("throttle")
    const alsoDown = await standIn("fail")
    const backup = await standIn("ok")
    const gateway = await start({
      model_list: [titan("a", down), titan("b", alsoDown), titan("c", backup)],
      router_settings: { num_retries: 0 },
      litellm_settings: { fallbacks: [{ a: ["b", "c"] }] }
    })
    const answer = await embed(gateway, "a")
    assert.strictEqual(answer.status, 200)
    assert.strictEqual(answer.headers.get("x-bedrock-embed-fallback"), "c")
    assert.deepStrictEqual([down.calls, alsoDown.calls, backup.calls], [1, 1, 1])
  })

  it("a fallback to vectors of another length, or to an alias that does not exist, is refused at start", async () => {
    const s = await standIn("ok")
    const cohere = {
      model_name: "cohere",
      litellm_params: {
        model: "bedrock/cohere.embed-english-v3",
        aws_region_name: "us-east-1",
        aws_bedrock_runtime_endpoint: s.url,
        ...identity
      }
    }
    const refusal = async (raw: Record<string, unknown>) => {
      const error = await start(raw).then(
        () => undefined,
        (e: unknown) => e as Error
      )
      assert.isDefined(error, "the gateway did not start")
      return String(error?.message ?? error)
    }
    const mismatch = await refusal({
      model_list: [titan("titan", s), cohere],
      router_settings: { fallbacks: [{ titan: ["cohere"] }] }
    })
    assert.match(
      mismatch,
      /router_settings\.fallbacks\[0\]\.titan: "titan" makes vectors of 256 dimensions and "cohere" of 1024/
    )
    assert.notInclude(mismatch, identity.aws_secret_access_key)
    const missing = await refusal({
      model_list: [titan("titan", s)],
      litellm_settings: { fallbacks: [{ titan: ["nosuch"] }] }
    })
    assert.match(missing, /litellm_settings\.fallbacks\[0\]\.titan: no deployment in model_list is named "nosuch"/)
    const mixed = await refusal({
      model_list: [titan("titan", s), titan("titan", s, "us-west-2", { dimensions: 512 })]
    })
    assert.match(mixed, /the deployments of "titan" make vectors of different lengths \(256 and 512/)
    assert.strictEqual(s.calls, 0, "refused before any call")
  })

  it("refuses an unknown routing strategy or policy key when the config loads", async () => {
    const s = await standIn("ok")
    const bad = (router_settings: Record<string, unknown>) =>
      Effect.runPromise(Effect.flip(Config.decode({ model_list: [titan("titan", s)], router_settings })))
    const strategy = await bad({ routing_strategy: "usage-based-routing" })
    assert.strictEqual(strategy.path, "router_settings.routing_strategy")
    assert.include(strategy.message, "supported: simple-shuffle, least-busy, latency-based-routing")
    const policy = await bad({ retry_policy: { RateLimitErrorRetry: 1 } })
    assert.strictEqual(policy.path, "router_settings.retry_policy.RateLimitErrorRetry")
    assert.include(policy.message, "RateLimitErrorRetries")
  })
})

describe("routing strategies", () => {
  it("simple-shuffle follows the deployments' weight", async () => {
    const light = await standIn("ok")
    const heavy = await standIn("ok")
    const gateway = await start({
      model_list: [titan("titan", light, "us-east-1", { weight: 1 }), titan("titan", heavy, "us-west-2", { weight: 3 })]
    })
    await pool(400, 8, (i) => embed(gateway, "titan", `t${i}`))
    // 300 expected; a binomial(400, 0.75) is within ±45 with odds far beyond a billion to one.
    assert.approximately(heavy.calls, 300, 45)
    assert.strictEqual(light.calls + heavy.calls, 400)
  })

  it("latency-based-routing sends to the faster deployment", async () => {
    const slow = await standIn("ok", 60)
    const fast = await standIn("ok", 0)
    const gateway = await start({
      model_list: [titan("titan", slow), titan("titan", fast, "us-west-2")],
      router_settings: { routing_strategy: "latency-based-routing" }
    })
    for (let i = 0; i < 40; i++) await embed(gateway, "titan", `t${i}`)
    // Each is measured on its first pick; from then on the fast one wins.
    assert.isAtMost(slow.calls, 2)
    assert.isAtLeast(fast.calls, 38)
  })

  it("least-busy sends to the deployment with fewer calls in flight", async () => {
    const slow = await standIn("ok", 200)
    const fast = await standIn("ok", 0)
    const gateway = await start({
      model_list: [titan("titan", slow), titan("titan", fast, "us-west-2")],
      router_settings: { routing_strategy: "least-busy" }
    })
    await pool(200, 8, (i) => embed(gateway, "titan", `t${i}`))
    // The slow one holds its calls 200 ms: while it has one in flight, the idle fast one is picked.
    assert.isAbove(fast.calls, slow.calls * 4, `fast ${fast.calls}, slow ${slow.calls}`)
  })
})

describe("health", () => {
  it("GET /health embeds one word on each deployment and lists the healthy and the unhealthy, with no secret", async () => {
    const denied = await standIn("denied")
    const ok = await standIn("ok")
    const gateway = await start({
      model_list: [
        titan("titan", denied, "us-east-1"),
        titan("titan", ok, "us-west-2"),
        {
          model_name: "jobs",
          litellm_params: {
            model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0",
            aws_bedrock_runtime_endpoint: ok.url,
            ...identity
          }
        }
      ],
      general_settings: { master_key: "sk-health-master" }
    })
    const anonymous = await fetch(`${gateway.url}/health`)
    assert.strictEqual(anonymous.status, 401)
    const response = await fetch(`${gateway.url}/health`, { headers: { authorization: "Bearer sk-health-master" } })
    const text = await response.text()
    assert.strictEqual(response.status, 200, text)
    const health = JSON.parse(text)
    assert.strictEqual(health.healthy_count, 1)
    assert.strictEqual(health.unhealthy_count, 1)
    assert.deepStrictEqual(
      health.healthy_endpoints.map((e: { id: string; aws_region_name: string }) => [e.id, e.aws_region_name]),
      [["titan/1", "us-west-2"]]
    )
    assert.strictEqual(health.unhealthy_endpoints[0].id, "titan/0")
    assert.include(health.unhealthy_endpoints[0].error, "AccessDeniedError")
    assert.deepStrictEqual(
      health.unchecked_endpoints.map((e: { id: string }) => e.id),
      ["jobs/0"],
      "an async-invoke route is not probed (a probe would start a job)"
    )
    for (const secret of [identity.aws_secret_access_key, "sk-health-master", ok.url, denied.url]) {
      assert.notInclude(text, secret)
    }
    assert.strictEqual(ok.calls, 1)
    const one = await fetch(`${gateway.url}/health?model=jobs`, {
      headers: { authorization: "Bearer sk-health-master" }
    })
    assert.strictEqual(((await one.json()) as { healthy_count: number }).healthy_count, 0)
    assert.strictEqual(ok.calls, 1, "?model= checks only that alias")
  })

  it("background health checks run every health_check_interval and keep a failed deployment out of the picks", async () => {
    const broken = await standIn("fail")
    const ok = await standIn("ok")
    const gateway = await start({
      model_list: [titan("titan", broken), titan("titan", ok, "us-west-2")],
      router_settings: { allowed_fails: 1000 },
      general_settings: { background_health_checks: true, health_check_interval: 0.2 }
    })
    await new Promise((resolve) => setTimeout(resolve, 700))
    const probes = ok.calls
    assert.isAtLeast(probes, 3, `probed every 0.2 s: ${probes} probes in 0.7 s`)
    for (let i = 0; i < 20; i++) assert.strictEqual((await embed(gateway, "titan", `t${i}`)).status, 200)
    const health = (await (await fetch(`${gateway.url}/health`)).json()) as {
      unhealthy_endpoints: Array<{ id: string; error: string }>
    }
    assert.strictEqual(health.unhealthy_endpoints[0]!.id, "titan/0")
    assert.include(health.unhealthy_endpoints[0]!.error, "ServiceUnavailableError")
    // Only the probes reach the broken deployment, never a request (allowed_fails keeps it from a cooldown).
    assert.isAtLeast(broken.texts.length, 3)
    assert.deepStrictEqual(new Set(broken.texts), new Set(["health"]))
    assert.strictEqual(ok.texts.filter((t) => t.startsWith("t")).length, 20)
  })
})
