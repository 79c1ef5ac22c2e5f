/**
 * SageMaker Runtime error responses in their wire format (docs/protocol.md §4): status, `X-Amzn-ErrorType`
 * with the Coral suffix, and the body keys the SDK reads (`Message` for SageMaker's modeled errors,
 * `message` for the common AWS ones).
 *
 * @since 0.1.0
 * @internal
 */

/** @internal */
export interface ErrorSpec {
  readonly status: number
  /** Full `X-Amzn-ErrorType` value; absent for typeless errors (413, empty/HTML 500). */
  readonly type: string | undefined
  readonly body: string
  readonly contentType: string
}

const runtimeSuffix = ":http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/"
const serviceSuffix = ":http://internal.amazon.com/coral/com.amazon.coral.service/"

const runtime = (status: number, name: string, body: Record<string, unknown>): ErrorSpec => ({
  status,
  type: name + runtimeSuffix,
  body: JSON.stringify(body),
  contentType: "application/json"
})

const common = (status: number, name: string, body: Record<string, unknown>): ErrorSpec => ({
  status,
  type: name + serviceSuffix,
  body: JSON.stringify(body),
  contentType: "application/json"
})

/** @internal */
export const validation = (message: string): ErrorSpec => runtime(400, "ValidationError", { Message: message })

/** @internal */
export const endpointNotFound = (endpointName: string, accountId: string): ErrorSpec =>
  validation(`Endpoint ${endpointName} of account ${accountId} not found.`)

/**
 * A real-time call to an endpoint deployed for async inference, or an async call to a real-time
 * one. SageMaker refuses both with a ValidationError; the wording is the emulator's. @internal
 */
export const wrongInferenceKind = (endpointName: string, accountId: string, asyncCall: boolean): ErrorSpec =>
  validation(
    asyncCall
      ? `Endpoint ${endpointName} of account ${accountId} is not configured for asynchronous inference: ` +
        "use InvokeEndpoint or InvokeEndpointWithResponseStream."
      : `Endpoint ${endpointName} of account ${accountId} is configured for asynchronous inference: ` +
        "use InvokeEndpointAsync."
  )

/** @internal */
export const modelNotReady = (): ErrorSpec =>
  runtime(429, "ModelNotReadyException", {
    Message:
      "Either a serverless endpoint variant's resources are still being provisioned, or a multi-model endpoint is still downloading or loading the target model. Wait and try your request again."
  })

/** @internal */
export const internalFailure = (): ErrorSpec =>
  runtime(500, "InternalFailure", { Message: "An internal failure occurred." })

/** @internal */
export const serviceUnavailable = (): ErrorSpec =>
  runtime(503, "ServiceUnavailable", { Message: "The service is unavailable. Try your call again." })

/** @internal */
export const internalDependency = (): ErrorSpec =>
  runtime(530, "InternalDependencyException", {
    Message: "Your request caused an exception with an internal dependency. Contact customer support."
  })

/** Real SageMaker throttles with 400 and a null message. @internal */
export const throttling = (): ErrorSpec => common(400, "ThrottlingException", { message: null })

/** @internal */
export const throttling429 = (): ErrorSpec => common(429, "ThrottlingException", { message: "Rate exceeded" })

/** @internal */
export const accessDenied = (ctx: { endpointName: string; region: string; accountId: string }): ErrorSpec =>
  runtime(403, "AccessDeniedException", {
    Message:
      `User: arn:aws:iam::${ctx.accountId}:user/emulator is not authorized to perform: sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:${ctx.region}:${ctx.accountId}:endpoint/${ctx.endpointName.toLowerCase()} because no identity-based policy allows the sagemaker:InvokeEndpoint action`
  })

/** @internal */
export const invalidSignature = (
  message =
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
): ErrorSpec => common(403, "InvalidSignatureException", { message })

/** @internal */
export const unrecognizedClient = (): ErrorSpec =>
  common(403, "UnrecognizedClientException", { message: "The security token included in the request is invalid." })

/** @internal */
export const missingAuthentication = (): ErrorSpec =>
  common(403, "MissingAuthenticationTokenException", { message: "Missing Authentication Token" })

/** @internal */
export const incompleteSignature = (message: string): ErrorSpec =>
  common(400, "IncompleteSignatureException", { message })

/** @internal */
export const unknownOperation = (method: string, path: string): ErrorSpec =>
  common(404, "UnknownOperationException", { message: `No operation matches ${method} ${path}` })

/** Real-time endpoints answer oversize bodies before any typed error handling. @internal */
export const payloadTooLarge = (limit: number): ErrorSpec => ({
  status: 413,
  type: undefined,
  body: JSON.stringify({ message: `HTTP content length exceeded ${limit} bytes.` }),
  contentType: "application/json"
})

/** @internal */
export const html500 = (): ErrorSpec => ({
  status: 500,
  type: undefined,
  body:
    "<html><head><title>500 Internal Server Error</title></head><body><h1>500 Internal Server Error</h1></body></html>",
  contentType: "text/html"
})

/** @internal */
export const empty500 = (): ErrorSpec => ({ status: 500, type: undefined, body: "", contentType: "application/json" })

/**
 * A container answer with status ≥ 400, as SageMaker wraps it: 424 `ModelError`.
 *
 * @internal
 */
export const modelError = (ctx: {
  readonly endpointName: string
  readonly region: string
  readonly accountId: string
  readonly originalStatusCode: number
  readonly originalMessage: string
}): ErrorSpec => {
  const client = ctx.originalStatusCode >= 400 && ctx.originalStatusCode < 500
  const group = `/aws/sagemaker/Endpoints/${ctx.endpointName}`
  const consoleUrl =
    `https://${ctx.region}.console.aws.amazon.com/cloudwatch/home?region=${ctx.region}#logEventViewer:group=${group}`
  return runtime(424, "ModelError", {
    // INTERNAL_FAILURE_FROM_MODEL is what real 5xx container answers carry (seen in the wild).
    ErrorCode: client ? "CLIENT_ERROR_FROM_MODEL" : "INTERNAL_FAILURE_FROM_MODEL",
    LogStreamArn: `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${group}`,
    Message: `Received ${
      client ? "client" : "server"
    } error (${ctx.originalStatusCode}) from primary with message "${ctx.originalMessage}". See ${consoleUrl} in account ${ctx.accountId} for more information.`,
    OriginalMessage: ctx.originalMessage,
    OriginalStatusCode: ctx.originalStatusCode
  })
}
