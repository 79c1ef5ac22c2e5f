/**
 * An incremental decoder of the AWS event-stream framing of `InvokeEndpointWithResponseStream`
 * (docs/protocol.md §6.2): bytes in, in whatever pieces the socket delivers them; PayloadPart payloads
 * out, in order; the first exception frame or broken frame reported as a `StreamFailure` (the facts
 * `sdkErrors.classifyStreamFailure` turns into a `SagemakerStreamError`).
 *
 * It behaves as the AWS SDK's decoder does, so that both transports fail alike: the same checks in
 * the same order (length, prelude CRC, message CRC, headers) with the same messages, unknown event
 * types skipped, exception and error frames read the way the SDK reads them. It is cheaper: CRCs
 * are computed by zlib, payloads are views into the received buffers (no copy unless a frame
 * straddles socket reads), and only the headers that decide what a frame is are decoded.
 *
 * @since 0.1.0
 * @internal
 */
import { crc32 } from "node:zlib"
import { isStreamException } from "../../limits.js"
import type { StreamFailure } from "../errorTable.js"

/** Prelude (total length, headers length, prelude CRC) and trailing message CRC. */
const PRELUDE_LENGTH = 12
const MINIMUM_MESSAGE_LENGTH = 16

const utf8 = new TextDecoder()

/** What one `push` produced: the payloads completed, then the failure that ended the stream, if any. */
export interface Decoded {
  readonly parts: Array<Uint8Array>
  readonly failure: StreamFailure | undefined
}

const u32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0

const u16 = (bytes: Uint8Array, at: number): number => (bytes[at]! << 8) | bytes[at + 1]!

/** Header names and SageMaker's header values are ASCII: decode those without a TextDecoder call. */
const text = (bytes: Uint8Array, start: number, end: number): string => {
  let out = ""
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!
    if (byte >= 0x80) return utf8.decode(bytes.subarray(start, end))
    out += String.fromCharCode(byte)
  }
  return out
}

/** Whether `bytes[start, end)` spells the ASCII string `expected`. */
const spells = (bytes: Uint8Array, start: number, end: number, expected: string): boolean => {
  if (end - start !== expected.length) return false
  for (let i = start; i < end; i++) if (bytes[i] !== expected.charCodeAt(i - start)) return false
  return true
}

/** `expected` when the bytes spell it (no string built), else their text. */
const textOr = (bytes: Uint8Array, start: number, end: number, expected: string): string =>
  spells(bytes, start, end, expected) ? expected : text(bytes, start, end)

/** The CRC-32 table, for the 8 bytes of a prelude (cheaper in JavaScript than a call into zlib). */
const CRC_TABLE = (() => {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
})()

