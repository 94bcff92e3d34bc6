/** The core conformance suite over every Titan spec, with the documented wire examples (bedrock-wire.md §4.1–4.3). */
import { conformance } from "@bedrock-embed/core/testing"
import { TitanImageV1, TitanTextV1, TitanTextV2 } from "@bedrock-embed/provider-titan"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const floats = (n: number) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 10)

conformance(TitanTextV1.spec, {
  examples: [
    {
      name: "two texts, one call each",
      request: { model: "bedrock/amazon.titan-embed-text-v1", input: ["Hello", "World"] },
      bodies: [{ inputText: "Hello" }, { inputText: "World" }],
      responses: [
        { embedding: floats(1536), inputTextTokenCount: 1 },
        { embedding: floats(1536), inputTextTokenCount: 1 }
      ],
      vectors: { count: 2, dimension: 1536 }
    }
  ],
  badInputs: [
    {
      name: "dimensions",
      request: { model: "bedrock/amazon.titan-embed-text-v1", input: "x", dimensions: 256 },
      error: "InvalidRequestError",
      message: 'Parameter "dimensions" is not supported'
    },
    {
      name: "an image",
      request: { model: "bedrock/amazon.titan-embed-text-v1", input: `data:image/png;base64,${png}` },
      error: "InvalidRequestError",
      message: "embeds text"
    }
  ],
  badResponses: [{ name: "no token count", response: { embedding: [0.1] } }]
})

conformance(TitanTextV2.spec, {
  examples: [
    {
      name: "dimensions, normalize and both embedding types",
      request: {
        model: "bedrock/us.amazon.titan-embed-text-v2:0",
        input: "Hello",
        dimensions: 256,
        normalize: true,
        embeddingTypes: ["float", "binary"]
      },
      bodies: [{ inputText: "Hello", dimensions: 256, normalize: true, embeddingTypes: ["float", "binary"] }],
      responses: [
        {
          embedding: floats(256),
          inputTextTokenCount: 1,
          embeddingsByType: { float: floats(256), binary: floats(256).map((x) => (x > 0 ? 1 : 0)) }
        }
      ],
      vectors: { count: 1, dimension: 256 }
    },
    {
      name: "defaults send only the text",
      request: { model: "bedrock/amazon.titan-embed-text-v2:0", input: ["a"] },
      bodies: [{ inputText: "a" }],
      responses: [{ embedding: floats(1024), inputTextTokenCount: 1, embeddingsByType: { float: floats(1024) } }],
      vectors: { count: 1, dimension: 1024 }
    }
  ],
  badInputs: [
    {
      name: "a dimension Titan V2 lacks",
      request: { model: "bedrock/amazon.titan-embed-text-v2:0", input: "x", dimensions: 384 },
      error: "InvalidRequestError",
      message: "256, 512, 1024"
    },
    {
      name: "an unknown embedding type",
      request: { model: "bedrock/amazon.titan-embed-text-v2:0", input: "x", embeddingTypes: ["int8"] },
      error: "InvalidRequestError",
      message: "embeddingTypes"
    },
    {
      name: "a text longer than 50 000 characters",
      request: { model: "bedrock/amazon.titan-embed-text-v2:0", input: "a".repeat(50_001) },
      error: "InvalidRequestError",
      message: "at most 50000"
    }
  ]
})

conformance(TitanImageV1.spec, {
  examples: [
    {
      name: "text, image and the pair",
      request: {
        model: "bedrock/amazon.titan-embed-image-v1",
        input: ["a dot", `data:image/png;base64,${png}`, { text: "a dot", image: `data:image/png;base64,${png}` }],
        dimensions: 256
      },
      bodies: [
        { inputText: "a dot", embeddingConfig: { outputEmbeddingLength: 256 } },
        { inputImage: png, embeddingConfig: { outputEmbeddingLength: 256 } },
        { inputText: "a dot", inputImage: png, embeddingConfig: { outputEmbeddingLength: 256 } }
      ],
      responses: [
        { embedding: floats(256), inputTextTokenCount: 2, message: null },
        { embedding: floats(256), inputTextTokenCount: 0, message: null },
        { embedding: floats(256), inputTextTokenCount: 2 }
      ],
      vectors: { count: 3, dimension: 256 }
    }
  ],
  badInputs: [
    {
      name: "a BMP image",
      request: { model: "bedrock/amazon.titan-embed-image-v1", input: "data:image/bmp;base64,Qk0eAAAA" },
      error: "InvalidRequestError",
      message: "png, jpeg"
    },
    {
      name: "an S3 image",
      request: { model: "bedrock/amazon.titan-embed-image-v1", input: "s3://bucket/cat.png" },
      error: "InvalidRequestError",
      message: "inline only"
    }
  ]
})
