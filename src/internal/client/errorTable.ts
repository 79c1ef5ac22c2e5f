/**
 * The error table: every failure, whichever transport or stage met it, becomes its tagged error
 * here (docs/design.md, "Errors"). Transports state what happened as plain facts (a
 * {@link RequestFailure} before a response stream opened, a {@link StreamFailure} after); the
 * table decides the tag, the fields and whether it is retryable. Bodies that cannot be read,
 * bodies over the limit and attempts that outran their timeout are worded here too.
 *
 * @since 0.1.0
 * @internal
 */
import {
  AWSConfigurationError,
  SagemakerInferenceError,
  SagemakerNotReadyError,
  type SagemakerRequestError,
  SagemakerResponseError,
  SagemakerStreamError,
  SagemakerThrottlingError,
  SagemakerTimeoutError,
  SagemakerValidationError
} from "../../SagemakerError.js"
import { isStreamException, MAX_BODY_BYTES } from "../limits.js"

/** The SDK's own list of throttling error names (docs/protocol.md §5). */
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

/** A container's own status, relayed by a 424 ModelError, that says it is overloaded: retry later. */
const overloadedContainerStatuses = new Set([429, 503])

/** Response headers, as either transport holds them (names in any case). */
export type ResponseHeaders = Readonly<Record<string, string | undefined>>

/**
 * What went wrong with a request before any response stream opened, stated by a transport.
 *
 * - `ErrorResponse`: the service answered with an error status, and its error type was identified
 *   (`code`, `"Unknown"` when none: docs/protocol.md §4.1); `message` is the service's text.
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

export const stringField = (u: object, key: string): string | undefined => {
  const value = (u as Record<string, unknown>)[key]
  return typeof value === "string" ? value : undefined
}

export const numberField = (u: object, key: string): number | undefined => {
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
      if (isStreamException(code)) {
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
        retryable: (statusCode !== undefined && transientStatuses.has(statusCode)) ||
          (code === "ModelError" && failure.originalStatusCode !== undefined &&
            overloadedContainerStatuses.has(failure.originalStatusCode))
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
  if (isStreamException(failure.name)) {
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

/** A response body over SageMaker's limit: refused before it is decoded. `body` is a snippet. */
export const responseTooLarge = (endpointName: string, bytes: number | string, body: string): SagemakerResponseError =>
  new SagemakerResponseError({
    endpointName,
    detail: `body: ${bytes} bytes, over SageMaker's response limit of ${MAX_BODY_BYTES} bytes`,
    body
  })

/** A body this library cannot interpret; `detail` says what was wrong with it. */
export const unexpectedResponse = (endpointName: string, detail: string, body: string): SagemakerResponseError =>
  new SagemakerResponseError({ endpointName, detail, body })

/** An attempt (or a stream's gap, or a whole call's deadline) that outran its time. */
export const timedOut = (endpointName: string, timeoutMillis: number): SagemakerTimeoutError =>
  new SagemakerTimeoutError({ endpointName, timeoutMillis })

/**
 * A container that reported a failed generation inside an HTTP 200 (LMI): the container's text,
 * not retried (the same request would fail the same way).
 */
export const containerReportedError = (endpointName: string, text: string): SagemakerInferenceError =>
  new SagemakerInferenceError({ endpointName, statusCode: 200, errorCode: "ModelError", text, retryable: false })
