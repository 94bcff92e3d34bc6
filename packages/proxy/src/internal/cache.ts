/**
 * The gateway's embedding cache (LiteLLM's `litellm_settings.cache: true` and `cache_params`),
 * cached per input: a request of N inputs with K cached makes one engine call for the other N−K
 * and is reassembled in input order; the cached inputs cost nothing.
 *
 * An entry's key is the SHA-256 of the deployment's Bedrock model id, the request's parameters
 * that change vectors, and the input as given (its text, or its media object with the bytes or
 * URI it holds), prefixed with `cache_params.namespace` when set; the input text itself is never
 * stored. The parameters are every decoded request field (known and provider-specific) except
 * those that only say how to reach, sign, time, bill or spell the answer: `model` (the model id
 * stands for it), `input`, `encoding_format` (an entry is the float32 vector; float and base64 are
 * written from it), `user`, `drop_params`, `output_s3_uri`, `client_request_token`, `api_key`,
 * `api_base`, `aws_*`, `headers`, `extra_headers`, `timeout`, `request_timeout`, `num_retries`,
 * `max_retries`, `max_response_bytes` and `input_cost_per_*`. Any other field (`dimensions`,
 * `input_type`, `role`, `embedding_types`, `normalize`, `truncate`, `media_source`, a parameter
 * added later…) is part of the key: an unknown one costs a miss, never a wrong vector.
 *
 * Stores: `local` (an LRU in this process), `disk` (a SQLite file, `node:sqlite`) and `redis`
 * (node-redis, through `@effect/platform-node/NodeRedis`), each holding float32 bytes with an
 * expiry. A store that fails (or takes over 2 s) never fails a request: its lookups count as
 * misses, its writes are dropped, and a line on stderr says so once a minute at most. The misses'
 * vectors are written before the answer goes out, so the next request (on any gateway sharing the
 * store) finds them.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { EmbeddingRequest, EmbeddingResponse } from "@bedrock-embed/core"
import { Context, Duration, Effect, Layer, References, Result, type Scope } from "effect"
import type { Config } from "../Config.ts"
import { describeRedis, type RedisTarget, redisOptions, redisTarget } from "./limits.ts"

/**
 * Where vectors are kept: a float32 vector per key, or `undefined` for a key not held.
 *
 * @category models
 * @since 0.1.0
 */
export interface Store {
  readonly get: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array | undefined>, unknown>
  readonly set: (entries: ReadonlyArray<readonly [string, Float32Array]>) => Effect.Effect<void, unknown>
}

/**
 * The cache a gateway uses for embeddings.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cache {
  /** `local`, `disk` or `redis`. */
  readonly type: string
  readonly namespace: string | undefined
  /** The vectors held for `keys`, in order; a store failure reads as misses. */
  readonly get: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array | undefined>>
  /** Keeps vectors; a store failure drops them. */
  readonly set: (entries: ReadonlyArray<readonly [string, Float32Array]>) => Effect.Effect<void>
}

/**
 * A request's own switches (LiteLLM's body `cache: { "no-cache": true, "no-store": true }`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Switches {
  /** Do not read the cache. */
  readonly noCache: boolean
  /** Do not write the cache. */
  readonly noStore: boolean
}

/**
 * The switches a request body's `cache` field sets.
 *
 * @category decoding
 * @since 0.1.0
 */
export const switchesOf = (cache: unknown): Switches => {
  const record = typeof cache === "object" && cache !== null ? (cache as Record<string, unknown>) : {}
  return { noCache: record["no-cache"] === true, noStore: record["no-store"] === true }
}

const MINUTE_MS = 60_000
/** How long a store may take before its answer counts as a miss. */
const STORE_TIMEOUT = Duration.seconds(2)

// Request fields that do not change vectors: transport, identity, deadlines, prices, spelling.
const inert = new Set([
  "model",
  "input",
  "encoding_format",
  "user",
  "drop_params",
  "output_s3_uri",
  "client_request_token",
  "api_key",
  "api_base",
  "headers",
  "extra_headers",
  "timeout",
  "request_timeout",
  "num_retries",
  "max_retries",
  "max_response_bytes"
])
const isInert = (key: string) => inert.has(key) || key.startsWith("aws_") || key.startsWith("input_cost_per_")

/** JSON with object keys sorted, so equal values give equal text. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * The parameters of a request that change its vectors, as canonical JSON (see the module's doc).
 *
 * @category keys
 * @since 0.1.0
 */
