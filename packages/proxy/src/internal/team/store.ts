/**
 * The team store: virtual keys and spend logs in an embedded SQLite database (`node:sqlite`),
 * with numbered migrations so later versions can change the schema in place.
 *
 * Keys are stored by the SHA-256 hex of their token (LiteLLM's `hash_token`), never the token.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import type { DatabaseSync, SQLInputValue } from "node:sqlite"

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

/** Each migration moves the schema from version `index` to `index + 1`; only ever append. */
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
   CREATE INDEX spend_logs_key ON spend_logs (key_hash, started_at);`
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

const migrate = (db: DatabaseSync): void => {
  db.exec("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
  const row = db.prepare("SELECT MAX(version) AS version FROM migrations").get() as { version: number | null }
  for (let version = row.version ?? 0; version < migrations.length; version++) {
    transaction(db, () => {
      db.exec(migrations[version]!)
      db.prepare("INSERT INTO migrations (version, applied_at) VALUES (?, ?)").run(
        version + 1,
        new Date().toISOString()
      )
    })
  }
}

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

const toSql = (fields: KeyFields): Record<string, SQLInputValue> => {
  const out: Record<string, SQLInputValue> = {}
  for (const column of columns) {
    const value = fields[column]
    if (value === undefined) continue
    out[column] = column === "models" || column === "metadata" ? JSON.stringify(value) : (value as SQLInputValue)
  }
  return out
}

const fromSql = (row: Record<string, unknown>): KeyRow => ({
  ...(row as unknown as KeyRow),
  models: JSON.parse(String(row.models)) as ReadonlyArray<string>,
  metadata: JSON.parse(String(row.metadata)) as Record<string, unknown>
})

/** The store's operations; every one is a short synchronous SQLite statement. */
export interface Store {
  readonly insertKey: (token: string, fields: KeyFields) => KeyRow
  /** A key by hash, with its spend reset first when its budget period has passed. */
  readonly findKey: (hash: string, now?: Date) => KeyRow | undefined
  readonly updateKey: (hash: string, fields: KeyFields) => KeyRow | undefined
  readonly deleteKeys: (hashes: ReadonlyArray<string>) => ReadonlyArray<string>
  readonly listKeys: () => ReadonlyArray<KeyRow>
  /**
   * Records one request's spend and adds its cost to its key. Rows are written together, once
   * per turn of the event loop, in one transaction (a budget check may lag by that turn).
   */
  readonly recordSpend: (row: SpendRow) => void
  /** Writes the spend recorded so far now (reads of spend call it first). */
  readonly flush: () => void
  readonly spendLogs: (keyHash?: string) => ReadonlyArray<SpendRow>
  readonly close: () => void
}

/** Opens (creating and migrating) the database at `file` (`:memory:` for none). */
export const open = async (file: string, nextReset: (duration: string, from: Date) => string): Promise<Store> => {
  const { DatabaseSync } = await import("node:sqlite")
  const db = new DatabaseSync(file)
  // WAL with synchronous=NORMAL: a commit is not an fsync (these run on the event loop); a power
  // loss can drop the last commits' spend, never corrupt the file.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000")
  migrate(db)
  const select = db.prepare("SELECT * FROM keys WHERE token = ?")
  const reset = db.prepare("UPDATE keys SET spend = 0, budget_reset_at = ? WHERE token = ?")
  const addSpend = db.prepare("UPDATE keys SET spend = spend + ? WHERE token = ?")
  const insertLog = db.prepare(
    `INSERT INTO spend_logs (request_id, key_hash, model, deployment, prompt_tokens, cost, latency_ms, status, started_at)
     VALUES (:request_id, :key_hash, :model, :deployment, :prompt_tokens, :cost, :latency_ms, :status, :started_at)`
  )
  let pending: Array<SpendRow> = []
  const flush = () => {
    if (pending.length === 0) return
    const rows = pending
    pending = []
    transaction(db, () => {
      for (const row of rows) {
        insertLog.run({ ...row })
        if (row.key_hash !== null) addSpend.run(row.cost, row.key_hash)
      }
    })
  }
  // A failed write (the file locked past busy_timeout, a full disk) keeps its rows for the next one.
  const flushLater = () => {
    const rows = pending
    try {
      flush()
    } catch (cause) {
      pending = [...rows, ...pending]
      process.stderr.write(`bedrock-embed: cannot write ${rows.length} spend rows yet: ${(cause as Error).message}\n`)
      setTimeout(flushLater, 1_000).unref()
    }
  }
  const find = (hash: string): KeyRow | undefined => {
    const row = select.get(hash) as Record<string, unknown> | undefined
    return row === undefined ? undefined : fromSql(row)
  }
  return {
    insertKey: (token, fields) => {
      const hash = hashToken(token)
      const values = {
        ...toSql(fields),
        token: hash,
        key_name: `sk-...${token.slice(-4)}`,
        created_at: new Date().toISOString()
      }
      const names = Object.keys(values)
      db.prepare(`INSERT INTO keys (${names.join(", ")}) VALUES (${names.map((n) => `:${n}`).join(", ")})`).run(values)
      return find(hash)!
    },
    findKey: (hash, now = new Date()) => {
      const key = find(hash)
      if (key?.budget_reset_at == null || key.budget_duration === null || Date.parse(key.budget_reset_at) > +now) {
        return key
      }
      reset.run(nextReset(key.budget_duration, now), hash)
      return find(hash)
    },
    updateKey: (hash, fields) => {
      const values = toSql(fields)
      const names = Object.keys(values)
      if (names.length > 0) {
        db.prepare(`UPDATE keys SET ${names.map((n) => `${n} = :${n}`).join(", ")} WHERE token = :token`).run({
          ...values,
          token: hash
        })
      }
      return find(hash)
    },
    deleteKeys: (hashes) =>
      hashes.filter((hash) => db.prepare("DELETE FROM keys WHERE token = ?").run(hash).changes > 0),
    listKeys: () => {
      flush()
      return (db.prepare("SELECT * FROM keys ORDER BY created_at").all() as Array<Record<string, unknown>>).map(fromSql)
    },
    recordSpend: (row) => {
      if (pending.push(row) === 1) setImmediate(flushLater)
    },
    flush,
    spendLogs: (keyHash) => {
      flush()
      return (keyHash === undefined
        ? db.prepare("SELECT * FROM spend_logs ORDER BY started_at").all()
        : db
            .prepare("SELECT * FROM spend_logs WHERE key_hash = ? ORDER BY started_at")
            .all(keyHash)) as unknown as ReadonlyArray<SpendRow>
    },
    close: () => {
      flush()
      db.close()
    }
  }
}
