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
 * Stores: `disk` (the default: a SQLite file, `node:sqlite`, kept across restarts; LiteLLM's
 * default is `local`), `local` (an LRU in this process), `redis`
 * (node-redis, through `@effect/platform-node/NodeRedis`) and `s3` (an object per entry, through
 * core's `ObjectStore`), each holding float32 bytes with an expiry. A store that fails (or takes over 2 s) never fails a request: its lookups count as
 * misses, its writes are dropped, and a line on stderr says so once a minute at most (S3 secrets
 * masked). The misses' vectors are written before the answer goes out, so the next request (on any
 * gateway sharing the store) finds them; a miss that another request of this gateway is embedding
 * at that moment waits for that call instead of making its own (single flight). `disk` keeps
 * `embeddings.db` in `disk_cache_dir`, by default `.bedrock-embed-cache` next to the config file
 * of `bedrock-embed serve --config` (`internal/cli/serve.ts` sets it), else in the working
 * directory; `bedrock-embed embed --cache DIR` uses the same file and keys.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import {
  AwsCredentials,
  EmbeddingRequest,
  EmbeddingResponse,
  ModelRoute,
  ObjectStore,
  Target
} from "@bedrock-embed/core"
import { Context, Deferred, Duration, Effect, Exit, Layer, References, Result, Schema, type Scope } from "effect"
import type { Config } from "../Config.ts"
import { describeRedis, everyMinute, type RedisTarget, redisOptions, redisTarget } from "./limits.ts"

/**
 * Where vectors are kept: a float32 vector per key, or `undefined` for a key not held.
 *
 * @category models
 * @since 0.1.0
 */
export interface Store {
  readonly get: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Entry | undefined>, unknown>
  readonly set: (
    entries: ReadonlyArray<readonly [string, Float32Array]>,
    written: Written
  ) => Effect.Effect<void, unknown>
}

/**
 * When a write happened and until when its entries live (ms since the epoch; `expires`
 * `undefined`: until evicted), decided once per write by the cache for every store.
 *
 * @category models
 * @since 0.1.0
 */
export interface Written {
  readonly at: number
  readonly expires: number | undefined
}

/**
 * A vector held, with when it was written (ms since the epoch; `undefined`: not known, as for a
 * disk entry written before the time was kept).
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry {
  readonly vector: Float32Array
  readonly stored: number | undefined
}

/**
 * The cache a gateway uses for embeddings.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cache {
  /** `disk` (the default), `local`, `redis` or `s3`. */
  readonly type: string
  readonly namespace: string | undefined
  /**
   * The vectors held for `keys`, in order; a store failure reads as misses, and so does an entry
   * older than `maxAgeMs` (a request's `cache.s-maxage`) or of unknown age when one is given.
   */
  readonly get: (
    keys: ReadonlyArray<string>,
    maxAgeMs?: number | undefined
  ) => Effect.Effect<ReadonlyArray<Float32Array | undefined>>
  /** Keeps vectors, for `ttlMs` when given (else `cache_params.ttl`); a store failure drops them. */
  readonly set: (
    entries: ReadonlyArray<readonly [string, Float32Array]>,
    ttlMs?: number | undefined
  ) => Effect.Effect<void>
  /**
   * The keys being embedded now in this process, each with its vector to come (`undefined`: the
   * call failed or gave no storable vector): a request missing one waits for it instead of
   * sending it again (single flight).
   */
  readonly flights: Map<string, Deferred.Deferred<Float32Array | undefined>>
}

/**
 * A request's own cache controls: LiteLLM's body `cache: { "no-cache", "no-store", "ttl",
 * "s-maxage", "namespace" }`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Switches {
  /** `no-cache: true`: do not read the cache. */
  readonly noCache: boolean
  /** `no-store: true`: do not write the cache. */
  readonly noStore: boolean
  /** `ttl` (seconds): the entries this request writes live this long, instead of `cache_params.ttl`. */
  readonly ttlMs: number | undefined
  /** `s-maxage` (seconds): a vector held for longer than this is a miss (sent, and kept anew). */
  readonly maxAgeMs: number | undefined
  /** `namespace`: this request's entries are read and written under it, instead of `cache_params.namespace`. */
  readonly namespace: string | undefined
}

