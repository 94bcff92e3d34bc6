/** The emulator's CLI: starts, serves the official SDK, stops on SIGTERM, rejects bad flags. */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime"
import { EMULATOR_CREDENTIALS } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"

const client = (config: { endpoint: string }) =>
  new BedrockRuntimeClient({ region: "us-east-1", credentials: EMULATOR_CREDENTIALS, ...config })

const invoke = async (c: BedrockRuntimeClient, modelId: string, body: unknown) => {
  const out = await c.send(
    new InvokeModelCommand({ modelId, contentType: "application/json", body: JSON.stringify(body) })
  )
  return JSON.parse(new TextDecoder().decode(out.body))
}

describe("CLI", () => {
  it("starts, prints its URL, serves, and stops on SIGTERM", async () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url))
    const child = spawn(process.execPath, [`${root}packages/emulator/src/bin.ts`, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d
        const m = /listening on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
    })
    assert.include(out, "AWS_ACCESS_KEY_ID=S3RVER")
    const c = client({ endpoint: url })
    assert.strictEqual((await invoke(c, "amazon.titan-embed-text-v2:0", { inputText: "cli" })).embedding.length, 1024)
    c.destroy()
    child.kill("SIGTERM")
    const [code] = await once(child, "exit")
    assert.strictEqual(code, 0)
  })

  it("rejects bad flags with a message and a non-zero exit", async () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url))
    const child = spawn(process.execPath, [`${root}packages/emulator/src/bin.ts`, "--error-rate", "2"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let err = ""
    child.stderr.on("data", (d) => {
      err += d
    })
    const [code] = await once(child, "exit")
    assert.strictEqual(code, 2)
    assert.include(err, "--error-rate must be a number from 0 to 1")
  })
})
