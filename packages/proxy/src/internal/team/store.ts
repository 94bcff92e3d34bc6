/**
 * The team store: virtual keys and spend logs in a database — an embedded SQLite file
 * (`node:sqlite`, this module) or Postgres (`postgres.ts`) — with numbered migrations so later
 * versions can change the schema in place. Both backends sit behind one {@link Backend}; the
 * spend batching, budget resets and key encoding around it are shared here.
 *
 * Keys are stored by the SHA-256 hex of their token (LiteLLM's `hash_token`), never the token.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import type { DatabaseSync, SQLInputValue } from "node:sqlite"
import { Cause, Effect, Exit, Schema, type Scope, Semaphore } from "effect"

/** A stored virtual key, as LiteLLM names its fields. */
export interface KeyRow {
  readonly token: string
  /** LiteLLM's display name of a key: `sk-...` and its last four characters. */
  readonly key_name: string
  readonly key_alias: string | null
  readonly models: ReadonlyArray<string>
  readonly max_budget: number | null
  readonly budget_duration: string | null
  readonly budget_reset_at: string | null
  readonly tpm_limit: number | null
  readonly rpm_limit: number | null
  readonly expires: string | null
  readonly metadata: Readonly<Record<string, unknown>>
  readonly spend: number
  readonly created_at: string
}

/** The fields a caller sets on a key (generate and update). */
export type KeyFields = Partial<Omit<KeyRow, "token" | "key_name" | "spend" | "created_at">>

/** One request's spend. */
export interface SpendRow {
  readonly request_id: string
  readonly key_hash: string | null
  readonly model: string
  readonly deployment: string
  readonly prompt_tokens: number
  readonly cost: number
  readonly latency_ms: number
  readonly status: string
  readonly started_at: string
}

/** The database failed (unreachable, locked, full); the message names no secret. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  message: Schema.String
}) {}

/** SQLite's migrations: each moves the schema from version `index` to `index + 1`; only ever append. */
const migrations: ReadonlyArray<string> = [
  `CREATE TABLE keys (
     token TEXT PRIMARY KEY,
     key_name TEXT NOT NULL,
     key_alias TEXT,
     models TEXT NOT NULL DEFAULT '[]',
     max_budget REAL,
     budget_duration TEXT,
     budget_reset_at TEXT,
     tpm_limit INTEGER,
     rpm_limit INTEGER,
     expires TEXT,
     metadata TEXT NOT NULL DEFAULT '{}',
     spend REAL NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE spend_logs (
     request_id TEXT PRIMARY KEY,
     key_hash TEXT,
     model TEXT NOT NULL,
     deployment TEXT NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     cost REAL NOT NULL,
     latency_ms REAL NOT NULL,
     status TEXT NOT NULL,
     started_at TEXT NOT NULL
   );
   CREATE INDEX spend_logs_key ON spend_logs (key_hash, started_at);`,
  // 2: async-invoke jobs whose spend is recorded when they end (settled_at is null until then).
  `CREATE TABLE jobs (
     invocation_arn TEXT PRIMARY KEY,
     key_hash TEXT,
     model TEXT NOT NULL,
     deployment TEXT NOT NULL,
     submitted_at TEXT NOT NULL,
     settled_at TEXT
   );
   CREATE INDEX jobs_pending ON jobs (settled_at);`
]

/** The SHA-256 hex of a token: how a key is stored and looked up. */
export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex")

/** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
const transaction = (db: DatabaseSync, work: () => void): void => {
  db.exec("BEGIN")
  try {
    work()
    db.exec("COMMIT")
  } catch (cause) {
    db.exec("ROLLBACK")
    throw cause
  }
}

/**
 * Applies the migrations not applied yet, in one write transaction taken up front (`BEGIN
 * IMMEDIATE`): of gateways starting together on one file, one migrates while the others wait
 * (`busy_timeout`), then find the version already there.
 */
const migrate = (db: DatabaseSync): void => {
  db.exec("BEGIN IMMEDIATE")
  try {
    db.exec("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    const row = db.prepare("SELECT MAX(version) AS version FROM migrations").get() as { version: number | null }
    const record = db.prepare("INSERT INTO migrations (version, applied_at) VALUES (?, ?)")
    for (let version = row.version ?? 0; version < migrations.length; version++) {
      db.exec(migrations[version]!)
      record.run(version + 1, new Date().toISOString())
    }
    db.exec("COMMIT")
  } catch (cause) {
    db.exec("ROLLBACK")
    throw cause
  }
}

/** The columns a caller sets (generate, update); `models` and `metadata` are stored as JSON text. */
const columns = [
  "key_alias",
  "models",
  "max_budget",
  "budget_duration",
  "budget_reset_at",
  "tpm_limit",
  "rpm_limit",
  "expires",
  "metadata"
] as const

/** A key's settable fields as column values (JSON text for the lists and records). */
const valuesOf = (fields: KeyFields): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const column of columns) {
    const value = fields[column]
    if (value === undefined) continue
    out[column] = column === "models" || column === "metadata" ? JSON.stringify(value) : value
  }
  return out
}