const isSeconds = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value)

/** The controls LiteLLM documents for a request's `cache` object: what each takes, and the check. */
const controls: Readonly<Record<string, { readonly kind: string; readonly valid: (value: unknown) => boolean }>> = {
  "no-cache": { kind: "true or false", valid: (value) => typeof value === "boolean" },
  "no-store": { kind: "true or false", valid: (value) => typeof value === "boolean" },
  ttl: { kind: "a number of seconds above 0", valid: (value) => isSeconds(value) && value > 0 },
  "s-maxage": { kind: "a number of seconds, 0 or more", valid: (value) => isSeconds(value) && value >= 0 },
  namespace: { kind: "a non-empty string", valid: (value) => typeof value === "string" && value !== "" }
}

const shown = (value: unknown): string =>
  Array.isArray(value) ? "an array" : value === null ? "null" : (JSON.stringify(value) ?? String(value))

/**
 * The controls a request body's `cache` field sets (absent or `null`: none), or what is wrong
 * with it: not an object, a key that is not a control (a typo such as `nocache` would otherwise
 * be served from the cache it meant to skip), or a value of the wrong kind.
 *
 * @category decoding
 * @since 0.1.0
 */
export const switchesOf = (cache: unknown): Result.Result<Switches, string> => {
  if (cache === undefined || cache === null) {
    return Result.succeed({
      noCache: false,
      noStore: false,
      ttlMs: undefined,
      maxAgeMs: undefined,
      namespace: undefined
    })
  }
  if (typeof cache !== "object" || Array.isArray(cache)) {
    return Result.fail(
      `\`cache\` must be an object of cache controls, such as {"no-cache": true}; got ${shown(cache)}. ` +
        `Its keys: ${Object.keys(controls).join(", ")}.`
    )
  }
  const record = cache as Record<string, unknown>
  for (const [key, value] of Object.entries(record)) {
    // Own keys only: `toString` or `__proto__` are not controls either.
    const control = Object.hasOwn(controls, key) ? controls[key] : undefined
    if (control === undefined) {
      return Result.fail(
        `\`cache.${key}\` is not a cache control; the controls are ${Object.keys(controls).join(", ")}.`
      )
    }
    if (!control.valid(value)) return Result.fail(`\`cache.${key}\` must be ${control.kind}; got ${shown(value)}.`)
  }
  const seconds = (value: unknown) => (typeof value === "number" ? value * 1000 : undefined)
  return Result.succeed({
    noCache: record["no-cache"] === true,
    noStore: record["no-store"] === true,
    ttlMs: seconds(record.ttl),
    maxAgeMs: seconds(record["s-maxage"]),
    namespace: typeof record.namespace === "string" ? record.namespace : undefined
  })
}

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

/**
 * JSON with object keys sorted at every depth, so equal values give equal text (cache keys, the
 * router's deployment signatures).
 *
 * @internal
 */
