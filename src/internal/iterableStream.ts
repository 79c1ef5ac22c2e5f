/**
 * An `AsyncIterable` as a `Stream` whose end never waits on the iterator. `Stream.fromAsyncIterable`
 * awaits `iterator.return()` when the stream closes; on an async generator that is waiting for
 * bytes (a stalled response stream), `return()` queues behind the pending `next()` and never
 * settles, so a timeout or an early close would hang. Here closing the stream only stops pulling:
 * the owner aborts the HTTP request, which ends the pending `next()` on its own.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

export const fromAbortableIterable = <A, E>(
  iterable: AsyncIterable<A>,
  onError: (error: unknown) => E
): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    const iterator = iterable[Symbol.asyncIterator]()
    return Stream.repeatEffectOption(
      Effect.tryPromise({ try: () => iterator.next(), catch: (error) => Option.some(onError(error)) }).pipe(
        Effect.flatMap((result) => result.done === true ? Effect.fail(Option.none()) : Effect.succeed(result.value))
      )
    )
  })
