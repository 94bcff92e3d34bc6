/**
 * The bulk command's `--cache DIR`: the gateway's disk cache (`cache_params.type: disk`,
 * `disk_cache_dir: DIR`), with the gateway's keys, so a corpus embedded by either is found by the
 * other for the same model and parameters. Vectors are written a batch at a time (and at the
 * end of the run, whatever its end): an entry lost to a crash is only a miss next time.
 *
 * @since 0.1.0
 */
import { EmbeddingRequest } from "@bedrock-embed/core"
import { BedrockEmbed } from "bedrock-embed"
import { Effect } from "effect"
import type { Options } from "../../EmbedFile.ts"
import * as Cache from "../cache.ts"
import { modelOf } from "./inputs.ts"

/** Vectors kept before they are written to the store in one transaction. */
const WRITE_BATCH = 256

/** The run's cache: its keys, the vectors not yet written, and the hits waiting for earlier lines. */
export interface RunCache {
  readonly cache: Cache.Cache
  /** The key of a text, as the gateway computes it for the same model and parameters. */
  readonly keyOf: (text: string) => string
  /** The engine's inputs per call: a group the engine is still filling is never waited on. */
  readonly groupSize: number
  readonly pending: Array<readonly [string, Float32Array]>
  /** Hits held in memory until the lines before them are written. */
  deferred: number
  /** Resumes the input when the held hits drain. */
  wake: (() => void) | undefined
}

/**
 * The cache of a run with `options.cache`, open for the run (its pending vectors written and the
 * file closed with the scope); `undefined` without one.
 */
export const openCache = (options: Options) =>
  Effect.gen(function* () {
    if (options.cache === undefined) return undefined
    const model = modelOf(options)
    const decoded = yield* EmbeddingRequest.decode({ ...options.request, model, input: "" })
    const modelId = Cache.modelIdOf(model)
    const params = Cache.vectorParams(decoded)
    const cache = Cache.over("disk", undefined, yield* Cache.diskStore(options.cache))
    const run: RunCache = {
      cache,
      keyOf: (text) => Cache.keyOf(undefined, modelId, params, text),
      groupSize: BedrockEmbed.findSpec(model)?.capabilities.maxInputsPerCall ?? 1,
      pending: [],
      deferred: 0,
      wake: undefined
    }
    yield* Effect.addFinalizer(() => flush(run))
    return run
  })

/** Writes the pending vectors. */
export const flush = (run: RunCache) =>
  Effect.suspend(() => (run.pending.length === 0 ? Effect.void : run.cache.set(run.pending.splice(0))))

/** Keeps a vector, writing the batch when it is full. */
export const keep = (run: RunCache, key: string, vector: Float32Array) =>
  Effect.suspend(() => {
    run.pending.push([key, vector])
    return run.pending.length >= WRITE_BATCH ? flush(run) : Effect.void
  })
