/**
 * The bulk command's first pass over the input, before any call: each line's fate (to send,
 * already in the output, or its id repeated), in a byte a line, and the texts on several lines.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Options } from "../../EmbedFile.ts"
import { DigestTable, digestKey, digestOf } from "./digestTable.ts"
import { InputFileError } from "./errors.ts"
import { duplicateError, inputsOf, readError } from "./inputs.ts"
import { resume } from "./output.ts"

/** What the first pass decided for a line, by line number (0: not an input, or not seen). */
export const SEND = 1
/** The id is in the output already. */
export const DONE = 2
/** The id is on an earlier line. */
export const REPEATED_ID = 3

/**
 * What the first pass over the input learns, in memory of a few bytes a line: each line's fate
 * and the repeated texts (ids are held only during the pass, as digests).
 */
export interface InputPlan {
  /** Non-blank lines. */
  readonly total: number
  /** Lines to send: {@link SEND}. */
  readonly pending: number
  /** Lines that are not inputs, and the first one's reason. */
  readonly bad: { readonly count: number; readonly first?: string | undefined }
  /** Each line's fate, by line number: {@link SEND}, {@link DONE}, {@link REPEATED_ID}. */
  readonly marks: Uint8Array
  /** For each line whose id is on an earlier line, that line (ids are unique in a clean input: few). */
  readonly firstLines: ReadonlyMap<number, number>
  /** Texts (by {@link digestKey}) on more than one line still to embed, and on how many (when counted). */
  readonly repeated: ReadonlyMap<string, number>
}

/** Values of the id table: the id's first line, plus this when the id is in the output already. */
const IN_OUTPUT = 2 ** 31

/** A growable byte per line. */
const setMark = (marks: { bytes: Uint8Array }, line: number, mark: number) => {
  if (line >= marks.bytes.length) {
    const bigger = new Uint8Array(Math.max(marks.bytes.length * 2, line + 1))
    bigger.set(marks.bytes)
    marks.bytes = bigger
  }
  marks.bytes[line] = mark
}

/**
 * The first pass: every id's first line (and, with `countTexts`, the repeated texts), before any call, so that a
 * duplicate id refuses the run up front and each distinct text is sent once. `ids` holds the ids
 * in the output (value 0), as {@link resume} found them.
 */
const planInputs = (options: Options, ids: DigestTable, countTexts: boolean) =>
  Effect.tryPromise({
    try: async (): Promise<InputPlan> => {
      const texts = new DigestTable()
      const marks = { bytes: new Uint8Array(1 << 16) }
      const firstLines = new Map<number, number>()
      const found: Array<readonly [unknown, number, number]> = []
      const bad: { count: number; first?: string } = { count: 0 }
      let total = 0
      let pending = 0
      for await (const { lineNumber, input } of inputsOf(options)) {
        total++
        if ("reason" in input) {
          if (bad.count++ === 0) bad.first = input.reason
          continue
        }
        if (lineNumber >= IN_OUTPUT) throw new InputFileError({ message: `${options.input}: more than 2³¹ lines` })
        const digest = digestOf(input.key)
        const seen = ids.getDigest(digest)
        if (seen !== undefined && seen !== 0 && seen !== IN_OUTPUT) {
          const first = seen % IN_OUTPUT
          if (firstLines.size === 0) found.push([input.id, first, lineNumber])
          firstLines.set(lineNumber, first)
          setMark(marks, lineNumber, REPEATED_ID)
          continue
        }
        ids.setDigest(digest, lineNumber + (seen === undefined ? 0 : IN_OUTPUT))
        setMark(marks, lineNumber, seen === undefined ? SEND : DONE)
        if (seen !== undefined) continue
        pending++
        if (!countTexts) continue
        const text = digestOf(input.text)
        texts.setDigest(text, (texts.getDigest(text) ?? 0) + 1)
      }
      if (firstLines.size > 0 && options.onDuplicate !== "first") {
        throw duplicateError(options, found, firstLines.size)
      }
      const repeated = new Map<string, number>()
      texts.forEach((digest, count) => {
        if (count > 1) repeated.set(digestKey(digest), count)
      })
      return { total, pending, bad, marks: marks.bytes, firstLines, repeated }
    },
    catch: (cause) => readError(options, cause)
  })

/**
 * Resume and the first pass, with the ids of both held in one table that is let go when the
 * plan is made, before the calls start.
 */
export const planRun = (options: Options, countTexts: boolean) =>
  Effect.suspend(() => {
    const ids = new DigestTable()
    return Effect.andThen(resume(options, ids), planInputs(options, ids, countTexts))
  })

/** Why a line with an id is not sent: its id is on an earlier line, or the file changed between the passes. */
export const notSentReason = (options: Options, plan: InputPlan, lineNumber: number, id: unknown) => {
  const first = plan.firstLines.get(lineNumber)
  return first === undefined
    ? `${options.input}:${lineNumber}: not in the file when the run first read it (the input changed during the run): run again to embed it`
    : `${options.input}:${lineNumber}: the id ${JSON.stringify(id)} is also on line ${first}, which is embedded instead`
}
