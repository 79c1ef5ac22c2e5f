/**
 * Payload parts → stream chunks: one channel runs the container-format decoder over the bytes of
 * a response stream and turns what it cannot read into the error table's failures; a container
 * that does not stream has its whole JSON answer read as one chunk.
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { decodeResponse, type GenerationResult } from "../../Payload.js"
import { SagemakerStreamError } from "../../SagemakerError.js"
import type { SagemakerInferenceError, SagemakerResponseError } from "../../SagemakerError.js"
import type { StreamChunk } from "../../StreamChunk.js"
import { responseTooLarge, unexpectedResponse } from "../client/errorTable.js"
import * as Fields from "../container/fields.js"
import * as StreamDecoder from "../container/streamDecoder.js"
import { MAX_BODY_BYTES } from "../limits.js"

/** Told of a stream's first chunk, its end (with the token counts it reported) and its failure. */
export interface StreamObserver {
  readonly first: () => void
  readonly end: (inputTokens: number | undefined, outputTokens: number | undefined) => void
  readonly failed: (errorType: string) => void
}

/**
 * Payload parts → chunks. A line the decoder cannot read ends the stream with a
 * `SagemakerResponseError` (a `SagemakerStreamError` when the line is the container's own error
 * report) after the chunks decoded before it; nothing is dropped silently.
 *
 * One channel decodes a chunk of parts at a time and writes everything it decoded as one chunk:
 * no Effect, and no stream, per part or per event.
 */
export const decodeStream = <E extends { readonly _tag: string }>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>,
  decoder: StreamDecoder.StreamDecoder,
  observer?: StreamObserver | undefined
): Stream.Stream<StreamChunk, E | SagemakerResponseError | SagemakerStreamError> => {
  type Decoding = Channel.Channel<
    Chunk.Chunk<StreamChunk>,
    Chunk.Chunk<Uint8Array>,
    E | SagemakerResponseError | SagemakerStreamError,
    E,
    unknown,
    unknown
  >
  let first = true
  let inputTokens: number | undefined
  let outputTokens: number | undefined
  const observe = (events: Array<StreamChunk>) => {
    if (first) {
      first = false
      observer!.first()
    }
    for (const event of events) {
      if (event.inputTokens !== undefined) inputTokens = event.inputTokens
      if (event.outputTokens !== undefined) outputTokens = event.outputTokens
    }
  }
  const emit = (events: Array<StreamChunk>, then: Decoding): Decoding => {
    if (events.length === 0) return then
    if (observer !== undefined) observe(events)
    return Channel.zipRight(Channel.write(Chunk.unsafeFromArray(events)), then)
  }
  const failed = (errorType: string) => {
    if (observer !== undefined) observer.failed(errorType)
  }
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
      failed(failure._tag)
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
    onFailure: (cause) => {
      failed(Option.match(Cause.failureOption(cause), { onNone: () => "_OTHER", onSome: (error) => error._tag }))
      return Channel.failCause(cause)
    },
    onDone: () =>
      step(
        () => decoder.end(),
        observer === undefined ? Channel.void : Channel.sync(() => observer.end(inputTokens, outputTokens))
      )
  })
  return Stream.pipeThroughChannel(parts, loop)
}

/**
 * Whether the stream route carries a container's whole JSON answer rather than a token stream: a
 * container that does not stream (JumpStart's first Llama 2 containers, any `application/json`
 * handler) gets its body relayed as payload parts, with its own content type.
 */
export const isWholeBody = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/json\b/i.test(contentType)

/**
 * A whole JSON answer relayed on the stream route, gathered (up to SageMaker's body limit) and
 * decoded as InvokeEndpoint's body is.
 */
export const gatherWholeBody = <E>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>
): Effect.Effect<GenerationResult, E | SagemakerResponseError | SagemakerInferenceError> =>
  Effect.flatMap(
    Stream.runFold(parts, { chunks: [] as Array<Uint8Array>, bytes: 0 }, (held, part) => {
      held.bytes += part.length
      if (held.bytes <= MAX_BODY_BYTES) held.chunks.push(part)
      return held
    }),
    ({ bytes, chunks }) => {
      if (bytes > MAX_BODY_BYTES) return Effect.fail(responseTooLarge(endpointName, bytes, ""))
      const body = new Uint8Array(bytes)
      let offset = 0
      for (const chunk of chunks) {
        body.set(chunk, offset)
        offset += chunk.length
      }
      return decodeResponse(endpointName, body)
    }
  )

/**
 * A whole JSON answer relayed on the stream route, as one chunk: its first reply is the chunk's
 * text, with the finish reason and token counts that its meta carries.
 */
export const decodeWholeBody = <E>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>
): Stream.Stream<StreamChunk, E | SagemakerResponseError | SagemakerInferenceError> =>
  Stream.fromEffect(Effect.map(gatherWholeBody(endpointName, parts), (result): StreamChunk => {
    const text = result.replies[0] ?? ""
    const meta = result.meta[0] ?? {}
    const finishReason = Fields.finishReasonOf(meta)
    const usage = Fields.usageOf(meta)
    return {
      text,
      generatedText: text,
      ...(finishReason === undefined ? {} : { finishReason }),
      ...(usage?.inputTokens === undefined ? {} : { inputTokens: usage.inputTokens }),
      ...(usage?.outputTokens === undefined ? {} : { outputTokens: usage.outputTokens })
    }
  }))
