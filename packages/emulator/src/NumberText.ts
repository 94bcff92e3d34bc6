/**
 * Numbers spelled the way Bedrock's Java services print them (recorded-bedrock/README.md,
 * "Number formatting"): `Double.toString` for Titan text, `Float.toString` for Cohere and Nova.
 * Both use plain decimals for 1e-3 <= |x| < 1e7 and `d.dddE-n` otherwise, always with a digit
 * after the point (`0.0`, `1.0E-5`).
 */

const ZEROS = "00000000000000000000000000"
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16]
const POW10_22 = [...POW10, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/** Lays out significant digits `digits` (no leading or trailing zeros) whose first digit is at 10^`exp`. */
const layout = (negative: boolean, digits: string, exp: number): string => {
  let out: string
  if (exp >= -3 && exp < 7) {
    if (exp < 0) out = `0.${ZEROS.slice(0, -exp - 1)}${digits}`
    else if (digits.length <= exp + 1) out = `${digits}${ZEROS.slice(0, exp + 1 - digits.length)}.0`
    else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
  } else out = `${digits[0]}.${digits.length > 1 ? digits.slice(1) : "0"}E${exp}`
  return negative ? `-${out}` : out
}

/** Significant digits and decimal exponent of a JavaScript number spelling (`0.00012`, `1.2e-7`, `123`). */
const decompose = (text: string): { digits: string; exp: number } => {
  const start = text[0] === "-" ? 1 : 0
  const e = text.indexOf("e")
  const mantissa = e < 0 ? text.slice(start) : text.slice(start, e)
  const dot = mantissa.indexOf(".")
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot)
  let digits = dot < 0 ? whole : whole + mantissa.slice(dot + 1)
  let lead = 0
  while (digits[lead] === "0") lead++
  let end = digits.length
  while (end > lead && digits[end - 1] === "0") end--
  digits = digits.slice(lead, end)
  return { digits, exp: whole.length - lead - 1 + (e < 0 ? 0 : Number(text.slice(e + 1))) }
}

/**
 * Java's `Double.toString` of a double. ECMAScript's `Number::toString` already yields the
 * shortest digits that round-trip (as Java does since JDK 19), so only the layout differs.
 */
