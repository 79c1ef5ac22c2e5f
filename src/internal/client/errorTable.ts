/**
 * The one place where failures become tagged errors (DESIGN.md, error table), whichever transport
 * met them. Each transport states what happened as plain facts — a {@link RequestFailure} before a
 * response stream opened, a {@link StreamFailure} after — and {@link classify} /
 * {@link classifyStreamFailure} decide the tag, the fields and whether it is retryable.
 *
 * Two adapters feed them: {@link fromSdkError} / {@link fromStreamError} read what the AWS SDK
 * throws (classified by exception name and HTTP status: the SDK's `$retryable` is always undefined
 * for SageMaker, and on HTTP errors the text is on `error.message`, not `error.Message`), and
 * `httpErrors.ts` reads raw HTTP error responses by the same rules the SDK applies (PROTOCOL.md
 * §4.1).
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
} from "../../SagemakerError.js"

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

/** The exception frames of the response stream that SageMaker models (PROTOCOL.md §6.3). */
const streamExceptionNames = new Set(["ModelStreamError", "InternalStreamFailure"])

/** Response headers, as either transport holds them (names in any case). */
export type ResponseHeaders = Readonly<Record<string, string | undefined>>

/**
 * What went wrong with a request before any response stream opened, stated by a transport.
 *
 * - `ErrorResponse`: the service answered with an error status, and its error type was identified
 *   (`code`, `"Unknown"` when none: PROTOCOL.md §4.1); `message` is the service's text.
 * - `StreamException`: the response stream's first frame was an exception frame (the SDK fails the
 *   call itself then).
 * - `UnreadableResponse`: a response arrived but could not be read (a non-JSON error body, a body
 *   cut short, a broken first stream frame).
 * - `MissingCredentials`: no credentials could be resolved to sign the request.
 * - `Transport`: no response at all (refused, reset, DNS).
 */
export type RequestFailure =
  | {
    readonly _tag: "ErrorResponse"
    readonly code: string
    readonly message: string
    readonly statusCode: number | undefined
    readonly requestId: string | undefined
    readonly headers: ResponseHeaders
    /** The ModelError members, when the body has them. */
    readonly originalStatusCode: number | undefined
    readonly originalMessage: string | undefined
    readonly logStreamArn: string | undefined
    /** The body's `ErrorCode` member (kept by a stream exception). */
    readonly detail: string | undefined
  }
  | { readonly _tag: "StreamException"; readonly failure: StreamFailure }
  | {
    readonly _tag: "UnreadableResponse"
    readonly statusCode: number
    readonly requestId: string | undefined
    readonly headers: ResponseHeaders
    /** Why, as `describeCause` words it; its first line is kept. */
    readonly description: string
  }
  | { readonly _tag: "MissingCredentials"; readonly message: string }
  | { readonly _tag: "Transport"; readonly cause: unknown }

/**
 * What ended a response stream after its HTTP 200: an exception or error frame (`name` is its type
 * or code), or a broken stream (`name` is the error's name, `code` a socket error code).
 */
export interface StreamFailure {
  readonly name: string
  readonly message: string
  /** The `ErrorCode` member of a `ModelStreamError`. */
  readonly detail?: string | undefined
  /** A socket error code such as `ECONNRESET`. */
  readonly code?: string | undefined
}

const stringField = (u: object, key: string): string | undefined => {
  const value = (u as Record<string, unknown>)[key]
  return typeof value === "string" ? value : undefined
}

