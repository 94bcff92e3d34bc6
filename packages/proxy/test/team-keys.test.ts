/** Virtual keys and spend on the gateway's embedded SQLite database, against the emulator. */
import { existsSync, readFileSync } from "node:fs"
import { once } from "node:events"
import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bedrockEmbed, listening } from "./cli.ts"
import { deployment, fleetTests, masterKey as fleetKey } from "./support/team-fleet.ts"

const masterKey = "sk-master-team-test"
let emulator: Emulator
let dir: string
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  emulator = await startEmulator()
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-team-"))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  await emulator.close()
})

const configOf = (general: Record<string, unknown>) =>
  Effect.runPromise(
    Config.decode({
      model_list: [
        deployment(emulator, "titan", "bedrock/amazon.titan-embed-text-v2:0"),
        deployment(emulator, "cohere", "bedrock/cohere.embed-english-v3")
      ],
      general_settings: general
    })
  )

const start = async (general: Record<string, unknown>, database?: string) => {
  const gateway = await Server.start({ config: await configOf(general), port: 0, database, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const call = async (gateway: Server.Gateway, method: string, path: string, key: string, body?: unknown) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    // biome-ignore lint/suspicious/noExplicitAny: the test reads LiteLLM's JSON shapes field by field
    body: (text === "" ? undefined : JSON.parse(text)) as any
  }
}

const embed = (gateway: Server.Gateway, key: string, model: string, input: unknown = ["hello", "team"]) =>
  call(gateway, "POST", "/v1/embeddings", key, { model, input })

describe("virtual keys (LiteLLM's /key API) on a SQLite file", () => {
  it("restricts a key to its models, records its spend, and keeps it across a restart; the token is never stored", async () => {
    const file = join(dir, "keys.db")
    const gateway = await start({ master_key: masterKey, database_url: `sqlite://${file}` })
    const generated = await call(gateway, "POST", "/key/generate", masterKey, {
      models: ["titan"],
      key_alias: "search-team",
      max_budget: 100,
      metadata: { team: "search" }
    })
    assert.strictEqual(generated.status, 200)
    const key: string = generated.body.key
    assert.match(key, /^sk-/)
    assert.strictEqual(generated.body.key_alias, "search-team")
    assert.deepStrictEqual(generated.body.models, ["titan"])
    assert.strictEqual(generated.body.max_budget, 100)

    const costs: Array<number> = []
    for (const input of ["one", ["two", "three"], "a longer sentence of four"]) {
      const ok = await embed(gateway, key, "titan", input)
      assert.strictEqual(ok.status, 200)
      costs.push(Number(ok.headers.get("x-bedrock-embed-response-cost")))
    }
    const refused = await embed(gateway, key, "cohere")
    assert.strictEqual(refused.status, 401)
    assert.strictEqual(refused.body.error.type, "key_model_access_denied")
    assert.strictEqual(
      refused.body.error.message,
      "key not allowed to access model. This key can only access models=['titan']. Tried to access cohere"
    )
    const models = await call(gateway, "GET", "/v1/models", key)
    assert.deepStrictEqual(
      models.body.data.map((m: { id: string }) => m.id),
      ["titan"]
    )
    const all = await call(gateway, "GET", "/v1/models", masterKey)
    assert.sameMembers(
      all.body.data.map((m: { id: string }) => m.id),
      ["titan", "cohere"]
    )

    const info = await call(gateway, "GET", `/key/info?key=${key}`, masterKey)
    assert.strictEqual(info.status, 200)
    assert.strictEqual(info.body.info.key_name, `sk-...${key.slice(-4)}`)
    assert.deepStrictEqual(info.body.info.metadata, { team: "search" })
    const logs = await call(gateway, "GET", `/spend/logs?api_key=${key}`, masterKey)
    assert.strictEqual(logs.body.length, 3)
    const logged = logs.body.reduce((sum: number, row: { spend: number }) => sum + row.spend, 0)
    const sum = costs.reduce((a, b) => a + b, 0)
    assert.isAbove(sum, 0)
    assert.closeTo(info.body.info.spend, sum, 1e-12)
    assert.closeTo(logged, sum, 1e-12)
    assert.strictEqual(logs.body[0].model_group, "titan")
    assert.strictEqual(logs.body[0].model, "amazon.titan-embed-text-v2:0")
    assert.isAbove(logs.body[0].total_tokens, 0)

    // Hashes only: the token is in neither the list nor the database file (WAL included).
    const list = await call(gateway, "GET", "/key/list", masterKey)
    assert.strictEqual(list.body.keys.length, 1)
    assert.notInclude(JSON.stringify(list.body), key)
    assert.strictEqual(info.body.info.token, list.body.keys[0])
    for (const name of (await readdir(dir)).filter((n) => n.startsWith("keys.db"))) {
      assert.notInclude(readFileSync(join(dir, name)).toString("latin1"), key, name)
    }

    await gateway.close()
    gateways.splice(gateways.indexOf(gateway), 1)
    const again = await start({ master_key: masterKey, database_url: `sqlite://${file}` })
    assert.strictEqual((await embed(again, key, "titan")).status, 200)
    const after = await call(again, "GET", `/key/info?key=${key}`, key)
    assert.strictEqual(after.status, 200, "a key reads its own info")
    assert.isAbove(after.body.info.spend, sum)
  })

  it("refuses a key over its budget with LiteLLM's budget_exceeded and no Bedrock call", async () => {
    const gateway = await start({ master_key: masterKey }, join(dir, "budget.db"))
    const { body } = await call(gateway, "POST", "/key/generate", masterKey, { max_budget: 1e-12 })
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
    const before = emulator.stats.invocations
    const over = await embed(gateway, body.key, "cohere")
    assert.strictEqual(over.status, 400)
    assert.strictEqual(over.body.error.type, "budget_exceeded")
    assert.match(over.body.error.message, /^Budget has been exceeded! Current cost: [\d.e-]+, Max budget: 1e-12$/)
    const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { invocations: number }
    assert.strictEqual(stats.invocations, before, "no Bedrock call")
    // Raising the budget lets it through again.
    assert.strictEqual(
      (await call(gateway, "POST", "/key/update", masterKey, { key: body.key, max_budget: 10 })).status,
      200
    )
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
  })

  it("logs a failed request at 0 with status failure, and a refused one not at all", async () => {
    const gateway = await start({ master_key: masterKey }, join(dir, "failures.db"))
    const { body } = await call(gateway, "POST", "/key/generate", masterKey, { models: ["titan"] })
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
    // Bedrock refuses the call: the request fails after it was admitted.
    emulator.injectFaults([{ error: "ValidationException" }])
    const failed = await embed(gateway, body.key, "titan", ["refused upstream"])
    assert.strictEqual(failed.status, 400)
    // Refused before any call (a model the key may not use): no spend row.
    assert.strictEqual((await embed(gateway, body.key, "cohere")).status, 401)
    const logs = (await call(gateway, "GET", `/spend/logs?api_key=${body.key}`, masterKey)).body as Array<{
      status: string
      spend: number
      model_group: string
    }>
    assert.deepStrictEqual(
      logs.map((row) => [row.status, row.model_group]),
      [
        ["success", "titan"],
        ["failure", "titan"]
      ]
    )
    assert.strictEqual(logs[1]!.spend, 0)
    const info = await call(gateway, "GET", `/key/info?key=${body.key}`, masterKey)
    assert.closeTo(info.body.info.spend, logs[0]!.spend, 1e-15)
  })

  it("resets spend when budget_duration passes", async () => {
    const gateway = await start({ master_key: masterKey }, join(dir, "reset.db"))
    const { body } = await call(gateway, "POST", "/key/generate", masterKey, {
      max_budget: 1e-12,
      budget_duration: "1s"
    })
    assert.isString(body.budget_reset_at)
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 400)
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
  })

  it("administers with the master key only; deletes keys; refuses unknown, deleted and expired keys", async () => {
    const gateway = await start({ master_key: masterKey }, join(dir, "admin.db"))
    const { body } = await call(gateway, "POST", "/key/generate", masterKey, { key_alias: "a" })
    const asKey = await call(gateway, "POST", "/key/generate", body.key, {})
    assert.strictEqual(asKey.status, 401)
    assert.strictEqual(asKey.body.error.code, "invalid_api_key")
    assert.strictEqual((await call(gateway, "GET", "/key/list", body.key)).status, 401)
    assert.strictEqual((await call(gateway, "GET", "/spend/logs", body.key)).status, 401)
    assert.strictEqual((await embed(gateway, "sk-not-a-key", "titan")).status, 401)
    const bad = await call(gateway, "POST", "/key/generate", masterKey, { budget_duration: "soon" })
    assert.strictEqual(bad.status, 400)
    assert.include(bad.body.error.message, "30d")
    const deleted = await call(gateway, "POST", "/key/delete", masterKey, { keys: [body.key] })
    assert.deepStrictEqual(deleted.body, { deleted_keys: [body.key] })
    assert.strictEqual((await embed(gateway, body.key, "titan")).status, 401)
    assert.strictEqual((await call(gateway, "GET", `/key/info?key=${body.key}`, masterKey)).status, 404)
    const expired = await call(gateway, "POST", "/key/generate", masterKey, { duration: "1s" })
    assert.isString(expired.body.expires)
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const late = await embed(gateway, expired.body.key, "titan")
    assert.strictEqual(late.status, 401)
    assert.include(late.body.error.message, "Expired Key")
  })

  it("refuses a database_url it does not support, naming those it does, and never shows a password", async () => {
    const startFails = (url: string) =>
      start({ master_key: masterKey, database_url: url }).then(
        () => "started",
        (error: unknown) => String(error)
      )
    const mysql = await startFails("mysql://team:my-secret-pw@db.internal/litellm")
    assert.include(mysql, '"mysql:" is not a database this gateway supports')
    assert.include(mysql, "postgres://")
    assert.include(mysql, "sqlite:///")
    assert.notInclude(mysql, "my-secret-pw")
    // A Postgres URL is used; one that cannot be reached fails the start, its password masked.
    const unreachable = await startFails("postgres://team:pg-secret-pw@127.0.0.1:1/litellm")
    assert.include(unreachable, "cannot open the key database postgres://team:***@127.0.0.1:1/litellm")
    assert.notInclude(unreachable, "pg-secret-pw")
  })

  it("without a master key creates no database and serves no /key routes", async () => {
    const file = join(dir, "none.db")
    const gateway = await start({ database_url: file })
    assert.strictEqual((await embed(gateway, "", "titan")).status, 200)
    assert.strictEqual((await call(gateway, "POST", "/key/generate", "", {})).status, 404)
    assert.isFalse(existsSync(file))
  })
})

