/**
 * The tagged errors of effect-sagemaker. Every failure of the library is one of these; their `_tag`
 * values and Haystack-compatible messages are part of the public contract.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const retryableField = (byDefault: boolean) =>
  Schema.Boolean.pipe(Schema.propertySignature, Schema.withConstructorDefault(() => byDefault))

/** Fields shared by the errors that answer a request to an endpoint. */
const requestFields = {
  endpointName: Schema.String,
  statusCode: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  /** The server's `Retry-After` / `x-amz-retry-after` hint, in milliseconds. */
  retryAfterMillis: Schema.optional(Schema.Number)
}

/**
 * A layer could not be built: a secret did not resolve, the region resolves nowhere, or the SDK
 * client could not be constructed. For a service (`model` is its endpoint) the message is
 * Haystack's, word for word; for a client on its own (`model` is `""`) it gives the reason.
 *
 * @since 0.1.0
 * @category errors
 */
export class AWSConfigurationError extends Schema.TaggedError<AWSConfigurationError>(
  "effect-sagemaker/AWSConfigurationError"
)("AWSConfigurationError", {
  model: Schema.String,
  /** What went wrong, without any secret value. */
  description: Schema.String,
  retryable: retryableField(false),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return this.model === ""
      ? `Could not set up the SageMaker Runtime client: ${this.description}`
      : `Could not connect to SageMaker Inference Endpoint '${this.model}'.` +
        `Make sure the Endpoint exists and AWS environment is configured.`
  }
}

/**
 * The model behind the endpoint is not ready (`ModelNotReadyException`, HTTP 429). Retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerNotReadyError extends Schema.TaggedError<SagemakerNotReadyError>(
  "effect-sagemaker/SagemakerNotReadyError"
)("SagemakerNotReadyError", {
  ...requestFields,
  text: Schema.String,
  retryable: retryableField(true)
}) {
  override get message(): string {
    return `Sagemaker model not ready: ${this.text}`
  }
}

/**
 * SageMaker throttled the request (`ThrottlingException`, HTTP 400 or 429). Retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerThrottlingError extends Schema.TaggedError<SagemakerThrottlingError>(
  "effect-sagemaker/SagemakerThrottlingError"
)("SagemakerThrottlingError", {
  ...requestFields,
  text: Schema.String,
  retryable: retryableField(true)
}) {
  override get message(): string {
    return `SageMaker throttled the request to '${this.endpointName}'` +
      (this.statusCode === undefined ? "" : ` (status ${this.statusCode})`) + `: ${this.text}`
  }
}

/**
 * The endpoint answered with an error (a `ModelError` from the container, a service failure, a
 * 403, an unknown error type), or the request failed before any response (no `statusCode`).
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerInferenceError extends Schema.TaggedError<SagemakerInferenceError>(
  "effect-sagemaker/SagemakerInferenceError"
)("SagemakerInferenceError", {
  ...requestFields,
  /**
   * The service's error type (`ModelError`, `InternalFailure`, …), or `Transport`; for async
   * inference, `AsyncInferenceFailure` (the failure object's text) or `S3.<error name>`.
   */
  errorCode: Schema.String,
  /** The service's message as the SDK parsed it, or the transport failure's cause. */
  text: Schema.String,
  originalStatusCode: Schema.optional(Schema.Number),
  originalMessage: Schema.optional(Schema.String),
  logStreamArn: Schema.optional(Schema.String),
  retryable: retryableField(false),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    if (this.errorCode === "AsyncInferenceFailure") return `SageMaker async inference failed: ${this.text}`
    return this.statusCode === undefined
      ? `SageMaker Inference request failed without a response: ${this.text}`
      : `SageMaker Inference returned an error. Status code: ${this.statusCode}. Response body: ${this.text}`
  }
}

