/**
 * The dashboard at `/ui`, in a real headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`: one dependency-free package that drives a browser already on the machine).
 * A gateway on the emulator with a master key takes traffic from two virtual keys on two models
 * and one async job; the page then must list the deployments, chart the spend it made per model
 * and per key, list the requests (never their input), show the job, and embed three texts in
 * its playground into a 3×3 cosine-similarity heatmap. A full-page screenshot is saved to
 * `.tmp/artifacts/dashboard.png`. Without chromium the test skips, except under `CI=true`,
 * where it fails: CI must run it.
 */
import { execFileSync } from "node:child_process"
import { mkdir, readFile, rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Browser, chromium } from "playwright-core"
import { startPostgres, unavailable } from "./support/postgres.ts"
import { call, deployment, embed, generate, masterKey, type Reply } from "./support/team-fleet.ts"

const chromiumPath = ((): string | undefined => {
  let path = ""
  try {
    path = execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim()
  } catch {}
  if (path !== "") return path
  const missing = "chromium is not installed (Debian: apt-get install chromium)"
  if (process.env.CI === "true") throw new Error(`${missing}; CI must run the dashboard test`)
  return undefined
})()

const postgresMissing = unavailable()
const artifacts = fileURLToPath(new URL("../../../.tmp/artifacts/", import.meta.url))
/** Input text that must never reach the page. */
const secretInput = `confidential-input-${process.pid}-${Date.now()}`

let emulator: Emulator
let gateway: Server.Gateway
let browser: Browser | undefined

beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 50 })
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: "dashboard-jobs" }))
  s3.destroy()
  gateway = await start({})
  if (chromiumPath !== undefined) {
    // CI runs as root, where Chromium starts only without its sandbox (the page is our own).
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] })
  }
})
afterAll(async () => {
  await browser?.close()
  for (const started of gateways) await started.close()
  await emulator?.close()
})

const gateways: Array<Server.Gateway> = []

/** A gateway with the master key: two sync models and one async, on `general`'s database. */
const start = async (general: Record<string, unknown>) => {
  const nova = deployment(emulator, "nova-async", "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0")
  const config = await Effect.runPromise(
    Config.decode({
      model_list: [
        deployment(emulator, "titan", "bedrock/amazon.titan-embed-text-v2:0"),
        deployment(emulator, "cohere", "bedrock/cohere.embed-english-v3"),
        {
          ...nova,
          litellm_params: {
            ...nova.litellm_params,
            aws_s3_endpoint: emulator.s3Url!,
            output_s3_uri: "s3://dashboard-jobs/out/",
            input_type: "text"
          }
        }
      ],
      general_settings: { master_key: masterKey, ...general }
    })
  )
  const started = await Server.start({ config, port: 0, log: () => {} })
  gateways.push(started)
  return started
}

/** What {@link traffic} spent, as the gateway's own response headers said. */
interface Made {
  readonly byModel: Record<string, number>
  readonly byKey: Record<string, number>
  readonly tokensByModel: Record<string, number>
  readonly requestIds: ReadonlyArray<string>
  /** The async job's ARN, submitted with the ads-team key. */
  readonly arn: string
}

/** Two keys on two models (five requests, their input {@link secretInput}), and one async job. */
const traffic = async (on: Server.Gateway): Promise<Made> => {
  const search = await generate(on, { key_alias: "search-team" })
  const ads = await generate(on, { key_alias: "ads-team" })
  const plan: ReadonlyArray<readonly [string, string, string]> = [
    [search, "search-team", "titan"],
    [search, "search-team", "titan"],
    [search, "search-team", "cohere"],
    [ads, "ads-team", "cohere"],
    [ads, "ads-team", "cohere"]
  ]
  const byModel: Record<string, number> = {}
  const byKey: Record<string, number> = {}
  const tokensByModel: Record<string, number> = {}
  const requestIds: Array<string> = []
  for (const [token, alias, model] of plan) {
    const reply = await embed(on, token, model, [secretInput, `${alias} ${model}`])
    assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
    byModel[model] = (byModel[model] ?? 0) + cost(reply)
    byKey[alias] = (byKey[alias] ?? 0) + cost(reply)
    tokensByModel[model] = (tokensByModel[model] ?? 0) + reply.body.usage.prompt_tokens
    requestIds.push(reply.headers.get("x-request-id")!)
  }
  const job = await call(on, "POST", "/v1/embeddings", ads, { model: "nova-async", input: secretInput })
  assert.strictEqual(job.status, 200, JSON.stringify(job.body))
  return { byModel, byKey, tokensByModel, requestIds, arn: job.body.id }
}

