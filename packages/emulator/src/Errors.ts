/** Bedrock's error responses: status, `x-amzn-errortype` header and a JSON `{ message }` body. */

/** A Bedrock-style error a handler or the server answers with. */
export interface BedrockFault {
  readonly error: string
  readonly message?: string | undefined
  /** Extra body members (`originalStatusCode`, `resourceName` for ModelErrorException). */
  readonly extra?: Readonly<Record<string, unknown>> | undefined
}

/** HTTP status and default message of each Bedrock Runtime exception. */
export const errorTable: Readonly<Record<string, readonly [status: number, message: string]>> = {
  ValidationException: [400, "Malformed input request, please reformat your input and try again."],
  ServiceQuotaExceededException: [400, "Your request exceeds the service quota for your account."],
  ConflictException: [400, "The request conflicts with the current state of the resource."],
  AccessDeniedException: [403, "You don't have access to the model with the specified model ID."],
  InvalidSignatureException: [
    403,
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
  ],
  UnrecognizedClientException: [403, "The security token included in the request is invalid."],
  MissingAuthenticationTokenException: [403, "Missing Authentication Token"],
  ResourceNotFoundException: [404, "The requested resource could not be found."],
  UnknownOperationException: [404, "The requested operation is not recognized by the service."],
  ModelTimeoutException: [408, "Model has timed out in processing the request. Try your request again."],
  ModelErrorException: [424, "The model failed to process the request."],
  ThrottlingException: [429, "Too many requests, please wait before trying again."],
  ModelNotReadyException: [429, "Model is not ready for inference. Wait and try your request again."],
  InternalServerException: [500, "The server encountered an internal error while processing the request."],
  ServiceUnavailableException: [503, "Bedrock is unable to process your request."]
}

/** The status, headers and body of an error response. */
export const render = (fault: BedrockFault): { status: number; type: string; body: string } => {
  const [status, message] = errorTable[fault.error] ?? [500, "Internal error"]
  const extra =
    fault.error === "ModelErrorException"
      ? { originalStatusCode: 500, resourceName: "model", ...fault.extra }
      : (fault.extra ?? {})
  return {
    status,
    type: `${fault.error}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    body: JSON.stringify({ message: fault.message ?? message, ...extra })
  }
}

/** Bedrock's wording for a body that breaks the model's schema. */
export const malformed = (detail: string): BedrockFault => ({
  error: "ValidationException",
  message: `Malformed input request: ${detail}, please reformat your input and try again.`
})
