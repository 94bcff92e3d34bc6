/**
 * The provider conformance suite: every provider package runs it against its own specs, with the
 * documented wire examples of its models. It checks what the engine relies on — the request
 * schema accepts what the codec encodes, the encoded bodies equal the documented bodies field for
 * field, documented responses decode to the right number of vectors of the right size, and bad
 * inputs fail with typed errors before anything is sent.
 *
 * Import from `@bedrock-embed/core/testing` inside a vitest test file. It also has {@link listen},
 * for the `node:http` stand-ins that tests put in place of Bedrock.
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import type * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, type Scope } from "effect"
import * as EmbeddingRequest from "./EmbeddingRequest.ts"
import { modalitiesOf } from "./internal/grouping.ts"
import { isModalityType } from "./internal/params.ts"
import type * as Media from "./Media.ts"
import type * as ModelSpec from "./ModelSpec.ts"
import * as Plan from "./Plan.ts"
import * as ProviderRegistry from "./ProviderRegistry.ts"

/**
 * A documented example: a request, the bodies it must produce, and responses to decode.
 *
 * @category models
 * @since 0.1.0
 */
export interface Example {
  readonly name: string
  /** The request as a caller writes it. */
  readonly request: EmbeddingRequest.EmbeddingRequest
  /** The documented body of each InvokeModel call, in call order. */
  readonly bodies: ReadonlyArray<unknown>
  /** A documented response body for each call (defaults to none: bodies only). */
  readonly responses?: ReadonlyArray<unknown> | undefined
  /** What the responses decode to. */
  readonly vectors?: { readonly count: number; readonly dimension: number } | undefined
}

/**
 * A request that must fail before the network.
 *
 * @category models
 * @since 0.1.0
 */
export interface BadInput {
  readonly name: string
  readonly request: EmbeddingRequest.EmbeddingRequest
  /** The expected error tag. */
  readonly error: "InvalidRequestError" | "UnsupportedModelError"
  /** A fragment the message must contain. */
  readonly message: string
}

/**
 * A documented response that must be rejected as not matching the model's shape.
 *
 * @category models
 * @since 0.1.0
 */
export interface BadResponse {
  readonly name: string
  readonly response: unknown
}

/**
 * The fixtures of one model.
 *
 * @category models
 * @since 0.1.0
 */
export interface Fixtures {
  readonly examples: ReadonlyArray<Example>
  readonly badInputs?: ReadonlyArray<BadInput> | undefined
  readonly badResponses?: ReadonlyArray<BadResponse> | undefined
}

/** A registry with the one spec under test. */
const registryOf = (spec: ModelSpec.Any): ProviderRegistry.Service => {
  const registry = ProviderRegistry.make()
  registry.add([spec])
  return registry
}

/**
 * Plans a request for a spec as the engine would: decode, route, resolve, check, encode.
 *
 * @category planning
 * @since 0.1.0
 */
export const planFor = (spec: ModelSpec.Any, request: EmbeddingRequest.EmbeddingRequest) =>
  Effect.gen(function* () {
    const decoded = yield* EmbeddingRequest.decode(request)
    const registry = registryOf(spec)
    // The engine's own front end: the route, the spec, Bedrock's id rules, the checks and the bodies.
    const { plan, calls } = yield* Plan.planAll(registry, decoded)
    return { options: plan.options, inputs: plan.inputs, calls }
  })

/**
 * The async-invoke `modelInput`s a request would submit, through the engine's front end.
 *
 * @category testing
 * @since 0.1.0
 */
export const jobsFor = (spec: ModelSpec.Any, request: EmbeddingRequest.EmbeddingRequest) =>
  Effect.gen(function* () {
    const decoded = yield* EmbeddingRequest.decode(request)
    const registry = registryOf(spec)
    const { plan } = yield* Plan.planRequest(registry, decoded)
    return yield* Effect.forEach(plan.inputs, (_, i) => Plan.encodeJob(spec, plan, i))
  })

const textKinds: ReadonlyArray<Media.InputKind> = ["text", "text_image", "multi_input"]

/** Limits are positive integers: inputs per call (overall and per modality) and text lengths. */
const checkLimits = (spec: ModelSpec.Any): void => {
  const caps = spec.capabilities
  assert.isTrue(Number.isInteger(caps.maxInputsPerCall) && caps.maxInputsPerCall >= 1, "maxInputsPerCall ≥ 1")
  for (const kind of [...caps.sync, ...caps.async]) {
    for (const modality of modalitiesOf(kind)) assert.isDefined(caps.media?.[modality], `limits for ${modality}`)
  }
  for (const [modality, limits] of Object.entries(caps.media ?? {})) {
    if (limits?.maxPerCall === undefined) continue
    assert.isTrue(Number.isInteger(limits.maxPerCall) && limits.maxPerCall >= 1, `${modality} maxPerCall ≥ 1`)
  }
  const text = caps.maxTextChars
  if (text === undefined) return
  const routes: ReadonlyArray<readonly [number | undefined, ReadonlyArray<Media.InputKind>]> =
    typeof text === "number"
      ? [[text, [...caps.sync, ...caps.async]]]
      : [
          [text.sync, caps.sync],
          [text.async, caps.async]
        ]
  for (const [limit, kinds] of routes) {
    if (limit === undefined) continue
    assert.isTrue(Number.isInteger(limit) && limit >= 1, "maxTextChars ≥ 1")
    assert.isTrue(
      kinds.some((kind) => textKinds.includes(kind)),
      "maxTextChars limits a route that takes text"
    )
  }
}