export const canonical = (value: unknown): string => {
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
 * The Bedrock model id a model string names (`bedrock/async_invoke/<id>` → `<id>`), as the
 * engine's own route parser reads it: the model part of a key, wherever the request came from
 * (the gateway's deployment, the bulk command's `--model`). The string as written when it does
 * not parse (the engine then refuses the request anyway).
 *
 * @category keys
 * @since 0.1.0
 */
export const modelIdOf = (model: string): string => {
  const route = ModelRoute.parse(model)
  return Result.isSuccess(route) ? route.success.modelId : model
}

/**
 * The layout of an entry, in its key: a store never reads an entry of another layout as a vector.
 * 2: entries hold their write time (for `s-maxage`).
 */
const KEY_VERSION = "bedrock-embed/2"

/**
 * The key of one input: SHA-256 of the layout version, the model id, the vector parameters and
 * the input.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOf = (namespace: string | undefined, modelId: string, params: string, input: unknown): string => {
  const hash = createHash("sha256")
    .update(`${KEY_VERSION}\n${modelId}\n${params}\n${canonical(input)}`)
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

/** Float64 fields (times, ms since the epoch), then the vector's float32 bytes: a Redis value, an S3 body. */
const frame = (vector: Float32Array, fields: ReadonlyArray<number>): Buffer => {
  const bytes = Buffer.alloc(8 * fields.length + vector.byteLength)
  for (const [i, field] of fields.entries()) bytes.writeDoubleLE(field, 8 * i)
  bytes.set(bytesOf(vector), 8 * fields.length)
  return bytes
}

/** The entry of a frame whose write time is at byte `at` (the vector follows it), or `undefined` if it is not one. */
const framed = (bytes: Uint8Array, at: number): Entry | undefined => {
  if (bytes.byteLength < at + 8 || (bytes.byteLength - at - 8) % 4 !== 0) return undefined
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readDoubleLE(at)
  return { vector: vectorOf(bytes.subarray(at + 8)), stored }
}

/**
 * An LRU in this process: at most `max` entries, each until its write's expiry.
 *
 * @category constructors
 * @since 0.1.0
 */
export const localStore = (max: number): Store => {
  const entries = new Map<
    string,
    { readonly vector: Float32Array; readonly stored: number; readonly expires: number }
  >()
  const get = (key: string): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    entries.delete(key)
    if (entry.expires <= Date.now()) return undefined
    entries.set(key, entry)
    return entry
  }
  return {
    get: (keys) => Effect.sync(() => keys.map(get)),
    set: (list, written) =>
      Effect.sync(() => {
        const expires = written.expires ?? Number.POSITIVE_INFINITY
        for (const [key, vector] of list) {
          entries.delete(key)
          entries.set(key, { vector: vector.slice(), stored: written.at, expires })
          if (entries.size > max) entries.delete(entries.keys().next().value as string)
        }
      })
  }
}

/**
 * The disk cache's SQLite file cannot be opened (a file where its directory should be, no
 * permission, not a database): the message names the file and what to change.
 *
 * @category errors
 * @since 0.1.0
 */
export class CacheFileError extends Schema.TaggedError<CacheFileError>()("CacheFileError", {
  message: Schema.String
}) {}

/** A config's `cache_params`. */
type CacheParams = NonNullable<NonNullable<Config["litellm_settings"]>["cache_params"]>

/** The disk store's file in its directory. */
const DISK_FILE = "embeddings.db"

/**
 * A SQLite file, `embeddings.db` in `dir` (`node:sqlite`): float32 bytes as a BLOB, with an expiry
 * in ms (NULL: none). The gateway's `type: disk` and the bulk command's `--cache DIR` share it.
 * `synchronous = NORMAL`: in WAL mode a power cut may lose the last writes, never the file —
 * lost entries are only misses.
 *
 * @category constructors
 * @since 0.1.0
 */
