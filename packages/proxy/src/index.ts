/**
 * @bedrock-embed/proxy — an OpenAI-compatible embeddings gateway for AWS Bedrock, configured with
 * LiteLLM's `config.yaml`, and the `bedrock-embed` command line.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.ts"
/** @since 0.1.0 */
export * as Config from "./Config.ts"
/** @since 0.1.0 */
export * as EmbedFile from "./EmbedFile.ts"
/** @since 0.1.0 */
export * as Gateway from "./Gateway.ts"
/** @since 0.1.0 */
export * as HttpErrors from "./HttpErrors.ts"
/** @since 0.1.0 */
export * as ResponseBody from "./ResponseBody.ts"
/** @since 0.1.0 */
export * as Server from "./Server.ts"
