/**
 * A batch job's objects (its manifest, its `.out` files) are read a page at a time, on a real S3
 * server (the emulator's s3rver): lines cut across pages, multi-byte characters split between
 * them, blank lines and a last line without a newline come out as `split("\n")` would give them.
 */
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ObjectStore } from "@bedrock-embed/core"

describe("batch objects read a page at a time", () => {
  it.live("gives every non-blank line whole, whatever the page size", () =>
    Effect.gen(function* () {
      const emulator = yield* Effect.acquireRelease(
        Effect.promise(() => startEmulator({})),
        (at) => Effect.promise(() => at.close())
      )
      yield* Effect.promise(async () => {
        const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3")
        const s3 = new S3Client({
          region: "us-east-1",
          endpoint: emulator.s3Url!,
          forcePathStyle: true,
          credentials: EMULATOR_CREDENTIALS
        })
        await s3.send(new CreateBucketCommand({ Bucket: "pages" }))
        s3.destroy()
      })
      const store = yield* ObjectStore.make()
      const target: ObjectStore.Target = {
        region: "us-east-1",
        endpoint: emulator.s3Url!,
        credentials: async () => EMULATOR_CREDENTIALS,
        cacheKey: "static:emulator"
      }
      const lines = [
        '{"recordId":"R0000000000","modelOutput":{"embedding":[0.25,-1]}}',
        "",
        "é€😀 split across pages ".repeat(9),
        "x",
        "  ",
        '{"last":"line without a newline"}'
      ]
      const uri = "s3://pages/one.jsonl"
      yield* store.put(uri, lines.join("\n"), target)
      const [object] = yield* store.list(uri, target)
      const expected = lines.filter((line) => line.trim().length > 0)
      for (const page of [1, 2, 3, 7, 64, 8 << 20]) {
        const got: Array<string> = []
        yield* ObjectStore.forEachLine(store, object!, target, (line) => got.push(line), page)
        assert.deepStrictEqual(got, expected, `pages of ${page} bytes`)
      }
    }).pipe(Effect.scoped)
  )
})
