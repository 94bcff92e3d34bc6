/**
 * Amazon Titan Text Embeddings G1 (`amazon.titan-embed-text-v1`): one text per call, 1536
 * dimensions, no options.
 *
 * @since 0.1.0
 */
import { ModelSpec } from "@bedrock-embed/core"
import { Schema } from "effect"

/**
 * The InvokeModel body: the text, and nothing else.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Request = Schema.Struct({ inputText: Schema.String })

/**
 * The InvokeModel response.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Response = Schema.Struct({
  embedding: ModelSpec.Vector,
  inputTextTokenCount: Schema.Number
})

/**
 * The model spec.
 *
 * @category models
 * @since 0.1.0
 */
export const spec = ModelSpec.make({
  id: "amazon.titan-embed-text-v1",
  family: "titan",
  // `amazon.titan-embed-g1-text-02` is the same model under its older id.
  matches: (id) => id === "amazon.titan-embed-text-v1" || id === "amazon.titan-embed-g1-text-02",
  ids: ["amazon.titan-embed-text-v1", "amazon.titan-embed-g1-text-02"],
  capabilities: {
    sync: ["text"],
    async: [],
    maxInputsPerCall: 1,
    defaultDimension: 1536,
    maxTextChars: 50_000
  },
  supportedParams: [],
  params: Schema.Struct({}),
  request: Request,
  response: Response,
  encode: ([input]) => ({ inputText: input?.kind === "text" ? input.text : "" }),
  decode: (body) => ({ vectors: [body.embedding], inputTokens: body.inputTextTokenCount }),
  // $0.0001 per 1,000 input tokens.
  price: { perInputToken: 0.0000001 }
})
