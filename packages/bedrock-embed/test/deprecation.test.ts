/** Marengo 2.7 reached its end of life on 2026-11-30: using it logs one deprecation notice per process. */
import { assert, describe, it } from "@effect/vitest"
import { vi } from "vitest"
import { useClient } from "./emulator.ts"

const ctx = useClient()

describe("Marengo 2.7's end of life", () => {
  it("logs one notice naming the successor, however many calls, and keeps serving", async () => {
    const lines: Array<string> = []
    const methods = ["log", "info", "warn", "error", "debug"] as const
    const spies = methods.map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        lines.push(args.map(String).join(" "))
      })
    )
    try {
      for (let i = 0; i < 3; i++) {
        const r = await ctx.client.embedding({
          model: "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0",
          input: `text ${i}`,
          ...ctx.params
        })
        assert.strictEqual(r.data[0]!.embedding.length, 1024)
      }
      await ctx.client.embedding({ model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0", input: "x", ...ctx.params })
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
    const notices = lines.filter((line) => line.includes("end of life"))
    assert.strictEqual(notices.length, 1, lines.join("\n"))
    assert.include(notices[0], "twelvelabs.marengo-embed-2-7-v1:0 reached its end of life on 2026-11-30")
    assert.include(notices[0], "Move to twelvelabs.marengo-embed-3-0-v1:0")
  })
})
