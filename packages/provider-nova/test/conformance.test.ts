/** The core conformance suite over the Nova spec, with documented wire examples (bedrock-wire.md §4.6). */
import { conformance } from "@bedrock-embed/core/testing"
import { NovaEmbeddings } from "@bedrock-embed/provider-nova"
import { assert, describe, it } from "@effect/vitest"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const vector = (n: number) => Array.from({ length: n }, (_, i) => ((i % 9) - 4) / 10)
const MODEL = "bedrock/amazon.nova-2-multimodal-embeddings-v1:0"

/** A minimal MP4: `ftyp`, and `moov/mvhd` saying how long it plays. */
const mp4 = (seconds: number): Buffer => {
  const box = (type: string, payload: Buffer) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(8 + payload.length)
    head.write(type, 4, "latin1")
    return Buffer.concat([head, payload])
  }
  const mvhd = Buffer.alloc(100)
  mvhd.writeUInt32BE(1000, 12) // timescale
  mvhd.writeUInt32BE(seconds * 1000, 16) // duration
  return Buffer.concat([box("ftyp", Buffer.from("isom\0\0\0\0isom", "latin1")), box("moov", box("mvhd", mvhd))])
}

conformance(NovaEmbeddings.spec, {
  examples: [
    {
      name: "text with purpose, dimension and truncation",
      request: {
        model: MODEL,
        input: "Hello",
        dimensions: 1024,
        embeddingPurpose: "TEXT_RETRIEVAL",
        truncationMode: "START"
      },
      bodies: [
        {
          schemaVersion: "nova-multimodal-embed-v1",
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "TEXT_RETRIEVAL",
            embeddingDimension: 1024,
            text: { truncationMode: "START", value: "Hello" }
          }
        }
      ],
      responses: [{ embeddings: [{ embeddingType: "TEXT", embedding: vector(1024) }] }],
      vectors: { count: 1, dimension: 1024 }
    },
    {
      name: "defaults: GENERIC_INDEX, 3072, END",
      request: { model: "bedrock/us.amazon.nova-2-multimodal-embeddings-v1:0", input: ["a", "b"] },
      bodies: ["a", "b"].map((value) => ({
        schemaVersion: "nova-multimodal-embed-v1",
        taskType: "SINGLE_EMBEDDING",
        singleEmbeddingParams: {
          embeddingPurpose: "GENERIC_INDEX",
          embeddingDimension: 3072,
          text: { truncationMode: "END", value }
        }
      })),
      responses: [
        { embeddings: [{ embeddingType: "TEXT", embedding: vector(3072), truncatedCharLength: 3 }] },
        { embeddings: [{ embeddingType: "TEXT", embedding: vector(3072) }], inputTokenCount: 1 }
      ],
      vectors: { count: 2, dimension: 3072 }
    },
    {
      name: "a PNG data URL, bare base64 with input_type image, and an S3 image",
      request: {
        model: MODEL,
        input: [`data:image/png;base64,${png}`],
        dimensions: 256,
        detailLevel: "DOCUMENT_IMAGE"
      },
      bodies: [
        {
          schemaVersion: "nova-multimodal-embed-v1",
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            embeddingDimension: 256,
            image: { format: "png", source: { bytes: png }, detailLevel: "DOCUMENT_IMAGE" }
          }
        }
      ],
      responses: [{ embeddings: [{ embeddingType: "IMAGE", embedding: vector(256) }] }],
      vectors: { count: 1, dimension: 256 }
    },
    {
      name: "an S3 image and an S3 text document",
      request: { model: MODEL, input: ["s3://media/cat.jpg", "s3://docs/readme.txt"], dimensions: 384 },
      bodies: [
        {
          schemaVersion: "nova-multimodal-embed-v1",
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            embeddingDimension: 384,
            image: { format: "jpeg", source: { s3Location: { uri: "s3://media/cat.jpg" } } }
          }
        },
        {
          schemaVersion: "nova-multimodal-embed-v1",
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            embeddingDimension: 384,
            text: { truncationMode: "END", source: { s3Location: { uri: "s3://docs/readme.txt" } } }
          }
        }
      ]
    },
    {
      name: "bare base64 with input_type image",
      request: { model: MODEL, input: png, input_type: "image", dimensions: 256 },
      bodies: [
        {
          schemaVersion: "nova-multimodal-embed-v1",
          taskType: "SINGLE_EMBEDDING",
          singleEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            embeddingDimension: 256,
            image: { format: "png", source: { bytes: png } }
          }
        }
      ]
    }
  ],
  badInputs: [
    {
      name: "a dimension Nova lacks",
      request: { model: MODEL, input: "x", dimensions: 512 },
      error: "InvalidRequestError",
      message: "256, 384, 1024, 3072"
    },
    {
      name: "a BMP image",
      request: { model: MODEL, input: "data:image/bmp;base64,Qk0eAAAA" },
      error: "InvalidRequestError",
      message: "png, jpeg, gif, webp"
    },
    {
      name: "a 31-second video on the sync route (30 s at most)",
      request: { model: MODEL, input: `data:video/mp4;base64,${mp4(31).toString("base64")}` },
      error: "InvalidRequestError",
      message:
        'is 31 seconds of video; amazon.nova-2-multimodal-embeddings-v1:0 embeds at most 30 s synchronously. Send it through async invoke: model "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0"'
    },
    {
      name: "async-only segmentation on the sync route",
      request: { model: MODEL, input: "x", maxLengthChars: 1000 },
      error: "InvalidRequestError",
      message: "Input type 'text' does not accept maxLengthChars; set drop_params to drop them"
    },
    {
      name: "an unknown purpose",
      request: { model: MODEL, input: "x", embeddingPurpose: "SEARCH" },
      error: "InvalidRequestError",
      message: "embeddingPurpose"
    },
    {
      name: "text over 50 000 characters",
      request: { model: MODEL, input: "a".repeat(50_001) },
      error: "InvalidRequestError",
      message: "up to 1000000 through bedrock/async_invoke/"
    },
    {
      name: "a segment size out of range",
      request: { model: MODEL, input: "x", maxLengthChars: 100 },
      error: "InvalidRequestError",
      message: "maxLengthChars"
    }
  ],
  badResponses: [
    { name: "no embeddings", response: { embeddings: [] } },
    { name: "a vector of strings", response: { embeddings: [{ embeddingType: "TEXT", embedding: ["a"] }] } }
  ]
})

