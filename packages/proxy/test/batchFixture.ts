/**
 * What the batch-mode test files share: two emulators with S3 and an `embed-jobs` bucket — one
 * with Bedrock's batch quotas, one (`small`) with low ones, as an account's could be: 100 records
 * a job, 40 a file, 10 at least — and a scratch folder, set up by {@link useBatchEmulators}.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, beforeAll } from "@effect/vitest"

export const ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
export const TITAN = "amazon.titan-embed-text-v2:0"

export let emulator: Emulator
export let small: Emulator
export let dir: string

/** The request parameters that point the library at an emulator, with its keys. */
export const paramsOf = (at: Emulator) => ({
  aws_bedrock_runtime_endpoint: at.url,
  aws_s3_endpoint: at.s3Url!,
  aws_region_name: "us-east-1",
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

export const s3Of = (at: Emulator) =>
  new S3Client({ region: "us-east-1", endpoint: at.s3Url!, forcePathStyle: true, credentials: EMULATOR_CREDENTIALS })

/** Starts the emulators and the folder (named after `name`) before the file's tests; stops them after. */
export const useBatchEmulators = (name: string) => {
  beforeAll(async () => {
    emulator = await startEmulator({ asyncDelayMs: 300 })
    small = await startEmulator({
      asyncDelayMs: 300,
      batchQuotas: { minRecords: 10, recordsPerJob: 100, recordsPerFile: 40 }
    })
    dir = await mkdtemp(join(tmpdir(), `bedrock-embed-${name}-`))
    for (const at of [emulator, small]) {
      const s3 = s3Of(at)
      await s3.send(new CreateBucketCommand({ Bucket: "embed-jobs" }))
      s3.destroy()
    }
  })
  afterAll(async () => {
    await emulator.close()
    await small.close()
    await rm(dir, { recursive: true, force: true })
  })
}

/** `embed --mode batch`'s arguments with an emulator as Bedrock Runtime and S3 (unless `endpoints` says otherwise). */
export const batchArgs = (
  at: Emulator,
  options: { model?: string; input: string; output: string; s3Uri?: string; role?: string },
  extra: ReadonlyArray<string> = [],
  endpoints: ReadonlyArray<string> = ["--endpoint", at.url]
) => [
  "embed",
  ...endpoints,
  "--s3-endpoint",
  at.s3Url!,
  "--region",
  "us-east-1",
  "--no-progress",
  "--poll-seconds",
  "1",
  "--mode",
  "batch",
  "--model",
  options.model ?? TITAN,
  "--in",
  options.input,
  "--out",
  options.output,
  "--s3-uri",
  options.s3Uri ?? "s3://embed-jobs/corpora",
  "--role-arn",
  options.role ?? ROLE,
  ...extra
]
