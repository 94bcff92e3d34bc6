import { EmbeddingRequest } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("EmbeddingRequest.decode", () => {
  it.effect("splits known fields from provider parameters", () =>
    Effect.gen(function* () {
      const decoded = yield* EmbeddingRequest.decode({
        model: "bedrock/amazon.titan-embed-text-v2:0",
        input: ["a"],
        dimensions: 256,
        normalize: false,
        user: undefined
      })
      assert.strictEqual(decoded.known.dimensions, 256)
      assert.deepStrictEqual(decoded.extras, { normalize: false })
    })
  )

  it.effect("rejects bad requests with a typed error naming the problem", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [null, "must be an object"],
        [{ input: "x" }, "`model` is required"],
        [{ model: "bedrock/x" }, "`input` is required"],
        [{ model: "bedrock/x", input: [1, 2, 3] }, "token ids"],
        [{ model: "bedrock/x", input: "x", dimensions: -3 }, "dimensions"],
        [{ model: "bedrock/x", input: "x", encoding_format: "int8" }, "encoding_format"]
      ]
      for (const [request, fragment] of cases) {
        const error = yield* Effect.flip(EmbeddingRequest.decode(request))
        assert.strictEqual(error._tag, "InvalidRequestError")
        assert.include(error.message, fragment)
      }
    })
  )
})
