/** The emulator's command line: `bedrock-embed-emulator [options]`. */
import { parseArgs } from "node:util"
import { EMULATOR_CREDENTIALS } from "./Auth.ts"
import { startEmulator } from "./Server.ts"

/** The usage text. */
export const usage = `Usage: bedrock-embed-emulator [options]

  --port N               port to listen on (default 4010; 0 picks a free port)
  --host H               address to bind (default 127.0.0.1)
  --region R             region used in ARNs (default us-east-1)
  --latency-ms N         add N ms to every InvokeModel call   (env BEDROCK_EMULATOR_LATENCY_MS)
  --throttle-rps N       throttle calls above N per second     (env BEDROCK_EMULATOR_THROTTLE_RPS)
  --error-rate R         answer a ratio R (0-1) of calls 5xx   (env BEDROCK_EMULATOR_ERROR_RATE)
  --seed N               seed of the fault generator           (env BEDROCK_EMULATOR_SEED)
  --async-delay-ms N     how long async jobs stay InProgress   (env BEDROCK_EMULATOR_ASYNC_DELAY_MS)
  --s3-endpoint URL      use this S3 endpoint for async jobs instead of starting one
  --no-s3                start no S3 server (async jobs then fail)
  --no-verify-signatures accept any SigV4 signature
  -h, --help             show this help`

/** Parses the arguments, starts the emulator, prints its URL and runs until SIGINT or SIGTERM. */
export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const fail = (message: string): never => {
    process.stderr.write(`bedrock-embed-emulator: ${message}\n\n${usage}\n`)
    process.exit(2)
  }

  let values: Record<string, string | boolean | undefined> = {}
  try {
    values = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        region: { type: "string" },
        "latency-ms": { type: "string" },
        "throttle-rps": { type: "string" },
        "error-rate": { type: "string" },
        seed: { type: "string" },
        "async-delay-ms": { type: "string" },
        "s3-endpoint": { type: "string" },
        "no-s3": { type: "boolean" },
        "no-verify-signatures": { type: "boolean" },
        help: { type: "boolean", short: "h" }
      },
      args: [...args],
      strict: true
    }).values
  } catch (error) {
    fail((error as Error).message)
  }
  if (values!.help) {
    process.stdout.write(`${usage}\n`)
    process.exit(0)
  }

  const number = (name: string, min: number, max = Number.POSITIVE_INFINITY): number | undefined => {
    const raw = values[name]
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max)
      fail(`--${name} must be a number from ${min} to ${max}; got "${raw}"`)
    return n
  }

  const emulator = await startEmulator({
    port: number("port", 0, 65535) ?? 4010,
    host: (values.host as string | undefined) ?? "127.0.0.1",
    region: (values.region as string | undefined) ?? "us-east-1",
    latencyMs: number("latency-ms", 0),
    throttleRps: number("throttle-rps", 0),
    errorRate: number("error-rate", 0, 1),
    seed: number("seed", 0),
    asyncDelayMs: number("async-delay-ms", 0),
    s3Endpoint: values["s3-endpoint"] as string | undefined,
    s3: values["no-s3"] !== true,
    verifySignatures: values["no-verify-signatures"] !== true
  }).catch((error: Error) => fail(`cannot listen: ${error.message}`))

  process.stdout.write(
    `Bedrock emulator listening on ${emulator.url}\n` +
      `  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=${emulator.url}\n` +
      (emulator.s3Url === undefined ? "" : `  export AWS_ENDPOINT_URL_S3=${emulator.s3Url}\n`) +
      `  export AWS_ACCESS_KEY_ID=${EMULATOR_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${EMULATOR_CREDENTIALS.secretAccessKey} AWS_REGION=${emulator.region}\n`
  )

  const stop = () => {
    void emulator.close().then(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}
