/**
 * `pnpm test:aws`: the real-AWS smoke suite (`smoke.aws.ts`), run only when AWS credentials are in
 * the environment. Without any it prints one skip line and exits 0 before vitest starts; with them
 * it runs vitest on `vitest.aws.config.ts` and exits with vitest's status.
 *
 * `BEDROCK_EMBED_AWS_SMOKE_EMULATOR=1` (or `--emulator`) runs the same suite against an in-process
 * `@bedrock-embed/emulator` and its S3 server instead, to check the suite itself offline.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const args = process.argv.slice(2)
const emulatorMode = args.includes("--emulator") || process.env.BEDROCK_EMBED_AWS_SMOKE_EMULATOR === "1"
const passThrough = args.filter((arg) => arg !== "--emulator")

const set = (name: string): boolean => (process.env[name] ?? "").trim().length > 0

/** Where the credentials come from (names only, never values), or undefined when there are none. */
const credentialSource = (): string | undefined => {
  if (set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY")) return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
  if (set("AWS_PROFILE")) return `AWS_PROFILE=${process.env.AWS_PROFILE}`
  if (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN")) return "AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN"
  if (set("AWS_BEARER_TOKEN_BEDROCK")) return "AWS_BEARER_TOKEN_BEDROCK"
  return undefined
}

const runVitest = (env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [`${root}node_modules/vitest/vitest.mjs`, "run", "--config", `${root}vitest.aws.config.ts`, ...passThrough],
      { cwd: root, env, stdio: "inherit" }
    )
    child.on("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)))
    child.on("error", (error) => {
      process.stderr.write(`test:aws: cannot start vitest: ${error.message}\n`)
      resolve(1)
    })
  })

if (emulatorMode) {
  const { EMULATOR_CREDENTIALS, startEmulator } = await import("@bedrock-embed/emulator")
  const emulator = await startEmulator({ port: 0, region: "us-east-1", asyncDelayMs: 1_000 })
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Nothing of a real identity may reach the emulator (a Bedrock API key would win over the keys).
  for (const name of [
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK"
  ])
    delete env[name]
  Object.assign(env, {
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
    AWS_ENDPOINT_URL_S3: emulator.s3Url,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
    BEDROCK_EMBED_TEST_S3_URI: process.env.BEDROCK_EMBED_TEST_S3_URI ?? "s3://bedrock-embed-smoke/runs",
    BEDROCK_EMBED_AWS_SMOKE_TARGET: `the emulator at ${emulator.url} (S3 ${emulator.s3Url})`
  })
  process.stdout.write(`test:aws: running the smoke suite against the emulator at ${emulator.url}\n`)
  const code = await runVitest(env)
  await emulator.close()
  process.exit(code)
}

const source = credentialSource()
if (source === undefined) {
  process.stdout.write(
    "test:aws skipped: no AWS credentials in the environment (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and BEDROCK_EMBED_TEST_S3_URI for the async job) — 0 calls made\n"
  )
  process.exit(0)
}

const region = process.env.AWS_REGION || "us-east-1"
// An endpoint override (a VPC endpoint, or an emulator) is named, so nobody mistakes it for AWS itself.
const endpoint = process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME || process.env.AWS_ENDPOINT_URL
const target = endpoint === undefined ? `AWS Bedrock in ${region}` : `the Bedrock endpoint ${endpoint} (${region})`
process.stdout.write(
  `test:aws: running the smoke suite against ${target} (credentials from ${source}; ` +
    (set("BEDROCK_EMBED_TEST_S3_URI")
      ? `async job output under ${process.env.BEDROCK_EMBED_TEST_S3_URI})\n`
      : "BEDROCK_EMBED_TEST_S3_URI unset: the async job is skipped)\n")
)
process.exit(await runVitest({ ...process.env, BEDROCK_EMBED_AWS_SMOKE_TARGET: `${target} (credentials: ${source})` }))
