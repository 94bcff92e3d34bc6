/**
 * @bedrock-embed/emulator — a local AWS Bedrock Runtime for embedding models that the official
 * AWS SDK accepts unchanged: HTTP/1.1 and h2c on one port, SigV4 and bearer auth, Bedrock's
 * validation and error shapes, deterministic vectors, and fault injection.
 */
export { type AuthOptions, authenticate, EMULATOR_CREDENTIALS } from "./Auth.ts"
export * as Cli from "./Cli.ts"
export { type BedrockFault, errorTable } from "./Errors.ts"
export { type FaultOptions, fromEnv as faultsFromEnv, type Operation, type ScriptedFault } from "./Faults.ts"
export * as Fixtures from "./Fixtures.ts"
export * as Json from "./Json.ts"
export * as MediaInfo from "./MediaInfo.ts"
export {
  type AsyncHandler,
  type AsyncIO,
  type AsyncOutcome,
  baseModelId,
  findModel,
  type InvokeContext,
  isFault,
  type ModelAnswer,
  type ModelHandler,
  type ResolvedModelId,
  resolveModelId
} from "./ModelHandler.ts"
export * as NumberText from "./NumberText.ts"
export { type ObjectStore, S3_CREDENTIALS, startObjectStore } from "./S3.ts"
export { cohereModels } from "./models/Cohere.ts"
export { novaModels } from "./models/Nova.ts"
export { titanImageV1, titanModels, titanTextV1, titanTextV2 } from "./models/Titan.ts"
export { twelveLabsModels } from "./models/TwelveLabs.ts"
export {
  defaultModels,
  type Emulator,
  type EmulatorOptions,
  type EmulatorStats,
  type Invocation,
  startEmulator
} from "./Server.ts"
export * as Validate from "./Validate.ts"
export * as Vectors from "./Vectors.ts"
