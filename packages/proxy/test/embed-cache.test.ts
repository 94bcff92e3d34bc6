/**
 * `bedrock-embed embed --cache DIR`: the bulk command on the gateway's disk cache. The upstream is
 * a `node:http` stand-in written here that answers Titan v2 and Cohere v3 bodies with vectors
 * computed from each text (and size), after `delayMs`, and records every InvokeModel it receives:
 * "0 Bedrock calls the second time" is read from outside the process that made them.
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Config, EmbedFile, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { finish, listening } from "./cli.ts"
import { startVectorStandIn, type VectorStandIn } from "./support/vector-standin.ts"

const ACCESS_KEY = "AKIDEXAMPLE"
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

let stand: VectorStandIn
let upstreamUrl: string
let dir: string

beforeAll(async () => {
  stand = await startVectorStandIn()
  upstreamUrl = stand.url
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-embed-cache-"))
})
afterAll(() => {
  stand.close()
})

const TITAN = "amazon.titan-embed-text-v2:0"
const COHERE = "cohere.embed-english-v3"

/** A corpus file of `texts`, ids `doc-<n>`. */
const corpusFile = async (name: string, texts: ReadonlyArray<string>) => {
  const file = join(dir, name)
  await writeFile(file, `${texts.map((text, i) => JSON.stringify({ id: `doc-${i}`, text })).join("\n")}\n`)
  return file
}
const textsOf = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} document ${i}`)

/** One run of the bulk command in this process, with the calls it made upstream. */
const run = async (options: { model: string; input: string; output: string; cache?: string; dimensions?: number }) => {
  const before = stand.received.length
  const summary = await EmbedFile.run({
    model: options.model,
    input: options.input,
    output: options.output,
    cache: options.cache,
    progress: false,
    request: {
      aws_region_name: "us-east-1",
      aws_bedrock_runtime_endpoint: upstreamUrl,
      aws_access_key_id: ACCESS_KEY,
      aws_secret_access_key: SECRET_KEY,
      ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
    }
  })
  return { summary, calls: stand.received.slice(before) }
}

describe("bedrock-embed embed --cache DIR", () => {
  it("a corpus embedded twice: no Bedrock call the second time, the same file byte for byte, cost 0", async () => {
    const cache = join(dir, "twice")
    // A repeated text and a bad line, as real corpora have.
    const texts = [...textsOf("twice", 40), "twice document 3"]
    const input = await corpusFile("twice.jsonl", texts)
    await writeFile(input, `${await readFile(input, "utf8")}not json\n`)
    const first = await run({ model: TITAN, input, output: join(dir, "twice-1.jsonl"), cache })
    assert.strictEqual(first.calls.length, 40)
    assert.strictEqual(first.summary.cached, 0)
    assert.strictEqual(first.summary.embedded, 41)
    const second = await run({ model: TITAN, input, output: join(dir, "twice-2.jsonl"), cache })
    assert.strictEqual(second.calls.length, 0, "no Bedrock call for an unchanged corpus")
    assert.strictEqual(second.summary.calls, 0)
    assert.strictEqual(second.summary.embedded, 41)
    assert.strictEqual(second.summary.cached, 41)
    assert.strictEqual(second.summary.cost, 0)
    assert.strictEqual(second.summary.tokens, 0)
    assert.strictEqual(second.summary.failed, 1, "the bad line is still reported")
    const [one, two] = await Promise.all([readFile(join(dir, "twice-1.jsonl")), readFile(join(dir, "twice-2.jsonl"))])
    assert.isTrue(one.equals(two), "the same output file, byte for byte")
    assert.strictEqual(one.toString().split("\n").length - 1, 41)
  })

  it("mixed hits: one call carries only the misses, and the output is what an uncached run writes", async () => {
    const cache = join(dir, "mixed")
    const texts = textsOf("mixed", 200)
    const seeded = texts.filter((_, i) => i % 3 !== 0)
    await run({
      model: COHERE,
      input: await corpusFile("mixed-seed.jsonl", seeded),
      output: join(dir, "mixed-seed.out"),
      cache
    })
    const input = await corpusFile("mixed.jsonl", texts)
    const cached = await run({ model: COHERE, input, output: join(dir, "mixed-cached.out"), cache })
    assert.deepStrictEqual(
      cached.calls.flatMap((call) => call.texts),
      texts.filter((_, i) => i % 3 === 0),
      "only the texts not in the cache are sent"
    )
    assert.strictEqual(cached.calls.length, 1, "67 misses fit one Cohere call")
    assert.strictEqual(cached.summary.cached, seeded.length)
    const plain = await run({ model: COHERE, input, output: join(dir, "mixed-plain.out") })
    assert.isTrue(
      (await readFile(join(dir, "mixed-cached.out"))).equals(await readFile(join(dir, "mixed-plain.out"))),
      "hits are written in input order, between the misses"
    )
    assert.isUndefined(plain.summary.cached)
  })

  for (const model of [TITAN, COHERE]) {
    it(`thousands of hits behind one slow miss: written in order, memory bounded, no stall (${model})`, async () => {
      const cache = join(dir, `streak-${model}`)
      const texts = textsOf(`streak-${model}`, 1500)
      await run({
        model,
        input: await corpusFile(`streak-seed-${model}.jsonl`, texts.slice(1)),
        output: join(dir, `streak-seed-${model}.out`),
        cache
      })
      const input = await corpusFile(`streak-${model}.jsonl`, texts)
      stand.delayMs = 300
      try {
        const { summary, calls } = await run({ model, input, output: join(dir, `streak-${model}.out`), cache })
        assert.strictEqual(calls.length, 1)
        assert.strictEqual(calls[0]!.texts[0], texts[0])
        assert.strictEqual(summary.embedded, 1500)
        // Past 1024 hits held, Titan's input waits for the miss; Cohere's call still has room for 95
        // texts, which only more inputs fill: the next hits are sent with it instead of waiting forever.
        assert.strictEqual(calls[0]!.texts.length, model === COHERE ? 96 : 1)
        assert.strictEqual(summary.cached, 1500 - calls[0]!.texts.length)
      } finally {
        stand.delayMs = 0
      }
      const rows = (await readFile(join(dir, `streak-${model}.out`), "utf8")).trim().split("\n")
      assert.deepStrictEqual(
        rows.map((row) => (JSON.parse(row) as { id: string }).id),
        texts.map((_, i) => `doc-${i}`)
      )
    })
  }
})

describe("one cache for the bulk command and the gateway", () => {
  const gatewayOn = async (cacheDir: string) =>
    Server.start({
      config: await Effect.runPromise(
        Config.decode({
          model_list: [
            {
              model_name: "titan",
              litellm_params: {
                model: `bedrock/${TITAN}`,
                aws_region_name: "us-east-1",
                aws_bedrock_runtime_endpoint: upstreamUrl,
                aws_access_key_id: ACCESS_KEY,
                aws_secret_access_key: SECRET_KEY
              }
            }
          ],
          litellm_settings: { cache: true, cache_params: { type: "disk", disk_cache_dir: cacheDir } }
        })
      ),
      port: 0,
      log: () => {}
    })
  const viaGateway = async (gateway: Server.Gateway, input: ReadonlyArray<string>) => {
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "titan", dimensions: 256, input })
    })
    const body = (await response.json()) as { data: Array<{ embedding: Array<number> }> }
    return { cache: response.headers.get("x-bedrock-embed-cache"), vectors: body.data.map((item) => item.embedding) }
  }
  const vectorsIn = async (file: string) =>
    (await readFile(file, "utf8"))
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { embedding: Array<number> }).embedding)

  it("the CLI finds what a gateway with disk_cache_dir embedded, and the gateway what the CLI did", async () => {
    const cacheDir = join(dir, "shared")
    const [byGateway, byCli] = [textsOf("gateway-first", 4), textsOf("cli-first", 4)]
    const gateway = await gatewayOn(cacheDir)
    try {
      const served = await viaGateway(gateway, byGateway)
      assert.strictEqual(served.cache, "miss")
      const output = join(dir, "shared-1.out")
      const cli = await run({
        model: TITAN,
        input: await corpusFile("shared-1.jsonl", byGateway),
        output,
        cache: cacheDir,
        dimensions: 256
      })
      assert.strictEqual(cli.calls.length, 0, "the CLI hit the gateway's entries")
      assert.deepStrictEqual(await vectorsIn(output), served.vectors)
      const written = join(dir, "shared-2.out")
      await run({
        model: TITAN,
        input: await corpusFile("shared-2.jsonl", byCli),
        output: written,
        cache: cacheDir,
        dimensions: 256
      })
      const before = stand.received.length
      const hit = await viaGateway(gateway, byCli)
      assert.strictEqual(stand.received.length, before, "the gateway hit the CLI's entries")
      assert.strictEqual(hit.cache, "hit")
      assert.deepStrictEqual(hit.vectors, await vectorsIn(written))
    } finally {
      await gateway.close()
    }
  })
})

/** A gateway config of one Titan deployment on the stand-in, with `cache: true` and these lines after it. */
const gatewayConfig = (cacheLines: ReadonlyArray<string>) =>
  [
    "model_list:",
    "  - model_name: titan",
    "    litellm_params:",
    `      model: bedrock/${TITAN}`,
    "      aws_region_name: us-east-1",
    `      aws_bedrock_runtime_endpoint: ${upstreamUrl}`,
    "litellm_settings:",
    "  cache: true",
    ...cacheLines,
    ""
  ].join("\n")

describe("the command line", () => {
  const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
  const spawned = (args: ReadonlyArray<string>, cwd?: string) =>
    spawn(process.execPath, [bin, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd,
      env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_PROFILE: "" }
    })
  const cli = async (args: ReadonlyArray<string>) => {
    const child = spawned(args)
    // A command that should have exited but serves instead is stopped, not left running after the test.
    const stop = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("exit", () => clearTimeout(stop))
    return finish(child)
  }

  it("--cache DIR: the summary says how many came from the cache, at no cost", async () => {
    const cache = join(dir, "cli")
    const input = await corpusFile("cli.jsonl", textsOf("cli", 6))
    const args = ["embed", "--model", TITAN, "--in", input, "--endpoint", upstreamUrl, "--region", "us-east-1"]
    const first = await cli([...args, "--out", join(dir, "cli-1.out"), "--cache", cache, "--no-progress"])
    assert.strictEqual(first.code, 0, first.err)
    assert.match(first.out, /6 Bedrock calls, 0 throttled, 0 from the cache \(no call, \$0\)/)
    const before = stand.received.length
    const second = await cli([...args, "--out", join(dir, "cli-2.out"), "--cache", cache, "--no-progress"])
    assert.strictEqual(second.code, 0, second.err)
    assert.strictEqual(stand.received.length, before)
    assert.match(
      second.out,
      /embedded 6 of 6 \(skipped 0 already done, failed 0\) in [\d.]+ s — 0 Bedrock calls, 0 throttled, 6 from the cache \(no call, \$0\) — 0 tokens, \$0\.000000/
    )
  })

  it("--mode batch --cache is refused, saying why; --help describes --cache", async () => {
    const refused = await cli([
      "embed",
      "--mode",
      "batch",
      "--model",
      TITAN,
      "--in",
      "x.jsonl",
      "--out",
      "y.jsonl",
      "--s3-uri",
      "s3://b/p",
      "--role-arn",
      "arn:aws:iam::123456789012:role/R",
      "--cache",
      dir
    ])
    assert.notStrictEqual(refused.code, 0)
    assert.include(refused.out + refused.err, "--cache is for --mode stream")
    const help = await cli(["embed", "--help"])
    assert.include(help.out, "--cache DIR")
    assert.include(help.out, "disk_cache_dir")
  })
  it("serve --config: `cache: true` alone is a disk cache, its file next to the config, not in the cwd", async () => {
    const [configDir, cwd] = [join(dir, "serve-config"), join(dir, "serve-cwd")]
    await mkdir(configDir)
    await mkdir(cwd)
    const config = join(configDir, "config.yaml")
    await writeFile(config, gatewayConfig([]))
    const child = spawned(["serve", "--config", config, "--port", "0"], cwd)
    try {
      const { url, out } = await listening(child)
      // The banner says where the vectors are kept.
      assert.include(out, `  cache: disk, ${join(configDir, ".bedrock-embed-cache", "embeddings.db")}\n`)
      const response = await fetch(`${url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "titan", input: "next to the config" })
      })
      assert.strictEqual(response.status, 200, await response.text())
      assert.strictEqual(response.headers.get("x-bedrock-embed-cache"), "miss")
      assert.isTrue(existsSync(join(configDir, ".bedrock-embed-cache", "embeddings.db")))
      assert.isFalse(existsSync(join(cwd, ".bedrock-embed-cache")))
    } finally {
      child.kill("SIGINT")
      await once(child, "exit")
    }
  })

  it("a cache directory that cannot be used: serve and embed stop with one line naming the file and the fix, before any call or output", async () => {
    // A file where the directory should be: no permission trick, so it holds for root too.
    const blocker = join(dir, "blocker")
    await writeFile(blocker, "not a directory\n")
    const cacheDir = join(blocker, "cache")
    const fix =
      "point litellm_settings.cache_params.disk_cache_dir (or embed --cache) at a directory this process can write"
    const config = join(dir, "blocked.yaml")
    await writeFile(config, gatewayConfig(["  cache_params:", `    disk_cache_dir: ${cacheDir}`]))
    const before = stand.received.length
    const served = await cli(["serve", "--config", config, "--port", "0"])
    assert.strictEqual(served.code, 1, served.out + served.err)
    assert.notInclude(served.out, "listening")
    const servedLines = served.err.trim().split("\n")
    assert.lengthOf(servedLines, 1, served.err)
    assert.include(
      servedLines[0],
      `cannot start the gateway: cannot open the embedding cache ${join(cacheDir, "embeddings.db")}`
    )
    assert.include(servedLines[0], "ENOTDIR")
    assert.include(servedLines[0], fix)

    const input = await corpusFile("blocked.jsonl", textsOf("blocked", 3))
    const output = join(dir, "blocked.out.jsonl")
    const embedded = await cli([
      "embed",
      "--model",
      TITAN,
      "--in",
      input,
      "--out",
      output,
      "--cache",
      cacheDir,
      "--endpoint",
      upstreamUrl,
      "--region",
      "us-east-1",
      "--no-progress"
    ])
    assert.strictEqual(embedded.code, 1, embedded.out + embedded.err)
    const embedLines = embedded.err.trim().split("\n")
    assert.lengthOf(embedLines, 1, embedded.err)
    assert.include(embedLines[0], `bedrock-embed: cannot open the embedding cache ${join(cacheDir, "embeddings.db")}`)
    assert.include(embedLines[0], fix)
    assert.notInclude(embedded.err, "    at ", "a message, not a stack trace")
    assert.isFalse(existsSync(output), "the output is not created for a run that cannot start")
    assert.strictEqual(stand.received.length, before, "no Bedrock call")
  })
})