/**
 * Bad input, caught before any request (the `field` names the option or argument), or a
 * `ValidationError` (HTTP 400) from SageMaker itself (`field` is `"request"`).
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerValidationError extends Schema.TaggedError<SagemakerValidationError>(
  "effect-sagemaker/SagemakerValidationError"
)("SagemakerValidationError", {
  field: Schema.String,
  rule: Schema.String,
  endpointName: Schema.optional(Schema.String),
  statusCode: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  retryable: retryableField(false)
}) {
  override get message(): string {
    return `Invalid ${this.field}: ${this.rule}`
  }
}

/**
 * A response body this library cannot interpret (Haystack raises `ValueError` here). Keeps the
 * start of the raw body.
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerResponseError extends Schema.TaggedError<SagemakerResponseError>(
  "effect-sagemaker/SagemakerResponseError"
)("SagemakerResponseError", {
  endpointName: Schema.String,
  /** Why the body was refused; the message is `Unexpected model response ` followed by it. */
  detail: Schema.String,
  /** The raw body, truncated. */
  body: Schema.String,
  retryable: retryableField(false)
}) {
  override get message(): string {
    return `Unexpected model response ${this.detail}`
  }
}

/**
 * An attempt outran the `timeout` option. Retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerTimeoutError extends Schema.TaggedError<SagemakerTimeoutError>(
  "effect-sagemaker/SagemakerTimeoutError"
)("SagemakerTimeoutError", {
  endpointName: Schema.String,
  timeoutMillis: Schema.Number,
  retryable: retryableField(true)
}) {
  override get message(): string {
    return `SageMaker request to '${this.endpointName}' timed out after ${
      Duration.format(Duration.millis(this.timeoutMillis))
    }`
  }
}

/**
 * A response stream failed after its HTTP 200: a `ModelStreamError` or `InternalStreamFailure`
 * frame, or a broken event stream (truncated frame, bad checksum, reset).
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerStreamError extends Schema.TaggedError<SagemakerStreamError>(
  "effect-sagemaker/SagemakerStreamError"
)("SagemakerStreamError", {
  endpointName: Schema.String,
  errorCode: Schema.String,
  text: Schema.String,
  retryable: retryableField(false),
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `SageMaker response stream failed (${this.errorCode}): ${this.text}`
  }
}

/**
 * `fromDict` input is not a serialized generator. The message is Haystack's.
 *
 * @since 0.1.0
 * @category errors
 */
export class SagemakerDeserializationError extends Schema.TaggedError<SagemakerDeserializationError>(
  "effect-sagemaker/SagemakerDeserializationError"
)("SagemakerDeserializationError", {
  text: Schema.String,
  retryable: retryableField(false)
}) {
  override get message(): string {
    return this.text
  }
}

/**
 * The errors a request to an endpoint can fail with (`run`, `stream`).
 *
 * @since 0.1.0
 * @category errors
 */
export type SagemakerRequestError =
  | SagemakerNotReadyError
  | SagemakerThrottlingError
  | SagemakerInferenceError
  | SagemakerValidationError
  | SagemakerResponseError
  | SagemakerTimeoutError
  | SagemakerStreamError

/**
 * Every error of the library, as a schema: for sending errors over RPC or storing them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SagemakerError = Schema.Union(
  AWSConfigurationError,
  SagemakerNotReadyError,
  SagemakerThrottlingError,
  SagemakerInferenceError,
  SagemakerValidationError,
  SagemakerResponseError,
  SagemakerTimeoutError,
  SagemakerStreamError,
  SagemakerDeserializationError
)

/**
 * Every error of the library.
 *
 * @since 0.1.0
 * @category errors
 */
export type SagemakerError = typeof SagemakerError.Type

const errorClasses = SagemakerError.members

/**
 * @since 0.1.0
 * @category guards
 */
export const isSagemakerError = (u: unknown): u is SagemakerError =>
  Predicate.isObject(u) && errorClasses.some((ErrorClass) => u instanceof ErrorClass)

/**
 * Whether the default retry policy retries this error.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (error: SagemakerError): boolean => error.retryable
