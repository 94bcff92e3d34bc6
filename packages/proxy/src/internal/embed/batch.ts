/**
 * Batch mode of the bulk command: Bedrock batch inference jobs for the inputs not yet in the output.
 * The input is read twice and never held: a first pass (the same as stream mode's, without
 * counting texts) marks what is pending (and refuses bad lines and repeated ids), the second submits it job by job; results are joined back through each
 * job's manifest (record → input id), so nothing of the corpus stays in memory while jobs run.
 *
 * @since 0.1.0
 */
import { Jobs } from "@bedrock-embed/core"
import { Effect, Schedule } from "effect"
import type { BatchOptions, Options, Summary } from "../../EmbedFile.ts"
import { InputFileError } from "./errors.ts"
import { inputsOf, modelOf, readError } from "./inputs.ts"
import { type OutputFiles, outputError, outputFiles, writeError, writeItem } from "./output.ts"
import { type InputPlan, notSentReason, planRun, REPEATED_ID, SEND } from "./plan.ts"
import { scopedBar } from "./progress.ts"

/** Batch mode's second pass: the pending inputs in file order, as the first pass marked them. */
async function* pendingInputs(options: Options, plan: InputPlan) {
  for await (const { lineNumber, input } of inputsOf(options)) {
    if (!("reason" in input) && plan.marks[lineNumber] === SEND) yield input
  }
}

/** The next `count` pending inputs: one job's ids and texts, the only ones in memory. */
const nextJob = (
  options: Options,
  source: AsyncIterator<{ readonly id: unknown; readonly text: string }>,
  count: number
) =>
  Effect.tryPromise({
    try: async () => {
      const ids: Array<unknown> = []
      const texts: Array<string> = []
      while (texts.length < count) {
        const next = await source.next()
        if (next.done === true) {
          throw new InputFileError({
            message: `${options.input} changed during the run: fewer inputs on the second read`
          })
        }
        ids.push(next.value.id)
        texts.push(next.value.text)
      }
      return { ids, texts }
    },
    catch: (cause) => readError(options, cause)
  })

/**
 * The lines that are not inputs, and those whose id is on an earlier line, to the errors file
 * with their line numbers (as stream mode reports them); how many.
 */
const reportLines = (options: Options, plan: InputPlan, files: OutputFiles) =>
  Effect.tryPromise({
    try: async () => {
      if (plan.bad.count === 0 && plan.firstLines.size === 0) return 0
      let reported = 0
      for await (const { lineNumber, input } of inputsOf(options)) {
        if ("reason" in input) {
          writeError(files, { id: input.id, line: lineNumber }, "InputFileError", input.reason)
          reported++
        } else if (plan.marks[lineNumber] === REPEATED_ID) {
          const message = notSentReason(options, plan, lineNumber, input.id)
          writeError(files, { id: input.id, line: lineNumber }, "DuplicateIdError", message)
          reported++
        }
      }
      return reported
    },
    catch: (cause) => readError(options, cause)
  })

/** The batch quotas of a run: Bedrock's defaults unless set. */
const quotasOf = (batch: BatchOptions) => ({
  minRecords: batch.minRecords ?? 100,
  recordsPerJob: Math.max(1, batch.recordsPerJob ?? 50_000),
  recordsPerFile: Math.max(1, batch.recordsPerFile ?? 50_000)
})

/**
 * The pending inputs split into jobs, as `[start, end)` ranges: full jobs of `recordsPerJob`, the
 * last two evened out when the last would fall under the minimum. A re-run after whole jobs were
 * written splits the rest the same way, so it finds the same jobs again.
 */
