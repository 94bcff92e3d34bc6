/** The general limits of the provider contract, through the engine's own planner, on a made-up model. */
import { ModelSpec } from "@bedrock-embed/core"
import { conformance, jobsFor, planFor } from "@bedrock-embed/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const image = `data:image/png;base64,${png}`

const AsyncRequest = Schema.Struct({ kind: Schema.Literals(["text", "image"]), count: Schema.Number })

const spec = ModelSpec.make({
  id: "acme.embed-v1",
  family: "acme",
  matches: (base) => base === "acme.embed-v1",
  capabilities: {
    sync: ["text", "image", "text_image"],
    async: ["text"],
    maxInputsPerCall: 3,
    defaultDimension: 2,
    maxTextChars: { sync: 5, async: 10 },
    media: { image: { formats: ["png"], maxBytes: 1000, sources: ["Base64"], maxPerCall: 2 } }
  },
  supportedParams: [],
  params: Schema.Struct({}),
  request: Schema.Struct({ count: Schema.Number }),
  response: Schema.Struct({ vectors: ModelSpec.Vectors }),
  encode: (batch) => ({ count: batch.length }),
  decode: (body) => ({ vectors: body.vectors }),
  price: { perInputToken: 1 },
  // Typed by its schema: `encode` must return what `request` describes, no cast.
  async: {
    request: AsyncRequest,
    encode: (input): typeof AsyncRequest.Type => ({ kind: input.kind === "image" ? "image" : "text", count: 1 }),
    decode: () => ({ segments: [] })
  }
})

conformance(spec, {
  examples: [
    {
      name: "four texts in two calls",
      request: { model: "bedrock/acme.embed-v1", input: ["a", "b", "c", "d"] },
      bodies: [{ count: 3 }, { count: 1 }]
    }
  ]
})

describe("ModelSpec limits", () => {
  it.effect("batches each kind at the lowest limit of the modalities it carries", () =>
    Effect.gen(function* () {
      const planned = yield* planFor(spec, {
        model: "bedrock/acme.embed-v1",
        input: ["a", image, "b", image, image, { text: "c", image }, "d", { text: "e", image }, { text: "f", image }]
      })
      assert.deepStrictEqual(
        planned.calls.map((call) => call.indices),
        [[0, 2, 6], [1, 3], [4], [5, 7], [8]]
      )
    })
  )

  it.effect("holds text to the route's own limit and names the async route's on a sync refusal", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(planFor(spec, { model: "bedrock/acme.embed-v1", input: "abcdefg" }))
      assert.include(
        error.message,
        "has 7 characters; acme.embed-v1 accepts at most 5 synchronously (up to 10 through bedrock/async_invoke/acme.embed-v1). Split the text into smaller chunks."
      )
      const jobs = yield* jobsFor(spec, {
        model: "bedrock/async_invoke/acme.embed-v1",
        input: "abcdefg",
        input_type: "text",
        output_s3_uri: "s3://bucket/out/"
      })
      assert.deepStrictEqual(jobs, [{ kind: "text", count: 1 }])
      const tooLong = yield* Effect.flip(
        jobsFor(spec, {
          model: "bedrock/async_invoke/acme.embed-v1",
          input: "abcdefghijk",
          input_type: "text",
          output_s3_uri: "s3://bucket/out/"
        })
      )
      assert.include(tooLong.message, "accepts at most 10. Split the text into smaller chunks.")
    })
  )
})
