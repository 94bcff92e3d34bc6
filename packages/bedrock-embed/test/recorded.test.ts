/**
 * Real Bedrock answers (`fixtures/ground-truth/recorded-bedrock/`: VCR cassettes and test mocks of
 * other projects, recorded against the live service) replayed through the public API against the
 * recording stand-in: the recorded status, headers and body string are sent back as recorded, and
 *
 * - the request bedrock-embed sends is the one the recorded client sent, field for field;
 * - every decoded vector is `JSON.parse` of the recorded one, element for element (exact doubles);
 * - usage and model come from what Bedrock said (the token-count header, else the body's count);
 * - the stream path (`Embeddings.embedStream`, which reads bodies straight into Float32Arrays)
 *   gives `Math.fround` of the same numbers — the recorded number spellings (Java `1.3542175E-4`,
 *   17-digit doubles, Python `e-05`) go through bedrock-embed's own float32 JSON reader.
 *
 * Error recordings are replayed as typed errors. Excerpt bodies (not whole) are left out.
 */
import { readFileSync } from "node:fs"
import { Embeddings } from "@bedrock-embed/core"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import {
  AccessDeniedError,
  BedrockEmbed,
  BedrockValidationError,
  type EmbeddingResponse,
  make,
  ResponseDecodeError
} from "bedrock-embed"
import { Effect, ManagedRuntime, Stream } from "effect"
import { type Recorded, type Recorder, recorderParams, startRecorder } from "./recorder.ts"

interface Recording {
  readonly source: string
  readonly request: {
    readonly method: string
    readonly path: string
    readonly headers: Readonly<Record<string, string>> | null
    readonly body: string | null
    readonly body_hint?: string
  }
  readonly response: {
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: string | null
    readonly body_form: string
  }
  readonly notes: string
}

/** Each recordings file, and the foundation model it records. */
const files = {
  "titan-embed-text-v1": "amazon.titan-embed-text-v1",
  "titan-embed-text-v2": "amazon.titan-embed-text-v2:0",
  "cohere-embed-english-v3": "cohere.embed-english-v3",
  "cohere-embed-multilingual-v3": "cohere.embed-multilingual-v3",
  "cohere-embed-v4": "cohere.embed-v4:0",
  "nova-2-multimodal-embeddings-v1": "amazon.nova-2-multimodal-embeddings-v1:0"
} as const

type FileName = keyof typeof files

interface Entry {
  readonly file: FileName
  readonly index: number
  readonly recording: Recording
  readonly name: string
}

const entries: ReadonlyArray<Entry> = (Object.keys(files) as Array<FileName>).flatMap((file) =>
  (
    JSON.parse(
      readFileSync(new URL(`./fixtures/ground-truth/recorded-bedrock/${file}.json`, import.meta.url), "utf8")
    ) as ReadonlyArray<Recording>
  ).map((recording, index) => ({
    file,
    index,
    recording,
    name: `${file}[${index}] ${recording.source.split(":")[0]} (${recording.response.body_form})`
  }))
)

/** Whole success bodies: `raw` (the service's bytes) and `parsed_body` (its digits, re-serialised). */
const isReplayable = (e: Entry) =>
  e.recording.response.status === 200 &&
  (e.recording.response.body_form === "raw" || e.recording.response.body_form === "parsed_body")
const successes = entries.filter(isReplayable)
const errors = entries.filter((e) => e.recording.response.status !== 200)
/** Excerpts: only part of the body was copied, so there is nothing whole to replay. */
const excerpts = entries.filter((e) => e.recording.response.body_form === "excerpt")
/** New Relic's Node stub: a real body whose vector the authors cut to 4 values (see its notes). */
const cutStubs = entries.filter((e) => e.recording.response.body_form === "js-object-literal re-serialised")

// ---------------------------------------------------------------------------------------------
// What a recording says

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The header, whatever case the recording spelled it in. */
const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]

/** The recorded model id, from the path's percent-encoded middle segment. */
const recordedModelId = (recording: Recording) => decodeURIComponent(recording.request.path.split("/")[2]!)