export const javaDouble = (x: number): string => {
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const abs = x < 0 ? -x : x
  const text = String(x)
  // JavaScript prints this whole range without an exponent, as Java does.
  if (abs >= 1e-3 && abs < 1e7) return text.indexOf(".") < 0 ? `${text}.0` : text
  const { digits, exp } = decompose(text)
  return layout(x < 0, digits, exp)
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** `x` = `m` × 2^`e` exactly, for a positive float32 `x`. */
const binary = (x: number): { m: number; e: number } => {
  f32[0] = x
  const bits = u32[0]!
  const biased = (bits >>> 23) & 0xff
  const fraction = bits & 0x7fffff
  return biased === 0 ? { m: fraction, e: -149 } : { m: fraction | 0x800000, e: biased - 150 }
}

const big10 = (n: number) => 10n ** BigInt(n)
const big2 = (n: number) => 1n << BigInt(n)

/** Whether the float below `x` is nearer than the float above (x is a power of two). */
const lopsided = (m: number, e: number) => m === 0x800000 && e > -149

/**
 * The exact reference: the shortest decimal that reads back as the float32 `x` (parsers round
 * half to even), the one closest to `x` among those, ties to an even last digit; when one digit
 * would do, Java considers two-digit spellings too and takes the closest. BigInt keeps it exact;
 * the fast path below only comes here when doubles cannot decide.
 */
export const shortestFloatExact = (x: number): { digits: string; exp: number } => {
  const { m, e } = binary(x)
  const top = decompose(String(x)).exp
  // Interval ends in units of 2^(e-2), where x = 4m.
  const low = BigInt(4 * m - (lopsided(m, e) ? 1 : 2))
  const high = BigInt(4 * m + 2)
  const inclusive = m % 2 === 0
  /** Sign of q × 10^s − v × 2^(e-2). */
  const compare = (q: bigint, s: number, v: bigint): number => {
    const a = q * (s > 0 ? big10(s) : 1n) * (e < 2 ? big2(2 - e) : 1n)
    const b = v * (s < 0 ? big10(-s) : 1n) * (e > 2 ? big2(e - 2) : 1n)
    return a < b ? -1 : a > b ? 1 : 0
  }
  const inside = (q: bigint, s: number) => {
    const lo = compare(q, s, low)
    const hi = compare(q, s, high)
    return (lo > 0 || (inclusive && lo === 0)) && (hi < 0 || (inclusive && hi === 0))
  }
  const numerator = BigInt(m) * (e > 0 ? big2(e) : 1n)
  const denominator = e < 0 ? big2(-e) : 1n
  /** The valid n-digit spelling closest to x, if any: [digits, exponent of the last digit]. */
  const closest = (n: number): readonly [bigint, number] | undefined => {
    const s = top - n + 1
    const num = numerator * (s < 0 ? big10(-s) : 1n)
    const den = denominator * (s > 0 ? big10(s) : 1n)
    let q = num / den
    const twice = 2n * (num - q * den)
    if (twice > den || (twice === den && q % 2n === 1n)) q++
    if (inside(q, s)) return [q, s]
    // Only a lopsided interval can hold the neighbour on the far side when the nearest misses.
    const other = compare(q, s, BigInt(4 * m)) < 0 ? q + 1n : q - 1n
    return inside(other, s) ? [other, s] : undefined
  }
  for (let n = 1; n <= 10; n++) {
    let found = closest(n)
    if (found === undefined) continue
    if (n === 1) found = closest(2) ?? found
    const text = String(found[0])
    return { digits: text.replace(/0+$/, ""), exp: found[1] + text.length - 1 }
  }
  throw new Error(`no float32 spelling found for ${x}`)
}

/** `x` × 10^`k` with one rounding, or NaN when 10^|k| is not exact. */
const scaled = (x: number, k: number): number =>
  k >= 0 ? (k <= 22 ? x * POW10_22[k]! : Number.NaN) : k >= -22 ? x / POW10_22[-k]! : Number.NaN

/**
 * Java's `Float.toString` of a float32 value: the shortest digits that read back as that float
 * (at most 9), in Java's layout. The value scaled to nine integer digits in double arithmetic
 * (one rounding) decides almost every value; one too close to call goes to the exact path.
 */
export const javaFloat = (x: number): string => {
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const negative = x < 0
  const abs = negative ? -x : x
  f32[0] = abs
  const biased = u32[0]! >>> 23
  // Subnormals (biased exponent 0) get e = -150 here and go to the exact path below.
  const m = (u32[0]! & 0x7fffff) | 0x800000
  const e = biased - 150
  // log10(2) × the binary exponent is the decimal exponent or one below it.
  let exp = Math.floor((e + 23) * 0.3010299956639812)
  let v = scaled(abs, 8 - exp)
  if (v >= 1e9) {
    exp++
    v = scaled(abs, 8 - exp)
  }
  // Subnormals, lopsided intervals and far exponents are rare enough for the exact path.
  if (!(v >= 1e8 && v < 1e9) || biased === 0 || lopsided(m, e)) {
    const exact = shortestFloatExact(abs)
    return layout(negative, exact.digits, exact.exp)
  }
  // Half the gap to the neighbouring floats, in units of the ninth digit.
  const half = 2 ** (e - 1) * (v / abs)
  let best = 0
  let bestUnit = 0
  // Eight digits fit most values, so start there and shorten while they fit; nine always fit (the
  // gaps span at least three ninth-digit units). When one digit would do, Java takes the closer of
  // the one- and two-digit spellings: the two-digit one, so the search stops at two.
  for (let unit = 10; unit <= 1e7; unit *= 10) {
    const r = v / unit
    const floor = Math.floor(r)
    const frac = r - floor
    const q = frac > 0.5 || (frac === 0.5 && floor % 2 === 1) ? floor + 1 : floor
    const distance = Math.abs(q * unit - v)
    // A near-tie or a near-boundary needs exact arithmetic (exact ties are computed exactly).
    if ((frac !== 0.5 && Math.abs(frac - 0.5) < 1e-6) || Math.abs(distance - half) < 1e-6 * half) {
      const exact = shortestFloatExact(abs)
      return layout(negative, exact.digits, exact.exp)
    }
    if (distance >= half) break
    best = q
    bestUnit = unit
  }
  if (bestUnit === 0) {
    const floor = Math.floor(v)
    const frac = v - floor
    if (frac !== 0.5 && Math.abs(frac - 0.5) < 1e-6) {
      const exact = shortestFloatExact(abs)
      return layout(negative, exact.digits, exact.exp)
    }
    best = frac > 0.5 || (frac === 0.5 && floor % 2 === 1) ? floor + 1 : floor
    bestUnit = 1
  }
  let digits = best
  let point = exp
  if (digits * bestUnit >= 1e9) {
    digits /= 10
    point++
  }
  while (digits % 10 === 0) digits /= 10
  return layout(negative, String(digits), point)
}