/** A series' sum by name, from `/ui/api/spend`'s `{ names, cost, tokens }`. */
const sums = (series: { names: Array<string>; cost: Array<Array<number>>; tokens: Array<Array<number>> }) => ({
  cost: Object.fromEntries(series.names.map((name, i) => [name, series.cost[i]!.reduce((a, b) => a + b, 0)])),
  tokens: Object.fromEntries(series.names.map((name, i) => [name, series.tokens[i]!.reduce((a, b) => a + b, 0)]))
})

/** The data API on a fresh gateway reports exactly the traffic made on it, by minute and by hour. */
const checkDataApi = async (on: Server.Gateway) => {
  const made = await traffic(on)
  for (const [hours, width, count] of [
    [1, 60, 60],
    [24, 3_600, 24]
  ] as const) {
    const spend = (await call(on, "GET", `/ui/api/spend?hours=${hours}`, masterKey)).body
    assert.strictEqual(spend.bucket_seconds, width)
    assert.strictEqual(spend.buckets.length, count)
    assert.isTrue(spend.buckets.every((bucket: number) => bucket % width === 0))
    const byModel = sums(spend.by_model)
    const byKey = sums(spend.by_key)
    assert.sameMembers(spend.by_model.names, ["titan", "cohere", "nova-async"])
    for (const [model, spent] of Object.entries(made.byModel)) {
      assert.closeTo(byModel.cost[model], spent, 1e-12, `${hours} h: ${model}`)
      assert.strictEqual(byModel.tokens[model], made.tokensByModel[model], `${hours} h: ${model} tokens`)
    }
    assert.closeTo(byKey.cost["search-team"], made.byKey["search-team"]!, 1e-12)
    // The ads team's job costs nothing until it ends.
    assert.closeTo(byKey.cost["ads-team"], made.byKey["ads-team"]!, 1e-12)
  }
  const requests = (await call(on, "GET", "/ui/api/requests?limit=3", masterKey)).body.requests
  assert.strictEqual(requests.length, 3, "limit")
  const all = (await call(on, "GET", "/ui/api/requests", masterKey)).body.requests
  assert.strictEqual(all.length, 6)
  const times = all.map((row: { time: string }) => row.time)
  assert.deepStrictEqual(times, [...times].sort().reverse(), "newest first")
  for (const id of made.requestIds) {
    const row = all.find((r: { request_id: string }) => r.request_id === id)
    assert.include(["search-team", "ads-team"], row.key)
  }
  assert.notInclude(JSON.stringify(all), secretInput)
  const jobs = (await call(on, "GET", "/ui/api/jobs", masterKey)).body.jobs
  assert.deepStrictEqual(
    jobs.map((job: Record<string, unknown>) => [job.invocation_arn, job.model, job.key, job.settled_at]),
    [[made.arn, "nova-async", "ads-team", null]]
  )
  return made
}

/** What the test reads of a canvas in the page. */
interface Canvas {
  readonly clientWidth: number
  readonly clientHeight: number
  readonly getContext: (kind: "2d") => {
    readonly getImageData: (x: number, y: number, w: number, h: number) => { readonly data: Iterable<number> }
  }
}

const cost = (reply: Reply) => Number(reply.headers.get("x-bedrock-embed-response-cost"))

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

