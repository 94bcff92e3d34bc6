/**
 * The team store's Postgres backend, on `@effect/sql-pg`: what a fleet of gateways shares when
 * `DATABASE_URL` (or `general_settings.database_url`) is a `postgres://` URL. The schema is
 * SQLite's in Postgres types — `DOUBLE PRECISION` money, `TIMESTAMPTZ` times (so operators can
 * query spend by date in SQL), JSON text for `models` and `metadata` (one encoding for both
 * backends) — under the same numbered migrations, applied once under an advisory lock however
 * many gateways start at once. Spend is added with `spend = spend + $1` in one transaction a
 * batch, so gateways sharing the database add up.
 *
 * @internal
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { SqlError } from "effect/sql/SqlError"
import {
  type Backend,
  bucketOf,
  costPerKey,
  type JobListing,
  type JobRow,
  keyOf,
  type SpendRow,
  StoreError
} from "./store.ts"

/** Postgres's migrations, statement by statement: each moves version `index` to `index + 1`; only ever append. */
const migrations: ReadonlyArray<ReadonlyArray<string>> = [
  [
    `CREATE TABLE keys (
       token TEXT PRIMARY KEY,
       key_name TEXT NOT NULL,
       key_alias TEXT,
       models TEXT NOT NULL DEFAULT '[]',
       max_budget DOUBLE PRECISION,
       budget_duration TEXT,
       budget_reset_at TIMESTAMPTZ,
       tpm_limit INTEGER,
       rpm_limit INTEGER,
       expires TIMESTAMPTZ,
       metadata TEXT NOT NULL DEFAULT '{}',
       spend DOUBLE PRECISION NOT NULL DEFAULT 0,
       created_at TIMESTAMPTZ NOT NULL
     )`,
    `CREATE TABLE spend_logs (
       request_id TEXT PRIMARY KEY,
       key_hash TEXT,
       model TEXT NOT NULL,
       deployment TEXT NOT NULL,
       prompt_tokens INTEGER NOT NULL,
       cost DOUBLE PRECISION NOT NULL,
       latency_ms DOUBLE PRECISION NOT NULL,
       status TEXT NOT NULL,
       started_at TIMESTAMPTZ NOT NULL
     )`,
    "CREATE INDEX spend_logs_key ON spend_logs (key_hash, started_at)"
  ],
  // 2: async-invoke jobs whose spend is recorded when they end (settled_at is null until then).
  [
    `CREATE TABLE jobs (
       invocation_arn TEXT PRIMARY KEY,
       key_hash TEXT,
       model TEXT NOT NULL,
       deployment TEXT NOT NULL,
       submitted_at TIMESTAMPTZ NOT NULL,
       settled_at TIMESTAMPTZ
     )`,
    "CREATE INDEX jobs_pending ON jobs (settled_at)"
  ]
]

// An arbitrary constant naming our migration lock among the database's advisory locks.
const migrationLock = 7_062_414_311

/** A Postgres URL with its password (and any `password=` parameter) masked, for messages. */
export const redactUrl = (url: string): string =>
  url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, "$1:***@").replace(/([?&]password=)[^&#]*/gi, "$1***")

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const times = new Set(["budget_reset_at", "expires", "created_at", "started_at", "submitted_at", "settled_at"])

/** The store's values in Postgres's types: ISO text as `Date` for the `TIMESTAMPTZ` columns. */
const toPg = (values: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(values)) {
    out[name] = times.has(name) && typeof value === "string" ? new Date(value) : value
  }
  return out
}

/** A row in the store's values: `Date`s as ISO text. */
const fromPg = (row: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(row)) out[name] = value instanceof Date ? value.toISOString() : value
  return out
}

// Rows per INSERT: 9 parameters each stays far below Postgres's 65535 a statement.
const chunk = 1_000

/**
 * The Postgres backend on `url`: a connection pool, opened and migrated now, closed with the
 * scope. Its errors name neither the password nor the URL's credentials.
 */
