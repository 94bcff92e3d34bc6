/** Float32Json, the engine's stream-path JSON reader: the values JSON.parse gives, number arrays as Float32Array. */
import { assert, describe, it } from "@effect/vitest"
import { Float32Json } from "@bedrock-embed/core"

const bytes = (text: string) => new TextEncoder().encode(text)

/** JSON.parse's value with every array of numbers narrowed, for comparison. */
const expected = (value: unknown): unknown => {
  if (Array.isArray(value)) {
    return value.length > 0 && value.every((v) => typeof v === "number")
      ? Float32Array.from(value)
      : value.map(expected)
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]))
  }
  return value
}

describe("parseFloat32Json", () => {
  it("reads every number as Math.fround(JSON.parse(…)) in every notation", () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const notations = [
      (x: number) => String(Math.round(x * 1e7) / 1e7),
      (x: number) => x.toExponential(6),
      (x: number) => x.toPrecision(17),
      (x: number) => x.toExponential(),
      (x: number) => String(x * 1e-30),
      (x: number) => x.toFixed(20)
    ]
    for (const format of notations) {
      const numbers = Array.from({ length: 2000 }, () => format((random() - 0.5) * 2))
      const text = `[${numbers.join(",")}]`
      const read = Float32Json.parseFloat32Json(bytes(text)) as Float32Array
      assert.instanceOf(read, Float32Array)
      assert.strictEqual(read.length, 2000)
      const reference = JSON.parse(text) as Array<number>
      for (let i = 0; i < reference.length; i++) {
        assert.isTrue(Object.is(read[i], Math.fround(reference[i]!)), `${numbers[i]} read as ${read[i]}`)
      }
    }
    const edge = ["0", "-0", "1e-7", "1E+3", "5e-324", "1.7976931348623157e308", "123456789012345678", "3.4028235e38"]
    const read = Float32Json.parseFloat32Json(bytes(`[${edge.join(", ")}]`)) as Float32Array
    edge.forEach((text, i) => {
      assert.isTrue(Object.is(read[i], Math.fround(Number(text))), text)
    })
  })

  it("gives everything else as JSON.parse does: objects, strings with escapes and UTF-8, literals, mixed arrays", () => {
    const document = {
      id: "r-1",
      texts: ['a "quoted" word', "back\\slash", "tab\there", "ünïcödé ✓", "\u0001", ""],
      embeddings: [
        [0.1, -0.2, 3e-5],
        [1, 2, 3]
      ],
      mixed: [0.1, "x", null, true, false, { y: [1.5] }],
      nested: [[[0.25]]],
      empty: [],
      flags: { on: true, off: false, none: null },
      count: 12,
      negative: -0.5
    }
    for (const text of [JSON.stringify(document), JSON.stringify(document, null, 2)]) {
      assert.deepStrictEqual(Float32Json.parseFloat32Json(bytes(text)), expected(JSON.parse(text)))
    }
    const mixed = (Float32Json.parseFloat32Json(bytes(JSON.stringify(document))) as typeof document).mixed
    assert.strictEqual(mixed[0], 0.1, "numbers in a mixed array stay doubles")
  })

  it("rejects what JSON.parse rejects", () => {
    for (const bad of ["[1,", '{"a" 1}', "[1 2]", "tru", '"abc', "[1,]", "[-]", "[1.]", "[1e]", "{", "", "[1] x"]) {
      assert.throws(() => JSON.parse(bad))
      assert.throws(() => Float32Json.parseFloat32Json(bytes(bad)), Float32Json.JsonSyntaxError, undefined, bad)
    }
  })
})
