/** The emulator's Marengo models through the official SDK. */
import { BedrockRuntimeClient, InvokeModelCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime"
import { EMULATOR_CREDENTIALS, type Emulator, Fixtures, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

let emulator: Emulator
let client: BedrockRuntimeClient
beforeAll(async () => {
  emulator = await startEmulator({ s3: false })
  client = new BedrockRuntimeClient({ region: "us-east-1", endpoint: emulator.url, credentials: EMULATOR_CREDENTIALS })
})
afterAll(async () => {
  client.destroy()
  await emulator.close()
})
const invoke = async (modelId: string, body: unknown) => {
  const out = await client.send(
    new InvokeModelCommand({ modelId, contentType: "application/json", body: JSON.stringify(body) })
  )
  return JSON.parse(new TextDecoder().decode(out.body))
}
const rejects = async (modelId: string, body: unknown, message: string) => {
  const error = await invoke(modelId, body).catch((e: unknown) => e)
  assert.instanceOf(error, ValidationException)
  assert.include((error as Error).message, message)
}

describe("Marengo", () => {
  it("answers 2.7 (1024) and 3.0 (512) in the data envelope", async () => {
    const a = await invoke("us.twelvelabs.marengo-embed-2-7-v1:0", {
      inputType: "text",
      inputText: "hi",
      textTruncate: "end"
    })
    assert.strictEqual(a.data[0].embedding.length, 1024)
    const b = await invoke("us.twelvelabs.marengo-embed-3-0-v1:0", {
      inputType: "image",
      image: { mediaSource: { base64String: Fixtures.png(2, 2) } }
    })
    assert.strictEqual(b.data[0].embedding.length, 512)
  })

  it("validates as Bedrock does", async () => {
    await rejects("us.twelvelabs.marengo-embed-2-7-v1:0", { inputText: "x" }, "required key [inputType] not found")
    await rejects("us.twelvelabs.marengo-embed-2-7-v1:0", { inputType: "text" }, "required key [inputText] not found")
    await rejects(
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      { inputType: "text", inputText: "x", textTruncate: "start" },
      "start is not a valid enum value"
    )
    await rejects(
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      { inputType: "video", mediaSource: { s3Location: { uri: "s3://b/v.mp4" } } },
      "only supported through StartAsyncInvoke"
    )
    await rejects(
      "us.twelvelabs.marengo-embed-3-0-v1:0",
      { inputType: "image", image: { mediaSource: { s3Location: { uri: "s3://b/i.png" } } } },
      "required key [bucketOwner] not found"
    )
    await rejects(
      "us.twelvelabs.marengo-embed-3-0-v1:0",
      { inputType: "text", image: {} },
      "required key [text] not found"
    )
    await rejects(
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      { inputType: "image", mediaSource: { base64String: Buffer.from("GIF89a").toString("base64") } },
      "PNG and JPEG"
    )
  })
})
