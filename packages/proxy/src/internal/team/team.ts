/**
 * Virtual keys for teams, as LiteLLM's proxy has them: who a request's bearer token is, which
 * models it may use, whether its budget is spent, and the spend it adds. Created only when the
 * gateway has a `general_settings.master_key`; the keys live in the {@link Store} (SQLite, or Postgres
 * for a fleet), and each request finds its key in the {@link KeyCache} (read again every 2 s).
 *
 * @internal
 */
import { isAbsolute, resolve } from "node:path"
import { Config as EffectConfig, Effect, Option, Redacted, Schedule, type Scope } from "effect"
import type { Config } from "../../Config.ts"
import { badRequest, type OpenAiError } from "../../HttpErrors.ts"
import * as KeyCache from "./cache.ts"
import { postgres, redactUrl } from "./postgres.ts"
import {
  hashToken,
  type KeyRow,
  make as makeStore,
  type SpendRow,
  type Store,
  sqlite,
  type StoreError
} from "./store.ts"

/** Who sent a request: the master key, a virtual key, or anyone (a gateway without a master key). */
export type Principal =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Master" }
  | { readonly _tag: "Key"; readonly hash: string; readonly key: KeyRow }

/** The keys and spend of one gateway. */
export interface Team {
  readonly store: Store
  /** The key rows requests are checked against; the admin API drops what it changes. */
  readonly cache: KeyCache.KeyCache
  /**
   * The virtual key a (non-empty) token is, or the error LiteLLM answers for it (unknown,
   * expired); a 503 when the database cannot be read.
   */
  readonly authenticate: (token: string) => Effect.Effect<Principal | OpenAiError>
  /** Refuses a key the model (alias) or a spent budget, before any Bedrock call. */
  readonly admit: (principal: Principal, alias: string) => OpenAiError | undefined
  /**
   * Records an embeddings request's spend (its log fields carry `cost`; with `error`, a request
   * that failed or was left, at what its succeeded calls cost); other requests add none.
   */
  readonly spent: (
    requestId: string,
    principal: Principal,
    fields: Readonly<Record<string, unknown>>,
    latencyMs: number
  ) => void
}

const units: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * LiteLLM's durations: `30s`, `30m`, `30h`, `30d`, `1mo` (calendar months); undefined when the
 * text is none of these.
 */
export const durationEnd = (text: string, from: Date): Date | undefined => {
  const match = /^(\d+)\s*(s|m|h|d|mo)$/.exec(text.trim())
  if (match === null) return undefined
  const amount = Number(match[1])
  if (match[2] === "mo") {
    const end = new Date(from)
    end.setUTCMonth(end.getUTCMonth() + amount)
    return end
  }
  return new Date(+from + amount * units[match[2]!]!)
}

const nextReset = (duration: string, from: Date): string => (durationEnd(duration, from) ?? from).toISOString()

/** Where keys and spend live: a SQLite file, or a Postgres server (its URL redacted from logs). */
export type Database =
  | { readonly file: string }
  | { readonly postgres: Redacted.Redacted<string> }
  | { readonly error: string }

const supported =
  "use postgres://user:password@host:5432/database (or postgresql://), sqlite:///path/to/keys.db, or a file path"

/**
 * The database: `general_settings.database_url`, else `DATABASE_URL` (LiteLLM's variable). A
 * `postgres:`/`postgresql:` URL is a Postgres server (what gateways of a fleet share); a
 * `sqlite:` or `file:` URL or a bare path (a relative one from the working directory) a SQLite
 * file; neither set, `fallback`. Any other scheme is an error naming the supported ones; no
 * message shows the URL's password.
 */
export const databaseFile = (config: Config, env: string | undefined, fallback: string): Database => {
  const url = config.general_settings?.database_url ?? env
  if (url === undefined || url === "") return { file: fallback }
  if (/^postgres(ql)?:/i.test(url)) {
    return /^postgres(ql)?:\/\//i.test(url) && URL.parse(url)?.hostname
      ? { postgres: Redacted.make(url) }
      : { error: `database_url / DATABASE_URL "${redactUrl(url)}" is not a valid Postgres URL: ${supported}` }
  }
  const path = url.replace(/^(sqlite|file):(\/\/)?/i, "")
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) {
    return {
      error: `database_url / DATABASE_URL "${path.split(":")[0]}:" is not a database this gateway supports: ${supported}`
    }
  }
  return { file: path === ":memory:" || isAbsolute(path) ? path : resolve(path) }
}