export const postgres = (url: Redacted.Redacted<string>): Effect.Effect<Backend, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const password = URL.parse(Redacted.value(url))?.password ?? ""
    // The password as written in the URL and decoded (as the driver may quote it).
    const secrets = [...new Set([password, safeDecode(password)])].filter((secret) => secret.length > 0)
    const clean = (text: string) =>
      redactUrl(secrets.reduce((out, secret) => out.split(secret).join("***"), text)).replace(
        /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]*@/gi,
        "$1:***@"
      )
    const fail = (error: SqlError) => {
      // The server's own words (a duplicate key, a missing table), from whatever the driver threw.
      const said =
        typeof error.cause === "object" && error.cause !== null && "message" in error.cause
          ? String(error.cause.message)
          : ""
      const cause = said !== "" && said !== error.message ? `: ${said}` : ""
      return new StoreError({ message: clean(`${error.message}${cause}`) })
    }
    const sql = yield* PgClient.make({
      url,
      applicationName: "bedrock-embed",
      connectTimeout: "10 seconds",
      maxConnections: 8
    }).pipe(Effect.provide(Reactivity.layer), Effect.mapError(fail))
    const orFail = <A>(effect: Effect.Effect<A, SqlError>) => Effect.mapError(effect, fail)

    yield* orFail(
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql.unsafe(`SELECT pg_advisory_xact_lock(${migrationLock})`)
          yield* sql.unsafe(
            "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
          )
          const [row] = yield* sql<{ readonly version: number | null }>`SELECT MAX(version) AS version FROM migrations`
          for (let version = row?.version ?? 0; version < migrations.length; version++) {
            for (const statement of migrations[version]!) yield* sql.unsafe(statement)
            yield* sql`INSERT INTO migrations (version, applied_at) VALUES (${version + 1}, ${new Date()})`
          }
        })
      )
    )

    const keys = (rows: ReadonlyArray<Record<string, unknown>>) => rows.map((row) => keyOf(fromPg(row)))
    /** Writes spend rows not written yet and adds their cost to their keys (inside a transaction). */
    const addRows = (rows: ReadonlyArray<SpendRow>) =>
      Effect.gen(function* () {
        // A row already written (a batch retried after a commit whose outcome was lost) is
        // neither written nor added again.
        const written = new Set<string>()
        for (let start = 0; start < rows.length; start += chunk) {
          const part = rows.slice(start, start + chunk).map((row) => toPg({ ...row }))
          const inserted = yield* sql<{
            readonly request_id: string
          }>`INSERT INTO spend_logs ${sql.insert(part as [Record<string, unknown>, ...Array<Record<string, unknown>>])}
             ON CONFLICT (request_id) DO NOTHING RETURNING request_id`
          for (const row of inserted) written.add(row.request_id)
        }
        for (const [hash, cost] of costPerKey(rows.filter((row) => written.has(row.request_id)))) {
          yield* sql`UPDATE keys SET spend = spend + ${cost} WHERE token = ${hash}`
        }
      })
    return {
      find: (hash) => orFail(Effect.map(sql`SELECT * FROM keys WHERE token = ${hash}`, (rows) => keys(rows)[0])),
      insert: (values) => orFail(Effect.asVoid(sql`INSERT INTO keys ${sql.insert(toPg(values))}`)),
      update: (hash, values) =>
        orFail(Effect.asVoid(sql`UPDATE keys SET ${sql.update(toPg(values))} WHERE token = ${hash}`)),
      reset: (hash, was, next) =>
        orFail(
          Effect.asVoid(
            sql`UPDATE keys SET spend = 0, budget_reset_at = ${new Date(next)}
                WHERE token = ${hash} AND budget_reset_at = ${new Date(was)}`
          )
        ),
      remove: (hash) =>
        orFail(Effect.map(sql`DELETE FROM keys WHERE token = ${hash} RETURNING token`, (rows) => rows.length > 0)),
      list: orFail(Effect.map(sql`SELECT * FROM keys ORDER BY created_at, token`, keys)),
      logs: (keyHash) =>
        orFail(
          Effect.map(
            keyHash === undefined
              ? sql`SELECT * FROM spend_logs ORDER BY started_at`
              : sql`SELECT * FROM spend_logs WHERE key_hash = ${keyHash} ORDER BY started_at`,
            (rows) => rows.map((row) => fromPg(row) as unknown as SpendRow)
          )
        ),
      writeSpend: (rows) => orFail(sql.withTransaction(addRows(rows))),
      trackJobs: (jobs) =>
        jobs.length === 0
          ? Effect.void
          : orFail(
              Effect.asVoid(
                sql`INSERT INTO jobs ${sql.insert(jobs.map((job) => toPg({ ...job })) as [Record<string, unknown>, ...Array<Record<string, unknown>>])}
                    ON CONFLICT (invocation_arn) DO NOTHING`
              )
            ),
      pendingJobs: orFail(
        Effect.map(
          sql`SELECT invocation_arn, key_hash, model, deployment, submitted_at FROM jobs
              WHERE settled_at IS NULL ORDER BY submitted_at`,
          (rows) => rows.map((row) => fromPg(row) as unknown as JobRow)
        )
      ),
      settleJob: (arn, row) =>
        orFail(
          sql.withTransaction(
            Effect.gen(function* () {
              const settled = yield* sql`UPDATE jobs SET settled_at = ${new Date()}
                WHERE invocation_arn = ${arn} AND settled_at IS NULL RETURNING invocation_arn`
              if (settled.length === 0) return false
              yield* addRows([row])
              return true
            })
          )
        ),
      spendBuckets: (since, bucketSeconds) =>
        orFail(
          Effect.map(
            sql`SELECT (floor(extract(epoch FROM started_at) / ${bucketSeconds}) * ${bucketSeconds})::bigint AS bucket,
                       model, key_hash, SUM(cost) AS cost, SUM(prompt_tokens) AS tokens, COUNT(*) AS requests
                FROM spend_logs WHERE started_at >= ${new Date(since)}
                GROUP BY 1, model, key_hash ORDER BY 1, model, key_hash`,
            (rows) => rows.map(bucketOf)
          )
        ),
      recentSpend: (limit) =>
        orFail(
          Effect.map(sql`SELECT * FROM spend_logs ORDER BY started_at DESC, request_id LIMIT ${limit}`, (rows) =>
            rows.map((row) => fromPg(row) as unknown as SpendRow)
          )
        ),
      listJobs: (limit) =>
        orFail(
          Effect.map(sql`SELECT * FROM jobs ORDER BY submitted_at DESC, invocation_arn LIMIT ${limit}`, (rows) =>
            rows.map((row) => fromPg(row) as unknown as JobListing)
          )
        )
    } satisfies Backend
  })