describe("Nova async output", () => {
  it("reads segmented-embedding-result.json and the JSON-lines files it names", () => {
    const out = "s3://results/run/abc123def456"
    const decoded = NovaEmbeddings.decodeAsyncOutput([
      {
        name: "segmented-embedding-result.json",
        uri: `${out}/segmented-embedding-result.json`,
        text: JSON.stringify({
          sourceFileUri: "s3://media/clip.mp4",
          embeddingDimension: 3,
          embeddingResults: [
            {
              embeddingType: "AUDIO_VIDEO_COMBINED",
              status: "SUCCESS",
              outputFileUri: `${out}/embedding-audio-video.jsonl`
            }
          ]
        })
      },
      {
        name: "embedding-audio-video.jsonl",
        uri: `${out}/embedding-audio-video.jsonl`,
        text: [0, 5]
          .map((s, i) =>
            JSON.stringify({
              embedding: [i, 0, 1],
              segmentMetadata: { segmentIndex: i, segmentStartSeconds: s, segmentEndSeconds: s + 5 },
              status: "SUCCESS"
            })
          )
          .join("\n")
      }
    ])
    assert.deepStrictEqual(decoded, {
      segments: [
        {
          embedding: [0, 0, 1],
          status: "SUCCESS",
          modality: "audio_video",
          segmentIndex: 0,
          startSec: 0,
          endSec: 5,
          startChar: undefined,
          endChar: undefined
        },
        {
          embedding: [1, 0, 1],
          status: "SUCCESS",
          modality: "audio_video",
          segmentIndex: 1,
          startSec: 5,
          endSec: 10,
          startChar: undefined,
          endChar: undefined
        }
      ],
      dimension: 3,
      // Two 5 s segments of one clip: 10 s of video.
      usage: { videoSeconds: 10, known: true }
    })
    assert.deepStrictEqual(NovaEmbeddings.decodeAsyncOutput([]), {
      failure: "segmented-embedding-result.json is missing"
    })
  })

  it("keeps failed segments (documented RAI deflection) and modalities that failed whole", () => {
    const out = "s3://results/run/abc123def456"
    const decoded = NovaEmbeddings.decodeAsyncOutput([
      {
        name: "segmented-embedding-result.json",
        uri: `${out}/segmented-embedding-result.json`,
        text: JSON.stringify({
          sourceFileUri: "s3://amzn-s3-demo-bucket/book.txt",
          embeddingDimension: 2,
          embeddingResults: [
            { embeddingType: "TEXT", status: "PARTIAL_SUCCESS", outputFileUri: `${out}/embedding-text.jsonl` },
            { embeddingType: "IMAGE", status: "FAILURE", failureReason: "INVALID_CONTENT", message: "unreadable" }
          ]
        })
      },
      {
        name: "embedding-text.jsonl",
        uri: `${out}/embedding-text.jsonl`,
        // Documented case: the second segment is deflected and has no embedding.
        text: [
          '{"embedding":[0.5,0.1],"segmentMetadata":{"segmentIndex":0,"segmentStartCharPosition":0,"segmentEndCharPosition":31950},"status":"SUCCESS"}',
          '{"segmentMetadata":{"segmentIndex":1,"segmentStartCharPosition":31950,"segmentEndCharPosition":40210},"status":"FAILURE","failureReason":"RAI_VIOLATION_INPUT_TEXT_DEFLECTION","message":"<human readable>"}'
        ].join("\n")
      }
    ])
    assert.isTrue("segments" in decoded)
    if (!("segments" in decoded)) return
    assert.deepStrictEqual(
      decoded.segments.map((s) => [
        s.modality,
        s.segmentIndex,
        s.status,
        s.failureReason,
        s.message,
        s.embedding.length
      ]),
      [
        ["text", 0, "SUCCESS", undefined, undefined, 2],
        ["text", 1, "FAILURE", "RAI_VIOLATION_INPUT_TEXT_DEFLECTION", "<human readable>", 0],
        ["image", undefined, "FAILURE", "INVALID_CONTENT", "unreadable", 0]
      ]
    )
    assert.strictEqual(decoded.segments[1]!.startChar, 31950)
  })
})
