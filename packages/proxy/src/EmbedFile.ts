/**
 * `bedrock-embed embed`: embeds a JSONL corpus into a JSONL file of vectors, resumably.
 *
 * Each input line is an object with an id and a text field; each output line is
 * `{"id": …, "embedding": [...]}`, in input order. Lines are appended one write at a time, so a
 * crash (even `kill -9`) loses at most the line being written; a re-run drops a torn last line,
 * skips every id already written and never writes one twice. Inputs that fail after retries go to
 * `<out>.errors.jsonl` (and are retried by the next run), not into the vectors.
 *
 * Stream mode reads the input twice: a first pass, before any call, keeps each id's first line
 * and the hash of each text (so a repeated id refuses the run, and a text on several lines is
 * sent once); the second sends the texts, reports bad lines with their line numbers and writes
 * each repeated line by copying its first line's vector from the output. Resume reads the output
 * a chunk at a time and keeps only its ids.
 *
 * @since 0.1.0
 */
import type { Errors, Embeddings, Jobs } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"
import { Effect, ManagedRuntime } from "effect"
import { CacheFileError } from "./internal/cache.ts"
import { batchProgram } from "./internal/embed/batch.ts"
import { DuplicateIdError, InputFileError, OutputFileError } from "./internal/embed/errors.ts"
import { streamProgram } from "./internal/embed/stream.ts"

/**
 * Options of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly model: string
  readonly input: string
  readonly output: string
  /** The text field of each input line; default `text`. */
  readonly field?: string | undefined
  /** The id field of each input line; default `id`. A line without one is an error for that line. */
  readonly idField?: string | undefined
  /**
   * Every line's id is its line number (1-based, blank lines counted) and the id field is not
   * read; default false.
   */
  readonly positional?: boolean | undefined
  /**
   * Two lines with the same id: `error` (default) refuses the run before any call, naming both
   * lines; `first` embeds the first and reports the others in the errors file.
   */
  readonly onDuplicate?: "error" | "first" | undefined
  /** Other request parameters: `dimensions`, region, endpoint, model parameters. */
  readonly request?: Readonly<Record<string, unknown>> | undefined
  /** Engine options (concurrency, retries). */
  readonly engine?: BedrockEmbed.Options["engine"]
  /** Show a progress bar (default: when stderr is a terminal). */
  readonly progress?: boolean | undefined
  /**
   * `stream` (default): InvokeModel calls from this machine. `batch`: one Bedrock batch inference
   * job (CreateModelInvocationJob) for the inputs not yet in the output — for corpora beyond one
   * machine; needs `batch.s3Uri` and `batch.roleArn`.
   */
  readonly mode?: "stream" | "batch" | undefined
  readonly batch?: BatchOptions | undefined
  /**
   * Stream mode: a directory holding the embedding cache (`embeddings.db`, SQLite) — the gateway's
   * `cache_params.type: disk` with `disk_cache_dir` this directory (and no `namespace`), keyed
   * alike, so vectors either one embedded for the same model and parameters are found by the
   * other. A text found there is not sent (no call, no cost); the others' vectors are added to it.
   * Batch mode refuses it: a batch inference job's records are read by Bedrock, not by this command.
   * A directory that cannot hold the file fails the run with a `CacheFileError` before the output is
   * touched or any call is made.
   */
  readonly cache?: string | undefined
  /**
   * The output's format, resumable in each (a re-run after a crash, even `kill -9`, keeps one
   * vector per id); vectors are float32 beside their ids:
   * - `jsonl` (default): `{"id": …, "embedding": [...]}` lines.
   * - `parquet`, `arrow` (an Arrow IPC file): columns `id` and `embedding` (a fixed-size list of
   *   float32). `id` holds the ids themselves when all are strings, an int64 when all are
   *   integers, else their JSON text (the schema metadata `bedrock-embed:id` says which). While
   *   running, vectors go to `<out>.partial.npy` and `<out>.partial.ids.jsonl`; the run's end
   *   (or the next run, after a crash) rewrites `<out>` with them in bounded memory.
   * - `npy`: `<out>` a 2-D float32 array (`numpy.load`), `<out>.ids.jsonl` one JSON id per row.
   *
   * Another value fails with an `OutputFileError` naming the formats.
   */
  readonly format?: "jsonl" | "parquet" | "arrow" | "npy" | undefined
}

