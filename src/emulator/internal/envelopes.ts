/**
 * The HTTP response envelope of each operation: error bodies, the InvokeEndpoint and async JSON
 * bodies, and the InvokeEndpointWithResponseStream event stream, with SageMaker's headers in wire form.
 *
 * @since 0.1.0
 * @internal
 */
import { randomUUID } from "node:crypto"
import type * as Errors from "./errors.js"
import { formatUri, type S3Location } from "./s3Store.js"

/** How an event stream ends once its frames are written. @internal */
export type Ending = "end" | "stall" | "reset"

/**
 * A response ready to write. Header names are lower-case, in the order they are sent.
 *
 * @internal
 */
export type Envelope =
  | {
    readonly _tag: "Body"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: Uint8Array
  }
  | {
    readonly _tag: "EventStream"
    readonly status: 200
    readonly headers: Readonly<Record<string, string>>
    readonly frames: ReadonlyArray<Uint8Array>
    /** Waited before each frame. */
    readonly partDelayMillis: number
    readonly ending: Ending
  }

const encoder = new TextEncoder()

const body = (status: number, headers: Record<string, string>, contentType: string, bytes: Uint8Array): Envelope => {
  headers["content-type"] = contentType
  // An empty body goes out chunked, without a length, as it always has.
  if (bytes.length > 0) headers["content-length"] = String(bytes.length)
  return { _tag: "Body", status, headers, body: bytes }
}

/** @internal */
export const error = (spec: Errors.ErrorSpec, requestId: string): Envelope => {
  const headers: Record<string, string> = { "x-amzn-requestid": requestId }
  if (spec.type !== undefined) headers["x-amzn-errortype"] = spec.type
  return body(spec.status, headers, spec.contentType, encoder.encode(spec.body))
}

/** What every successful InvokeEndpoint and stream response carries. @internal */
export interface Success {
  readonly requestId: string
  /** The `X-Amzn-SageMaker-Target-Variant` asked for, if any. */
  readonly targetVariant: string | undefined
  /** The container's `X-Amzn-SageMaker-Custom-Attributes`, if it set any. */
  readonly customAttributes: string | undefined
  /** The container's content type. */
  readonly contentType: string
}

const successHeaders = (s: Success): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-amzn-requestid": s.requestId,
    "x-amzn-invoked-production-variant": s.targetVariant ?? "AllTraffic"
  }
  if (s.customAttributes !== undefined) headers["x-amzn-sagemaker-custom-attributes"] = s.customAttributes
  return headers
}

const isoSeconds = (millis: number): string => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

/** How long a session the emulator opens lives. */
const sessionMillis = 20 * 60_000

/** @internal */
export const invoke = (
  s: Success & {
    readonly newSession: boolean
    readonly closedSessionId: string | undefined
    readonly nowMillis: number
    readonly body: Uint8Array
  }
): Envelope => {
  const headers = successHeaders(s)
  if (s.newSession) {
    headers["x-amzn-sagemaker-new-session-id"] = `${randomUUID()}; Expires=${isoSeconds(s.nowMillis + sessionMillis)}`
  }
  if (s.closedSessionId !== undefined) headers["x-amzn-sagemaker-closed-session-id"] = s.closedSessionId
  return body(200, headers, s.contentType, s.body)
}

/** @internal */
export const eventStream = (
  s: Success & {
    readonly frames: ReadonlyArray<Uint8Array>
    readonly partDelayMillis: number
    readonly ending: Ending
  }
): Envelope => {
  const headers = successHeaders(s)
  headers["x-amzn-sagemaker-content-type"] = s.contentType
  headers["content-type"] = "application/vnd.amazon.eventstream"
  return {
    _tag: "EventStream",
    status: 200,
    headers,
    frames: s.frames,
    partDelayMillis: s.partDelayMillis,
    ending: s.ending
  }
}

/** InvokeEndpointAsync: 202 with the inference id and where its output and failure will land. @internal */
export const async = (ctx: {
  readonly requestId: string
  readonly inferenceId: string
  readonly output: S3Location
  readonly failure: S3Location
}): Envelope =>
  body(
    202,
    {
      "x-amzn-requestid": ctx.requestId,
      "x-amzn-sagemaker-outputlocation": formatUri(ctx.output),
      "x-amzn-sagemaker-failurelocation": formatUri(ctx.failure)
    },
    "application/json",
    encoder.encode(JSON.stringify({ InferenceId: ctx.inferenceId }))
  )