const numberField = (u: object, key: string): number | undefined => {
  const value = (u as Record<string, unknown>)[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/** `Retry-After` (seconds or an HTTP date) or `x-amz-retry-after` (milliseconds). */
export const parseRetryAfter = (headers: ResponseHeaders, now: number): number | undefined => {
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

/** Drops undefined fields, so that the error classes' optional fields stay absent. */
const defined = <A extends Record<string, unknown>>(fields: A): A =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as A

/** A thrown value as text: its message, prefixed with its socket error code when that is not in it. */
export const describeCause = (error: unknown): string => {
  if (error instanceof Error) {
    const code = stringField(error, "code")
    const message = error.message || error.name
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
  }
  return String(error)
}

/**
 * THE error table: what a failed request becomes. Both transports call it, so a given response
 * fails with the same tag and fields whichever transport met it.
 */
export const classify = (
  endpointName: string,
  failure: RequestFailure
): SagemakerRequestError | AWSConfigurationError => {
  switch (failure._tag) {
    case "ErrorResponse": {
      const { code, statusCode } = failure
      const text = failure.message
      const common = defined({
        endpointName,
        statusCode,
        requestId: failure.requestId,
        retryAfterMillis: parseRetryAfter(failure.headers, Date.now())
      })
      if (code === "ModelNotReadyException") {
        return new SagemakerNotReadyError({ ...common, text })
      }
      if (throttlingNames.has(code) || (code === "Unknown" && statusCode === 429)) {
        return new SagemakerThrottlingError({ ...common, text })
      }
      if (code === "ValidationError") {
        return new SagemakerValidationError(defined({
          field: "request",
          rule: text,
          endpointName,
          statusCode,
          requestId: failure.requestId
        }))
      }
      if (streamExceptionNames.has(code)) {
        return classifyStreamFailure(endpointName, { name: code, message: text, detail: failure.detail })
      }
      return new SagemakerInferenceError({
        ...common,
        ...defined({
          originalStatusCode: failure.originalStatusCode,
          originalMessage: failure.originalMessage,
          logStreamArn: failure.logStreamArn
        }),
        errorCode: code,
        text,
        retryable: statusCode !== undefined && transientStatuses.has(statusCode)
      })
    }
    case "StreamException":
      return classifyStreamFailure(endpointName, failure.failure)
    case "UnreadableResponse":
      return new SagemakerInferenceError({
        ...defined({
          requestId: failure.requestId,
          retryAfterMillis: parseRetryAfter(failure.headers, Date.now())
        }),
        endpointName,
        statusCode: failure.statusCode,
        errorCode: "Unknown",
        text: `the error response could not be read (${failure.description.split("\n")[0]})`,
        retryable: transientStatuses.has(failure.statusCode)
      })
    case "MissingCredentials":
      return new AWSConfigurationError({
        model: endpointName,
        description: `No AWS credentials could be resolved: ${failure.message}`
      })
    case "Transport":
      return new SagemakerInferenceError({
        endpointName,
        errorCode: "Transport",
        text: describeCause(failure.cause),
        retryable: true
      })
  }
}

/** How a broken stream is named: its socket code, else what the decoder's message says. */
const brokenStreamCode = (failure: StreamFailure): string => {
  if (failure.code !== undefined) return failure.code
  if (/truncated/i.test(failure.message)) return "TruncatedStream"
  if (/checksum/i.test(failure.message)) return "ChecksumMismatch"
  return failure.name === "Error" ? "StreamBroken" : failure.name
}

/** A stream failure as text, worded as {@link describeCause} words the error it stands for. */
export const describeStreamFailure = (failure: StreamFailure): string => {
  const code = failure.code
  const message = failure.message || failure.name
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
}

/**
 * What a response stream that failed after its HTTP 200 becomes. Never retryable: earlier parts
 * were already delivered.
 */
export const classifyStreamFailure = (endpointName: string, failure: StreamFailure): SagemakerStreamError => {
  if (streamExceptionNames.has(failure.name)) {
    return new SagemakerStreamError({
      endpointName,
      errorCode: failure.name,
      text: failure.detail === undefined ? failure.message : `${failure.message} (${failure.detail})`
    })
  }
  return new SagemakerStreamError({
    endpointName,
    errorCode: brokenStreamCode(failure),
    text: describeStreamFailure(failure)
  })
}

// ---------------------------------------------------------------------------------------------
// The SDK adapter
// ---------------------------------------------------------------------------------------------

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
  const modeled = streamExceptionNames.has(error.name)
  return {
    name: error.name,
    // Stream-exception objects keep the service's text on `Message` (PROTOCOL.md §6.3).
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
    if (streamExceptionNames.has(error.name)) {
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
