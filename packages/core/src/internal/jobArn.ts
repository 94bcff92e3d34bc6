/**
 * Job ARNs of both kinds, parsed by one pattern.
 *
 * @internal
 */
import { Result } from "effect"
import { InvalidRequestError } from "../Errors.ts"

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
