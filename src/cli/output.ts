/**
 * Standard output that knows whether its last line is finished, so that an error, a signal or
 * the end of a stream never leaves the cursor in the middle of generated text.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"

export interface Output {
  readonly write: (text: string) => Effect.Effect<void>
  /** Writes a newline when the last write did not end with one. */
  readonly endLine: Effect.Effect<void>
}

export const make = (stream: { readonly write: (text: string) => unknown }): Output => {
  let lineOpen = false
  return {
    write: (text) =>
      Effect.sync(() => {
        if (text.length === 0) return
        stream.write(text)
        lineOpen = !text.endsWith("\n")
      }),
    endLine: Effect.sync(() => {
      if (!lineOpen) return
      stream.write("\n")
      lineOpen = false
    })
  }
}
