/**
 * The team store's backends, SQLite and a real Postgres: a spend batch written twice (retried
 * after a commit whose outcome was lost) is stored and added to its key once.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Redacted, type Scope } from "effect"
import { postgres } from "../src/internal/team/postgres.ts"
import { type Backend, hashToken, type SpendRow, sqlite } from "../src/internal/team/store.ts"
import { type Postgres, startPostgres, unavailable } from "./support/postgres.ts"

const hash = hashToken("sk-store-test-key")
const rows: ReadonlyArray<SpendRow> = [1, 2, 3].map((n) => ({
  request_id: `request-${n}`,
  key_hash: hash,
  model: "titan",
  deployment: "amazon.titan-embed-text-v2:0",
  prompt_tokens: 10 * n,
  cost: 0.25 * n,
  latency_ms: 12.5,
  status: "success",
  started_at: new Date(Date.UTC(2026, 11, 1, 12, 0, n)).toISOString()
}))

/** Writes the batch, then the same batch again plus one new row; the key's spend counts each row once. */
const writesOnce = (backend: Effect.Effect<Backend, unknown, Scope.Scope>) =>
  Effect.gen(function* () {
    const db = yield* backend
    yield* db.insert({
      token: hash,
      key_name: "sk-...-key",
      models: "[]",
      metadata: "{}",
      created_at: new Date().toISOString()
    })
    yield* db.writeSpend(rows)
    const fourth = { ...rows[0]!, request_id: "request-4", cost: 2 }
    yield* db.writeSpend([...rows, fourth])
    const logs = yield* db.logs(hash)
    assert.deepStrictEqual(logs.map((row) => row.request_id).sort(), [
      "request-1",
      "request-2",
      "request-3",
      "request-4"
    ])
    const key = yield* db.find(hash)
    assert.closeTo(key!.spend, 0.25 + 0.5 + 0.75 + 2, 1e-12)
  }).pipe(Effect.scoped)

describe("spend rows are idempotent by request_id", () => {
  it.effect("SQLite", () =>
    Effect.flatMap(
      Effect.promise(() => mkdtemp(join(tmpdir(), "bedrock-embed-store-"))),
      (dir) => writesOnce(sqlite(join(dir, "keys.db")))
    )
  )

  const missing = unavailable()
  const required = process.env.CI === "true"
  describe.skipIf(missing !== undefined && !required)("Postgres", () => {
    let pg: Postgres
    beforeAll(async () => {
      if (missing !== undefined) throw new Error(`${missing}; CI installs it (.ci/run), so this run fails`)
      pg = await startPostgres()
    }, 60_000)
    afterAll(async () => {
      await pg?.stop()
    })
    it.effect("Postgres", () => Effect.suspend(() => writesOnce(postgres(Redacted.make(pg.url)))))
  })
})
