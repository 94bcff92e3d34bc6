/**
 * LiteLLM's request surface, as LiteLLM's own tests pin it, checked on the wire against a
 * recording stand-in: `api_base` with a path prefix, `extra_headers`/`headers` forwarded and
 * signed, `timeout` and `num_retries` honoured, LiteLLM's bookkeeping keys dropped, its other
 * spellings read, its per-request prices applied — and model ids as Bedrock has them.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  InvalidRequestError,
  make,
  ModelTimeoutError,
  ServiceUnavailableError,
  ThrottlingError,
  UnsupportedModelError
} from "bedrock-embed"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { type Recorder, recorderParams, startRecorder } from "./recorder.ts"

let recorder: Recorder
const client = make({ engine: { retryBaseDelay: "1 millis", maxRetryDelay: "5 millis" } })
beforeAll(async () => {
  recorder = await startRecorder()
})
afterAll(async () => {
  await client.dispose()
  await recorder.close()
})
beforeEach(() => {
  recorder.reset()
  recorder.answerWith((request) => {
    const dimensions = (request.json as { dimensions?: number } | undefined)?.dimensions ?? 1536
    return { body: { embedding: Array.from({ length: dimensions }, (_, i) => i / dimensions), inputTextTokenCount: 2 } }
  })
})

const TITAN_V1 = "bedrock/amazon.titan-embed-text-v1"
const params = () => recorderParams(recorder)
const call = (request: Record<string, unknown>) => client.embedding({ ...params(), ...request } as never)
const refusal = async (
  request: Record<string, unknown>,
  type: new (...args: never[]) => unknown = InvalidRequestError
) => {
  const error = await call(request).catch((e: unknown) => e)
  assert.instanceOf(error, type)
  return (error as Error).message
}

describe("endpoint, headers and call controls", () => {
  it("api_base keeps its path prefix (LiteLLM's gateway case) and wins over aws_bedrock_runtime_endpoint", async () => {
    await call({
      model: TITAN_V1,
      input: "tester",
      api_base: `${recorder.url}/v1/bedrock-runtime/us-east-1`,
      aws_bedrock_runtime_endpoint: "http://127.0.0.1:9"
    })
    assert.strictEqual(
      recorder.requests[0]!.path,
      "/v1/bedrock-runtime/us-east-1/model/amazon.titan-embed-text-v1/invoke"
    )
    assert.include(
      await refusal({ model: TITAN_V1, input: "x", api_base: "gateway.example.com" }),
      "api_base must be an http(s) URL"
    )
  })

  it("forwards headers then extra_headers over them, values unchanged, and signs them", async () => {
    await call({
      model: TITAN_V1,
      input: "x",
      headers: { "X-Trace": "from-headers", "X-Team": "search" },
      extra_headers: { "X-Trace": "from-extra", "X-Amzn-Bedrock-Trace": "ENABLED" }
    })
    const { headers } = recorder.requests[0]!
    assert.strictEqual(headers["x-trace"], "from-extra")
    assert.strictEqual(headers["x-team"], "search")
    assert.strictEqual(headers["x-amzn-bedrock-trace"], "ENABLED")
    const signed = /SignedHeaders=([^,]+)/.exec(String(headers.authorization))![1]!.split(";")
    for (const name of ["x-trace", "x-team", "x-amzn-bedrock-trace"]) assert.include(signed, name)
  })

  it("refuses headers that would break the signature or the framing, before any call", async () => {
    assert.include(
      await refusal({ model: TITAN_V1, input: "x", extra_headers: { Authorization: "Bearer abc" } }),
      'extra_headers["Authorization"] cannot be set: bedrock-embed signs every call. Pass a Bedrock API key as api_key'
    )
    assert.include(
      await refusal({ model: TITAN_V1, input: "x", headers: { "X-Evil": "a\r\nHost: elsewhere" } }),
      "holds a control character"
    )
    assert.include(await refusal({ model: TITAN_V1, input: "x", headers: { Host: "elsewhere" } }), "cannot be set")
    assert.strictEqual(recorder.requests.length, 0)
  })

  it("timeout is the request's deadline in seconds, retries included: no retry starts after it", async () => {
    recorder.answerWith(() => ({ delayMs: 2_000, body: { embedding: [0], inputTextTokenCount: 1 } }))
    const started = Date.now()
    const error = await call({ model: TITAN_V1, input: "x", timeout: 0.2, num_retries: 1 }).catch((e: unknown) => e)
    const elapsed = Date.now() - started
    assert.instanceOf(error, ModelTimeoutError)
    assert.strictEqual((error as ModelTimeoutError).deadlineMs, 200)
    assert.strictEqual(recorder.requests.length, 1, "the attempt was abandoned at the deadline, not retried")
    assert.isBelow(elapsed, 1_500)
  })

  it("num_retries: 0 (and OpenAI's max_retries) sends a retryable failure once", async () => {
    const unavailable = {
      status: 503,
      headers: {
        "x-amzn-errortype": "ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/"
      },
      body: { message: "Bedrock is unable to process your request." }
    }
    recorder.answerWith(() => unavailable)
    await refusal({ model: TITAN_V1, input: "x", num_retries: 0 }, ServiceUnavailableError)
    assert.strictEqual(recorder.requests.length, 1)
    recorder.reset()
    recorder.answerWith(() => ({
      status: 429,
      headers: { "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/" },
      body: { message: "Too many requests, please wait before trying again." }
    }))
    await refusal({ model: TITAN_V1, input: "x", max_retries: 2 }, ThrottlingError)
    assert.strictEqual(recorder.requests.length, 3)
  })
})

describe("LiteLLM's bookkeeping keys are dropped, not refused, and never reach Bedrock", () => {
  it("metadata, litellm_*, callback, router and chat-only keys", async () => {
    await call({
      model: TITAN_V1,
      input: "x",
      metadata: { user_api_key: "sk-…" },
      litellm_call_id: "abc",
      litellm_logging_obj: {},
      litellm_trace_id: "t",
      cache_control_injection_points: [{ location: "message", role: "system" }],
      caching: false,
      custom_llm_provider: "bedrock",
      langfuse_public_key: "pk",
      tags: ["a"],
      rpm: 10,
      tpm: 1000,
      model_info: { mode: "embedding" },
      api_version: "2024-01-01",
      input_cost_per_second: 0.1,
      output_cost_per_token: 0
    })
    assert.deepStrictEqual(recorder.requests[0]!.json, { inputText: "x" })
  })

  it("LiteLLM's per-request prices price the response", async () => {
    const r = await call({ model: TITAN_V1, input: "x", input_cost_per_token: 0.5 })
    assert.strictEqual(r.usage.prompt_tokens, 2)
    assert.strictEqual(r._hidden_params.response_cost, 1)
  })

  it("other spellings: Cohere v4's output_dimension, Nova's embedding_dimension and truncation_mode", async () => {
    recorder.answerWith((request) => {
      const body = request.json as { output_dimension?: number; singleEmbeddingParams?: { embeddingDimension: number } }
      const n = body.output_dimension ?? body.singleEmbeddingParams?.embeddingDimension ?? 1
      const vector = Array.from({ length: n }, () => 0.5)
      return body.output_dimension === undefined
        ? { body: { embeddings: [{ embeddingType: "TEXT", embedding: vector }] } }
        : { body: { id: "x", response_type: "embeddings_by_type", embeddings: { float: [vector] } } }
    })
    await call({ model: "bedrock/us.cohere.embed-v4:0", input: "x", output_dimension: 512 })
    await call({
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "Hello, world!",
      embedding_dimension: 1024,
      truncation_mode: "END"
    })
    assert.strictEqual((recorder.requests[0]!.json as { output_dimension: number }).output_dimension, 512)
    assert.deepStrictEqual((recorder.requests[1]!.json as { singleEmbeddingParams: unknown }).singleEmbeddingParams, {
      embeddingPurpose: "GENERIC_INDEX",
      embeddingDimension: 1024,
      text: { truncationMode: "END", value: "Hello, world!" }
    })
    assert.include(
      await refusal({ model: "bedrock/us.cohere.embed-v4:0", input: "x", output_dimension: 512, dimensions: 256 }),
      "output_dimension and dimensions disagree"
    )
  })
})

describe("model ids as Bedrock has them", () => {
  it("response.model is the base model when the call went through an application inference profile; the ARN is in _hidden_params", async () => {
    const arn = "arn:aws:bedrock:us-east-1:123412341234:application-inference-profile/abc123123"
    const r = await call({ model: "bedrock/amazon.titan-embed-text-v1", model_id: arn, input: ["tester"] })
    assert.strictEqual(
      recorder.requests[0]!.path,
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123412341234%3Aapplication-inference-profile%2Fabc123123/invoke"
    )
    assert.strictEqual(r.model, "amazon.titan-embed-text-v1")
    assert.strictEqual(r._hidden_params.model_id, arn)
    const viaArn = await call({
      model: "bedrock/arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1",
      input: "x"
    })
    assert.strictEqual(viaArn.model, "amazon.titan-embed-text-v1")
  })

  it("provisioned-throughput ids with a :<n>:<ctx> suffix route, and are sent as given", async () => {
    const r = await call({ model: "bedrock/amazon.titan-embed-text-v1:2:8k", input: "x" })
    assert.strictEqual(recorder.requests[0]!.path, "/model/amazon.titan-embed-text-v1%3A2%3A8k/invoke")
    assert.strictEqual(r.model, "amazon.titan-embed-text-v1:2:8k")
    assert.strictEqual(r.data[0]!.embedding.length, 1536)
  })

  it("ids Bedrock rejects fail before the call, with the right id in the hint", async () => {
    assert.include(
      await refusal({ model: "bedrock/amazon.titan-embed-text-v2", input: "x" }),
      'Bedrock has no model id "amazon.titan-embed-text-v2"; use "bedrock/amazon.titan-embed-text-v2:0"'
    )
    assert.include(
      await refusal({ model: "bedrock/us.amazon.nova-2-multimodal-embeddings-v1", input: "x" }),
      'use "bedrock/us.amazon.nova-2-multimodal-embeddings-v1:0"'
    )
    assert.include(
      await refusal({ model: "bedrock/acme.embed-v9", input: "x" }, UnsupportedModelError),
      "Known families"
    )
    assert.strictEqual(recorder.requests.length, 0)
  })
})
