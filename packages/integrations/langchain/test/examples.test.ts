/** Every integration's README example runs as written, on the project's Node, against the in-process emulator. */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const run = async (script: string) =>
  (
    await promisify(execFile)(process.execPath, [`${root}${script}`, "--emulator"], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, AWS_PROFILE: "", AWS_BEARER_TOKEN_BEDROCK: "" }
    })
  ).stdout

describe("integration examples", () => {
  it("LangChain vector store", async () => {
    assert.match(
      await run("packages/integrations/langchain/examples/vector-store.ts"),
      /nearest to "a cat sitting on a mat": cat — The cat sat on the mat\./
    )
  })
  it("AI SDK embedMany", async () => {
    assert.match(
      await run("packages/integrations/ai-sdk/examples/embed-many.ts"),
      /250 embeddings of 1024 dims in 3 Bedrock calls, [1-9]\d* tokens/
    )
  })
  it("Effect AI EmbeddingModel", async () => {
    assert.match(
      await run("packages/integrations/effect-ai/examples/embedding-model.ts"),
      /200 vectors of 1024 dims in 3 Bedrock calls/
    )
  })
})
