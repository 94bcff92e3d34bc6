/**
 * The dashboard at `/ui`, served by the gateway itself: the page and its bundle (static, open:
 * they hold no data and no secret), and the data it reads under `/ui/api/` — deployments, spend
 * per alias and per key over time, recent requests, async jobs — which only the master key may
 * read (a virtual key gets a 403, no key a 401). The page also calls the gateway's own
 * `/v1/models`, `/health`, `/v1/batches/{id}` and `/v1/embeddings` with the master key.
 *
 * Spend rows hold no input text, so neither does anything here.
 *
 * @internal
 */
import { Effect, Layer } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Config } from "../../Config.ts"
import { badRequest, type OpenAiError } from "../../HttpErrors.ts"
import type { Handle } from "../team/admin.ts"
import type { KeyRow, SpendBucket, StoreError } from "../team/store.ts"
import { type Team, unavailable } from "../team/team.ts"
import { assets } from "./assets.ts"

/** The page: no data, no secret; it asks for the master key and keeps it in `sessionStorage`. */
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bedrock-embed gateway</title>
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<div id="app"><noscript>The dashboard needs JavaScript.</noscript></div>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`

const pageHeaders = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff"
}

/** A bundle file, or a 500 that says how to build it. */
const asset = (pick: (bundle: { js: Uint8Array; css: Uint8Array }) => Uint8Array, contentType: string) =>
  Effect.tryPromise(assets).pipe(
    Effect.map((bundle) =>
      HttpServerResponse.uint8Array(pick(bundle), {
        contentType,
        headers: { "cache-control": "no-cache", "x-content-type-options": "nosniff" }
      })
    ),
    Effect.catch((error) =>
      Effect.succeed(
        HttpServerResponse.text(String((error.cause as Error | undefined)?.message ?? error.message), { status: 500 })
      )
    )
  )

/** A virtual key may not read the dashboard's data (what every key spent, and on what). */
const forbidden: OpenAiError = {
  status: 403,
  type: "permission_error",
  code: "403",
  message:
    "Only the master key can read the dashboard's data; open /ui and enter the gateway's general_settings.master_key."
}

const db = <A>(effect: Effect.Effect<A, StoreError>): Effect.Effect<A, OpenAiError> =>
  Effect.mapError(effect, unavailable)

// What every key spent: never kept by a cache on the way.
const json = (body: unknown) => ({
  response: HttpServerResponse.jsonUnsafe(body, { headers: { "cache-control": "no-store" } })
})

/** An integer query parameter in `[min, max]`, its default when absent, or the 400 that says so. */
const intParam = (
  request: HttpServerRequest.HttpServerRequest,
  name: string,
  fallback: number,
  min: number,
  max: number
): Effect.Effect<number, OpenAiError> => {
  const text = new URL(request.url, "http://gateway").searchParams.get(name)
  if (text === null) return Effect.succeed(fallback)
  const value = Number(text)
  return Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : Effect.fail(
        badRequest("invalid_request", `${name}=${text} is not valid: pass a whole number from ${min} to ${max}.`)
      )
}

/** How the page names a key: its alias, else its display name (`sk-...abcd`); null is the master key. */
const keyLabels = (keys: ReadonlyArray<KeyRow>) => {
  const names = new Map(keys.map((key) => [key.token, key.key_alias ?? key.key_name]))
  return (hash: string | null): string =>
    hash === null ? "master key" : (names.get(hash) ?? `deleted key ${hash.slice(0, 8)}`)
}

/** Buckets as one series a name, one value a bucket (zero where nothing was spent). */
const seriesOf = (
  rows: ReadonlyArray<SpendBucket>,
  buckets: ReadonlyArray<number>,
  nameOf: (row: SpendBucket) => string
) => {
  const names = [...new Set(rows.map(nameOf))].sort()
  const at = new Map(buckets.map((bucket, i) => [bucket, i]))
  const cost = names.map(() => buckets.map(() => 0))
  const tokens = names.map(() => buckets.map(() => 0))
  for (const row of rows) {
    const i = names.indexOf(nameOf(row))
    const j = at.get(row.bucket)
    if (j === undefined) continue
    cost[i]![j]! += row.cost
    tokens[i]![j]! += row.tokens
  }
  return { names, cost, tokens }
}

/** The time buckets of the last `hours`: minutes up to 6 hours, hours beyond; the last holds now. */
export const bucketsOf = (hours: number, now: number) => {
  const width = hours <= 6 ? 60 : 3_600
  const last = Math.floor(now / 1_000 / width) * width
  const count = Math.ceil((hours * 3_600) / width)
  const buckets = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * width)
  return { width, buckets }
}

/**
 * The dashboard's routes, as a layer on `HttpRouter`, under the gateway's handler (`handle`:
 * auth, request id, log line).
 */
export const routes = (config: Config, team: Team, handle: Handle) => {
  const { store } = team
  const master =
    (name: string) =>
    (
      run: (
        request: HttpServerRequest.HttpServerRequest
      ) => Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse }, OpenAiError>
    ) =>
      handle(name)((request, principal) => (principal._tag === "Master" ? run(request) : Effect.fail(forbidden)))

  const deployments = master("ui.deployments")(() =>
    Effect.succeed(
      json({
        deployments: config.model_list.map((deployment) => ({
          model_name: deployment.model_name,
          model: deployment.litellm_params.model,
          region:
            typeof deployment.litellm_params.aws_region_name === "string"
              ? deployment.litellm_params.aws_region_name
              : null
        }))
      })
    )
  )

  const spend = master("ui.spend")((request) =>
    Effect.gen(function* () {
      const hours = yield* intParam(request, "hours", 24, 1, 24 * 90)
      const { width, buckets } = bucketsOf(hours, Date.now())
      const rows = yield* db(store.spendBuckets(new Date(buckets[0]! * 1_000).toISOString(), width))
      const label = keyLabels(yield* db(store.listKeys))
      return json({
        bucket_seconds: width,
        buckets,
        by_model: seriesOf(rows, buckets, (row) => row.model),
        by_key: seriesOf(rows, buckets, (row) => label(row.key_hash))
      })
    })
  )

  const requests = master("ui.requests")((request) =>
    Effect.gen(function* () {
      const limit = yield* intParam(request, "limit", 50, 1, 500)
      const rows = yield* db(store.recentSpend(limit))
      const label = keyLabels(yield* db(store.listKeys))
      return json({
        requests: rows.map((row) => ({
          request_id: row.request_id,
          time: row.started_at,
          model: row.model,
          deployment: row.deployment,
          key: label(row.key_hash),
          tokens: row.prompt_tokens,
          cost: row.cost,
          latency_ms: row.latency_ms,
          status: row.status
        }))
      })
    })
  )

  const jobs = master("ui.jobs")((request) =>
    Effect.gen(function* () {
      const limit = yield* intParam(request, "limit", 50, 1, 500)
      const rows = yield* db(store.listJobs(limit))
      const label = keyLabels(yield* db(store.listKeys))
      return json({ jobs: rows.map(({ key_hash, ...job }) => ({ ...job, key: label(key_hash) })) })
    })
  )

  const html = HttpServerResponse.text(page, { contentType: "text/html; charset=utf-8", headers: pageHeaders })
  return Layer.mergeAll(
    HttpRouter.add("GET", "/ui", html),
    HttpRouter.add(
      "GET",
      "/ui/app.js",
      asset((bundle) => bundle.js, "text/javascript; charset=utf-8")
    ),
    HttpRouter.add(
      "GET",
      "/ui/app.css",
      asset((bundle) => bundle.css, "text/css; charset=utf-8")
    ),
    HttpRouter.add("GET", "/ui/api/deployments", deployments),
    HttpRouter.add("GET", "/ui/api/spend", spend),
    HttpRouter.add("GET", "/ui/api/requests", requests),
    HttpRouter.add("GET", "/ui/api/jobs", jobs)
  )
}
