/**
 * Stream mode of the bulk command: InvokeModel calls from this machine, each distinct text once,
 * results written in input order.
 *
 * @since 0.1.0
 */
import { Embeddings } from "@bedrock-embed/core"
import { Effect, Result, Stream } from "effect"
import type { Options, Summary } from "../../EmbedFile.ts"
import { keep, openCache, type RunCache } from "./cache.ts"
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

/** An input sent to the engine, or one waiting for an identical text's vector (or for its turn, with its cached one). */
interface Entry {
  readonly id: unknown
  readonly line: number
  /** Set when the text is on several lines. */
  readonly hash?: string | undefined
  /** `--cache`: the text's key, for its vector to be kept. */
  readonly key?: string | undefined
  /** `--cache`: the vector found for it, written in its turn. */
  readonly vector?: Float32Array | undefined
}

/** `--cache`: hits held in memory, at most, until the lines before them are written. */
const MAX_DEFERRED = 1024

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
  readonly cache: RunCache | undefined
  readonly counts: {
    fed: number
    skipped: number
    embedded: number
    failed: number
    deduplicated: number
    cached: number
    tokens: number
    cost: number
  }
}

/** One input line: its text when it is to be sent; otherwise it is reported, skipped or deferred. */
export const admit = (
  options: Options,
  run: RunState,
  lineNumber: number,
  input: InputLine,
  key?: string
): string | undefined => {
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
    run.sent.set(counts.fed++, { id: input.id, line: lineNumber, key })
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
  run.sent.set(counts.fed++, { id: input.id, line: lineNumber, hash, key })
  return input.text
}

/** Whether a line would be sent to the engine: an input to embed whose text is not already sent for an earlier line. */
const wouldSend = (run: RunState, lineNumber: number, input: InputLine): input is InputLine & { text: string } =>
  !("reason" in input) &&
  run.plan.marks[lineNumber] === SEND &&
  (run.plan.repeated.size === 0 || !run.groups.has(digestKey(digestOf(input.text))))

/**
 * `--cache`: a line to send is looked up first; a hit is written in its turn (now, when every line
 * sent before it is written; else after the last of them) and not sent.
 */
const admitCached = (options: Options, run: RunState, cache: RunCache, line: LookedUp) => {
  const { lineNumber, input } = line
  if (!wouldSend(run, lineNumber, input)) return Effect.succeed(admit(options, run, lineNumber, input))
  const key = line.key ?? cache.keyOf(input.text)
  const found =
    line.key === undefined ? Effect.map(cache.cache.get([key]), ([vector]) => vector) : Effect.succeed(line.vector)
  return Effect.flatMap(found, (vector) =>
    vector === undefined
      ? Effect.succeed(admit(options, run, lineNumber, input, key))
      : admitHit(options, run, cache, lineNumber, input, { id: input.id, line: lineNumber, key, vector })
  )
}

/** An input line, with its key and cached vector when it was looked up. */
interface LookedUp {
  readonly lineNumber: number
  readonly input: InputLine
  readonly key?: string | undefined
  readonly vector?: Float32Array | undefined
}

/** Lines looked up in the cache at once, where a lookup each cost more than the line itself. */
const LOOKUP_BATCH = 256

/**
 * `--cache`: the lines of a batch that would be sent, as things stand, looked up in one read
 * (a line that no longer would be when its turn comes ignores it; one that now would is looked up
 * alone).
 */
const lookUp = (run: RunState, cache: RunCache, batch: ReadonlyArray<LookedUp>) => {
  const asked = batch.flatMap((line, i) => (wouldSend(run, line.lineNumber, line.input) ? [i] : []))
  const keys = asked.map((i) => cache.keyOf((batch[i]!.input as { readonly text: string }).text))
  return Effect.map(cache.cache.get(keys), (vectors) => {
    const out = batch.slice()
    asked.forEach((i, j) => {
      out[i] = { ...batch[i]!, key: keys[j], vector: vectors[j] }
    })
    return out
  })
}

/**
 * A hit: written now, or held until the lines before it are. With {@link MAX_DEFERRED} held, the
 * input waits for them to drain — unless the engine is still filling a call's group, which only
 * more inputs complete: then the text is sent, completing it (a few inputs re-embedded, no wait
 * that could never end).
 */
