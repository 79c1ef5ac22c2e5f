/**
 * A container that answers the stream route with one JSON body (it does not stream, or ignored
 * `"stream": true`): the parts of its whole answer replayed as stream parts, so that `streamText`
 * still ends with its tool calls and finish.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Response from "@effect/ai/Response"

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
