/**
 * The engine's float reader (`Float32Json.parseFloat32Json`) on its own, per number notation:
 *
 *   node bench/float32json.ts [--rounds 400] [--against path/to/another/Float32Json.ts]
 *
 * For each notation it builds Titan-like bodies (`{"embedding":[1024 numbers],"embeddingsByType":
 * {"float":[the same]},"inputTextTokenCount":7}`, the vector twice as Titan v2 sends it) and a
 * bare 1024-number array, then prints ns per number and µs per body for the reader and for what a
 * caller does without it (`JSON.parse` of the decoded text, then `Float32Array.from`). The values
 * are checked against `Math.fround(JSON.parse(…))` before timing. Figures depend on the machine;
 * the ratio between notations is the point: every notation should cost about what 7 decimals cost.
 * `--against` times another copy of the reader (an older version, say) in the same rounds.
 *
 * Then memory: the array-buffer bytes still held, after a full GC, by 2000 vectors each read from
 * its own Titan body of 17-digit numbers, against their float32 size — with each vector's text kept
 * (the default, which keeps its body alive) and with `keepText: false`.
 */
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { Float32Json } from "@bedrock-embed/core"
import { table } from "./table.ts"

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "400" }, against: { type: "string" } }
})
const rounds = Number(values.rounds)
const other =
  values.against === undefined
    ? undefined
    : ((await import(pathToFileURL(values.against).href)) as Pick<typeof Float32Json, "parseFloat32Json">)
const DIMENSIONS = 1024
const VARIANTS = 8

// mulberry32, so every run reads the same bytes.
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Java's `Double.toString` / `Float.toString` spelling of a shortest digit string: `E` below 1e-3. */
const javaStyle = (shortest: string, v: number): string => {
  const abs = Math.abs(v)
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) {
    const [mantissa, exponent] = v.toExponential(shortest.replace(/^-?0\.0*|[-.]|e.*$/g, "").length - 1).split("e")
    return `${mantissa!.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`
  }
  return shortest
}

/** A float32 printed with at most 9 significant digits (the shortest that reads back as that float32). */
const shortestFloat32 = (f: number): string => {
  for (let p = 1; p <= 9; p++) {
    const text = f.toPrecision(p)
    if (Math.fround(Number(text)) === f) return String(Number(text))
  }
  return String(f)
}

const notations: ReadonlyArray<readonly [string, (v: number, i: number) => string]> = [
  ["7 decimals (the emulator)", (v) => v.toFixed(7)],
  ["Java Float.toString (≤ 9 digits, E-4)", (v) => javaStyle(shortestFloat32(Math.fround(v)), Math.fround(v))],
  ["float32 as Java double (14–17 digits, E-5)", (v) => javaStyle(String(Math.fround(v)), Math.fround(v))],
  ["17 significant digits, fixed", (v) => v.toPrecision(17)],
  ["17 significant digits, e-05", (v) => v.toExponential(16).replace(/e([+-])(\d)$/, "e$10$2")],
  ["shortest double (JS String)", (v) => String(v)],
  [
    "mixed: -0, 1E-5, 0.001234e+1, 1234e-7, ints",
    (v, i) =>
      [
        "-0",
        v.toExponential(0).toUpperCase().replace("E-", "E-0"),
        `${(v / 10).toFixed(9)}e+1`,
        `${Math.round(v * 1e7)}e-7`,
        String(Math.round(v * 100)),
        v.toPrecision(17),
        `${v.toExponential(16).toUpperCase()}`
      ][i % 7]!
  ]
]

const encoder = new TextEncoder()
const utf8 = new TextDecoder()

/** Unit vectors whose values span Titan's range, a few below 1e-4. */
const vectors = Array.from({ length: VARIANTS }, (_, variant) => {
  const random = prng(1000 + variant)
  const raw = Array.from({ length: DIMENSIONS }, (_, i) => (random() - 0.5) * (i % 50 === 0 ? 1e-3 : 1))
  const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0))
  return raw.map((v) => v / norm)
})

const check = (body: Uint8Array) => {
  const want = JSON.parse(utf8.decode(body)) as { embedding: Array<number> }
  const got = Float32Json.parseFloat32Json(body) as { embedding: Float32Array }
  for (let i = 0; i < DIMENSIONS; i++)
    if (!Object.is(got.embedding[i], Math.fround(want.embedding[i]!)))
      throw new Error(`value ${i}: read ${got.embedding[i]}, JSON.parse gives ${Math.fround(want.embedding[i]!)}`)
}

