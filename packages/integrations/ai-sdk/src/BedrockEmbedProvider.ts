/**
 * `createBedrockEmbed(settings)`: the AI SDK provider for every AWS Bedrock embedding model.
 *
 * @since 0.1.0
 */
import { BedrockEmbed } from "bedrock-embed"
import { BedrockEmbedModel } from "./BedrockEmbedModel.ts"

/**
 * Provider settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface BedrockEmbedSettings {
  /** AWS region (else the environment's). */
  readonly region?: string | undefined
  /** Static credentials (else the environment and the default AWS credential chain). */
  readonly credentials?:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined }
    | undefined
  /** A Bedrock API key (bearer token); else `AWS_BEARER_TOKEN_BEDROCK`. */
  readonly apiKey?: string | undefined
  /** A custom Bedrock Runtime endpoint. */
  readonly endpoint?: string | undefined
  /** Engine options: concurrency and retries. */
  readonly engine?: BedrockEmbed.Options["engine"]
  /** A bedrock-embed client to share; one is made otherwise. */
  readonly client?: BedrockEmbed.Client | undefined
}

/**
 * The provider: `provider(modelId)`, `.embedding(modelId)`, `.textEmbeddingModel(modelId)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface BedrockEmbedProvider {
  (modelId: string): BedrockEmbedModel
  readonly embedding: (modelId: string) => BedrockEmbedModel
  readonly embeddingModel: (modelId: string) => BedrockEmbedModel
  readonly textEmbeddingModel: (modelId: string) => BedrockEmbedModel
}

/**
 * Creates the provider.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createBedrockEmbed = (settings: BedrockEmbedSettings = {}): BedrockEmbedProvider => {
  const client = settings.client ?? BedrockEmbed.make(settings.engine === undefined ? {} : { engine: settings.engine })
  const base = {
    ...(settings.region === undefined ? {} : { aws_region_name: settings.region }),
    ...(settings.endpoint === undefined ? {} : { aws_bedrock_runtime_endpoint: settings.endpoint }),
    ...(settings.apiKey === undefined ? {} : { api_key: settings.apiKey }),
    ...(settings.credentials === undefined
      ? {}
      : {
          aws_access_key_id: settings.credentials.accessKeyId,
          aws_secret_access_key: settings.credentials.secretAccessKey,
          ...(settings.credentials.sessionToken === undefined
            ? {}
            : { aws_session_token: settings.credentials.sessionToken })
        })
  }
  const model = (modelId: string) => new BedrockEmbedModel(modelId, client, base)
  return Object.assign(model, { embedding: model, embeddingModel: model, textEmbeddingModel: model })
}

/**
 * The default provider, configured from the environment.
 *
 * @category constructors
 * @since 0.1.0
 */
export const bedrockEmbed: BedrockEmbedProvider = createBedrockEmbed()
