/** The emulator's Marengo models through the official SDK. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const { invoke, rejects } = useEmulator()

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
