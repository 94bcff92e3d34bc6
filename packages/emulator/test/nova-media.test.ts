/** Nova 2 SINGLE_EMBEDDING of video, audio and images, inline or from the emulator's S3 (bedrock-wire.md §4.6). */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, beforeAll, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const ID = "amazon.nova-2-multimodal-embeddings-v1:0"
const emulator = useEmulator({ s3: true })
const invoke = (body: unknown) => emulator.invoke(ID, body)
const rejects = (body: unknown, message: string) => emulator.rejects(ID, body, message)
const single = (params: Record<string, unknown>) => ({
  schemaVersion: "nova-multimodal-embed-v1",
  taskType: "SINGLE_EMBEDDING",
  singleEmbeddingParams: { embeddingPurpose: "VIDEO_RETRIEVAL", embeddingDimension: 1024, ...params }
})
const s3 = (uri: string) => ({ s3Location: { uri } })

beforeAll(async () => {
  await emulator.put("s3://media/clip.mp4", { base64: Fixtures.mp4(12) })
  await emulator.put("s3://media/long.mp4", { base64: Fixtures.mp4(31) })
  await emulator.put("s3://media/voice.wav", { base64: Fixtures.wav(3) })
  await emulator.put("s3://media/photo.jpg", { base64: Fixtures.jpeg(16, 16) })
  await emulator.put("s3://media/notes.txt", "Nova reads text from S3 too.")
})

describe("Nova SINGLE_EMBEDDING media", () => {
  it("AUDIO_VIDEO_COMBINED gives one embedding, AUDIO_VIDEO_SEPARATE two: VIDEO then AUDIO", async () => {
    const combined = await invoke(
      single({ video: { format: "mp4", source: s3("s3://media/clip.mp4"), embeddingMode: "AUDIO_VIDEO_COMBINED" } })
    )
    assert.deepStrictEqual(
      combined.embeddings.map((e: { embeddingType: string }) => e.embeddingType),
      ["AUDIO_VIDEO_COMBINED"]
    )
    assert.lengthOf(combined.embeddings[0].embedding, 1024)
    const separate = await invoke(
      single({
        video: { format: "mp4", source: { bytes: Fixtures.mp4(12) }, embeddingMode: "AUDIO_VIDEO_SEPARATE" }
      })
    )
    assert.deepStrictEqual(
      separate.embeddings.map((e: { embeddingType: string }) => e.embeddingType),
      ["VIDEO", "AUDIO"]
    )
    assert.notDeepEqual(separate.embeddings[0].embedding, separate.embeddings[1].embedding)
  })

  it("reads the S3 object: the same media inline or from S3 embeds alike", async () => {
    const fromS3 = await invoke(
      single({ video: { format: "mp4", source: s3("s3://media/clip.mp4"), embeddingMode: "AUDIO_VIDEO_COMBINED" } })
    )
    const inline = await invoke(
      single({ video: { format: "mp4", source: { bytes: Fixtures.mp4(12) }, embeddingMode: "AUDIO_VIDEO_COMBINED" } })
    )
    assert.deepStrictEqual(fromS3.embeddings[0].embedding, inline.embeddings[0].embedding)
    const audio = await invoke(single({ audio: { format: "wav", source: s3("s3://media/voice.wav") } }))
    assert.strictEqual(audio.embeddings[0].embeddingType, "AUDIO")
    const image = await invoke(single({ image: { format: "jpeg", source: s3("s3://media/photo.jpg") } }))
    assert.strictEqual(image.embeddings[0].embeddingType, "IMAGE")
    const text = await invoke(single({ text: { truncationMode: "END", source: s3("s3://media/notes.txt") } }))
    const same = await invoke(single({ text: { truncationMode: "END", value: "Nova reads text from S3 too." } }))
    assert.deepStrictEqual(text.embeddings[0].embedding, same.embeddings[0].embedding)
  })

  it("rejects a missing S3 object, naming its URI", async () => {
    await rejects(
      single({ video: { format: "mp4", source: s3("s3://media/nope.mp4"), embeddingMode: "AUDIO_VIDEO_COMBINED" } }),
      "s3://media/nope.mp4"
    )
    await rejects(single({ text: { truncationMode: "END", source: s3("s3://media/none.txt") } }), "s3://media/none.txt")
  })

  it("rejects video or audio longer than 30 s, and video without embeddingMode", async () => {
    await rejects(
      single({ video: { format: "mp4", source: s3("s3://media/long.mp4"), embeddingMode: "AUDIO_VIDEO_COMBINED" } }),
      "at most 30 seconds"
    )
    await rejects(single({ audio: { format: "wav", source: { bytes: Fixtures.wav(30.5) } } }), "at most 30 seconds")
    await rejects(
      single({ video: { format: "mp4", source: { bytes: Fixtures.mp4(5) } } }),
      "#/singleEmbeddingParams/video: required key [embeddingMode] not found"
    )
    await rejects(single({ audio: { format: "mp3", source: { bytes: Fixtures.wav(2) } } }), "the bytes are not mp3")
  })
})