export const diskStore = (dir: string): Effect.Effect<Store, CacheFileError, Scope.Scope> =>
  Effect.gen(function* () {
    const { DatabaseSync } = yield* Effect.promise(() => import("node:sqlite"))
    const file = join(dir, DISK_FILE)
    const open = () => {
      mkdirSync(dir, { recursive: true })
      const db = new DatabaseSync(file)
      try {
        db.exec("PRAGMA journal_mode = WAL")
        db.exec("PRAGMA synchronous = NORMAL")
        db.exec(
          "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL, expires INTEGER, stored INTEGER)"
        )
        // A file from before the write time was kept: its rows' age is unknown (NULL).
        const columns = db.prepare("PRAGMA table_info(embeddings)").all() as unknown as ReadonlyArray<{
          readonly name: string
        }>
        if (!columns.some((column) => column.name === "stored"))
          db.exec("ALTER TABLE embeddings ADD COLUMN stored INTEGER")
        return db
      } catch (error) {
        db.close()
        throw error
      }
    }
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: open,
        catch: (error) =>
          new CacheFileError({
            message:
              `cannot open the embedding cache ${file}: ${error instanceof Error ? error.message : String(error)}; ` +
              "point litellm_settings.cache_params.disk_cache_dir (or embed --cache) at a directory this process " +
              "can write, or use cache_params.type local (in memory)"
          })
      }),
      (db) => Effect.sync(() => db.close())
    )
    const select = db.prepare("SELECT vector, expires, stored FROM embeddings WHERE key = ?")
    const remove = db.prepare("DELETE FROM embeddings WHERE key = ?")
    const upsert = db.prepare("INSERT OR REPLACE INTO embeddings (key, vector, expires, stored) VALUES (?, ?, ?, ?)")
    const get = (key: string): Entry | undefined => {
      const row = select.get(key) as { vector: Uint8Array; expires: number | null; stored: number | null } | undefined
      if (row === undefined) return undefined
      if (row.expires !== null && row.expires <= Date.now()) {
        remove.run(key)
        return undefined
      }
      return { vector: vectorOf(row.vector), stored: row.stored ?? undefined }
    }
    return {
      get: (keys) => Effect.try(() => keys.map(get)),
      set: (list, written) =>
        Effect.try(() => {
          const expires = written.expires ?? null
          db.exec("BEGIN")
          try {
            for (const [key, vector] of list) upsert.run(key, bytesOf(vector), expires, written.at)
            db.exec("COMMIT")
          } catch (error) {
            db.exec("ROLLBACK")
            throw error
          }
        })
    }
  })

/**
 * A Redis (node-redis): under `bedrock-embed:cache:<key>`, the write time (ms since the epoch,
 * float64) then the float32 bytes, with a PX expiry.
 */
const redisStore = (target: RedisTarget): Effect.Effect<Store, never, Scope.Scope> =>
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
          Effect.map((values) => values.map((value) => (value === null ? undefined : framed(value as Buffer, 0))))
        ),
      set: (list, written) =>
        Effect.tryPromise(() => {
          const expiry = written.expires === undefined ? {} : { PX: Math.ceil(written.expires - written.at) }
          return Promise.all(
            list.map(([key, vector]) => redis.client.set(prefix + key, frame(vector, [written.at]), expiry))
          )
        })
    }
  })

/** The S3 target of the cache: its region, endpoint and identity (the default chain when none is given). */
const s3Target = (params: CacheParams) =>
  Effect.gen(function* () {
    const region = yield* Target.region({ aws_region_name: params.s3_region_name })
    return yield* Target.objectStore(
      {
        aws_access_key_id: params.s3_aws_access_key_id,
        aws_secret_access_key: params.s3_aws_secret_access_key,
        aws_session_token: params.s3_aws_session_token,
        aws_s3_endpoint: params.s3_endpoint_url
      },
      region
    )
  }).pipe(
    Effect.provideService(AwsCredentials.AwsCredentials, AwsCredentials.make()),
    // A config that cannot name a target (a bad region, half an identity) stops the gateway at start.
    Effect.catch((error) =>
      Effect.die(
        new Error(
          `litellm_settings.cache_params (type s3): ${masked(error.message, params)}; fix s3_region_name / ` +
            "s3_endpoint_url / s3_aws_access_key_id / s3_aws_secret_access_key, or use cache_params.type local or disk"
        )
      )
    )
  )

