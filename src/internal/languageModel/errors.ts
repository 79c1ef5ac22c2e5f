/**
 * Our tagged errors as `@effect/ai`'s `AiError`s, in one table:
 *
 * | our error | `AiError` |
 * |---|---|
 * | a status from SageMaker or the container (inference, throttling, not ready, SageMaker's 400) | `HttpResponseError`, with the container's own status when a `ModelError` carries it |
 * | a transport failure, a timeout | `HttpRequestError` (`Transport`) |
 * | a body that cannot be read | `MalformedOutput` |
 * | a stream that failed after its 200, anything else | `UnknownError` |
 * | a request refused before it was sent | `MalformedInput` |
 *
 * The original error stays reachable: as `cause` where the class has one, and through
 * {@link sagemakerErrorOf} for every error made here (`HttpResponseError` has no `cause`).
 *
 * @since 0.1.0
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import { isSagemakerError, type SagemakerError } from "../../SagemakerError.js"

export const MODULE = "SagemakerLanguageModel"

/** Where a request went, for the request details of an `AiError` (no credentials, no body). */
export interface RequestTarget {
  readonly endpointName: string
  readonly region: string
  readonly operation: "invoke" | "stream"
  readonly method: string
  /** The provider module named in the error; default `SagemakerLanguageModel`. */
  readonly module?: string | undefined
}

const originals = new WeakMap<object, SagemakerError>()

/** The SageMaker Runtime URL of the call. An `endpointUrl` of the client (the emulator) is not known here. */
const requestDetails = (target: RequestTarget): typeof AiError.HttpRequestDetails.Type => ({
  method: "POST",
  url: `https://runtime.sagemaker.${target.region}.amazonaws.com/endpoints/${encodeURIComponent(target.endpointName)}/${
    target.operation === "invoke" ? "invocations" : "invocations-response-stream"
  }`,
  urlParams: [],
  hash: Option.none(),
  headers: { "content-type": "application/json" }
})

const statusError = (
  target: RequestTarget,
  status: number,
  description: string,
  body: string | undefined,
  requestId: string | undefined
): AiError.HttpResponseError =>
  new AiError.HttpResponseError({
    module: target.module ?? MODULE,
    method: target.method,
    reason: "StatusCode",
    request: requestDetails(target),
    response: { status, headers: requestId === undefined ? {} : { "x-amzn-requestid": requestId } },
    description,
    ...(body === undefined ? {} : { body })
  })

const make = (target: RequestTarget, error: SagemakerError): AiError.AiError => {
  const common = { module: target.module ?? MODULE, method: target.method, description: error.message, cause: error }
  switch (error._tag) {
    case "SagemakerInferenceError":
      return error.statusCode === undefined
        ? new AiError.HttpRequestError({ ...common, reason: "Transport", request: requestDetails(target) })
        : statusError(
          target,
          error.originalStatusCode ?? error.statusCode,
          error.message,
          error.originalMessage ?? error.text,
          error.requestId
        )
    case "SagemakerNotReadyError":
    case "SagemakerThrottlingError":
      return statusError(target, error.statusCode ?? 429, error.message, error.text, error.requestId)
    case "SagemakerValidationError":
      return error.statusCode === undefined
        ? new AiError.MalformedInput(common)
        : statusError(target, error.statusCode, error.message, error.rule, error.requestId)
    case "SagemakerTimeoutError":
      return new AiError.HttpRequestError({ ...common, reason: "Transport", request: requestDetails(target) })
    case "SagemakerResponseError":
      return new AiError.MalformedOutput(common)
    case "SagemakerStreamError":
    case "AWSConfigurationError":
    case "SagemakerDeserializationError":
      return new AiError.UnknownError(common)
  }
}

/** The `AiError` for one of our errors; the retry policy ran before. */
export const toAiError = (target: RequestTarget) => (error: SagemakerError): AiError.AiError => {
  const mapped = make(target, error)
  originals.set(mapped, error)
  return mapped
}

/** The tagged error an `AiError` of this provider stands for. */
export const sagemakerErrorOf = (error: AiError.AiError): SagemakerError | undefined => {
  // A failure that crossed a span arrives as a proxy of the error that was made.
  const original = originals.get(Cause.originalError(error))
  if (original !== undefined) return original
  const cause = "cause" in error ? error.cause : undefined
  return isSagemakerError(cause) ? cause : undefined
}

/** A request this provider cannot send: refused before any network call. */
export const malformedInput = (method: string, description: string, module = MODULE): AiError.MalformedInput =>
  new AiError.MalformedInput({ module, method, description })

/** An answer this provider cannot turn into response parts. */
export const malformedOutput = (
  method: string,
  description: string,
  cause?: unknown,
  module = MODULE
): AiError.MalformedOutput =>
  new AiError.MalformedOutput({ module, method, description, ...(cause === undefined ? {} : { cause }) })
