/**
 * An `AsyncIterable` as a `Stream` whose end never waits on the iterator (closing only stops
 * pulling; the owner aborts the request), one Effect step per batch of events, and the first event
 * handed over alone so the first token never waits on the rest of the batch.
 *
 * A batch is everything that arrived before the event loop's next check phase, at most 1,024
 * results; a failure of the iterator is delivered after the results that arrived before it.
 *
 * @since 0.1.0
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

type Pull<B, E> = Effect.Effect<Chunk.Chunk<B>, Option.Option<E>>

/** The most results handed over at once. */
const MAX_BATCH = 1024

/**
 * The results of `iterable`, mapped by `select` (a result it maps to `undefined` is skipped), as a
 * stream failing with `onError` of what the iterator threw.
 */
export const fromAbortableIterable = <A, E, B = A>(
  iterable: AsyncIterable<A>,
  onError: (error: unknown) => E,
  select?: (a: A) => B | undefined
): Stream.Stream<B, E> =>
  Stream.suspend(() => {
    const iterator = iterable[Symbol.asyncIterator]()
    let buffer: Array<B> = []
    let inFlight = false
    let ended = false
    let failed = false
    let failure: unknown = undefined
    /** The pull waiting for results, if any. */
    let waiter: ((pull: Pull<B, E>) => void) | undefined = undefined
    let scheduled = false
    /** Nothing was handed over yet: the first result goes alone, at once. */
    let first = true

    const take = (): Pull<B, E> | undefined => {
      if (buffer.length > 0) {
        first = false
        const chunk = Chunk.unsafeFromArray(buffer)
        buffer = []
        return Effect.succeed(chunk)
      }
      if (failed) return Effect.fail(Option.some(onError(failure)))
      if (ended) return Effect.fail(Option.none())
      return undefined
    }
    const deliver = (): void => {
      const resume = waiter
      if (resume === undefined) return
      const pull = take()
      if (pull === undefined) return
      waiter = undefined
      resume(pull)
    }
    const deliverLater = (): void => {
      scheduled = false
      deliver()
    }
    const onResult = (result: IteratorResult<A>): void => {
      inFlight = false
      if (result.done === true) {
        ended = true
        return deliver()
      }
      const value = select === undefined ? result.value as unknown as B : select(result.value)
      if (value !== undefined) buffer.push(value)
      if (waiter === undefined) return
      // The first result goes at once (it is the time to first token), and so does a full batch
      // (an iterator that never waits must not starve the consumer).
      if (buffer.length >= MAX_BATCH || (first && buffer.length > 0)) return deliver()
      // Keep reading while a pull waits: the results at hand join its batch.
      request()
      if (!scheduled && buffer.length > 0) {
        scheduled = true
        setImmediate(deliverLater)
      }
    }
    const onFailure = (error: unknown): void => {
      inFlight = false
      failed = true
      failure = error
      deliver()
    }
    const request = (): void => {
      if (inFlight || ended || failed) return
      inFlight = true
      let next: Promise<IteratorResult<A>>
      try {
        next = iterator.next()
      } catch (error) {
        onFailure(error)
        return
      }
      next.then(onResult, onFailure)
    }

    const pull: Pull<B, E> = Effect.suspend(() => {
      const ready = take()
      if (ready !== undefined) return ready
      return Effect.async<Chunk.Chunk<B>, Option.Option<E>>((resume) => {
        waiter = resume
        request()
        // Interrupted (a timeout, an early close): stop waiting; the `next()` in flight is left to
        // the owner's abort.
        return Effect.sync(() => {
          if (waiter === resume) waiter = undefined
        })
      })
    })
    return Stream.repeatEffectChunkOption(pull)
  })
