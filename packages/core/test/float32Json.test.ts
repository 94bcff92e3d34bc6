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

/** A deterministic generator (mulberry32), so a failure replays. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** One value in one of the notations a JSON writer may use. */
const notations: ReadonlyArray<(x: number, r: () => number) => string> = [
  (x) => String(x),
  (x) => x.toExponential(),
  (x, r) => x.toExponential(Math.floor(r() * 12)),
  (x, r) => x.toExponential(Math.floor(r() * 12)).toUpperCase(),
  (x, r) => x.toFixed(Math.floor(r() * 12) + 1),
  (x) => String(Math.fround(x)),
  (x) => x.toPrecision(17),
  (x) => x.toPrecision(9),
  // An integer mantissa with a negative exponent, and a small mantissa with a positive one.
  (x) => `${Math.round(x * 1e7)}e-7`,
  (x) => `${(x / 10).toFixed(9)}e+1`,
  (x) => x.toExponential(4).replace("e", "E+").replace("E+-", "E-").replace("E++", "E+"),
  (x, r) => `${x.toFixed(6)}e${r() < 0.5 ? "-" : ""}0${Math.floor(r() * 3)}`
]

describe("parseFloat32Json reads every JSON number notation exactly", () => {
  it("equals Math.fround(JSON.parse) for 60 000 numbers written 12 ways, and keeps each array's text", () => {
    const r = random(42)
    const extremes = [0, -0, 1e-45, 1.4e-45, 3.4028234e38, 3.4028236e38, 1e39, -1e39, 1e-50, 5e-324, 1e308]
    const arrays: Array<string> = []
    for (let a = 0; a < 60; a++) {
      const items: Array<string> = []
      for (let i = 0; i < 1000; i++) {
        const magnitude = 10 ** Math.floor(r() * 12 - 8)
        const x = (r() - 0.5) * 2 * magnitude
        items.push(notations[(a + i) % notations.length]!(x, r))
      }
      items.push(String(extremes[a % extremes.length]))
      arrays.push(`[${items.join(a % 2 === 0 ? "," : ", ")}]`)
    }
    const text = `{"vectors":[${arrays.join(",")}],"n":1}`
    const parsed = Float32Json.parseFloat32Json(bytes(text)) as { vectors: Array<Float32Array> }
    const reference = JSON.parse(text) as { vectors: Array<Array<number>> }
    let compared = 0
    for (let a = 0; a < arrays.length; a++) {
      const got = parsed.vectors[a]!
      const want = reference.vectors[a]!
      assert.strictEqual(got.length, want.length)
      for (let i = 0; i < want.length; i++) {
        const w = Math.fround(want[i]!)
        if (!Object.is(got[i], w))
          assert.fail(`array ${a} item ${i}: ${arrays[a]!.split(/, ?/)[i]} → ${got[i]}, expected ${w}`)
        compared++
      }
      assert.strictEqual(new TextDecoder().decode(Float32Json.jsonText(got)), arrays[a], "the array's own text")
    }
    assert.strictEqual(compared, 60 * 1001)
  })

  it("refuses malformed numbers in arrays", () => {
    for (const bad of ["[1e]", "[1.]", "[1e+]", "[--1]", "[1.5e-3e2]", "[0x10]", "[1,]", "[.5]"]) {
      assert.throws(() => Float32Json.parseFloat32Json(bytes(bad)), Float32Json.JsonSyntaxError, undefined, bad)
    }
  })
})

describe("parseFloat32Json with a repeated vector", () => {
  it("reads the second copy as the same values (Titan v2's embedding and embeddingsByType.float)", () => {
    const vector = "[0.05289186164736748,-0.11532749980688095,1.5e-3]"
    const text = `{"embedding":${vector},"embeddingsByType":{"float":${vector},"other":[0.05289186164736748,-0.1]},"n":[0.05289186164736748]}`
    const parsed = Float32Json.parseFloat32Json(bytes(text)) as {
      embedding: Float32Array
      embeddingsByType: { float: Float32Array; other: Float32Array }
      n: Float32Array
    }
    assert.deepStrictEqual(parsed, expected(JSON.parse(text)))
    assert.strictEqual(parsed.embeddingsByType.float, parsed.embedding, "one vector for one text")
    // A text that only starts like the last vector is read on its own.
    assert.deepStrictEqual(Array.from(parsed.embeddingsByType.other), [
      Math.fround(0.05289186164736748),
      Math.fround(-0.1)
    ])
  })
})

