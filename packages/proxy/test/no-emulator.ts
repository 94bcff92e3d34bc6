/**
 * A `node --import` hook that makes `@bedrock-embed/emulator` unresolvable, as it is where the
 * optional peer dependency is not installed.
 */
import { registerHooks } from "node:module"

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === "@bedrock-embed/emulator" || specifier.startsWith("@bedrock-embed/emulator/")) {
      throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: "ERR_MODULE_NOT_FOUND" })
    }
    return next(specifier, context)
  }
})
