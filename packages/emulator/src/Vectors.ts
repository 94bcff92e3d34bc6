/**
 * Deterministic embeddings by feature hashing: lower-cased words and character trigrams are
 * hashed into the vector with a hashed sign, so equal inputs give equal vectors and texts that
 * share words and trigrams point the same way.
 */
import { Floats, type NumberStyle } from "./Json.ts"

/** FNV-1a, 32 bits: fast, stable, good enough spread for feature hashing. */
const fnv1a = (text: string, seed: number): number => {
  let hash = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Slots each feature touches: enough that short texts give dense vectors, as real models do. */
const SPREAD = 8

const addFeature = (vector: Float64Array, feature: string, weight: number): void => {
  let hash = fnv1a(feature, 0)
  for (let k = 0; k < SPREAD; k++) {
    // An independent bit decides each sign, so collisions cancel out on average.
    vector[hash % vector.length]! += hash & 0x80000000 ? -weight : weight
    // xorshift32 derives the next slot from the last, cheaper than rehashing the feature.
    hash ^= hash << 13
    hash ^= hash >>> 17
    hash ^= hash << 5
    hash >>>= 0
  }
}

const normalise = (vector: Float64Array): Float64Array => {
  let norm = 0
  for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!
  norm = Math.sqrt(norm)
  if (norm === 0) {
    vector[0] = 1
    return vector
  }
  for (let i = 0; i < vector.length; i++) vector[i]! /= norm
  return vector
}

/**
 * Adds low-level deterministic noise (a fifth of the vector's length, spread over every
 * dimension) so vectors are dense like real ones: hashed features alone leave most dimensions
 * at zero, and real vectors hold values of every magnitude, small ones printed with exponents.
 */
const densify = (vector: Float64Array, seed: number): Float64Array => {
  let norm = 0
  for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!
  if (norm === 0) return vector
  // Uniform on (-a, a) has deviation a/√3: pick a for a deviation of 0.2·|v|/√d per dimension.
  const amplitude = (0.2 * Math.sqrt(3) * Math.sqrt(norm)) / Math.sqrt(vector.length)
  let state = seed >>> 0 || 1
  for (let i = 0; i < vector.length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    vector[i]! += amplitude * (state / 2147483648 - 1)
  }
  return vector
}

/** The unit-length embedding of a text. */
export const embedText = (text: string, dimension: number): Float64Array => {
  const vector = new Float64Array(dimension)
  const lower = text.toLowerCase()
  for (const word of lower.split(/[^\p{L}\p{N}]+/u)) {
    if (word.length > 0) addFeature(vector, `w:${word}`, 1)
  }
  const padded = ` ${lower} `
  for (let i = 0; i + 3 <= padded.length; i++) addFeature(vector, `t:${padded.slice(i, i + 3)}`, 0.5)
  return normalise(densify(vector, fnv1a(lower, 7)))
}

/** The unit-length embedding of binary media: its bytes hashed in 64-byte shingles. */
export const embedBytes = (bytes: Uint8Array, dimension: number): Float64Array => {
  const vector = new Float64Array(dimension)
  const step = Math.max(1, Math.floor(bytes.length / 4096))
  for (let i = 0; i < bytes.length; i += 64 * step) {
    let hash = 0x811c9dc5
    const end = Math.min(bytes.length, i + 64)
    for (let j = i; j < end; j++) {
      hash ^= bytes[j]!
      hash = Math.imul(hash, 0x01000193)
    }
    hash >>>= 0
    vector[hash % dimension]! += hash & 0x80000000 ? -1 : 1
  }
  vector[fnv1a(`len:${bytes.length}`, 0) % dimension]! += 1
  let seed = bytes.length
  for (let i = 0; i < bytes.length; i += step) seed = Math.imul(seed ^ bytes[i]!, 0x01000193)
  return normalise(densify(vector, seed))
}

/** The normalised mean of unit vectors (text and image embedded together). */
export const average = (a: Float64Array, b: Float64Array): Float64Array => {
  const out = new Float64Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = (a[i]! + b[i]!) / 2
  return normalise(out)
}

const bits = new Uint32Array(1)
const single = new Float32Array(bits.buffer)

/**
 * A vector as the model returns it: float32 values (what the models compute), printed in the
 * model's style when the body is written. `bfloat16` keeps 8 significant bits, as Titan v1's
 * recorded values have (`0.1787109375`).
 */
export const floats = (
  vector: ArrayLike<number>,
  style: NumberStyle,
  scale = 1,
  precision: "float32" | "bfloat16" = "float32"
): Floats => {
  const out = new Float32Array(vector.length)
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! * scale
  if (precision === "bfloat16") {
    for (let i = 0; i < out.length; i++) {
      single[0] = out[i]!
      // Round to nearest, ties to even, on the upper 16 bits.
      bits[0] = (bits[0]! + 0x7fff + ((bits[0]! >>> 16) & 1)) & 0xffff0000
      out[i] = single[0]!
    }
  }
  return new Floats(out, style)
}

/**
 * A deterministic approximation of a subword tokenizer: words of up to four characters are one
 * token, longer words one token per four characters, every other symbol one token.
 */
export const countTokens = (text: string): number => {
  let tokens = 0
  for (const match of text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)) {
    const piece = match[0]
    tokens += /[\p{L}\p{N}]/u.test(piece[0]!) ? Math.ceil(piece.length / 4) : 1
  }
  return tokens
}

/**
 * The longest start (`keep: "start"`) or end (`keep: "end"`) of a text that holds at most `max`
 * tokens as {@link countTokens} counts them.
 */
export const truncateTokens = (text: string, max: number, keep: "start" | "end"): string => {
  const pieces = [...text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)]
  const cost = (piece: string) => (/[\p{L}\p{N}]/u.test(piece[0]!) ? Math.ceil(piece.length / 4) : 1)
  let tokens = 0
  if (keep === "start") {
    for (const piece of pieces) {
      tokens += cost(piece[0])
      if (tokens > max) return text.slice(0, piece.index).trimEnd()
    }
    return text
  }
  for (let i = pieces.length - 1; i >= 0; i--) {
    tokens += cost(pieces[i]![0])
    if (tokens > max) return text.slice(pieces[i]!.index + pieces[i]![0].length).replace(/^\s+/, "")
  }
  return text
}
