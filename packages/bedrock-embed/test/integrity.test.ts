/**
 * Vector integrity against a stand-in that is not the emulator: a vector of the wrong length, an
 * empty one, or one whose values overflow float32 is a ResponseDecodeError naming the model, the
 * input and the fault — never a 200 with a broken vector, on the Promise API and the stream path.
 */
import { Embeddings } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { BedrockEmbed, make, ResponseDecodeError } from "bedrock-embed"
import { Effect, Stream } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { type Recorder, recorderParams, startRecorder } from "./recorder.ts"

let recorder: Recorder
const client = make({ engine: { retryBaseDelay: "1 millis" } })
beforeAll(async () => {
  recorder = await startRecorder()
})
afterAll(async () => {
  await client.dispose()
  await recorder.close()
})
beforeEach(() => recorder.reset())

const TITAN = "bedrock/amazon.titan-embed-text-v2:0"
const floats = (n: number) => Array.from({ length: n }, (_, i) => ((i % 13) - 6) / 50)
const titanBody = (embedding: ReadonlyArray<number> | string) =>
  typeof embedding === "string"
    ? `{"embedding":${embedding},"inputTextTokenCount":3}`
    : { embedding, inputTextTokenCount: 3, embeddingsByType: { float: embedding } }

const failure = async (request: Record<string, unknown>) => {
  const error = await client.embedding({ ...recorderParams(recorder), ...request } as never).catch((e: unknown) => e)
  assert.instanceOf(error, ResponseDecodeError)
  return error as ResponseDecodeError
}

describe("every decoded vector is checked", () => {
  it("a vector one short of the dimension asked for", async () => {
    recorder.enqueue({ body: titanBody(floats(255)) })
    const error = await failure({ model: TITAN, input: "a", dimensions: 256 })
    assert.strictEqual(
      error.message,
      "Bedrock's response for amazon.titan-embed-text-v2:0 holds an invalid embedding: input[0]: the vector has 255 values; expected 256."
    )
    assert.strictEqual(error.modelId, "amazon.titan-embed-text-v2:0")
    assert.strictEqual(error.requestId, "recorder-1")
  })

  it("a vector of the default dimension when none was asked for, and of a model's fixed one", async () => {
    recorder.enqueue({ body: titanBody(floats(512)) })
    assert.include((await failure({ model: TITAN, input: "a" })).message, "the vector has 512 values; expected 1024")
    recorder.enqueue({
      body: { embeddings: [floats(1024), floats(1023)], id: "x", response_type: "embeddings_floats" }
    })
    const cohere = await failure({ model: "bedrock/cohere.embed-english-v3", input: ["a", "b"] })
    assert.include(cohere.message, "input[1]: the vector has 1023 values; expected 1024")
  })

  it("an empty vector", async () => {
    recorder.enqueue({ body: titanBody([]) })
    assert.include((await failure({ model: TITAN, input: "a" })).message, "input[0]: the vector is empty")
  })

  it("a value that is a double but overflows float32 (1e39), in every notation", async () => {
    for (const spelling of ["1e39", "1E+39", "-3.5e38", "1000000000000000000000000000000000000000.0"]) {
      const text = floats(256).map(String)
      text[17] = spelling
      recorder.enqueue({ body: titanBody(`[${text.join(",")}]`) })
      const error = await failure({ model: TITAN, input: "a", dimensions: 256 })
      assert.include(error.message, `input[0]: value ${Number(spelling)} at position 17 is not a finite float32 number`)
    }
  })

  it("the largest float32 values are still finite and pass", async () => {
    const vector = floats(256)
    vector[3] = 3.4028234663852886e38
    vector[4] = -3.4028234663852886e38
    recorder.enqueue({ body: titanBody(vector) })
    const r = await client.embedding({ ...recorderParams(recorder), model: TITAN, input: "a", dimensions: 256 })
    assert.deepStrictEqual(r.data[0]!.embedding, vector)
  })

  it("every embedding type and modality: packed binary is dimension / 8, by-modality vectors the dimension", async () => {
    recorder.enqueue({
      body: {
        id: "x",
        response_type: "embeddings_by_type",
        embeddings: { float: [floats(512)], ubinary: [floats(65)] }
      }
    })
    const cohere = await failure({
      model: "bedrock/cohere.embed-v4:0",
      input: "a",
      dimensions: 512,
      embedding_types: ["float", "ubinary"]
    })
    assert.include(cohere.message, "input[0] (embedding type ubinary): the vector has 65 values; expected 64")
    recorder.enqueue({
      body: {
        embeddings: [
          { embeddingType: "VIDEO", embedding: floats(256) },
          { embeddingType: "AUDIO", embedding: floats(255) }
        ]
      }
    })
    const nova = await failure({
      model: "bedrock/amazon.nova-2-multimodal-embeddings-v1:0",
      input: "s3://media/clip.mp4",
      embeddingMode: "AUDIO_VIDEO_SEPARATE",
      dimensions: 256
    })
    assert.include(nova.message, "input[0] (modality audio): the vector has 255 values; expected 256")
  })
})

describe("the stream path", () => {
  it("gives an error item for the broken vector and keeps the others", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        recorder.answerWith((request) => {
          const text = (request.json as { inputText: string }).inputText
          return {
            body: titanBody(text === "bad" ? `[${[...floats(255).map(String), "1e39"].join(",")}]` : floats(256))
          }
        })
        const engine = yield* Embeddings.Embeddings
        const items = yield* Stream.runCollect(
          engine.embedStream(
            { model: TITAN, dimensions: 256, ...recorderParams(recorder) },
            Stream.fromIterable(["good", "bad", "fine"])
          )
        )
        const sorted = [...items].sort((a, b) => a.index - b.index)
        assert.deepStrictEqual(
          sorted.map((item) => ("error" in item ? item.error._tag : item.embedding.length)),
          [256, "ResponseDecodeError", 256]
        )
        const bad = sorted[1]!
        assert.isTrue(
          "error" in bad && bad.error.message.includes("value Infinity at position 255 is not a finite float32 number")
        )
      }).pipe(Effect.provide(BedrockEmbed.layer({ engine: { retryBaseDelay: "1 millis" } })), Effect.scoped)
    ))
})
