/**
 * AWS event-stream frames for InvokeEndpointWithResponseStream (docs/protocol.md §6): PayloadPart events,
 * ModelStreamError / InternalStreamFailure exception frames, and the split strategies that decide
 * where the model's output bytes are cut into parts.
 *
 * @since 0.1.0
 * @internal
 */
import { EventStreamCodec } from "@smithy/eventstream-codec"
import { fromUtf8, toUtf8 } from "@smithy/util-utf8"
import type { SplitStrategy } from "../SagemakerEmulator.js"

/** @internal */
export interface FrameEncoder {
  readonly payloadPart: (bytes: Uint8Array) => Uint8Array
  readonly exception: (type: "ModelStreamError" | "InternalStreamFailure", body: Record<string, unknown>) => Uint8Array
}

/** @internal */
export const makeEncoder = (): FrameEncoder => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8)
  return {
    // Header order as SageMaker sends it (docs/protocol.md §6.2 literal frame).
    payloadPart: (bytes) =>
      codec.encode({
        headers: {
          ":event-type": { type: "string", value: "PayloadPart" },
          ":content-type": { type: "string", value: "application/octet-stream" },
          ":message-type": { type: "string", value: "event" }
        },
        body: bytes
      }),
    exception: (type, body) =>
      codec.encode({
        headers: {
          ":exception-type": { type: "string", value: type },
          ":content-type": { type: "string", value: "application/json" },
          ":message-type": { type: "string", value: "exception" }
        },
        body: fromUtf8(JSON.stringify(body))
      })
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const total = chunks.reduce((n, c) => n + c.length, 0)
  const out = new Uint8Array(total)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

const cutAt = (bytes: Uint8Array, boundaries: Iterable<number>): Array<Uint8Array> => {
  const sorted = [...new Set(boundaries)].filter((b) => b > 0 && b < bytes.length).sort((a, b) => a - b)
  const parts: Array<Uint8Array> = []
  let start = 0
  for (const b of sorted) {
    parts.push(bytes.subarray(start, b))
    start = b
  }
  if (start < bytes.length) parts.push(bytes.subarray(start))
  return parts
}

const chunkBoundaries = (chunks: ReadonlyArray<Uint8Array>): Array<number> => {
  const out: Array<number> = []
  let offset = 0
  for (const c of chunks) {
    offset += c.length
    out.push(offset)
  }
  return out
}

/**
 * Cuts the container's output chunks into PayloadPart payloads; concatenated, they always equal the
 * concatenated chunks. Empty parts are never produced.
 *
 * @internal
 */
export const split = (chunks: ReadonlyArray<Uint8Array>, strategy: SplitStrategy): Array<Uint8Array> => {
  const all = concat(chunks)
  switch (strategy.kind) {
    case "whole":
      return chunks.filter((c) => c.length > 0)
    case "bytes": {
      const out: Array<Uint8Array> = []
      for (let i = 0; i < all.length; i++) out.push(all.subarray(i, i + 1))
      return out
    }
    case "fixed": {
      const size = Math.max(1, Math.floor(strategy.size))
      const out: Array<Uint8Array> = []
      for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size))
      return out
    }
    case "inside-lines": {
      const boundaries: Array<number> = []
      let lineStart = 0
      for (let i = 0; i <= all.length; i++) {
        if (i === all.length || all[i] === 0x0a) {
          const length = i - lineStart
          if (length >= 2) boundaries.push(lineStart + Math.floor(length / 2))
          lineStart = i + 1
        }
      }
      return cutAt(all, boundaries)
    }
    case "inside-utf8": {
      const boundaries = chunkBoundaries(chunks)
      for (let i = 0; i < all.length; i++) {
        // A lead byte of a multi-byte sequence: cut right after it.
        if (all[i]! >= 0xc0) boundaries.push(i + 1)
      }
      return cutAt(all, boundaries)
    }
  }
}

/** Flips the message CRC so the SDK's checksum verification fails. @internal */
export const corruptCrc = (frame: Uint8Array): Uint8Array => {
  const copy = frame.slice()
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff
  return copy
}

/** The first half of a frame: the SDK reports "Truncated event message received." @internal */
export const truncateFrame = (frame: Uint8Array): Uint8Array =>
  frame.subarray(0, Math.max(1, Math.floor(frame.length / 2)))