// The fleet tests the Postgres file runs, on a SQLite file two gateways share (as workers on one host would).
describe("two gateways on one SQLite file", () => {
  const file = () => join(dir, "fleet.db")
  fleetTests({
    start: () => start({ master_key: fleetKey, database_url: `sqlite://${file()}` }),
    emulator: () => emulator,
    query: (sql) => {
      const db = new DatabaseSync(file(), { readOnly: true })
      try {
        return db
          .prepare(sql)
          .all()
          .map((row) => Object.values(row).join("|"))
      } finally {
        db.close()
      }
    }
  })
})

describe("bedrock-embed serve with a master key", () => {
  it("keeps keys in bedrock-embed.db next to the config, and prints no warning", async () => {
    const home = join(dir, "served")
    await mkdir(home)
    const file = join(home, "config.yaml")
    await writeFile(
      file,
      `model_list:\n  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan-embed-text-v2:0\n` +
        `      aws_region_name: us-east-1\n      aws_bedrock_runtime_endpoint: ${emulator.url}\n` +
        `general_settings:\n  master_key: os.environ/TEAM_MASTER_KEY\n`
    )
    const child = bedrockEmbed(["serve", "--config", file, "--port", "0"], { TEAM_MASTER_KEY: masterKey })
    let err = ""
    child.stderr!.on("data", (d) => {
      err += d
    })
    try {
      const { url, out } = await listening(child)
      const gateway = { url, port: 0, close: async () => {} }
      const { body } = await call(gateway, "POST", "/key/generate", masterKey, { models: ["titan"] })
      assert.strictEqual((await embed(gateway, body.key, "titan")).status, 200)
      assert.isTrue(existsSync(join(home, "bedrock-embed.db")))
      assert.notMatch(out, /warning/i)
    } finally {
      child.kill("SIGINT")
      await once(child, "exit")
    }
    assert.notMatch(err, /ExperimentalWarning/)
  })
})
