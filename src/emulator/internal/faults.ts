/**
 * Fault injection: which configured fault applies to a call, what it answers before the model runs,
 * and how it alters the model's output (the InvokeEndpoint body or the event-stream frames).
 *
 * @since 0.1.0
 * @internal
 */
import type { Fault, FaultKind, Operation } from "../SagemakerEmulator.js"
import type { Ending } from "./envelopes.js"
import * as Errors from "./errors.js"
import * as EventStream from "./eventStream.js"

/** Which faults act before the model runs, per operation; the rest need the model's output. */
const preFaults: Record<Operation, ReadonlySet<FaultKind>> = {
  invoke: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "model-error",
    "stream-error",
    "service-unavailable",
    "internal-failure",
    "internal-stream-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500",
    "reset",
    "stall"
  ]),
  stream: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "model-error",
    "service-unavailable",
    "internal-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500"
  ]),
  async: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "service-unavailable",
    "internal-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500",
    "reset"
  ]),
  unknown: new Set<FaultKind>()
}

const postFaults: Record<Operation, ReadonlySet<FaultKind>> = {
  invoke: new Set<FaultKind>(["malformed", "truncate"]),
  stream: new Set<FaultKind>([
    "malformed",
    "truncate",
    "stream-error",
    "internal-stream-failure",
    "stall",
    "bad-crc",
    "reset"
  ]),
  async: new Set<FaultKind>(["async-expired", "async-lost", "async-failure", "async-late", "malformed"]),
  unknown: new Set<FaultKind>()
}

/** Faults the model container acts out itself (the handler passes them on in the request). */
const modelFaults: Record<Operation, ReadonlySet<FaultKind>> = {
  invoke: new Set<FaultKind>(["generation-error"]),
  stream: new Set<FaultKind>(["generation-error"]),
  async: new Set<FaultKind>(),
  unknown: new Set<FaultKind>()
}

/** @internal */
export interface Selection {
  /** The sum of every matching `latency`. */
  readonly latencyMillis: number
  /** The first other matching fault that acts on this operation. */
  readonly fault: Fault | undefined
}

/**
 * The faults of an endpoint's `call`-th call (1-based): every matching latency applies; the first
 * other matching fault decides.
 *
 * @internal
 */
export const select = (faults: ReadonlyArray<Fault>, call: number, operation: Operation): Selection => {
  const active = faults.filter((f) => !("count" in f) || f.count === undefined || call <= f.count)
  return {
    latencyMillis: active.reduce((ms, f) => f.kind === "latency" ? ms + f.millis : ms, 0),
    fault: active.find((f) =>
      preFaults[operation].has(f.kind) || postFaults[operation].has(f.kind) || modelFaults[operation].has(f.kind)
    )
  }
}

/** What a fault answers instead of the model. @internal */
export type Before =
  | { readonly _tag: "Error"; readonly spec: Errors.ErrorSpec }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Stall" }

/** @internal */
export interface ErrorContext {
  readonly endpointName: string
  readonly region: string
  readonly accountId: string
}

const defaultModelErrorMessage = JSON.stringify({
  error: "Input validation error: this ModelError was injected by the emulator (fault model-error)",
  error_type: "validation"
})

/**
 * The answer of a fault that acts before the model runs; `undefined` when the fault (if any) acts on
 * the model's output instead.
 *
 * @internal
 */
