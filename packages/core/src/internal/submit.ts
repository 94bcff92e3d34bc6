/**
 * The async-invoke route: one StartAsyncInvoke job per input, each `modelInput` encoded as it is
 * submitted; the response carries the invocation ARNs.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import type * as BedrockRuntime from "../BedrockRuntime.ts"
import type { EmbeddingData, EmbeddingResponse } from "../EmbeddingResponse.ts"
import * as ModelRoute from "../ModelRoute.ts"
import * as Plan from "../Plan.ts"
import type { Caller } from "./caller.ts"

export const submit = (
  runtime: BedrockRuntime.Service,
  caller: Caller,
  resolved: Plan.Resolved,
  planned: Plan.Plan,
  target: BedrockRuntime.Target
) =>
  Effect.gen(function* () {
    const { route, spec, known, controls } = resolved
    const outputS3Uri = resolved.async?.outputS3Uri ?? ""
    const token = known.client_request_token ?? randomUUID()
    const count = planned.inputs.length
    const started = yield* Effect.forEach(
      planned.groups,
      ([index]) =>
        Effect.flatMap(Plan.encodeJob(spec, planned, index!), (modelInput) =>
          // StartAsyncInvoke is idempotent under its token, so retrying it is safe; one token
          // per input, so a retried submission never starts a second job.
          caller.retry(
            runtime.startAsyncInvoke({
              modelId: route.modelId,
              modelInput,
              outputS3Uri,
              clientRequestToken: count === 1 ? token : `${token}-${index}`,
              target,
              headers: controls.headers
            }),
            controls.retries
          )
        ),
      { concurrency: caller.concurrency }
    )
    const arns = started.map((job) => job.invocationArn)
    return {
      object: "list",
      data: arns.map((_, index): EmbeddingData => ({ object: "embedding", index, embedding: [] })),
      model: ModelRoute.responseModel(route),
      usage: { prompt_tokens: 0, total_tokens: 0 },
      _hidden_params: {
        response_cost: 0,
        model_id: route.modelId,
        family: spec.family,
        region: target.region,
        calls: arns.length,
        retries: 0,
        request_ids: started.flatMap((job) => (job.requestId === undefined ? [] : [job.requestId])),
        _invocation_arn: arns[0]!,
        _invocation_arns: arns
      }
    } satisfies EmbeddingResponse
  })
