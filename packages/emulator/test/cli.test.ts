/** The emulator's CLI: starts, serves the official SDK, stops on SIGTERM, rejects bad flags. */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
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

const root = fileURLToPath(new URL("../../../", import.meta.url))

/** Runs `bedrock-embed-emulator` to its end; its exit code and output. */
const finish = async (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [`${root}packages/emulator/src/bin.ts`, ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  child.stdout.on("data", (d) => {
    out += d
  })
  child.stderr.on("data", (d) => {
    err += d
  })
  const [code] = await once(child, "exit")
  return { code: code as number | null, out, err }
}

describe.concurrent("CLI usage", () => {
  it("--help prints the flags and exit codes on stdout, exit 0", async () => {
    const { code, out, err } = await finish(["--help"])
    assert.strictEqual(code, 0, err)
    for (const word of [
      "USAGE",
      "--port N",
      "--error-rate N",
      "BEDROCK_EMULATOR_LATENCY_MS",
      "--no-s3",
      "Exit codes"
    ]) {
      assert.include(out, word)
    }
  })

  it("--version prints the package.json version, exit 0", async () => {
    const { version } = JSON.parse(readFileSync(`${root}packages/emulator/package.json`, "utf8")) as { version: string }
    const { code, out } = await finish(["--version"])
    assert.strictEqual(code, 0)
    assert.strictEqual(out.trim(), `bedrock-embed-emulator v${version}`)
  })

  it("an unknown flag exits 2 with a message on stderr", async () => {
    const { code, out, err } = await finish(["--bogus"])
    assert.strictEqual(code, 2)
    assert.include(err, "bedrock-embed-emulator: Unrecognized flag: --bogus")
    assert.strictEqual(out, "")
  })

  it("a port in use exits 1", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const address = taken.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const { code, err } = await finish(["--port", `${port}`, "--no-s3"])
      assert.strictEqual(code, 1)
      assert.include(err, "cannot listen")
    } finally {
      taken.close()
    }
  })

  it("an address this machine does not have exits 1 naming it, with the S3 server too (it hung there)", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address.
    const { code, err } = await finish(["--host", "192.0.2.1", "--port", "0"])
    assert.strictEqual(code, 1)
    assert.include(err, "cannot listen on 192.0.2.1:0")
    assert.include(err, "EADDRNOTAVAIL")
  })
})

describe("CLI", () => {
  it("starts, prints its URL, serves, and stops on SIGTERM", async () => {
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