export const vectorParams = (request: EmbeddingRequest.Decoded): string => {
  const params: Record<string, unknown> = {}
  for (const [key, value] of Object.entries({ ...request.extras, ...request.known })) {
    if (!isInert(key)) params[key] = value
  }
  return canonical(params)
}

/**
 * The inputs of a request, one per vector.
 *
 * @category keys
 * @since 0.1.0
 */
export const inputsOf = (request: EmbeddingRequest.Decoded): ReadonlyArray<unknown> =>
  Array.isArray(request.known.input) ? request.known.input : [request.known.input]

/**
 * The key of one input: SHA-256 of the model id, the vector parameters and the input.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOf = (namespace: string | undefined, modelId: string, params: string, input: unknown): string => {
  const hash = createHash("sha256")
    .update(`${modelId}\n${params}\n${canonical(input)}`)
    .digest("hex")
  return namespace === undefined ? hash : `${namespace}:${hash}`
}

/** A float32 vector from stored bytes (copied: the bytes may not be 4-aligned). */
const vectorOf = (bytes: Uint8Array): Float32Array => {
  const aligned = new Uint8Array(bytes.byteLength)
  aligned.set(bytes)
  return new Float32Array(aligned.buffer)
}
const bytesOf = (vector: Float32Array): Buffer => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)

/**
 * An LRU in this process: at most `max` entries, each for `ttlMs` (none: until evicted).
 *
 * @category constructors
 * @since 0.1.0
 */
export const localStore = (max: number, ttlMs: number | undefined): Store => {
  const entries = new Map<string, { readonly vector: Float32Array; readonly expires: number }>()
  const get = (key: string): Float32Array | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    entries.delete(key)
    if (entry.expires <= Date.now()) return undefined
    entries.set(key, entry)
    return entry.vector
  }
  return {
    get: (keys) => Effect.sync(() => keys.map(get)),
    set: (list) =>
      Effect.sync(() => {
        const expires = ttlMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + ttlMs
        for (const [key, vector] of list) {
          entries.delete(key)
          entries.set(key, { vector: vector.slice(), expires })
          if (entries.size > max) entries.delete(entries.keys().next().value as string)
        }
      })
  }
}

/** A SQLite file in `dir` (`node:sqlite`): float32 bytes as a BLOB, with an expiry in ms (NULL: none). */
const diskStore = (dir: string, ttlMs: number | undefined): Effect.Effect<Store, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { DatabaseSync } = yield* Effect.promise(() => import("node:sqlite"))
    const db = yield* Effect.acquireRelease(
      Effect.sync(() => {
        mkdirSync(dir, { recursive: true })
        const db = new DatabaseSync(join(dir, "embeddings.db"))
        db.exec("PRAGMA journal_mode = WAL")
        db.exec("CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL, expires INTEGER)")
        return db
      }),
      (db) => Effect.sync(() => db.close())
    )
    const select = db.prepare("SELECT vector, expires FROM embeddings WHERE key = ?")
    const remove = db.prepare("DELETE FROM embeddings WHERE key = ?")
    const upsert = db.prepare("INSERT OR REPLACE INTO embeddings (key, vector, expires) VALUES (?, ?, ?)")
    const get = (key: string): Float32Array | undefined => {
      const row = select.get(key) as { vector: Uint8Array; expires: number | null } | undefined
      if (row === undefined) return undefined
      if (row.expires !== null && row.expires <= Date.now()) {
        remove.run(key)
        return undefined
      }
      return vectorOf(row.vector)
    }
    return {
      get: (keys) => Effect.try(() => keys.map(get)),
      set: (list) =>
        Effect.try(() => {
          const expires = ttlMs === undefined ? null : Date.now() + ttlMs
          db.exec("BEGIN")
          try {
            for (const [key, vector] of list) upsert.run(key, bytesOf(vector), expires)
            db.exec("COMMIT")
          } catch (error) {
            db.exec("ROLLBACK")
            throw error
          }
        })
    }
  })

