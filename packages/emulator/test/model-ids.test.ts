/** Model ids as Bedrock has them: on-demand ids, provisioned-throughput ids, profiles, and where each may go. */
import { StartAsyncInvokeCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const east = useEmulator({ asyncDelayMs: Number.POSITIVE_INFINITY })
const west = useEmulator({ region: "eu-west-1" })

const titan = { inputText: "ids" }
const cohere = { input_type: "search_query", texts: ["ids"] }
const marengo27 = { inputType: "text", inputText: "ids" }
const marengo30 = { inputType: "text", text: { inputText: "ids" } }
const onDemand = (id: string) =>
  `Invocation of model ID ${id} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.`

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail("expected an error"),
    (e: unknown) => e as Error
  )

describe("InvokeModel model ids", () => {
  it("rejects ids Bedrock does not have, such as Titan v2 without its :0", async () => {
    for (const [id, body] of [
      ["amazon.titan-embed-text-v2", titan],
      ["cohere.embed-english-v3:0", cohere],
      ["amazon.nova-2-multimodal-embeddings-v1", {}],
      ["twelvelabs.marengo-embed-3-0-v1", marengo30],
      ["us.twelvelabs.marengo-embed-2-7-v1", marengo27],
      ["amazon.titan-embed-text-v3:0", titan]
    ] as const) {
      const error = await failure(east.invoke(id, body))
      assert.instanceOf(error, ValidationException, id)
      assert.strictEqual(error.message, "The provided model identifier is invalid.", id)
    }
  })

  it("answers provisioned-throughput ids with a context suffix by their model", async () => {
    assert.lengthOf((await east.invoke("amazon.titan-embed-text-v1:2:8k", titan)).embedding, 1536)
    const v2 = await east.invoke("amazon.titan-embed-text-v2:0:8k", { ...titan, dimensions: 256 })
    assert.lengthOf(v2.embedding, 256)
    const v3 = await east.invoke("cohere.embed-english-v3:0:512", cohere)
    assert.strictEqual(v3.response_type, "embeddings_floats")
    assert.lengthOf(v3.embeddings[0], 1024)
    assert.strictEqual(east.emulator().invocations.at(-1)?.baseModelId, "cohere.embed-english-v3:0:512")
  })

  it("answers Cohere v4 by both ids AWS's pages give, cohere.embed-v4:0 and cohere.embed-v4", async () => {
    for (const id of ["cohere.embed-v4:0", "cohere.embed-v4"]) {
      const v4 = await east.invoke(id, cohere)
      assert.strictEqual(v4.response_type, "embeddings_by_type", id)
    }
  })

  it("Marengo 2.7 answers only through an inference profile", async () => {
    for (const id of [
      "twelvelabs.marengo-embed-2-7-v1:0",
      "arn:aws:bedrock:us-east-1::foundation-model/twelvelabs.marengo-embed-2-7-v1:0"
    ]) {
      const error = await failure(east.invoke(id, marengo27))
      assert.instanceOf(error, ValidationException)
      assert.strictEqual(error.message, onDemand("twelvelabs.marengo-embed-2-7-v1:0"))
    }
    for (const id of [
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      "eu.twelvelabs.marengo-embed-2-7-v1:0",
      "apac.twelvelabs.marengo-embed-2-7-v1:0",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.twelvelabs.marengo-embed-2-7-v1:0"
    ]) {
      assert.lengthOf((await east.invoke(id, marengo27)).data[0].embedding, 1024, id)
    }
  })

  it("Marengo 3.0's base model answers in us-east-1, but eu-west-1 needs a profile", async () => {
    assert.lengthOf((await east.invoke("twelvelabs.marengo-embed-3-0-v1:0", marengo30)).data[0].embedding, 512)
    const error = await failure(west.invoke("twelvelabs.marengo-embed-3-0-v1:0", marengo30))
    assert.strictEqual(error.message, onDemand("twelvelabs.marengo-embed-3-0-v1:0"))
    assert.lengthOf((await west.invoke("eu.twelvelabs.marengo-embed-3-0-v1:0", marengo30)).data[0].embedding, 512)
  })
})

describe("StartAsyncInvoke model ids", () => {
  const start = (modelId: string) =>
    east.client().send(
      new StartAsyncInvokeCommand({
        modelId,
        modelInput: { inputType: "video", mediaSource: { s3Location: { uri: "s3://media/v.mp4" } } },
        outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://out/ids/" } }
      })
    )

  it("runs on the base model and rejects geo-prefixed ids and profile ARNs", async () => {
    const accepted = await start("twelvelabs.marengo-embed-2-7-v1:0")
    assert.match(accepted.invocationArn ?? "", /:async-invoke\/[a-z0-9]{12}$/)
    for (const id of [
      "us.twelvelabs.marengo-embed-2-7-v1:0",
      "apac.twelvelabs.marengo-embed-2-7-v1:0",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.twelvelabs.marengo-embed-2-7-v1:0"
    ]) {
      const error = await failure(start(id))
      assert.instanceOf(error, ValidationException)
      assert.strictEqual(error.message, "The provided model doesn't support async inference.", id)
    }
  })
})
