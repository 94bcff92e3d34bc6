/**
 * Real-AWS smoke suite: one call per model and route through the public Promise API, an async job
 * included. Run it with `pnpm test:aws` (see `run.ts`), never from `pnpm test`: it spends money.
 *
 * Region: `AWS_REGION`, else us-east-1. Credentials: the environment (keys, `AWS_PROFILE`, web
 * identity or `AWS_BEARER_TOKEN_BEDROCK`). `BEDROCK_EMBED_TEST_S3_URI` (an `s3://bucket/prefix` in
 * the same region) is where the async job writes; without it that test is skipped with the reason.
 *
 * TwelveLabs Marengo 2.7 is left out on purpose: it reached end of life on 2026-11-30, so Bedrock no
 * longer serves it. Marengo 3.0 stands for TwelveLabs here.
 */
import { crc32, deflateSync } from "node:zlib"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { awaitBatch, batchResults, type EmbeddingResponse, embedding } from "bedrock-embed"

const region = process.env.AWS_REGION || "us-east-1"
const s3Uri = (process.env.BEDROCK_EMBED_TEST_S3_URI ?? "").trim().replace(/\/+$/, "")
const hasSigV4 =
  (!!process.env.AWS_ACCESS_KEY_ID && !!process.env.AWS_SECRET_ACCESS_KEY) ||
  !!process.env.AWS_PROFILE ||
  (!!process.env.AWS_WEB_IDENTITY_TOKEN_FILE && !!process.env.AWS_ROLE_ARN)

/** Why the S3 tests cannot run, or undefined when they can. */
const s3SkipReason = (): string | undefined => {
  if (s3Uri.length === 0) return "BEDROCK_EMBED_TEST_S3_URI is unset (an s3://bucket/prefix the async job writes to)"
  if (!/^s3:\/\/[^/]+/.test(s3Uri)) return `BEDROCK_EMBED_TEST_S3_URI is not an s3:// URI: ${s3Uri}`
  // The results are read from S3, which takes SigV4 only, not a Bedrock API key.
  if (!hasSigV4) return "reading results from S3 needs SigV4 credentials; AWS_BEARER_TOKEN_BEDROCK alone is not enough"
  return undefined
}

const CALL = 120_000
const ASYNC_JOB = 15 * 60_000

let attempted = 0
let succeeded = 0
let cost = 0
afterAll(() => {
  process.stdout.write(
    `\ntest:aws: ${succeeded} of ${attempted} embedding requests succeeded against ${process.env.BEDROCK_EMBED_AWS_SMOKE_TARGET ?? `AWS in ${region}`}, ` +
      `reported cost $${cost.toFixed(6)}\n`
  )
})

/** Embeds through the public API in the test region. */
const embed = async (request: Parameters<typeof embedding>[0]): Promise<EmbeddingResponse.EmbeddingResponse> => {
  attempted++
  const response = await embedding({ aws_region_name: region, ...request })
  succeeded++
  cost += response._hidden_params.response_cost
  return response
}

const routeless = (model: string): string => model.replace(/^bedrock\//, "").replace(/^async_invoke\//, "")

/** The properties every sync response must have. */
const check = (
  response: EmbeddingResponse.EmbeddingResponse,
  expected: { readonly model: string; readonly count: number; readonly dimension: number; readonly tokens: boolean }
): void => {
  assert.strictEqual(response.object, "list")
  assert.strictEqual(response.model, routeless(expected.model), "model as sent")
  assert.strictEqual(response.data.length, expected.count, "one vector per input")
  response.data.forEach((d, i) => {
    assert.strictEqual(d.index, i)
    assert.isArray(d.embedding)
    const vector = d.embedding as ReadonlyArray<number>
    assert.strictEqual(vector.length, expected.dimension, `vector ${i} has the documented dimension`)
    assert.isTrue(
      vector.every((x) => typeof x === "number" && Number.isFinite(x)),
      `vector ${i}: every value finite`
    )
    assert.isTrue(
      vector.some((x) => x !== 0),
      `vector ${i} is not all zeros`
    )
  })
  if (expected.tokens) assert.isAbove(response.usage.prompt_tokens, 0, "Bedrock reported input tokens")
  assert.isAbove(response._hidden_params.response_cost, 0, "response_cost")
  assert.strictEqual(response._hidden_params.region, region)
  assert.isAtLeast(response._hidden_params.calls, 1)
}

/** A small RGB PNG (32×32, a colour gradient: some models dislike flat images), as a data URL. */
const pngDataUrl = (size = 32): string => {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, "ascii"), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // truecolour
  const rows = Buffer.alloc((size * 3 + 1) * size)
  for (let y = 0; y < size; y++) {
    const row = y * (size * 3 + 1)
    for (let x = 0; x < size; x++) {
      rows[row + 1 + x * 3] = (x * 255) / (size - 1)
      rows[row + 2 + x * 3] = (y * 255) / (size - 1)
      rows[row + 3 + x * 3] = 128
    }
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ])
  return `data:image/png;base64,${png.toString("base64")}`
}

