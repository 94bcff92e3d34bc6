/** The emulator's Marengo models through the official SDK. */
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, beforeAll, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const { invoke, rejects, put } = useEmulator({ s3: true })
const M30 = "us.twelvelabs.marengo-embed-3-0-v1:0"
const M27 = "us.twelvelabs.marengo-embed-2-7-v1:0"
const owner = "123456789012"
const s3 = (uri: string) => ({ s3Location: { uri, bucketOwner: owner } })
const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.reduce((s, x, i) => s + x * b[i]!, 0) /
  Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0))

beforeAll(async () => {
  await put("s3://marengo/person.jpg", { base64: Fixtures.jpeg(32, 32) })
  await put("s3://marengo/dog.png", { base64: Fixtures.png(8, 8, 40) })
})

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

describe("Marengo 3.0 text_image and multi_input", () => {
  it("embeds text with an image, from S3 or inline, in 512 dimensions", async () => {
    const fromS3 = await invoke(M30, {
      inputType: "text_image",
      text_image: { inputText: "man walking a dog", mediaSource: s3("s3://marengo/person.jpg") }
    })
    const inline = await invoke(M30, {
      inputType: "text_image",
      text_image: { inputText: "man walking a dog", mediaSource: { base64String: Fixtures.jpeg(32, 32) } }
    })
    assert.lengthOf(fromS3.data[0].embedding, 512)
    assert.deepStrictEqual(fromS3.data[0].embedding, inline.data[0].embedding)
    const textOnly = await invoke(M30, { inputType: "text", text: { inputText: "man walking a dog" } })
    assert.isBelow(cosine(fromS3.data[0].embedding, textOnly.data[0].embedding), 0.99)
  })

  it("multi_input: every <@name> names a media source; S3 and inline sources mix", async () => {
    const body = await invoke(M30, {
      inputType: "multi_input",
      multi_input: {
        inputText: "<@img1> walking a dog with <@img2>",
        mediaSources: [
          { name: "img1", mediaType: "image", ...s3("s3://marengo/person.jpg") },
          { name: "img2", mediaType: "image", base64String: Fixtures.png(8, 8, 40) }
        ]
      }
    })
    assert.deepStrictEqual(Object.keys(body.data[0]), ["embedding"])
    assert.lengthOf(body.data[0].embedding, 512)
    await rejects(
      M30,
      {
        inputType: "multi_input",
        multi_input: {
          inputText: "<@img1> with <@img3>",
          mediaSources: [{ name: "img1", mediaType: "image", ...s3("s3://marengo/person.jpg") }]
        }
      },
      "<@img3> does not name any of the mediaSources"
    )
    await rejects(
      M30,
      {
        inputType: "multi_input",
        multi_input: {
          inputText: "<@a> and <@a>",
          mediaSources: [
            { name: "a", mediaType: "image", ...s3("s3://marengo/person.jpg") },
            { name: "a", mediaType: "image", ...s3("s3://marengo/dog.png") }
          ]
        }
      },
      "the name [a] is used by more than one media source"
    )
  })

  it("a missing S3 object is a ValidationException naming the URI", async () => {
    await rejects(
      M30,
      { inputType: "image", image: { mediaSource: s3("s3://marengo/missing.png") } },
      "s3://marengo/missing.png"
    )
    await rejects(M27, { inputType: "image", mediaSource: s3("s3://marengo/gone.jpg") }, "s3://marengo/gone.jpg")
    const image = await invoke(M27, { inputType: "image", mediaSource: s3("s3://marengo/dog.png") })
    assert.lengthOf(image.data[0].embedding, 1024)
  })
})

describe("Marengo async-only keys in a synchronous body", () => {
  const extraneous = (key: string, path = "#") =>
    `Malformed input request: ${path}: extraneous key [${key}] is not permitted, please reformat your input and try again.`

  it("3.0 text, image, text_image and multi_input reject startSec, segmentation, embeddingOption…", async () => {
    const image = { mediaSource: s3("s3://marengo/dog.png") }
    const members: Record<string, Record<string, unknown>> = {
      text: { inputText: "x" },
      image,
      text_image: { inputText: "x", ...image },
      multi_input: { inputText: "x", mediaSources: [{ name: "a", mediaType: "image", ...s3("s3://marengo/dog.png") }] }
    }
    const extras: Record<string, unknown> = {
      startSec: 0,
      endSec: 4,
      segmentation: { method: "fixed", fixed: { durationSec: 6 } },
      embeddingOption: ["visual"],
      embeddingType: ["separate_embedding"],
      embeddingScope: ["clip"]
    }
    for (const [inputType, member] of Object.entries(members)) {
      for (const [key, value] of Object.entries(extras)) {
        await rejects(M30, { inputType, [inputType]: { ...member, [key]: value } }, extraneous(key, `#/${inputType}`))
        await rejects(M30, { inputType, [inputType]: member, [key]: value }, extraneous(key))
      }
    }
  })

  it("2.7 text and image reject startSec, lengthSec, useFixedLengthSec, minClipSec, embeddingOption", async () => {
    const bodies = [
      { inputType: "text", inputText: "x" },
      { inputType: "image", mediaSource: s3("s3://marengo/dog.png") }
    ]
    for (const body of bodies) {
      for (const [key, value] of Object.entries({
        startSec: 0,
        lengthSec: 4,
        useFixedLengthSec: 5,
        minClipSec: 4,
        embeddingOption: ["visual-text"]
      })) {
        await rejects(M27, { ...body, [key]: value }, extraneous(key))
      }
    }
  })
})
