/**
 * A LangChain.js `Embeddings` for every AWS Bedrock embedding model, on the bedrock-embed engine.
 *
 * `embedDocuments` sends the whole list as one request: the engine splits it into calls of the
 * model's batch size (96 for Cohere), runs them with bounded concurrency and keeps the order.
 * Documents are embedded with `role: "document"` and queries with `role: "query"`, which each
 * model maps to its own parameter (Cohere `input_type` search_document / search_query, Nova
 * `embeddingPurpose` GENERIC_INDEX / GENERIC_RETRIEVAL).
 *
 * Exactly one layer retries: the engine (throttling and 5xx, with backoff). LangChain's own
 * `AsyncCaller` retries are turned off (`maxRetries: 0`) so failures are never retried twice.
 *
 * If you are writing another integration, start from `Embeddings.embed` in `@bedrock-embed/core`.
 *
 * @since 0.1.0
 */
import type { EmbeddingRequest, EmbeddingResponse, Errors } from "@bedrock-embed/core"
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings"
import { BedrockEmbed } from "bedrock-embed"

/**
 * Options of {@link BedrockEmbeddings}.
 *
 * @category models
 * @since 0.1.0
 */
export interface BedrockEmbeddingsParams extends Omit<EmbeddingsParams, "maxRetries"> {
  /** The model: `amazon.titan-embed-text-v2:0`, `us.cohere.embed-v4:0`, an ARN, or `bedrock/<id>`. */
  readonly model: string
  /** Output size, for models that offer several. */
  readonly dimensions?: number | undefined
  /** AWS region (else the environment's). */
  readonly region?: string | undefined
  /** Static credentials (else the environment and the default AWS credential chain). */
  readonly credentials?:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined }
    | undefined
  /** A Bedrock API key (bearer token). */
  readonly apiKey?: string | undefined
  /** AWS profile name. */
  readonly profile?: string | undefined
  /** A custom Bedrock Runtime endpoint (VPC endpoint, emulator). */
  readonly endpoint?: string | undefined
  /** Model parameters, by the model's own names: `normalize`, `embedding_types`, `truncate`, … */
  readonly modelParameters?: Readonly<Record<string, unknown>> | undefined
  /** A bedrock-embed client to share (its pool, concurrency and retries); one is made otherwise. */
  readonly client?: BedrockEmbed.Client | undefined
}

/**
 * The error a {@link BedrockEmbeddings} call rejects with; `cause` is bedrock-embed's typed error.
 *
 * @category errors
 * @since 0.1.0
 */
export class BedrockEmbeddingsError extends Error {
  override readonly name = "BedrockEmbeddingsError"
  declare readonly cause: Errors.EmbeddingError | unknown
}

const prefixed = (model: string) => (model.startsWith("bedrock/") ? model : `bedrock/${model}`)

/**
 * LangChain `Embeddings` backed by bedrock-embed.
 *
 * @category models
 * @since 0.1.0
 */
export class BedrockEmbeddings extends Embeddings {
  readonly model: string
  private readonly request: EmbeddingRequest.Params & { readonly model: string }
  private readonly client: BedrockEmbed.Client

  constructor(fields: BedrockEmbeddingsParams) {
    // The engine is the one retry layer; LangChain's AsyncCaller must not retry on top of it.
    super({ ...fields, maxRetries: 0 })
    this.model = fields.model
    this.client = fields.client ?? BedrockEmbed.make()
    this.request = {
      ...fields.modelParameters,
      model: prefixed(fields.model),
      ...(fields.dimensions === undefined ? {} : { dimensions: fields.dimensions }),
      ...(fields.region === undefined ? {} : { aws_region_name: fields.region }),
      ...(fields.endpoint === undefined ? {} : { aws_bedrock_runtime_endpoint: fields.endpoint }),
      ...(fields.apiKey === undefined ? {} : { api_key: fields.apiKey }),
      ...(fields.profile === undefined ? {} : { aws_profile_name: fields.profile }),
      ...(fields.credentials === undefined
        ? {}
        : {
            aws_access_key_id: fields.credentials.accessKeyId,
            aws_secret_access_key: fields.credentials.secretAccessKey,
            ...(fields.credentials.sessionToken === undefined
              ? {}
              : { aws_session_token: fields.credentials.sessionToken })
          })
    }
  }

  private async embed(input: ReadonlyArray<string>, role: "document" | "query"): Promise<Array<Array<number>>> {
    let response: EmbeddingResponse.EmbeddingResponse
    try {
      response = await this.client.embedding({ ...this.request, input, role })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      throw new BedrockEmbeddingsError(`Embedding with ${this.model} failed: ${message}`, { cause: error })
    }
    return response.data.map((item) => [...(item.embedding as ReadonlyArray<number>)])
  }

  /** Embeds documents (`role: "document"`), in order; an empty list makes no call. */
  async embedDocuments(documents: Array<string>): Promise<Array<Array<number>>> {
    return documents.length === 0 ? [] : this.embed(documents, "document")
  }

  /** Embeds a search query (`role: "query"`). */
  async embedQuery(document: string): Promise<Array<number>> {
    return (await this.embed([document], "query"))[0]!
  }
}
