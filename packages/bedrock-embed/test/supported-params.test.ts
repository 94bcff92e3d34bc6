/**
 * "Supported parameters: …" says only what is true: for every model, every parameter the message
 * lists is accepted (with a valid value, on an input and route it applies to) and shapes the
 * body, and a parameter it does not list is refused. Nothing is sent: this checks the planner.
 */
import type { ModelSpec } from "@bedrock-embed/core"
import * as testing from "@bedrock-embed/core/testing"
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed } from "bedrock-embed"
import { Effect } from "effect"

const png = `data:image/png;base64,${Fixtures.png(2, 2)}`
const mp4 = `data:video/mp4;base64,${Fixtures.mp4(3)}`
const wav = `data:audio/wav;base64,${Fixtures.wav(2)}`

/** A valid value of each parameter any model lists (a new parameter without one fails the test). */
const values: Readonly<Record<string, (spec: ModelSpec.Any) => unknown>> = {
  dimensions: (spec) => spec.capabilities.dimensions?.[0],
  encoding_format: () => "base64",
  input_type: () => "text",
  normalize: () => false,
  embeddingTypes: () => ["float", "binary"],
  truncate: () => "NONE",
  embedding_types: () => ["int8"],
  max_tokens: () => 512,
  embeddingPurpose: () => "GENERIC_RETRIEVAL",
  truncationMode: () => "START",
  detailLevel: () => "DOCUMENT_IMAGE",
  embeddingMode: () => "AUDIO_VIDEO_SEPARATE",
  maxLengthChars: () => 1000,
  durationSeconds: () => 7,
  textTruncate: () => "none",
  bucketOwner: () => "123456789012",
  startSec: () => 1,
  lengthSec: () => 2,
  endSec: () => 2,
  useFixedLengthSec: () => 3,
  minClipSec: () => 2,
  embeddingOption: (spec) => (spec.id.includes("2-7") ? ["audio"] : ["visual"]),
  segmentation: () => ({ method: "fixed", fixed: { durationSec: 2 } }),
  embeddingType: () => ["fused_embedding"],
  embeddingScope: () => ["asset"],
  inferenceId: () => "req-42"
}

const inputs: Record<string, string> = { text: "a text", image: png, video: mp4, audio: wav }

/** The parameters the model's refusal of an unknown one lists. */
const listed = (spec: ModelSpec.Any) =>
  Effect.gen(function* () {
    const prefix = spec.capabilities.syncViaProfile ? "bedrock/us." : "bedrock/"
    const error = yield* Effect.flip(
      testing.planFor(spec, { model: `${prefix}${spec.id}`, input: "x", zzz_not_a_param: 1 })
    )
    assert.strictEqual(error._tag === "InvalidRequestError" ? error.param : undefined, "zzz_not_a_param")
    const match = /Supported parameters: (.*?)\. Remove it/.exec(error.message)
    assert.isNotNull(match, error.message)
    return match![1]!.split(", ")
  })

const plannedBody = (spec: ModelSpec.Any, param: string, value: unknown) =>
  Effect.gen(function* () {
    const field = spec.paramAliases?.[param] ?? param
    const scope = spec.paramScopes?.[field]
    const kind = scope?.kinds?.find((k) => k in inputs) ?? "text"
    const mode =
      scope?.modes?.includes("sync") === false || !spec.capabilities.sync.includes(kind as never) ? "async" : "sync"
    const prefix =
      mode === "async" ? "bedrock/async_invoke/" : spec.capabilities.syncViaProfile ? "bedrock/us." : "bedrock/"
    const request = {
      model: `${prefix}${spec.id}`,
      input: scope?.s3 === true ? "s3://bucket/photo.png" : inputs[kind]!,
      ...(mode === "async" ? { output_s3_uri: "s3://bucket/out/", input_type: kind } : {}),
      [param]: value
    }
    if (mode === "async") return (yield* testing.jobsFor(spec, request))[0]
    return JSON.parse((yield* testing.planFor(spec, request)).calls[0]!.body) as unknown
  })

describe("every parameter a model lists is one it takes", () => {
  for (const spec of BedrockEmbed.specs) {
    it.effect(`${spec.id}`, () =>
      Effect.gen(function* () {
        const names = yield* listed(spec)
        assert.include(names, "input_type")
        for (const name of names) {
          const field = spec.paramAliases?.[name] ?? name
          const valueFor = values[field]
          assert.isDefined(valueFor, `no test value for ${name} (${spec.id})`)
          const value = valueFor!(spec)
          const body = yield* plannedBody(spec, name, value).pipe(
            Effect.mapError((error) => new Error(`${spec.id} lists ${name} but refuses it: ${error.message}`))
          )
          // A model parameter shapes the body: its value appears in it (OpenAI-level ones are mapped).
          if (name in spec.params.fields) {
            assert.include(
              JSON.stringify(body),
              JSON.stringify(value).slice(1, -1),
              `${name} reaches the body of ${spec.id}`
            )
          }
        }
      })
    )
  }
})