/** The cache's S3 secrets, as they must never be shown. */
const secretsOf = (params: CacheParams): ReadonlyArray<string> =>
  [params.s3_aws_access_key_id, params.s3_aws_secret_access_key, params.s3_aws_session_token].filter(
    (secret): secret is string => secret !== undefined && secret.length > 0
  )

/** A message with the cache's S3 secrets in it masked. */
const masked = (message: string, params: CacheParams): string =>
  secretsOf(params).reduce((text, secret) => text.split(secret).join("***"), message)

/** Lookups and writes in flight at once per request. */
const S3_CONCURRENCY = 16

/**
 * An S3 object's body: the expiry (ms since the epoch, float64; 0: none), the write time
 * (float64), then the float32 bytes.
 */
const s3Body = (vector: Float32Array, expires: number, stored: number): Uint8Array => frame(vector, [expires, stored])

/** The entry of a body, or `undefined` when it is expired (or not one of ours). */
const s3Entry = (body: Uint8Array): Entry | undefined => {
  if (body.byteLength < 16) return undefined
  const expires = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readDoubleLE(0)
  return expires !== 0 && expires <= Date.now() ? undefined : framed(body, 8)
}

/**
 * S3 (`type: s3`): one object per key, `<s3_path>/<key>` in `s3_bucket_name`, through core's
 * `ObjectStore` (the S3 client async results are read with). S3 has no per-object expiry to rely
 * on, so the expiry is in the body and an expired object reads as a miss (a bucket lifecycle rule
 * may delete old ones). A missing object is a miss; any other failure fails the lookup, which the
 * cache reads as misses.
 */
const s3Store = (params: CacheParams): Effect.Effect<Store, never, Scope.Scope> =>
  Effect.gen(function* () {
    const objects = yield* ObjectStore.make()
    const target = yield* s3Target(params)
    const prefix = s3PrefixOf(params)
    const uriOf = (key: string) => `s3://${params.s3_bucket_name}/${prefix}${key}`
    const getOne = (key: string) =>
      objects.getBytes(uriOf(key), target).pipe(
        Effect.map(s3Entry),
        Effect.catchIf(
          (error) => error.awsErrorName === "NoSuchKey" || error.httpStatus === 404,
          () => Effect.succeed(undefined)
        ),
        Effect.mapError((error) => new Error(masked(error.message, params)))
      )
    return {
      get: (keys) => Effect.forEach(keys, getOne, { concurrency: S3_CONCURRENCY }),
      set: (list, written) => {
        const body = (vector: Float32Array) => s3Body(vector, written.expires ?? 0, written.at)
        return Effect.forEach(list, ([key, vector]) => objects.put(uriOf(key), body(vector), target), {
          concurrency: S3_CONCURRENCY,
          discard: true
        }).pipe(Effect.mapError((error) => new Error(masked(error.message, params))))
      }
    }
  })

/** Once a minute at most: a line on stderr that the store failed and requests miss meanwhile. */
const warnEveryMinute = (type: string) => {
  const warn = everyMinute((error) => {
    // Effect.try's errors hold the store's own error as `cause`.
    const cause = (error as { readonly cause?: unknown }).cause ?? error
    const reason = cause instanceof Error ? cause.message : String(cause)
    return `bedrock-embed: the ${type} embedding cache failed (${reason}); requests miss it until it answers\n`
  })
  return (error: unknown) => Effect.sync(() => warn(error))
}

/** Whether `cache_params.supported_call_types` lets embeddings through (absent: yes). */
const servesEmbeddings = (types: ReadonlyArray<string> | undefined) =>
  types === undefined || types.includes("embedding") || types.includes("aembedding")

/** The directory of a disk cache without `disk_cache_dir` (next to the config for `serve --config`). */
export const DEFAULT_DISK_DIR = ".bedrock-embed-cache"

