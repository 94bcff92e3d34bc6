/** The core conformance suite over the Cohere specs, with documented wire examples (bedrock-wire.md §4.4–4.5). */
import { conformance } from "@bedrock-embed/core/testing"
import { CohereV3, CohereV4 } from "@bedrock-embed/provider-cohere"

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
const vectors = (count: number, dim: number) =>
  Array.from({ length: count }, (_, i) => Array.from({ length: dim }, (_, j) => ((i + j) % 5) / 10))

conformance(CohereV3.english, {
  examples: [
    {
      name: "texts default to search_document (list response)",
      request: { model: "bedrock/cohere.embed-english-v3", input: ["Hello world", "Bonjour"] },
      bodies: [{ input_type: "search_document", texts: ["Hello world", "Bonjour"] }],
      responses: [
        { id: "x", embeddings: vectors(2, 1024), response_type: "embeddings_floats", texts: ["hello world", "bonjour"] }
      ],
      vectors: { count: 2, dimension: 1024 }
    },
    {
      name: "search_query with truncate and embedding types (by-type response)",
      request: {
        model: "bedrock/cohere.embed-english-v3",
        input: "what is bedrock?",
        input_type: "search_query",
        truncate: "END",
        embedding_types: ["int8", "float"]
      },
      bodies: [
        { input_type: "search_query", texts: ["what is bedrock?"], truncate: "END", embedding_types: ["int8", "float"] }
      ],
      responses: [
        {
          id: "x",
          embeddings: { int8: vectors(1, 1024), float: vectors(1, 1024) },
          response_type: "embeddings_by_type"
        }
      ],
      vectors: { count: 1, dimension: 1024 }
    },
    {
      name: "one image per call, as a data URI with input_type image",
      request: {
        model: "bedrock/cohere.embed-english-v3",
        input: [`data:image/png;base64,${png}`, `data:image/png;base64,${png}`]
      },
      bodies: [
        { input_type: "image", images: [`data:image/png;base64,${png}`] },
        { input_type: "image", images: [`data:image/png;base64,${png}`] }
      ],
      responses: [
        { embeddings: vectors(1, 1024), texts: [], images: [{ width: 1, height: 1, format: "png", bit_depth: 8 }] },
        { embeddings: vectors(1, 1024) }
      ],
      vectors: { count: 2, dimension: 1024 }
    }
  ],
  badInputs: [
    {
      name: "dimensions",
      request: { model: "bedrock/cohere.embed-english-v3", input: "x", dimensions: 512 },
      error: "InvalidRequestError",
      message: 'Parameter "dimensions" is not supported'
    },
    {
      name: "v4's truncate values",
      request: { model: "bedrock/cohere.embed-english-v3", input: "x", truncate: "LEFT" },
      error: "InvalidRequestError",
      message: "truncate"
    },
    {
      name: "a webp image",
      request: { model: "bedrock/cohere.embed-english-v3", input: "data:image/webp;base64,UklGRg==" },
      error: "InvalidRequestError",
      message: "png, jpeg"
    },
    {
      name: "an unknown input type",
      request: { model: "bedrock/cohere.embed-english-v3", input: "x", input_type: "documents" },
      error: "InvalidRequestError",
      message: "search_document, search_query, classification, clustering"
    },
    {
      name: "an S3 image",
      request: { model: "bedrock/cohere.embed-english-v3", input: "s3://bucket/a.png" },
      error: "InvalidRequestError",
      message: "inline only"
    }
  ],
  badResponses: [{ name: "no embeddings", response: { id: "x", texts: [] } }]
})

conformance(CohereV3.multilingual, {
  examples: [
    {
      name: "texts",
      request: { model: "bedrock/cohere.embed-multilingual-v3", input: ["hola"], input_type: "clustering" },
      bodies: [{ input_type: "clustering", texts: ["hola"] }],
      responses: [{ embeddings: vectors(1, 1024) }],
      vectors: { count: 1, dimension: 1024 }
    }
  ]
})

conformance(CohereV4.spec, {
  examples: [
    {
      name: "texts with output_dimension; by-type response without types asked",
      request: { model: "bedrock/global.cohere.embed-v4:0", input: ["a", "b"], dimensions: 512 },
      bodies: [{ input_type: "search_document", texts: ["a", "b"], output_dimension: 512 }],
      responses: [{ id: "x", embeddings: { float: vectors(2, 512) }, response_type: "embeddings_by_type" }],
      vectors: { count: 2, dimension: 512 }
    },
    {
      name: "the list response shape decodes too",
      request: { model: "bedrock/us.cohere.embed-v4:0", input: "a", truncate: "RIGHT", max_tokens: 512 },
      bodies: [{ input_type: "search_document", texts: ["a"], max_tokens: 512, truncate: "RIGHT" }],
      responses: [{ embeddings: vectors(1, 1536), response_type: "embeddings_floats" }],
      vectors: { count: 1, dimension: 1536 }
    },
    {
      name: "texts, images and mixed content go in separate calls, in input order",
      request: {
        model: "bedrock/cohere.embed-v4:0",
        input: ["text", `data:image/png;base64,${png}`, { text: "caption", image: `data:image/png;base64,${png}` }],
        input_type: "search_query"
      },
      bodies: [
        { input_type: "search_query", texts: ["text"] },
        { input_type: "search_query", images: [`data:image/png;base64,${png}`] },
        {
          input_type: "search_query",
          inputs: [
            {
              content: [
                { type: "text", text: "caption" },
                { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }
              ]
            }
          ]
        }
      ],
      responses: [
        { embeddings: { float: vectors(1, 1536) } },
        { embeddings: { float: vectors(1, 1536) } },
        { embeddings: { float: vectors(1, 1536) } }
      ],
      vectors: { count: 3, dimension: 1536 }
    }
  ],
  badInputs: [
    {
      name: "a dimension v4 lacks",
      request: { model: "bedrock/cohere.embed-v4:0", input: "x", dimensions: 100 },
      error: "InvalidRequestError",
      message: "256, 512, 1024, 1536"
    },
    {
      name: "a truncate value neither version takes",
      request: { model: "bedrock/cohere.embed-v4:0", input: "x", truncate: "MIDDLE" },
      error: "InvalidRequestError",
      message: 'Invalid value "MIDDLE" for parameter "truncate" of cohere.embed-v4:0'
    },
    {
      name: "a BMP image",
      request: { model: "bedrock/cohere.embed-v4:0", input: "data:image/bmp;base64,Qk0eAAAA" },
      error: "InvalidRequestError",
      message: "png, jpeg, webp, gif"
    },
    {
      name: "an unknown embedding type",
      request: { model: "bedrock/cohere.embed-v4:0", input: "x", embedding_types: ["float16"] },
      error: "InvalidRequestError",
      message: "embedding_types"
    }
  ]
})
