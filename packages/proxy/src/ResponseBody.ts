/**
 * The embeddings response body, written as bytes: each vector goes out as the JSON text Bedrock
 * wrote for it (kept by `Float32Json.jsonText`, its numbers already checked), so no number is
 * parsed into a double and formatted again — the part of a gateway request that costs the most.
 * A vector without that text (base64 strings, vectors a codec built) is written by
 * `JSON.stringify`, as numbers.
 *
 * @since 0.1.0
 */
import { Float32Json } from "@bedrock-embed/core"

const encoder = new TextEncoder()

/** Appends the JSON of a value to `parts`: vectors as their own text where they have it. */
const write = (value: unknown, parts: Array<Uint8Array | string>): void => {
  const text = Float32Json.jsonText(value)
  if (text !== undefined) {
    parts.push(text)
  } else if (value instanceof Float32Array) {
    parts.push(JSON.stringify(Array.from(value)))
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
 * A value as JSON bytes, with every vector parsed by `Float32Json` written as Bedrock's text.
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
