/**
 * A virtual key's `rpm_limit` and `tpm_limit`: in one gateway, and shared by two gateways through
 * a real `redis-server`; and the spend of a key's requests that do not finish. The upstream is a `node:http` stand-in written here that counts every
 * InvokeModel it receives and reports 6 input tokens for each, so "no Bedrock call" and "the
 * tokens Bedrock counted" are read from outside the gateway.
 */
import { once } from "node:events"
import { mkdtemp } from "node:fs/promises"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type RedisServer, redisBinary, startRedis } from "./support/redis.ts"

const masterKey = "sk-master-limits-test"
const TOKENS_PER_CALL = 6
let calls = 0
let upstream: Http.Server
let upstreamUrl: string
let dir: string
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  upstream = Http.createServer((req, res) => {
    calls++
    let body = ""
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on("end", () => {
      // A text that Bedrock refuses, and one it takes its time over (for requests that do not finish).
      if (body.includes("poison")) {
        // Refused after the others were answered (a failure interrupts the calls still running).
        setTimeout(() => {
          res.writeHead(400, { "content-type": "application/json", "x-amzn-errortype": "ValidationException" })
          res.end(JSON.stringify({ message: "Malformed input request: poison" }))
        }, 200)
        return
      }
      if (body.includes("slow")) {
        const timer = setTimeout(() => res.end(), 10_000)
        res.on("close", () => clearTimeout(timer))
        return
      }
      res.writeHead(200, {
        "content-type": "application/json",
        "x-amzn-bedrock-input-token-count": String(TOKENS_PER_CALL)
      })
      res.end(JSON.stringify({ embedding: Array.from({ length: 256 }, (_, i) => i / 512), inputTextTokenCount: 6 }))
    })
  })
  upstream.listen(0, "127.0.0.1")
  await once(upstream, "listening")
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-limits-"))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  upstream.closeAllConnections()
  upstream.close()
})

const configOf = (routerSettings: Record<string, unknown> = {}) =>
  Effect.runPromise(
    Config.decode({
      model_list: [
        {
          model_name: "titan",
          litellm_params: {
            model: "bedrock/amazon.titan-embed-text-v2:0",
            aws_region_name: "us-east-1",
            aws_bedrock_runtime_endpoint: upstreamUrl,
            aws_access_key_id: "AKIDEXAMPLE",
            aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            dimensions: 256
          }
        }
      ],
      router_settings: routerSettings,
      general_settings: { master_key: masterKey }
    })
  )

