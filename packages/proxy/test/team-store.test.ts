/**
 * The team store's backends, SQLite and a real Postgres: a spend batch written twice (retried
 * after a commit whose outcome was lost) is stored and added to its key once; an async job is
 * tracked and settled once.
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
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

/** A job tracked twice is one pending job; settled twice, its spend row is written and added once. */
const settlesOnce = (backend: Effect.Effect<Backend, unknown, Scope.Scope>) =>
  Effect.gen(function* () {
    const db = yield* backend
    const hash = hashToken("sk-store-test-job-key")
    yield* db.insert({
      token: hash,
      key_name: "sk-...-key",
      models: "[]",
      metadata: "{}",
      created_at: new Date().toISOString()
    })
    const job = {
      invocation_arn: "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghijkl",
      key_hash: hash,
      model: "nova-async",
      deployment: "amazon.nova-2-multimodal-embeddings-v1:0",
      submitted_at: "2026-12-01T12:00:00.000Z"
    }
    yield* db.trackJobs([job])
    yield* db.trackJobs([job])
    assert.deepStrictEqual(yield* db.pendingJobs, [job])
    const row = {
      ...rows[0]!,
      key_hash: hash,
      request_id: job.invocation_arn,
      cost: 0.0042,
      started_at: job.submitted_at
    }
    assert.isTrue(yield* db.settleJob(job.invocation_arn, row))
    assert.isFalse(yield* db.settleJob(job.invocation_arn, row), "a settled job is not settled again")
    assert.deepStrictEqual(yield* db.pendingJobs, [])
    assert.deepStrictEqual(
      (yield* db.logs(hash)).map((log) => [log.request_id, log.cost]),
      [[job.invocation_arn, 0.0042]]
    )
    assert.closeTo((yield* db.find(hash))!.spend, 0.0042, 1e-12)
  }).pipe(Effect.scoped)

const sqliteFile = Effect.map(
  Effect.promise(() => mkdtemp(join(tmpdir(), "bedrock-embed-store-"))),
  (dir) => join(dir, "keys.db")
)

describe("the store's backends", () => {
  it("SQLite: gateways opening one new file at once migrate it once", async () => {
    const file = await Effect.runPromise(sqliteFile)
    const store = new URL("../src/internal/team/store.ts", import.meta.url).href
    // Each process opens (creating and migrating) the file, then exits 0.
    const script = `import { Effect } from "effect"; import { sqlite } from ${JSON.stringify(store)};
      await Effect.runPromise(Effect.scoped(sqlite(${JSON.stringify(file)})))`
    const node = process.execPath
    const exits = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const child = spawn(node, ["--input-type=module", "-e", script], {
          cwd: fileURLToPath(new URL("..", import.meta.url)),
          stdio: ["ignore", "ignore", "pipe"]
        })
        let err = ""
        child.stderr.on("data", (chunk: Buffer) => {
          err += chunk.toString()
        })
        const [code] = (await once(child, "exit")) as [number]
        return { code, err }
      })
    )
    for (const exit of exits) assert.strictEqual(exit.code, 0, exit.err)
    const { DatabaseSync } = await import("node:sqlite")
    const db = new DatabaseSync(file)
    const versions = db.prepare("SELECT version FROM migrations ORDER BY version").all() as Array<{ version: number }>
    db.close()
    assert.deepStrictEqual(
      versions.map((row) => row.version),
      [1, 2]
    )
  })

  it.effect("SQLite: spend rows are idempotent by request_id", () =>
    Effect.flatMap(sqliteFile, (file) => writesOnce(sqlite(file)))
  )
  it.effect("SQLite: an async job is settled once", () =>
    Effect.flatMap(sqliteFile, (file) => settlesOnce(sqlite(file)))
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
    it.effect("Postgres: spend rows are idempotent by request_id", () =>
      Effect.suspend(() => writesOnce(postgres(Redacted.make(pg.url))))
    )
    it.effect("Postgres: an async job is settled once", () =>
      Effect.suspend(() => settlesOnce(postgres(Redacted.make(pg.url))))
    )
  })
})
