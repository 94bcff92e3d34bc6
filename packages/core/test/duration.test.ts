/**
 * Media.durationOf reads a clip's length from its container, checked against files ffmpeg wrote
 * (test/fixtures/media: `ffmpeg -f lavfi -i sine=…|color=…`, one per container Bedrock takes).
 */
import { Media } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { readFileSync } from "node:fs"

const dataUrl = (file: string, mime: string) =>
  `data:${mime};base64,${readFileSync(new URL(`./fixtures/media/${file}`, import.meta.url)).toString("base64")}`

const seconds = (file: string, mime: string) => {
  const parsed = Media.parseInput(dataUrl(file, mime), 0)
  assert.isTrue(Result.isSuccess(parsed))
  return Media.durationOf((parsed as Result.Success<Media.MediaInput, never>).success)
}

describe("Media.durationOf", () => {
  for (const [file, mime, expected] of [
    ["clip-31s.mp4", "video/mp4", 31],
    ["clip-3s-faststart.mov", "video/quicktime", 3],
    ["clip-2.5s.webm", "video/webm", 2.5],
    ["clip-6s.mkv", "video/x-matroska", 6],
    ["tone-1.5s.wav", "audio/wav", 1.5],
    ["tone-3.5s.ogg", "audio/ogg", 3.5],
    ["tone-2.25s.opus.ogg", "audio/ogg", 2.25],
    ["tone-4s-cbr.mp3", "audio/mpeg", 4],
    ["tone-5s-vbr.mp3", "audio/mpeg", 5]
  ] as const) {
    it(`${file}: ${expected} s`, () => {
      const got = seconds(file, mime)
      assert.isDefined(got)
      assert.closeTo(got!, expected, 0.1)
    })
  }

  it("is undefined for S3 media, images, and bytes whose container does not say", () => {
    const s3 = Media.parseInput("s3://media/clip.mp4", 0)
    assert.isUndefined(Media.durationOf((s3 as Result.Success<Media.MediaInput, never>).success))
    const garbage = Media.parseInput(
      `data:video/mp4;base64,${Buffer.from("not a real mp4 at all").toString("base64")}`,
      0
    )
    assert.isUndefined(Media.durationOf((garbage as Result.Success<Media.MediaInput, never>).success))
  })
})
