/** What the emulator can tell about media bytes: the format from magic bytes, and the duration of MP4/MOV and WAV. */

/** The media format of some bytes, in Bedrock's short names, or `undefined`. */
export const formatOf = (b: Uint8Array): string | undefined => {
  const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("latin1")
  if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "png"
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg"
  if (ascii(0, 4) === "GIF8") return "gif"
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp"
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "wav"
  if (ascii(0, 4) === "OggS") return "ogg"
  if (ascii(0, 3) === "ID3" || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return "mp3"
  if (ascii(4, 8) === "ftyp") return ascii(8, 10) === "qt" ? "mov" : "mp4"
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "webm"
  return undefined
}

const findBox = (b: Uint8Array, type: string, from = 0, to = b.length): { start: number; end: number } | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let at = from
  while (at + 8 <= to) {
    const size = view.getUint32(at)
    const name = Buffer.from(b.subarray(at + 4, at + 8)).toString("latin1")
    if (size < 8 || at + size > to) return undefined
    if (name === type) return { start: at + 8, end: at + size }
    at += size
  }
  return undefined
}

/** Seconds of an MP4/MOV (from `moov/mvhd`) or a WAV (from its header); `undefined` when unknown. */
export const durationOf = (b: Uint8Array): number | undefined => {
  const format = formatOf(b)
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (format === "mp4" || format === "mov") {
    const moov = findBox(b, "moov")
    const mvhd = moov === undefined ? undefined : findBox(b, "mvhd", moov.start, moov.end)
    if (mvhd === undefined) return undefined
    const version = b[mvhd.start]
    if (version === 1) {
      const scale = view.getUint32(mvhd.start + 20)
      return scale === 0 ? undefined : Number(view.getBigUint64(mvhd.start + 24)) / scale
    }
    const scale = view.getUint32(mvhd.start + 12)
    return scale === 0 ? undefined : view.getUint32(mvhd.start + 16) / scale
  }
  if (format === "wav" && b.length >= 44) {
    const byteRate = view.getUint32(28, true)
    const dataSize = view.getUint32(40, true)
    return byteRate === 0 ? undefined : dataSize / byteRate
  }
  return undefined
}

/** Whether bytes start like a PNG. */
export const isPng = (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47
/** Whether bytes start like a JPEG. */
export const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff

/** Width and height of a PNG (IHDR) or JPEG (first SOF marker). */
export const imageSize = (b: Uint8Array): readonly [number, number] | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (isPng(b) && b.length >= 24) return [view.getUint32(16), view.getUint32(20)]
  if (isJpeg(b)) {
    let i = 2
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined
      const marker = b[i + 1]!
      const length = view.getUint16(i + 2)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return [view.getUint16(i + 7), view.getUint16(i + 5)]
      }
      i += 2 + length
    }
  }
  return undefined
}
