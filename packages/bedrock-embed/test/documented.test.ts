/**
 * Every request/response pair AWS documents (`fixtures/ground-truth/aws-documented-vectors.json`),
 * replayed through the public API against the recording stand-in (not the emulator):
 *
 * - the request bedrock-embed puts on the wire is the documented one — method, percent-encoded
 *   path, and the JSON body field for field. Tolerated: Nova's `schemaVersion` (documented as
 *   optional, default `nova-multimodal-embed-v1`; bedrock-embed always sends it) and
 *   StartAsyncInvoke's `clientRequestToken` (documented as filled in by the SDK);
 * - the documented answer decodes to the documented vectors. Documented vectors are truncated, so
 *   each is answered extended to the model's real length (the documented values first, then
 *   generated filler), and once as documented, which must fail with a ResponseDecodeError;
 * - async jobs: StartAsyncInvoke, GetAsyncInvoke, ListAsyncInvokes and the documented S3 output
 *   objects (put into a real S3 server, s3rver) read back with batchResults.
 */
import { readFileSync } from "node:fs"
import { Fixtures, type ObjectStore, S3_CREDENTIALS, startObjectStore } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import {
  BedrockValidationError,
  type EmbeddingResponse,
  make,
  ResponseDecodeError,
  ThrottlingError
} from "bedrock-embed"
import { type Recorded, type Recorder, recorderParams, startRecorder } from "./recorder.ts"

interface DocumentedCase {
  readonly model: string
  readonly operation: string
  readonly http?: {
    readonly method: string
    readonly path: string
    readonly headers?: Readonly<Record<string, string>>
  }
  readonly request_body: unknown
  readonly response_body: unknown
  readonly response_headers?: Readonly<Record<string, string>>
  readonly response_status?: number
  readonly fidelity: string
}

const cases = JSON.parse(
  readFileSync(new URL("./fixtures/ground-truth/aws-documented-vectors.json", import.meta.url), "utf8")
) as ReadonlyArray<DocumentedCase>

const doc = (index: number): DocumentedCase => cases[index]!

// ---------------------------------------------------------------------------------------------
// Placeholders and truncated vectors

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const PNG = Fixtures.png(40, 30, 90)
const JPEG = Fixtures.jpeg(48, 32)
const WORDS = "the quick brown fox jumps over the lazy dog and keeps running through the long field "
/** The documented `<very long text>`: 40 000 characters. */
const LONG_TEXT = WORDS.repeat(Math.ceil(40_000 / WORDS.length)).slice(0, 40_000)

/** Each documented media placeholder, and the real media that stands in for it (request and answer alike). */
const placeholders: ReadonlyArray<readonly [string, string]> = [
  ["<base64 of image bytes, no data: prefix>", PNG],
  ["<base64 of photo.jpg>", JPEG],
  ["data:image/jpg;base64,<base64 bytes>", `data:image/jpg;base64,${JPEG}`],
  ["{{BASE64_PAGE_IMG}}", PNG],
  ["{{...}}", PNG],
  ["<very long text>", LONG_TEXT]
]

/** The documented value with every placeholder replaced by real media. */
const filled = (value: unknown): unknown => {
  if (typeof value === "string") return placeholders.reduce((text, [from, to]) => text.replaceAll(from, to), value)
  if (Array.isArray(value)) return value.map(filled)
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, filled(v)]))
  return value
}

const isVector = (u: unknown): u is ReadonlyArray<number> =>
  Array.isArray(u) && u.length > 0 && u.every((x) => typeof x === "number")

/** A small deterministic generator (xorshift32) seeded from a string. */
const generator = (seed: string) => {
  let state = 2166136261
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 16777619) >>> 0
  if (state === 0) state = 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 4294967296
  }
}

/**
 * Filler for a vector: values of the vector's kind (0/1 for binary, int8 integers, else floats of
 * at most 7 digits, which JSON carries exactly), seeded from the documented values so equal
 * documented vectors (Titan's `embedding` and `embeddingsByType.float`) stay equal.
 */
const filler = (path: string, documented: ReadonlyArray<number>, count: number): Array<number> => {
  const kind = /binary/.test(path) ? "binary" : /int8/.test(path) ? "int8" : "float"
  const next = generator(`${kind}:${documented.join(",")}`)
  return Array.from({ length: count }, () => {
    const r = next()
    if (kind === "binary") return r < 0.5 ? 0 : 1
    if (kind === "int8") return Math.floor(r * 256) - 128
    return Math.round((r * 2 - 1) * 1e6) / 1e7
  })
}

