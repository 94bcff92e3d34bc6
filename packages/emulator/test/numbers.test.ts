/**
 * Number spelling (recorded-bedrock/README.md, "Number formatting"): Titan prints Java doubles of
 * float32 values, Cohere and Nova Java floats; both use Java's layout (`1.354217529296875E-4`).
 */
import { NumberText } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

const { javaDouble, javaFloat, shortestFloatExact } = NumberText
const fround = Math.fround
const { raw } = useEmulator()

/** Tokens from raw AWS bodies: Cohere v3 (dd-trace-py, 2024) and Titan v1 (langtrace, 2025). */
const cohereTokens = [
  "8.506775E-4",
  "9.994507E-4",
  "-3.2234192E-4",
  "-9.765625E-4",
  "8.3065033E-4",
  "-2.1362305E-4",
  "-0.041503906",
  "-0.026153564",
  "-0.070373535",
  "0.060333252",
  "-0.012016296",
  // Exact halves at the ninth digit: Java keeps the even digit.
  "-0.024414062",
  "0.0063476562"
]
const titanTokens = [
  "-2.2172927856445312E-5",
  "1.220703125E-4",
  "1.354217529296875E-4",
  "-4.00543212890625E-4",
  "2.9921531677246094E-5",
  "0.53515625",
  "-0.1787109375",
  "0.498046875",
  "0.019287109375",
  "-0.078125"
]

/** Every number token of a JSON text's arrays. */
const tokens = (text: string) => text.match(/(?<=[[,])-?[0-9][^,\]]*/g) ?? []
/** Significant digits of a spelling. */
const digits = (token: string) =>
  token
    .replace(/^-/, "")
    .replace(/[eE].*$/, "")
    .replace(".", "")
    .replace(/^0+/, "")
    .replace(/0+$/, "")
const javaLayout = /^-?(\d+\.\d+|[1-9]\.\d+E-?[1-9]\d*)$/

/** Checks a Float.toString spelling against its definition, without the emulator's code. */
const assertFloatSpelling = (token: string) => {
  const value = fround(Number(token))
  assert.strictEqual(fround(Number(token)), value)
  assert.match(token, javaLayout)
  const abs = Math.abs(value)
  if (abs === 0) {
    assert.strictEqual(token, "0.0")
    return
  }
  assert.strictEqual(token.includes("E"), abs < 1e-3 || abs >= 1e7, token)
  const length = digits(token).length
  assert.isAtMost(length, 9)
  for (let k = 2; k < length; k++) assert.notStrictEqual(fround(Number(value.toPrecision(k))), value, token)
}

describe("Java spellings", () => {
  it("Double.toString of float32 values, as Titan prints them", () => {
    assert.strictEqual(javaDouble(fround(-2.2172927856445312e-5)), "-2.2172927856445312E-5")
    assert.strictEqual(javaDouble(fround(1.354217529296875e-4)), "1.354217529296875E-4")
    assert.strictEqual(javaDouble(0.019287109375), "0.019287109375")
    assert.strictEqual(javaDouble(0), "0.0")
    assert.strictEqual(javaDouble(1), "1.0")
    assert.strictEqual(javaDouble(1e7), "1.0E7")
    assert.strictEqual(javaDouble(123456.5), "123456.5")
    assert.strictEqual(javaDouble(fround(1e-7)), "1.0000000116860974E-7")
    for (const token of titanTokens) assert.strictEqual(javaDouble(fround(Number(token))), token)
  })

  it("Float.toString, as Cohere and Nova print them: shortest float32 digits, ties to even", () => {
    assert.strictEqual(javaFloat(fround(8.506775e-4)), "8.506775E-4")
    assert.strictEqual(javaFloat(0), "0.0")
    assert.strictEqual(javaFloat(fround(0.1)), "0.1")
    assert.strictEqual(javaFloat(fround(1e7)), "1.0E7")
    assert.strictEqual(javaFloat(fround(3.4028235e38)), "3.4028235E38")
    // Java's rule for one-digit spellings takes the closer two-digit one: Float.MIN_VALUE is 1.4E-45.
    assert.strictEqual(javaFloat(fround(1.4e-45)), "1.4E-45")
    for (const token of cohereTokens) assert.strictEqual(javaFloat(fround(Number(token))), token)
  })

  it("the fast float path agrees with exact arithmetic and the definition over random floats", () => {
    const bits = new Uint32Array(1)
    const f32 = new Float32Array(bits.buffer)
    let seed = 12345
    for (let i = 0; i < 6000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
      // Half the draws over every exponent, half over the range embeddings live in.
      bits[0] = i % 2 === 0 ? seed : (seed & 0x807fffff) | ((110 + (seed % 17)) << 23)
      const value = f32[0]!
      if (!Number.isFinite(value)) continue
      const token = javaFloat(value)
      if (value === 0) continue
      assertFloatSpelling(token)
      assert.strictEqual(fround(Number(token)), value)
      assert.strictEqual(digits(token), shortestFloatExact(Math.abs(value)).digits, token)
    }
  })
})

