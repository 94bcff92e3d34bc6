/**
 * JSON from bytes, with number arrays read straight into `Float32Array`s.
 *
 * A Bedrock embedding response is mostly numbers: 96 × 1024 of them in a 2 MB body. `JSON.parse`
 * needs the body as one string and builds a JS array of doubles per vector, all garbage once the
 * vectors are copied to `Float32Array`s; under bulk load that garbage is most of the memory. This
 * parser walks the bytes once and writes each array of numbers into a `Float32Array` of its exact
 * length, so the vectors are the only large allocation. Everything else (objects, strings, other
 * arrays) comes out as `JSON.parse` would give it.
 *
 * Numbers in arrays are read in one pass over their digits, whatever the notation (`0.5`,
 * `1.5e-3`, `-2E-05`, `1234e-7`, `-0`, 17-digit doubles like `-2.2172927856445312E-5`). An integer
 * mantissa of at most 15 digits scaled by an exact power of ten (point and exponent together within
 * 10^±22) takes Clinger's fast path: one correctly rounded IEEE operation, the same double
 * `JSON.parse` returns. Any other number (16 or more significant digits, far exponents) is
 * approximated within a few roundings of the decimal, and the float32 of that whole error interval is
 * the answer when the interval does not straddle a float32 rounding boundary, as for all but fewer
 * than one in 10^7 random numbers. Only those few are read again through `Number()`, so every value
 * equals `Math.fround(JSON.parse(...))`. Numbers in mixed arrays stay doubles.
 *
 * Each array of numbers also keeps where its text is in the body ({@link jsonText}): a gateway
 * can write the vector back out as Bedrock wrote it, with no number formatted again.
 *
 * @since 0.1.0
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

const POWERS = Array.from({ length: 23 }, (_, i) => 10 ** i)
const numberToken = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/
const latin1 = new TextDecoder("latin1")
const texts = new WeakMap<Float32Array, Uint8Array>()
// One scratch buffer for every parse (parsing is synchronous, so never two at once): a body costs
// no 32 kB allocation, only its vectors.
let shared = new Float64Array(4096)

/**
 * The JSON text a vector was parsed from (its `[…]`, as the body had it, already checked to be
 * numbers), when it came from {@link parseFloat32Json}.
 *
 * @category parsing
 * @since 0.1.0
 */
export const jsonText = (vector: unknown): Uint8Array | undefined =>
  vector instanceof Float32Array ? texts.get(vector) : undefined
const utf8 = new TextDecoder()

/**
 * Thrown for malformed input; the caller maps it to its own error.
 *
 * @category errors
 * @since 0.1.0
 */
export class JsonSyntaxError extends Error {}

/**
 * `mantissa × 10^scale` (`mantissa` ≥ 1, below 10^19) within 3 roundings: by exact powers of ten
 * of at most 10^22, and past the float32 range (beyond 10^44, below 10^-64) straight to what
 * `Math.fround` makes of anything there, Infinity or 0.
 */
const approximate = (mantissa: number, scale: number): number => {
  if (scale > 44) return Number.POSITIVE_INFINITY
  if (scale < -64) return 0
  let value = mantissa
  let s = scale
  while (s > 22) {
    value *= POWERS[22]!
    s -= 22
  }
  while (s < -22) {
    value /= POWERS[22]!
    s += 22
  }
  return s < 0 ? value / POWERS[-s]! : value * POWERS[s]!
}