export const before = (
  fault: Fault | undefined,
  operation: Operation,
  ctx: ErrorContext
): Before | undefined => {
  if (fault === undefined || !preFaults[operation].has(fault.kind)) return undefined
  const error = (spec: Errors.ErrorSpec): Before => ({ _tag: "Error", spec })
  switch (fault.kind) {
    case "not-ready":
      return error(Errors.modelNotReady())
    case "throttle":
      return error(Errors.throttling())
    case "throttle-429":
      return error(Errors.throttling429())
    case "model-error":
      return error(Errors.modelError({
        ...ctx,
        originalStatusCode: fault.originalStatusCode ?? 400,
        originalMessage: fault.originalMessage ?? defaultModelErrorMessage
      }))
    case "stream-error":
      return error(Errors.modelError({
        ...ctx,
        originalStatusCode: 500,
        originalMessage: JSON.stringify({ error: "Incomplete generation", error_type: "incomplete_generation" })
      }))
    case "service-unavailable":
      return error(Errors.serviceUnavailable())
    case "internal-failure":
    case "internal-stream-failure":
      return error(Errors.internalFailure())
    case "dependency-failure":
      return error(Errors.internalDependency())
    case "access-denied":
      return error(Errors.accessDenied(ctx))
    case "html-500":
      return error(Errors.html500())
    case "empty-500":
      return error(Errors.empty500())
    case "reset":
      return { _tag: "Reset" }
    case "stall":
      return { _tag: "Stall" }
    default:
      return undefined
  }
}

/** The fault the model container acts out, if any. @internal */
export const model = (
  fault: Fault | undefined,
  operation: Operation
): Extract<Fault, { readonly kind: "generation-error" }> | undefined =>
  fault?.kind === "generation-error" && modelFaults[operation].has(fault.kind) ? fault : undefined

/** The fault that acts on the model's output, if any. @internal */
export const after = (fault: Fault | undefined, operation: Operation): Fault | undefined =>
  fault !== undefined && postFaults[operation].has(fault.kind) ? fault : undefined

const encoder = new TextEncoder()

const malformedBody = encoder.encode(
  "This is not a valid model response: the container wrote plain text instead of JSON.\n"
)

/** The container's chunks, or plain text under a `malformed` fault. @internal */
export const output = (fault: Fault | undefined, chunks: ReadonlyArray<Uint8Array>): ReadonlyArray<Uint8Array> =>
  fault?.kind === "malformed" ? [malformedBody] : chunks

/** The InvokeEndpoint body under a `truncate` fault: its first half. @internal */
export const truncateBody = (fault: Fault | undefined, body: Uint8Array): Uint8Array =>
  fault?.kind === "truncate" ? body.subarray(0, Math.floor(body.length / 2)) : body

/**
 * The stream route's frames under an output fault, and how the stream then ends.
 *
 * @internal
 */
export const frames = (
  fault: Fault | undefined,
  payloadFrames: ReadonlyArray<Uint8Array>,
  encode: EventStream.FrameEncoder
): { readonly frames: ReadonlyArray<Uint8Array>; readonly ending: Ending } => {
  const out = [...payloadFrames]
  switch (fault?.kind) {
    case "stream-error":
      return {
        frames: [
          ...out.slice(0, fault.afterParts ?? 1),
          encode.exception("ModelStreamError", {
            Message: fault.message ??
              "Your model primary did not complete sending the inference response in the allotted time.",
            ErrorCode: fault.errorCode ?? "ModelInvocationTimeExceeded"
          })
        ],
        ending: "end"
      }
    case "internal-stream-failure":
      return {
        frames: [
          ...out.slice(0, fault.afterParts ?? 1),
          encode.exception("InternalStreamFailure", {
            Message: "An internal failure occurred while streaming the response."
          })
        ],
        ending: "end"
      }
    case "truncate":
      if (out.length > 0) out[out.length - 1] = EventStream.truncateFrame(out[out.length - 1]!)
      return { frames: out, ending: "end" }
    case "bad-crc": {
      const at = Math.min(fault.afterParts ?? 1, out.length - 1)
      if (at >= 0) out[at] = EventStream.corruptCrc(out[at]!)
      return { frames: out, ending: "end" }
    }
    case "stall":
      return { frames: out.slice(0, fault.afterParts ?? 1), ending: "stall" }
    case "reset":
      return { frames: out.slice(0, fault.afterParts ?? 0), ending: "reset" }
    default:
      return { frames: out, ending: "end" }
  }
}
