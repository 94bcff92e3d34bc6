/**
 * `bedrock-embed embed`: a JSONL corpus into JSONL vectors, streamed or as one batch inference job.
 *
 * @internal
 */
import { BedrockEmbed } from "bedrock-embed"
import { Console, Effect, Option } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import * as EmbedFile from "../../EmbedFile.ts"
import { CliFailure, ExitCode, failure, lines, positive, switchFlag, text } from "./shared.ts"

// embed

/** The models Bedrock runs batch inference for, as their specs declare. */
const batchModels = () =>
  BedrockEmbed.specs
    .filter((spec) => spec.capabilities.batchInference === true)
    .map((spec) => spec.id)
    .join(", ")

/** Numbers, booleans and JSON go through as such; anything else is a string. */
const paramValue = (raw: string): unknown => {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** `--param key=value`, repeatable. */
const params = Flag.String("param").pipe(
  Flag.withMetavar("KEY=VALUE"),
  Flag.withDescription("an extra request parameter (repeatable)"),
  Flag.atLeast(0),
  Flag.mapEffect((pairs) =>
    Effect.forEach(pairs, (pair) => {
      const eq = pair.indexOf("=")
      if (eq < 1)
        return Effect.fail(new CliError.ValidationError({ message: `--param takes key=value; got "${pair}"` }))
      return Effect.succeed([pair.slice(0, eq), paramValue(pair.slice(eq + 1))] as const)
    }).pipe(Effect.map(Object.fromEntries<unknown>))
  )
)

const embedFlags = {
  model: Flag.String("model").pipe(Flag.withAlias("m"), Flag.withMetavar("M"), Flag.withDescription("the model id")),
  input: Flag.String("in").pipe(
    Flag.withAlias("i"),
    Flag.withMetavar("FILE"),
    Flag.withDescription("the JSONL corpus")
  ),
  output: Flag.String("out").pipe(
    Flag.withAlias("o"),
    Flag.withMetavar("FILE"),
    Flag.withDescription(
      "the vectors (see --format); failed inputs go to <out>.errors.jsonl, written only when one fails"
    )
  ),
  format: Flag.Literals("format", ["jsonl", "parquet", "arrow", "npy"]).pipe(
    Flag.withDefault("jsonl"),
    Flag.withDescription(
      "the output: jsonl (default), parquet or arrow (columns id, embedding: float32; a journal <out>.partial.* while running), npy (float32 array, ids in <out>.ids.jsonl)"
    )
  ),
  field: text("field", "NAME", "the field holding the text (default text)"),
  idField: text("id-field", "NAME", "the field holding the id (default id); a line without one is an error"),
  positional: switchFlag("positional", "each line's id is its line number (1-based, blank lines counted)"),
  onDuplicate: Flag.Literals("on-duplicate", ["error", "first"]).pipe(
    Flag.withDefault("error"),
    Flag.withDescription("an id on two lines: error (refuse the run, default) or first (embed the first line)")
  ),
  dimensions: positive("dimensions", "vector size, for models that have several"),
  concurrency: positive("concurrency", "Bedrock calls in flight at most"),
  region: text("region", "R", "the AWS region"),
  endpoint: text("endpoint", "URL", "the Bedrock Runtime endpoint (e.g. the emulator's)"),
  param: params,
  noProgress: switchFlag("no-progress", "print no progress bar"),
  mode: Flag.Literals("mode", ["stream", "batch"]).pipe(
    Flag.withDefault("stream"),
    Flag.withDescription("stream (InvokeModel calls, default) or batch (one batch inference job)")
  ),
  cache: text(
    "cache",
    "DIR",
    "stream mode: the embedding cache, DIR/embeddings.db (a gateway's disk_cache_dir): cached texts are not sent"
  ),
  s3Uri: text("s3-uri", "s3://bucket/prefix", "--mode batch: the S3 folder of the job's records and results"),
  roleArn: text("role-arn", "ARN", "--mode batch: the IAM role Bedrock assumes"),
  pollSeconds: positive("poll-seconds", "--mode batch: seconds between job status checks (default 30)"),
  recordsPerJob: positive(
    "records-per-job",
    "--mode batch: Bedrock's quota of records per batch inference job; more inputs run as several jobs (default 50000)"
  ),
  recordsPerFile: positive(
    "records-per-file",
    "--mode batch: Bedrock's quota of records per input file per batch inference job (default 50000)"
  ),
  minRecords: positive(
    "min-records",
    "--mode batch: Bedrock's quota of minimum records per batch inference job; fewer are refused (default 100)"
  ),
  bedrockEndpoint: text("bedrock-endpoint", "URL", "--mode batch: the Bedrock (control plane) endpoint"),
  s3Endpoint: text("s3-endpoint", "URL", "--mode batch: the S3 endpoint")
}

type EmbedFlags = Command.Command.Config.Infer<typeof embedFlags>

const batchNeeds = (flags: EmbedFlags) => {
  if (flags.mode !== "batch") return Effect.void
  // Refused, not ignored: a run that silently sends every cached text again costs what --cache promised to save.
  if (Option.isSome(flags.cache)) {
    return Effect.fail(
      new CliError.ValidationError({
        message:
          "--cache is for --mode stream: a batch inference job's records are read by Bedrock, which cannot skip cached texts; drop --cache or use --mode stream"
      })
    )
  }
  const missing = Option.isNone(flags.s3Uri) ? "s3-uri" : Option.isNone(flags.roleArn) ? "role-arn" : undefined
  return missing === undefined
    ? Effect.void
    : Effect.fail(
        new CliError.ValidationError({
          message: `--mode batch needs --${missing}: Bedrock reads the records from and writes the results to an S3 folder (--s3-uri s3://bucket/prefix), as an IAM role it assumes (--role-arn arn:aws:iam::<account>:role/<name>)`
        })
      )
}

const embedOptions = (flags: EmbedFlags): EmbedFile.Options => {
  const optional = <A>(key: string, value: Option.Option<A>) =>
    Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) })
  const pollSeconds = Option.getOrUndefined(flags.pollSeconds)
  const concurrency = Option.getOrUndefined(flags.concurrency)
  return {
    model: flags.model,
    input: flags.input,
    output: flags.output,
    format: flags.format,
    field: Option.getOrUndefined(flags.field),
    idField: Option.getOrUndefined(flags.idField),
    positional: flags.positional,
    onDuplicate: flags.onDuplicate,
    request: {
      ...flags.param,
      ...optional("dimensions", flags.dimensions),
      ...optional("aws_region_name", flags.region),
      ...optional("aws_bedrock_runtime_endpoint", flags.endpoint),
      ...optional("aws_bedrock_endpoint", flags.bedrockEndpoint),
      ...optional("aws_s3_endpoint", flags.s3Endpoint)
    },
    mode: flags.mode,
    cache: Option.getOrUndefined(flags.cache),
    ...(flags.mode === "batch" && Option.isSome(flags.s3Uri) && Option.isSome(flags.roleArn)
      ? {
          batch: {
            s3Uri: flags.s3Uri.value,
            roleArn: flags.roleArn.value,
            pollSeconds,
            recordsPerJob: Option.getOrUndefined(flags.recordsPerJob),
            recordsPerFile: Option.getOrUndefined(flags.recordsPerFile),
            minRecords: Option.getOrUndefined(flags.minRecords)
          }
        }
      : {}),
    engine: concurrency === undefined ? undefined : { concurrency },
    progress: flags.noProgress ? false : undefined
  }
}

