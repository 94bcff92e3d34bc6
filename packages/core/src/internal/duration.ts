/**
 * The playing time of inline media, read from its container headers without decoding any frame:
 * MP4/MOV (`moov/mvhd`), WAV (`fmt ` and `data` chunks), Ogg (the last page's granule position
 * over the Vorbis/Opus rate), MP3 (a Xing/Info/VBRI frame count, else the constant bitrate) and
 * WebM/Matroska (`Segment/Info/Duration`). Models that cap a synchronous clip's length can then
 * refuse a long one before the call. `undefined` when the container does not say.
 *
 * @internal
 */

const ascii = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.subarray(from, to)).toString("latin1")

const mp4 = (b: Uint8Array): number | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const box = (type: string, from: number, to: number): { start: number; end: number } | undefined => {
    let at = from
    while (at + 8 <= to) {
      let size = view.getUint32(at)
      let header = 8
      if (size === 1 && at + 16 <= to) {
        size = Number(view.getBigUint64(at + 8))
        header = 16
      } else if (size === 0) size = to - at
      if (size < header || at + size > to) return undefined
      if (ascii(b, at + 4, at + 8) === type) return { start: at + header, end: at + size }
      at += size
    }
    return undefined
  }
  const moov = box("moov", 0, b.length)
  const mvhd = moov === undefined ? undefined : box("mvhd", moov.start, moov.end)
  if (mvhd === undefined || mvhd.end - mvhd.start < 20) return undefined
  if (b[mvhd.start] === 1) {
    if (mvhd.end - mvhd.start < 32) return undefined
    const scale = view.getUint32(mvhd.start + 20)
    return scale === 0 ? undefined : Number(view.getBigUint64(mvhd.start + 24)) / scale
  }
  const scale = view.getUint32(mvhd.start + 12)
  return scale === 0 ? undefined : view.getUint32(mvhd.start + 16) / scale
}

const wav = (b: Uint8Array): number | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let byteRate: number | undefined
  for (let at = 12; at + 8 <= b.length; ) {
    const id = ascii(b, at, at + 4)
    const size = view.getUint32(at + 4, true)
    if (id === "fmt " && at + 20 <= b.length) byteRate = view.getUint32(at + 16, true)
    // A streamed WAV may leave the data size unset (0 or 0xffffffff): use what is there.
    if (id === "data") {
      const bytes = size === 0 || size === 0xffffffff ? b.length - at - 8 : size
      return byteRate === undefined || byteRate === 0 ? undefined : bytes / byteRate
    }
    at += 8 + size + (size % 2)
  }
  return undefined
}

const ogg = (b: Uint8Array): number | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  // The first page's packet names the codec and, for Vorbis, the sample rate; Opus granules are 48 kHz.
  const head = ascii(b, 28, 36)
  const rate = head.startsWith("OpusHead") ? 48_000 : head.slice(1, 7) === "vorbis" ? view.getUint32(40, true) : 0
  if (rate === 0) return undefined
  for (let at = b.length - 27; at >= 0; at--) {
    if (b[at] === 0x4f && ascii(b, at, at + 4) === "OggS") {
      const granule = Number(view.getBigUint64(at + 6, true))
      return granule / rate
    }
  }
  return undefined
}

const mp3Bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
const mp3Rates: Record<number, ReadonlyArray<number>> = { 3: [44_100, 48_000, 32_000], 2: [22_050, 24_000, 16_000] }

const mp3 = (b: Uint8Array): number | undefined => {
  let at = 0
  if (ascii(b, 0, 3) === "ID3" && b.length >= 10) {
    // The tag size is four 7-bit bytes.
    at = 10 + (((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f))
  }
  while (at + 4 <= b.length && !(b[at] === 0xff && (b[at + 1]! & 0xe0) === 0xe0)) at++
  if (at + 4 > b.length) return undefined
  const version = (b[at + 1]! >> 3) & 0x03 // 3: MPEG-1, 2: MPEG-2
  const layer = (b[at + 1]! >> 1) & 0x03 // 1: layer III
  const bitrate = mp3Bitrates[b[at + 2]! >> 4]
  const rate = mp3Rates[version]?.[(b[at + 2]! >> 2) & 0x03]
  if (layer !== 1 || bitrate === undefined || bitrate === 0 || rate === undefined) return undefined
  const samplesPerFrame = version === 3 ? 1152 : 576
  const window = ascii(b, at, Math.min(b.length, at + 64))
  for (const tag of ["Xing", "Info"]) {
    const offset = window.indexOf(tag)
    if (offset >= 0 && at + offset + 12 <= b.length && (b[at + offset + 7]! & 0x01) === 1) {
      const frames = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at + offset + 8)
      return (frames * samplesPerFrame) / rate
    }
  }
  return ((b.length - at) * 8) / (bitrate * 1000)
}

/** Reads an EBML variable-length integer at `at`: its value and its length in bytes. */
const vint = (b: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number } | undefined => {
  const first = b[at]
  if (first === undefined || first === 0) return undefined
  let length = 1
  while ((first & (0x80 >> (length - 1))) === 0) length++
  if (length > 8 || at + length > b.length) return undefined
  let value = keepMarker ? first : first & (0xff >> length)
  for (let i = 1; i < length; i++) value = value * 256 + b[at + i]!
  return { value, length }
}

const matroska = (b: Uint8Array): number | undefined => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  // Walk into Segment (0x18538067) and Info (0x1549a966); read TimecodeScale (0x2ad7b1) and Duration (0x4489).
  const walk = (from: number, to: number): number | undefined => {
    let scale = 1_000_000
    let duration: number | undefined
    for (let at = from; at < to; ) {
      const id = vint(b, at, true)
      if (id === undefined) return undefined
      const size = vint(b, at + id.length, false)
      if (size === undefined) return undefined
      const start = at + id.length + size.length
      const unknownSize = size.value === 2 ** (7 * size.length) - 1
      const end = unknownSize ? to : Math.min(to, start + size.value)
      if (id.value === 0x18538067 || id.value === 0x1549a966) return walk(start, end)
      if (id.value === 0x2ad7b1) {
        scale = 0
        for (let i = start; i < end; i++) scale = scale * 256 + b[i]!
      }
      if (id.value === 0x4489) duration = end - start === 8 ? view.getFloat64(start) : view.getFloat32(start)
      if (duration !== undefined && id.value !== 0x4489) break
      at = end
    }
    return duration === undefined ? undefined : (duration * scale) / 1e9
  }
  return walk(0, b.length)
}

/**
 * Seconds of media in a Bedrock format (`mp4`, `mov`, `wav`, `ogg`, `mp3`, `webm`, `mkv`), or
 * `undefined` when the format has no reader here or the headers do not say.
 *
 * @internal
 */
export const durationOf = (format: string, b: Uint8Array): number | undefined => {
  try {
    switch (format) {
      case "mp4":
      case "mov":
      case "3gp":
        return mp4(b)
      case "wav":
        return wav(b)
      case "ogg":
        return ogg(b)
      case "mp3":
        return mp3(b)
      case "webm":
      case "mkv":
        return matroska(b)
      default:
        return undefined
    }
  } catch {
    // A truncated or corrupt header: the length is unknown, Bedrock will judge the bytes.
    return undefined
  }
}
