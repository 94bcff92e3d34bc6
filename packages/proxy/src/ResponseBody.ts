/**
 * The embeddings response body, written as bytes. Every vector number follows one rule, the same
 * as `bedrock-embed embed`'s JSONL: the shortest decimal that reads back, as a double, exactly as
 * the float32 the model returned (JavaScript's own spelling of that float32, e.g.
 * `-0.008372001349925995`). Bedrock's own text is not passed through: its services spell numbers
 * in two styles (Titan text: Java doubles, `-4.111167218070477E-4`; Cohere and Nova: Java floats,
 * `0.0054293056`, which read back as a double that is not the model's float32), so a client would
 * read other numbers from the same vector depending on the model and on the path it took.
 *
 * @since 0.1.0
 */
const encoder = new TextEncoder()

/**
 * A vector as a JSON array under the one number rule, as the gateway and `embed`'s JSONL write it:
 * a Float32Array's values widen to doubles exactly, and JSON.stringify writes their shortest text.
 *
 * @category encoding
 * @since 0.1.0
 */
export const vectorJson = (vector: Float32Array): string => JSON.stringify(Array.from(vector))

/** Appends the JSON of a value to `parts`. */
const write = (value: unknown, parts: Array<Uint8Array | string>): void => {
  if (value instanceof Float32Array) {
    parts.push(vectorJson(value))
  } else if (Array.isArray(value)) {
    parts.push("[")
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(",")
      write(value[i] ?? null, parts)
    }
    parts.push("]")
  } else if (typeof value === "object" && value !== null) {
    parts.push("{")
    let first = true
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue
      parts.push(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`)
      first = false
      write(item, parts)
    }
    parts.push("}")
  } else {
    parts.push(JSON.stringify(value) ?? "null")
  }
}

/**
 * A value as JSON bytes, with every `Float32Array` written as the shortest text of its float32 values.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (value: unknown): Uint8Array => {
  const parts: Array<Uint8Array | string> = []
  write(value, parts)
  // Adjacent strings are joined first, so the byte copy below handles few pieces.
  const chunks: Array<Uint8Array> = []
  let pending = ""
  for (const part of parts) {
    if (typeof part === "string") {
      pending += part
      continue
    }
    if (pending.length > 0) chunks.push(encoder.encode(pending))
    pending = ""
    chunks.push(part)
  }
  if (pending.length > 0) chunks.push(encoder.encode(pending))
  return Buffer.concat(chunks)
}