/** A Redis (node-redis): float32 bytes under `bedrock-embed:cache:<key>`, with a PX expiry. */
const redisStore = (target: RedisTarget, ttlMs: number | undefined): Effect.Effect<Store, never, Scope.Scope> =>
  Effect.gen(function* () {
    const NodeRedis = yield* Effect.promise(() => import("@effect/platform-node/NodeRedis"))
    const { RESP_TYPES } = yield* Effect.promise(() => import("redis"))
    const context = yield* Layer.build(NodeRedis.layer(redisOptions(target))).pipe(
      // node-redis's reconnect errors would be logged on every attempt; the one line a minute says it.
      Effect.provideService(References.MinimumLogLevel, "None"),
      Effect.catch((error) =>
        Effect.die(
          new Error(
            `cannot connect to the Redis for the embedding cache at ${describeRedis(target)}: ${error.message}; ` +
              "start it, fix litellm_settings.cache_params.host / port / password (or router_settings.redis_*, " +
              "REDIS_URL, REDIS_HOST, REDIS_PORT), or use cache_params.type local or disk"
          )
        )
      )
    )
    const redis = Context.get(context, NodeRedis.NodeRedis)
    const binary = redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    const prefix = "bedrock-embed:cache:"
    return {
      get: (keys) =>
        Effect.tryPromise(() => binary.mGet(keys.map((key) => prefix + key))).pipe(
          Effect.map((values) => values.map((value) => (value === null ? undefined : vectorOf(value as Buffer))))
        ),
      set: (list) =>
        Effect.tryPromise(() =>
          Promise.all(
            list.map(([key, vector]) =>
              redis.client.set(prefix + key, bytesOf(vector), ttlMs === undefined ? {} : { PX: Math.ceil(ttlMs) })
            )
          )
        )
    }
  })

/** Once a minute at most: a line on stderr that the store failed and requests miss meanwhile. */
const warnEveryMinute = (type: string) => {
  let last = Number.NEGATIVE_INFINITY
  return (error: unknown) =>
    Effect.sync(() => {
      const now = Date.now()
      if (now - last < MINUTE_MS) return
      last = now
      // Effect.try's errors hold the store's own error as `cause`.
      const cause = (error as { readonly cause?: unknown }).cause ?? error
      const reason = cause instanceof Error ? cause.message : String(cause)
      process.stderr.write(
        `bedrock-embed: the ${type} embedding cache failed (${reason}); requests miss it until it answers\n`
      )
    })
}

/** Whether `cache_params.supported_call_types` lets embeddings through (absent: yes). */
const servesEmbeddings = (types: ReadonlyArray<string> | undefined) =>
  types === undefined || types.includes("embedding") || types.includes("aembedding")

/**
 * The gateway's embedding cache, or `undefined` when the config has none (`litellm_settings.cache`
 * not `true`, or `supported_call_types` without `embedding` / `aembedding`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (config: Config): Effect.Effect<Cache | undefined, never, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = config.litellm_settings
    const params = settings?.cache_params ?? {}
    if (settings?.cache !== true || !servesEmbeddings(params.supported_call_types)) return undefined
    const type = params.type ?? "local"
    const ttlMs = params.ttl === undefined ? undefined : params.ttl * 1000
    const store =
      type === "disk"
        ? yield* diskStore(resolve(params.disk_cache_dir ?? ".bedrock-embed-cache"), ttlMs)
        : type === "redis"
          ? yield* redisStore(yield* redisOf(config), ttlMs)
          : localStore(params.max_size_in_memory ?? 10_000, ttlMs)
    const warn = warnEveryMinute(type)
    return {
      type,
      namespace: params.namespace,
      get: (keys) =>
        store.get(keys).pipe(
          Effect.timeout(STORE_TIMEOUT),
          Effect.catch((error) =>
            Effect.as(
              warn(error),
              keys.map(() => undefined)
            )
          )
        ),
      set: (entries) => store.set(entries).pipe(Effect.timeout(STORE_TIMEOUT), Effect.catch(warn))
    }
  })

/** The cache's Redis: `cache_params.host` / `port` / `password`, else the one rate limits use. */
const redisOf = (config: Config): Effect.Effect<RedisTarget> =>
  Effect.gen(function* () {
    const params = config.litellm_settings?.cache_params
    if (params?.host !== undefined) {
      return { host: params.host, port: params.port, password: params.password === "" ? undefined : params.password }
    }
    const target = yield* redisTarget(config)
    if (target === undefined) {
      return yield* Effect.die(
        new Error(
          "litellm_settings.cache_params.type is redis but no Redis is named: set cache_params.host / port / password, " +
            "router_settings.redis_host, REDIS_URL or REDIS_HOST"
        )
      )
    }
    return target
  })

/**
 * How a request used the cache: `hit` (every input cached), `miss` (none) or `partial`, with the
 * count of cached inputs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outcome {
  readonly response: EmbeddingResponse.EmbeddingResponse
  /** `undefined`: the cache was not used. */
  readonly status: "hit" | "miss" | "partial" | undefined
  readonly cached: number
}