/** The recorded request body, or `undefined` when the recording kept none (mock servers). */
const recordedBody = (recording: Recording): Record<string, unknown> | undefined =>
  recording.request.body === null ? undefined : (JSON.parse(recording.request.body) as Record<string, unknown>)

/** A mock server keyed its answer by `model::input text`: the text the recorded client sent. */
const hintedText = (recording: Recording): string => {
  const match = /::(.*?)': request keyed/.exec(recording.request.body_hint ?? "")
  assert.isNotNull(match, `no input text in the hint of ${recording.source}`)
  return match![1]!
}

/** The vectors of a recorded body, in input order, as `JSON.parse` reads them. */
const recordedVectors = (file: FileName, body: unknown): ReadonlyArray<ReadonlyArray<number>> => {
  const b = body as Record<string, unknown>
  if (file.startsWith("titan")) return [b.embedding as ReadonlyArray<number>]
  if (file.startsWith("nova")) {
    return (b.embeddings as ReadonlyArray<{ embedding: ReadonlyArray<number> }>).map((e) => e.embedding)
  }
  const embeddings = b.embeddings
  return (isRecord(embeddings) ? embeddings.float : embeddings) as ReadonlyArray<ReadonlyArray<number>>
}

/** The public call that makes the recorded request. */
const callFor = (e: Entry): Record<string, unknown> => {
  const { recording, file } = e
  const modelId = recordedModelId(recording)
  // An application inference profile ARN names no model: the model goes in `model`, the ARN in `model_id`.
  const model = modelId.startsWith("arn:")
    ? { model: `bedrock/${files[file]}`, model_id: modelId }
    : { model: `bedrock/${modelId}` }
  const body = recordedBody(recording)
  const optional = (name: string, value: unknown) => (value === undefined ? {} : { [name]: value })
  if (body === undefined) return { ...model, input: hintedText(recording) }
  if (file.startsWith("titan")) {
    return {
      ...model,
      input: body.inputText,
      ...optional("dimensions", body.dimensions),
      ...optional("normalize", body.normalize)
    }
  }
  if (file.startsWith("cohere")) {
    return {
      ...model,
      input: body.texts,
      input_type: body.input_type,
      ...optional("truncate", body.truncate),
      ...optional("dimensions", body.output_dimension),
      ...optional("max_tokens", body.max_tokens)
    }
  }
  const single = body.singleEmbeddingParams as Record<string, unknown>
  const text = single.text as Record<string, unknown>
  return {
    ...model,
    input: text.value,
    embeddingPurpose: single.embeddingPurpose,
    truncationMode: text.truncationMode,
    ...optional("dimensions", single.embeddingDimension)
  }
}

/** The inputs of a call, as a list. */
const inputsOf = (call: Record<string, unknown>): ReadonlyArray<string> =>
  (Array.isArray(call.input) ? call.input : [call.input]) as ReadonlyArray<string>

/**
 * The answer: the recorded status, headers and body string. Header names are sent lower-case
 * (names are case-insensitive); `content-length` is left to the stand-in, which counts the body it
 * sends (pydantic-ai rewrote the recorded one for its re-serialised bodies).
 */
const answerOf = (recording: Recording) => ({
  status: recording.response.status,
  headers: Object.fromEntries(
    Object.entries(recording.response.headers)
      .map(([key, value]) => [key.toLowerCase(), value] as const)
      .filter(([key]) => key !== "content-length")
  ),
  body: recording.response.body ?? ""
})

/** Tokens as Bedrock reported them: the input-token-count header, else the body's count, else none. */
const reportedTokens = (recording: Recording, body: unknown): number => {
  const counted = header(recording.response.headers, "x-amzn-bedrock-input-token-count")
  const inBody = isRecord(body) ? (body.inputTextTokenCount as number | undefined) : undefined
  return counted === undefined ? (inBody ?? 0) : Number(counted)
}

// ---------------------------------------------------------------------------------------------
// The stand-in, the Promise client, the engine for the stream path

let recorder: Recorder
const client = make({ engine: { retryBaseDelay: "5 millis", maxRetries: 0 } })
const engine = ManagedRuntime.make(BedrockEmbed.layer({ engine: { retryBaseDelay: "5 millis", maxRetries: 0 } }))

