/**
 * SageMaker Runtime's fixed limits and names, as the API reference states them (docs/protocol.md
 * §2): the one place the client, the validation and the emulator read them from.
 *
 * @since 0.1.0
 * @internal
 */

/** The largest request and response body of InvokeEndpoint and of the stream route: 6 MiB. */
export const MAX_BODY_BYTES = 6_291_456

/** The largest inline body of InvokeEndpointAsync; larger ones go through S3 (`InputLocation`). */
export const MAX_ASYNC_INLINE_BODY_BYTES = 128_000

/** The largest async request or result: 1 GB (SageMaker's async inference guide). */
export const MAX_ASYNC_PAYLOAD_BYTES = 1_000_000_000

/** The longest `X-Amzn-SageMaker-Custom-Attributes` header. */
export const MAX_CUSTOM_ATTRIBUTES_LENGTH = 1024

/** The longest endpoint name (and variant, container host name, inference component). */
export const MAX_RESOURCE_NAME_LENGTH = 63

/** The SageMaker resource-name rule: letters and digits, single hyphens inside. */
export const RESOURCE_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/

/** The exception frames a response stream can carry after its 200 (docs/protocol.md §6.3). */
export const STREAM_EXCEPTIONS = ["ModelStreamError", "InternalStreamFailure"] as const

/** One of {@link STREAM_EXCEPTIONS}. */
export type StreamException = (typeof STREAM_EXCEPTIONS)[number]

const streamExceptionSet: ReadonlySet<string> = new Set(STREAM_EXCEPTIONS)

/** Whether an event or error name is one of the stream's modeled exceptions. */
export const isStreamException = (name: string): name is StreamException => streamExceptionSet.has(name)
