/**
 * The manifest of a batch inference job: written beside its records at submission
 * (`{folder}/{jobName}/manifest.jsonl`), it is what reads the job's results back from its ARN
 * alone — no copy of the request, no corpus held in memory while the job runs.
 *
 * One JSON object a line: a header (the model, the call options the decoder needs, the counts),
 * then one line per record (`recordId` → the positions of its inputs in the request, the caller's
 * ids for them, the kind of media each carries), then one line per input that failed its checks
 * and was not submitted (its position, id and reason). Credentials, headers and endpoints are
 * never written: the header holds the model and its decoded call options only.
 *
 * The decoder sees each input as its kind (text, or the media kind), not its content: what a
 * model's `decode` reads of its inputs is their media, for usage.
 *
 * Objects are read a page at a time (`ObjectStore.forEachLine`), so neither a manifest nor a
 * `.out` file is ever one string in memory.
 *
 * @internal
 */
import { Effect } from "effect"
import { InvalidRequestError } from "../Errors.ts"
import * as Media from "../Media.ts"
import type * as ModelSpec from "../ModelSpec.ts"
import * as ObjectStore from "../ObjectStore.ts"

/** The manifest's name in the job's folder (beside `input/` and `output/`). */
export const manifestName = "manifest.jsonl"

const format = "bedrock-embed/batch-manifest"

/** The first line: what decoding needs, and the counts. */
export interface Header {
  readonly format: typeof format
  readonly version: 1
  /** The request's `model` (`bedrock/<id>`) and `model_id`, to find the spec again. */
  readonly model: string
  readonly model_id?: string | undefined
  /** The model id the job runs. */
  readonly modelId: string
  /** The plan's call options: dimensions, input type, the model's decoded parameters. */
  readonly options: ModelSpec.CallOptions<unknown>
  readonly inputs: number
  readonly records: number
}

/** One record: its inputs' positions in the request, their ids (when given) and media kinds. */
export interface Entry {
  readonly inputs: ReadonlyArray<number>
  readonly ids: ReadonlyArray<unknown> | undefined
  readonly media: ReadonlyArray<string | null> | undefined
}

/** An input that failed its checks and was not submitted. */
export interface Rejected {
  readonly index: number
  readonly id?: unknown
  readonly error: InvalidRequestError
}

/** A manifest read back. */
export interface Manifest {
  readonly header: Header
  /** By record number (`R0000000007` is 7). */
  readonly records: ReadonlyArray<Entry | undefined>
  readonly rejected: ReadonlyArray<Rejected>
}

/** Record ids: `R` and the call's position, eleven alphanumerics as Bedrock's examples have. */
export const recordId = (call: number) => `R${String(call).padStart(10, "0")}`

/** The record number of a record id, or -1. */
export const recordNumber = (id: unknown): number =>
  typeof id === "string" && /^R\d{10}$/.test(id) ? Number(id.slice(1)) : -1

/** What a manifest is written from: the plan's calls by original input position. */
export interface Source {
  readonly header: Omit<Header, "format" | "version">
  /** Each record's inputs, as positions in the request. */
  readonly groups: ReadonlyArray<ReadonlyArray<number>>
  /** The parsed input at each request position (`undefined` for a rejected one). */
  readonly inputAt: (index: number) => Media.EmbeddingInput | undefined
  readonly ids: ReadonlyArray<unknown> | undefined
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly error: InvalidRequestError }>
}

/** The caller's ids checked: one JSON value per input. */
export const checkIds = (ids: ReadonlyArray<unknown> | undefined, inputs: number): InvalidRequestError | undefined => {
  if (ids === undefined) return undefined
  if (ids.length !== inputs) {
    return new InvalidRequestError({
      message: `ids has ${ids.length} entries for ${inputs} inputs: give one id per input, in input order.`,
      param: "ids"
    })
  }
  const bad = ids.findIndex((id) => id === undefined || JSON.stringify(id) === undefined)
  return bad < 0
    ? undefined
    : new InvalidRequestError({
        message: `ids[${bad}] is not a JSON value (a string, number, object …): it could not be written to the job's manifest.`,
        param: `ids[${bad}]`
      })
}

