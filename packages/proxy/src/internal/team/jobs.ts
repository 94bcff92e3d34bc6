/**
 * Spend of async-invoke jobs, recorded when they end. A request that submits jobs costs nothing
 * when it is answered (its spend row says 0); each job is kept in the store until a look at it
 * finds it ended: then one spend row, under the job's ARN, holds what it used and cost (the
 * library's `Jobs.results`: tokens, media seconds and images as its output shows them, at the
 * model's price), and its cost is added to the key that submitted it. A job that failed is
 * recorded at 0 with status `failure`.
 *
 * Jobs are looked at every `general_settings.proxy_batch_polling_interval` seconds (LiteLLM's
 * setting; default here 60), and at once when a client reads a finished job at
 * `GET /v1/batches/{id}`. Settling is one transaction that only the first gateway to get there
 * wins, so a fleet sharing a database records each job once.
 *
 * @internal
 */
import type { Jobs } from "@bedrock-embed/core"
import { Duration, Effect, Schedule, type Scope } from "effect"
import type { JobRow, SpendRow } from "./store.ts"
import type { Team } from "./team.ts"

/** Settles jobs: all pending ones, or one a client just found ended. */
export interface JobSpend {
  /** Looks at every pending job once, settling those that ended. */
  readonly sweep: Effect.Effect<void>
  /** Settles the job `arn` if it is pending and has ended (a client read it at `/v1/batches`). */
  readonly ended: (arn: string) => void
}

/** How the job watcher reaches Bedrock and S3 for a job: its deployment's parameters. */
export type ParamsOf = (job: JobRow) => Readonly<Record<string, unknown>> | undefined

const seconds = (unix: number | null) => (unix === null ? undefined : unix * 1000)

/** The spend row of an ended job: what `Jobs.results` counted, or 0 for a failed one. */
const rowOf = (job: JobRow, status: Jobs.BatchStatus, results: Jobs.BatchResults | undefined): SpendRow => {
  const submitted = Date.parse(job.submitted_at)
  const ended = seconds(status.completed_at) ?? seconds(status.failed_at) ?? Date.now()
  return {
    request_id: job.invocation_arn,
    key_hash: job.key_hash,
    model: job.model,
    deployment: job.deployment,
    prompt_tokens: results?.usage.prompt_tokens ?? 0,
    cost: results?.cost ?? 0,
    latency_ms: Math.max(0, ended - submitted),
    status: results === undefined ? "failure" : results.usage_known ? "success" : "success (usage lower bound)",
    started_at: job.submitted_at
  }
}

/**
 * One job: nothing while it runs; when it completed, its results' usage and cost; when it
 * failed (or completed with every segment failed), 0. What cannot be read now (S3, a throttle)
 * leaves it pending for the next look.
 */
const settleOne = (team: Team, jobs: Jobs.Service, paramsOf: ParamsOf, job: JobRow) =>
  Effect.gen(function* () {
    const params = paramsOf(job) ?? {}
    const status = yield* jobs.retrieve(job.invocation_arn, params)
    if (status.status === "in_progress") return
    const results =
      status.status === "completed"
        ? yield* jobs.results(job.invocation_arn, params).pipe(
            Effect.map((read): Jobs.BatchResults | undefined => read),
            Effect.catchTag("AsyncJobFailedError", () => Effect.succeed(undefined))
          )
        : undefined
    yield* team.store.settleJob(job.invocation_arn, rowOf(job, status, results))
    if (job.key_hash !== null) team.cache.drop(job.key_hash)
  })

/**
 * The job watcher: a sweep now and every `interval`, for as long as the scope lasts; a job that
 * cannot be settled yet is retried at the next sweep, and said on stderr.
 */
export const watch = (
  team: Team,
  jobs: Jobs.Service,
  paramsOf: ParamsOf,
  interval: Duration.Input
): Effect.Effect<JobSpend, never, Scope.Scope> =>
  Effect.gen(function* () {
    const one = (job: JobRow) =>
      settleOne(team, jobs, paramsOf, job).pipe(
        Effect.catch((error: { readonly message: string }) =>
          Effect.sync(() =>
            process.stderr.write(
              `bedrock-embed: the spend of async job ${job.invocation_arn} is not recorded yet (${error.message}); trying again later\n`
            )
          )
        )
      )
    const sweep = team.store.pendingJobs.pipe(
      Effect.flatMap((pending) => Effect.forEach(pending, one, { concurrency: 4, discard: true })),
      Effect.catch((error) =>
        Effect.sync(() => process.stderr.write(`bedrock-embed: cannot list pending async jobs: ${error.message}\n`))
      )
    )
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(Duration.fromInputUnsafe(interval))))
    const ended = (arn: string) => {
      Effect.runFork(
        Effect.flatMap(team.store.pendingJobs, (pending) => {
          const job = pending.find((row) => row.invocation_arn === arn)
          return job === undefined ? Effect.void : one(job)
        }).pipe(Effect.ignore)
      )
    }
    return { sweep, ended }
  })
