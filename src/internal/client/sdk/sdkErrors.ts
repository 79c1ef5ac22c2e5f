/**
 * Reads what the AWS SDK throws as the facts the error table classifies: by exception name and
 * HTTP status (the SDK's `$retryable` is always undefined for SageMaker, and on HTTP errors the
 * text is on `error.message`, not `error.Message`).
 *
 * @since 0.1.0
 * @internal
 */
import { SageMakerRuntimeServiceException } from "@aws-sdk/client-sagemaker-runtime"
import * as Predicate from "effect/Predicate"
import type { AWSConfigurationError, SagemakerRequestError, SagemakerStreamError } from "../../../SagemakerError.js"
import { isStreamException } from "../../limits.js"
import {
  classify,
  classifyStreamFailure,
  describeCause,
  numberField,
  type ResponseHeaders,
  type StreamFailure,
  stringField
} from "../errorTable.js"

interface ResponseFacts {
  readonly statusCode: number | undefined
  readonly requestId: string | undefined
  readonly headers: ResponseHeaders
}

const responseFacts = (error: object): ResponseFacts => {
  const metadata = (error as { $metadata?: unknown }).$metadata
  const response = (error as { $response?: unknown }).$response
  return {
    statusCode: Predicate.isRecord(metadata) ? numberField(metadata, "httpStatusCode") : undefined,
    requestId: Predicate.isRecord(metadata) ? stringField(metadata, "requestId") : undefined,
    headers: Predicate.isRecord(response) && Predicate.isRecord(response.headers)
      ? response.headers as Record<string, string | undefined>
      : {}
  }
}

/** An error the SDK threw from a response stream, as facts. */
const sdkStreamFailure = (error: unknown): StreamFailure => {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) }
  const modeled = isStreamException(error.name)
  return {
    name: error.name,
    // Stream-exception objects keep the service's text on `Message` (docs/protocol.md §6.3).
    message: modeled ? stringField(error, "Message") ?? error.message : error.message,
    detail: modeled ? stringField(error, "ErrorCode") : undefined,
    code: stringField(error, "code")
  }
}

/**
 * Maps anything `client.send` rejects with, before a response stream opened, to a tagged error.
 */
export const fromSdkError = (endpointName: string, error: unknown): SagemakerRequestError | AWSConfigurationError => {
  if (error instanceof SageMakerRuntimeServiceException) {
    if (isStreamException(error.name)) {
      return classify(endpointName, { _tag: "StreamException", failure: sdkStreamFailure(error) })
    }
    const facts = responseFacts(error)
    return classify(endpointName, {
      _tag: "ErrorResponse",
      code: error.name,
      // The SDK assigns the body's `message` as it is: a number there must not break our schema.
      message: typeof error.message === "string" ? error.message : String(error.message),
      statusCode: facts.statusCode,
      requestId: facts.requestId,
      headers: facts.headers,
      // The SDK copies the body's members onto the exception.
      originalStatusCode: numberField(error, "OriginalStatusCode"),
      originalMessage: stringField(error, "OriginalMessage"),
      logStreamArn: stringField(error, "LogStreamArn"),
      detail: stringField(error, "ErrorCode")
    })
  }
  if (error instanceof Error && error.name === "CredentialsProviderError") {
    return classify(endpointName, { _tag: "MissingCredentials", message: error.message })
  }
  // A body the SDK could not parse (an HTML 500, say) still carries the HTTP status.
  const facts = Predicate.isObject(error) ? responseFacts(error) : undefined
  if (facts?.statusCode !== undefined) {
    return classify(endpointName, {
      _tag: "UnreadableResponse",
      statusCode: facts.statusCode,
      requestId: facts.requestId,
      headers: facts.headers,
      description: describeCause(error)
    })
  }
  return classify(endpointName, { _tag: "Transport", cause: error })
}

/**
 * Maps a failure the SDK's event-stream iterator throws after the HTTP 200: an exception frame, or
 * a broken stream.
 */
export const fromStreamError = (endpointName: string, error: unknown): SagemakerStreamError =>
  classifyStreamFailure(endpointName, sdkStreamFailure(error))