beforeAll(async () => {
  recorder = await startRecorder()
})
afterAll(async () => {
  await client.dispose()
  await engine.dispose()
  await recorder.close()
})
beforeEach(() => recorder.reset())

const only = (): Recorded => recorder.only()

const embed = (call: Record<string, unknown>): Promise<EmbeddingResponse.EmbeddingResponse> =>
  client.embedding({ ...recorderParams(recorder), ...call } as Parameters<typeof client.embedding>[0])

/**
 * Our wire body against the recorded one. Where they differ by design:
 * - Nova: bedrock-embed always sends `schemaVersion` (documented as optional, this value its
 *   default) and `embeddingDimension` (3072 when none is asked for, the model's default — the
 *   recorded vectors of such calls are 3072 long). Both are checked, then set aside.
 * - Recordings of mock servers kept no request body: only the input text is checked.
 */
const assertWireBody = (e: Entry, sent: unknown) => {
  const expected = recordedBody(e.recording)
  const wire = sent as Record<string, unknown>
  if (expected === undefined) {
    const text = hintedText(e.recording)
    if (e.file.startsWith("titan")) assert.deepStrictEqual(wire, { inputText: text })
    else assert.deepStrictEqual(wire.texts, [text])
    return
  }
  if (!e.file.startsWith("nova")) {
    assert.deepStrictEqual(wire, expected)
    return
  }
  const { schemaVersion, ...rest } = wire
  assert.strictEqual(schemaVersion, "nova-multimodal-embed-v1")
  const single = { ...(rest.singleEmbeddingParams as Record<string, unknown>) }
  const recordedSingle = expected.singleEmbeddingParams as Record<string, unknown>
  if (!("embeddingDimension" in recordedSingle)) {
    const vectors = recordedVectors(e.file, JSON.parse(e.recording.response.body!))
    assert.strictEqual(single.embeddingDimension, 3072)
    assert.strictEqual(vectors[0]!.length, single.embeddingDimension)
    delete single.embeddingDimension
  }
  assert.deepStrictEqual({ ...rest, singleEmbeddingParams: single }, expected)
}

// ---------------------------------------------------------------------------------------------

