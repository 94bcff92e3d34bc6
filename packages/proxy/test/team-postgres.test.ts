/**
 * Virtual keys and spend in Postgres (`database_url: postgres://…`), shared by two gateways, on a
 * real Postgres server started here (Debian's `postgresql`), against the emulator. Without the
 * server's binaries these tests skip, saying why — except under `CI=true`, where they fail.
 */
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ttlMillis } from "../src/internal/team/cache.ts"
import { type Postgres, startPostgres, unavailable } from "./support/postgres.ts"
import { call, costOf, deployment, embed, fleetTests, generate, masterKey } from "./support/team-fleet.ts"

const missing = unavailable()
const required = process.env.CI === "true"
if (missing !== undefined && !required) console.warn(`team-postgres.test.ts skipped: ${missing}`)

let pg: Postgres
let emulator: Emulator
const gateways: Array<Server.Gateway> = []

/** A gateway on the shared database. */
const start = async () => {
  const config = await Effect.runPromise(
    Config.decode({
      model_list: [
        deployment(emulator, "titan", "bedrock/amazon.titan-embed-text-v2:0"),
        deployment(emulator, "cohere", "bedrock/cohere.embed-english-v3")
      ],
      general_settings: { master_key: masterKey, database_url: pg.url }
    })
  )
  const gateway = await Server.start({ config, port: 0, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const stop = async (gateway: Server.Gateway) => {
  await gateway.close()
  gateways.splice(gateways.indexOf(gateway), 1)
}

describe.skipIf(missing !== undefined && !required)(
  "virtual keys and spend on a Postgres shared by two gateways",
  () => {
    beforeAll(async () => {
      if (missing !== undefined) throw new Error(`${missing}; CI installs it (.ci/run), so this run fails`)
      ;[pg, emulator] = await Promise.all([startPostgres({ logStatements: true }), startEmulator()])
    }, 60_000)
    afterAll(async () => {
      for (const gateway of [...gateways]) await gateway.close()
      await emulator?.close()
      await pg?.stop()
    })

    it("migrates once, however many gateways start (at once or later), and records the version", async () => {
      const pair = await Promise.all([start(), start()])
      const applied = pg.query("SELECT version, applied_at FROM migrations ORDER BY version")
      // One row per migration: 1 (keys, spend_logs), 2 (jobs).
      assert.deepStrictEqual(
        applied.map((row) => row.split("|")[0]),
        ["1", "2"]
      )
      assert.deepStrictEqual(
        pg.query(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('jobs', 'keys', 'spend_logs') ORDER BY table_name"
        ),
        ["jobs", "keys", "spend_logs"]
      )
      const third = await start()
      assert.deepStrictEqual(pg.query("SELECT version, applied_at FROM migrations ORDER BY version"), applied)
      for (const gateway of [...pair, third]) await stop(gateway)
    })

    describe("two gateways on it", () => {
      fleetTests({ start, emulator: () => emulator, query: (sql) => pg.query(sql) })
    })

    it("rides out a database outage: cached keys still served, unknown ones refused with 503, spend written once it is back", async () => {
      const [a, b] = [await start(), await start()]
      const key = await generate(a, {})
      const unseen = await generate(b, {})
      const warm = await embed(a, key, "titan")
      const warmed = Date.now()
      await pg.pause()
      try {
        const during = await embed(a, key, "titan", "while the database is down")
        assert.isBelow(Date.now() - warmed, ttlMillis, "the outage began within the cache's lifetime")
        assert.strictEqual(during.status, 200, "a cached key is served while the database is down")
        const before = emulator.stats.invocations
        const refused = await embed(a, unseen, "titan")
        assert.strictEqual(refused.status, 503)
        assert.strictEqual(refused.body.error.code, "database_unavailable")
        assert.notInclude(JSON.stringify(refused.body), "127.0.0.1")
        assert.strictEqual(emulator.stats.invocations, before, "no Bedrock call for a key that cannot be checked")
        assert.strictEqual((await call(a, "GET", `/key/info?key=${key}`, masterKey)).status, 503)
        await pg.resume()
        // The spend recorded during the outage was kept and is written now.
        const info = await call(a, "GET", `/key/info?key=${key}`, masterKey)
        assert.strictEqual(info.status, 200)
        assert.closeTo(info.body.info.spend, costOf(warm) + costOf(during), 1e-12)
        assert.strictEqual((await call(a, "GET", `/spend/logs?api_key=${key}`, masterKey)).body.length, 2)
        assert.strictEqual((await embed(a, unseen, "titan")).status, 200)
      } finally {
        await pg.resume().catch(() => {})
      }
    })

    it("reads a key from the database once per cache lifetime, not once per request, under load", async () => {
      const gateway = await start()
      const key = await generate(gateway, {})
      const reads = () => pg.log().split(`SELECT * FROM keys WHERE token = $1`).length - 1
      const before = reads()
      const started = Date.now()
      for (let round = 0; round < 8; round++) {
        const replies = await Promise.all(
          Array.from({ length: 64 }, (_, i) => embed(gateway, key, "titan", `load ${i}`))
        )
        for (const reply of replies) assert.strictEqual(reply.status, 200)
      }
      const lifetimes = Math.ceil((Date.now() - started) / ttlMillis)
      // One read per lifetime of the cached row, +2 for the generate's existence check and its read back.
      assert.isAtMost(
        reads() - before,
        lifetimes + 2,
        `${reads() - before} reads for 512 requests in ${lifetimes} lifetime(s)`
      )
      await stop(gateway)
    })

    it("keeps keys and spend across a restart of every gateway", async () => {
      const [a, b] = [await start(), await start()]
      const key = await generate(a, { key_alias: "durable" })
      assert.strictEqual((await embed(b, key, "titan")).status, 200)
      for (const gateway of [...gateways]) await stop(gateway)
      const again = await start()
      const info = await call(again, "GET", `/key/info?key=${key}`, key)
      assert.strictEqual(info.status, 200)
      assert.strictEqual(info.body.info.key_alias, "durable")
      assert.isAbove(info.body.info.spend, 0, "the spend written when the gateway closed")
    })
  }
)
