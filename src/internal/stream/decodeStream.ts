/**
 * Payload parts → stream chunks: the container-format decoder run over the bytes of a response
 * stream, what it cannot read turned into the error table's failures; a container that does not
 * stream has its whole JSON answer read as one chunk.
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
import { fromPull, type Pull, pullOf } from "./pullStream.js"

/** Told of a stream's first chunk, its end (with the token counts it reported) and its failure. */
export interface StreamObserver {
  readonly first: () => void
  readonly end: (inputTokens: number | undefined, outputTokens: number | undefined) => void
  readonly failed: (errorType: string) => void
}

type DecodeFailure = SagemakerResponseError | SagemakerStreamError

/**
 * What one read (or the end) decoded: its events, then the failure that ends the stream, if any;
 * or a defect (anything the decoder threw besides its own failures).
 */
interface Decoded {
  readonly events: Array<StreamChunk>
  readonly failure: DecodeFailure | undefined
  readonly defect?: { readonly cause: unknown } | undefined
}

/**
 * The decoding of one stream, whatever reads it: a read's events, or the events decoded before a
 * line it cannot read and that line's failure (nothing is dropped silently), told to the
 * observer.
 */
const decoding = (endpointName: string, decoder: StreamDecoder.StreamDecoder, observer: StreamObserver | undefined) => {
  let first = true
  let inputTokens: number | undefined
  let outputTokens: number | undefined
  const observe = (events: Array<StreamChunk>) => {
    if (observer === undefined || events.length === 0) return
    if (first) {
      first = false
      observer.first()
    }
    for (const event of events) {
      if (event.inputTokens !== undefined) inputTokens = event.inputTokens
      if (event.outputTokens !== undefined) outputTokens = event.outputTokens
    }
  }
  const failed = (errorType: string) => {
    if (observer !== undefined) observer.failed(errorType)
  }
  /** Runs `decode`, which returns its events or collects them in the array it is given. */
  const run = (decode: (collected: Array<StreamChunk>) => Array<StreamChunk>): Decoded => {
    const collected: Array<StreamChunk> = []
    try {
      const events = decode(collected)
      observe(events)
      return { events, failure: undefined }
    } catch (error) {
      if (!(error instanceof StreamDecoder.StreamDecodeError)) {
        return { events: [], failure: undefined, defect: { cause: error } }
      }
      for (const event of error.events) collected.push(event)
      const failure = error.reason === "ModelError"
        // The container reported a failure inside the stream (LMI's `finish_reason: "error"`).
        ? new SagemakerStreamError({ endpointName, errorCode: "ModelError", text: error.message })
        : unexpectedResponse(endpointName, `in the stream (${error.reason}): ${error.message}`, error.line)
      failed(failure._tag)
      observe(collected)
      return { events: collected, failure }
    }
  }
  return {
    push: (input: Chunk.Chunk<Uint8Array>): Decoded =>
      run((collected) => {
        if (input.length === 1) return decoder.push(Chunk.unsafeGet(input, 0))
        for (let i = 0; i < input.length; i++) {
          for (const event of decoder.push(Chunk.unsafeGet(input, i))) collected.push(event)
        }
        return collected
      }),
    end: (): Decoded => run(() => decoder.end()),
    /** After the last event of a stream that ended. */
    ended: () => {
      if (observer !== undefined) observer.end(inputTokens, outputTokens)
    },
    /** The parts failed with `error`, or died or were interrupted (`undefined`). */
    upstreamFailed: (error: { readonly _tag: string } | undefined) => failed(error?._tag ?? "_OTHER")
  }
}

/**
 * Payload parts → chunks. A line the decoder cannot read ends the stream with a
 * `SagemakerResponseError` (a `SagemakerStreamError` when the line is the container's own error
 * report) after the chunks decoded before it; nothing is dropped silently.
 *
 * Everything decoded from one read of the parts is one chunk: no Effect, and no stream, per part or
 * per event. Parts made from a pull (`pullStream.ts`, the http transport's) are decoded inside that
 * pull, one stage in all; any other stream of parts through one channel.
 */
export const decodeStream = <E extends { readonly _tag: string }>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>,
  decoder: StreamDecoder.StreamDecoder,
  observer?: StreamObserver | undefined
): Stream.Stream<StreamChunk, E | DecodeFailure> => {
  const session = decoding(endpointName, decoder, observer)
  const pull = pullOf(parts)
  return pull === undefined ? decodeThroughChannel(parts, session) : fromPull(decodePull(pull, session))
}

type Session = ReturnType<typeof decoding>

const decodePull = <E extends { readonly _tag: string }>(
  parts: Pull<Uint8Array, E>,
  session: Session
): Pull<StreamChunk, E | DecodeFailure> => {
  type Decoding = Pull<StreamChunk, E | DecodeFailure>
  // What the next pull gives once the parts ended or a line failed, after the events before it.
  let after: Decoding | undefined
  const end: Decoding = Effect.suspend(() => {
    after = Effect.fail(Option.none())
    session.ended()
    return after
  })
  const deliver = (decoded: Decoded, then: Decoding): Decoding => {
    if (decoded.defect !== undefined) return Effect.die(decoded.defect.cause)
    const next = decoded.failure === undefined ? then : Effect.fail(Option.some(decoded.failure))
    if (decoded.events.length === 0) return next
    if (next !== pull) after = next
    return Effect.succeed(Chunk.unsafeFromArray(decoded.events))
  }
  const onFailure = (cause: Cause.Cause<Option.Option<E>>): Decoding => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && Option.isNone(failure.value)) return deliver(session.end(), end)
    session.upstreamFailed(Option.isSome(failure) ? Option.getOrUndefined(failure.value) : undefined)
    return Effect.failCause(cause)
  }
  const onSuccess = (input: Chunk.Chunk<Uint8Array>): Decoding => deliver(session.push(input), pull)
  const pull: Decoding = Effect.suspend(() => after ?? Effect.matchCauseEffect(parts, { onFailure, onSuccess }))
  return pull
}

const decodeThroughChannel = <E extends { readonly _tag: string }>(
  parts: Stream.Stream<Uint8Array, E>,
  session: Session
): Stream.Stream<StreamChunk, E | DecodeFailure> => {
  type Decoding = Channel.Channel<
    Chunk.Chunk<StreamChunk>,
    Chunk.Chunk<Uint8Array>,
    E | DecodeFailure,
    E,
    unknown,
    unknown
  >
  const deliver = (decoded: Decoded, then: Decoding): Decoding => {
    if (decoded.defect !== undefined) return Channel.failCause(Cause.die(decoded.defect.cause))
    const next = decoded.failure === undefined ? then : Channel.fail(decoded.failure)
    return decoded.events.length === 0
      ? next
      : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(decoded.events)), next)
  }
  const loop: Decoding = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Uint8Array>) => deliver(session.push(input), loop),
    onFailure: (cause) => {
      session.upstreamFailed(Option.getOrUndefined(Cause.failureOption(cause)))
      return Channel.failCause(cause)
    },
    onDone: () => deliver(session.end(), Channel.sync(session.ended))
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
