/** Nova embedding models — placeholder until their handlers land. */
import type { ModelHandler } from "../ModelHandler.ts"

/** Every Nova handler. */
export const novaModels: ReadonlyArray<ModelHandler> = []
