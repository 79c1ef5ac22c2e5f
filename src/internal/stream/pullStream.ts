/**
 * A stream made from a pull, that remembers its pull: a stage reading such a stream can pull from
 * its source directly instead of running it as a stage of its own. Every stage of an Effect
 * `Stream` is a channel run per stream, which is most of a short stream's cost (bench/README.md,
 * "Why the internals look as they do"). Any other stream is read as a stream.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** A pull of a stream's chunks: `Option.none()` when it ended. */
export type Pull<A, E> = Effect.Effect<Chunk.Chunk<A>, Option.Option<E>>

const pulls = new WeakMap<object, Pull<unknown, unknown>>()

/** `Stream.repeatEffectChunkOption(pull)`, which {@link pullOf} gives the pull back for. */
export const fromPull = <A, E>(pull: Pull<A, E>): Stream.Stream<A, E> => {
  const stream = Stream.repeatEffectChunkOption(pull)
  pulls.set(stream, pull)
  return stream
}

/** The pull a stream was made from by {@link fromPull}; `undefined` for any other stream. */
export const pullOf = <A, E>(stream: Stream.Stream<A, E>): Pull<A, E> | undefined =>
  pulls.get(stream) as Pull<A, E> | undefined