/** Whether every vector of a response is a plain float32 vector an entry can hold. */
const storable = (data: ReadonlyArray<EmbeddingResponse.EmbeddingData>) =>
  data.every(
    (item) =>
      item.embedding instanceof Float32Array &&
      item.embeddings_by_type === undefined &&
      item.embeddings_by_modality === undefined
  )

/**
 * Embeds a request through the cache: looks every input up (unless `no-cache`), embeds the
 * misses with one `run` of a request holding only them (vectors asked as float32s), keeps their
 * vectors (unless `no-store`), and answers all inputs in order, spelled as the request asked.
 * The response's usage, cost and calls are the misses'; `usage.prompt_tokens_details.cached_inputs`
 * counts the others.
 *
 * @category embedding
 * @since 0.1.0
 */
export const embedThrough = <E>(
  cache: Cache | undefined,
  modelId: string,
  request: EmbeddingRequest.Decoded,
  switches: Switches,
  run: (request: EmbeddingRequest.Decoded) => Effect.Effect<EmbeddingResponse.EmbeddingResponse, E>
): Effect.Effect<Outcome, E> =>
  Effect.gen(function* () {
    // A request the engine would refuse for a field outside the key (bad headers) goes to it as is.
    if (cache === undefined || Result.isFailure(EmbeddingRequest.extraHeaders(request.known))) {
      return { response: yield* run(request), status: undefined, cached: 0 }
    }
    const inputs = inputsOf(request)
    const params = vectorParams(request)
    const keys = inputs.map((input) => keyOf(cache.namespace, modelId, params, input))
    const held = switches.noCache ? keys.map(() => undefined) : yield* cache.get(keys)
    const missing = inputs.flatMap((_, i) => (held[i] === undefined ? [i] : []))
    const { encoding_format, ...known } = request.known
    const asked = missing.length === inputs.length ? known : { ...known, input: missing.map((i) => inputs[i]!) }
    const fresh =
      missing.length === 0 ? undefined : yield* run({ known: asked as EmbeddingRequest.Known, extras: request.extras })
    const vectors = held.slice()
    missing.forEach((index, j) => {
      const embedding = fresh?.data[j]?.embedding
      if (embedding instanceof Float32Array) vectors[index] = embedding
    })
    if (fresh !== undefined && !switches.noStore && storable(fresh.data)) {
      yield* cache.set(
        missing.map((index, j) => [keys[index]!, fresh.data[j]!.embedding as unknown as Float32Array] as const)
      )
    }
    const cached = inputs.length - missing.length
    const response = assemble(fresh, vectors, missing, encoding_format === "base64", cached, modelId)
    return { response, cached, status: cached === 0 ? "miss" : missing.length === 0 ? "hit" : "partial" }
  })

/** All inputs' vectors in order, with the misses' usage and spend (none for a request all cached). */
const assemble = (
  fresh: EmbeddingResponse.EmbeddingResponse | undefined,
  vectors: ReadonlyArray<Float32Array | undefined>,
  missing: ReadonlyArray<number>,
  base64: boolean,
  cached: number,
  modelId: string
): EmbeddingResponse.EmbeddingResponse => {
  const freshAt = new Map(missing.map((index, j) => [index, fresh?.data[j]] as const))
  const data = vectors.map((vector, index): EmbeddingResponse.EmbeddingData => {
    const item = freshAt.get(index)
    // A cached vector is a Float32Array, which ResponseBody writes as a float array.
    const embedding = (vector as unknown as ReadonlyArray<number> | undefined) ?? item!.embedding
    return {
      ...item,
      object: "embedding",
      index,
      embedding: base64 && typeof embedding !== "string" ? EmbeddingResponse.toBase64(embedding) : embedding
    }
  })
  const usage = fresh?.usage ?? { prompt_tokens: 0, total_tokens: 0 }
  return {
    object: "list",
    data,
    model: fresh?.model ?? modelId,
    // OpenAI's `cached_tokens` counts tokens; a cached input's tokens are not known, so inputs are counted.
    usage:
      cached === 0
        ? usage
        : ({
            ...usage,
            prompt_tokens_details: { ...usage.prompt_tokens_details, cached_inputs: cached }
          } as EmbeddingResponse.EmbeddingUsage),
    _hidden_params: fresh?._hidden_params ?? {
      response_cost: 0,
      model_id: modelId,
      family: "",
      region: "",
      calls: 0,
      retries: 0,
      throttles: 0,
      request_ids: []
    }
  }
}
