/** The core conformance suite over the Marengo specs, with documented wire examples (bedrock-wire.md §4.7–4.8). */
import { conformance } from "@bedrock-embed/core/testing"
import { Marengo27, Marengo30 } from "@bedrock-embed/provider-twelvelabs"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const vector = (n: number) => Array.from({ length: n }, (_, i) => ((i % 3) - 1) / 10)
const M27 = "bedrock/us.twelvelabs.marengo-embed-2-7-v1:0"
const M30 = "bedrock/twelvelabs.marengo-embed-3-0-v1:0"

conformance(Marengo27.spec, {
  examples: [
    {
      name: "text (all three response envelopes decode)",
      request: { model: M27, input: ["a", "b", "c"], textTruncate: "none" },
      bodies: ["a", "b", "c"].map((inputText) => ({ inputType: "text", inputText, textTruncate: "none" })),
      responses: [
        { data: [{ embedding: vector(1024) }] },
        { data: { embedding: vector(1024), embeddingOption: "visual-text" } },
        { embedding: vector(1024), startSec: 0, endSec: 1 }
      ],
      vectors: { count: 3, dimension: 1024 }
    },
    {
      name: "a base64 image and an S3 image with its bucket owner",
      request: {
        model: M27,
        input: [`data:image/png;base64,${png}`, "s3://media/cat.png"],
        bucketOwner: "123456789012"
      },
      bodies: [
        { inputType: "image", mediaSource: { base64String: png } },
        { inputType: "image", mediaSource: { s3Location: { uri: "s3://media/cat.png", bucketOwner: "123456789012" } } }
      ],
      responses: [{ data: [{ embedding: vector(1024) }] }, { data: [{ embedding: vector(1024) }] }],
      vectors: { count: 2, dimension: 1024 }
    }
  ],
  badInputs: [
    {
      name: "dimensions",
      request: { model: M27, input: "x", dimensions: 512 },
      error: "InvalidRequestError",
      message: 'Parameter "dimensions" is not supported'
    },
    {
      name: "video on the sync route",
      request: { model: M27, input: "s3://media/clip.mp4" },
      error: "InvalidRequestError",
      message:
        "Input type 'video' requires async_invoke route. Use model format: 'bedrock/async_invoke/twelvelabs.marengo-embed-2-7-v1:0'"
    },
    {
      name: "a BMP image",
      request: { model: M27, input: "data:image/bmp;base64,Qk0eAAAA" },
      error: "InvalidRequestError",
      message: "png, jpeg"
    },
    {
      name: "a bad bucket owner",
      request: { model: M27, input: "s3://media/cat.png", bucketOwner: "12" },
      error: "InvalidRequestError",
      message: "bucketOwner"
    },
    {
      name: "an unknown truncation",
      request: { model: M27, input: "x", textTruncate: "start" },
      error: "InvalidRequestError",
      message: "textTruncate"
    }
  ],
  badResponses: [{ name: "no embedding", response: { data: [] } }]
})

conformance(Marengo30.spec, {
  examples: [
    {
      name: "text, image and text_image, nested under the input type",
      request: {
        model: "bedrock/us.twelvelabs.marengo-embed-3-0-v1:0",
        input: ["a dog", `data:image/png;base64,${png}`, { text: "a dog", image: `data:image/png;base64,${png}` }],
        inferenceId: "run-1"
      },
      bodies: [
        { inferenceId: "run-1", inputType: "text", text: { inputText: "a dog" } },
        { inferenceId: "run-1", inputType: "image", image: { mediaSource: { base64String: png } } },
        {
          inferenceId: "run-1",
          inputType: "text_image",
          text_image: { inputText: "a dog", mediaSource: { base64String: png } }
        }
      ],
      responses: [
        { data: { embedding: vector(512), embeddingScope: "asset" } },
        { data: [{ embedding: vector(512) }] },
        { embedding: vector(512) }
      ],
      vectors: { count: 3, dimension: 512 }
    }
  ],
  badInputs: [
    {
      name: "S3 media without bucketOwner",
      request: { model: M30, input: "s3://media/cat.png" },
      error: "InvalidRequestError",
      message: "s3:// media requires the 'bucketOwner' parameter"
    },
    {
      name: "a 2.7-only parameter",
      request: { model: M30, input: "x", textTruncate: "end" },
      error: "InvalidRequestError",
      message: "Marengo 3.0 does not accept the Marengo 2.7 parameters textTruncate; set drop_params to drop them"
    },
    {
      name: "audio on the sync route",
      request: { model: M30, input: "s3://media/a.wav", bucketOwner: "123456789012" },
      error: "InvalidRequestError",
      message: "Input type 'audio' requires async_invoke route"
    }
  ]
})
