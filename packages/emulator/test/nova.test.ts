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

  it("truncates long text per truncationMode and reports it", async () => {
    const long = "x".repeat(9000)
    const cut = await invoke(single({ text: { truncationMode: "START", value: long } }))
    assert.strictEqual(cut.embeddings[0].truncatedCharLength, 808)
    await rejects(single({ text: { truncationMode: "NONE", value: long } }), "maximum is 8192")
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
