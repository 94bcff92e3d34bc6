/**
 * Response bodies as text: compact JSON (as Bedrock sends it) whose embedding vectors are spelled
 * the way each model's service prints them (see NumberText.ts).
 */
import { javaDouble, javaFloat } from "./NumberText.ts"

/** How a model's service prints vector values: Java `Double.toString` or `Float.toString` of float32s. */
export type NumberStyle = "double" | "float"

/** A float32 vector and the spelling its model prints it with. */
export class Floats {
  readonly values: Float32Array
  readonly style: NumberStyle

  constructor(values: Float32Array, style: NumberStyle) {
    this.values = values
    this.style = style
  }

  get length(): number {
    return this.values.length
  }

  /** The text of the vector as a JSON array. */
  text(): string {
    const format = this.style === "double" ? javaDouble : javaFloat
    const values = this.values
    let out = "["
    for (let i = 0; i < values.length; i++) {
      if (i > 0) out += ","
      out += format(values[i]!)
    }
    return `${out}]`
  }

  /** What JSON.parse of {@link text} gives, for callers that use `JSON.stringify`. */
  toJSON(): Array<number> {
    return JSON.parse(this.text()) as Array<number>
  }
}

/** `JSON.stringify` (compact, `undefined` members dropped) that writes {@link Floats} in their style. */
export const stringify = (value: unknown): string => {
  if (value instanceof Floats) return value.text()
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ","
      out += value[i] === undefined ? "null" : stringify(value[i])
    }
    return `${out}]`
  }
  let out = "{"
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key]
    if (member === undefined || typeof member === "function") continue
    if (out.length > 1) out += ","
    out += `${JSON.stringify(key)}:${stringify(member)}`
  }
  return `${out}}`
}
