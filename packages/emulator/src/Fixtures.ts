/** Media fixtures built in memory, so tests and demos need no binary files. */
import { crc32, deflateSync } from "node:zlib"

const chunk = (type: string, data: Buffer): Buffer => {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data])
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length)
  return out
}

/** A valid greyscale PNG of the given size, as base64; `shade` (0–255) sets its pixels. */
export const png = (width: number, height: number, shade = 128): string => {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 0 // greyscale
  const rows = Buffer.alloc((width + 1) * height, shade)
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0 // filter byte of each row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ]).toString("base64")
}

const segment = (marker: number, data: Buffer): Buffer => {
  const head = Buffer.alloc(4)
  head.writeUInt16BE(marker, 0)
  head.writeUInt16BE(data.length + 2, 2)
  return Buffer.concat([head, data])
}

/**
 * A valid baseline greyscale JPEG of the given size, mid-grey, as base64. Every 8×8 block is
 * "DC difference 0, end of block", so one-symbol Huffman tables code it in two bits a block.
 */
export const jpeg = (width: number, height: number): string => {
  const frame = Buffer.alloc(9)
  frame[0] = 8 // precision
  frame.writeUInt16BE(height, 1)
  frame.writeUInt16BE(width, 3)
  frame[5] = 1 // one component
  frame[6] = 1 // id
  frame[7] = 0x11 // 1×1 sampling
  frame[8] = 0 // quantisation table 0
  // One code of length 1 for symbol 0: DC category 0, and AC end-of-block.
  const huffman = (tableClass: number) => Buffer.from([tableClass << 4, 1, ...Array(15).fill(0), 0])
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8)
  const data = Buffer.alloc(Math.ceil((blocks * 2) / 8), 0)
  // Pad the last byte with 1-bits, as the standard asks.
  const used = (blocks * 2) % 8
  if (used !== 0) data[data.length - 1] = 0xff >> used
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xffe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])),
    segment(0xffdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    segment(0xffc0, frame),
    segment(0xffc4, huffman(0)),
    segment(0xffc4, huffman(1)),
    segment(0xffda, Buffer.from([1, 1, 0x00, 0, 63, 0])),
    data,
    Buffer.from([0xff, 0xd9])
  ]).toString("base64")
}

const box = (type: string, ...parts: Array<Buffer>): Buffer => {
  const body = Buffer.concat(parts)
  const header = Buffer.alloc(8)
  header.writeUInt32BE(8 + body.length, 0)
  header.write(type, 4, "latin1")
  return Buffer.concat([header, body])
}

/**
 * A minimal MP4 (ftyp + moov/mvhd + mdat) that declares the given duration, as base64. Enough for
 * the emulator to tell the format and length; it holds no playable frames.
 */
export const mp4 = (seconds: number): string => {
  const mvhd = Buffer.alloc(100)
  mvhd.writeUInt32BE(1000, 12) // timescale: milliseconds
  mvhd.writeUInt32BE(Math.round(seconds * 1000), 16)
  mvhd.writeUInt32BE(0x00010000, 20) // rate 1.0
  mvhd.writeUInt16BE(0x0100, 24) // volume 1.0
  return Buffer.concat([
    box("ftyp", Buffer.from("isom", "latin1"), Buffer.from([0, 0, 2, 0]), Buffer.from("isomiso2mp41", "latin1")),
    box("moov", box("mvhd", mvhd)),
    box("mdat", Buffer.alloc(64, 0x2a))
  ]).toString("base64")
}

/** A silent 8 kHz mono 16-bit WAV of the given duration, as base64. */
export const wav = (seconds: number): string => {
  const samples = Math.round(seconds * 8000)
  const header = Buffer.alloc(44)
  header.write("RIFF", 0, "latin1")
  header.writeUInt32LE(36 + samples * 2, 4)
  header.write("WAVEfmt ", 8, "latin1")
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(8000, 24)
  header.writeUInt32LE(16000, 28) // byte rate
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write("data", 36, "latin1")
  header.writeUInt32LE(samples * 2, 40)
  return Buffer.concat([header, Buffer.alloc(samples * 2)]).toString("base64")
}
