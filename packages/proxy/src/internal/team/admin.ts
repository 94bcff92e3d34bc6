/**
 * LiteLLM's key administration API on the gateway — `POST /key/generate`, `GET /key/info`,
 * `POST /key/update`, `POST /key/delete`, `GET /key/list` — and `GET /spend/logs`, with
 * LiteLLM's field names, so its docs, scripts and clients work unchanged. The master key
 * administers; a virtual key may read only its own `/key/info`. A token is shown once, by
 * `/key/generate`; everything else names a key by its hash.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { badRequest, type OpenAiError } from "../../HttpErrors.ts"
import { hashToken, type KeyFields, type SpendRow, type StoreError } from "./store.ts"
import { durationEnd, masterOnly, type Principal, type Team, unavailable } from "./team.ts"

/** A route body under the gateway's handler (auth, request id, log line). */
export type Handle = (
  name: string
) => (
  run: (
    request: HttpServerRequest.HttpServerRequest,
    principal: Principal
  ) => Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse }, OpenAiError>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>

const Nullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** The key fields LiteLLM's `/key/generate` and `/key/update` take (others are ignored). */
const KeyBody = Schema.Struct({
  key: Schema.optional(Schema.String),
  models: Schema.optional(Schema.Array(Schema.String)),
  max_budget: Nullable(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  budget_duration: Nullable(Schema.String),
  tpm_limit: Nullable(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  rpm_limit: Nullable(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  duration: Nullable(Schema.String),
  key_alias: Nullable(Schema.String),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})
type KeyBody = typeof KeyBody.Type

const DeleteBody = Schema.Struct({
  keys: Schema.optional(Schema.Array(Schema.String)),
  key_aliases: Schema.optional(Schema.Array(Schema.String))
})

const bodyOf = <S extends Schema.Top & { readonly DecodingServices: never }>(
  request: HttpServerRequest.HttpServerRequest,
  schema: S
): Effect.Effect<S["Type"], OpenAiError> =>
  request.json.pipe(
    Effect.mapError(() => badRequest("invalid_request", "The request body must be JSON.")),
    Effect.flatMap((body) =>
      Schema.decodeUnknownEffect(schema)(body).pipe(
        Effect.mapError((error) => badRequest("invalid_request", `Invalid request body: ${error.message}`))
      )
    )
  ) as Effect.Effect<S["Type"], OpenAiError>

const notFound = (what: string): OpenAiError => ({
  status: 404,
  type: "not_found_error",
  code: "404",
  message: `Key not found: ${what}`
})

/** A key named by its token (`sk-…`) or by its hash (64 hex digits), as LiteLLM accepts both. */
const hashOf = (key: string): string => (/^[0-9a-f]{64}$/.test(key) ? key : hashToken(key))

/** A duration field as an ISO end time from now, or the 400 that says how to write it. */
const endOf = (
  field: string,
  value: string | null | undefined
): Effect.Effect<string | null | undefined, OpenAiError> => {
  if (value === undefined || value === null) return Effect.succeed(value)
  const end = durationEnd(value, new Date())
  return end === undefined
    ? Effect.fail(
        badRequest("invalid_request", `${field} "${value}" is not a duration: write e.g. 30s, 30m, 1h, 30d or 1mo.`)
      )
    : Effect.succeed(end.toISOString())
}

/** The stored fields a request body sets. */
const fieldsOf = (body: KeyBody): Effect.Effect<KeyFields, OpenAiError> =>
  Effect.gen(function* () {
    const expires = yield* endOf("duration", body.duration)
    const reset = yield* endOf("budget_duration", body.budget_duration)
    const { key: _, duration: __, ...rest } = body
    return {
      ...rest,
      ...(expires === undefined ? {} : { expires }),
      ...(reset === undefined ? {} : { budget_reset_at: reset })
    } as KeyFields
  })

/** A spend row under LiteLLM's `LiteLLM_SpendLogs` names (`api_key` is the key's hash). */
const spendOf = (row: SpendRow) => ({
  request_id: row.request_id,
  call_type: "aembedding",
  api_key: row.key_hash ?? "",
  spend: row.cost,
  total_tokens: row.prompt_tokens,
  prompt_tokens: row.prompt_tokens,
  completion_tokens: 0,
  startTime: row.started_at,
  endTime: new Date(Date.parse(row.started_at) + row.latency_ms).toISOString(),
  model: row.deployment,
  model_group: row.model,
  status: row.status,
  latency_ms: row.latency_ms
})

const json = (body: unknown) => ({ response: HttpServerResponse.jsonUnsafe(body) })

/** A store operation under a route: a database failure is a 503. */
const db = <A>(effect: Effect.Effect<A, StoreError>): Effect.Effect<A, OpenAiError> =>
  Effect.mapError(effect, unavailable)

/** The admin routes, as a layer on `HttpRouter`. */
export const routes = (team: Team, handle: Handle) => {
  const { store, cache } = team
  const master =
    (route: string) =>
    (
      run: (
        request: HttpServerRequest.HttpServerRequest
      ) => Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse }, OpenAiError>
    ) =>
      handle(route)((request, principal) =>
        principal._tag === "Master" ? run(request) : Effect.fail(masterOnly(`use ${route}`))
      )

  const generate = master("/key/generate")((request) =>
    Effect.gen(function* () {
      const body = yield* bodyOf(request, KeyBody)
      const fields = yield* fieldsOf(body)
      // LiteLLM's tokens: "sk-" and 16 random bytes, URL-safe base64.
      const token = body.key ?? `sk-${randomBytes(16).toString("base64url")}`
      if ((yield* db(store.findKey(hashToken(token)))) !== undefined) {
        return yield* Effect.fail(
          badRequest("invalid_request", "A key with this value already exists; omit `key` to generate one.")
        )
      }
      const row = yield* db(store.insertKey(token, fields))
      // LiteLLM returns the key once, with its hash as `token_id` and a display name.
      return json({ ...row, key: token, token_id: row.token })
    })
  )

  const infoRoute = handle("/key/info")((request, principal) =>
    Effect.gen(function* () {
      const asked = new URL(request.url, "http://gateway").searchParams.get("key")
      const hash = asked === null ? (principal._tag === "Key" ? principal.hash : undefined) : hashOf(asked)
      if (hash === undefined)
        return yield* Effect.fail(badRequest("invalid_request", "Pass the key: GET /key/info?key=sk-…"))
      if (principal._tag !== "Master" && !(principal._tag === "Key" && principal.hash === hash)) {
        return yield* Effect.fail(masterOnly("use /key/info for another key"))
      }
      // Read from the database, not the cache: the spend every gateway has written, this one's flushed first.
      yield* db(store.flush)
      const key = yield* db(store.findKey(hash))
      if (key === undefined) return yield* Effect.fail(notFound(asked ?? "this key"))
      return json({ key: asked ?? hash, info: key })
    })
  )

  const update = master("/key/update")((request) =>
    Effect.gen(function* () {
      const body = yield* bodyOf(request, KeyBody)
      if (body.key === undefined)
        return yield* Effect.fail(badRequest("invalid_request", 'Name the key to update: { "key": "sk-…", … }'))
      const fields = yield* fieldsOf(body)
      const hash = hashOf(body.key)
      const key = yield* db(store.updateKey(hash, fields))
      cache.drop(hash)
      if (key === undefined) return yield* Effect.fail(notFound(body.key))
      return json({ key: body.key, ...key })
    })
  )

  const remove = master("/key/delete")((request) =>
    Effect.gen(function* () {
      const body = yield* bodyOf(request, DeleteBody)
      const aliases = new Set(body.key_aliases ?? [])
      const byAlias =
        aliases.size === 0
          ? []
          : (yield* db(store.listKeys)).filter((key) => key.key_alias !== null && aliases.has(key.key_alias))
      const named = body.keys ?? []
      const deleted = new Set(yield* db(store.deleteKeys([...named.map(hashOf), ...byAlias.map((key) => key.token)])))
      for (const hash of deleted) cache.drop(hash)
      if (deleted.size === 0) return yield* Effect.fail(notFound([...named, ...aliases].join(", ") || "none named"))
      return json({
        deleted_keys: [...named.filter((key) => deleted.has(hashOf(key))), ...byAlias.map((key) => key.key_alias)]
      })
    })
  )

  const list = master("/key/list")((request) =>
    Effect.gen(function* () {
      const full = new URL(request.url, "http://gateway").searchParams.get("return_full_object") === "true"
      const keys = yield* db(store.listKeys)
      return json({
        keys: full ? keys : keys.map((key) => key.token),
        total_count: keys.length,
        current_page: 1,
        total_pages: 1
      })
    })
  )

  const spend = master("/spend/logs")((request) =>
    Effect.gen(function* () {
      const key = new URL(request.url, "http://gateway").searchParams.get("api_key")
      return json((yield* db(store.spendLogs(key === null ? undefined : hashOf(key)))).map(spendOf))
    })
  )

  return Layer.mergeAll(
    HttpRouter.add("POST", "/key/generate", generate),
    HttpRouter.add("GET", "/key/info", infoRoute),
    HttpRouter.add("POST", "/key/update", update),
    HttpRouter.add("POST", "/key/delete", remove),
    HttpRouter.add("GET", "/key/list", list),
    HttpRouter.add("GET", "/spend/logs", spend)
  )
}