/** The fields that go together: `input_type` values and the parameter, async kinds and the codec. */
const checkPairs = (spec: ModelSpec.Any): void => {
  const caps = spec.capabilities
  const inputTypes = caps.inputTypes
  assert.strictEqual(
    inputTypes !== undefined,
    spec.supportedParams.includes("input_type"),
    "capabilities.inputTypes goes with supportedParams input_type"
  )
  if (inputTypes !== undefined) {
    assert.isAbove(inputTypes.length, 0, "inputTypes lists some")
    assert.strictEqual(new Set(inputTypes).size, inputTypes.length, "inputTypes are unique")
    for (const value of inputTypes) assert.isFalse(isModalityType(value), `input type ${value} is a modality name`)
  }
  assert.strictEqual(spec.async !== undefined, caps.async.length > 0, "an async codec goes with async kinds")
  if (caps.batchInference === true) assert.isAbove(caps.sync.length, 0, "batch records are InvokeModel bodies")
  if (spec.expectedLength !== undefined) {
    for (const dimension of caps.dimensions ?? [caps.defaultDimension]) {
      assert.strictEqual(spec.expectedLength(undefined, dimension), dimension, "a float vector has the dimension")
    }
  }
}

/**
 * Registers the conformance tests of one model spec.
 *
 * @category testing
 * @since 0.1.0
 */
export const conformance = (spec: ModelSpec.Any, fixtures: Fixtures): void => {
  describe(`${spec.id} conformance`, () => {
    it("declares consistent capabilities and a price", () => {
      const caps = spec.capabilities
      assert.isTrue(caps.sync.length + caps.async.length > 0, "the model accepts some input")
      if (caps.dimensions !== undefined) assert.include(caps.dimensions, caps.defaultDimension)
      assert.isTrue(spec.matches(spec.id), "the spec matches its own id")
      assert.isAbove(Object.keys(spec.price).length, 0, "the spec has a price")
      checkLimits(spec)
      checkPairs(spec)
    })

    for (const example of fixtures.examples) {
      it.effect(`encodes the documented body: ${example.name}`, () =>
        Effect.gen(function* () {
          const planned = yield* planFor(spec, example.request)
          // The wire body went through the request schema: what the codec encodes, the schema accepts.
          assert.deepStrictEqual(
            planned.calls.map((call) => JSON.parse(call.body)),
            example.bodies
          )
          if (example.responses === undefined) return
          assert.strictEqual(example.responses.length, planned.calls.length, "one response per call")
          let count = 0
          for (let i = 0; i < planned.calls.length; i++) {
            const call = planned.calls[i]!
            const body = yield* Schema.decodeUnknownEffect(spec.response)(example.responses[i])
            const decoded = spec.decode(body, call.items, planned.options)
            assert.strictEqual(decoded.vectors.length, call.items.length, "one vector per input")
            for (const vector of decoded.vectors) {
              if (example.vectors !== undefined) assert.strictEqual(vector.length, example.vectors.dimension)
              assert.isTrue(
                vector.every((x) => typeof x === "number" && Number.isFinite(x)),
                "vectors hold finite numbers"
              )
            }
            count += decoded.vectors.length
          }
          if (example.vectors !== undefined) assert.strictEqual(count, example.vectors.count)
        })
      )
    }

    for (const bad of fixtures.badInputs ?? []) {
      it.effect(`rejects before sending: ${bad.name}`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(planFor(spec, bad.request))
          assert.strictEqual(error._tag, bad.error)
          assert.include(error.message, bad.message)
        })
      )
    }

    for (const bad of fixtures.badResponses ?? []) {
      it(`rejects a malformed response: ${bad.name}`, () => {
        assert.throws(() => Schema.decodeUnknownSync(spec.response)(bad.response))
      })
    }
  })
}

/**
 * Listens on an ephemeral `127.0.0.1` port for the scope's lifetime and returns the port; when the
 * scope closes, open connections are destroyed (hung requests too) and the server is closed.
 *
 * @category stand-ins
 * @since 0.1.0
 */
export const listen = (server: Http.Server): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
    }),
    () =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
