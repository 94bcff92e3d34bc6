/**
 * The identity AwsCredentials chose, as AWS SDK client settings. An explicit scheme preference
 * wins over AWS_BEARER_TOKEN_BEDROCK in the environment, so the chosen identity is the one used.
 *
 * @internal
 */
import { Redacted } from "effect"
import type { Auth } from "../AwsCredentials.ts"

export const sdkAuth = (auth: Auth) =>
  auth._tag === "Bearer"
    ? {
        authSchemePreference: ["httpBearerAuth"],
        token: async () => ({ token: Redacted.value(auth.token) })
      }
    : { authSchemePreference: ["sigv4"], credentials: auth.credentials }