const deduplicated = (summary: EmbedFile.Summary): string =>
  (summary.deduplicated ?? 0) > 0 ? `, ${summary.deduplicated} duplicate texts embedded once` : ""

const cached = (summary: EmbedFile.Summary): string =>
  summary.cached === undefined ? "" : `, ${summary.cached} from the cache (no call, $0)`

const summaryLine = (summary: EmbedFile.Summary): string =>
  (summary.jobArn === undefined
    ? ""
    : `batch inference job${summary.jobArn.includes(" ") ? "s" : ""} ${summary.jobArn.split(" ").join(", ")}: `) +
  `embedded ${summary.embedded} of ${summary.total} (skipped ${summary.skipped} already done, failed ${summary.failed}) ` +
  `in ${summary.seconds.toFixed(1)} s — ` +
  (summary.jobArn === undefined
    ? `${summary.calls} Bedrock calls, ${summary.throttles} throttled${deduplicated(summary)}${cached(summary)} — `
    : `${summary.calls} records — `) +
  `${summary.tokens} tokens, $${summary.cost.toFixed(6)}${summary.jobArn === undefined ? "" : " at the batch price"}`

const embedHandler = (flags: EmbedFlags) =>
  Effect.gen(function* () {
    const options = embedOptions(flags)
    // The engine runs in this program's runtime: SIGINT interrupts the calls in flight.
    const summary = yield* EmbedFile.program(options).pipe(
      Effect.provide(BedrockEmbed.layer(options.engine === undefined ? {} : { engine: options.engine })),
      // Duplicate ids refuse the run before any call, as a usage error would.
      Effect.mapError((error) =>
        error._tag === "DuplicateIdError"
          ? new CliFailure({ message: error.message, exitCode: ExitCode.Usage })
          : failure(error.message)
      ),
      Effect.onInterrupt(() =>
        Console.error(`bedrock-embed: interrupted; ${flags.output} keeps what was written: run again to resume.`)
      )
    )
    yield* Console.log(summaryLine(summary))
    if (summary.failed > 0) {
      return yield* new CliFailure({
        message: `${summary.failed} inputs failed: see ${flags.output}.errors.jsonl; run again to retry them.`,
        exitCode: ExitCode.InputsFailed
      })
    }
  })

