/**
 * Vector integrity: every vector Bedrock sends back is checked before anyone sees it — not empty,
 * as long as the dimension asked for (or the model's fixed or default one), every value a finite
 * number that stays finite as float32 (1e39 is a valid double but Infinity in float32). A vector
 * that fails would otherwise be stored as done, forever.
 *
 * @internal
 */
import type * as ModelSpec from "../ModelSpec.ts"

/** What is wrong with one vector, or `undefined`. `expected` is its length; `undefined` skips that check. */
export const vectorFault = (vector: ReadonlyArray<number>, expected: number | undefined): string | undefined => {
  const length = vector.length
  if (length === 0) return "the vector is empty"
  if (expected !== undefined && length !== expected) return `the vector has ${length} values; expected ${expected}`
  for (let i = 0; i < length; i++) {
    const value = vector[i]!
    // fround maps every double beyond float32's range (and NaN) to a non-finite value.
    if (!Number.isFinite(Math.fround(value))) return `value ${value} at position ${i} is not a finite float32 number`
  }
  return undefined
}

/** The output dimension of a call: the one asked for, else the model's default. */
const dimensionOf = (spec: ModelSpec.Any, options: ModelSpec.CallOptions<unknown>): number =>
  options.dimensions ?? spec.capabilities.defaultDimension

const lengthOf = (spec: ModelSpec.Any, type: string | undefined, dimension: number): number =>
  spec.expectedLength?.(type === "float" ? undefined : type, dimension) ?? dimension

/**
 * Checks every vector of a decoded call. Returns the first fault as `input[i]: …`, naming the
 * embedding type or modality when it is not the plain vector.
 */
export const checkDecoded = (
  spec: ModelSpec.Any,
  decoded: ModelSpec.DecodedBatch,
  indices: ReadonlyArray<number>,
  options: ModelSpec.CallOptions<unknown>
): string | undefined => {
  const dimension = dimensionOf(spec, options)
  const primary = lengthOf(spec, decoded.primaryType, dimension)
  for (let j = 0; j < decoded.vectors.length; j++) {
    const fault = vectorFault(decoded.vectors[j]!, primary)
    if (fault !== undefined) return `input[${indices[j]}]: ${fault}`
  }
  const named: ReadonlyArray<
    readonly [string, ReadonlyArray<Readonly<Record<string, ReadonlyArray<number>>>> | undefined]
  > = [
    ["embedding type", decoded.byType],
    ["modality", decoded.byModality]
  ]
  for (const [label, entries] of named) {
    if (entries === undefined) continue
    for (let j = 0; j < entries.length; j++) {
      for (const [name, vector] of Object.entries(entries[j]!)) {
        const fault = vectorFault(vector, label === "modality" ? dimension : lengthOf(spec, name, dimension))
        if (fault !== undefined) return `input[${indices[j]}] (${label} ${name}): ${fault}`
      }
    }
  }
  return undefined
}
