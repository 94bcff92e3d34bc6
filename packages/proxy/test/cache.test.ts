/**
 * The gateway's embedding cache (`litellm_settings.cache: true`, `cache_params`): per input, in
 * this process, in a SQLite file and in a real `redis-server` shared by two gateways. The upstream
 * is a `node:http` stand-in written here that answers Titan v2 and Cohere v3 bodies with vectors
 * computed from each text and dimension, and records every InvokeModel it receives, so "no Bedrock
 * call" and "one call carrying the 3 others" are read from outside the gateway.
 */
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { crc32, deflateSync } from "node:zlib"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ObjectStore, S3_CREDENTIALS, startObjectStore } from "@bedrock-embed/emulator"
import { type RedisServer, redisBinary, startRedis } from "./support/redis.ts"
import {
  type Call,
  float32For,
  startVectorStandIn,
  TOKENS_PER_CALL,
  type VectorStandIn
} from "./support/vector-standin.ts"

let stand: VectorStandIn
let upstreamUrl: string
let dir: string
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  stand = await startVectorStandIn()
  upstreamUrl = stand.url
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-cache-"))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  stand.close()
})

const deployment = (name: string, model: string) => ({
  model_name: name,
  litellm_params: {
    model: `bedrock/${model}`,
    aws_region_name: "us-east-1",
    aws_bedrock_runtime_endpoint: upstreamUrl,
    aws_access_key_id: "AKIDEXAMPLE",
    aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  }
})

const configOf = (litellmSettings: Record<string, unknown>) =>
  Effect.runPromise(
    Config.decode({
      model_list: [
        deployment("titan", "amazon.titan-embed-text-v2:0"),
        deployment("cohere", "cohere.embed-english-v3"),
        deployment("titan-image", "amazon.titan-embed-image-v1")
      ],
      litellm_settings: litellmSettings
    })
  )