/** A key row as read back from either database (its JSON columns decoded). */
export const keyOf = (row: Record<string, unknown>): KeyRow => ({
  ...(row as unknown as KeyRow),
  models: JSON.parse(String(row.models)) as ReadonlyArray<string>,
  metadata: JSON.parse(String(row.metadata)) as Record<string, unknown>
})

/** The cost of a batch per key, keys in one order (so concurrent writers lock rows alike). */
export const costPerKey = (rows: ReadonlyArray<SpendRow>): ReadonlyArray<readonly [string, number]> => {
  const sums = new Map<string, number>()
  for (const row of rows) {
    if (row.key_hash !== null) sums.set(row.key_hash, (sums.get(row.key_hash) ?? 0) + row.cost)
  }
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * An async-invoke job a request submitted: its spend (tokens, media, cost) is known only when it
 * ends, and is recorded then as a spend row whose `request_id` is the job's ARN.
 */
export interface JobRow {
  readonly invocation_arn: string
  readonly key_hash: string | null
  /** The alias the request named, and the Bedrock model id of its deployment. */
  readonly model: string
  readonly deployment: string
  readonly submitted_at: string
}

/** A job as the dashboard lists it: settled or not. */
export interface JobListing extends JobRow {
  /** When its spend was recorded (it ended); null while it runs. */
  readonly settled_at: string | null
}

/** Spend summed over one time bucket, for one alias and one key (`key_hash` null: the master key). */
export interface SpendBucket {
  /** The bucket's start, in Unix seconds (a multiple of its width). */
  readonly bucket: number
  readonly model: string
  readonly key_hash: string | null
  readonly cost: number
  readonly tokens: number
  readonly requests: number
}

/** A bucket row as either database returns it (Postgres's sums and big integers arrive as text). */
export const bucketOf = (row: Record<string, unknown>): SpendBucket => ({
  bucket: Number(row.bucket),
  model: String(row.model),
  key_hash: row.key_hash === null || row.key_hash === undefined ? null : String(row.key_hash),
  cost: Number(row.cost),
  tokens: Number(row.tokens),
  requests: Number(row.requests)
})

/**
 * What a database does for the store. Values are the store's: ISO-8601 text for times, JSON text
 * for `models` and `metadata`; a backend converts them to its own column types.
 */
export interface Backend {
  readonly find: (hash: string) => Effect.Effect<KeyRow | undefined, StoreError>
  /** Inserts a key from its column values (`token` is the hash). */
  readonly insert: (values: Readonly<Record<string, unknown>>) => Effect.Effect<void, StoreError>
  readonly update: (hash: string, values: Readonly<Record<string, unknown>>) => Effect.Effect<void, StoreError>
  /** Zeroes a key's spend for a new budget period, unless another gateway already did (`was` moved). */
  readonly reset: (hash: string, was: string, next: string) => Effect.Effect<void, StoreError>
  readonly remove: (hash: string) => Effect.Effect<boolean, StoreError>
  readonly list: Effect.Effect<ReadonlyArray<KeyRow>, StoreError>
  readonly logs: (keyHash: string | undefined) => Effect.Effect<ReadonlyArray<SpendRow>, StoreError>
  /**
   * Inserts spend rows and adds their cost to their keys (`spend = spend + cost`), in one
   * transaction; a row whose `request_id` is already stored is skipped, its cost not added again.
   */
  readonly writeSpend: (rows: ReadonlyArray<SpendRow>) => Effect.Effect<void, StoreError>
  /** Records submitted jobs (one already recorded is kept as it is). */
  readonly trackJobs: (jobs: ReadonlyArray<JobRow>) => Effect.Effect<void, StoreError>
  /** The jobs not settled yet, oldest first. */
  readonly pendingJobs: Effect.Effect<ReadonlyArray<JobRow>, StoreError>
  /**
   * Marks a job settled and writes its spend row (its cost added to its key), in one transaction,
   * unless it was already settled (by this gateway or another): `false` then, and nothing written.
   */
  readonly settleJob: (arn: string, row: SpendRow) => Effect.Effect<boolean, StoreError>
  /** Spend since `since` (ISO-8601) per bucket of `bucketSeconds`, alias and key, oldest first. */
  readonly spendBuckets: (since: string, bucketSeconds: number) => Effect.Effect<ReadonlyArray<SpendBucket>, StoreError>
  /** The latest `limit` spend rows, newest first. */
  readonly recentSpend: (limit: number) => Effect.Effect<ReadonlyArray<SpendRow>, StoreError>
  /** The latest `limit` jobs, settled or not, newest first. */
  readonly listJobs: (limit: number) => Effect.Effect<ReadonlyArray<JobListing>, StoreError>
}

/** The store's operations, on either database. */
export interface Store {
  readonly insertKey: (token: string, fields: KeyFields) => Effect.Effect<KeyRow, StoreError>
  /** A key by hash, read from the database, with its spend reset first when its budget period has passed. */
  readonly findKey: (hash: string, now?: Date) => Effect.Effect<KeyRow | undefined, StoreError>
  /**
   * `findKey`, never while this gateway's spend write is in flight: the row read holds a batch's
   * cost exactly when that batch has committed (the key cache counts on it).
   */
  readonly readKey: (hash: string) => Effect.Effect<KeyRow | undefined, StoreError>
  readonly updateKey: (hash: string, fields: KeyFields) => Effect.Effect<KeyRow | undefined, StoreError>
  readonly deleteKeys: (hashes: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly listKeys: Effect.Effect<ReadonlyArray<KeyRow>, StoreError>
  /**
   * Records one request's spend and adds its cost to its key. Rows are written together, up to
   * 25 ms after the first of a batch (or, while a write is in flight, when it ends), one
   * transaction a batch; a failed write keeps its rows for the next.
   */
  readonly recordSpend: (row: SpendRow) => void
  /** Writes the spend recorded so far now (reads of spend call it first). */
  readonly flush: Effect.Effect<void, StoreError>
  readonly spendLogs: (keyHash?: string) => Effect.Effect<ReadonlyArray<SpendRow>, StoreError>
  readonly trackJobs: Backend["trackJobs"]
  readonly pendingJobs: Backend["pendingJobs"]
  readonly settleJob: Backend["settleJob"]
  /** {@link Backend.spendBuckets}, this gateway's batched spend written first. */
  readonly spendBuckets: Backend["spendBuckets"]
  /** {@link Backend.recentSpend}, this gateway's batched spend written first. */
  readonly recentSpend: Backend["recentSpend"]
  readonly listJobs: Backend["listJobs"]
}

/** Options of {@link make}. */
export interface Hooks {
  readonly nextReset: (duration: string, from: Date) => string
  /** Called after each batch of spend rows commits (the key cache moves their cost into its rows). */
  readonly committed?: ((rows: ReadonlyArray<SpendRow>) => void) | undefined
}

/** The store on a backend; its batched spend is written once more when `scope` closes. */
export const make = (backend: Backend, hooks: Hooks): Effect.Effect<Store, never, Scope.Scope> =>
  Effect.gen(function* () {
    const spend = yield* Effect.acquireRelease(
      Effect.sync(() => batcher(backend, hooks)),
      (batch) => batch.close
    )
    const find = (hash: string, now = new Date()) =>
      backend.find(hash).pipe(
        Effect.flatMap((key) => {
          const was = key?.budget_reset_at
          if (key === undefined || was == null || key.budget_duration === null || Date.parse(was) > +now) {
            return Effect.succeed(key)
          }
          return Effect.andThen(backend.reset(hash, was, hooks.nextReset(key.budget_duration, now)), backend.find(hash))
        })
      )
    return {
      insertKey: (token, fields) => {
        const hash = hashToken(token)
        const values = {
          ...valuesOf(fields),
          token: hash,
          key_name: `sk-...${token.slice(-4)}`,
          created_at: new Date().toISOString()
        }
        return Effect.andThen(
          backend.insert(values),
          Effect.flatMap(backend.find(hash), (key) =>
            key === undefined
              ? Effect.fail(new StoreError({ message: "the inserted key was not found" }))
              : Effect.succeed(key)
          )
        )
      },
      findKey: find,
      readKey: (hash) => spend.between(find(hash)),
      updateKey: (hash, fields) => {
        const values = valuesOf(fields)
        return Effect.andThen(
          Object.keys(values).length === 0 ? Effect.void : backend.update(hash, values),
          backend.find(hash)
        )
      },
      deleteKeys: (hashes) =>
        Effect.map(
          Effect.forEach(hashes, (hash) => Effect.map(backend.remove(hash), (gone) => (gone ? [hash] : []))),
          (found) => found.flat()
        ),
      listKeys: Effect.andThen(spend.flush, backend.list),
      recordSpend: spend.record,
      flush: spend.flush,
      spendLogs: (keyHash) => Effect.andThen(spend.flush, backend.logs(keyHash)),
      trackJobs: backend.trackJobs,
      pendingJobs: backend.pendingJobs,
      settleJob: backend.settleJob,
      spendBuckets: (since, bucketSeconds) => Effect.andThen(spend.flush, backend.spendBuckets(since, bucketSeconds)),
      recentSpend: (limit) => Effect.andThen(spend.flush, backend.recentSpend(limit)),
      listJobs: backend.listJobs
    } satisfies Store
  })

/**
 * Spend rows batched for up to 25 ms (or 512 rows), written one batch at a time (a reader's
 * flush waits for the batch in flight, then writes the rest). A failed write is logged, its rows
 * kept, and retried a second later.
 */
const BATCH_MS = 25
const BATCH_ROWS = 512

const batcher = (backend: Backend, hooks: Hooks) => {
  const permit = Semaphore.makeUnsafe(1)
  let pending: Array<SpendRow> = []
  let retry: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const later = () => {
    if (retry !== undefined || closed) return
    retry = setTimeout(() => {
      retry = undefined
      background()
    }, 1_000)
    retry.unref()
  }
  // Uninterruptible: a write cut off between COMMIT and its bookkeeping would count the rows twice.
  const flush: Effect.Effect<void, StoreError> = permit.withPermits(1)(
    Effect.uninterruptible(
      Effect.suspend(() => {
        if (pending.length === 0) return Effect.void
        const rows = pending
        pending = []
        return backend.writeSpend(rows).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (Exit.isSuccess(exit)) return hooks.committed?.(rows)
              pending = [...rows, ...pending]
              process.stderr.write(`bedrock-embed: cannot write ${rows.length} spend rows yet: ${failure(exit)}\n`)
              later()
            })
          )
        )
      })
    )
  )
  const background = () => {
    Effect.runFork(Effect.ignore(flush))
  }
  return {
    flush,
    /** Runs `effect` between writes, not during one. */
    between: <A, E>(effect: Effect.Effect<A, E>) => permit.withPermits(1)(effect),
    record: (row: SpendRow) => {
      const count = pending.push(row)
      if (closed) return
      // The first row of a batch starts a short wait for more (a busy gateway writes one
      // transaction per 25 ms rather than one per turn); a large batch goes at once. Budgets do
      // not wait for it: the key cache counts rows from when they are recorded.
      if (count === 1) setTimeout(background, BATCH_MS).unref()
      else if (count === BATCH_ROWS) background()
    },
    /** The last write, on close: what still fails is reported, not retried. */
    close: Effect.suspend(() => {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      return Effect.ignore(flush)
    })
  }
}

