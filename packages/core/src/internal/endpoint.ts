/**
 * Bedrock Runtime endpoints and the cache key of a target.
 *
 * @internal
 */
import type { Target } from "../BedrockRuntime.ts"

/** The endpoint used when the target names none. */
export const defaultEndpoint = (region: string): string =>
  `https://bedrock-runtime.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`

/** The cache key of a target: region, endpoint and identity digest (never a secret). */
export const keyOf = (target: Target): string =>
  `${target.region}\u0000${target.endpoint ?? ""}\u0000${target.auth.cacheKey}`

export const endpointOf = (target: Target): string => target.endpoint ?? defaultEndpoint(target.region)
