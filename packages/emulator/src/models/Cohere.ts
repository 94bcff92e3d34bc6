/** Cohere embedding models — placeholder until their handlers land. */
import type { ModelHandler } from "../ModelHandler.ts"

/** Every Cohere handler. */
export const cohereModels: ReadonlyArray<ModelHandler> = []