/** What a failed write says (a StoreError's message names no secret). */
const failure = (exit: Exit.Exit<unknown, StoreError>): string => {
  if (Exit.isSuccess(exit)) return ""
  const error = Cause.squash(exit.cause)
  return error instanceof Error ? error.message : String(error)
}

/** A SQLite statement as an effect; its error (a locked file, a full disk) as a {@link StoreError}. */
const run = <A>(statement: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({ try: statement, catch: (cause) => new StoreError({ message: (cause as Error).message }) })

/** The SQLite backend on `file` (`:memory:` for none), created and migrated; closed with the scope. */
export const sqlite = (file: string): Effect.Effect<Backend, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const { DatabaseSync } = yield* Effect.promise(() => import("node:sqlite"))
    const db = yield* Effect.acquireRelease(
      run(() => new DatabaseSync(file)),
      (db) => Effect.sync(() => db.close())
    )
    // WAL with synchronous=NORMAL: a commit is not an fsync (these run on the event loop); a power
    // loss can drop the last commits' spend, never corrupt the file.
    yield* run(() => {
      // The busy timeout first: another gateway may hold the file while it migrates.
      db.exec("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
      migrate(db)
    })
    const select = db.prepare("SELECT * FROM keys WHERE token = ?")
    const reset = db.prepare("UPDATE keys SET spend = 0, budget_reset_at = ? WHERE token = ? AND budget_reset_at = ?")
    const addSpend = db.prepare("UPDATE keys SET spend = spend + ? WHERE token = ?")
    const remove = db.prepare("DELETE FROM keys WHERE token = ?")
    const insertLog = db.prepare(
      `INSERT OR IGNORE INTO spend_logs (request_id, key_hash, model, deployment, prompt_tokens, cost, latency_ms, status, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
    )
    const named = (values: Readonly<Record<string, unknown>>) => values as Record<string, SQLInputValue>
    const trackJob = db.prepare(
      `INSERT OR IGNORE INTO jobs (invocation_arn, key_hash, model, deployment, submitted_at)
       VALUES (:invocation_arn, :key_hash, :model, :deployment, :submitted_at)`
    )
    const settle = db.prepare("UPDATE jobs SET settled_at = ? WHERE invocation_arn = ? AND settled_at IS NULL")
    /** Writes spend rows not written yet and adds their cost to their keys (inside a transaction). */
    const addRows = (rows: ReadonlyArray<SpendRow>) => {
      // A row already written (a batch retried after a commit whose outcome was lost) is
      // neither written nor added again.
      const written = rows.filter(
        (row) =>
          insertLog.run(
            row.request_id,
            row.key_hash,
            row.model,
            row.deployment,
            row.prompt_tokens,
            row.cost,
            row.latency_ms,
            row.status,
            row.started_at
          ).changes > 0
      )
      for (const [hash, cost] of costPerKey(written)) addSpend.run(cost, hash)
    }
    return {
      find: (hash) =>
        run(() => {
          const row = select.get(hash) as Record<string, unknown> | undefined
          return row === undefined ? undefined : keyOf(row)
        }),
      insert: (values) =>
        run(() => {
          const names = Object.keys(values)
          db.prepare(`INSERT INTO keys (${names.join(", ")}) VALUES (${names.map((n) => `:${n}`).join(", ")})`).run(
            named(values)
          )
        }),
      update: (hash, values) =>
        run(() => {
          const names = Object.keys(values)
          db.prepare(`UPDATE keys SET ${names.map((n) => `${n} = :${n}`).join(", ")} WHERE token = :token`).run(
            named({ ...values, token: hash })
          )
        }),
      reset: (hash, was, next) => run(() => void reset.run(next, hash, was)),
      remove: (hash) => run(() => remove.run(hash).changes > 0),
      list: run(() =>
        (db.prepare("SELECT * FROM keys ORDER BY created_at, token").all() as Array<Record<string, unknown>>).map(keyOf)
      ),
      logs: (keyHash) =>
        run(
          () =>
            (keyHash === undefined
              ? db.prepare("SELECT * FROM spend_logs ORDER BY started_at").all()
              : db
                  .prepare("SELECT * FROM spend_logs WHERE key_hash = ? ORDER BY started_at")
                  .all(keyHash)) as unknown as ReadonlyArray<SpendRow>
        ),
      writeSpend: (rows) => run(() => transaction(db, () => addRows(rows))),
      trackJobs: (jobs) =>
        run(() =>
          transaction(db, () => {
            for (const job of jobs) trackJob.run({ ...job })
          })
        ),
      pendingJobs: run(
        () =>
          db
            .prepare(
              "SELECT invocation_arn, key_hash, model, deployment, submitted_at FROM jobs WHERE settled_at IS NULL ORDER BY submitted_at"
            )
            .all() as unknown as ReadonlyArray<JobRow>
      ),
      settleJob: (arn, row) =>
        run(() => {
          let settled = false
          transaction(db, () => {
            settled = settle.run(new Date().toISOString(), arn).changes > 0
            if (settled) addRows([row])
          })
          return settled
        }),
      // node:sqlite binds a number as REAL: the width is cast, or the division would not round down.
      spendBuckets: (since, bucketSeconds) =>
        run(() =>
          (
            db
              .prepare(
                `SELECT CAST(strftime('%s', started_at) AS INTEGER) / width * width AS bucket, model, key_hash,
                        SUM(cost) AS cost, SUM(prompt_tokens) AS tokens, COUNT(*) AS requests
                 FROM spend_logs, (SELECT CAST(:width AS INTEGER) AS width) WHERE started_at >= :since
                 GROUP BY bucket, model, key_hash ORDER BY bucket, model, key_hash`
              )
              .all({ width: bucketSeconds, since }) as Array<Record<string, unknown>>
          ).map(bucketOf)
        ),
      recentSpend: (limit) =>
        run(
          () =>
            db
              .prepare("SELECT * FROM spend_logs ORDER BY started_at DESC, request_id LIMIT ?")
              .all(limit) as unknown as ReadonlyArray<SpendRow>
        ),
      listJobs: (limit) =>
        run(
          () =>
            db
              .prepare("SELECT * FROM jobs ORDER BY submitted_at DESC, invocation_arn LIMIT ?")
              .all(limit) as unknown as ReadonlyArray<JobListing>
        )
    } satisfies Backend
  })