const start = async (database: string, routerSettings?: Record<string, unknown>) => {
  const gateway = await Server.start({ config: await configOf(routerSettings), port: 0, database, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const post = async (gateway: Server.Gateway, path: string, key: string, body: unknown) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  // biome-ignore lint/suspicious/noExplicitAny: the test reads LiteLLM's JSON shapes field by field
  return { status: response.status, headers: response.headers, body: (await response.json()) as any }
}

const generate = async (gateway: Server.Gateway, limits: Record<string, number>) => {
  const generated = await post(gateway, "/key/generate", masterKey, { key_alias: "limited", ...limits })
  assert.strictEqual(generated.status, 200, JSON.stringify(generated.body))
  return generated.body.key as string
}

const embed = (gateway: Server.Gateway, key: string, text = "hello") =>
  post(gateway, "/v1/embeddings", key, { model: "titan", input: text })

/**
 * Asserts LiteLLM's rate-limit answer: 429, `Max parallel request limit reached`, a `retry-after`
 * of at most `maxWait` seconds (a window is a minute; one overdrawn by tokens lasts longer in
 * proportion: each token is 60 s / tpm_limit of it).
 */
const assertLimited = (answer: Awaited<ReturnType<typeof embed>>, what: "rpm" | "tpm", limit: number, maxWait = 60) => {
  assert.strictEqual(answer.status, 429)
  assert.strictEqual(answer.body.error.type, "rate_limit_error")
  assert.strictEqual(answer.body.error.code, "429")
  assert.include(answer.body.error.message, "Max parallel request limit reached")
  assert.include(answer.body.error.message, `${what}_limit: ${limit}`)
  const retryAfter = Number(answer.headers.get("retry-after"))
  assert.isTrue(retryAfter >= 1 && retryAfter <= maxWait, `retry-after ${answer.headers.get("retry-after")}`)
}

describe("per-key limits in one gateway", () => {
  it("refuses the request past rpm_limit with 429 and makes no Bedrock call for it", async () => {
    const gateway = await start(join(dir, "rpm.db"))
    const key = await generate(gateway, { rpm_limit: 3 })
    const before = calls
    for (let i = 0; i < 3; i++) assert.strictEqual((await embed(gateway, key, `text ${i}`)).status, 200)
    const refused = await embed(gateway, key, "one too many")
    assertLimited(refused, "rpm", 3)
    assert.strictEqual(calls - before, 3, "three Bedrock calls, none for the refused request")
    // Another key is not affected, nor is the master key.
    const other = await generate(gateway, { rpm_limit: 3 })
    assert.strictEqual((await embed(gateway, other)).status, 200)
    assert.strictEqual((await embed(gateway, masterKey)).status, 200)
  })

  it("counts the tokens Bedrock reported toward tpm_limit, embeddings included", async () => {
    const gateway = await start(join(dir, "tpm.db"))
    // 6 tokens a request: 0 and 6 are under 10, then 12 tokens are spent.
    const key = await generate(gateway, { tpm_limit: 10 })
    const before = calls
    const first = await embed(gateway, key, "first")
    assert.strictEqual(first.status, 200)
    assert.strictEqual(first.body.usage.prompt_tokens, TOKENS_PER_CALL)
    assert.strictEqual((await embed(gateway, key, "second")).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const refused = await embed(gateway, key, "third")
    // 12 tokens at 6 s each (60 s / 10): the window ends 72 s after it started.
    assertLimited(refused, "tpm", 10, 72)
    assert.include(refused.body.error.message, "current tpm: 12")
    assert.strictEqual(calls - before, 2)
  })

  it("a limit of 0 refuses every request", async () => {
    const gateway = await start(join(dir, "zero.db"))
    const key = await generate(gateway, { rpm_limit: 0 })
    const before = calls
    assertLimited(await embed(gateway, key), "rpm", 0)
    assert.strictEqual(calls, before)
  })
})

const redis = redisBinary()

describe.skipIf("missing" in redis)(
  `per-key limits shared through Redis${"missing" in redis ? ` (skipped: ${redis.missing})` : ""}`,
  () => {
    let server: RedisServer
    const password = "redis-secret-for-limits"
    beforeAll(async () => {
      if ("path" in redis) server = await startRedis(redis.path, password)
    })
    afterAll(async () => {
      await server?.stop()
    })
    const settings = () => ({ redis_host: "127.0.0.1", redis_port: String(server.port), redis_password: password })

    it("one key's RPM limit holds for two gateways together", async () => {
      // The two share the key database (one SQLite file) and the counters (one Redis).
      const database = join(dir, "fleet.db")
      const a = await start(database, settings())
      const b = await start(database, settings())
      const limit = 40
      const key = await generate(a, { rpm_limit: limit })
      const before = calls
      const answers = await Promise.all(
        Array.from({ length: 120 }, (_, i) => embed(i % 2 === 0 ? a : b, key, `fleet ${i}`))
      )
      const served = answers.filter((answer) => answer.status === 200).length
      const refused = answers.filter((answer) => answer.status === 429)
      assert.isTrue(Math.abs(served - limit) <= limit * 0.1, `${served} served for a limit of ${limit}`)
      assert.strictEqual(served + refused.length, answers.length, "every other request was refused with 429")
      for (const answer of refused.slice(0, 3)) assertLimited(answer, "rpm", limit)
      assert.strictEqual(calls - before, served, "no Bedrock call for a refused request")
      // Both gateways served some and refused some: the count is shared, not per process.
      const byGateway = (parity: number, status: number) =>
        answers.filter((answer, i) => i % 2 === parity && answer.status === status).length
      assert.isAbove(byGateway(0, 200) + byGateway(1, 200), 0)
      assert.isAtMost(byGateway(0, 200), limit)
      assert.isAtMost(byGateway(1, 200), limit)
    })

    it("tokens counted on one gateway are spent on the other", async () => {
      const database = join(dir, "fleet-tpm.db")
      const a = await start(database, settings())
      const b = await start(database, settings())
      const key = await generate(a, { tpm_limit: 10 })
      assert.strictEqual((await embed(a, key, "on a")).status, 200)
      assert.strictEqual((await embed(a, key, "on a again")).status, 200)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assertLimited(await embed(b, key, "on b"), "tpm", 10, 72)
    })

    it("a Redis that cannot be reached stops the gateway from starting, with a message and no password", async () => {
      const error = await start(join(dir, "unreachable.db"), {
        redis_host: "127.0.0.1",
        redis_port: 1,
        redis_password: password
      }).then(
        () => undefined,
        (cause: unknown) => cause
      )
      const message = String(error instanceof Error ? error.message : error)
      assert.include(message, "cannot connect to the Redis for rate limits at 127.0.0.1:1")
      assert.notInclude(message, password)
    })

    it("when Redis goes away, requests are still served and counted in the gateway", async () => {
      const own = "path" in redis ? await startRedis(redis.path) : server
      const gateway = await start(join(dir, "redis-gone.db"), { redis_host: "127.0.0.1", redis_port: own.port })
      const key = await generate(gateway, { rpm_limit: 2 })
      assert.strictEqual((await embed(gateway, key, "with redis")).status, 200)
      await own.stop()
      // Counted in this process from here: its own window starts empty, so two more pass, then 429.
      assert.strictEqual((await embed(gateway, key, "without redis 1")).status, 200)
      assert.strictEqual((await embed(gateway, key, "without redis 2")).status, 200)
      assertLimited(await embed(gateway, key, "without redis 3"), "rpm", 2)
    })
  }
)

describe("Redis settings in config.yaml", () => {
  it("take a port as a number or as text, and refuse one that is not a port, naming the field", async () => {
    const decode = (routerSettings: Record<string, unknown>) =>
      Effect.runPromise(
        Effect.result(
          Config.decode({
            model_list: [{ model_name: "titan", litellm_params: { model: "bedrock/amazon.titan-embed-text-v2:0" } }],
            router_settings: routerSettings
          })
        )
      )
    const asText = await decode({ redis_host: "redis.internal", redis_port: "6380" })
    assert.strictEqual(asText._tag, "Success")
    if (asText._tag === "Success") assert.strictEqual(asText.success.router_settings?.redis_port, 6380)
    const bad = await decode({ redis_host: "redis.internal", redis_port: "sixty" })
    assert.strictEqual(bad._tag, "Failure")
    if (bad._tag === "Failure") assert.include(String(bad.failure.message), "redis_port")
    const tooBig = await decode({ redis_host: "redis.internal", redis_port: 70_000 })
    assert.strictEqual(tooBig._tag, "Failure")
  })
})

describe("spend of a request that does not finish", () => {
  /** Titan Text v2's shipped price per input token. */
  const perToken = 0.00000002
  const logsOf = async (gateway: Server.Gateway, key: string) => {
    const response = await fetch(`${gateway.url}/spend/logs?api_key=${key}`, {
      headers: { authorization: `Bearer ${masterKey}` }
    })
    return (await response.json()) as Array<{
      status: string
      spend: number
      prompt_tokens: number
      model_group: string
    }>
  }

  it("records what Bedrock billed before the request failed", async () => {
    const gateway = await start(join(dir, "partial.db"))
    const key = await generate(gateway, {})
    // Titan takes one text per call: two calls succeed, the third is refused.
    const failed = await post(gateway, "/v1/embeddings", key, { model: "titan", input: ["one", "two", "poison"] })
    assert.strictEqual(failed.status, 400)
    const [row] = await logsOf(gateway, key)
    assert.strictEqual(row!.status, "failure")
    assert.strictEqual(row!.model_group, "titan")
    assert.strictEqual(row!.prompt_tokens, 2 * TOKENS_PER_CALL)
    assert.closeTo(row!.spend, 2 * TOKENS_PER_CALL * perToken, 1e-18)
  })

  it("records what Bedrock billed before the client left", async () => {
    const gateway = await start(join(dir, "left.db"))
    const key = await generate(gateway, {})
    const left = await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "titan", input: ["one", "two", "three", "slow"] }),
      signal: AbortSignal.timeout(500)
    }).then(
      () => "answered",
      () => "left"
    )
    assert.strictEqual(left, "left")
    let rows: Awaited<ReturnType<typeof logsOf>> = []
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      rows = await logsOf(gateway, key)
    }
    assert.strictEqual(rows.length, 1)
    assert.strictEqual(rows[0]!.status, "failure")
    assert.strictEqual(rows[0]!.prompt_tokens, 3 * TOKENS_PER_CALL)
    assert.closeTo(rows[0]!.spend, 3 * TOKENS_PER_CALL * perToken, 1e-18)
  })
})
