/** The core conformance suite over the Nova spec, with documented wire examples (bedrock-wire.md §4.6). */
import { conformance } from "@bedrock-embed/core/testing"
import { NovaEmbeddings } from "@bedrock-embed/provider-nova"
import { assert, describe, it } from "@effect/vitest"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const vector = (n: number) => Array.from({ length: n }, (_, i) => ((i % 9) - 4) / 10)
const MODEL = "bedrock/amazon.nova-2-multimodal-embeddings-v1:0"

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
      name: "a video on the sync route",
      request: { model: MODEL, input: "data:video/mp4;base64,AAAAGGZ0eXBpc29t" },
      error: "InvalidRequestError",
      message:
        "Input type 'video' requires async_invoke route. Use model format: 'bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0'"
    },
    {
      name: "an unknown purpose",
      request: { model: MODEL, input: "x", embeddingPurpose: "SEARCH" },
      error: "InvalidRequestError",
      message: "embeddingPurpose"
    },
    {
      name: "text over 8 192 characters",
      request: { model: MODEL, input: "a".repeat(8193) },
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
          modality: "audio_video",
          segmentIndex: 0,
          startSec: 0,
          endSec: 5,
          startChar: undefined,
          endChar: undefined
        },
        {
          embedding: [1, 0, 1],
          modality: "audio_video",
          segmentIndex: 1,
          startSec: 5,
          endSec: 10,
          startChar: undefined,
          endChar: undefined
        }
      ]
    })
    assert.deepStrictEqual(NovaEmbeddings.decodeAsyncOutput([]), {
      failure: "segmented-embedding-result.json is missing"
    })
  })
})