export const embed = Command.make("embed", embedFlags, embedHandler).pipe(
  Command.validate(batchNeeds),
  Command.withShortDescription("Embeds a JSONL corpus into JSONL vectors, resumably"),
  Command.withDescription(
    lines(
      "Embeds a JSONL corpus into JSONL vectors, in order, with a progress bar; resumable: a re-run",
      "skips ids already written. Failed inputs and bad lines (not JSON, no id, no text) go to",
      "<out>.errors.jsonl with their line numbers and the exit code is 3. Ids are unique JSON values:",
      "a repeated id refuses the run (exit 2) unless --on-duplicate first. A text on several lines is",
      "embedded once.",
      "--cache DIR keeps vectors in DIR/embeddings.db, the cache of a gateway whose config says",
      "cache_params: {type: disk, disk_cache_dir: DIR}: a text found there for the same model and",
      "parameters is not sent (0 calls, $0 for it), so re-embedding an unchanged corpus costs nothing.",
      "Stream mode only: --mode batch refuses it (Bedrock reads a job's records itself).",
      "--format parquet|arrow|npy writes float32 vectors beside their ids, as resumable as jsonl.",
      "--mode batch runs the inputs not yet written as Bedrock batch inference jobs",
      `(CreateModelInvocationJob; ${batchModels()}): records and results go`,
      "through the S3 folder, Bedrock assumes the role. A re-run finds the same jobs. Bedrock's record",
      "quotas apply: at least 100 records a job (fewer are refused before anything is written), and",
      "more inputs than --records-per-job (default 50000) run as several jobs."
    )
  ),
  Command.withExamples([
    {
      command: "bedrock-embed embed --model cohere.embed-english-v3 --in docs.jsonl --out vectors.jsonl",
      description: "stream a corpus through InvokeModel"
    },
    {
      command:
        "bedrock-embed embed --model amazon.titan-embed-text-v2:0 --in docs.jsonl --out vectors.jsonl --cache .bedrock-embed-cache",
      description: "texts embedded before (by this command or a gateway on the same cache) cost nothing"
    },
    {
      command:
        "bedrock-embed embed --model amazon.titan-embed-text-v2:0 --in docs.jsonl --out vectors.parquet --format parquet",
      description: "a Parquet file of float32 vectors (DuckDB: SELECT id, embedding FROM 'vectors.parquet')"
    },
    {
      command:
        "bedrock-embed embed --mode batch --model amazon.titan-embed-text-v2:0 --in docs.jsonl --out vectors.jsonl --s3-uri s3://bucket/prefix --role-arn arn:aws:iam::123456789012:role/BedrockBatch",
      description: "one batch inference job, at the batch price"
    }
  ])
)
