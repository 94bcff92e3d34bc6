/**
 * A virtual key's async-invoke jobs count when they end: the submission costs 0, and the job's
 * own spend row (under its ARN) holds what `Jobs.results` counted — a Nova video job's seconds at
 * the model's price — added to the key once, however many gateways share the database. Against the
 * emulator (its async jobs and its S3), through the official AWS SDK for the media upload.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, Fixtures, startEmulator } from "@bedrock-embed/emulator"
import { Config, Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const masterKey = "sk-master-async-spend"
/** Nova 2's on-demand price per second of video, as the provider ships it. */
const NOVA_PER_VIDEO_SECOND = 0.0007
const VIDEO_SECONDS = 6
let emulator: Emulator
let dir: string
const gateways: Array<Server.Gateway> = []

beforeAll(async () => {
  emulator = await startEmulator({ asyncDelayMs: 100 })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-async-spend-"))
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: "team-media" }))
  await s3.send(
    new PutObjectCommand({
      Bucket: "team-media",
      Key: "clip.mp4",
      Body: Buffer.from(Fixtures.mp4(VIDEO_SECONDS), "base64")
    })
  )
  s3.destroy()
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close()
  await emulator.close()
})

const start = async (database: string, pollSeconds: number) => {
  const config = await Effect.runPromise(
    Config.decode({
      model_list: [
        {
          model_name: "nova-async",
          litellm_params: {
            model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0",
            aws_region_name: "us-east-1",
            aws_bedrock_runtime_endpoint: emulator.url,
            aws_s3_endpoint: emulator.s3Url!,
            aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
            aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
          }
        }
      ],
      general_settings: { master_key: masterKey, proxy_batch_polling_interval: pollSeconds }
    })
  )
  const gateway = await Server.start({ config, port: 0, database, log: () => {} })
  gateways.push(gateway)
  return gateway
}

const call = async (
  gateway: Server.Gateway,
  method: string,
  path: string,
  key: string,
  body?: unknown
  // biome-ignore lint/suspicious/noExplicitAny: the test reads LiteLLM's JSON shapes field by field
): Promise<any> => {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const json = await response.json()
  assert.strictEqual(response.status, 200, JSON.stringify(json))
  return json
}

const submit = async (gateway: Server.Gateway, key: string, object = "clip.mp4") => {
  const submitted = await call(gateway, "POST", "/v1/embeddings", key, {
    model: "nova-async",
    input: `s3://team-media/${object}`,
    input_type: "video",
    output_s3_uri: "s3://team-media/out/"
  })
  return submitted.id as string
}

/** A row of LiteLLM's `/spend/logs`. */
interface Row {
  readonly request_id: string
  readonly spend: number
  readonly status: string
  readonly prompt_tokens: number
}

const logsOf = async (gateway: Server.Gateway, key: string): Promise<ReadonlyArray<Row>> =>
  call(gateway, "GET", `/spend/logs?api_key=${encodeURIComponent(key)}`, masterKey)

/** Waits (up to 10 s) until the key's spend logs have a row for `arn`. */
const settled = async (gateway: Server.Gateway, key: string, arn: string) => {
  const until = Date.now() + 10_000
  for (;;) {
    const rows = await logsOf(gateway, key)
    const row = rows.find((r) => r.request_id === arn)
    if (row !== undefined) return { row, rows }
    if (Date.now() > until) assert.fail(`no spend row for ${arn} within 10 s: ${JSON.stringify(rows)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const spendOf = async (gateway: Server.Gateway, key: string) =>
  (await call(gateway, "GET", `/key/info?key=${encodeURIComponent(key)}`, masterKey)).info.spend as number

describe("async-invoke jobs' spend", () => {
  it("is recorded when the job ends, found by the gateway's own polling", async () => {
    const gateway = await start(join(dir, "poll.db"), 0.2)
    const key = (await call(gateway, "POST", "/key/generate", masterKey, { key_alias: "video-team" })).key as string
    const arn = await submit(gateway, key)
    // The submission itself is recorded at once, at 0: nothing is billed yet.
    const { row, rows } = await settled(gateway, key, arn)
    const submission = rows.find((r) => r.request_id !== arn)
    assert.isDefined(submission, JSON.stringify(rows))
    assert.strictEqual(submission!.spend, 0)
    assert.strictEqual(row.status, "success")
    assert.closeTo(row.spend, VIDEO_SECONDS * NOVA_PER_VIDEO_SECOND, 1e-12)
    // The key's spend is the sum of its rows.
    assert.closeTo(
      await spendOf(gateway, key),
      rows.reduce((sum, r) => sum + r.spend, 0),
      1e-12
    )
  })

  it("is settled as soon as a client reads the finished job at /v1/batches, without waiting for a poll", async () => {
    const gateway = await start(join(dir, "read.db"), 3_600)
    const key = (await call(gateway, "POST", "/key/generate", masterKey, {})).key as string
    const arn = await submit(gateway, key)
    // The first sweep ran at start, before this job; the next is an hour away.
    let status = ""
    for (let i = 0; i < 100 && status !== "completed"; i++) {
      status = (await call(gateway, "GET", `/v1/batches/${encodeURIComponent(arn)}`, key)).status
      if (status !== "completed") await new Promise((resolve) => setTimeout(resolve, 30))
    }
    assert.strictEqual(status, "completed")
    const { row } = await settled(gateway, key, arn)
    assert.closeTo(row.spend, VIDEO_SECONDS * NOVA_PER_VIDEO_SECOND, 1e-12)
  })

  it("records a failed job at 0 with status failure", async () => {
    const gateway = await start(join(dir, "failed.db"), 0.2)
    const key = (await call(gateway, "POST", "/key/generate", masterKey, {})).key as string
    const arn = await submit(gateway, key, "no-such-clip.mp4")
    const { row } = await settled(gateway, key, arn)
    assert.strictEqual(row.status, "failure")
    assert.strictEqual(row.spend, 0)
  })

  it("counts a job once when two gateways on one database both see it end", async () => {
    const database = join(dir, "fleet.db")
    const a = await start(database, 0.1)
    const b = await start(database, 0.1)
    const key = (await call(a, "POST", "/key/generate", masterKey, {})).key as string
    const arn = await submit(a, key)
    await settled(a, key, arn)
    // Both keep sweeping for a while; the job stays settled once.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const rows = await logsOf(b, key)
    assert.strictEqual(rows.filter((r) => r.request_id === arn).length, 1)
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    assert.closeTo(await spendOf(b, key), VIDEO_SECONDS * NOVA_PER_VIDEO_SECOND, 1e-12)
  })
})
