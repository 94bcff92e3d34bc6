/** Shared test setup: a real emulator on loopback and the request parameters that point at it. */
import { crc32, deflateSync } from "node:zlib"
import { EMULATOR_CREDENTIALS, type Emulator, type EmulatorOptions, startEmulator } from "@bedrock-embed/emulator"

export const start = (options: EmulatorOptions = {}): Promise<Emulator> =>
  startEmulator({ region: "us-east-1", ...options })

/** Request parameters that send calls to the emulator with its SigV4 credentials. */
export const paramsFor = (emulator: Emulator) => ({
  aws_bedrock_runtime_endpoint: emulator.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
  aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
})

export const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

/** A valid 2×2 RGB PNG, built byte by byte so the test needs no fixture file. */
export const tinyPng = (): string => {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, "latin1"), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body) >>> 0)
    return Buffer.concat([length, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(2, 0)
  ihdr.writeUInt32BE(2, 4)
  ihdr[8] = 8
  ihdr[9] = 2
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255])
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0))
  ]).toString("base64")
}
