/**
 * The per-request key lookup: key rows by hash, kept in memory for a short time so a request does
 * not read the database, with this gateway's own spend added at once. A row is read again after
 * {@link ttlMillis}, when its budget period ends, or when this gateway's admin API changes the
 * key; so a fleet sharing one database sees other gateways' spend, updates and deletes within
 * that time, and each gateway its own at once.
 *
 * A row's spend is the database's as read, plus the cost this gateway has committed since (moved
 * in by {@link KeyCache.committed}), plus what it has recorded and not yet committed. Requests
 * that find the same row missing or stale at once share one read.
 *
 * @internal
 */
import { Deferred, Effect } from "effect"
import type { KeyRow, SpendRow, StoreError } from "./store.ts"

/**
 * How long a key row read from the database serves requests: 2 s. It bounds how late one gateway
 * sees another's spend (a shared budget may overrun by what the fleet spends in that time),
 * updates and deletes.
 */
export const ttlMillis = 2_000

/** The cache of one gateway's key rows. */
export interface KeyCache {
  /** The key's row with this gateway's spend added; undefined when the key does not exist. */
  readonly get: (hash: string) => Effect.Effect<KeyRow | undefined, StoreError>
  /** Forgets a key (changed or deleted here): the next request reads it again. */
  readonly drop: (hash: string) => void
  /** A request's spend, recorded and not yet written. */
  readonly recorded: (row: SpendRow) => void
  /** A batch of spend rows the database now holds. */
  readonly committed: (rows: ReadonlyArray<SpendRow>) => void
}

interface Entry {
  row: KeyRow
  readonly until: number
  /** When the row's budget period ends (the store resets its spend on the next read). */
  readonly resetAt: number
}

interface Uncommitted {
  cost: number
  rows: number
}

/**
 * A cache reading missing and stale rows with `find`, which must not run while a batch of this
 * gateway's spend commits (`Store.readKey`).
 */
export const make = (
  find: (hash: string) => Effect.Effect<KeyRow | undefined, StoreError>,
  ttl: number = ttlMillis
): KeyCache => {
  const entries = new Map<string, Entry>()
  const uncommitted = new Map<string, Uncommitted>()
  // Bumped by every drop: a read that overlapped one may hold the row from before the change, so
  // it serves the requests that waited for it but is not kept. Commits need no such guard: `find`
  // never overlaps one (the store's `readKey`), so a row read holds exactly the batches committed.
  let version = 0
  // Rows past their time are dropped now and then (at most once a ttl, past 1 024 rows), so a
  // gateway that has seen many keys does not keep them all.
  let nextSweep = 0
  const sweep = (now: number) => {
    if (entries.size <= 1_024 || now < nextSweep) return
    nextSweep = now + ttl
    for (const [hash, entry] of entries) if (entry.until <= now) entries.delete(hash)
  }
  const withOwn = (hash: string, row: KeyRow): KeyRow => {
    const own = uncommitted.get(hash)
    return own === undefined ? row : { ...row, spend: row.spend + own.cost }
  }
  const reading = new Map<string, Deferred.Deferred<KeyRow | undefined, StoreError>>()
  const read = (hash: string) =>
    Effect.suspend(() => {
      const before = version
      return Effect.map(find(hash), (row) => {
        if (row === undefined || version !== before) {
          entries.delete(hash)
        } else {
          const resetAt = row.budget_reset_at === null ? Infinity : Date.parse(row.budget_reset_at)
          const now = Date.now()
          sweep(now)
          entries.set(hash, { row, until: now + ttl, resetAt })
        }
        return row
      })
    })
  // The read runs on its own fiber: a request that gives up (its client left) does not cancel it
  // for the others waiting on it.
  const shared = (hash: string): Effect.Effect<KeyRow | undefined, StoreError> => {
    let pending = reading.get(hash)
    if (pending === undefined) {
      const deferred = Deferred.makeUnsafe<KeyRow | undefined, StoreError>()
      reading.set(hash, deferred)
      Effect.runFork(
        Effect.flatMap(Effect.exit(read(hash)), (exit) => {
          if (reading.get(hash) === deferred) reading.delete(hash)
          return Deferred.done(deferred, exit)
        })
      )
      pending = deferred
    }
    return Effect.map(Deferred.await(pending), (row) => (row === undefined ? undefined : withOwn(hash, row)))
  }
  return {
    get: (hash) => {
      const entry = entries.get(hash)
      if (entry !== undefined) {
        const now = Date.now()
        if (now < entry.until && now < entry.resetAt) return Effect.succeed(withOwn(hash, entry.row))
      }
      return shared(hash)
    },
    drop: (hash) => {
      version++
      entries.delete(hash)
      // A read begun before the change must not serve requests that come after it.
      reading.delete(hash)
    },
    recorded: (row) => {
      if (row.key_hash === null) return
      const own = uncommitted.get(row.key_hash)
      if (own === undefined) uncommitted.set(row.key_hash, { cost: row.cost, rows: 1 })
      else {
        own.cost += row.cost
        own.rows++
      }
    },
    committed: (rows) => {
      for (const row of rows) {
        if (row.key_hash === null) continue
        const own = uncommitted.get(row.key_hash)
        if (own !== undefined && --own.rows === 0) uncommitted.delete(row.key_hash)
        else if (own !== undefined) own.cost -= row.cost
        const entry = entries.get(row.key_hash)
        if (entry !== undefined) entry.row = { ...entry.row, spend: entry.row.spend + row.cost }
      }
    }
  }
}
