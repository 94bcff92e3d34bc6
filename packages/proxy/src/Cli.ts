/**
 * The `bedrock-embed` command line:
 *
 *   bedrock-embed serve [--config config.yaml] [--port 4000] [--host 127.0.0.1]
 *   bedrock-embed emulator [emulator options]
 *
 * `serve` without `--config` starts the embedded Bedrock emulator and a built-in configuration
 * naming every model, and says so in its banner.
 *
 * @since 0.1.0
 */
import { parseArgs } from "node:util"
import { Cli as EmulatorCli, EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { BedrockEmbed } from "bedrock-embed"
import { Effect } from "effect"
import * as Config from "./Config.ts"
import * as EmbedFile from "./EmbedFile.ts"
import * as Server from "./Server.ts"

/**
 * The usage text.
 *
 * @category constants
 * @since 0.1.0
 */
export const usage = `Usage:
  bedrock-embed serve [--config config.yaml] [--port 4000] [--host 127.0.0.1]
      An OpenAI-compatible embeddings gateway (POST /v1/embeddings). Without --config it runs
      on an embedded Bedrock emulator with every model configured under its own id.
  bedrock-embed embed --model M --in docs.jsonl --out vectors.jsonl [--field text] [--id-field id]
                      [--dimensions N] [--concurrency N] [--region R] [--endpoint URL] [--param key=value]...
      Embeds a JSONL corpus into JSONL vectors, in order, with a progress bar; resumable: a re-run
      skips ids already written. Failed inputs go to <out>.errors.jsonl.
                      [--mode batch --s3-uri s3://bucket/prefix --role-arn ARN [--poll-seconds 30]
                       [--bedrock-endpoint URL] [--s3-endpoint URL]]
      --mode batch runs the inputs not yet written as one Bedrock batch inference job
      (CreateModelInvocationJob; Titan Text v2, Titan Multimodal, Nova): records and results go
      through the S3 folder, Bedrock assumes the role. A re-run finds the same job.
  bedrock-embed emulator [--port 4010] [...]
      A local Bedrock Runtime (see bedrock-embed emulator --help).
  bedrock-embed --help`

const fail = (message: string, code = 2): never => {
  process.stderr.write(`bedrock-embed: ${message}\n`)
  process.exit(code)
}

const serve = async (args: ReadonlyArray<string>) => {
  let values: {
    config?: string | undefined
    port?: string | undefined
    host?: string | undefined
    help?: boolean | undefined
  } = {}
  try {
    values = parseArgs({
      args: [...args],
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        host: { type: "string" },
        help: { type: "boolean", short: "h" }
      },
      strict: true
    }).values
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`)
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const port = values.port === undefined ? 4000 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number; got "${values.port}"`)
  const host = values.host ?? "127.0.0.1"

  const emulator = values.config === undefined ? await startEmulator() : undefined
  let config: Config.Config
  if (values.config !== undefined) {
    const loaded = await Effect.runPromise(Effect.result(Config.load(values.config)))
    if (loaded._tag === "Failure") return fail(`invalid configuration: ${loaded.failure.message}`, 1)
    config = loaded.success
  } else {
    config = Config.everyModel({
      aws_region_name: emulator!.region,
      aws_bedrock_runtime_endpoint: emulator!.url,
      aws_s3_endpoint: emulator!.s3Url,
      aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
      aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
    })
  }
  const gateway = await Server.start({ config, port, host, client: BedrockEmbed.make() }).catch((error: Error) =>
    fail(`cannot listen on ${host}:${port}: ${error.message}`, 1)
  )
  const aliases = [...new Set(config.model_list.map((d) => d.model_name))]
  process.stdout.write(
    [
      `bedrock-embed gateway listening on ${gateway.url}`,
      emulator === undefined
        ? `  config: ${values.config} (${aliases.length} model${aliases.length === 1 ? "" : "s"})`
        : `  no --config: serving the EMBEDDED BEDROCK EMULATOR at ${emulator.url} (not AWS) with every model:`,
      ...aliases.map((alias) => `    ${alias}`),
      `  auth: ${config.general_settings?.master_key === undefined ? "none (no master_key)" : "Authorization: Bearer <master_key>"}`,
      `  try: curl -s ${gateway.url}/v1/embeddings -H 'content-type: application/json' -d '{"model":"${aliases[0]}","input":["hello"]}'`,
      ""
    ].join("\n")
  )
  const stop = () => {
    void gateway
      .close()
      .then(() => emulator?.close())
      .then(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}

const embed = async (args: ReadonlyArray<string>) => {
  let values: Record<string, string | boolean | Array<string> | undefined> = {}
  try {
    values = parseArgs({
      args: [...args],
      options: {
        model: { type: "string", short: "m" },
        in: { type: "string", short: "i" },
        out: { type: "string", short: "o" },
        field: { type: "string" },
        "id-field": { type: "string" },
        dimensions: { type: "string" },
        concurrency: { type: "string" },
        region: { type: "string" },
        endpoint: { type: "string" },
        param: { type: "string", multiple: true },
        "no-progress": { type: "boolean" },
        mode: { type: "string" },
        "s3-uri": { type: "string" },
        "role-arn": { type: "string" },
        "poll-seconds": { type: "string" },
        "bedrock-endpoint": { type: "string" },
        "s3-endpoint": { type: "string" }
      },
      strict: true
    }).values
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`)
  }
  for (const required of ["model", "in", "out"]) {
    if (typeof values[required] !== "string") fail(`embed needs --${required}\n\n${usage}`)
  }
  const integer = (name: string) => {
    const raw = values[name]
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer; got "${String(raw)}"`)
    return n
  }
  const extra: Record<string, unknown> = {}
  for (const pair of (values.param as Array<string> | undefined) ?? []) {
    const eq = pair.indexOf("=")
    if (eq < 1) fail(`--param takes key=value; got "${pair}"`)
    const raw = pair.slice(eq + 1)
    // Numbers, booleans and JSON go through as such; anything else is a string.
    try {
      extra[pair.slice(0, eq)] = JSON.parse(raw)
    } catch {
      extra[pair.slice(0, eq)] = raw
    }
  }
  const dimensions = integer("dimensions")
  const concurrency = integer("concurrency")
  const pollSeconds = integer("poll-seconds")
  const mode = values.mode ?? "stream"
  if (mode !== "stream" && mode !== "batch") fail(`--mode is stream or batch; got "${String(mode)}"`)
  if (mode === "batch") {
    for (const required of ["s3-uri", "role-arn"]) {
      if (typeof values[required] !== "string")
        fail(
          `--mode batch needs --${required}: Bedrock reads the records from and writes the results to an S3 folder (--s3-uri s3://bucket/prefix), as an IAM role it assumes (--role-arn arn:aws:iam::<account>:role/<name>)`
        )
    }
  }
  const summary = await EmbedFile.run({
    model: values.model as string,
    input: values.in as string,
    output: values.out as string,
    field: values.field as string | undefined,
    idField: values["id-field"] as string | undefined,
    request: {
      ...extra,
      ...(dimensions === undefined ? {} : { dimensions }),
      ...(values.region === undefined ? {} : { aws_region_name: values.region }),
      ...(values.endpoint === undefined ? {} : { aws_bedrock_runtime_endpoint: values.endpoint }),
      ...(values["bedrock-endpoint"] === undefined ? {} : { aws_bedrock_endpoint: values["bedrock-endpoint"] }),
      ...(values["s3-endpoint"] === undefined ? {} : { aws_s3_endpoint: values["s3-endpoint"] })
    },
    mode: mode as "stream" | "batch",
    ...(mode === "batch"
      ? {
          batch: {
            s3Uri: values["s3-uri"] as string,
            roleArn: values["role-arn"] as string,
            pollSeconds
          }
        }
      : {}),
    engine: concurrency === undefined ? undefined : { concurrency },
    progress: values["no-progress"] === true ? false : undefined
  }).catch((error: Error) => fail(error.message, 1))
  if (summary.jobArn !== undefined) process.stdout.write(`batch inference job ${summary.jobArn}: `)
  process.stdout.write(
    `embedded ${summary.embedded} of ${summary.total} (skipped ${summary.skipped} already done, failed ${summary.failed}) ` +
      `in ${summary.seconds.toFixed(1)} s — ` +
      (summary.jobArn === undefined
        ? `${summary.calls} Bedrock calls, ${summary.throttles} throttled — `
        : `${summary.calls} records — `) +
      `${summary.tokens} tokens, $${summary.cost.toFixed(6)}${summary.jobArn === undefined ? "" : " at the batch price"}\n`
  )
  if (summary.failed > 0) {
    process.stderr.write(`${summary.failed} inputs failed: see ${values.out}.errors.jsonl; run again to retry them.\n`)
    process.exit(3)
  }
}

/**
 * Runs the command line.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const [command, ...rest] = args
  switch (command) {
    case "serve":
      return serve(rest)
    case "emulator":
      return EmulatorCli.run(rest)
    case "embed":
      return embed(rest)
    case undefined:
    case "-h":
    case "--help":
      process.stdout.write(`${usage}\n`)
      return
    default:
      fail(`unknown command "${command}"\n\n${usage}`)
  }
}
