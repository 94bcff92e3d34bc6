/** Shared test setup: a real emulator on loopback and the request parameters that point at it. */
import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import { type Client, make } from "bedrock-embed"
import {
  EMULATOR_CREDENTIALS,
  type Emulator,
  type EmulatorOptions,
  Fixtures,
  startEmulator
} from "@bedrock-embed/emulator"

export const start = (options: EmulatorOptions = {}): Promise<Emulator> =>
  startEmulator({ region: "us-east-1", ...options })

/** Request parameters that send calls to the emulator with its SigV4 credentials. */
export const paramsFor = (emulator: Emulator) => ({
  aws_bedrock_runtime_endpoint: emulator.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey,
  ...(emulator.s3Url === undefined ? {} : { aws_s3_endpoint: emulator.s3Url })
})

/** Uploads an object to the emulator's S3 server with the official S3 client. */
export const upload = async (emulator: Emulator, uri: string, body: Uint8Array | string): Promise<void> => {
  const { CreateBucketCommand, PutObjectCommand, S3Client } = await import("@aws-sdk/client-s3")
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.s3Url!,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
  s3.destroy()
}

export const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
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

/** A small valid PNG, as base64. */
export const tinyPng = (): string => Fixtures.png(2, 2, 200)

/** The context a test file shares: an emulator, a client with fast retries, and the parameters that reach them. */
export interface TestContext {
  emulator: Emulator
  client: Client
  params: ReturnType<typeof paramsFor>
}

/** Starts an emulator and a client for the file's tests, clearing the emulator's record before each test. */
export const useClient = (options: EmulatorOptions = {}): TestContext => {
  const ctx = {} as TestContext
  beforeAll(async () => {
    ctx.emulator = await start(options)
    ctx.params = paramsFor(ctx.emulator)
    ctx.client = make({ engine: { retryBaseDelay: "5 millis" } })
  })
  afterAll(async () => {
    await ctx.client.dispose()
    await ctx.emulator.close()
  })
  beforeEach(() => ctx.emulator.clearInvocations())
  return ctx
}
