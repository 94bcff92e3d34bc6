/** Shared setup of the per-model emulator tests: an emulator without S3, an SDK client, and call helpers. */
import { BedrockRuntimeClient, InvokeModelCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime"
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll } from "vitest"

/** Starts an emulator for the file's tests and returns helpers that call it through the official SDK. */
export const useEmulator = () => {
  let emulator: Emulator
  let client: BedrockRuntimeClient
  beforeAll(async () => {
    emulator = await startEmulator({ s3: false })
    client = new BedrockRuntimeClient({
      region: "us-east-1",
      endpoint: emulator.url,
      credentials: EMULATOR_CREDENTIALS
    })
  })
  afterAll(async () => {
    client.destroy()
    await emulator.close()
  })
  /** InvokeModel with a JSON body; the parsed answer. */
  const invoke = async (modelId: string, body: unknown) => {
    const out = await client.send(
      new InvokeModelCommand({ modelId, contentType: "application/json", body: JSON.stringify(body) })
    )
    return JSON.parse(new TextDecoder().decode(out.body))
  }
  /** Asserts the SDK throws a ValidationException whose message holds `message`. */
  const rejects = async (modelId: string, body: unknown, message: string) => {
    const error = await invoke(modelId, body).catch((e: unknown) => e)
    assert.instanceOf(error, ValidationException)
    assert.include((error as Error).message, message)
  }
  return { invoke, rejects, url: () => emulator.url }
}