/**
 * Batch mode settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchOptions {
  /** Working folder for records and results, `s3://bucket/prefix`. */
  readonly s3Uri: string
  /** The IAM service role Bedrock assumes to read and write there. */
  readonly roleArn: string
  /** Seconds between status checks; default 30. */
  readonly pollSeconds?: number | undefined
  /** Bedrock's quota "Records per batch inference job": more inputs run as several jobs; default 50 000. */
  readonly recordsPerJob?: number | undefined
  /** Bedrock's quota "Records per input file per batch inference job"; default 50 000. */
  readonly recordsPerFile?: number | undefined
  /** Bedrock's quota "Minimum number of records per batch inference job": fewer are refused before anything is written; default 100. */
  readonly minRecords?: number | undefined
}

/**
 * What a run did.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly total: number
  readonly skipped: number
  readonly embedded: number
  readonly failed: number
  readonly tokens: number
  readonly cost: number
  readonly seconds: number
  readonly calls: number
  readonly throttles: number
  /** Stream mode: inputs not sent because an identical text earlier in the run was. */
  readonly deduplicated?: number | undefined
  /** With `cache`: inputs whose vectors were found in the cache (no call, no cost; counted in `embedded`). */
  readonly cached?: number | undefined
  /** Batch mode: the jobs' ARNs, space-separated (several when the inputs exceed a job's record quota). */
  readonly jobArn?: string | undefined
}
export {
  /**
   * The `cache` directory's SQLite file cannot be opened: the message names the file and what to
   * change.
   *
   * @category errors
   * @since 0.1.0
   */
  CacheFileError,
  /**
   * Two input lines with the same id (and `onDuplicate` is `error`): the run is refused before any
   * call.
   *
   * @category errors
   * @since 0.1.0
   */
  DuplicateIdError,
  /**
   * A line of the input file that is not an input: not a JSON object, or without its text field.
   *
   * @category errors
   * @since 0.1.0
   */
  InputFileError,
  /**
   * The output cannot be written in the asked format: an unknown format, a file in the way that
   * this command did not write, or vectors of another size than those already in it.
   *
   * @category errors
   * @since 0.1.0
   */
  OutputFileError
}

/**
 * What a run can fail with: a bad input line, the engine's or the jobs service's typed errors, or
 * the files themselves.
 *
 * @category errors
 * @since 0.1.0
 */
export type RunError =
  | InputFileError
  | DuplicateIdError
  | OutputFileError
  | CacheFileError
  | Errors.EmbeddingError
  | Errors.AsyncJobFailedError
  | Errors.AsyncJobTimeoutError
  | Errors.ObjectStoreError
  | Errors.CredentialsError
  | Errors.UnsupportedModelError

/**
 * The command as an Effect program on the engine and the jobs service (provide
 * `BedrockEmbed.layer`): interrupting it stops the calls in flight and keeps what was written.
 *
 * @category constructors
 * @since 0.1.0
 */
export const program = (options: Options): Effect.Effect<Summary, RunError, Embeddings.Embeddings | Jobs.Jobs> => {
  if (options.mode !== "batch") return streamProgram(options)
  if (options.batch === undefined) {
    return Effect.fail(new InputFileError({ message: "batch mode needs an S3 working folder and a role ARN" }))
  }
  if (options.cache !== undefined) {
    return Effect.fail(
      new InputFileError({
        message:
          "the cache is for stream mode: a batch inference job's records are read by Bedrock, which cannot skip cached ones; drop the cache or use stream mode"
      })
    )
  }
  return batchProgram(options, options.batch)
}

/**
 * Runs the command with its own engine (`options.engine`); rejects with the typed error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = async (options: Options): Promise<Summary> => {
  const runtime = ManagedRuntime.make(
    BedrockEmbed.layer(options.engine === undefined ? {} : { engine: options.engine })
  )
  try {
    return await runtime.runPromise(program(options))
  } finally {
    await runtime.dispose()
  }
}