/**
 * The cache a config asks for: its store's type (`disk` unless given) and `cache_params`;
 * `undefined` without one (`litellm_settings.cache` not `true`, or `supported_call_types`
 * without `embedding` / `aembedding`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const configured = (config: Config): { readonly type: string; readonly params: CacheParams } | undefined => {
  const settings = config.litellm_settings
  const params = settings?.cache_params ?? {}
  if (settings?.cache !== true || !servesEmbeddings(params.supported_call_types)) return undefined
  return { type: params.type ?? "disk", params }
}

const diskDirOf = (params: CacheParams) => resolve(params.disk_cache_dir ?? DEFAULT_DISK_DIR)
const maxEntriesOf = (params: CacheParams) => params.max_size_in_memory ?? 10_000
const s3PrefixOf = (params: CacheParams) =>
  params.s3_path === undefined ? "" : `${params.s3_path.replace(/^\/+|\/+$/g, "")}/`

/**
 * Where a config's cache keeps vectors, in words (`serve`'s banner), or `undefined` without one.
 * A Redis named only by `router_settings` or the environment is described as such.
 *
 * @category constructors
 * @since 0.1.0
 */
export const describe = (config: Config): string | undefined => {
  const cache = configured(config)
  if (cache === undefined) return undefined
  const { type, params } = cache
  const where =
    type === "disk"
      ? `disk, ${join(diskDirOf(params), DISK_FILE)}`
      : type === "local"
        ? `local, in this process (up to ${maxEntriesOf(params)} entries)`
        : type === "redis"
          ? `redis, ${params.host === undefined ? "router_settings.redis_* / REDIS_URL / REDIS_HOST" : `${params.host}:${params.port ?? 6379}`}`
          : `s3, s3://${params.s3_bucket_name}/${s3PrefixOf(params)}`
  return `${where}${params.ttl === undefined ? "" : `, ttl ${params.ttl} s`}`
}

/**
 * The gateway's embedding cache, or `undefined` when the config has none (`litellm_settings.cache`
 * not `true`, or `supported_call_types` without `embedding` / `aembedding`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (config: Config): Effect.Effect<Cache | undefined, never, Scope.Scope> =>
  Effect.gen(function* () {
    const cache = configured(config)
    if (cache === undefined) return undefined
    const { type, params } = cache
    const store =
      type === "disk"
        ? // The gateway does not start on a cache it cannot keep: the message says which file and why.
          yield* Effect.orDie(diskStore(diskDirOf(params)))
        : type === "redis"
          ? yield* redisStore(yield* redisOf(config))
          : type === "s3"
            ? yield* s3Store(params)
            : localStore(maxEntriesOf(params))
    return over(type, params.namespace, store, params.ttl === undefined ? undefined : params.ttl * 1000)
  })

/**
 * A cache on a store: a lookup that fails or takes over 2 s reads as misses, a write that does is
 * dropped, and a line on stderr says so once a minute at most. Entries live `ttlMs`
 * (`cache_params.ttl`; none: until evicted) unless a write gives its own (a request's `cache.ttl`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const over = (type: string, namespace: string | undefined, store: Store, ttlMs?: number | undefined): Cache => {
  const warn = warnEveryMinute(type)
  return {
    type,
    namespace,
    get: (keys, maxAgeMs) =>
      store.get(keys).pipe(
        Effect.timeout(STORE_TIMEOUT),
        Effect.map((entries) => {
          const oldest = maxAgeMs === undefined ? undefined : Date.now() - maxAgeMs
          return entries.map((entry) =>
            entry === undefined || (oldest !== undefined && (entry.stored === undefined || entry.stored < oldest))
              ? undefined
              : entry.vector
          )
        }),
        Effect.catch((error) =>
          Effect.as(
            warn(error),
            keys.map(() => undefined)
          )
        )
      ),
    set: (entries, ttl = ttlMs) => {
      const at = Date.now()
      return store
        .set(entries, { at, expires: ttl === undefined ? undefined : at + ttl })
        .pipe(Effect.timeout(STORE_TIMEOUT), Effect.catch(warn))
    },
    flights: new Map()
  }
}

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

/** A request's misses, split: the inputs it sends, and those it waits for from a call in flight. */
interface Claim {
  readonly sent: ReadonlyArray<number>
  readonly joined: ReadonlyArray<readonly [index: number, flight: Deferred.Deferred<Float32Array | undefined>]>
  /** The flights this request opened: its `sent` position, the key and what waits on it. */
  readonly opened: ReadonlyArray<
    readonly [at: number, key: string, flight: Deferred.Deferred<Float32Array | undefined>]
  >
}