const splitJobs = (count: number, quotas: ReturnType<typeof quotasOf>): ReadonlyArray<readonly [number, number]> => {
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
const tooFewForBatch = (count: number, minimum: number) =>
  new InputFileError({
    message:
      `${count} inputs to embed, fewer than the ${minimum} records a batch inference job needs at least (Bedrock's quota ` +
      `"Minimum number of records per batch inference job"). Nothing was uploaded and no job was created: run without --mode batch to embed them with InvokeModel.`
  })

/**
 * The jobs for the pending inputs, submitted one at a time as the input file is read: one job's
 * texts in memory at once, each input's id in its job's manifest. Each job's name and token derive
 * from its records, model, folder and role, and a re-run (nothing is written until every job is
 * done) reads and splits the same pending inputs: it finds the same jobs instead of starting more.
 */
const submitJobs = (
  options: Options,
  batch: BatchOptions,
  plan: InputPlan,
  ranges: ReadonlyArray<readonly [number, number]>
) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const quotas = quotasOf(batch)
    const source = yield* Effect.acquireRelease(
      Effect.sync(() => pendingInputs(options, plan)),
      (inputs) => Effect.promise(async () => void (await inputs.return(undefined)))
    )
    const submitted: Array<Jobs.Submitted> = []
    for (const [start, end] of ranges) {
      const { ids, texts } = yield* nextJob(options, source, end - start)
      const request = { ...options.request, model: modelOf(options), input: texts }
      const job = yield* jobs.submit(request, {
        ...request,
        ...quotas,
        ids,
        s3Uri: batch.s3Uri,
        roleArn: batch.roleArn
      })
      process.stderr.write(
        `submitted ${job.records} records as batch inference job ${job.jobArn} (inputs in ${job.inputUri})\n`
      )
      submitted.push(job)
    }
    return submitted
  })

/** Polls every job to its end, with one progress bar over all their records. */
const awaitJobs = (options: Options, batch: BatchOptions, submitted: ReadonlyArray<Jobs.Submitted>) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(" {bar} {value}/{total} records | jobs {status} | {elapsed}s", showBar)
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
    return records
  })

/**
 * Every job's results written, jobs in order, each in input order: read back from the job's ARN,
 * its ids from its manifest — the inputs are not read again.
 */
const writeResults = (options: Options, files: OutputFiles, submitted: ReadonlyArray<Jobs.Submitted>) =>
  Effect.gen(function* () {
    const jobs = yield* Jobs.Jobs
    const counts = { embedded: 0, failed: 0, tokens: 0, cost: 0, uncounted: false }
    for (const job of submitted) {
      const results = yield* jobs.batchResults(job.jobArn, (options.request ?? {}) as Jobs.Params)
      yield* Effect.try({
        try: () => {
          for (const item of results.items) {
            if (writeItem(files, item.id, item)) counts.embedded++
            else counts.failed++
          }
        },
        catch: outputError(options.output)
      })
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
    return totals
  })

/**
 * Batch mode: batch inference jobs (split per Bedrock's record quotas) for what is missing,
 * submitted as the input is read, awaited, then written in input order through their manifests.
 */
export const batchProgram = (options: Options, batch: BatchOptions) =>
  Effect.gen(function* () {
    const started = performance.now()
    const plan = yield* planRun(options, false)
    const { pending, total } = plan
    const quotas = quotasOf(batch)
    if (pending > 0 && quotas.recordsPerJob < quotas.minRecords) {
      return yield* new InputFileError({
        message: `records per job (${quotas.recordsPerJob}) must be at least the minimum records per job (${quotas.minRecords}): raise --records-per-job or lower --min-records to your account's quotas`
      })
    }
    if (pending > 0 && pending < quotas.minRecords) return yield* tooFewForBatch(pending, quotas.minRecords)
    const files = yield* outputFiles(options)
    const reported = yield* reportLines(options, plan, files)
    const skipped = total - pending - plan.bad.count - plan.firstLines.size
    const empty = { total, skipped, embedded: 0, failed: reported, tokens: 0, cost: 0, calls: 0, throttles: 0 }
    if (pending === 0) return { ...empty, seconds: (performance.now() - started) / 1000 } satisfies Summary
    const submitted = yield* submitJobs(options, batch, plan, splitJobs(pending, quotas))
    const records = yield* awaitJobs(options, batch, submitted)
    const totals = yield* writeResults(options, files, submitted)
    return {
      ...empty,
      ...totals,
      failed: reported + totals.failed,
      calls: records,
      seconds: (performance.now() - started) / 1000,
      jobArn: submitted.map((job) => job.jobArn).join(" ")
    } satisfies Summary
  }).pipe(Effect.scoped)
