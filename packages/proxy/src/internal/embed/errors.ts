/**
 * The bulk command's own errors.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A line of the input file that is not an input: not a JSON object, or without its text field.
 *
 * @category errors
 * @since 0.1.0
 */
export class InputFileError extends Schema.TaggedError<InputFileError>()("InputFileError", {
  message: Schema.String
}) {}

/**
 * Two input lines with the same id (and `onDuplicate` is `error`): the run is refused before any
 * call.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateIdError extends Schema.TaggedError<DuplicateIdError>()("DuplicateIdError", {
  message: Schema.String
}) {}

/**
 * The output file cannot be written in the asked format: an unknown format, a file in the way
 * that this command did not write, or vectors of another size than those already in it.
 *
 * @category errors
 * @since 0.1.0
 */
export class OutputFileError extends Schema.TaggedError<OutputFileError>()("OutputFileError", {
  message: Schema.String
}) {}
