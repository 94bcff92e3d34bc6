/**
 * The bulk command's compact id and text tables, against a `Map` of the same keys; and the V8
 * flags `embed` restarts with.
 */
import { assert, describe, it } from "@effect/vitest"
import { DigestTable, digestKey, digestOf } from "../src/internal/embed/digestTable.ts"
import { embedNodeFlags } from "../src/internal/cli/nodeFlags.ts"

/** Deterministic pseudo-random keys of mixed shapes: numbers, strings, JSON objects. */
const keys = (n: number) => {
  let seed = 7
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed
  }
  return Array.from({ length: n }, (_, i) =>
    i % 3 === 0
      ? String(next() % 5000)
      : i % 3 === 1
        ? JSON.stringify(`doc-${next() % 5000}`)
        : `{"n":${next() % 5000}}`
  )
}

describe("DigestTable", () => {
  it("agrees with a Map over 60 000 operations with repeats, through several growths", () => {
    const table = new DigestTable(4)
    const map = new Map<string, number>()
    keys(60_000).forEach((key, i) => {
      assert.strictEqual(table.get(key), map.get(key), key)
      if (i % 5 !== 0) {
        table.set(key, i)
        map.set(key, i)
      } else {
        table.add(key)
        if (!map.has(key)) map.set(key, 0)
      }
      assert.strictEqual(table.size, map.size)
    })
    for (const [key, value] of map) assert.strictEqual(table.get(key), value)
    assert.isFalse(table.has("never added"))
    const seen = new Map<string, number>()
    table.forEach((digest, value) => {
      seen.set(digestKey(digest), value)
    })
    assert.strictEqual(seen.size, map.size)
    for (const [key, value] of map) assert.strictEqual(seen.get(digestKey(digestOf(key))), value)
  })

  it('tells 1 from "1" and keeps values up to 2³² − 1', () => {
    const table = new DigestTable()
    table.set("1", 1)
    table.set('"1"', 2 ** 32 - 1)
    assert.strictEqual(table.get("1"), 1)
    assert.strictEqual(table.get('"1"'), 2 ** 32 - 1)
    assert.strictEqual(table.size, 2)
  })

  it("gives digests of 96 bits, never all zero, and keys of 16 characters", () => {
    const digest = digestOf("")
    assert.strictEqual(digest.length, 3)
    assert.isTrue(digest.some((word) => word !== 0))
    assert.strictEqual(digestKey(digest).length, 16)
    assert.notStrictEqual(digestKey(digestOf("a")), digestKey(digestOf("b")))
  })
})

describe("embed's V8 flags", () => {
  const argv = (...args: Array<string>) => ["node", "bin.js", ...args]

  it("restarts embed with an 8 MB semi-space, nothing else", () => {
    assert.deepStrictEqual(embedNodeFlags(argv("embed", "--in", "x"), [], undefined), ["--max-semi-space-size=8"])
    assert.deepStrictEqual(embedNodeFlags(argv("serve"), [], undefined), [])
    assert.deepStrictEqual(embedNodeFlags(argv("emulator", "embed"), [], undefined), [])
  })

  it("keeps the user's own young-generation size, from the command line or NODE_OPTIONS", () => {
    assert.deepStrictEqual(embedNodeFlags(argv("embed"), ["--max-semi-space-size=32"], undefined), [])
    assert.deepStrictEqual(embedNodeFlags(argv("embed"), [], "--inspect --max_semi_space_size=1"), [])
    assert.deepStrictEqual(embedNodeFlags(argv("embed"), [], "--min-semi-space-size=4"), [])
  })
})
