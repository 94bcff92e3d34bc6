/**
 * Virtual keys for teams, as LiteLLM's proxy has them: who a request's bearer token is, which
 * models it may use, whether its budget is spent, and the spend it adds. Created only when the
 * gateway has a `general_settings.master_key`; the keys live in the {@link Store}.
 *
 * @internal
 */
import { isAbsolute, resolve } from "node:path"
import { Config as EffectConfig, Effect, Option, type Scope } from "effect"
import type { Config } from "../../Config.ts"
import { badRequest, type OpenAiError } from "../../HttpErrors.ts"
import { hashToken, type KeyRow, open, type SpendRow, type Store } from "./store.ts"

/** Who sent a request: the master key, a virtual key, or anyone (a gateway without a master key). */
export type Principal =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Master" }
  | { readonly _tag: "Key"; readonly hash: string; readonly key: KeyRow }

/** The keys and spend of one gateway. */
export interface Team {
  readonly store: Store
  /** The virtual key a (non-empty) token is, or the error LiteLLM answers for it (unknown, expired). */
  readonly authenticate: (token: string) => Principal | OpenAiError
  /** Refuses a key the model (alias) or a spent budget, before any Bedrock call. */
  readonly admit: (principal: Principal, alias: string) => OpenAiError | undefined
  /** Records an embeddings request's spend (its log fields carry `cost`); other requests add none. */
  readonly spent: (
    requestId: string,
    principal: Principal,
    fields: Readonly<Record<string, unknown>>,
    latencyMs: number
  ) => void
  readonly close: () => void
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

/**
 * The SQLite file: `general_settings.database_url`, else `DATABASE_URL`, when either is a
 * `sqlite:` or `file:` URL or a bare path (a relative one from the working directory); else
 * `fallback`. A Postgres URL is refused: this
 * version stores keys in SQLite only, and silently keeping them apart from a fleet's Postgres
 * would split its keys.
 */
export const databaseFile = (
  config: Config,
  env: string | undefined,
  fallback: string
): { readonly file: string } | { readonly error: string } => {
  const url = config.general_settings?.database_url ?? env
  if (url === undefined || url === "") return { file: fallback }
  if (/^postgres(ql)?:/i.test(url)) {
    return {
      error:
        "database_url / DATABASE_URL is a Postgres URL; this version keeps virtual keys in SQLite only: " +
        "set it to sqlite:///path/to/keys.db (or a file path), or unset it to use bedrock-embed.db next to the config"
    }
  }
  const path = url.replace(/^(sqlite|file):(\/\/)?/i, "")
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) {
    return {
      error: `database_url / DATABASE_URL "${path.split(":")[0]}:" is not a database this gateway supports (sqlite: or file:)`
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

/** Opens the team's store on `file`. */
export const make = async (file: string): Promise<Team> => {
  const store = await open(file, nextReset)
  const authenticate = (token: string): Principal | OpenAiError => {
    const hash = hashToken(token)
    const key = store.findKey(hash)
    if (key === undefined) return invalidKey("Invalid API key.")
    if (key.expires !== null && Date.parse(key.expires) <= Date.now()) {
      // LiteLLM: "Authentication Error - Expired Key. Key Expiry time …" (status 401).
      return invalidKey(`Authentication Error - Expired Key. Key Expiry time ${key.expires}.`)
    }
    return { _tag: "Key", hash, key }
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
    if (typeof fields.cost === "number") store.recordSpend(spendRow(requestId, principal, fields, latencyMs))
  }
  return { store, authenticate, admit, spent, close: store.close }
}

const master: Principal = { _tag: "Master" }
const anyone: Principal = { _tag: "Open" }

/** Who a bearer token is: anyone without a master key; the master key; else a virtual key. */
export const principalOf = (
  team: Team | undefined,
  masterKey: string | undefined,
  token: string,
  sameSecret: (given: string, expected: string) => boolean
): Principal | OpenAiError => {
  if (masterKey === undefined) return anyone
  if (sameSecret(token, masterKey)) return master
  if (team === undefined || token === "") {
    return invalidKey(token === "" ? missingKey : "Invalid API key.")
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
  status: "success",
  started_at: new Date(Date.now() - latencyMs).toISOString()
})

/**
 * The team of a gateway with a master key — its store opened on the configured file, closed with
 * the scope — or none without a master key (no file is created). A
 * database setting it cannot use is a defect with a message that says what to set.
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
    const team = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => make(target.file),
        catch: (cause) => new Error(`cannot open the key database ${target.file}: ${(cause as Error).message}`)
      }).pipe(Effect.orDie),
      (team) => Effect.sync(team.close)
    )
    return team
  })
