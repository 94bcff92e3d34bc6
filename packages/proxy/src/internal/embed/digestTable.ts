/**
 * A map from strings to small integers that keeps 96-bit digests of the strings, not the
 * strings: about 16 bytes a key at the table's fill (3 key words and 1 value word a slot, at most
 * 3/4 full), where a `Map<string, number>` of short ids takes about 100 — what keeps the bulk
 * command's memory flat over millions of lines.
 *
 * Two strings with the same digest are taken for one: with 96 bits the chance of that among 10⁹
 * keys is below 10⁻¹¹.
 *
 * @since 0.1.0
 */
import { hash } from "node:crypto"

/** Key words per slot. */
const WORDS = 3

/**
 * The 96-bit digest of a text (the first 12 bytes of its SHA-256) as three words, never all zero
 * (zero marks an empty slot).
 */
export const digestOf = (text: string): Uint32Array => {
  const bytes = hash("sha256", text, "buffer")
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, WORDS).slice()
  if (words[0] === 0 && words[1] === 0 && words[2] === 0) words[0] = 1
  return words
}

/**
 * The digest as a short string (16 characters), for the few keys that also go into a `Map`.
 */
export const digestKey = (digest: Uint32Array): string =>
  Buffer.from(digest.buffer, digest.byteOffset, WORDS * 4).toString("base64url")

/**
 * Strings (by {@link digestOf}) to integers in `[0, 2³²)`, in open addressing with linear probing.
 * Also an `IdSet` (`add`/`has`, value 0).
 *
 * @since 0.1.0
 */
export class DigestTable {
  private keys: Uint32Array
  private values: Uint32Array
  private mask: number
  /** Keys held. */
  size = 0

  constructor(capacity = 1 << 10) {
    let slots = 16
    while (slots * 0.75 < capacity) slots *= 2
    this.keys = new Uint32Array(slots * WORDS)
    this.values = new Uint32Array(slots)
    this.mask = slots - 1
  }

  /** The slot holding `digest`, or the empty slot where it would go. */
  private slot(digest: Uint32Array): number {
    const keys = this.keys
    for (let at = digest[0]! & this.mask; ; at = (at + 1) & this.mask) {
      const k = at * WORDS
      if (keys[k] === digest[0] && keys[k + 1] === digest[1] && keys[k + 2] === digest[2]) return at
      if (keys[k] === 0 && keys[k + 1] === 0 && keys[k + 2] === 0) return at
    }
  }

  private occupied(at: number): boolean {
    const k = at * WORDS
    return this.keys[k] !== 0 || this.keys[k + 1] !== 0 || this.keys[k + 2] !== 0
  }

  /** The value of a digest, or `undefined` when it is not held. */
  getDigest(digest: Uint32Array): number | undefined {
    const at = this.slot(digest)
    return this.occupied(at) ? this.values[at] : undefined
  }

  /** Sets a digest's value. */
  setDigest(digest: Uint32Array, value: number): void {
    let at = this.slot(digest)
    if (!this.occupied(at)) {
      if ((this.size + 1) / (this.mask + 1) > 0.75) {
        this.grow()
        at = this.slot(digest)
      }
      this.keys.set(digest, at * WORDS)
      this.size++
    }
    this.values[at] = value
  }

  get(key: string): number | undefined {
    return this.getDigest(digestOf(key))
  }

  set(key: string, value: number): void {
    this.setDigest(digestOf(key), value)
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  /** Holds `key` (with value 0 when it is new). */
  add(key: string): this {
    const digest = digestOf(key)
    if (this.getDigest(digest) === undefined) this.setDigest(digest, 0)
    return this
  }

  /** Each held digest with its value (the digest array is reused between calls). */
  forEach(f: (digest: Uint32Array, value: number) => void): void {
    const digest = new Uint32Array(WORDS)
    for (let at = 0; at <= this.mask; at++) {
      if (!this.occupied(at)) continue
      digest.set(this.keys.subarray(at * WORDS, at * WORDS + WORDS))
      f(digest, this.values[at]!)
    }
  }

  private grow(): void {
    const { keys, values, mask } = this
    const slots = (mask + 1) * 2
    this.keys = new Uint32Array(slots * WORDS)
    this.values = new Uint32Array(slots)
    this.mask = slots - 1
    this.size = 0
    const digest = new Uint32Array(WORDS)
    for (let at = 0; at <= mask; at++) {
      const k = at * WORDS
      if (keys[k] === 0 && keys[k + 1] === 0 && keys[k + 2] === 0) continue
      digest.set(keys.subarray(k, k + WORDS))
      const to = this.slot(digest)
      this.keys.set(digest, to * WORDS)
      this.values[to] = values[at]!
      this.size++
    }
  }
}
