/**
 * What two gateways sharing one key database must do, whichever database it is (a SQLite file,
 * a Postgres server): the same tests, registered by {@link fleetTests} inside a `describe`.
 */
import { createHash } from "node:crypto"
import { EMULATOR_CREDENTIALS, type Emulator } from "@bedrock-embed/emulator"
import type { Server } from "@bedrock-embed/proxy"
import { assert, beforeAll, it } from "@effect/vitest"
import { ttlMillis } from "../../src/internal/team/cache.ts"

/** A deployment of `model` under `alias`, on the emulator with its credentials. */
export const deployment = (emulator: Emulator, alias: string, model: string) => ({
  model_name: alias,
  litellm_params: {
    model,
    aws_region_name: "us-east-1",
    aws_bedrock_runtime_endpoint: emulator.url,
    aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
    aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
  }
})

/** The master key the fleet's gateways are started with. */
export const masterKey = "sk-master-fleet-test"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: the tests read LiteLLM's JSON shapes field by field
  readonly body: any
}

export const call = async (
  gateway: Server.Gateway,
  method: string,
  path: string,
  key: string,
  body?: unknown
): Promise<Reply> => {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
}

export const embed = (gateway: Server.Gateway, key: string, model: string, input: unknown = ["hello", "fleet"]) =>
  call(gateway, "POST", "/v1/embeddings", key, { model, input })

/** A new key's token, made with the master key. */
export const generate = async (gateway: Server.Gateway, body: Record<string, unknown>): Promise<string> => {
  const generated = await call(gateway, "POST", "/key/generate", masterKey, body)
  assert.strictEqual(generated.status, 200, JSON.stringify(generated.body))
  return generated.body.key as string
}

export const costOf = (reply: Reply): number => Number(reply.headers.get("x-bedrock-embed-response-cost"))
export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Waits past the key cache's lifetime, with room for a busy machine. */
export const pastTtl = (): Promise<unknown> => sleep(ttlMillis + 500)

/** What the shared tests need of their file. */
export interface Fleet {
  /** A gateway with {@link masterKey} on the shared database, closed by the file. */
  readonly start: () => Promise<Server.Gateway>
  readonly emulator: () => Emulator
  /** Runs SQL on the database directly; rows as `|`-separated columns. */
  readonly query: (sql: string) => ReadonlyArray<string>
}