const start = async (cacheParams: Record<string, unknown> | undefined) => {
  const settings = cacheParams === undefined ? {} : { cache: true, cache_params: cacheParams }
  const gateway = await Server.start({ config: await configOf(settings), port: 0, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const embed = async (gateway: Server.Gateway, body: Record<string, unknown>) => {
  const response = await fetch(`${gateway.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "titan", dimensions: 256, ...body })
  })
  // biome-ignore lint/suspicious/noExplicitAny: the test reads OpenAI's JSON shapes field by field
  const json = (await response.json()) as any
  return {
    status: response.status,
    cache: response.headers.get("x-bedrock-embed-cache"),
    hits: response.headers.get("x-bedrock-embed-cache-hits"),
    cost: Number(response.headers.get("x-bedrock-embed-response-cost")),
    body: json,
    vectors: (json.data ?? []).map((item: { embedding: unknown }) => item.embedding) as Array<Array<number>>
  }
}

/** The calls `work` made upstream. */
const callsDuring = async <A>(work: () => Promise<A>): Promise<{ readonly result: A; readonly calls: Array<Call> }> => {
  const before = stand.received.length
  const result = await work()
  return { result, calls: stand.received.slice(before) }
}

const corpus = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} document number ${i}`)

/** A text embedded once hits at once, and misses (one call) 0.6 s later: the gateway's ttl is 0.4 s. */
const assertForgotten = async (gateway: Server.Gateway, tag: string) => {
  const [text] = corpus(tag, 1)
  await embed(gateway, { input: text })
  assert.strictEqual((await callsDuring(() => embed(gateway, { input: text }))).calls.length, 0)
  await new Promise((resolve) => setTimeout(resolve, 600))
  const expired = await callsDuring(() => embed(gateway, { input: text }))
  assert.strictEqual(expired.calls.length, 1)
  assert.strictEqual(expired.result.cache, "miss")
}

/**
 * A request's `ttl`, `s-maxage` and `namespace` on one store: the write time and lifetime each
 * store keeps for an entry are read back (one 0.65 s wait).
 */
const assertControls = async (gateway: Server.Gateway, tag: string) => {
  const [short, aged, spaced] = corpus(`controls-${tag}`, 3)
  await embed(gateway, { input: short, cache: { ttl: 0.4 } })
  await embed(gateway, { input: aged })
  await embed(gateway, { input: spaced, cache: { namespace: `ns-${tag}` } })
  const fresh = await callsDuring(() => embed(gateway, { input: [short, aged], cache: { "s-maxage": 30 } }))
  assert.strictEqual(fresh.calls.length, 0, "both held, and younger than 30 s")
  assert.strictEqual(fresh.result.cache, "hit")
  // The namespace is the request's: its entry is found under it only.
  assert.strictEqual((await callsDuring(() => embed(gateway, { input: spaced }))).calls.length, 1)
  const named = await callsDuring(() => embed(gateway, { input: spaced, cache: { namespace: `ns-${tag}` } }))
  assert.strictEqual(named.calls.length, 0)
  await new Promise((resolve) => setTimeout(resolve, 650))
  const expired = await callsDuring(() => embed(gateway, { input: short }))
  assert.strictEqual(expired.calls.length, 1, "the request's ttl of 0.4 s, not the store's (none)")
  const old = await callsDuring(() => embed(gateway, { input: aged, cache: { "s-maxage": 0.5 } }))
  assert.strictEqual(old.calls.length, 1, "held 0.65 s: older than s-maxage 0.5")
  assert.strictEqual(old.result.cache, "miss")
  assert.deepStrictEqual(old.result.vectors, [float32For(aged!, 256)])
  const renewed = await callsDuring(() => embed(gateway, { input: aged, cache: { "s-maxage": 0.5 } }))
  assert.strictEqual(renewed.calls.length, 0, "the miss wrote it anew")
  assert.strictEqual((await callsDuring(() => embed(gateway, { input: aged }))).calls.length, 0)
}

describe("the embedding cache in one gateway (local)", () => {
  it("embeds a corpus once: the second time makes no Bedrock call and answers the same vectors bit for bit", async () => {
    const gateway = await start({ type: "local" })
    const texts = corpus("twice", 5)
    const first = await callsDuring(() => embed(gateway, { input: texts }))
    assert.strictEqual(first.result.status, 200, JSON.stringify(first.result.body))
    assert.strictEqual(first.calls.length, 5)
    assert.strictEqual(first.result.cache, "miss")
    const second = await callsDuring(() => embed(gateway, { input: texts }))
    assert.strictEqual(second.result.status, 200)
    assert.strictEqual(second.calls.length, 0, "no Bedrock call for a corpus already embedded")
    assert.strictEqual(second.result.cache, "hit")
    assert.strictEqual(second.result.hits, "5")
    assert.strictEqual(second.result.cost, 0)
    assert.strictEqual(second.result.body.usage.prompt_tokens, 0)
    assert.strictEqual(second.result.body.usage.prompt_tokens_details.cached_inputs, 5)
    assert.deepStrictEqual(second.result.vectors, first.result.vectors)
    assert.deepStrictEqual(
      second.result.vectors,
      texts.map((text) => float32For(text, 256))
    )
    assert.deepStrictEqual(
      second.result.body.data.map((item: { index: number }) => item.index),
      [0, 1, 2, 3, 4]
    )
  })

  it("10 inputs with 7 cached: one Bedrock call carrying the other 3, all 10 answered in order", async () => {
    const gateway = await start({ type: "local" })
    const texts = corpus("mixed", 10)
    const cachedAt = [0, 1, 3, 4, 6, 7, 9]
    const seeded = await callsDuring(() =>
      embed(gateway, { model: "cohere", dimensions: undefined, input: cachedAt.map((i) => texts[i]) })
    )
    assert.strictEqual(seeded.result.status, 200, JSON.stringify(seeded.result.body))
    assert.strictEqual(seeded.calls.length, 1)
    const mixed = await callsDuring(() => embed(gateway, { model: "cohere", dimensions: undefined, input: texts }))
    assert.strictEqual(mixed.result.status, 200, JSON.stringify(mixed.result.body))
    assert.strictEqual(mixed.calls.length, 1, "one Bedrock call")
    assert.deepStrictEqual(mixed.calls[0]!.texts, [texts[2], texts[5], texts[8]])
    assert.strictEqual(mixed.result.cache, "partial")
    assert.strictEqual(mixed.result.hits, "7")
    assert.deepStrictEqual(
      mixed.result.vectors,
      texts.map((text) => float32For(text, 1024))
    )
    assert.deepStrictEqual(
      mixed.result.body.data.map((item: { index: number }) => item.index),
      Array.from({ length: 10 }, (_, i) => i)
    )
    // Usage and cost are the one call's: what Bedrock counted for the misses.
    assert.strictEqual(mixed.result.body.usage.prompt_tokens, TOKENS_PER_CALL)
    assert.strictEqual(mixed.result.body.usage.prompt_tokens_details.cached_inputs, 7)
    assert.isAbove(mixed.result.cost, 0)
    assert.closeTo(mixed.result.cost, seeded.result.cost, 1e-12, "both requests were one call of 5 tokens")
    // /metrics counts the inputs and the cached ones (the hit rate): 7 + 10 inputs, 7 cached.
    const scraped = await (await fetch(`${gateway.url}/metrics`)).text()
    const sample = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*model="cohere"[^}]*\\} (\\S+)$`, "m").exec(scraped)?.[1] ?? Number.NaN)
    assert.strictEqual(sample("bedrock_embed_inputs_total"), 17, scraped)
    assert.strictEqual(sample("bedrock_embed_cached_inputs_total"), 7, scraped)
  })

  it("serves float and base64 from one cached entry", async () => {
    const gateway = await start({ type: "local" })
    const [text] = corpus("spelling", 1)
    const float = await callsDuring(() => embed(gateway, { input: text }))
    assert.strictEqual(float.calls.length, 1)
    const base64 = await callsDuring(() => embed(gateway, { input: text, encoding_format: "base64" }))
    assert.strictEqual(base64.calls.length, 0)
    assert.strictEqual(base64.result.cache, "hit")
    const encoded = base64.result.body.data[0].embedding as string
    assert.strictEqual(typeof encoded, "string")
    const bytes = Buffer.from(encoded, "base64")
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4))
    assert.deepStrictEqual(decoded, float.result.vectors[0])
    // And the other way: a base64 miss stores the vector a float request then reads.
    const [other] = corpus("spelling-b64-first", 1)
    const first = await callsDuring(() => embed(gateway, { input: other, encoding_format: "base64" }))
    assert.strictEqual(first.calls.length, 1)
    const again = await callsDuring(() => embed(gateway, { input: other }))
    assert.strictEqual(again.calls.length, 0)
    const raw = Buffer.from(first.result.body.data[0].embedding as string, "base64")
    assert.deepStrictEqual(
      again.result.vectors[0],
      Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4))
    )
  })

  it("misses for a parameter that changes vectors (dimensions), and keys each size apart", async () => {
    const gateway = await start({ type: "local" })
    const [text] = corpus("sizes", 1)
    await embed(gateway, { input: text, dimensions: 256 })
    const bigger = await callsDuring(() => embed(gateway, { input: text, dimensions: 512 }))
    assert.strictEqual(bigger.calls.length, 1)
    assert.strictEqual(bigger.calls[0]!.dimensions, 512)
    assert.strictEqual(bigger.result.cache, "miss")
    assert.strictEqual(bigger.result.vectors[0]!.length, 512)
    const back = await callsDuring(() => embed(gateway, { input: text, dimensions: 256 }))
    assert.strictEqual(back.calls.length, 0)
    assert.strictEqual(back.result.vectors[0]!.length, 256)
  })

  it("honours no-cache (does not read) and no-store (does not write)", async () => {
    const gateway = await start({ type: "local" })
    const [stored, unstored] = corpus("switches", 2)
    await embed(gateway, { input: stored })
    const noCache = await callsDuring(() => embed(gateway, { input: stored, cache: { "no-cache": true } }))
    assert.strictEqual(noCache.result.status, 200)
    assert.strictEqual(noCache.calls.length, 1, "no-cache reads nothing")
    assert.notInclude(noCache.calls[0]!.body, "no-cache", "`cache` is not sent to Bedrock")
    assert.strictEqual(noCache.result.cache, "miss")
    for (let i = 0; i < 2; i++) {
      const noStore = await callsDuring(() => embed(gateway, { input: unstored, cache: { "no-store": true } }))
      assert.strictEqual(noStore.result.status, 200)
      assert.strictEqual(noStore.calls.length, 1, "no-store writes nothing")
    }
    const plain = await callsDuring(() => embed(gateway, { input: unstored }))
    assert.strictEqual(plain.calls.length, 1, "the no-store requests left nothing behind")
    const hit = await callsDuring(() => embed(gateway, { input: stored }))
    assert.strictEqual(hit.calls.length, 0)
  })

  it("forgets an entry after its ttl (local)", async () => {
    await assertForgotten(await start({ type: "local", ttl: 0.4 }), "ttl-local")
  })

  it("a request's cache.ttl, cache.s-maxage and cache.namespace (local)", async () => {
    await assertControls(await start({ type: "local" }), "local")
  })

  it("a cache field that is not LiteLLM's cache controls is refused with 400 before any call", async () => {
    const gateway = await start({ type: "local" })
    const [text] = corpus("bad-controls", 1)
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      ["yes", '`cache` must be an object of cache controls, such as {"no-cache": true}; got "yes"'],
      [[true], "got an array"],
      [
        { nocache: true },
        "`cache.nocache` is not a cache control; the controls are no-cache, no-store, ttl, s-maxage, namespace"
      ],
      [{ toString: true }, "`cache.toString` is not a cache control"],
      [{ "no-cache": "true" }, '`cache.no-cache` must be true or false; got "true"'],
      [{ ttl: 0 }, "`cache.ttl` must be a number of seconds above 0; got 0"],
      [{ "s-maxage": "60" }, '`cache.s-maxage` must be a number of seconds, 0 or more; got "60"'],
      [{ namespace: "" }, '`cache.namespace` must be a non-empty string; got ""']
    ]
    for (const [cache, message] of cases) {
      const refused = await callsDuring(() => embed(gateway, { input: text, cache }))
      assert.strictEqual(refused.result.status, 400, JSON.stringify(cache))
      assert.strictEqual(refused.calls.length, 0)
      assert.strictEqual(refused.result.body.error.code, "invalid_cache_control")
      assert.strictEqual(refused.result.body.error.param, "cache")
      assert.include(refused.result.body.error.message, message)
    }
    // null is no controls, as an absent field.
    assert.strictEqual((await embed(gateway, { input: text, cache: null })).status, 200)
  })

  it("serves embeddings only when supported_call_types lists embedding or aembedding", async () => {
    const listed = await start({ type: "local", supported_call_types: ["aembedding"] })
    const left = await start({ supported_call_types: ["completion"] })
    const [text] = corpus("call-types", 1)
    await embed(listed, { input: text })
    const hit = await callsDuring(() => embed(listed, { input: text }))
    assert.strictEqual(hit.calls.length, 0)
    assert.strictEqual(hit.result.cache, "hit")
    await embed(left, { input: text })
    const again = await callsDuring(() => embed(left, { input: text }))
    assert.strictEqual(again.calls.length, 1)
    assert.isNull(again.result.cache)
  })
})

/** A 1×1 PNG of one colour, as bare base64. */
const png = (rgb: readonly [number, number, number]) => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data])
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(1, 0)
  header.writeUInt32BE(1, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.from([0, ...rgb]))),
    chunk("IEND", Buffer.alloc(0))
  ]).toString("base64")
}

describe("media inputs", () => {
  it("keys an image by its bytes: the same image hits, another one misses", async () => {
    const gateway = await start({ type: "local" })
    const [red, blue] = [png([255, 0, 0]), png([0, 0, 255])]
    const image = (base64: string) => ({ model: "titan-image", input: `data:image/png;base64,${base64}` })
    const first = await callsDuring(() => embed(gateway, image(red)))
    assert.strictEqual(first.result.status, 200, JSON.stringify(first.result.body))
    assert.strictEqual(first.calls.length, 1)
    assert.strictEqual(first.result.cache, "miss")
    const again = await callsDuring(() => embed(gateway, image(red)))
    assert.strictEqual(again.calls.length, 0, "the same image is cached")
    assert.strictEqual(again.result.cache, "hit")
    assert.deepStrictEqual(again.result.vectors, [float32For(`image:${red}`, 256)])
    const other = await callsDuring(() => embed(gateway, image(blue)))
    assert.strictEqual(other.calls.length, 1, "another image is not")
    assert.strictEqual(other.result.cache, "miss")
    assert.deepStrictEqual(other.result.vectors, [float32For(`image:${blue}`, 256)])
    assert.notDeepEqual(other.result.vectors, again.result.vectors)
  })
})

describe("single flight (one gateway)", () => {
  it("20 concurrent identical requests make one Bedrock call; all 20 get its vectors", async () => {
    const gateway = await start({ type: "local" })
    const texts = corpus("flight", 2)
    stand.delayMs = 300
    try {
      const { result, calls } = await callsDuring(() =>
        Promise.all(
          Array.from({ length: 20 }, () => embed(gateway, { model: "cohere", dimensions: undefined, input: texts }))
        )
      )
      assert.deepStrictEqual(
        result.map((r) => r.status),
        result.map(() => 200)
      )
      assert.strictEqual(calls.length, 1, "one Bedrock call for 20 identical requests")
      assert.deepStrictEqual(calls[0]!.texts, texts)
      for (const r of result)
        assert.deepStrictEqual(
          r.vectors,
          texts.map((text) => float32For(text, 1024))
        )
      assert.deepStrictEqual(result.map((r) => r.cache).sort(), [...Array(19).fill("hit"), "miss"])
      // Only the request that made the call pays for it.
      assert.strictEqual(result.filter((r) => r.cost > 0).length, 1)
    } finally {
      stand.delayMs = 0
    }
  })

  it("sends a text given twice in one request once", async () => {
    const gateway = await start({ type: "local" })
    const [a, b] = corpus("twice-in-one", 2)
    const { result, calls } = await callsDuring(() =>
      embed(gateway, { model: "cohere", dimensions: undefined, input: [a, b, a] })
    )
    assert.strictEqual(result.status, 200, JSON.stringify(result.body))
    assert.deepStrictEqual(
      calls.map((call) => call.texts),
      [[a, b]]
    )
    assert.deepStrictEqual(
      result.vectors,
      [a!, b!, a!].map((text) => float32For(text, 1024))
    )
    assert.strictEqual(result.hits, "1")
  })

  it("a waiting request sends its inputs itself when the call it waited for fails", async () => {
    const gateway = await start({ type: "local" })
    const [text] = corpus("flight-fails", 1)
    stand.delayMs = 300
    stand.failNext = 1
    try {
      const {
        result: [failed, waited],
        calls
      } = await callsDuring(() =>
        Promise.all([
          embed(gateway, { input: text }),
          new Promise((resolve) => setTimeout(resolve, 50)).then(() => embed(gateway, { input: text }))
        ])
      )
      // The second request waited for the first call to fail (300 ms), then made its own.
      assert.strictEqual(calls.length, 2)
      assert.isAtLeast(calls[1]!.at - calls[0]!.at, 250)
      assert.notStrictEqual(failed.status, 200)
      assert.strictEqual(waited.status, 200, JSON.stringify(waited.body))
      assert.deepStrictEqual(waited.vectors[0], float32For(text!, 256))
      assert.strictEqual(waited.cache, "miss")
    } finally {
      stand.delayMs = 0
      stand.failNext = 0
    }
  })
})

describe("the embedding cache on disk (SQLite)", () => {
  it("a request's cache.ttl, cache.s-maxage and cache.namespace (disk)", async () => {
    await assertControls(await start({ type: "disk", disk_cache_dir: join(dir, "disk-controls") }), "disk")
  })

  it("opens a file written before entries kept their write time: its rows are of unknown age", async () => {
    const cacheDir = join(dir, "disk-old")
    await mkdir(cacheDir)
    const old = new DatabaseSync(join(cacheDir, "embeddings.db"))
    old.exec("CREATE TABLE embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL, expires INTEGER)")
    old
      .prepare("INSERT INTO embeddings (key, vector, expires) VALUES (?, ?, NULL)")
      .run("0".repeat(64), new Uint8Array(16))
    old.close()
    const gateway = await start({ type: "disk", disk_cache_dir: cacheDir })
    const [text] = corpus("disk-old", 1)
    assert.strictEqual((await embed(gateway, { input: text })).status, 200)
    assert.strictEqual(
      (await callsDuring(() => embed(gateway, { input: text, cache: { "s-maxage": 60 } }))).calls.length,
      0
    )
    const file = new DatabaseSync(join(cacheDir, "embeddings.db"), { readOnly: true })
    const rows = file.prepare("SELECT key, stored FROM embeddings ORDER BY stored").all() as Array<{
      key: string
      stored: number | null
    }>
    file.close()
    assert.strictEqual(rows.length, 2)
    assert.isNull(rows[0]!.stored, "the old row: age unknown")
    assert.approximately(rows[1]!.stored!, Date.now(), 60_000)
  })

  it("keeps vectors in a file a restarted gateway reads, and forgets them after their ttl", async () => {
    const cacheDir = join(dir, "disk")
    const [text, short] = corpus("disk", 2)
    const first = await start({ type: "disk", disk_cache_dir: cacheDir })
    await embed(first, { input: text })
    assert.isTrue(existsSync(join(cacheDir, "embeddings.db")))
    // Keys are hashes: the text is nowhere in the file.
    const file = new DatabaseSync(join(cacheDir, "embeddings.db"), { readOnly: true })
    const rows = file.prepare("SELECT key, length(vector) AS bytes FROM embeddings").all() as Array<{
      key: string
      bytes: number
    }>
    file.close()
    assert.deepStrictEqual(
      rows.map((row) => [/^[0-9a-f]{64}$/.test(row.key), row.bytes]),
      [[true, 256 * 4]]
    )
    for (const name of ["embeddings.db", "embeddings.db-wal"]) {
      const path = join(cacheDir, name)
      if (existsSync(path)) assert.notInclude((await readFile(path)).toString("latin1"), text!)
    }
    await first.close()
    gateways.splice(gateways.indexOf(first), 1)
    const restarted = await start({ type: "disk", disk_cache_dir: cacheDir })
    const hit = await callsDuring(() => embed(restarted, { input: text }))
    assert.strictEqual(hit.calls.length, 0)
    assert.deepStrictEqual(hit.result.vectors[0], float32For(text!, 256))
    const timed = await start({ type: "disk", disk_cache_dir: join(dir, "disk-ttl"), ttl: 0.4 })
    await embed(timed, { input: short })
    assert.strictEqual((await callsDuring(() => embed(timed, { input: short }))).calls.length, 0)
    await new Promise((resolve) => setTimeout(resolve, 600))
    assert.strictEqual((await callsDuring(() => embed(timed, { input: short }))).calls.length, 1)
  })
})

describe("the embedding cache in Redis", () => {
  const found = redisBinary()
  let redis: RedisServer | undefined
  beforeAll(async () => {
    if ("path" in found) redis = await startRedis(found.path)
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it.skipIf("missing" in found)("is shared by two gateways: B hits what A stored", async () => {
    const params = { type: "redis", host: "127.0.0.1", port: redis!.port, namespace: "shared" }
    const a = await start(params)
    const b = await start(params)
    const texts = corpus("fleet", 3)
    const stored = await callsDuring(() => embed(a, { input: texts }))
    assert.strictEqual(stored.calls.length, 3)
    const shared = await callsDuring(() => embed(b, { input: texts }))
    assert.strictEqual(shared.result.status, 200)
    assert.strictEqual(shared.calls.length, 0, "gateway B made no Bedrock call")
    assert.strictEqual(shared.result.cache, "hit")
    assert.strictEqual(shared.result.hits, "3")
    assert.deepStrictEqual(shared.result.vectors, stored.result.vectors)
    // Another namespace shares nothing.
    const apart = await start({ ...params, namespace: "apart" })
    assert.strictEqual((await callsDuring(() => embed(apart, { input: texts }))).calls.length, 3)
  })

  it.skipIf("missing" in found)("a request's cache.ttl, cache.s-maxage and cache.namespace (redis)", async () => {
    await assertControls(await start({ type: "redis", host: "127.0.0.1", port: redis!.port }), "redis")
  })

  it.skipIf("missing" in found)("a Redis that stops answering costs misses, never a failed request", async () => {
    const own = await startRedis((found as { path: string }).path)
    const gateway = await start({ type: "redis", host: "127.0.0.1", port: own.port })
    const [text] = corpus("stopped", 1)
    assert.strictEqual((await embed(gateway, { input: text })).status, 200)
    assert.strictEqual((await callsDuring(() => embed(gateway, { input: text }))).calls.length, 0)
    await own.stop()
    for (let i = 0; i < 3; i++) {
      const answer = await callsDuring(() => embed(gateway, { input: text }))
      assert.strictEqual(answer.result.status, 200, JSON.stringify(answer.result.body))
      assert.strictEqual(answer.calls.length, 1)
      assert.strictEqual(answer.result.cache, "miss")
      assert.deepStrictEqual(answer.result.vectors[0], float32For(text!, 256))
    }
  })
})

describe("the embedding cache in S3 (s3rver)", () => {
  const bucket = "embedding-cache"
  let store: ObjectStore
  beforeAll(async () => {
    store = await startObjectStore({})
    await store.write(`s3://${bucket}/.keep`, "")
  })
  afterAll(() => store.close())
  const s3Params = (extra: Record<string, unknown> = {}) => ({
    type: "s3",
    s3_bucket_name: bucket,
    s3_region_name: "us-east-1",
    s3_endpoint_url: store.url,
    s3_aws_access_key_id: S3_CREDENTIALS.accessKeyId,
    s3_aws_secret_access_key: S3_CREDENTIALS.secretAccessKey,
    ...extra
  })

  it("keeps one object per input under s3_path, shared by two gateways", async () => {
    const a = await start(s3Params({ s3_path: "/cache/v1/" }))
    const b = await start(s3Params({ s3_path: "cache/v1" }))
    const texts = corpus("s3-shared", 3)
    const stored = await callsDuring(() => embed(a, { input: texts }))
    assert.strictEqual(stored.result.status, 200, JSON.stringify(stored.result.body))
    assert.strictEqual(stored.calls.length, 3)
    const objects = await store.list(`s3://${bucket}/cache/v1/`)
    assert.strictEqual(objects.length, 3)
    for (const uri of objects) assert.match(uri, new RegExp(`^s3://${bucket}/cache/v1/[0-9a-f]{64}$`))
    // The expiry (none: 0), the write time, then the float32 vector; no text.
    const body = Buffer.from((await store.read(objects[0]!))!)
    assert.strictEqual(body.byteLength, 16 + 256 * 4)
    assert.strictEqual(body.readDoubleLE(0), 0)
    assert.approximately(body.readDoubleLE(8), Date.now(), 60_000)
    const shared = await callsDuring(() => embed(b, { input: texts }))
    assert.strictEqual(shared.calls.length, 0, "gateway B made no Bedrock call")
    assert.strictEqual(shared.result.cache, "hit")
    assert.deepStrictEqual(shared.result.vectors, stored.result.vectors)
    assert.deepStrictEqual(
      shared.result.vectors,
      texts.map((text) => float32For(text, 256))
    )
  })

  it("treats an object past its ttl as a miss", async () => {
    await assertForgotten(await start(s3Params({ s3_path: "ttl", ttl: 0.4 })), "s3-ttl")
    await assertControls(await start(s3Params({ s3_path: "controls" })), "s3")
  })

  it("a bucket it cannot use costs misses, and the warning shows no secret", async () => {
    const secret = "not-the-secret-0123456789abcdef"
    const lines: Array<string> = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      const gateway = await start(
        s3Params({
          s3_aws_access_key_id: "AKIDNOTSHOWN0123",
          s3_aws_secret_access_key: secret,
          s3_aws_session_token: "token-0123456789"
        })
      )
      const [text] = corpus("s3-refused", 1)
      for (let i = 0; i < 2; i++) {
        const answer = await callsDuring(() => embed(gateway, { input: text }))
        assert.strictEqual(answer.result.status, 200, JSON.stringify(answer.result.body))
        assert.strictEqual(answer.calls.length, 1)
        assert.strictEqual(answer.result.cache, "miss")
      }
    } finally {
      process.stderr.write = write
    }
    const warned = lines.join("")
    assert.include(warned, "the s3 embedding cache failed")
    assert.include(warned, "InvalidAccessKeyId")
    assert.notInclude(warned, secret)
    assert.notInclude(warned, "AKIDNOTSHOWN0123")
    assert.notInclude(warned, "token-0123456789")
  })
})

describe("cache configuration", () => {
  it("refuses type s3 without a bucket, and a type it does not know, naming the types it takes", async () => {
    const refusal = (cacheParams: Record<string, unknown>) =>
      Effect.runPromise(
        Effect.flip(
          Config.decode({
            model_list: [deployment("titan", "amazon.titan-embed-text-v2:0")],
            litellm_settings: { cache: true, cache_params: cacheParams }
          })
        )
      )
    const noBucket = await refusal({ type: "s3" })
    assert.strictEqual(noBucket.path, "litellm_settings.cache_params.type")
    assert.include(noBucket.message, "s3_bucket_name")
    const unknown = await refusal({ type: "gcs" })
    assert.include(unknown.message, "local, disk, redis, s3")
  })
})
