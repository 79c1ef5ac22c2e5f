/**
 * A container that answers the stream route with one JSON body (it does not stream, or ignored
 * `"stream": true`): the body is gathered up to SageMaker's limit, read as a whole answer, and its
 * parts replayed as stream parts, so that `streamText` still ends with its tool calls and finish.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { decodeResponse, type GenerationResult } from "../../Payload.js"
import type { SagemakerInferenceError, SagemakerResponseError } from "../../SagemakerError.js"
import { responseTooLarge } from "../client/errorTable.js"
import { MAX_BODY_BYTES } from "../limits.js"

/** The parts of a stream route's whole JSON body, decoded as InvokeEndpoint's would be. */
export const gather = <E>(
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

/** A whole answer's parts as the stream parts a streamed answer would have had. */
export const toStreamParts = (parts: ReadonlyArray<Response.PartEncoded>): Array<Response.StreamPartEncoded> => {
  const out: Array<Response.StreamPartEncoded> = []
  let counter = 0
  for (const part of parts) {
    switch (part.type) {
      case "text": {
        const id = String(counter++)
        out.push({ type: "text-start", id }, { type: "text-delta", id, delta: part.text }, { type: "text-end", id })
        break
      }
      case "reasoning": {
        const id = String(counter++)
        out.push(
          { type: "reasoning-start", id },
          { type: "reasoning-delta", id, delta: part.text },
          { type: "reasoning-end", id }
        )
        break
      }
      case "tool-call":
        out.push(
          { type: "tool-params-start", id: part.id, name: part.name },
          { type: "tool-params-delta", id: part.id, delta: JSON.stringify(part.params) },
          { type: "tool-params-end", id: part.id },
          part
        )
        break
      case "response-metadata":
      case "finish":
        out.push(part)
        break
      default:
        // This provider's whole answers hold no other part.
        break
    }
  }
  return out
}
