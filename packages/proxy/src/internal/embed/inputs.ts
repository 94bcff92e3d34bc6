/**
 * The bulk command's input file: its lines read as inputs (id, text, or why not), id identities
 * and text hashes.
 *
 * @since 0.1.0
 */
import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import type { Options } from "../../EmbedFile.ts"
import { DuplicateIdError, InputFileError } from "./errors.ts"

/**
 * An id's identity: its JSON value with object keys sorted, so `1` and `"1"` differ and objects
 * compare by value, whatever their key order.
 */
export const idKey = (id: unknown): string => JSON.stringify(canonical(id))

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (value === null || typeof value !== "object") return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, canonical(record[key])])
  )
}

/** The lines of a file, streamed. */
export const fileLines = (file: string) =>
  createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })

/** One input line: its id (as given, and as {@link idKey}) and text, or why it is not an input. */
export type InputLine =
  | { readonly id: unknown; readonly key: string; readonly text: string }
  | { readonly id?: unknown; readonly reason: string }

export const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

/** Reads one non-blank line (`lineNumber` from 1, blank lines counted); never throws. */
const readInput = (options: Options, line: string, lineNumber: number): InputLine => {
  const where = `${options.input}:${lineNumber}`
  let record: unknown
  try {
    record = JSON.parse(line)
  } catch {
    return { reason: `${where}: not JSON; each line is an object such as {"id": "doc-1", "text": "…"}` }
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return { reason: `${where}: ${kindOf(record)}, not an object such as {"id": "doc-1", "text": "…"}` }
  }
  const fields = record as Record<string, unknown>
  const idField = options.idField ?? "id"
  const id = options.positional === true ? lineNumber : fields[idField]
  if (id === undefined || id === null) {
    return { reason: `${where}: no "${idField}" field; give every line an id, or pass --positional for line numbers` }
  }
  const field = options.field ?? "text"
  const text = fields[field]
  if (typeof text !== "string") {
    const what = text === undefined ? "missing" : `${kindOf(text)}, not a string`
    return { id, reason: `${where}: the text field "${field}" is ${what} (--field names another field)` }
  }
  return { id, key: idKey(id), text }
}

/** The input file's non-blank lines, each read as an input, with its 1-based line number. */
export async function* inputsOf(options: Options) {
  let lineNumber = 0
  for await (const line of fileLines(options.input)) {
    lineNumber++
    if (line.trim().length > 0) yield { lineNumber, input: readInput(options, line, lineNumber) }
  }
}

export const readError = (options: Options, cause: unknown) =>
  cause instanceof InputFileError || cause instanceof DuplicateIdError
    ? cause
    : new InputFileError({
        message: `cannot read ${options.input}: ${cause instanceof Error ? cause.message : String(cause)}`
      })

export const duplicateError = (
  options: Options,
  found: ReadonlyArray<readonly [unknown, number, number]>,
  count: number
) => {
  const [id, first, again] = found[0]!
  const more = count > 1 ? ` (and ${count - 1} more repeated ids)` : ""
  return new DuplicateIdError({
    message:
      `${options.input}: the id ${JSON.stringify(id)} is on lines ${first} and ${again}${more}; ids name inputs and ` +
      "must be unique: fix the input, or pass --on-duplicate first to embed each id's first line and report the others"
  })
}

export const modelOf = (options: Options) =>
  options.model.startsWith("bedrock/") ? options.model : `bedrock/${options.model}`
