/**
 * The chaos suite, short form: the gateway (a child process, so a crash shows) and the library
 * against a fault-injecting Bedrock stand-in (`chaos/standin.ts`), one test per case of
 * `chaos/cases.ts` marked `short`. `pnpm chaos` runs every case, with more requests, quotas and
 * load, and prints a table.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Chaos from "./chaos/cases.ts"

describe.skipIf(process.platform !== "linux")("chaos (short form)", () => {
  let runner: Awaited<ReturnType<typeof Chaos.makeRunner>>
  beforeAll(async () => {
    runner = await Chaos.makeRunner()
  })
  afterAll(async () => {
    await runner?.close()
  })
  for (const c of Chaos.cases.filter((c) => c.short)) {
    it(c.name, async () => {
      const outcome = await runner.run(c)
      assert.isTrue(outcome.ok, outcome.note)
    })
  }
})