describe("response bodies", () => {
  it("Titan v1 and v2 print float32 values as Java doubles (v1's are bfloat16 values)", async () => {
    for (const [model, body] of [
      ["amazon.titan-embed-text-v1", { inputText: "number spelling" }],
      ["amazon.titan-embed-text-v2:0", { inputText: "number spelling", dimensions: 512 }]
    ] as const) {
      const { text } = await raw(model, body)
      const all = tokens(text)
      assert.isAbove(all.length, 500)
      for (const token of all) {
        const value = Number(token)
        assert.strictEqual(fround(value), value, token)
        assert.match(token, javaLayout)
        assert.strictEqual(digits(token), digits(String(value)), token)
        // v1 values carry 8 significant bits, like the recorded 0.1787109375 or -2.2172927856445312E-5.
        if (model === "amazon.titan-embed-text-v1") {
          const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!
          assert.strictEqual(bits & 0xffff, 0, token)
        }
      }
      assert.deepStrictEqual(JSON.parse(text).embedding, all.slice(0, JSON.parse(text).embedding.length).map(Number))
      assert.notInclude(text, " ")
    }
  })

  it("Cohere v3/v4 and Nova print Java floats", async () => {
    const bodies = [
      (await raw("cohere.embed-english-v3", { input_type: "search_query", texts: ["number spelling"] })).text,
      (
        await raw("cohere.embed-v4:0", {
          input_type: "search_query",
          texts: ["number spelling"],
          output_dimension: 256
        })
      ).text,
      (
        await raw("amazon.nova-2-multimodal-embeddings-v1:0", {
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            embeddingDimension: 1024,
            text: { truncationMode: "END", value: "number spelling" }
          }
        })
      ).text
    ]
    let exponents = 0
    for (const text of bodies) {
      for (const token of tokens(text)) {
        assertFloatSpelling(token)
        if (token.includes("E")) exponents++
      }
    }
    // Unit vectors of these sizes hold values below 1e-3: they must print with an exponent.
    assert.isAbove(exponents, 0)
  })

  it("writes a 1024-dim vector quickly", () => {
    const values = new Float32Array(1024)
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 12.9898) / 32
    const run = (format: (x: number) => string) => {
      const started = performance.now()
      for (let round = 0; round < 200; round++) for (let i = 0; i < values.length; i++) format(values[i]!)
      return ((performance.now() - started) / 200) * 1000
    }
    run(javaFloat)
    const float = run(javaFloat)
    const double = run(javaDouble)
    console.info(`1024 values: Float.toString ${float.toFixed(0)} µs, Double.toString ${double.toFixed(0)} µs`)
    // A generous bound (measured: about 0.2 ms), so a slow search per number shows up.
    assert.isBelow(float, 3000)
    assert.isBelow(double, 3000)
  })
})
