/** Shared setup of the per-model emulator tests: an emulator, SDK clients, and call helpers. */
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  GetAsyncInvokeCommand,
  InvokeModelCommand,
  type InvokeModelCommandOutput,
  ValidationException
} from "@aws-sdk/client-bedrock-runtime"
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, type EmulatorOptions, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll } from "vitest"

/** Bucket and key of an `s3://` URI. */
const location = (uri: string) => {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)
  if (match === null) throw new Error(`not an S3 URI: ${uri}`)
  return { Bucket: match[1]!, Key: match[2]! }
}

/**
 * Starts an emulator for the file's tests (without S3 unless `s3: true`) and returns helpers that
 * call it through the official SDKs.
 */
export const useEmulator = (
  options: EmulatorOptions & { readonly s3?: boolean; readonly client?: Partial<BedrockRuntimeClientConfig> } = {}
) => {
  let emulator: Emulator
  let client: BedrockRuntimeClient
  let s3: S3Client | undefined
  const buckets = new Set<string>()
  beforeAll(async () => {
    const { client: config, ...emulatorOptions } = options
    emulator = await startEmulator({ ...emulatorOptions, s3: options.s3 ?? false })
    client = new BedrockRuntimeClient({
      region: options.region ?? "us-east-1",
      endpoint: emulator.url,
      credentials: EMULATOR_CREDENTIALS,
      ...config
    })
    if (emulator.s3Url !== undefined) {
      s3 = new S3Client({
        region: "us-east-1",
        endpoint: emulator.s3Url,
        forcePathStyle: true,
        credentials: EMULATOR_CREDENTIALS
      })
    }
  })
  afterAll(async () => {
    client.destroy()
    s3?.destroy()
    await emulator.close()
  })
  /** InvokeModel with a JSON body: the SDK's output and the body's text. */
  const raw = async (modelId: string, body: unknown): Promise<{ out: InvokeModelCommandOutput; text: string }> => {
    const out = await client.send(
      new InvokeModelCommand({ modelId, contentType: "application/json", body: JSON.stringify(body) })
    )
    return { out, text: new TextDecoder().decode(out.body) }
  }
  /** InvokeModel with a JSON body; the parsed answer. */
  const invoke = async (modelId: string, body: unknown) => JSON.parse((await raw(modelId, body)).text)
  /** Asserts the SDK throws a ValidationException whose message holds `message`. */
  const rejects = async (modelId: string, body: unknown, message: string) => {
    const error = await invoke(modelId, body).catch((e: unknown) => e)
    assert.instanceOf(error, ValidationException)
    assert.include((error as Error).message, message)
  }
  /** Puts an object into the emulator's S3 (base64 `bytes`, or text), creating its bucket. */
  const put = async (uri: string, body: { readonly base64: string } | string) => {
    const { Bucket, Key } = location(uri)
    if (!buckets.has(Bucket)) {
      await s3!.send(new CreateBucketCommand({ Bucket })).catch(() => undefined)
      buckets.add(Bucket)
    }
    const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body.base64, "base64")
    await s3!.send(new PutObjectCommand({ Bucket, Key, Body: bytes }))
  }
  /** An object's text from the emulator's S3. */
  const get = async (uri: string) =>
    (await (await s3!.send(new GetObjectCommand(location(uri)))).Body!.transformToString()) as string
  /** Waits for an async job to leave InProgress. */
  const settle = async (invocationArn: string) => {
    for (let i = 0; i < 200; i++) {
      const job = await client.send(new GetAsyncInvokeCommand({ invocationArn }))
      if (job.status !== "InProgress") return job
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error("the job never finished")
  }
  return {
    invoke,
    raw,
    rejects,
    put,
    get,
    settle,
    url: () => emulator.url,
    client: () => client,
    emulator: () => emulator
  }
}