/** The documented body with every vector extended to `dimension` values: documented ones first. */
const extended = (value: unknown, dimension: number, path = ""): unknown => {
  if (isVector(value)) {
    assert.isBelow(value.length, dimension, `the documented vector at ${path} is truncated`)
    return [...value, ...filler(path, value, dimension - value.length)]
  }
  if (Array.isArray(value)) return value.map((v, i) => extended(v, dimension, `${path}.${i}`))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extended(v, dimension, `${path}.${k}`)]))
  }
  return value
}

/** The value at a path of keys and indices. */
const at = (value: unknown, ...keys: ReadonlyArray<string | number>): unknown =>
  keys.reduce<unknown>((v, key) => (v as Record<string | number, unknown> | undefined)?.[key], value)
const vec = (value: unknown, ...keys: ReadonlyArray<string | number>) => at(value, ...keys) as ReadonlyArray<number>

// ---------------------------------------------------------------------------------------------
// The stand-in, an S3 server, the client

let recorder: Recorder
let store: ObjectStore
const client = make({ engine: { retryBaseDelay: "5 millis", maxRetries: 0 } })
const params = () => recorderParams(recorder)

beforeAll(async () => {
  recorder = await startRecorder()
  store = await startObjectStore({})
})
afterAll(async () => {
  await client.dispose()
  await recorder.close()
  await store.close()
})
beforeEach(() => recorder.reset())

const only = (): Recorded => recorder.only()

const NOVA_SCHEMA = "nova-multimodal-embed-v1"

/**
 * The body as compared with the documented one: a `schemaVersion` the documentation left out
 * (optional, its default) must be that default and is then set aside.
 */
const withoutDefaultSchema = (actual: unknown, documented: unknown): unknown => {
  if (!isRecord(actual) || !isRecord(documented) || "schemaVersion" in documented || !("schemaVersion" in actual)) {
    return actual
  }
  const { schemaVersion, ...rest } = actual
  assert.strictEqual(schemaVersion, NOVA_SCHEMA)
  return rest
}

const assertWire = (request: Recorded, c: DocumentedCase, expectedBody: unknown) => {
  assert.strictEqual(request.method, c.http!.method)
  assert.strictEqual(request.path, c.http!.path)
  assert.strictEqual(request.headers["content-type"], c.http!.headers?.["content-type"] ?? "application/json")
  assert.deepStrictEqual(withoutDefaultSchema(request.json, expectedBody), expectedBody)
}

// ---------------------------------------------------------------------------------------------
// InvokeModel

interface ExpectedData {
  readonly embedding: ReadonlyArray<number>
  readonly embeddings_by_type?: Readonly<Record<string, ReadonlyArray<number>>>
  readonly embeddings_by_modality?: Readonly<Record<string, ReadonlyArray<number>>>
}

interface InvokeCase {
  readonly index: number
  /** The public call that expresses the documented request. */
  readonly request: Readonly<Record<string, unknown>>
  /** The model's real vector length for this request. */
  readonly dimension: number
  /** Where the vectors of each input are in the answer. */
  readonly expected: (body: unknown) => ReadonlyArray<ExpectedData>
}

const single = (body: unknown) => [{ embedding: vec(body, "embedding") }]
const novaSingle = (body: unknown) => [{ embedding: vec(body, "embeddings", 0, "embedding") }]
const marengo = (body: unknown) => [{ embedding: vec(body, "data", 0, "embedding") }]
const cohereByType =
  (types: ReadonlyArray<string>, inputs: number) =>
  (body: unknown): ReadonlyArray<ExpectedData> =>
    Array.from({ length: inputs }, (_, i) => ({
      embedding: vec(body, "embeddings", types[0]!, i),
      embeddings_by_type: Object.fromEntries(types.map((type) => [type, vec(body, "embeddings", type, i)]))
    }))
const cohereList = (inputs: number) => (body: unknown) =>
  Array.from({ length: inputs }, (_, i) => ({ embedding: vec(body, "embeddings", i) }))

const OWNER = "123456789012"