/**
 * Single flight: a miss whose key is being embedded now (by another request, or an earlier input
 * of this one) waits for that call; the others are sent, and open a flight unless `no-store`
 * (their vectors are not to be kept). A `no-cache` request reads nothing, flights included.
 */
const claim = (cache: Cache, keys: ReadonlyArray<string>, missing: ReadonlyArray<number>, switches: Switches) => {
  const claimed: {
    sent: Array<number>
    joined: Array<Claim["joined"][number]>
    opened: Array<Claim["opened"][number]>
  } = { sent: [], joined: [], opened: [] }
  for (const index of missing) {
    const key = keys[index]!
    const flight = switches.noCache ? undefined : cache.flights.get(key)
    if (flight !== undefined) {
      claimed.joined.push([index, flight])
      continue
    }
    if (!switches.noStore) {
      const opened = Deferred.makeUnsafe<Float32Array | undefined>()
      cache.flights.set(key, opened)
      claimed.opened.push([claimed.sent.length, key, opened])
    }
    claimed.sent.push(index)
  }
  return claimed as Claim
}

/** Ends the flights a request opened, with its vectors (`undefined`: its call failed or was interrupted). */
const land = (cache: Cache, opened: Claim["opened"], vectors: ReadonlyArray<Float32Array> | undefined) =>
  Effect.forEach(
    opened,
    ([at, key, flight]) =>
      Effect.andThen(
        Deferred.succeed(flight, vectors?.[at]),
        Effect.sync(() => {
          if (cache.flights.get(key) === flight) cache.flights.delete(key)
        })
      ),
    { discard: true }
  )

/**
 * One `run` of a request holding only the inputs at `indexes` (all of them: the request as is),
 * vectors asked as float32s; the vectors, when an entry can hold them, kept unless `no-store`.
 */
const embedSome = <E>(
  cache: Cache,
  request: EmbeddingRequest.Decoded,
  keys: ReadonlyArray<string>,
  indexes: ReadonlyArray<number>,
  switches: Switches,
  run: (request: EmbeddingRequest.Decoded) => Effect.Effect<EmbeddingResponse.EmbeddingResponse, E>
) =>
  Effect.gen(function* () {
    const inputs = inputsOf(request)
    const { encoding_format: _, ...known } = request.known
    const asked = indexes.length === inputs.length ? known : { ...known, input: indexes.map((i) => inputs[i]!) }
    const fresh = yield* run({ known: asked as EmbeddingRequest.Known, extras: request.extras })
    const vectors = storable(fresh.data)
      ? fresh.data.map((item) => item.embedding as unknown as Float32Array)
      : undefined
    if (vectors !== undefined && !switches.noStore) {
      yield* cache.set(
        indexes.map((index, j) => [keys[index]!, vectors[j]!] as const),
        switches.ttlMs
      )
    }
    return { fresh, vectors }
  })