/**
 * Parses a JSON document from UTF-8 bytes; every non-empty array of numbers becomes a
 * `Float32Array` of its length.
 *
 * With `keepText: false` no vector keeps its text ({@link jsonText} gives `undefined`). Keeping it
 * keeps the whole body alive as long as any of its vectors: for 17-digit numbers that is about 10
 * bytes of body per 4-byte float, so a caller that holds vectors and never writes them back as
 * JSON (bulk embedding) should turn it off.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseFloat32Json = (bytes: Uint8Array, options?: { readonly keepText?: boolean }): unknown => {
  const keepText = options?.keepText ?? true
  let at = 0
  // Doubles, so a mixed array keeps exact numbers; a numbers-only array is narrowed once at its end.
  let scratch = shared
  let last: { readonly text: Uint8Array; readonly vector: Float32Array } | undefined

  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at byte ${at}`)
  }
  const space = () => {
    let c = bytes[at]
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++at]
  }
  const isNumberStart = (c: number | undefined) => c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)

  /**
   * One number, read exactly (`Number` of its token): numbers outside arrays of numbers, and the
   * rare ones the fast loop of `numbers` leaves (within 2^-50 of a float32 rounding boundary).
   */
  const number = (): number => {
    const start = at
    let c = bytes[at]
    while (
      c !== undefined &&
      ((c >= ZERO && c <= NINE) || c === MINUS || c === PLUS || c === DOT || c === 0x65 || c === 0x45)
    )
      c = bytes[++at]
    // A plain count (`"inputTextTokenCount":7`) needs no string.
    if (at - start <= 15 && (bytes[start] !== ZERO || at - start === 1)) {
      let value = 0
      let k = start
      while (k < at && bytes[k]! >= ZERO && bytes[k]! <= NINE) value = value * 10 + bytes[k++]! - ZERO
      if (k === at && k > start) return value
    }
    let token = ""
    for (let k = start; k < at; k++) token += String.fromCharCode(bytes[k]!)
    if (!numberToken.test(token)) fail(`"${token}" is not a number`)
    return Number(token)
  }

  const string = (): string => {
    const start = at
    at++
    let escaped = false
    for (;;) {
      const c = bytes[at]
      if (c === undefined) fail("unterminated string")
      if (c === QUOTE) break
      if (c === BACKSLASH) {
        escaped = true
        at += 2
      } else at++
    }
    at++
    if (!escaped) {
      let ascii = true
      for (let i = start + 1; i < at - 1; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false
          break
        }
      }
      return ascii ? latin1.decode(bytes.subarray(start + 1, at - 1)) : utf8.decode(bytes.subarray(start + 1, at - 1))
    }
    return JSON.parse(utf8.decode(bytes.subarray(start, at))) as string
  }

  const literal = (text: string, result: unknown): unknown => {
    for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) fail(`expected ${text}`)
    at += text.length
    return result
  }

  /**
   * Reads the numbers of an array into `scratch`, from its first number to its `]`: the count, or
   * `-(count + 1)` when a non-number follows a comma (then `at` is at that value). One loop with
   * local variables: this is where a 2 MB body spends its time.
   */
  const numbers = (): number => {
    const b = bytes
    let i = at
    let n = 0
    let out = scratch
    for (;;) {
      const start = i
      let c = b[i]!
      const negative = c === MINUS
      if (negative) c = b[++i]!
      // The first 15 significant digits in `high` (an exact integer), the next 4 in `low`; digits
      // past the 19th only move the point. The number is (high × 10^(digits − 15) + low) × 10^scale.
      let high = 0
      let low = 0
      let digits = 0
      let scale = 0
      // `c - ZERO` is NaN past the end, so every digit test below is false there.
      let d = c - ZERO
      if (!(d >= 0 && d <= 9)) {
        at = i
        return fail("expected a digit")
      }
      if (d === 0) {
        // JSON's integer part is a lone 0 or starts with 1–9.
        d = b[++i]! - ZERO
        if (d >= 0 && d <= 9) {
          at = i
          return fail("leading zero in a number")
        }
      } else {
        while (d >= 0 && d <= 9) {
          if (digits < 15) {
            high = high * 10 + d
            digits++
          } else if (digits < 19) {
            low = low * 10 + d
            digits++
          } else scale++
          d = b[++i]! - ZERO
        }
      }
      c = d + ZERO
      if (c === DOT) {
        const point = ++i
        d = b[i]! - ZERO
        if (!(d >= 0 && d <= 9)) {
          at = i
          return fail("expected a digit after the point")
        }
        // Zeros before the first significant digit only move the point.
        if (high === 0) while (d === 0) d = b[++i]! - ZERO
        // Up to 15 significant digits into `high`, up to 19 with `low`, the rest skipped: tight
        // loops with the counts taken from positions, not per digit.
        let from = i
        const highEnd = digits < 15 ? i + 15 - digits : i
        while (d >= 0 && d <= 9 && i < highEnd) {
          high = high * 10 + d
          d = b[++i]! - ZERO
        }
        digits += i - from
        from = i
        const lowEnd = digits < 19 ? i + 19 - Math.max(digits, 15) : i
        while (d >= 0 && d <= 9 && i < lowEnd) {
          low = low * 10 + d
          d = b[++i]! - ZERO
        }
        digits += i - from
        scale -= i - point
        while (d >= 0 && d <= 9) d = b[++i]! - ZERO
        c = d + ZERO
      }
      if (c === 0x65 || c === 0x45) {
        c = b[++i]!
        const negativeExponent = c === MINUS
        if (negativeExponent || c === PLUS) c = b[++i]!
        d = c - ZERO
        if (!(d >= 0 && d <= 9)) {
          at = i
          return fail("expected a digit in the exponent")
        }
        let exponent = 0
        while (d >= 0 && d <= 9) {
          if (exponent < 10_000) exponent = exponent * 10 + d
          d = b[++i]! - ZERO
        }
        c = d + ZERO
        scale += negativeExponent ? -exponent : exponent
      }
      let value: number
      if (digits <= 15 && scale >= -22 && scale <= 22) {
        // Clinger's fast path: one correctly rounded operation, JSON.parse's own double.
        value = scale < 0 ? high / POWERS[-scale]! : high * POWERS[scale]!
      } else if (high === 0) {
        value = 0
      } else {
        const near = approximate(digits > 15 ? high * POWERS[digits - 15]! + low : high, scale)
        // `near` is within 5 roundings (2^-53 each) of the decimal, well inside ±2^-50: when that
        // whole interval rounds to one float32, it is the float32 of JSON.parse's double too (fround
        // is monotonic); only a number that close to a float32 rounding boundary is read exactly.
        const below = Math.fround(near * (1 - 2 ** -50))
        value = below === Math.fround(near * (1 + 2 ** -50)) ? below : exact(start, i)
      }
      if (negative) value = -value
      if (n === out.length) {
        const bigger = new Float64Array(out.length * 2)
        bigger.set(out)
        out = bigger
        scratch = bigger
        if (bigger.length <= 1 << 16) shared = bigger
      }
      out[n++] = value
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i]!
      if (c === CLOSE_BRACKET) {
        at = i + 1
        return n
      }
      if (c !== COMMA) {
        at = i
        return fail("expected , or ]")
      }
      c = b[++i]!
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i]!
      if (!(c === MINUS || (c >= ZERO && c <= NINE))) {
        at = i
        return -n - 1
      }
    }
  }

  /** The magnitude of the number token from `start` (after its sign) to `end`, read exactly. */
  const exact = (start: number, end: number): number => {
    at = bytes[start] === MINUS ? start + 1 : start
    const value = number()
    if (at !== end) fail("malformed number")
    return value
  }

  const array = (): unknown => {
    const open = at
    at++
    space()
    if (bytes[at] === CLOSE_BRACKET) {
      at++
      return []
    }
    if (isNumberStart(bytes[at])) {
      // The same vector twice (a model may send one vector under two keys, as `float` and plain): the
      // same text is the same values, compared at memcmp speed instead of read again.
      if (last !== undefined && Buffer.compare(bytes.subarray(open, open + last.text.length), last.text) === 0) {
        at = open + last.text.length
        return last.vector
      }
      const n = numbers()
      if (n >= 0) {
        const vector = new Float32Array(scratch.subarray(0, n))
        const text = bytes.subarray(open, at)
        if (keepText) texts.set(vector, text)
        last = { text, vector }
        return vector
      }
      // A mixed array: read it again as JSON.parse would, every number an exact double.
      at = open + 1
      return rest([])
    }
    return rest([])
  }

  const rest = (items: Array<unknown>): Array<unknown> => {
    for (;;) {
      items.push(value())
      space()
      const c = bytes[at]
      if (c === CLOSE_BRACKET) {
        at++
        return items
      }
      if (c !== COMMA) fail("expected , or ]")
      at++
      space()
    }
  }

  const object = (): Record<string, unknown> => {
    at++
    const result: Record<string, unknown> = {}
    space()
    if (bytes[at] === CLOSE_BRACE) {
      at++
      return result
    }
    for (;;) {
      space()
      if (bytes[at] !== QUOTE) fail("expected a key")
      const key = string()
      space()
      if (bytes[at] !== COLON) fail("expected :")
      at++
      space()
      result[key] = value()
      space()
      const c = bytes[at]
      if (c === CLOSE_BRACE) {
        at++
        return result
      }
      if (c !== COMMA) fail("expected , or }")
      at++
    }
  }

  const value = (): unknown => {
    space()
    const c = bytes[at]
    switch (c) {
      case OPEN_BRACE:
        return object()
      case OPEN_BRACKET:
        return array()
      case QUOTE:
        return string()
      case 0x74:
        return literal("true", true)
      case 0x66:
        return literal("false", false)
      case 0x6e:
        return literal("null", null)
      default:
        if (isNumberStart(c)) return number()
        return fail("unexpected character")
    }
  }

  const result = value()
  space()
  if (at !== bytes.length) fail("unexpected data after the value")
  return result
}
