/**
 * Building the OpenAI-format response from call results as they arrive: each call's vectors go
 * to their inputs' positions and its usage is added, so nothing of a call is kept but its vectors.
 *
 * @internal
 */
import * as EmbeddingResponse from "../EmbeddingResponse.ts"
import * as ModelRoute from "../ModelRoute.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import type { Resolved } from "../Plan.ts"
import type * as Pricing from "../Pricing.ts"
import type { CallResult } from "./caller.ts"

/** The usage a call reports: Bedrock's token count where the body has none. */
export const usageOf = (outcome: CallResult): ModelSpec.Usage => ({
  inputTokens: outcome.decoded.inputTokens ?? outcome.result.inputTokenCount ?? 0,
  images: outcome.decoded.media?.images ?? 0,
  videoSeconds: outcome.decoded.media?.videoSeconds ?? 0,
  audioSeconds: outcome.decoded.media?.audioSeconds ?? 0,
  queries: outcome.decoded.media?.queries ?? 0
})

/** Usage in OpenAI's shape: tokens, and media counts in `prompt_tokens_details` when there are any. */
export const embeddingUsage = (usage: ModelSpec.Usage): EmbeddingResponse.EmbeddingUsage => {
  const queries = usage.queries ?? 0
  const details = {
    ...(queries > 0 ? { query_count: queries } : {}),
    ...(usage.images > 0 ? { image_count: usage.images } : {}),
    ...(usage.videoSeconds > 0 ? { video_seconds: usage.videoSeconds } : {}),
    ...(usage.audioSeconds > 0 ? { audio_seconds: usage.audioSeconds } : {})
  }
  return {
    prompt_tokens: usage.inputTokens,
    total_tokens: usage.inputTokens,
    ...(Object.keys(details).length > 0 ? { prompt_tokens_details: details } : {})
  }
}

/** Collects a request's call results into its response. */
export const collector = (resolved: Resolved, count: number) => {
  const asBase64 = resolved.known.encoding_format === "base64"
  const data: Array<EmbeddingResponse.EmbeddingData> = new Array(count)
  const usage = { inputTokens: 0, images: 0, videoSeconds: 0, audioSeconds: 0, queries: 0 }
  const requestIds: Array<string> = []
  let calls = 0
  let retries = 0
  let throttles = 0

  const add = (outcome: CallResult): void => {
    const { decoded, call } = outcome
    for (let j = 0; j < decoded.vectors.length; j++) {
      const index = call.indices[j]!
      const vector = decoded.vectors[j]!
      const byType = decoded.byType?.[j]
      const byModality = decoded.byModality?.[j]
      data[index] = {
        object: "embedding",
        index,
        embedding: asBase64 ? EmbeddingResponse.toBase64(vector) : vector,
        ...(byType === undefined ? {} : { embeddings_by_type: byType }),
        ...(byModality === undefined ? {} : { embeddings_by_modality: byModality })
      }
    }
    const used = usageOf(outcome)
    usage.inputTokens += used.inputTokens
    usage.images += used.images
    usage.videoSeconds += used.videoSeconds
    usage.audioSeconds += used.audioSeconds
    usage.queries += used.queries ?? 0
    if (outcome.result.requestId !== undefined) requestIds.push(outcome.result.requestId)
    calls++
    retries += outcome.failedAttempts
    throttles += outcome.throttledAttempts
  }

  const response = (pricing: Pricing.Service, region: string): EmbeddingResponse.EmbeddingResponse => {
    return {
      object: "list",
      data,
      model: ModelRoute.responseModel(resolved.route),
      usage: embeddingUsage(usage),
      _hidden_params: {
        response_cost: pricing.cost(resolved.spec, usage, resolved.price),
        model_id: resolved.route.modelId,
        family: resolved.spec.family,
        region,
        calls,
        retries,
        throttles,
        request_ids: requestIds
      }
    }
  }

  return { add, response }
}
