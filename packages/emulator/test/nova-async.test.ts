/** Nova SEGMENTED_EMBEDDING jobs whose segments fail as AWS documents (bedrock-wire.md §5.2). */
import { StartAsyncInvokeCommand } from "@aws-sdk/client-bedrock-runtime"
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const emulator = useEmulator({ s3: true, asyncDelayMs: 20 })
const MARKER = "[[emulator:deflect]]"

/** Runs a job on `params` and returns the result file, the modality's lines, and the job. */
const run = async (params: Record<string, unknown>, file: string) => {
  const { invocationArn } = await emulator.client().send(
    new StartAsyncInvokeCommand({
      modelId: "amazon.nova-2-multimodal-embeddings-v1:0",
      modelInput: {
        schemaVersion: "nova-multimodal-embed-v1",
        taskType: "SEGMENTED_EMBEDDING",
        segmentedEmbeddingParams: { embeddingPurpose: "GENERIC_INDEX", embeddingDimension: 256, ...params }
      },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://nova-out/jobs/" } }
    })
  )
  const job = await emulator.settle(invocationArn!)
  const folder = `s3://nova-out/jobs/${invocationArn!.split("/").pop()}`
  const result = JSON.parse(await emulator.get(`${folder}/segmented-embedding-result.json`))
  const text = await emulator.get(`${folder}/${file}`)
  const lines = file.endsWith(".jsonl")
    ? text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
    : [JSON.parse(text)]
  return { job, result, lines }
}

const text = (value: string) => ({
  text: { truncationMode: "END", value, segmentationConfig: { maxLengthChars: 800 } }
})

describe("Nova async segment failures", () => {
  it("a text segment holding the marker fails with the RAI text deflection; the job still completes", async () => {
    const clean = "a calm sentence about the sea. ".repeat(26).slice(0, 800)
    const blocked = `${MARKER} `.repeat(40).slice(0, 800)
    const { job, result, lines } = await run(text(clean + blocked + clean), "embedding-text.jsonl")
    assert.strictEqual(job.status, "Completed")
    assert.lengthOf(lines, 3)
    assert.strictEqual(lines[0].status, "SUCCESS")
    assert.lengthOf(lines[0].embedding, 256)
    assert.deepStrictEqual(Object.keys(lines[1]).sort(), ["failureReason", "message", "segmentMetadata", "status"])
    assert.strictEqual(lines[1].status, "FAILURE")
    assert.strictEqual(lines[1].failureReason, "RAI_VIOLATION_INPUT_TEXT_DEFLECTION")
    assert.isString(lines[1].message)
    assert.strictEqual(lines[1].segmentMetadata.segmentIndex, 1)
    assert.strictEqual(lines[2].status, "SUCCESS")
    assert.strictEqual(result.embeddingResults[0].status, "PARTIAL_SUCCESS")
    assert.notProperty(result.embeddingResults[0], "failureReason")
  })

  it("a modality whose every segment fails is FAILURE in the result file", async () => {
    const { job, result, lines } = await run(text(`${MARKER} blocked `.repeat(60)), "embedding-text.jsonl")
    assert.strictEqual(job.status, "Completed")
    assert.isTrue(lines.every((line) => line.status === "FAILURE" && !("embedding" in line)))
    const entry = result.embeddingResults[0]
    assert.strictEqual(entry.embeddingType, "TEXT")
    assert.strictEqual(entry.status, "FAILURE")
    assert.strictEqual(entry.failureReason, "RAI_VIOLATION_INPUT_TEXT_DEFLECTION")
    assert.match(entry.outputFileUri, /^s3:\/\/nova-out\/jobs\/[a-z0-9]{12}\/embedding-text\.jsonl$/)
  })

  it("an image holding the marker fails with the RAI image deflection", async () => {
    const png = Buffer.concat([Buffer.from(Fixtures.png(2, 2), "base64"), Buffer.from(MARKER)])
    await emulator.put("s3://nova-in/blocked.png", { base64: png.toString("base64") })
    const { result, lines } = await run(
      { image: { format: "png", source: { s3Location: { uri: "s3://nova-in/blocked.png" } } } },
      "embedding-image.json"
    )
    assert.strictEqual(lines[0].failureReason, "RAI_VIOLATION_INPUT_IMAGE_DEFLECTION")
    assert.strictEqual(result.embeddingResults[0].status, "FAILURE")
    assert.strictEqual(result.sourceFileUri, "s3://nova-in/blocked.png")
  })

  it("without the marker every segment succeeds", async () => {
    const { result, lines } = await run(text("plain words ".repeat(150)), "embedding-text.jsonl")
    assert.isTrue(lines.every((line) => line.status === "SUCCESS" && line.embedding.length === 256))
    assert.strictEqual(result.embeddingResults[0].status, "SUCCESS")
  })
})