/** The manifest's text: header, records, rejected inputs. */
export const manifestText = (source: Source): string => {
  const { ids } = source
  const lines = [JSON.stringify({ format, version: 1, ...source.header })]
  source.groups.forEach((group, i) => {
    const kinds = group.map((index) => {
      const input = source.inputAt(index)
      return input === undefined ? null : (Media.mediaOf(input)?.kind ?? null)
    })
    lines.push(
      JSON.stringify({
        recordId: recordId(i),
        inputs: group,
        ...(ids === undefined ? {} : { ids: group.map((index) => ids[index]) }),
        ...(kinds.every((kind) => kind === null) ? {} : { media: kinds })
      })
    )
  })
  for (const { index, error } of source.rejected) {
    lines.push(
      JSON.stringify({
        rejected: index,
        ...(ids === undefined ? {} : { id: ids[index] }),
        message: error.message,
        ...(error.param === undefined ? {} : { param: error.param }),
        ...(error.modelId === undefined ? {} : { modelId: error.modelId })
      })
    )
  }
  return `${lines.join("\n")}\n`
}

const notManifest = (uri: string, why: string) =>
  new InvalidRequestError({
    message: `${uri} is not a bedrock-embed batch manifest (${why}); it is written by Jobs.submit beside the job's records — resubmit the inputs with Jobs.submit to read them back.`,
    param: "job_arn"
  })

/** One manifest line into the manifest being read; a reason when it is not one. */
const addLine = (
  into: { header?: Header; records: Array<Entry | undefined>; rejected: Array<Rejected> },
  line: string
): string | undefined => {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(line) as Record<string, unknown>
  } catch {
    return "a line is not JSON"
  }
  if (into.header === undefined) {
    if (value.format !== format || value.version !== 1) return `its first line is not a version 1 ${format} header`
    into.header = value as unknown as Header
    return undefined
  }
  if (typeof value.rejected === "number") {
    const error = new InvalidRequestError({
      message: String(value.message),
      ...(typeof value.param === "string" ? { param: value.param } : {}),
      ...(typeof value.modelId === "string" ? { modelId: value.modelId } : {})
    })
    into.rejected.push({ index: value.rejected, ...("id" in value ? { id: value.id } : {}), error })
    return undefined
  }
  const n = recordNumber(value.recordId)
  if (n < 0 || n >= into.header.records || !Array.isArray(value.inputs)) return `record line ${line.slice(0, 80)}`
  into.records[n] = {
    inputs: value.inputs as ReadonlyArray<number>,
    ids: Array.isArray(value.ids) ? value.ids : undefined,
    media: Array.isArray(value.media) ? (value.media as ReadonlyArray<string | null>) : undefined
  }
  return undefined
}

/** Reads a job's manifest, a page at a time. */
export const readManifest = Effect.fnUntraced(function* (
  store: ObjectStore.Service,
  uri: string,
  target: ObjectStore.Target
) {
  const object = (yield* store.list(uri, target)).find((listed) => listed.uri === uri)
  if (object === undefined) return yield* notManifest(uri, "there is no such object")
  const into: { header?: Header; records: Array<Entry | undefined>; rejected: Array<Rejected> } = {
    records: [],
    rejected: []
  }
  let problem: string | undefined
  yield* ObjectStore.forEachLine(store, object, target, (line) => {
    problem ??= addLine(into, line)
  })
  if (problem !== undefined) return yield* notManifest(uri, problem)
  if (into.header === undefined) return yield* notManifest(uri, "it is empty")
  return { header: into.header, records: into.records, rejected: into.rejected } satisfies Manifest
})

const mediaStub = (kind: string): Media.MediaInput => ({
  kind: kind as Media.MediaInput["kind"],
  mimeType: "",
  format: "",
  source: { _tag: "S3", uri: "" }
})

/** The inputs of a record as its decoder sees them: their kinds. */
export const stubInputs = (entry: Entry): ReadonlyArray<Media.EmbeddingInput> =>
  entry.inputs.map((_, j) => {
    const kind = entry.media?.[j] ?? null
    return kind === null ? { kind: "text", text: "" } : mediaStub(kind)
  })