/** Registers the fleet tests on two gateways started (before them) with `fleet.start`. */
export const fleetTests = (fleet: Fleet): void => {
  let a: Server.Gateway
  let b: Server.Gateway
  beforeAll(async () => {
    a = await fleet.start()
    b = await fleet.start()
  })

  it("serves a key made on one gateway on the other, and sums both gateways' spend in /key/info and /spend/logs", async () => {
    const key = await generate(a, { models: ["titan"], max_budget: 100, key_alias: "fleet" })
    const firstUse = await embed(b, key, "titan")
    assert.strictEqual(firstUse.status, 200, "generated on A, used on B at once")
    // Concurrent requests through both gateways: their spend lands in the same row.
    const results = [
      firstUse,
      ...(await Promise.all(
        Array.from({ length: 24 }, (_, i) => embed(i % 2 === 0 ? a : b, key, "titan", `request ${i} ${"x".repeat(i)}`))
      ))
    ]
    for (const result of results) assert.strictEqual(result.status, 200)
    const sum = results.reduce((total, r) => total + costOf(r), 0)
    assert.isAbove(sum, 0)

    // Each gateway writes its own spend before it answers a spend read (A's first, then B's,
    // each then seen by the other: a gateway writes its batch up to 25 ms after its first row).
    await call(a, "GET", `/spend/logs?api_key=${key}`, masterKey)
    const logsB = await call(b, "GET", `/spend/logs?api_key=${key}`, masterKey)
    const info = await call(a, "GET", `/key/info?key=${key}`, masterKey)
    const logsA = await call(a, "GET", `/spend/logs?api_key=${key}`, masterKey)
    assert.strictEqual(logsA.body.length, 25)
    assert.deepStrictEqual(
      logsB.body.map((row: { request_id: string }) => row.request_id).sort(),
      logsA.body.map((row: { request_id: string }) => row.request_id).sort()
    )
    const logged = logsA.body.reduce((total: number, row: { spend: number }) => total + row.spend, 0)
    assert.closeTo(logged, sum, 1e-12, "every request's cost is logged")
    assert.closeTo(info.body.info.spend, sum, 1e-12, "and added to the key's spend")
    const [stored] = fleet.query(
      `SELECT k.spend - (SELECT SUM(cost) FROM spend_logs WHERE key_hash = k.token) FROM keys k WHERE token = '${sha256(key)}'`
    )
    assert.closeTo(Number(stored), 0, 1e-12, "spend = the sum of its logged requests, in the database itself")
    assert.strictEqual(logsA.body[0].model_group, "titan")
    assert.strictEqual(logsA.body[0].model, "amazon.titan-embed-text-v2:0")

    // Hashes only: the token is in no row.
    assert.deepStrictEqual(fleet.query(`SELECT count(*) FROM keys WHERE token = '${key}'`), ["0"])
    assert.notInclude(
      fleet.query("SELECT token || key_name || COALESCE(key_alias, '') || models || metadata FROM keys").join("\n"),
      key
    )
    const list = await call(b, "GET", "/key/list", masterKey)
    assert.include(list.body.keys, sha256(key))
  })

  it("refuses a key over budget on both gateways (its own at once, the other's within the cache TTL), with no Bedrock call", async () => {
    const emulator = fleet.emulator()
    const key = await generate(a, { max_budget: 1e-12 })
    // B reads the key (spend 0) and keeps it for the cache's lifetime.
    assert.strictEqual((await call(b, "GET", "/v1/models", key)).status, 200)
    assert.strictEqual((await embed(a, key, "titan")).status, 200)
    const before = emulator.stats.invocations
    const overA = await embed(a, key, "cohere")
    assert.strictEqual(overA.status, 400, "A counts its own unwritten spend at once")
    assert.strictEqual(overA.body.error.type, "budget_exceeded")
    assert.match(overA.body.error.message, /^Budget has been exceeded! Current cost: [\d.e-]+, Max budget: 1e-12$/)
    await pastTtl()
    const overB = await embed(b, key, "cohere")
    assert.strictEqual(overB.status, 400, "B sees A's spend once its cached row expires")
    assert.strictEqual(overB.body.error.type, "budget_exceeded")
    assert.strictEqual(overB.body.error.message, overA.body.error.message)
    assert.strictEqual(emulator.stats.invocations, before, "no Bedrock call for a refused request")
    // Raising the budget on B lets the key through on B at once.
    assert.strictEqual((await call(b, "POST", "/key/update", masterKey, { key, max_budget: 10 })).status, 200)
    assert.strictEqual((await embed(b, key, "titan")).status, 200)
  })

  it("applies an update or delete at once on the gateway that made it, and on the other within the cache TTL", async () => {
    const key = await generate(a, { models: ["titan"] })
    assert.strictEqual((await embed(b, key, "titan")).status, 200)
    assert.strictEqual((await call(a, "POST", "/key/update", masterKey, { key, models: ["cohere"] })).status, 200)
    const refused = await embed(a, key, "titan")
    assert.strictEqual(refused.status, 401)
    assert.strictEqual(refused.body.error.type, "key_model_access_denied")
    await pastTtl()
    assert.strictEqual((await embed(b, key, "titan")).status, 401)
    assert.strictEqual((await embed(b, key, "cohere")).status, 200)

    assert.deepStrictEqual((await call(b, "POST", "/key/delete", masterKey, { keys: [key] })).body, {
      deleted_keys: [key]
    })
    assert.strictEqual((await embed(b, key, "cohere")).status, 401)
    await pastTtl()
    const gone = await embed(a, key, "cohere")
    assert.strictEqual(gone.status, 401)
    assert.strictEqual(gone.body.error.message, "Invalid API key.")
    assert.strictEqual((await call(a, "GET", `/key/info?key=${key}`, masterKey)).status, 404)
  })
}
