import { ModelRoute } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

const ok = (model: string) => {
  const parsed = ModelRoute.parse(model)
  if (Result.isFailure(parsed)) throw new Error(`expected ${model} to parse: ${parsed.failure.message}`)
  return parsed.success
}

describe("ModelRoute.parse", () => {
  it("reads a plain model id", () => {
    const route = ok("bedrock/amazon.titan-embed-text-v2:0")
    assert.strictEqual(route.mode, "sync")
    assert.strictEqual(route.modelId, "amazon.titan-embed-text-v2:0")
    assert.strictEqual(route.baseModelId, "amazon.titan-embed-text-v2:0")
    assert.strictEqual(route.geoPrefix, undefined)
  })

  it("strips geo prefixes from the base id but keeps them in the id sent", () => {
    for (const prefix of ["us", "eu", "apac", "global", "jp", "us-gov"]) {
      const route = ok(`bedrock/${prefix}.cohere.embed-v4:0`)
      assert.strictEqual(route.modelId, `${prefix}.cohere.embed-v4:0`)
      assert.strictEqual(route.baseModelId, "cohere.embed-v4:0")
      assert.strictEqual(route.geoPrefix, prefix)
    }
  })

  it("reads the async route", () => {
    const route = ok("bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0")
    assert.strictEqual(route.mode, "async")
    assert.strictEqual(route.modelId, "amazon.nova-2-multimodal-embeddings-v1:0")
  })

  it("reads foundation-model and inference-profile ARNs, with their region", () => {
    const fm = ok("bedrock/arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
    assert.strictEqual(fm.baseModelId, "amazon.titan-embed-text-v2:0")
    assert.strictEqual(fm.region, "us-east-1")
    assert.strictEqual(fm.modelId, "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
    const ip = ok("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.cohere.embed-v4:0")
    assert.strictEqual(ip.baseModelId, "cohere.embed-v4:0")
    assert.strictEqual(ip.region, "eu-west-1")
  })

  it("reads a region segment and LiteLLM's invoke/ spelling", () => {
    const route = ok("bedrock/us-west-2/invoke/amazon.titan-embed-text-v1")
    assert.strictEqual(route.region, "us-west-2")
    assert.strictEqual(route.modelId, "amazon.titan-embed-text-v1")
  })

  it("routes opaque ARNs through model_id", () => {
    const route = ModelRoute.withModelId(
      ok("bedrock/amazon.titan-embed-text-v2:0"),
      "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123"
    )
    assert.strictEqual(route.baseModelId, "amazon.titan-embed-text-v2:0")
    assert.strictEqual(route.modelId, "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123")
    assert.strictEqual(route.region, "us-west-2")
  })

  it("rejects empty and malformed model strings with a message", () => {
    for (const bad of ["", "bedrock/", "bedrock/arn:aws:s3:::bucket", "bedrock/a b"]) {
      const parsed = ModelRoute.parse(bad)
      assert.isTrue(Result.isFailure(parsed), bad)
      if (Result.isFailure(parsed)) {
        assert.strictEqual(parsed.failure._tag, "InvalidRequestError")
        assert.include(parsed.failure.message, "Invalid model")
      }
    }
  })
})