/** Median µs per call of each of `fs` over the bodies, the functions taking turns each round, after a warm-up. */
const time = (bodies: ReadonlyArray<Uint8Array>, fs: ReadonlyArray<(body: Uint8Array) => unknown>) => {
  let sink = 0
  for (let r = 0; r < 100; r++) for (const f of fs) for (const body of bodies) sink += f(body) === undefined ? 0 : 1
  const samples = fs.map((): Array<number> => [])
  for (let r = 0; r < rounds; r++) {
    fs.forEach((f, k) => {
      const t0 = performance.now()
      for (const body of bodies) sink += f(body) === undefined ? 0 : 1
      samples[k]!.push(((performance.now() - t0) * 1000) / bodies.length)
    })
  }
  if (sink < 0) console.log(sink)
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]!)
}

const ours = (body: Uint8Array) => Float32Json.parseFloat32Json(body)
const baseline = (body: Uint8Array) => {
  const json = JSON.parse(utf8.decode(body)) as {
    embedding?: Array<number>
    embeddingsByType?: { float: Array<number> }
  }
  if (json.embedding === undefined) return Float32Array.from(json as unknown as Array<number>)
  return [Float32Array.from(json.embedding), Float32Array.from(json.embeddingsByType!.float)]
}

console.log(
  `Float32Json.parseFloat32Json — Node ${process.version}, ${DIMENSIONS}-number vectors, ${VARIANTS} bodies per notation, median of ${rounds} rounds`
)
const rows: Array<ReadonlyArray<string>> = []
for (const [name, write] of notations) {
  const texts = vectors.map((v) => v.map(write).join(","))
  const bodies = texts.map((t) =>
    encoder.encode(`{"embedding":[${t}],"embeddingsByType":{"float":[${t}]},"inputTextTokenCount":7}`)
  )
  const arrays = texts.map((t) => encoder.encode(`[${t}]`))
  for (const body of bodies) check(body)
  const bytesPerNumber = arrays.reduce((sum, a) => sum + a.length, 0) / (VARIANTS * DIMENSIONS)
  const readers = other === undefined ? [ours] : [ours, (body: Uint8Array) => other.parseFloat32Json(body)]
  const array = time(arrays, readers)
  const timed = time(bodies, [...readers, baseline])
  const body = timed[0]
  const parse = timed[timed.length - 1]
  const otherBody = other === undefined ? undefined : timed[1]
  rows.push([
    name,
    bytesPerNumber.toFixed(1),
    ((array[0]! * 1000) / DIMENSIONS).toFixed(1),
    body!.toFixed(1),
    ...(other === undefined ? [] : [((array[1]! * 1000) / DIMENSIONS).toFixed(1), otherBody!.toFixed(1)]),
    parse!.toFixed(1),
    `${(parse! / body!).toFixed(2)}×`
  ])
}
table(
  "ns per number (a bare array) and µs per Titan v2 body (the vector twice)",
  [
    "notation",
    "bytes / number",
    "ns / number",
    "µs / body",
    ...(other === undefined ? [] : ["--against ns / number", "--against µs / body"]),
    "JSON.parse + Float32Array.from µs",
    "speed-up vs JSON.parse"
  ],
  rows
)

// Memory held by vectors, each from its own body (as from the network), after a full GC.
V8.setFlagsFromString("--expose-gc")
const gc = Vm.runInNewContext("gc") as () => void
const held = 2000
const template = encoder.encode(
  (() => {
    const t = vectors[0]!.map(notations[2]![1]).join(",")
    return `{"embedding":[${t}],"embeddingsByType":{"float":[${t}]},"inputTextTokenCount":7}`
  })()
)
const memoryRows: Array<ReadonlyArray<string>> = []
/** A full GC, twice with a pause: array-buffer memory is released by a background task. */
const settle = async () => {
  gc()
  await new Promise((resolve) => setTimeout(resolve, 100))
  gc()
}
for (const keepText of [false, true]) {
  await settle()
  const before = process.memoryUsage().arrayBuffers
  const kept: Array<unknown> = []
  for (let i = 0; i < held; i++)
    kept.push((Float32Json.parseFloat32Json(template.slice(), { keepText }) as { embedding: Float32Array }).embedding)
  await settle()
  const grown = process.memoryUsage().arrayBuffers - before
  memoryRows.push([
    keepText ? "kept (default)" : "keepText: false",
    (grown / 1e6).toFixed(1),
    `${(grown / (held * DIMENSIONS * 4)).toFixed(2)}×`
  ])
  if (kept.length !== held) throw new Error("lost vectors")
}
table(
  `array-buffer memory held by ${held} vectors from ${held} bodies of ${template.length} bytes (float32 as Java double)`,
  ["vector text", "MB held", "× float32 size"],
  memoryRows
)