const preludeCrc = (bytes: Uint8Array, at: number): number => {
  let c = -1
  for (let i = at; i < at + 8; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

const concat = (chunks: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The value sizes of the non-string header types (docs/protocol.md §6.2), by type tag. */
const fixedSizes = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16]

interface FrameHeaders {
  messageType: string | undefined
  eventType: string | undefined
  exceptionType: string | undefined
  errorCode: string | undefined
  errorMessage: string | undefined
}

/**
 * Reads the headers that decide what a frame is into `headers` (reset first); a malformed block
 * fails as the SDK's parser does. Names are matched on their bytes, and the usual values
 * (`event`, `PayloadPart`) come back as constants: no string is built for an ordinary frame.
 */
const readHeaders = (
  bytes: Uint8Array,
  start: number,
  end: number,
  headers: FrameHeaders
): StreamFailure | undefined => {
  headers.messageType = undefined
  headers.eventType = undefined
  headers.exceptionType = undefined
  headers.errorCode = undefined
  headers.errorMessage = undefined
  let at = start
  while (at < end) {
    const nameStart = at + 1
    const nameEnd = nameStart + bytes[at]!
    if (nameEnd >= end) return outOfBounds
    const type = bytes[nameEnd]!
    at = nameEnd + 1
    if (type === 6 || type === 7) {
      if (at + 2 > end) return outOfBounds
      const valueStart = at + 2
      const valueEnd = valueStart + u16(bytes, at)
      if (valueEnd > end) return outOfBounds
      if (type === 7) {
        switch (nameEnd - nameStart) {
          case 11:
            if (spells(bytes, nameStart, nameEnd, ":event-type")) {
              headers.eventType = textOr(bytes, valueStart, valueEnd, "PayloadPart")
            } else if (spells(bytes, nameStart, nameEnd, ":error-code")) {
              headers.errorCode = text(bytes, valueStart, valueEnd)
            }
            break
          case 13:
            if (spells(bytes, nameStart, nameEnd, ":message-type")) {
              headers.messageType = textOr(bytes, valueStart, valueEnd, "event")
            }
            break
          case 14:
            if (spells(bytes, nameStart, nameEnd, ":error-message")) {
              headers.errorMessage = text(bytes, valueStart, valueEnd)
            }
            break
          case 15:
            if (spells(bytes, nameStart, nameEnd, ":exception-type")) {
              headers.exceptionType = text(bytes, valueStart, valueEnd)
            }
            break
        }
      }
      at = valueEnd
    } else {
      const size = fixedSizes[type]
      if (size === undefined) return { name: "Error", message: "Unrecognized header type tag" }
      at += size
      if (at > end) return outOfBounds
    }
  }
  return undefined
}

const outOfBounds: StreamFailure = { name: "RangeError", message: "Offset is outside the bounds of the DataView" }

const stringMember = (body: Record<string, unknown>, key: string): string | undefined => {
  const value = body[key]
  return typeof value === "string" ? value : undefined
}

/** An exception frame, read as the SDK reads it (docs/protocol.md §6.3). */
const exceptionFailure = (type: string, payload: Uint8Array): StreamFailure => {
  const raw = utf8.decode(payload)
  if (!isStreamException(type)) return { name: type, message: raw }
  let body: unknown = {}
  if (payload.length > 0) {
    try {
      body = JSON.parse(raw)
    } catch (error) {
      return { name: "SyntaxError", message: error instanceof Error ? error.message : String(error) }
    }
  }
  const record = typeof body === "object" && body !== null ? body as Record<string, unknown> : {}
  // Only the modeled members count: `Message` (not `message`), and `ErrorCode` on ModelStreamError.
  return {
    name: type,
    message: stringMember(record, "Message") ?? "Unknown",
    detail: type === "ModelStreamError" ? stringMember(record, "ErrorCode") : undefined
  }
}

/**
 * Decodes one event stream. Feed it the response body with `push`, then call `end` when the body
 * ended. After a failure it decodes nothing more.
 */
export class EventStreamDecoder {
  /** Bytes of a frame not complete yet. */
  private pending: Array<Uint8Array> = []
  private pendingLength = 0
  /** The total length of the pending frame, once its first 4 bytes arrived. */
  private needed: number | undefined = undefined
  private done = false
  /** Frames decoded so far, skipped ones included. */
  frames = 0
  /** The headers of the frame being decoded (one object, reused). */
  private readonly headers: FrameHeaders = {
    messageType: undefined,
    eventType: undefined,
    exceptionType: undefined,
    errorCode: undefined,
    errorMessage: undefined
  }

  push(bytes: Uint8Array): Decoded {
    const parts: Array<Uint8Array> = []
    if (this.done || bytes.length === 0) return { parts, failure: undefined }
    if (this.pendingLength === 0) return this.drain(bytes, parts)
    this.pending.push(bytes)
    this.pendingLength += bytes.length
    // Wait for the whole frame before copying its pieces together (once, not per piece).
    if (this.needed === undefined && this.pendingLength >= 4) {
      const head = concat(this.pending, this.pendingLength)
      this.pending = [head]
      this.needed = u32(head, 0)
    }
    if (this.needed === undefined || this.pendingLength < this.needed) return { parts, failure: undefined }
    const buffer = concat(this.pending, this.pendingLength)
    this.clear()
    return this.drain(buffer, parts)
  }

  /** The body ended: a frame left incomplete is a truncated stream. */
  end(): StreamFailure | undefined {
    if (this.done) return undefined
    this.done = true
    return this.pendingLength > 0 ? { name: "Error", message: "Truncated event message received." } : undefined
  }

  private clear(): void {
    this.pending = []
    this.pendingLength = 0
    this.needed = undefined
  }

  /** Keeps a view of the tail, not a copy: the next pushes complete it. */
  private stash(tail: Uint8Array, needed: number | undefined): void {
    this.pending = [tail]
    this.pendingLength = tail.length
    this.needed = needed
  }

  private fail(parts: Array<Uint8Array>, failure: StreamFailure): Decoded {
    this.done = true
    this.clear()
    return { parts, failure }
  }

  private drain(bytes: Uint8Array, parts: Array<Uint8Array>): Decoded {
    let offset = 0
    while (offset < bytes.length) {
      const available = bytes.length - offset
      if (available < 4) {
        this.stash(bytes.subarray(offset), undefined)
        return { parts, failure: undefined }
      }
      // Like the SDK, a frame is checked once all of its announced length arrived.
      const total = u32(bytes, offset)
      if (available < total) {
        this.stash(bytes.subarray(offset), total)
        return { parts, failure: undefined }
      }
      // The SDK's checks, in its order and with its messages.
      if (total < MINIMUM_MESSAGE_LENGTH) {
        return this.fail(parts, {
          name: "Error",
          message: "Provided message too short to accommodate event stream message overhead"
        })
      }
      const headersLength = u32(bytes, offset + 4)
      const prelude = preludeCrc(bytes, offset)
      const expectedPrelude = u32(bytes, offset + 8)
      if (prelude !== expectedPrelude) {
        return this.fail(parts, {
          name: "Error",
          message: `The prelude checksum specified in the message (${expectedPrelude}) does not match ` +
            `the calculated CRC32 checksum (${prelude})`
        })
      }
      const end = offset + total
      const messageCrc = crc32(bytes.subarray(offset + 8, end - 4), prelude)
      const expectedMessage = u32(bytes, end - 4)
      if (messageCrc !== expectedMessage) {
        return this.fail(parts, {
          name: "Error",
          message: `The message checksum (${messageCrc}) did not match the expected value of ${expectedMessage}`
        })
      }
      const headersEnd = offset + PRELUDE_LENGTH + headersLength
      if (headersEnd > end - 4) return this.fail(parts, outOfBounds)
      const headers = this.headers
      const malformed = readHeaders(bytes, offset + PRELUDE_LENGTH, headersEnd, headers)
      if (malformed !== undefined) return this.fail(parts, malformed)
      this.frames++
      const payload = bytes.subarray(headersEnd, end - 4)
      offset = end
      switch (headers.messageType) {
        case "event":
          // Unknown event types are skipped, as the SDK skips them.
          if (headers.eventType === "PayloadPart") parts.push(payload)
          break
        case "exception":
          return this.fail(parts, exceptionFailure(headers.exceptionType ?? "Error", payload))
        case "error":
          return this.fail(parts, {
            name: headers.errorCode ?? "Error",
            message: headers.errorMessage || "UnknownError"
          })
        default:
          return this.fail(parts, { name: "Error", message: `Unrecognizable event type: ${headers.eventType}` })
      }
    }
    this.clear()
    return { parts, failure: undefined }
  }
}
