/** TwelveLabs embedding models — placeholder until their handlers land. */
import type { ModelHandler } from "../ModelHandler.ts"

/** Every TwelveLabs handler. */
export const twelveLabsModels: ReadonlyArray<ModelHandler> = []
