/**
 * Payload parts → stream chunks: one channel runs the container-format decoder over the bytes of
 * a response stream and turns what it cannot read into the error table's failures.
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { SagemakerStreamError } from "../../SagemakerError.js"
import type { SagemakerResponseError } from "../../SagemakerError.js"
import type { StreamChunk } from "../../StreamChunk.js"
import { unexpectedResponse } from "../client/errorTable.js"
import * as StreamDecoder from "../container/streamDecoder.js"

/**
 * Payload parts → chunks. A line the decoder cannot read ends the stream with a
 * `SagemakerResponseError` (a `SagemakerStreamError` when the line is the container's own error
 * report) after the chunks decoded before it; nothing is dropped silently.
 *
 * One channel decodes a chunk of parts at a time and writes everything it decoded as one chunk:
 * no Effect, and no stream, per part or per event.
 */
export const decodeStream = <E>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>,
  decoder: StreamDecoder.StreamDecoder
): Stream.Stream<StreamChunk, E | SagemakerResponseError | SagemakerStreamError> => {
  type Decoding = Channel.Channel<
    Chunk.Chunk<StreamChunk>,
    Chunk.Chunk<Uint8Array>,
    E | SagemakerResponseError | SagemakerStreamError,
    E,
    unknown,
    unknown
  >
  const emit = (events: Array<StreamChunk>, then: Decoding): Decoding =>
    events.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(events)), then)
  /**
   * Runs `decode`, which returns its events or collects them in the array it is given (so that a
   * failure in a later part still delivers the events of the parts before it); then `next`, or
   * the failure after every event decoded before it.
   */
  const step = (decode: (collected: Array<StreamChunk>) => Array<StreamChunk>, next: Decoding): Decoding => {
    const collected: Array<StreamChunk> = []
    let events: Array<StreamChunk>
    try {
      events = decode(collected)
    } catch (error) {
      if (!(error instanceof StreamDecoder.StreamDecodeError)) return Channel.failCause(Cause.die(error))
      for (const event of error.events) collected.push(event)
      const failure = error.reason === "ModelError"
        // The container reported a failure inside the stream (LMI's `finish_reason: "error"`).
        ? new SagemakerStreamError({ endpointName, errorCode: "ModelError", text: error.message })
        : unexpectedResponse(endpointName, `in the stream (${error.reason}): ${error.message}`, error.line)
      return emit(collected, Channel.fail(failure))
    }
    return emit(events, next)
  }
  const loop: Decoding = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Uint8Array>) =>
      step((collected) => {
        if (input.length === 1) return decoder.push(Chunk.unsafeGet(input, 0))
        for (let i = 0; i < input.length; i++) {
          for (const event of decoder.push(Chunk.unsafeGet(input, i))) collected.push(event)
        }
        return collected
      }, loop),
    onFailure: (cause) => Channel.failCause(cause),
    onDone: () => step(() => decoder.end(), Channel.void)
  })
  return Stream.pipeThroughChannel(parts, loop)
}