const invalidKey = (message: string): OpenAiError => badRequest("invalid_api_key", message, 401)
const missingKey = "Missing API key: send Authorization: Bearer <key>."

/** The 401 for a route only the master key may use; `action` says what, e.g. `use /key/list`. */
export const masterOnly = (action: string): OpenAiError =>
  invalidKey(`Authentication Error, only the master key can ${action}; send Authorization: Bearer <master_key>.`)

/** LiteLLM's budget error: status 400, type `budget_exceeded` (its `BudgetExceededError`). */
const budgetExceeded = (spend: number, max: number): OpenAiError => ({
  status: 400,
  type: "budget_exceeded",
  code: "400",
  message: `Budget has been exceeded! Current cost: ${spend}, Max budget: ${max}`
})

/**
 * The 503 for a database the gateway cannot read or write: keys cannot be checked, so none is
 * let through. The cause (secrets removed) goes to the operator's log only.
 */
export const unavailable = (error: StoreError): OpenAiError => ({
  status: 503,
  type: "service_unavailable",
  code: "database_unavailable",
  message: "The key database cannot be reached; try again shortly.",
  detail: error.message
})

/** Opens the team's store on the database (SQLite or Postgres), closed with the scope. */
export const make = (
  database: Exclude<Database, { readonly error: string }>
): Effect.Effect<Team, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const backend = yield* "file" in database ? sqlite(database.file) : postgres(database.postgres)
    // The cache is made after the store it reads; commits reach it through this late binding.
    let cache: KeyCache.KeyCache | undefined
    const store = yield* makeStore(backend, { nextReset, committed: (rows) => cache?.committed(rows) })
    cache = KeyCache.make(store.readKey)
    return team(store, cache)
  })

/**
 * The SHA-256 of a bearer token, remembered for the last 1 024 distinct tokens: a hash object per
 * request was a measurable part of a keyed request's cost. (The tokens are in memory anyway while
 * their requests are served; a full map is cleared, not grown.)
 */
const hashes = new Map<string, string>()
const hashOf = (token: string): string => {
  const known = hashes.get(token)
  if (known !== undefined) return known
  if (hashes.size >= 1_024) hashes.clear()
  const hash = hashToken(token)
  hashes.set(token, hash)
  return hash
}

const team = (store: Store, cache: KeyCache.KeyCache): Team => {
  const authenticate = (token: string): Effect.Effect<Principal | OpenAiError> => {
    const hash = hashOf(token)
    return cache.get(hash).pipe(
      Effect.map((key): Principal | OpenAiError => {
        if (key === undefined) return invalidKey("Invalid API key.")
        if (key.expires !== null && Date.parse(key.expires) <= Date.now()) {
          // LiteLLM: "Authentication Error - Expired Key. Key Expiry time …" (status 401).
          return invalidKey(`Authentication Error - Expired Key. Key Expiry time ${key.expires}.`)
        }
        return { _tag: "Key", hash, key }
      }),
      Effect.catch((error) => Effect.succeed(unavailable(error)))
    )
  }
  const admit = (principal: Principal, alias: string): OpenAiError | undefined => {
    if (principal._tag !== "Key") return undefined
    const { key } = principal
    // LiteLLM: an empty `models` list (or "all-proxy-models") means every model.
    if (key.models.length > 0 && !key.models.includes(alias) && !key.models.includes("all-proxy-models")) {
      return {
        status: 401,
        type: "key_model_access_denied",
        code: "401",
        param: "model",
        // LiteLLM's words, its Python list spelling included.
        message: `key not allowed to access model. This key can only access models=[${key.models.map((m) => `'${m}'`).join(", ")}]. Tried to access ${alias}`
      }
    }
    if (key.max_budget !== null && key.spend >= key.max_budget) return budgetExceeded(key.spend, key.max_budget)
    return undefined
  }
  const spent: Team["spent"] = (requestId, principal, fields, latencyMs) => {
    // An embeddings request, answered or not (a failed or interrupted one with what Bedrock
    // billed for it before: its calls that succeeded); other routes add nothing.
    if (typeof fields.cost !== "number") return
    const row = spendRow(requestId, principal, fields, latencyMs)
    cache.recorded(row)
    store.recordSpend(row)
    // Async-invoke jobs cost nothing yet: their spend is recorded when they end (TeamJobs).
    if (Array.isArray(fields.jobs) && fields.jobs.length > 0) track(store, row, fields.jobs)
  }
  return { store, cache, authenticate, admit, spent }
}

