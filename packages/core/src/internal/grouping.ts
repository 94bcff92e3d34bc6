/**
 * How a request's inputs become InvokeModel calls: by kind, each kind in input order, each call at
 * most the model's per-call limits (inputs per call, and inputs per call of each modality).
 *
 * @internal
 */
import type * as Media from "../Media.ts"
import type * as ModelSpec from "../ModelSpec.ts"

/** The media modalities an input of a kind carries (none for text). */
export const modalitiesOf = (kind: Media.InputKind): ReadonlyArray<Exclude<Media.Modality, "text">> =>
  kind === "text" ? [] : kind === "text_image" || kind === "multi_input" ? ["image"] : [kind]

/** The most inputs of one kind a call takes: the lowest of the model's limits for what they carry. */
export const callLimit = (caps: ModelSpec.Capabilities, kind: Media.InputKind): number => {
  let limit = caps.maxInputsPerCall
  for (const modality of modalitiesOf(kind)) limit = Math.min(limit, caps.media?.[modality]?.maxPerCall ?? Infinity)
  return Math.max(1, limit)
}

/**
 * Splits inputs into calls: by kind, each kind in input order, at most {@link callLimit} per call.
 * Calls come back ordered by their first input.
 */
export const groupsOf = (
  inputs: ReadonlyArray<Media.EmbeddingInput>,
  caps: ModelSpec.Capabilities
): Array<Array<number>> => {
  const byKind = new Map<Media.InputKind, Array<number>>()
  for (let i = 0; i < inputs.length; i++) {
    const kind = inputs[i]!.kind
    let group = byKind.get(kind)
    if (group === undefined) {
      group = []
      byKind.set(kind, group)
    }
    group.push(i)
  }
  const calls: Array<Array<number>> = []
  for (const [kind, indices] of byKind) {
    const limit = callLimit(caps, kind)
    for (let start = 0; start < indices.length; start += limit) calls.push(indices.slice(start, start + limit))
  }
  return calls.sort((a, b) => a[0]! - b[0]!)
}
