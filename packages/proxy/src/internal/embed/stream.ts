/**
 * Stream mode of the bulk command: InvokeModel calls from this machine, each distinct text once,
 * results written in input order.
 *
 * @since 0.1.0
 */
import { Embeddings } from "@bedrock-embed/core"
import { Effect, Result, Stream } from "effect"
import type { Options, Summary } from "../../EmbedFile.ts"
import { digestKey, digestOf } from "./digestTable.ts"
import { type InputLine, inputsOf, modelOf, readError } from "./inputs.ts"
import {
  copyVector,
  type OutputFiles,
  outputError,
  outputFiles,
  type Written,
  writeError,
  writeVector
} from "./output.ts"
import { DONE, type InputPlan, notSentReason, planRun, SEND } from "./plan.ts"
import { scopedBar } from "./progress.ts"

/** An input sent to the engine, or one waiting for an identical text's vector. */
interface Entry {
  readonly id: unknown
  readonly line: number
  /** Set when the text is on several lines. */
  readonly hash?: string | undefined
}

/** A repeated text: how many of its lines still wait, and its first line's outcome once known. */
interface Group {
  remaining: number
  outcome?: Written | { readonly error: string; readonly message: string } | undefined
}

/** What the second pass keeps: the entries in flight (by engine index) and the repeated texts. */
interface RunState {
  readonly plan: InputPlan
  readonly files: OutputFiles
  readonly sent: Map<number, Entry>
  /** Lines to write right after the engine's item of this index, in input order. */
  readonly followers: Map<number, Array<Entry>>
  readonly groups: Map<string, Group>
  readonly counts: {
    fed: number
    skipped: number
    embedded: number
    failed: number
    deduplicated: number
    tokens: number
    cost: number
  }
}

/** One input line: its text when it is to be sent; otherwise it is reported, skipped or deferred. */
export const admit = (options: Options, run: RunState, lineNumber: number, input: InputLine): string | undefined => {
  const { counts } = run
  if ("reason" in input) {
    counts.failed++
    writeError(run.files, { id: input.id, line: lineNumber }, "InputFileError", input.reason)
    return undefined
  }
  const mark = run.plan.marks[lineNumber]
  if (mark === DONE) {
    counts.skipped++
    return undefined
  }
  if (mark !== SEND) {
    counts.failed++
    const message = notSentReason(options, run.plan, lineNumber, input.id)
    writeError(run.files, { id: input.id, line: lineNumber }, "DuplicateIdError", message)
    return undefined
  }
  const hash = run.plan.repeated.size === 0 ? undefined : digestKey(digestOf(input.text))
  if (hash === undefined || !run.plan.repeated.has(hash)) {
    run.sent.set(counts.fed++, { id: input.id, line: lineNumber })
    return input.text
  }
  const group = run.groups.get(hash)
  if (group !== undefined) {
    // Sent already, earlier in the input: written after the item sent last, in input order, or
    // now when that item is written already (items are written in order: so are all before it).
    counts.deduplicated++
    const after = counts.fed - 1
    const entry = { id: input.id, line: lineNumber, hash }
    const waiting = run.followers.get(after)
    if (!run.sent.has(after)) writeFollower(run, entry)
    else if (waiting === undefined) run.followers.set(after, [entry])
    else waiting.push(entry)
    return undefined
  }
  run.groups.set(hash, { remaining: run.plan.repeated.get(hash)! - 1 })
  run.sent.set(counts.fed++, { id: input.id, line: lineNumber, hash })
  return input.text
}

/** The input file's texts to send, in file order; the other lines are handled on the way. */
const inputStream = (options: Options, run: RunState) =>
  Stream.fromAsyncIterable(inputsOf(options), (cause) => readError(options, cause)).pipe(
    Stream.filterMap(({ lineNumber, input }) => {
      const text = admit(options, run, lineNumber, input)
      return text === undefined ? Result.fail(undefined) : Result.succeed(text)
    })
  )

/** A line whose text was sent for an earlier line: that line's vector (copied from the output) or error. */
const writeFollower = (run: RunState, entry: Entry) => {
  const group = run.groups.get(entry.hash!)!
  if (--group.remaining === 0) run.groups.delete(entry.hash!)
  const outcome = group.outcome!
  if ("error" in outcome) {
    run.counts.failed++
    writeError(run.files, entry, outcome.error, outcome.message)
    return
  }
  copyVector(run.files, outcome, entry.id)
  run.counts.embedded++
}

/** One item of the engine: its line, then the lines waiting for it. */
const writeResult = (run: RunState, item: Embeddings.StreamItem) => {
  const entry = run.sent.get(item.index)!
  run.sent.delete(item.index)
  const { counts } = run
  let outcome: Group["outcome"]
  if ("error" in item) {
    counts.failed++
    writeError(run.files, entry, item.error._tag, item.error.message)
    outcome = { error: item.error._tag, message: item.error.message }
  } else {
    counts.embedded++
    counts.tokens += item.tokens ?? 0
    counts.cost += item.cost ?? 0
    outcome = writeVector(run.files, entry.id, item.embedding)
  }
  if (entry.hash !== undefined) run.groups.get(entry.hash)!.outcome = outcome
  const waiting = run.followers.get(item.index)
  if (waiting === undefined) return
  run.followers.delete(item.index)
  for (const follower of waiting) writeFollower(run, follower)
}

/** Stream mode: InvokeModel calls from this machine, results written in input order as they come. */
export const streamProgram = (options: Options) =>
  Effect.gen(function* () {
    const started = performance.now()
    const plan = yield* planRun(options, true)
    const showBar = options.progress ?? process.stderr.isTTY === true
    const bar = yield* scopedBar(
      " {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | throttles {throttles} | failed {failed}",
      showBar
    )
    if (showBar) bar.start(plan.total, 0, { rate: "0", throttles: 0, failed: 0 })
    const engine = yield* Embeddings.Embeddings
    const files = yield* outputFiles(options)
    const counts = { fed: 0, skipped: 0, embedded: 0, failed: 0, deduplicated: 0, tokens: 0, cost: 0 }
    const run: RunState = { plan, files, sent: new Map(), followers: new Map(), groups: new Map(), counts }
    const before = engine.stats()
    yield* engine.embedStream({ ...options.request, model: modelOf(options) }, inputStream(options, run)).pipe(
      Stream.runForEach((item) =>
        Effect.try({ try: () => writeResult(run, item), catch: outputError(options.output) }).pipe(
          Effect.andThen(
            Effect.sync(() => {
              if (showBar) {
                const seconds = (performance.now() - started) / 1000
                const processed = counts.embedded + counts.failed
                bar.update(counts.skipped + processed, {
                  rate: (processed / Math.max(seconds, 0.001)).toFixed(0),
                  throttles: engine.stats().throttles - before.throttles,
                  failed: counts.failed
                })
              }
            })
          )
        )
      )
    )
    const stats = engine.stats()
    return {
      total: plan.total,
      skipped: counts.skipped,
      embedded: counts.embedded,
      failed: counts.failed,
      deduplicated: counts.deduplicated,
      tokens: counts.tokens,
      cost: counts.cost,
      seconds: (performance.now() - started) / 1000,
      calls: stats.calls - before.calls,
      throttles: stats.throttles - before.throttles
    } satisfies Summary
  }).pipe(Effect.scoped)
