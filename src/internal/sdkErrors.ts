/**
 * The one place where what the AWS SDK throws becomes a tagged error (DESIGN.md, error table).
 * Classification is by exception name and HTTP status: the SDK's `$retryable` is always undefined
 * for SageMaker, and on HTTP errors the text is on `error.message`, not `error.Message`.
 *
 * @since 0.1.0
 * @internal
 */
import { SageMakerRuntimeServiceException } from "@aws-sdk/client-sagemaker-runtime"
import * as Predicate from "effect/Predicate"
import {
  AWSConfigurationError,
  SagemakerInferenceError,
  SagemakerNotReadyError,
  type SagemakerRequestError,
  SagemakerStreamError,
  SagemakerThrottlingError,
  SagemakerValidationError
} from "../SagemakerError.js"

/** The SDK's own list of throttling error names (PROTOCOL.md §5). */
const throttlingNames = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ThrottledException",
  "ProvisionedThroughputExceededException",
  "LimitExceededException",
  "BandwidthLimitExceeded",
  "SlowDown",
  "PriorRequestNotComplete"
])

const transientStatuses = new Set([500, 502, 503, 504])

const stringField = (u: object, key: string): string | undefined => {
  const value = (u as Record<string, unknown>)[key]
  return typeof value === "string" ? value : undefined
}

const numberField = (u: object, key: string): number | undefined => {
  const value = (u as Record<string, unknown>)[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

interface ResponseFacts {
  readonly statusCode: number | undefined
  readonly requestId: string | undefined
  readonly retryAfterMillis: number | undefined
}

/** `Retry-After` (seconds or an HTTP date) or `x-amz-retry-after` (milliseconds). */
export const parseRetryAfter = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): number | undefined => {
  const header = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]?.trim() || undefined
  const amz = header("x-amz-retry-after")
  if (amz !== undefined && /^\d+$/.test(amz)) return Number(amz)
  const retryAfter = header("retry-after")
  if (retryAfter === undefined) return undefined
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const responseFacts = (error: object): ResponseFacts => {
  const metadata = (error as { $metadata?: unknown }).$metadata
  const response = (error as { $response?: unknown }).$response
  const headers = Predicate.isRecord(response) && Predicate.isRecord(response.headers)
    ? response.headers as Record<string, string | undefined>
    : {}
  return {
    statusCode: Predicate.isRecord(metadata) ? numberField(metadata, "httpStatusCode") : undefined,
    requestId: Predicate.isRecord(metadata) ? stringField(metadata, "requestId") : undefined,
    retryAfterMillis: parseRetryAfter(headers, Date.now())
  }
}

/** Drops undefined fields, so that the error classes' optional fields stay absent. */
const defined = <A extends Record<string, unknown>>(fields: A): A =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as A

const describeCause = (error: unknown): string => {
  if (error instanceof Error) {
    const code = stringField(error, "code")
    const message = error.message || error.name
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
  }
  return String(error)
}

/**
 * Maps anything `client.send` rejects with, before a response stream opened, to a tagged error.
 */
export const fromSdkError = (endpointName: string, error: unknown): SagemakerRequestError | AWSConfigurationError => {
  if (error instanceof SageMakerRuntimeServiceException) {
    const facts = responseFacts(error)
    const text = error.message
    const common = defined({
      endpointName,
      statusCode: facts.statusCode,
      requestId: facts.requestId,
      retryAfterMillis: facts.retryAfterMillis
    })
    const name = error.name
    if (name === "ModelNotReadyException") {
      return new SagemakerNotReadyError({ ...common, text })
    }
    if (throttlingNames.has(name) || (name === "Unknown" && facts.statusCode === 429)) {
      return new SagemakerThrottlingError({ ...common, text })
    }
    if (name === "ValidationError") {
      return new SagemakerValidationError(defined({
        field: "request",
        rule: text,
        endpointName,
        statusCode: facts.statusCode,
        requestId: facts.requestId
      }))
    }
    if (name === "ModelStreamError" || name === "InternalStreamFailure") {
      return fromStreamError(endpointName, error)
    }
    return new SagemakerInferenceError({
      ...common,
      ...defined({
        originalStatusCode: numberField(error, "OriginalStatusCode"),
        originalMessage: stringField(error, "OriginalMessage"),
        logStreamArn: stringField(error, "LogStreamArn")
      }),
      errorCode: name,
      text,
      retryable: facts.statusCode !== undefined && transientStatuses.has(facts.statusCode)
    })
  }
  if (error instanceof Error && error.name === "CredentialsProviderError") {
    return new AWSConfigurationError({
      model: endpointName,
      description: `No AWS credentials could be resolved: ${error.message}`
    })
  }
  // A body the SDK could not parse (an HTML 500, say) still carries the HTTP status.
  const facts = Predicate.isObject(error) ? responseFacts(error) : undefined
  if (facts?.statusCode !== undefined) {
    return new SagemakerInferenceError({
      ...defined({ requestId: facts.requestId, retryAfterMillis: facts.retryAfterMillis }),
      endpointName,
      statusCode: facts.statusCode,
      errorCode: "Unknown",
      text: `the error response could not be read (${describeCause(error).split("\n")[0]})`,
      retryable: transientStatuses.has(facts.statusCode)
    })
  }
  return new SagemakerInferenceError({
    endpointName,
    errorCode: "Transport",
    text: describeCause(error),
    retryable: true
  })
}

/**
 * Maps a failure after the HTTP 200 of a response stream: an exception frame, or a broken stream.
 * Never retryable: earlier parts were already delivered.
 */
export const fromStreamError = (endpointName: string, error: unknown): SagemakerStreamError => {
  if (error instanceof Error) {
    const text = stringField(error, "Message") ?? error.message
    if (error.name === "ModelStreamError" || error.name === "InternalStreamFailure") {
      const detail = stringField(error, "ErrorCode")
      return new SagemakerStreamError({
        endpointName,
        errorCode: error.name,
        text: detail === undefined ? text : `${text} (${detail})`
      })
    }
    return new SagemakerStreamError({ endpointName, errorCode: brokenStreamCode(error), text: describeCause(error) })
  }
  return new SagemakerStreamError({ endpointName, errorCode: "StreamBroken", text: String(error) })
}

/** The event-stream decoder throws plain `Error`s; name the common ways a stream breaks. */
const brokenStreamCode = (error: Error): string => {
  const code = stringField(error, "code")
  if (code !== undefined) return code
  if (/truncated/i.test(error.message)) return "TruncatedStream"
  if (/checksum/i.test(error.message)) return "ChecksumMismatch"
  return error.name === "Error" ? "StreamBroken" : error.name
}