/**
 * Embeds a request through the cache: looks every input up (unless `no-cache`), embeds the
 * misses with one `run` of a request holding only them (vectors asked as float32s), keeps their
 * vectors (unless `no-store`), and answers all inputs in order, spelled as the request asked.
 * A miss another request of this gateway is embedding now is waited for, not sent again (single
 * flight; sent after all if that call fails). The response's usage, cost and calls are this
 * request's calls'; `usage.prompt_tokens_details.cached_inputs` counts the other inputs.
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
    const namespace = switches.namespace ?? cache.namespace
    const keys = inputs.map((input) => keyOf(namespace, modelId, params, input))
    const held = switches.noCache ? keys.map(() => undefined) : yield* cache.get(keys, switches.maxAgeMs)
    const missing = inputs.flatMap((_, i) => (held[i] === undefined ? [i] : []))
    const { sent, joined, opened } = claim(cache, keys, missing, switches)
    const vectors = held.slice()
    const items = new Map<number, EmbeddingResponse.EmbeddingData>()
    const responses: Array<EmbeddingResponse.EmbeddingResponse> = []
    const took = (
      indexes: ReadonlyArray<number>,
      got: { fresh: EmbeddingResponse.EmbeddingResponse; vectors?: ReadonlyArray<Float32Array> | undefined }
    ) => {
      responses.push(got.fresh)
      indexes.forEach((index, j) => {
        items.set(index, got.fresh.data[j]!)
        if (got.vectors !== undefined) vectors[index] = got.vectors[j]
      })
    }
    if (sent.length > 0) {
      took(
        sent,
        yield* embedSome(cache, request, keys, sent, switches, run).pipe(
          Effect.onExit((exit) => land(cache, opened, Exit.isSuccess(exit) ? exit.value.vectors : undefined))
        )
      )
    }
    const late: Array<number> = []
    for (const [index, flight] of joined) {
      const vector = yield* Deferred.await(flight)
      if (vector === undefined) late.push(index)
      else vectors[index] = vector
    }
    if (late.length > 0) took(late, yield* embedSome(cache, request, keys, late, switches, run))
    const cached = inputs.length - sent.length - late.length
    const response = assemble(responses, items, vectors, request.known.encoding_format === "base64", cached, modelId)
    return { response, cached, status: cached === 0 ? "miss" : cached === inputs.length ? "hit" : "partial" }
  })

/** Sums of two optional counts (`undefined` when neither has one). */
const sumOf = (a: number | undefined, b: number | undefined) =>
  a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0)

/** Two calls' responses as one: usage, cost and calls added up. */
const merged = (
  a: EmbeddingResponse.EmbeddingResponse,
  b: EmbeddingResponse.EmbeddingResponse
): EmbeddingResponse.EmbeddingResponse => {
  const details: Record<string, number> = { ...a.usage.prompt_tokens_details }
  for (const [key, value] of Object.entries(b.usage.prompt_tokens_details ?? {})) {
    details[key] = (details[key] ?? 0) + (value as number)
  }
  const [x, y] = [a._hidden_params, b._hidden_params]
  return {
    ...a,
    usage: {
      prompt_tokens: a.usage.prompt_tokens + b.usage.prompt_tokens,
      total_tokens: a.usage.total_tokens + b.usage.total_tokens,
      ...(Object.keys(details).length === 0 ? {} : { prompt_tokens_details: details })
    },
    _hidden_params: {
      ...x,
      response_cost: x.response_cost + y.response_cost,
      calls: x.calls + y.calls,
      retries: x.retries + y.retries,
      throttles: sumOf(x.throttles, y.throttles),
      request_ids: [...x.request_ids, ...y.request_ids]
    }
  }
}

/** All inputs' vectors in order, with the usage and spend of this request's calls (none for a request all cached). */
const assemble = (
  responses: ReadonlyArray<EmbeddingResponse.EmbeddingResponse>,
  items: ReadonlyMap<number, EmbeddingResponse.EmbeddingData>,
  vectors: ReadonlyArray<Float32Array | undefined>,
  base64: boolean,
  cached: number,
  modelId: string
): EmbeddingResponse.EmbeddingResponse => {
  const fresh = responses.length === 0 ? undefined : responses.reduce(merged)
  const data = vectors.map((vector, index): EmbeddingResponse.EmbeddingData => {
    const item = items.get(index)
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