const admitHit = (
  options: Options,
  run: RunState,
  cache: RunCache,
  lineNumber: number,
  input: InputLine,
  entry: Entry
): Effect.Effect<string | undefined> => {
  const after = run.counts.fed - 1
  if (!run.sent.has(after)) {
    writeFollower(run, entry)
    return Effect.succeed(undefined)
  }
  if (cache.deferred >= MAX_DEFERRED) {
    if (run.counts.fed % cache.groupSize !== 0) return Effect.succeed(admit(options, run, lineNumber, input, entry.key))
    return Effect.callback<void>((resume) => {
      cache.wake = () => resume(Effect.void)
    }).pipe(Effect.andThen(Effect.suspend(() => admitHit(options, run, cache, lineNumber, input, entry))))
  }
  cache.deferred++
  const waiting = run.followers.get(after)
  if (waiting === undefined) run.followers.set(after, [entry])
  else waiting.push(entry)
  return Effect.succeed(undefined)
}

/** The input file's texts to send, in file order; the other lines are handled on the way. */
const inputStream = (options: Options, run: RunState) => {
  const lines = Stream.fromAsyncIterable(inputsOf(options), (cause) => readError(options, cause))
  const sendable = (text: string | undefined) => (text === undefined ? Result.fail(undefined) : Result.succeed(text))
  const cache = run.cache
  if (cache === undefined) {
    return Stream.filterMap(lines, ({ lineNumber, input }) => sendable(admit(options, run, lineNumber, input)))
  }
  return lines.pipe(
    Stream.grouped(LOOKUP_BATCH),
    Stream.mapEffect((batch) => lookUp(run, cache, batch)),
    Stream.flattenIterable,
    Stream.mapEffect((line) => admitCached(options, run, cache, line)),
    Stream.filterMap(sendable)
  )
}

/** A line whose text was sent for an earlier line: that line's vector (copied from the output) or error. */
const writeFollower = (run: RunState, entry: Entry) => {
  if (entry.vector !== undefined) {
    writeVector(run.files, entry.id, entry.vector)
    run.counts.embedded++
    run.counts.cached++
    return
  }
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

/** One item of the engine: its line, then the lines waiting for it; the line's cache key, if any. */
const writeResult = (run: RunState, item: Embeddings.StreamItem): string | undefined => {
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
  if (waiting === undefined) return entry.key
  run.followers.delete(item.index)
  for (const follower of waiting) writeFollower(run, follower)
  const cache = run.cache
  if (cache === undefined) return entry.key
  cache.deferred -= waiting.filter((follower) => follower.vector !== undefined).length
  if (cache.wake !== undefined && cache.deferred <= MAX_DEFERRED / 2) {
    const wake = cache.wake
    cache.wake = undefined
    wake()
  }
  return entry.key
}

/** `--cache`: the vector of a line sent, kept for the next run (and the gateway). */
const keepResult = (run: RunState, item: Embeddings.StreamItem, key: string | undefined) =>
  run.cache === undefined || key === undefined || "error" in item ? Effect.void : keep(run.cache, key, item.embedding)

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
    // The cache first: a directory it cannot use refuses the run before the output is touched.
    const cache = yield* openCache(options)
    const files = yield* outputFiles(options)
    const counts = { fed: 0, skipped: 0, embedded: 0, failed: 0, deduplicated: 0, cached: 0, tokens: 0, cost: 0 }
    const run: RunState = { plan, files, sent: new Map(), followers: new Map(), groups: new Map(), cache, counts }
    const before = engine.stats()
    yield* engine.embedStream({ ...options.request, model: modelOf(options) }, inputStream(options, run)).pipe(
      Stream.runForEach((item) =>
        Effect.try({ try: () => writeResult(run, item), catch: outputError(options.output) }).pipe(
          Effect.tap((key) => keepResult(run, item, key)),
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
      ...(cache === undefined ? {} : { cached: counts.cached }),
      tokens: counts.tokens,
      cost: counts.cost,
      seconds: (performance.now() - started) / 1000,
      calls: stats.calls - before.calls,
      throttles: stats.throttles - before.throttles
    } satisfies Summary
  }).pipe(Effect.scoped)
