/**
 * The bulk command's progress bar.
 *
 * @since 0.1.0
 */
import { Presets, SingleBar } from "cli-progress"
import { Effect } from "effect"

/** A progress bar on stderr. */
const progressBar = (format: string) =>
  new SingleBar({ format, stream: process.stderr, hideCursor: true, noTTYOutput: false }, Presets.shades_classic)

/** A progress bar on stderr, stopped with the scope. */
export const scopedBar = (format: string, show: boolean) =>
  Effect.acquireRelease(
    Effect.sync(() => progressBar(format)),
    (bar) => Effect.sync(() => show && bar.stop())
  )
