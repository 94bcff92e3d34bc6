/** The README's example runs as written, on the project's Node, against the in-process emulator. */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))

describe("examples/titan.ts", () => {
  it("embeds three texts on the embedded emulator and exits cleanly", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`${root}packages/bedrock-embed/examples/titan.ts`, "--emulator"],
      { cwd: root, timeout: 30_000, env: { ...process.env, AWS_PROFILE: "", AWS_BEARER_TOKEN_BEDROCK: "" } }
    )
    assert.match(stdout, /Bedrock emulator listening on http:\/\/127\.0\.0\.1:\d+/)
    for (const i of [0, 1, 2]) assert.match(stdout, new RegExp(`input\\[${i}\\] → 256 dims`))
    assert.match(stdout, /usage: [1-9]\d* tokens, cost \$0\.\d+/)
  })
})

describe("examples/async-video.ts", () => {
  it("submits a Nova video job on the emulator, awaits it and prints its segments", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`${root}packages/bedrock-embed/examples/async-video.ts`, "--emulator"],
      { cwd: root, timeout: 60_000, env: { ...process.env, AWS_PROFILE: "", AWS_BEARER_TOKEN_BEDROCK: "" } }
    )
    assert.match(stdout, /submitted arn:aws:bedrock:us-east-1:\d{12}:async-invoke\/[a-z0-9]{12}/)
    assert.match(stdout, /status: completed, output: s3:\/\/media\/embeddings\/[a-z0-9]{12}/)
    for (const [from, to] of [
      [0, 5],
      [5, 10],
      [10, 12]
    ]) {
      assert.include(stdout, `audio_video ${from}s–${to}s → 1024 dims`)
    }
  })
})
