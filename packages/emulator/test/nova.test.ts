/** The emulator's Nova model through the official SDK. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const ID = "amazon.nova-2-multimodal-embeddings-v1:0"
const emulator = useEmulator()
const invoke = (body: unknown) => emulator.invoke(ID, body)
const rejects = (body: unknown, message: string) => emulator.rejects(ID, body, message)

const single = (params: Record<string, unknown>) => ({
  schemaVersion: "nova-multimodal-embed-v1",
  taskType: "SINGLE_EMBEDDING",
  singleEmbeddingParams: { embeddingPurpose: "GENERIC_INDEX", ...params }
})
describe("Nova SINGLE_EMBEDDING", () => {
  it("embeds text and images with the requested dimension", async () => {
    const text = await invoke(single({ embeddingDimension: 384, text: { truncationMode: "END", value: "hello" } }))
    assert.strictEqual(text.embeddings[0].embeddingType, "TEXT")
    assert.strictEqual(text.embeddings[0].embedding.length, 384)
    const image = await invoke(single({ image: { format: "png", source: { bytes: Fixtures.png(3, 3) } } }))
    assert.strictEqual(image.embeddings[0].embeddingType, "IMAGE")
    assert.strictEqual(image.embeddings[0].embedding.length, 3072)
  })

  it("truncates text beyond the 8K-token context per truncationMode and reports the length kept", async () => {
    // About 10 000 tokens: words of up to four letters count one token each.
    const long = Array.from({ length: 10_000 }, (_, i) => `w${i % 97}`).join(" ")
    const end = await invoke(single({ text: { truncationMode: "END", value: long } }))
    const start = await invoke(single({ text: { truncationMode: "START", value: long } }))
    const kept = end.embeddings[0].truncatedCharLength
    assert.isAbove(kept, 30_000)
    assert.isBelow(kept, long.length)
    assert.isAbove(start.embeddings[0].truncatedCharLength, 30_000)
    assert.notDeepEqual(start.embeddings[0].embedding, end.embeddings[0].embedding)
    const short = await invoke(single({ text: { truncationMode: "END", value: "short" } }))
    assert.notProperty(short.embeddings[0], "truncatedCharLength")
    await rejects(single({ text: { truncationMode: "NONE", value: long } }), "the maximum is 8192")
  })

  it("validates as Bedrock does", async () => {
    await rejects(
      { taskType: "SINGLE_EMBEDDING", singleEmbeddingParams: { text: { truncationMode: "END", value: "x" } } },
      "required key [embeddingPurpose] not found"
    )
    await rejects(
      single({ embeddingDimension: 512, text: { truncationMode: "END", value: "x" } }),
      "512 is not a valid enum value"
    )
    await rejects(single({ text: { value: "x" } }), "required key [truncationMode] not found")
    await rejects(single({}), "exactly one of text, image, video or audio")
    await rejects(single({ image: { format: "bmp", source: { bytes: "Qk0=" } } }), "bmp is not a valid enum value")
    await rejects(
      single({ image: { format: "jpeg", source: { bytes: Fixtures.png(1, 1) } } }),
      "the bytes are not jpeg"
    )
    await rejects(
      { schemaVersion: "nova-multimodal-embed-v1", taskType: "SEGMENTED_EMBEDDING", segmentedEmbeddingParams: {} },
      "only supported through StartAsyncInvoke"
    )
  })
})
