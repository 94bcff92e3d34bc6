/**
 * Modules loaded on first use: the SDKs only some operations need stay out of memory (and out of
 * start-up) until one of those operations runs.
 *
 * @internal
 */
import { Effect } from "effect"

/** The effect of loading a module (or anything built from it) once, on first use. */
export const lazyImport = <A>(load: () => Promise<A>): Effect.Effect<A> => {
  let loading: Promise<A> | undefined
  return Effect.promise(() => {
    loading ??= load()
    return loading
  })
}
