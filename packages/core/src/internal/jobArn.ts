/**
 * What both kinds of job share: ARNs parsed by one pattern, and the batch status built one way.
 *
 * @internal
 */
import { Result } from "effect"
import { InvalidRequestError } from "../Errors.ts"
import type * as Jobs from "../Jobs.ts"

/**
 * What a job ARN names.
 */
export interface JobArn {
  readonly kind: "async-invoke" | "batch-inference"
  readonly region: string
  readonly account: string
  readonly jobId: string
}

const arnPattern = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):(\d{12}):(async-invoke|model-invocation-job)\/([a-z0-9]+)$/

/**
 * Parses a job ARN of either kind; `expected` narrows it to one kind.
 */
export const parseArn = (arn: string, expected?: JobArn["kind"]): Result.Result<JobArn, InvalidRequestError> => {
  const match = arnPattern.exec(arn)
  const kind = match?.[3] === "async-invoke" ? "async-invoke" : "batch-inference"
  if (match === null || (expected !== undefined && kind !== expected)) {
    const want =
      expected === "batch-inference"
        ? "a batch inference job ARN; expected arn:aws:bedrock:<region>:<account>:model-invocation-job/<id>"
        : expected === "async-invoke"
          ? "an async-invoke ARN; expected arn:aws:bedrock:<region>:<account>:async-invoke/<id> (the _invocation_arn of an async embedding response)"
          : "a Bedrock job ARN; expected arn:aws:bedrock:<region>:<account>:async-invoke/<id> or …:model-invocation-job/<id>"
    return Result.fail(
      new InvalidRequestError({
        message: `"${arn}" is not ${want}.`,
        param: expected === "batch-inference" ? "job_arn" : "batch_id"
      })
    )
  }
  return Result.succeed({ kind, region: match[1]!, account: match[2]!, jobId: match[4]! })
}

/** The foundation model id in a model ARN (`…:foundation-model/<id>`), or the ARN's last part. */
export const modelIdOf = (modelArn: string): string => {
  const slash = modelArn.lastIndexOf("/")
  return slash < 0 ? modelArn : modelArn.slice(slash + 1)
}

const seconds = (date: Date | undefined): number | null =>
  date === undefined ? null : Math.floor(date.getTime() / 1000)

/** A job of either kind as a batch status: its state, times, request counts and metadata. */
export const batchStatus = (job: {
  readonly id: string
  readonly status: Jobs.BatchStatus["status"]
  readonly submitTime: Date | undefined
  readonly endTime: Date | undefined
  readonly counts: Jobs.BatchStatus["request_counts"]
  readonly metadata: Jobs.BatchStatus["metadata"]
}): Jobs.BatchStatus => ({
  id: job.id,
  object: "batch",
  endpoint: "/v1/embeddings",
  status: job.status,
  created_at: seconds(job.submitTime),
  completed_at: job.status === "completed" ? seconds(job.endTime) : null,
  failed_at: job.status === "failed" ? seconds(job.endTime) : null,
  request_counts: job.counts,
  metadata: job.metadata
})