const IMAGE = pngDataUrl()
const TEXTS = ["The cat sat on the mat.", "Quarterly revenue grew 9%.", "Bedrock embeds text and images."]

describe("Titan", () => {
  it(
    "text v1: one text → 1536 floats",
    async () => {
      const model = "bedrock/amazon.titan-embed-text-v1"
      check(await embed({ model, input: TEXTS[0]! }), { model, count: 1, dimension: 1536, tokens: true })
    },
    CALL
  )

  it(
    "text v2 with dimensions 256",
    async () => {
      const model = "bedrock/amazon.titan-embed-text-v2:0"
      check(await embed({ model, input: TEXTS[1]!, dimensions: 256 }), {
        model,
        count: 1,
        dimension: 256,
        tokens: true
      })
    },
    CALL
  )

  it(
    "multimodal image v1: a text and a PNG data URL → 1024 floats each",
    async () => {
      const model = "bedrock/amazon.titan-embed-image-v1"
      const r = await embed({ model, input: [TEXTS[2]!, IMAGE] })
      check(r, { model, count: 2, dimension: 1024, tokens: true })
      assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 1)
    },
    CALL
  )
})

describe("Cohere", () => {
  for (const id of ["cohere.embed-english-v3", "cohere.embed-multilingual-v3"]) {
    const model = `bedrock/${id}`
    it(
      `${id}: several texts in one call`,
      async () => {
        const r = await embed({ model, input: TEXTS, input_type: "search_document" })
        check(r, { model, count: TEXTS.length, dimension: 1024, tokens: true })
        assert.strictEqual(r._hidden_params.calls, 1, "three texts fit one call")
      },
      CALL
    )

    it(
      `${id}: an image`,
      async () => {
        const r = await embed({ model, input: IMAGE })
        // Cohere bills images as tokens, so the cost check covers the token count here.
        check(r, { model, count: 1, dimension: 1024, tokens: false })
      },
      CALL
    )
  }

  it(
    "embed v4 via us.cohere.embed-v4:0 with dimensions 512",
    async () => {
      const model = "bedrock/us.cohere.embed-v4:0"
      const r = await embed({ model, input: TEXTS, dimensions: 512 })
      check(r, { model, count: TEXTS.length, dimension: 512, tokens: true })
    },
    CALL
  )
})

describe("Nova 2 multimodal", () => {
  const model = "bedrock/amazon.nova-2-multimodal-embeddings-v1:0"

  it(
    "a text → 3072 floats (the default)",
    async () => {
      check(await embed({ model, input: TEXTS[0]! }), { model, count: 1, dimension: 3072, tokens: true })
    },
    CALL
  )

  it(
    "an image with dimensions 1024",
    async () => {
      const r = await embed({ model, input: IMAGE, dimensions: 1024 })
      check(r, { model, count: 1, dimension: 1024, tokens: false })
      assert.strictEqual(r.usage.prompt_tokens_details?.image_count, 1)
    },
    CALL
  )
})

describe("TwelveLabs", () => {
  // Marengo 2.7 is left out: end of life on 2026-11-30.
  it(
    "Marengo 3.0 via us.twelvelabs.marengo-embed-3-0-v1:0: a text → 512 floats",
    async () => {
      const model = "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0"
      check(await embed({ model, input: TEXTS[0]! }), { model, count: 1, dimension: 512, tokens: true })
    },
    CALL
  )
})

describe("async invoke", () => {
  it(
    "Nova async_invoke: a text job → awaitBatch → batchResults from S3",
    async (ctx) => {
      const reason = s3SkipReason()
      if (reason !== undefined) {
        process.stdout.write(`test:aws: async job skipped: ${reason}\n`)
        ctx.skip(reason)
      }
      const model = "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"
      const output = `${s3Uri}/bedrock-embed-smoke/${new Date().toISOString().replace(/[:.]/g, "-")}/`
      const submitted = await embed({
        model,
        input: "A short paragraph for the async smoke test: the cat sat on the mat, and the mat was warm.",
        input_type: "text",
        output_s3_uri: output,
        dimensions: 256
      })
      assert.strictEqual(submitted.model, routeless(model))
      const arn = submitted._hidden_params._invocation_arn
      assert.isString(arn)
      assert.match(arn!, /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:async-invoke\/[a-z0-9]+$/)

      const done = await awaitBatch({ batch_id: arn!, aws_region_name: region, timeout: "14 minutes" })
      assert.strictEqual(done.status, "completed", done.metadata.failure_message)
      assert.isTrue(done.metadata.output_file_id.startsWith(output.replace(/\/$/, "")))

      const results = await batchResults({ batch_id: arn!, aws_region_name: region })
      assert.include(results.model, "amazon.nova-2-multimodal-embeddings-v1:0")
      assert.isAtLeast(results.data.length, 1)
      assert.isAtLeast(results.files.length, 1)
      for (const d of results.data) {
        assert.strictEqual(d.modality, "text")
        assert.strictEqual(d.embedding.length, 256)
        assert.isTrue(d.embedding.every((x) => Number.isFinite(x)))
      }
    },
    ASYNC_JOB
  )
})