const invokeCases: ReadonlyArray<InvokeCase> = [
  {
    index: 0,
    request: { model: "bedrock/amazon.titan-embed-text-v1", input: "What are the different services that you offer?" },
    dimension: 1536,
    expected: single
  },
  {
    index: 1,
    request: {
      model: "bedrock/amazon.titan-embed-text-v2:0",
      input: "What are the different services that you offer?",
      embeddingTypes: ["binary"]
    },
    dimension: 1024,
    // Only binary was asked for: Titan sends no `embedding`, and the binary vector is the embedding
    // (and, as for every request that names its types, in embeddings_by_type).
    expected: (body) => [
      {
        embedding: vec(body, "embeddingsByType", "binary"),
        embeddings_by_type: { binary: vec(body, "embeddingsByType", "binary") }
      }
    ]
  },
  {
    index: 2,
    request: {
      model: "bedrock/amazon.titan-embed-text-v2:0",
      input: "hello world",
      dimensions: 256,
      normalize: true,
      embeddingTypes: ["float", "binary"]
    },
    dimension: 256,
    expected: (body) => [
      {
        embedding: vec(body, "embedding"),
        embeddings_by_type: {
          float: vec(body, "embeddingsByType", "float"),
          binary: vec(body, "embeddingsByType", "binary")
        }
      }
    ]
  },
  {
    index: 3,
    request: {
      model: "bedrock/amazon.titan-embed-image-v1",
      input: "What are the different services that you offer?",
      dimensions: 256
    },
    dimension: 256,
    expected: single
  },
  {
    index: 4,
    request: {
      model: "bedrock/amazon.titan-embed-image-v1",
      input: [{ text: "A family eating dinner", image: `data:image/png;base64,${PNG}` }],
      dimensions: 256
    },
    dimension: 256,
    expected: single
  },
  {
    index: 5,
    request: {
      model: "bedrock/cohere.embed-english-v3",
      input: ["hello world", "this is a test"],
      input_type: "search_document",
      embedding_types: ["int8", "float"]
    },
    dimension: 1024,
    expected: cohereByType(["int8", "float"], 2)
  },
  {
    index: 6,
    // No input_type: bedrock-embed sends Cohere's search_document, as the documented request does.
    request: { model: "bedrock/cohere.embed-english-v3", input: ["embed", "text"] },
    dimension: 1024,
    expected: cohereList(2)
  },
  {
    index: 7,
    request: {
      model: "bedrock/cohere.embed-english-v3",
      input: [`data:image/jpg;base64,${JPEG}`],
      embedding_types: ["int8", "float"]
    },
    dimension: 1024,
    expected: cohereByType(["int8", "float"], 1)
  },
  {
    index: 8,
    request: {
      model: "bedrock/global.cohere.embed-v4:0",
      input: [{ text: "Quarterly ARR growth chart; outlier in Q3.", image: `data:image/png;base64,${PNG}` }],
      input_type: "search_document",
      embedding_types: ["int8"],
      dimensions: 512,
      truncate: "RIGHT",
      max_tokens: 128000
    },
    // int8 vectors have one value per dimension (binary/ubinary would have dimension / 8).
    dimension: 512,
    expected: cohereByType(["int8"], 1)
  },
  {
    index: 9,
    request: {
      model: "bedrock/global.cohere.embed-v4:0",
      input: ["RAG system design patterns for insurance claims", "Actuarial loss triangles and reserving primer"],
      input_type: "search_document"
    },
    dimension: 1536,
    expected: cohereList(2)
  },
  {
    index: 10,
    request: {
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "Amazon Nova is a multimodal foundation model",
      embeddingPurpose: "GENERIC_INDEX",
      dimensions: 3072
    },
    dimension: 3072,
    expected: novaSingle
  },
  {
    index: 11,
    request: {
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: `data:image/jpeg;base64,${JPEG}`,
      embeddingPurpose: "GENERIC_INDEX",
      dimensions: 3072
    },
    dimension: 3072,
    expected: novaSingle
  },
  {
    index: 12,
    request: {
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "s3://amzn-s3-demo-bucket/clip.mp4",
      embeddingPurpose: "VIDEO_RETRIEVAL",
      dimensions: 1024,
      embeddingMode: "AUDIO_VIDEO_SEPARATE"
    },
    dimension: 1024,
    // Picture and sound apart: `embedding` is the picture's, both by modality.
    expected: (body) => [
      {
        embedding: vec(body, "embeddings", 0, "embedding"),
        embeddings_by_modality: {
          video: vec(body, "embeddings", 0, "embedding"),
          audio: vec(body, "embeddings", 1, "embedding")
        }
      }
    ]
  },
  {
    index: 13,
    request: {
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: LONG_TEXT,
      embeddingPurpose: "TEXT_RETRIEVAL",
      dimensions: 256
    },
    dimension: 256,
    expected: novaSingle
  },
  {
    index: 19,
    request: { model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0", input: "man walking a dog" },
    dimension: 1024,
    expected: marengo
  },
  {
    index: 20,
    request: {
      model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
      input: "s3://amzn-s3-demo-bucket/my_image.png",
      input_type: "image",
      bucketOwner: OWNER
    },
    dimension: 1024,
    expected: marengo
  },
  {
    index: 23,
    request: { model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0", input: "man walking a dog" },
    dimension: 512,
    expected: marengo
  },
  {
    index: 24,
    request: {
      model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0",
      input: "man walking a dog",
      input_type: "text_image",
      media_source: "s3://amzn-s3-demo-bucket/my_image.jpg",
      bucketOwner: OWNER
    },
    dimension: 512,
    expected: marengo
  },
  {
    index: 25,
    request: {
      model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0",
      input: "<@img1> walking a dog with <@img2>",
      input_type: "multi_input",
      media_sources: {
        img1: "s3://amzn-s3-demo-bucket/images/person.jpg",
        img2: "s3://amzn-s3-demo-bucket/images/dog.jpg"
      },
      bucketOwner: OWNER
    },
    dimension: 512,
    expected: marengo
  }
]

/** The foundation model a documented case names (`cohere.embed-v4:0 (via global.…)` → `cohere.embed-v4:0`). */
const baseModel = (c: DocumentedCase) => c.model.replace(/ \(via .*\)$/, "")

const embed = (request: Readonly<Record<string, unknown>>): Promise<EmbeddingResponse.EmbeddingResponse> =>
  client.embedding({ ...params(), ...request } as Parameters<typeof client.embedding>[0])

const failure = async (request: Readonly<Record<string, unknown>>): Promise<unknown> =>
  embed(request).then(
    () => assert.fail("the call succeeded"),
    (error: unknown) => error
  )

describe("InvokeModel: documented requests and answers", () => {
  it("covers every documented case exactly once", () => {
    const covered = [
      ...invokeCases.map((c) => c.index),
      ...[14, 15, 21, 26], // StartAsyncInvoke
      ...[16, 17, 18, 22, 27], // S3 outputs
      28,
      29,
      30,
      31,
      32
    ].sort((a, b) => a - b)
    assert.deepStrictEqual(
      covered,
      cases.map((_, i) => i)
    )
  })

  for (const spec of invokeCases) {
    const c = doc(spec.index)
    it(`case ${spec.index} ${c.model}: the documented request, and the documented answer at full length`, async () => {
      const answer = extended(filled(c.response_body), spec.dimension)
      recorder.enqueue({ status: 200, headers: { ...c.response_headers }, body: JSON.stringify(answer) })
      const response = await embed(spec.request)

      assertWire(only(), c, filled(c.request_body))

      const expected = spec.expected(answer)
      assert.deepStrictEqual(
        response.data,
        expected.map((data, index) => ({ object: "embedding", index, ...data }))
      )
      for (const data of expected) assert.strictEqual(data.embedding.length, spec.dimension)
      assert.strictEqual(response.model, (spec.request.model as string).slice("bedrock/".length))
      const requestId = c.response_headers?.["x-amzn-requestid"]
      if (requestId !== undefined) assert.deepStrictEqual(response._hidden_params.request_ids, [requestId])
      // Tokens: the body's count when it has one (Titan), else Bedrock's header, else none reported.
      const header = c.response_headers?.["x-amzn-bedrock-input-token-count"]
      const tokens =
        (at(answer, "inputTextTokenCount") as number | undefined) ?? (header === undefined ? 0 : Number(header))
      assert.strictEqual(response.usage.prompt_tokens, tokens)
    })

    it(`case ${spec.index} ${c.model}: the documented, truncated answer is a ResponseDecodeError`, async () => {
      const truncated = filled(c.response_body)
      recorder.enqueue({ status: 200, headers: { ...c.response_headers }, body: JSON.stringify(truncated) })
      const error = await failure(spec.request)
      assert.instanceOf(error, ResponseDecodeError)
      const decodeError = error as ResponseDecodeError
      const documentedLength = spec.expected(truncated)[0]!.embedding.length
      assert.include(decodeError.message, baseModel(c))
      assert.include(
        decodeError.message,
        `input[0]: the vector has ${documentedLength} values; expected ${spec.dimension}`
      )
      assert.strictEqual(decodeError.modelId, (spec.request.model as string).slice("bedrock/".length))
      assert.isFalse(decodeError.retryable)
    })
  }
})

// ---------------------------------------------------------------------------------------------
// StartAsyncInvoke

interface StartCase {
  readonly index: number
  readonly request: Readonly<Record<string, unknown>>
}

const startCases: ReadonlyArray<StartCase> = [
  {
    index: 14,
    request: {
      model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "s3://my-video-bucket/videos/presentation.mp4",
      input_type: "video",
      output_s3_uri: "s3://my-embedding-destination-bucket/embeddings-output/",
      embeddingMode: "AUDIO_VIDEO_COMBINED",
      durationSeconds: 15,
      dimensions: 3072
    }
  },
  {
    index: 15,
    request: {
      model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "s3://amzn-s3-demo-bucket/book.txt",
      input_type: "text",
      output_s3_uri: "s3://amzn-s3-demo-bucket/out",
      maxLengthChars: 32000,
      dimensions: 1024
    }
  },
  {
    index: 21,
    request: {
      model: "bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0",
      input: "s3://amzn-s3-demo-bucket/my-video.mp4",
      input_type: "video",
      bucketOwner: OWNER,
      startSec: 0,
      lengthSec: 13,
      useFixedLengthSec: 5,
      embeddingOption: ["visual-text", "audio"],
      output_s3_uri: "s3://amzn-s3-demo-bucket"
    }
  },
  {
    index: 26,
    request: {
      model: "bedrock/async_invoke/twelvelabs.marengo-embed-3-0-v1:0",
      input: "s3://amzn-s3-demo-bucket/my-video.mp4",
      input_type: "video",
      bucketOwner: OWNER,
      startSec: 10,
      endSec: 20,
      segmentation: { method: "fixed", fixed: { durationSec: 5 } },
      embeddingOption: ["visual", "audio"],
      embeddingType: ["separate_embedding", "fused_embedding"],
      embeddingScope: ["clip", "asset"],
      output_s3_uri: "s3://amzn-s3-demo-bucket"
    }
  }
]

describe("StartAsyncInvoke: documented wire bodies", () => {
  for (const spec of startCases) {
    const c = doc(spec.index)
    it(`case ${spec.index} ${c.model}: the documented StartAsyncInvoke body, and the ARN it answers`, async () => {
      recorder.enqueue({ status: 200, body: JSON.stringify(c.response_body) })
      const response = await embed(spec.request)
      const request = only()
      assert.strictEqual(request.method, c.http!.method)
      assert.strictEqual(request.path, c.http!.path)
      assert.strictEqual(request.headers["content-type"], c.http!.headers?.["content-type"])

      const { clientRequestToken, modelInput, ...rest } = request.json as Record<string, unknown>
      const {
        clientRequestToken: _documentedToken,
        modelInput: documentedInput,
        ...documentedRest
      } = c.request_body as Record<string, unknown>
      // The SDK fills the idempotency token in; bedrock-embed generates one.
      assert.isString(clientRequestToken)
      assert.isAbove((clientRequestToken as string).length, 0)
      assert.deepStrictEqual(rest, documentedRest)
      assert.deepStrictEqual(withoutDefaultSchema(modelInput, documentedInput), documentedInput)

      const arn = at(c.response_body, "invocationArn") as string
      assert.strictEqual(response._hidden_params._invocation_arn, arn)
      assert.deepStrictEqual(response._hidden_params._invocation_arns, [arn])
      assert.deepStrictEqual(response.data, [{ object: "embedding", index: 0, embedding: [] }])
    })
  }
})

// ---------------------------------------------------------------------------------------------
// GetAsyncInvoke, ListAsyncInvokes

const seconds = (iso: string | undefined) => (iso === undefined ? null : Math.floor(Date.parse(iso) / 1000))

describe("GetAsyncInvoke and ListAsyncInvokes", () => {
  it("case 28 any model: retrieveBatch sends the documented GetAsyncInvoke path and maps the documented status", async () => {
    const c = doc(28)
    const job = c.response_body as Record<string, string> & { outputDataConfig: unknown }
    recorder.enqueue({ status: 200, body: JSON.stringify(job) })
    const status = await client.retrieveBatch({ batch_id: job.invocationArn, ...params() })
    const request = only()
    assert.strictEqual(request.method, c.http!.method)
    assert.strictEqual(request.path, c.http!.path)
    assert.strictEqual(request.text, "")
    assert.strictEqual(job.status, "Completed")
    assert.deepStrictEqual(status, {
      id: job.invocationArn,
      object: "batch",
      endpoint: "/v1/embeddings",
      status: "completed",
      created_at: seconds(job.submitTime),
      completed_at: seconds(job.endTime),
      failed_at: null,
      request_counts: { total: 1, completed: 1, failed: 0 },
      metadata: {
        output_file_id: at(job, "outputDataConfig", "s3OutputDataConfig", "s3Uri") as string,
        failure_message: "",
        model_arn: job.modelArn,
        client_request_token: job.clientRequestToken,
        bedrock_status: "Completed"
      }
    })
  })

  it("case 29 any model: listBatches sends the documented ListAsyncInvokes query, parameter by parameter", async () => {
    const c = doc(29)
    recorder.enqueue({ status: 200, body: JSON.stringify(c.response_body) })
    const [documentedPath, documentedQuery = ""] = c.http!.path.split("?")
    const query = new URLSearchParams(documentedQuery)
    const statuses: Record<string, "in_progress" | "completed" | "failed"> = {
      InProgress: "in_progress",
      Completed: "completed",
      Failed: "failed"
    }
    // Every documented filter has a listBatches spelling. `sortBy` and `sortOrder` have none:
    // bedrock-embed always lists newest first (SubmissionTime, Descending), which is what this
    // documented query asks for; an Ascending listing cannot be expressed.
    const page = await client.listBatches({
      status: statuses[query.get("statusEquals")!]!,
      submitted_after: new Date(query.get("submitTimeAfter")!),
      submitted_before: new Date(query.get("submitTimeBefore")!),
      limit: Number(query.get("maxResults")),
      after: query.get("nextToken")!,
      ...params()
    })
    const request = only()
    assert.strictEqual(request.method, c.http!.method)
    const [path, sent = ""] = request.path.split("?")
    assert.strictEqual(path, documentedPath)
    // The raw `name=value` pairs, percent-encoding included, in any order.
    assert.deepStrictEqual(sent.split("&").sort(), documentedQuery.split("&").sort())

    const summary = at(c.response_body, "asyncInvokeSummaries", 0) as Record<string, string>
    assert.deepStrictEqual(page, {
      data: [
        {
          id: summary.invocationArn!,
          object: "batch",
          endpoint: "/v1/embeddings",
          status: statuses[summary.status!]!,
          created_at: seconds(summary.submitTime),
          completed_at: null,
          failed_at: seconds(summary.endTime ?? summary.lastModifiedTime),
          request_counts: { total: 1, completed: 0, failed: 1 },
          metadata: {
            output_file_id: at(summary, "outputDataConfig", "s3OutputDataConfig", "s3Uri") as string,
            failure_message: summary.failureMessage!,
            model_arn: summary.modelArn!,
            client_request_token: "",
            bedrock_status: "Failed"
          }
        }
      ],
      next_token: at(c.response_body, "nextToken") as string
    })
  })
})

// ---------------------------------------------------------------------------------------------
// S3 outputs, read back with batchResults

interface OutputFile {
  readonly key: string
  readonly text: string
}

/** The expected public segment for one documented Nova JSONL line. */
const novaSegment = (line: unknown, index: number, modality: string) => {
  const meta = (at(line, "segmentMetadata") ?? {}) as Record<string, number | undefined>
  const failed = at(line, "status") === "FAILURE"
  const optional = (name: string, value: unknown) => (value === undefined ? {} : { [name]: value })
  return {
    object: "embedding",
    index,
    embedding: failed ? [] : vec(line, "embedding"),
    status: failed ? "failed" : "succeeded",
    ...(failed ? { failure_reason: at(line, "failureReason"), failure_message: at(line, "message") } : {}),
    modality,
    ...optional("segment_index", meta.segmentIndex),
    ...optional("start_sec", meta.segmentStartSeconds),
    ...optional("end_sec", meta.segmentEndSeconds),
    ...optional("start_char", meta.segmentStartCharPosition),
    ...optional("end_char", meta.segmentEndCharPosition)
  }
}

/** The expected public segment for one documented Marengo `output.json` element. */
const marengoSegment = (element: unknown, index: number) => ({
  object: "embedding",
  index,
  embedding: vec(element, "embedding"),
  status: "succeeded",
  modality: at(element, "embeddingOption"),
  segment_index: index,
  start_sec: at(element, "startSec"),
  end_sec: at(element, "endSec"),
  ...(at(element, "embeddingScope") === undefined ? {} : { details: { embeddingScope: at(element, "embeddingScope") } })
})

const jsonl = (lines: unknown) => (lines as ReadonlyArray<unknown>).map((line) => JSON.stringify(line)).join("\n")

/** Puts the job's objects into S3, scripts GetAsyncInvoke as Completed there, and reads the results back. */
const readBack = async (job: {
  readonly arn: string
  readonly modelId: string
  readonly outputUri: string
  readonly files: ReadonlyArray<OutputFile>
}) => {
  for (const file of job.files) await store.write(`${job.outputUri}/${file.key}`, file.text)
  recorder.enqueue({
    status: 200,
    body: JSON.stringify({
      invocationArn: job.arn,
      modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${job.modelId}`,
      status: "Completed",
      submitTime: "2025-11-01T10:00:00Z",
      endTime: "2025-11-01T10:04:00Z",
      outputDataConfig: { s3OutputDataConfig: { s3Uri: job.outputUri } }
    })
  })
  const results = await client.batchResults({
    batch_id: job.arn,
    ...params(),
    aws_s3_endpoint: store.url,
    aws_access_key_id: S3_CREDENTIALS.accessKeyId,
    aws_secret_access_key: S3_CREDENTIALS.secretAccessKey
  })
  const request = only()
  assert.strictEqual(request.method, "GET")
  assert.strictEqual(request.path, `/async-invoke/${encodeURIComponent(job.arn)}`)
  assert.strictEqual(results.id, job.arn)
  assert.strictEqual(results.model, job.modelId)
  assert.deepStrictEqual([...results.files].sort(), job.files.map((file) => `${job.outputUri}/${file.key}`).sort())
  return results
}

/** The output folder of a job: the requested s3Uri with the job id appended. */
const outputOf = (startIndex: number, arn: string) =>
  `${(at(doc(startIndex).request_body, "outputDataConfig", "s3OutputDataConfig", "s3Uri") as string).replace(/\/+$/, "")}/${arn.split("/").pop()}`

describe("async outputs in S3, read back with batchResults", () => {
  it("cases 16 and 17 amazon.nova-2-multimodal-embeddings-v1:0: the documented video job's result and segments", async () => {
    // Case 14's ARN masks its account (xxxxxxxxxxxx); batchResults needs a real one to take it.
    const arn = (at(doc(14).response_body, "invocationArn") as string).replace("xxxxxxxxxxxx", OWNER)
    const outputUri = outputOf(14, arn)
    const summary = doc(16).response_body
    const dimension = at(summary, "embeddingDimension") as number
    const resultUri = at(summary, "embeddingResults", 0, "outputFileUri") as string
    assert.strictEqual(resultUri, `${outputUri}/embedding-audio-video.jsonl`)
    const lines = extended(doc(17).response_body, dimension) as ReadonlyArray<unknown>
    const results = await readBack({
      arn,
      modelId: at(doc(14).request_body, "modelId") as string,
      outputUri,
      files: [
        { key: "segmented-embedding-result.json", text: JSON.stringify(summary) },
        { key: "embedding-audio-video.jsonl", text: jsonl(lines) }
      ]
    })
    // AUDIO_VIDEO_COMBINED is the `audio_video` modality.
    assert.deepStrictEqual(
      results.data as ReadonlyArray<unknown>,
      lines.map((line, i) => novaSegment(line, i, "audio_video"))
    )
    for (const segment of results.data) assert.strictEqual(segment.embedding.length, 3072)
  })

  it("case 18 amazon.nova-2-multimodal-embeddings-v1:0: the documented text segments, the FAILURE line included", async () => {
    const arn = at(doc(15).response_body, "invocationArn") as string
    const outputUri = outputOf(15, arn)
    const dimension = at(doc(15).request_body, "modelInput", "segmentedEmbeddingParams", "embeddingDimension") as number
    const lines = extended(doc(18).response_body, dimension) as ReadonlyArray<unknown>
    // The documentation shows no result file for a text job: this one follows case 16's schema.
    const summary = {
      sourceFileUri: at(
        doc(15).request_body,
        "modelInput",
        "segmentedEmbeddingParams",
        "text",
        "source",
        "s3Location",
        "uri"
      ),
      embeddingDimension: dimension,
      embeddingResults: [
        { embeddingType: "TEXT", status: "PARTIAL_SUCCESS", outputFileUri: `${outputUri}/embedding-text.jsonl` }
      ]
    }
    const results = await readBack({
      arn,
      modelId: at(doc(15).request_body, "modelId") as string,
      outputUri,
      files: [
        { key: "segmented-embedding-result.json", text: JSON.stringify(summary) },
        { key: "embedding-text.jsonl", text: jsonl(lines) }
      ]
    })
    assert.deepStrictEqual(
      results.data as ReadonlyArray<unknown>,
      lines.map((line, i) => novaSegment(line, i, "text"))
    )
    const failed = results.data[1]!
    assert.strictEqual(failed.status, "failed")
    assert.strictEqual(failed.failure_reason, "RAI_VIOLATION_INPUT_TEXT_DEFLECTION")
    assert.strictEqual(failed.failure_message, at(doc(18).response_body, 1, "message"))
    assert.deepStrictEqual([failed.start_char, failed.end_char], [31950, 40210])
    assert.strictEqual(results.data[0]!.embedding.length, 1024)
  })

  it("case 22 twelvelabs.marengo-embed-2-7-v1:0: the documented output.json, every segment with its option and times", async () => {
    const arn = at(doc(21).response_body, "invocationArn") as string
    const outputUri = outputOf(21, arn)
    const output = extended(doc(22).response_body, 1024)
    const results = await readBack({
      arn,
      modelId: at(doc(21).request_body, "modelId") as string,
      outputUri,
      files: [{ key: "output.json", text: JSON.stringify(output) }]
    })
    assert.deepStrictEqual(
      results.data as ReadonlyArray<unknown>,
      (at(output, "data") as ReadonlyArray<unknown>).map(marengoSegment)
    )
  })

  it("case 27 twelvelabs.marengo-embed-3-0-v1:0: the documented output.json, with each segment's scope", async () => {
    const arn = at(doc(26).response_body, "invocationArn") as string
    const outputUri = outputOf(26, arn)
    const output = extended(doc(27).response_body, 512)
    const results = await readBack({
      arn,
      modelId: at(doc(26).request_body, "modelId") as string,
      outputUri,
      files: [{ key: "output.json", text: JSON.stringify(output) }]
    })
    assert.deepStrictEqual(
      results.data as ReadonlyArray<unknown>,
      (at(output, "data") as ReadonlyArray<unknown>).map(marengoSegment)
    )
    assert.deepStrictEqual(
      results.data.map((segment) => segment.details?.embeddingScope),
      ["clip", "asset"]
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Errors and bearer auth

describe("documented errors and bearer auth", () => {
  it("case 30 cohere.embed-english-v3: ValidationException 400 is a BedrockValidationError with its request id", async () => {
    const c = doc(30)
    recorder.enqueue({
      status: c.response_status,
      headers: { ...c.response_headers },
      body: JSON.stringify(c.response_body)
    })
    // The documented body ({"texts":"not-an-array"}) is illustrative and malformed: bedrock-embed
    // checks input before sending, so it cannot send it. A well-formed call gets the same answer.
    const error = await failure({ model: "bedrock/cohere.embed-english-v3", input: "not-an-array" })
    const request = only()
    assert.strictEqual(request.method, c.http!.method)
    assert.strictEqual(request.path, c.http!.path)
    assert.instanceOf(error, BedrockValidationError)
    const e = error as BedrockValidationError
    assert.include(e.message, "ValidationException")
    assert.include(e.message, at(c.response_body, "message") as string)
    assert.strictEqual(e.requestId, c.response_headers!["x-amzn-requestid"])
    assert.strictEqual(e.httpStatus, c.response_status)
    assert.strictEqual(e.awsErrorName, "ValidationException")
    assert.strictEqual(e.modelId, "cohere.embed-english-v3")
    assert.isFalse(e.retryable)
  })

  it("case 31 amazon.titan-embed-text-v2:0: ThrottlingException 429 is a retryable ThrottlingError", async () => {
    const c = doc(31)
    recorder.enqueue({
      status: c.response_status,
      headers: { ...c.response_headers },
      body: JSON.stringify(c.response_body)
    })
    const error = await failure({ model: "bedrock/amazon.titan-embed-text-v2:0", input: "x" })
    // maxRetries is 0: one attempt, the documented body on the wire.
    assertWire(only(), c, c.request_body)
    assert.instanceOf(error, ThrottlingError)
    const e = error as ThrottlingError
    assert.include(e.message, "ThrottlingException")
    assert.include(e.message, at(c.response_body, "message") as string)
    assert.strictEqual(e.requestId, c.response_headers!["x-amzn-requestid"])
    assert.strictEqual(e.httpStatus, c.response_status)
    assert.isTrue(e.retryable)
  })

  it("case 32 amazon.titan-embed-text-v2:0: api_key is sent as a bearer token, with no SigV4 headers", async () => {
    const c = doc(32)
    // A short-term key's layout: "bedrock-api-key-" + base64 of a presigned URL + "&Version=1".
    const token = `bedrock-api-key-${Buffer.from(
      "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-SignedHeaders=host&Version=1"
    ).toString("base64")}`
    const vector = filler("float", [], 1024)
    recorder.enqueue({
      status: 200,
      body: JSON.stringify({ embedding: vector, inputTextTokenCount: 1, embeddingsByType: { float: vector } })
    })
    const response = await client.embedding({
      model: "bedrock/amazon.titan-embed-text-v2:0",
      input: "x",
      api_key: token,
      aws_bedrock_runtime_endpoint: recorder.url,
      aws_region_name: "us-east-1"
    })
    const request = only()
    assertWire(request, c, c.request_body)
    assert.match(c.http!.headers!.authorization!, /^Bearer bedrock-api-key-/)
    assert.strictEqual(request.headers.authorization, `Bearer ${token}`)
    assert.isUndefined(request.headers["x-amz-date"])
    assert.isUndefined(request.headers["x-amz-content-sha256"])
    assert.isUndefined(request.headers["x-amz-security-token"])
    assert.deepStrictEqual(response.data[0]!.embedding, vector)
  })
})