describe("parseFloat32Json against Math.fround(JSON.parse) bit for bit", () => {
  const f64 = new Float64Array(1)
  const u32 = new Uint32Array(f64.buffer)
  const f32 = new Float32Array(1)
  const f32bits = new Uint32Array(f32.buffer)

  /** A double with random bits, its magnitude between 2^-160 and 2^140 (past float32's range both ways). */
  const randomDouble = (r: () => number) => {
    u32[0] = (r() * 2 ** 32) >>> 0
    u32[1] = ((r() < 0.5 ? 0x80000000 : 0) | ((1023 - 160 + Math.floor(r() * 300)) << 20) | (r() * 2 ** 20)) >>> 0
    return f64[0]!
  }
  /** A finite float32 with random bits. */
  const randomFloat32 = (r: () => number) => {
    do f32bits[0] = (r() * 2 ** 32) >>> 0
    while (!Number.isFinite(f32[0]!))
    return f32[0]!
  }
  /** The double `steps` ulps from `x` (x positive). */
  const ulps = (x: number, steps: number) => {
    f64[0] = x
    const low = u32[0]! + steps
    u32[1] = u32[1]! + Math.floor(low / 2 ** 32)
    u32[0] = low >>> 0
    return f64[0]!
  }
  /** The float32 rounding boundary above `f` (the midpoint to the next float32), exact as a double. */
  const midpointAbove = (f: number) => {
    f32[0] = Math.abs(f)
    f32bits[0] = f32bits[0]! + 1
    return (Math.abs(f) + f32[0]!) / 2
  }

  /** Digits and exponent of `x` to `precision` significant digits: 1.234e-5 → ["1234", -5]. */
  const parts = (x: number, precision: number): readonly [string, number] => {
    const [mantissa, exponent] = Math.abs(x)
      .toExponential(precision - 1)
      .split("e") as [string, string]
    const digits = mantissa.replace(".", "")
    return [/^0+$/.test(digits) ? "0" : digits, Number(exponent)]
  }
  /** Plain decimal, no exponent, however small or large: 0.0000123, 123000000000. */
  const fixed = (sign: string, digits: string, exponent: number) => {
    if (digits === "0" && exponent >= 0) return `${sign}0`
    if (exponent >= digits.length - 1) return sign + digits + "0".repeat(exponent - digits.length + 1)
    if (exponent >= 0) return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
    return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`
  }
  /** Every notation of `x` with `precision` significant digits. */
  const spellings = (x: number, precision: number, r: () => number): ReadonlyArray<string> => {
    const sign = x < 0 || Object.is(x, -0) ? "-" : ""
    const [digits, exponent] = parts(x, precision)
    const point = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const abs = Math.abs(x)
    const zeros = "0".repeat(Math.floor(r() * 3))
    const shift = Math.floor(r() * 5) - 2
    return [
      fixed(sign, digits, exponent),
      `${sign}${point}e${exponent}`,
      `${sign}${point}E${exponent < 0 ? "-" : "+"}${zeros}${Math.abs(exponent)}`,
      `${sign}${digits}e${exponent - digits.length + 1}`,
      // The point somewhere else and the exponent to match: 0.001234e+1, 12.34E-3.
      `${fixed(sign, digits, shift)}E${exponent - shift}`,
      // Java's Double.toString / Float.toString: E below 10^-3 and from 10^7, no + sign.
      abs !== 0 && (abs < 1e-3 || abs >= 1e7)
        ? `${sign}${digits.length > 1 ? point : `${digits}.0`}E${exponent}`
        : fixed(sign, digits, exponent)
    ]
  }

  it("for 100 000+ numbers: random doubles, float32s printed shortest, float32 rounding boundaries ± 1 ulp", () => {
    const r = random(20261201)
    const values: Array<readonly [number, number]> = []
    for (let k = 0; k < 6000; k++) values.push([randomDouble(r), 17])
    for (let k = 0; k < 3000; k++) values.push([randomDouble(r), 1 + Math.floor(r() * 21)])
    for (let k = 0; k < 4000; k++) {
      // Shortest digits that read back as the float32 (Java's Float.toString), and as a double (Titan).
      const f = randomFloat32(r)
      let p = 1
      while (Math.fround(Number(f.toPrecision(p))) !== f) p++
      values.push([f, p], [f, 17])
    }
    for (let k = 0; k < 2000; k++) {
      const f = randomFloat32(r)
      const m = midpointAbove(f) * (f < 0 ? -1 : 1)
      for (const x of [ulps(Math.abs(m), -1) * Math.sign(m), m, ulps(Math.abs(m), 1) * Math.sign(m)])
        values.push([x, 17], [x, [16, 18, 19, 20, 25, 40][k % 6]!])
    }
    for (const x of [0, -0, 1, -1, 1e-5, 2 ** -149, 2 ** -150, 3.4028234663852886e38, 3.4028235677973366e38, 1e39])
      for (let p = 1; p <= 21; p += 4) values.push([x, p])
    const texts: Array<string> = []
    for (const [x, precision] of values) texts.push(...spellings(x, precision, r))
    texts.push("0", "-0", "0.0", "-0.0e5", "0e-400", "-0E+999", "42", "-7", "123456789012345678901234567890", "1e400")
    assert.isAbove(texts.length, 100_000)

    const arrays: Array<ReadonlyArray<string>> = []
    for (let i = 0; i < texts.length; i += 1000) arrays.push(texts.slice(i, i + 1000))
    const document = `[${arrays.map((a) => `[${a.join(",")}]`).join(",")}]`
    const read = Float32Json.parseFloat32Json(bytes(document)) as Array<Float32Array>
    const reference = JSON.parse(document) as Array<Array<number>>
    const got = new Uint32Array(1)
    const want = new Uint32Array(1)
    let compared = 0
    arrays.forEach((texts, a) => {
      assert.instanceOf(read[a], Float32Array)
      texts.forEach((text, i) => {
        new Float32Array(got.buffer)[0] = read[a]![i]!
        new Float32Array(want.buffer)[0] = Math.fround(reference[a]![i]!)
        if (got[0] !== want[0]) assert.fail(`${text} read as ${read[a]![i]}, Math.fround(JSON.parse) is ${want[0]}`)
        compared++
      })
    })
    assert.strictEqual(compared, texts.length)
  })

  it("refuses a leading zero, as JSON.parse does", () => {
    for (const bad of ["[01]", "[-01.5]", "[0.5,00]", "[1,-012e3]", "012"]) {
      assert.throws(() => JSON.parse(bad))
      assert.throws(() => Float32Json.parseFloat32Json(bytes(bad)), Float32Json.JsonSyntaxError, undefined, bad)
    }
  })
})

describe("parseFloat32Json with keepText: false", () => {
  it("reads the same vectors and keeps no text, so holding a vector does not hold its body", () => {
    const text = `{"embedding":[0.05289186164736748,-1.5667552361264825E-5],"other":[1,2],"n":3}`
    const kept = Float32Json.parseFloat32Json(bytes(text)) as { embedding: Float32Array; other: Float32Array }
    const bare = Float32Json.parseFloat32Json(bytes(text), { keepText: false }) as typeof kept
    assert.deepStrictEqual(bare, kept)
    assert.strictEqual(
      new TextDecoder().decode(Float32Json.jsonText(kept.embedding)),
      text.slice(13, text.indexOf("]") + 1)
    )
    assert.isUndefined(Float32Json.jsonText(bare.embedding))
    assert.isUndefined(Float32Json.jsonText(bare.other))
  })
})
