/** Body validation with Bedrock's wording (`#/field: expected type: String, found: Integer`). */
import { type BedrockFault, malformed } from "./Errors.ts"

/** Checks one value; returns the detail of what is wrong, or `undefined`. */
export type Check = (value: unknown, path: string) => string | undefined

/** The JSON type name Bedrock's validator prints. */
export const jsonType = (value: unknown): string => {
  if (value === null) return "Null"
  if (Array.isArray(value)) return "JSONArray"
  switch (typeof value) {
    case "string":
      return "String"
    case "boolean":
      return "Boolean"
    case "number":
      return Number.isInteger(value) ? "Integer" : "BigDecimal"
    default:
      return "JSONObject"
  }
}

export const string =
  (minLength = 0): Check =>
  (value, path) => {
    if (typeof value !== "string") return `${path}: expected type: String, found: ${jsonType(value)}`
    if (value.length < minLength) return `${path}: expected minLength: ${minLength}, actual: ${value.length}`
    return undefined
  }

export const boolean: Check = (value, path) =>
  typeof value === "boolean" ? undefined : `${path}: expected type: Boolean, found: ${jsonType(value)}`

export const oneOf =
  (values: ReadonlyArray<string | number>): Check =>
  (value, path) => {
    if (typeof values[0] === "number" && typeof value !== "number") {
      return `${path}: expected type: Integer, found: ${jsonType(value)}`
    }
    if (typeof values[0] === "string" && typeof value !== "string") {
      return `${path}: expected type: String, found: ${jsonType(value)}`
    }
    return values.includes(value as string | number) ? undefined : `${path}: ${String(value)} is not a valid enum value`
  }

export const arrayOf =
  (item: Check, options: { minItems?: number; maxItems?: number; unique?: boolean } = {}): Check =>
  (value, path) => {
    if (!Array.isArray(value)) return `${path}: expected type: JSONArray, found: ${jsonType(value)}`
    if (options.minItems !== undefined && value.length < options.minItems) {
      return `${path}: expected minimum item count: ${options.minItems}, found: ${value.length}`
    }
    if (options.maxItems !== undefined && value.length > options.maxItems) {
      return `${path}: expected maximum item count: ${options.maxItems}, found: ${value.length}`
    }
    if (options.unique && new Set(value).size !== value.length) return `${path}: array items are not unique`
    for (let i = 0; i < value.length; i++) {
      const problem = item(value[i], `${path}/${i}`)
      if (problem !== undefined) return problem
    }
    return undefined
  }

export const object =
  (fields: Readonly<Record<string, { readonly check: Check; readonly required?: boolean }>>): Check =>
  (value, path) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return `${path}: expected type: JSONObject, found: ${jsonType(value)}`
    }
    const record = value as Record<string, unknown>
    for (const [key, field] of Object.entries(fields)) {
      if (field.required && !(key in record)) return `${path}: required key [${key}] not found`
    }
    for (const key of Object.keys(record)) {
      const field = fields[key]
      if (field === undefined) return `${path}: extraneous key [${key}] is not permitted`
      const problem = field.check(record[key], `${path}/${key}`)
      if (problem !== undefined) return problem
    }
    return undefined
  }

/** Validates a whole body; a problem becomes a ValidationException. */
export const body = (check: Check, value: unknown): BedrockFault | undefined => {
  const problem = check(value, "#")
  return problem === undefined ? undefined : malformed(problem)
}