/**
 * Records a request's async-invoke jobs, retried for a minute when the database does not answer;
 * a job it could not record is said on stderr (its spend would go unrecorded).
 */
const track = (store: Store, row: SpendRow, arns: ReadonlyArray<unknown>) => {
  const jobs = arns
    .filter((arn): arn is string => typeof arn === "string")
    .map((arn) => ({
      invocation_arn: arn,
      key_hash: row.key_hash,
      model: row.model,
      deployment: row.deployment,
      submitted_at: row.started_at
    }))
  Effect.runFork(
    store.trackJobs(jobs).pipe(
      Effect.retry({ schedule: Schedule.exponential("200 millis"), times: 8 }),
      Effect.catch((error) =>
        Effect.sync(() =>
          process.stderr.write(
            `bedrock-embed: cannot record ${jobs.length} async job(s) for their spend (${error.message}): ${jobs.map((job) => job.invocation_arn).join(", ")}\n`
          )
        )
      )
    )
  )
}

const master = Effect.succeed<Principal | OpenAiError>({ _tag: "Master" })
const anyone = Effect.succeed<Principal | OpenAiError>({ _tag: "Open" })

/**
 * Who a bearer token is: anyone without a master key; the master key; else a virtual key (from
 * the key cache: no database read while its row is fresh).
 */
export const principalOf = (
  team: Team | undefined,
  masterKey: string | undefined,
  token: string,
  sameSecret: (given: string, expected: string) => boolean
): Effect.Effect<Principal | OpenAiError> => {
  if (masterKey === undefined) return anyone
  if (sameSecret(token, masterKey)) return master
  if (team === undefined || token === "") {
    return Effect.succeed(invalidKey(token === "" ? missingKey : "Invalid API key."))
  }
  return team.authenticate(token)
}

/** The aliases a principal may see. */
export const visible = (principal: Principal, aliases: ReadonlyArray<string>): ReadonlyArray<string> =>
  principal._tag !== "Key" || principal.key.models.length === 0 || principal.key.models.includes("all-proxy-models")
    ? aliases
    : aliases.filter((alias) => principal.key.models.includes(alias))

/** One embeddings request's spend row, from the handler's log fields (the engine's numbers). */
export const spendRow = (
  requestId: string,
  principal: Principal,
  fields: Readonly<Record<string, unknown>>,
  latencyMs: number
): SpendRow => ({
  request_id: requestId,
  key_hash: principal._tag === "Key" ? principal.hash : null,
  model: String(fields.model ?? ""),
  deployment: String(fields.bedrock_model ?? ""),
  prompt_tokens: typeof fields.tokens === "number" ? fields.tokens : 0,
  cost: typeof fields.cost === "number" ? fields.cost : 0,
  latency_ms: Math.round(latencyMs * 10) / 10,
  status: typeof fields.error === "string" ? "failure" : "success",
  started_at: new Date(Date.now() - latencyMs).toISOString()
})

/**
 * The team of a gateway with a master key — its store opened on the configured database,
 * closed with the scope — or none without a master key (no file is created, no server
 * contacted). A database setting it cannot use, or a database it cannot open, is a defect with a
 * message that says what to set and shows no password.
 */
export const layerOf = (options: {
  readonly config: Config
  readonly database?: string | undefined
}): Effect.Effect<Team | undefined, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (options.config.general_settings?.master_key === undefined) return undefined
    const env = yield* EffectConfig.option(EffectConfig.String("DATABASE_URL")).pipe(
      Effect.map(Option.getOrUndefined),
      Effect.orElseSucceed(() => undefined)
    )
    const target = databaseFile(options.config, env, options.database ?? ":memory:")
    if ("error" in target) return yield* Effect.die(new Error(target.error))
    const where = "file" in target ? target.file : redactUrl(Redacted.value(target.postgres))
    return yield* make(target).pipe(
      Effect.catch((error) => Effect.die(new Error(`cannot open the key database ${where}: ${error.message}`)))
    )
  })
