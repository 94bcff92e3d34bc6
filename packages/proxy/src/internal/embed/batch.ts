/**
 * Batch mode of the bulk command: Bedrock batch inference jobs for the inputs not yet in the output.
 *
 * @since 0.1.0
 */
import { Jobs } from "@bedrock-embed/core"
import { Effect, Schedule } from "effect"
import type { BatchOptions, Options, Summary } from "../../EmbedFile.ts"
import { InputFileError } from "./errors.ts"
import { duplicateError, inputsOf, modelOf, readError } from "./inputs.ts"
import { type IdSet, outputFiles, resume, writeItem } from "./output.ts"
import { scopedBar } from "./progress.ts"

/**
 * Batch mode: the inputs of the file not yet in the output, in file order; a bad line fails, so
 * does a repeated id unless `onDuplicate` is `first` (the later lines are then left out).
 */
export const pendingInputs = (options: Options, done: IdSet) =>
  Effect.tryPromise({
    try: async () => {
      const ids: Array<unknown> = []
      const texts: Array<string> = []
      const lines = new Map<string, number>()
      let total = 0
      for await (const { lineNumber, input } of inputsOf(options)) {
        total++
        if ("reason" in input) throw new InputFileError({ message: input.reason })
        const first = lines.get(input.key)
        if (first !== undefined) {
          if (options.onDuplicate === "first") continue
          throw duplicateError(options, [[input.id, first, lineNumber]], 1)
        }
        lines.set(input.key, lineNumber)
        if (done.has(input.key)) continue
        ids.push(input.id)
        texts.push(input.text)
      }
      return { ids, texts, total }
    },
    catch: (cause) => readError(options, cause)
  })

/** The batch quotas of a run: Bedrock's defaults unless set. */
export const quotasOf = (batch: BatchOptions) => ({
  minRecords: batch.minRecords ?? 100,
  recordsPerJob: Math.max(1, batch.recordsPerJob ?? 50_000),
  recordsPerFile: Math.max(1, batch.recordsPerFile ?? 50_000)
})

/**
 * The pending inputs split into jobs, as `[start, end)` ranges: full jobs of `recordsPerJob`, the
 * last two evened out when the last would fall under the minimum. A re-run after whole jobs were
 * written splits the rest the same way, so it finds the same jobs again.
 */
export const splitJobs = (
  count: number,
  quotas: ReturnType<typeof quotasOf>
): ReadonlyArray<readonly [number, number]> => {
  const ranges: Array<readonly [number, number]> = []
  for (let start = 0; start < count; start += quotas.recordsPerJob) {
    ranges.push([start, Math.min(count, start + quotas.recordsPerJob)])
  }
  const last = ranges.at(-1)!
  if (ranges.length > 1 && last[1] - last[0] < quotas.minRecords) {
    const from = ranges.at(-2)![0]
    const middle = from + Math.ceil((count - from) / 2)
    ranges.splice(-2, 2, [from, middle], [middle, count])
  }
  return ranges
}

/** Fewer pending inputs than a batch job takes: refused before any S3 object or job. */
export const tooFewForBatch = (count: number, minimum: number) =>
  new InputFileError({
    message:
      `${count} inputs to embed, fewer than the ${minimum} records a batch inference job needs at least (Bedrock's quota ` +
      `"Minimum number of records per batch inference job"). Nothing was uploaded and no job was created: run without --mode batch to embed them with InvokeModel.`
  })

/** Batch mode: batch inference jobs (split per Bedrock's record quotas) for what is missing, awaited, then written in input order. */
export const batchProgram = (options: Options, batch: BatchOptions) =>
  Effect.gen(function* () {
    const started = performance.now()
    const done = resume(options)
    const { ids, texts, total } = yield* pendingInputs(options, done)
    const empty = { total, skipped: done.size, embedded: 0, failed: 0, tokens: 0, cost: 0, calls: 0, throttles: 0 }
    if (ids.length === 0) return { ...empty, seconds: (performance.now() - started) / 1000 } satisfies Summary
    const quotas = quotasOf(batch)
    if (quotas.recordsPerJob < quotas.minRecords) {
      return yield* new InputFileError({
        message: `records per job (${quotas.recordsPerJob}) must be at least the minimum records per job (${quotas.minRecords}): raise --records-per-job or lower --min-records to your account's quotas`
      })
    }
    if (ids.length < quotas.minRecords) return yield* tooFewForBatch(ids.length, quotas.minRecords)
    const ranges = splitJobs(ids.length, quotas)
    const requestOf = ([start, end]: readonly [number, number]) => ({
      ...options.request,
      model: modelOf(options),
      input: texts.slice(start, end)
    })
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(" {bar} {value}/{total} records | jobs {status} | {elapsed}s", showBar)
    const jobs = yield* Jobs.Jobs
    // Each job's name and token derive from its records, model, folder and role: a re-run after
    // a crash finds the same jobs instead of starting more.
    const submitted = yield* Effect.forEach(ranges, (range) => {
      const request = requestOf(range)
      return jobs.submit(request, { ...request, ...quotas, s3Uri: batch.s3Uri, roleArn: batch.roleArn })
    })
    for (const job of submitted) {
      process.stderr.write(
        `submitted ${job.records} records as batch inference job ${job.jobArn} (inputs in ${job.inputUri})\n`
      )
    }
    const records = submitted.reduce((sum, job) => sum + job.records, 0)
    const processed = submitted.map(() => 0)
    if (showBar) bar.start(records, 0, { status: "Submitted" })
    yield* Effect.forEach(submitted, (job, j) =>
      jobs.await(job.jobArn, {
        // The request's region, endpoints and identity; its `timeout` is a per-call one, not the wait's.
        ...options.request,
        timeout: undefined,
        schedule: Schedule.spaced(`${batch.pollSeconds ?? 30} seconds`),
        onStatus: (status) => {
          processed[j] = status.request_counts.completed + status.request_counts.failed
          const sum = processed.reduce((a, b) => a + b, 0)
          if (showBar) bar.update(sum, { status: `${j + 1}/${submitted.length} ${status.metadata.bedrock_status}` })
        }
      })
    )
    if (showBar) bar.update(records, { status: "Completed" })
    const files = yield* outputFiles(options)
    const counts = { embedded: 0, failed: 0, tokens: 0, cost: 0, uncounted: false }
    for (let j = 0; j < submitted.length; j++) {
      const range = ranges[j]!
      const results = yield* jobs.batchResults(submitted[j]!.jobArn, requestOf(range))
      for (const item of results.items) {
        if (writeItem(files, ids[range[0] + item.index]!, item)) counts.embedded++
        else counts.failed++
      }
      counts.tokens += results.tokens
      counts.cost += results.cost
      counts.uncounted ||= !results.tokensKnown
    }
    if (counts.uncounted) {
      process.stderr.write(
        "Bedrock gave no token count for some records (neither in the records nor in the job's manifest.json.out): tokens and cost are lower bounds.\n"
      )
    }
    const { uncounted: _, ...totals } = counts
    return {
      ...empty,
      ...totals,
      calls: records,
      seconds: (performance.now() - started) / 1000,
      jobArn: submitted.map((job) => job.jobArn).join(" ")
    } satisfies Summary
  }).pipe(Effect.scoped)