describe("the dashboard at /ui", () => {
  it("asks only the master key for its data and never sends a secret", async () => {
    const key = await generate(gateway, { key_alias: "reader" })
    for (const path of ["/ui/api/deployments", "/ui/api/spend?hours=1", "/ui/api/requests", "/ui/api/jobs"]) {
      assert.strictEqual((await call(gateway, "GET", path, "")).status, 401, `${path} without a key`)
      const virtual = await call(gateway, "GET", path, key)
      assert.strictEqual(virtual.status, 403, `${path} with a virtual key`)
      assert.match(virtual.body.error.message, /only the master key/i)
      const master = await call(gateway, "GET", path, masterKey)
      assert.strictEqual(master.status, 200, `${path} with the master key`)
      assert.notInclude(JSON.stringify(master.body), masterKey)
      assert.notInclude(JSON.stringify(master.body), EMULATOR_CREDENTIALS.secretAccessKey)
    }
    const bad = await call(gateway, "GET", "/ui/api/spend?hours=0", masterKey)
    assert.strictEqual(bad.status, 400)
    assert.match(bad.body.error.message, /hours=0 .* from 1 to 2160/)
    // The page and its bundle are static: open, and free of secrets.
    for (const path of ["/ui", "/ui/app.js", "/ui/app.css"]) {
      const response = await fetch(`${gateway.url}${path}`)
      assert.strictEqual(response.status, 200, path)
      const text = await response.text()
      assert.isAbove(text.length, path === "/ui" ? 100 : 1_000, path)
      assert.notInclude(text, masterKey)
      assert.notInclude(text, EMULATOR_CREDENTIALS.secretAccessKey)
    }
  })

  it("reports the spend, requests and jobs made, per model and per key, on SQLite", async () => {
    await checkDataApi(await start({}))
  })

  it.skipIf(postgresMissing !== undefined && process.env.CI !== "true")(
    "reports the same on Postgres",
    async () => {
      if (postgresMissing !== undefined) throw new Error(`${postgresMissing}; CI installs it (.ci/run)`)
      const pg = await startPostgres()
      try {
        const on = await start({ database_url: pg.url })
        await checkDataApi(on)
        await on.close()
        gateways.splice(gateways.indexOf(on), 1)
      } finally {
        await pg.stop()
      }
    },
    60_000
  )

  it.skipIf(chromiumPath === undefined)(
    "renders deployments, spend charts, requests, jobs and the playground's heatmap in Chromium",
    async () => {
      const { byModel, byKey, requestIds, arn } = await traffic(gateway)

      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
      const errors: Array<string> = []
      page.on("pageerror", (error) => errors.push(error.message))
      await page.goto(`${gateway.url}/ui`)

      // A wrong key is refused with the gateway's message, and the form stays.
      await page.fill("#key", "sk-not-the-master-key")
      await page.click("#key-form button")
      const refused = await page.locator("#error").textContent({ timeout: 5_000 })
      assert.match(refused ?? "", /Invalid API key.*401/)
      assert.strictEqual(await page.locator("#key").count(), 1)

      await page.fill("#key", masterKey)
      await page.click("#key-form button")
      await page.locator("#dashboard").waitFor({ timeout: 10_000 })
      assert.strictEqual(await page.evaluate(() => sessionStorage.length), 1, "the key is kept for the tab")

      // Deployments, with their health as GET /health reports it (unknown where it does not answer).
      const models = await page
        .locator("#deployments tbody tr")
        .evaluateAll((rows) =>
          rows.map((row) => [row.getAttribute("data-model"), row.querySelector(".health")?.textContent])
        )
      const health = await call(gateway, "GET", "/health", masterKey)
      const stateOf = (alias: string) => {
        if (health.status !== 200) return "unknown"
        const listed = (field: string) =>
          (health.body[field] ?? []).some((e: { model_name: string }) => e.model_name === alias)
        return listed("unhealthy_endpoints")
          ? "unhealthy"
          : listed("healthy_endpoints")
            ? "healthy"
            : listed("unchecked_endpoints")
              ? "unchecked"
              : "unknown"
      }
      assert.deepStrictEqual(
        models,
        ["titan", "cohere", "nova-async"].map((alias) => [alias, stateOf(alias)])
      )

      // Charts: uPlot's canvases drawn, carrying the spend made per model and per key.
      for (const [id, expected] of [
        ["spend-by-model", byModel],
        ["spend-by-key", byKey]
      ] as const) {
        const box = await page.locator(`#${id} canvas`).boundingBox()
        assert.isTrue(box !== null && box.width > 100 && box.height > 50, `${id} canvas ${JSON.stringify(box)}`)
        const totals = JSON.parse((await page.locator(`#${id}`).getAttribute("data-totals")) ?? "{}")
        for (const [name, spent] of Object.entries(expected)) {
          assert.isAbove(spent, 0)
          assert.closeTo(totals[name], spent, 1e-12, `${id}: ${name}`)
        }
        const legend = await page.locator(`#${id} .u-legend`).textContent()
        for (const name of Object.keys(expected)) assert.include(legend, name)
      }

      // Recent requests: each of ours (by request id), under its key's alias; no input text anywhere.
      const listed = await page
        .locator("#requests tbody tr")
        .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-request-id")))
      for (const id of requestIds) assert.include(listed, id)
      assert.include(await page.locator("#requests").textContent(), "search-team")

      // The job, with Bedrock's status read through /v1/batches.
      const jobRow = page.locator("#jobs tbody tr", { hasText: arn })
      await jobRow.waitFor({ timeout: 5_000 })
      await jobRow.filter({ hasText: /completed|in_progress/ }).waitFor({ timeout: 5_000 })
      assert.include(await jobRow.textContent(), "ads-team")

      // The playground: three texts → a 3×3 matrix, diagonal 1, equal to the cosines of the vectors.
      const texts = ["a cat sits on the mat", "a kitten lies on a rug", "quarterly revenue grew eight percent"]
      await page.selectOption("#playground-model", "titan")
      await page.fill("#playground-texts", texts.join("\n"))
      await page.click("#playground-embed")
      const heatmap = page.locator("#heatmap[data-matrix]")
      await heatmap.waitFor({ timeout: 10_000 })
      const matrix: Array<Array<number>> = JSON.parse((await heatmap.getAttribute("data-matrix"))!)
      const own = await call(gateway, "POST", "/v1/embeddings", masterKey, {
        model: "titan",
        input: texts,
        encoding_format: "float"
      })
      const vectors: Array<Array<number>> = own.body.data.map((d: { embedding: Array<number> }) => d.embedding)
      assert.strictEqual(matrix.length, 3)
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(matrix[i]!.length, 3)
        assert.closeTo(matrix[i]![i]!, 1, 1e-9)
        for (let j = 0; j < 3; j++) assert.closeTo(matrix[i]![j]!, cosine(vectors[i]!, vectors[j]!), 1e-9)
      }
      assert.isBelow(matrix[0]![2]!, 0.999, "different texts are not identical")
      // Drawn: the first diagonal cell is red (similarity 1), its size non-zero.
      const drawn = await heatmap.evaluate((element) => {
        // In the page (this file's types have no DOM): the canvas's size and one pixel.
        const canvas = element as unknown as Canvas
        const ratio = (globalThis as { devicePixelRatio?: number }).devicePixelRatio ?? 1
        const pixel = canvas.getContext("2d").getImageData(30 * ratio, 30 * ratio, 1, 1).data
        return { width: canvas.clientWidth, height: canvas.clientHeight, pixel: [...pixel] }
      })
      assert.isAbove(drawn.width, 100)
      assert.isAbove(drawn.height, 100)
      assert.deepStrictEqual(drawn.pixel.slice(0, 3), [255, 0, 0])

      assert.notInclude(await page.content(), secretInput)
      assert.notInclude(await page.content(), masterKey)
      assert.deepStrictEqual(errors, [])

      await mkdir(artifacts, { recursive: true })
      const file = `${artifacts}dashboard.png`
      await rm(file, { force: true })
      await page.screenshot({ path: file, fullPage: true })
      const png = await readFile(file)
      assert.isAbove(png.length, 10_000)
      assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      await page.close()
    }
  )
})
