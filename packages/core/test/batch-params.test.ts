/** The batch inference control-plane endpoint is a target parameter of the request, like the S3 one. */
import { EmbeddingRequest } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("aws_bedrock_endpoint", () => {
  it.effect("is a known request field (a target parameter), not a model parameter", () =>
    Effect.gen(function* () {
      const decoded = yield* EmbeddingRequest.decode({
        model: "bedrock/acme.embed-text-v2:0",
        input: ["a"],
        aws_bedrock_endpoint: "http://127.0.0.1:4100",
        aws_s3_endpoint: "http://127.0.0.1:4200"
      })
      assert.strictEqual(decoded.known.aws_bedrock_endpoint, "http://127.0.0.1:4100")
      assert.deepStrictEqual(decoded.extras, {})
    })
  )

  it.effect("must be a string", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        EmbeddingRequest.decode({ model: "bedrock/acme.embed-text-v2:0", input: "a", aws_bedrock_endpoint: 42 })
      )
      assert.strictEqual(error._tag, "InvalidRequestError")
      assert.include(error.message, "aws_bedrock_endpoint")
    })
  )
})
