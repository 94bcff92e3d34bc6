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