describe("recorded Bedrock answers", () => {
  it("every recording is replayed, used as an error, or left out for a stated reason", () => {
    const used = new Set([...successes, ...errors, ...excerpts, ...cutStubs])
    assert.strictEqual(used.size, entries.length)
    assert.strictEqual(successes.length, 36)
    assert.strictEqual(errors.length, 3)
  })

  for (const e of successes) {
    it(`${e.name}: our request is the recorded one, and the vectors are the recorded numbers exactly`, async () => {
      const { recording } = e
      const body = JSON.parse(recording.response.body!) as unknown
      const recordedLength = header(recording.response.headers, "content-length")
      // A raw body is the service's bytes: its recorded Content-Length counts them.
      if (recording.response.body_form === "raw" && recordedLength !== undefined) {
        assert.strictEqual(Buffer.byteLength(recording.response.body!), Number(recordedLength))
      }
      recorder.enqueue(answerOf(recording))
      const call = callFor(e)
      const response = await embed(call)

      const request = only()
      assert.strictEqual(request.method, recording.request.method)
      assert.strictEqual(request.path, recording.request.path)
      assertWireBody(e, request.json)

      const vectors = recordedVectors(e.file, body)
      assert.strictEqual(vectors.length, inputsOf(call).length)
      assert.strictEqual(response.data.length, vectors.length)
      for (let i = 0; i < vectors.length; i++) {
        assert.strictEqual(response.data[i]!.index, i)
        assert.deepStrictEqual(response.data[i]!.embedding, vectors[i], `input ${i}`)
      }

      const tokens = reportedTokens(recording, body)
      const inBody = isRecord(body) ? body.inputTextTokenCount : undefined
      const counted = header(recording.response.headers, "x-amzn-bedrock-input-token-count")
      if (inBody !== undefined && counted !== undefined) assert.strictEqual(inBody, Number(counted))
      assert.strictEqual(response.usage.prompt_tokens, tokens)
      assert.strictEqual(response.usage.total_tokens, tokens)

      const modelId = recordedModelId(recording)
      assert.strictEqual(response.model, modelId.startsWith("arn:") ? files[e.file] : modelId)
      assert.strictEqual(response._hidden_params.model_id, modelId)
      const requestId = header(recording.response.headers, "x-amzn-requestid")
      if (requestId !== undefined) assert.deepStrictEqual(response._hidden_params.request_ids, [requestId])
    })

    it(`${e.name}: the stream path reads the same recorded body into float32`, async () => {
      const { recording } = e
      const body = JSON.parse(recording.response.body!) as unknown
      recorder.enqueue(answerOf(recording))
      const { input: _, ...request } = callFor(e)
      const inputs = inputsOf(callFor(e))
      const items = await engine.runPromise(
        Effect.gen(function* () {
          const embeddings = yield* Embeddings.Embeddings
          return yield* Stream.runCollect(
            embeddings.embedStream(
              { ...recorderParams(recorder), ...request } as Parameters<Embeddings.Service["embedStream"]>[0],
              Stream.fromIterable(inputs)
            )
          )
        })
      )
      // The same single call as the Promise path.
      assertWireBody(e, only().json)
      const vectors = recordedVectors(e.file, body)
      assert.strictEqual(items.length, vectors.length)
      for (let i = 0; i < vectors.length; i++) {
        const item = items[i]!
        assert.strictEqual(item.index, i)
        assert.isTrue("embedding" in item, `input ${i} failed: ${"error" in item ? item.error.message : ""}`)
        if (!("embedding" in item)) continue
        assert.instanceOf(item.embedding, Float32Array)
        assert.deepStrictEqual(Array.from(item.embedding), vectors[i]!.map(Math.fround), `input ${i}`)
      }
      const first = items[0]!
      assert.strictEqual("tokens" in first ? first.tokens : undefined, reportedTokens(recording, body))
    })
  }
})

describe("recorded Bedrock errors", () => {
  for (const e of errors) {
    it(`${e.name}: HTTP ${e.recording.response.status} is the typed error, with Bedrock's message and request id`, async () => {
      const { recording } = e
      recorder.enqueue(answerOf(recording))
      const error = await embed(callFor(e)).then(
        () => assert.fail("the call succeeded"),
        (cause: unknown) => cause
      )
      const request = only()
      assert.strictEqual(request.path, recording.request.path)
      assertWireBody(e, request.json)
      const type = header(recording.response.headers, "x-amzn-errortype")!.split(":")[0]!
      // UnrecognizedClientException: a bad identity; ValidationException: a rejected body.
      if (type === "ValidationException") assert.instanceOf(error, BedrockValidationError)
      else assert.instanceOf(error, AccessDeniedError)
      const typed = error as AccessDeniedError | BedrockValidationError
      assert.strictEqual(typed.awsErrorName, type)
      assert.strictEqual(typed.httpStatus, recording.response.status)
      assert.include(typed.message, (JSON.parse(recording.response.body!) as { message: string }).message)
      assert.strictEqual(typed.requestId, header(recording.response.headers, "x-amzn-requestid"))
      assert.strictEqual(typed.modelId, recordedModelId(recording))
      assert.isFalse(typed.retryable)
    })
  }

  for (const e of cutStubs) {
    it(`${e.name}: a recorded body whose vector was cut to 4 values is a ResponseDecodeError`, async () => {
      const { recording } = e
      recorder.enqueue(answerOf(recording))
      // The stub's path names the model; it kept no request, so the call is a text of our own.
      const error = await embed({ model: `bedrock/${files[e.file]}`, input: "embed text amazon success" }).then(
        () => assert.fail("the call succeeded"),
        (cause: unknown) => cause
      )
      assert.instanceOf(error, ResponseDecodeError)
      const vectors = recordedVectors(e.file, JSON.parse(recording.response.body!))
      assert.include(
        (error as ResponseDecodeError).message,
        `${files[e.file]} holds an invalid embedding: input[0]: the vector has ${vectors[0]!.length} values; expected 1536`
      )
    })
  }
})
