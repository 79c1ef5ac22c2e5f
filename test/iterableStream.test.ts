/**
 * The SDK transport's event source: an `AsyncIterable` as a `Stream` that batches the results at
 * hand, never calls `return()` (which would hang behind a stalled `next()`), and delivers a
 * failure after the results before it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { fromAbortableIterable } from "../src/internal/client/sdk/iterableStream.js"

/** An iterator over `values` whose `next()` resolves at once, then `end`; counts its calls. */
const fastIterable = <A>(values: (i: number) => A, end: number | "never", failAt?: number) => {
  const seen = { next: 0, returned: 0 }
  const iterable: AsyncIterable<A> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const i = seen.next++
        if (failAt !== undefined && i === failAt) return Promise.reject(new Error(`failed at ${i}`))
        if (end !== "never" && i >= end) return Promise.resolve({ done: true, value: undefined })
        return Promise.resolve({ done: false, value: values(i) })
      },
      return: () => {
        seen.returned++
        return Promise.resolve({ done: true, value: undefined })
      }
    })
  }
  return { iterable, seen }
}

/** An iterator whose first `next()` answers and whose second never does. */
const stallingIterable = () => {
  let calls = 0
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => calls++ === 0 ? Promise.resolve({ done: false, value: 1 }) : new Promise(() => {}),
      return: () => new Promise(() => {})
    })
  }
  return iterable
}

describe("fromAbortableIterable", () => {
  it.live("delivers every result in order, then ends", () =>
    Effect.gen(function*() {
      const { iterable } = fastIterable((i) => i, 5000)
      const all = Chunk.toArray(yield* Stream.runCollect(fromAbortableIterable(iterable, String)))
      assert.deepStrictEqual(all, Array.from({ length: 5000 }, (_, i) => i))
    }))

  it.live("batches the results at hand, at most 1,024 a chunk", () =>
    Effect.gen(function*() {
      const { iterable } = fastIterable((i) => i, 3000)
      const sizes = Chunk.toArray(
        yield* fromAbortableIterable(iterable, String).pipe(
          Stream.mapChunks((c) => Chunk.of(c.length)),
          Stream.runCollect
        )
      )
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 3000)
      assert.isBelow(sizes.length, 3000 / 10, `expected batches, got ${sizes.length} chunks`)
      assert.isAtMost(Math.max(...sizes), 1024)
    }))

  it.live("the first result is handed over at once and alone; the iterator is not read ahead of it", () =>
    Effect.gen(function*() {
      const { iterable, seen } = fastIterable((i) => i, 100)
      const askedAtFirst: Array<number> = []
      const sizes = Chunk.toArray(
        yield* fromAbortableIterable(iterable, String).pipe(
          Stream.mapChunks((c) => {
            if (askedAtFirst.length === 0) askedAtFirst.push(seen.next)
            return Chunk.of(c.length)
          }),
          Stream.runCollect
        )
      )
      assert.strictEqual(sizes[0], 1)
      assert.deepStrictEqual(askedAtFirst, [1])
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 100)
      // The others still come batched.
      assert.isBelow(sizes.length, 10, `chunk sizes ${sizes.join(",")}`)
    }))

  it.live("an endless iterator: take ends the stream without reading far ahead or calling return()", () =>
    Effect.gen(function*() {
      const { iterable, seen } = fastIterable((i) => i, "never")
      const taken = Chunk.toArray(
        yield* fromAbortableIterable(iterable, String).pipe(Stream.take(10), Stream.runCollect)
      )
      assert.deepStrictEqual(taken, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      // At most one batch (and the one next() in flight) was read.
      assert.isAtMost(seen.next, 1024 + 1)
      assert.strictEqual(seen.returned, 0)
    }))

  it.live("a failure arrives after the results before it", () =>
    Effect.gen(function*() {
      const { iterable } = fastIterable((i) => i, "never", 7)
      const results = Chunk.toArray(
        yield* fromAbortableIterable(iterable, (e) => (e as Error).message).pipe(Stream.either, Stream.runCollect)
      )
      assert.deepStrictEqual(results, [
        ...Array.from({ length: 7 }, (_, i) => Either.right(i)),
        Either.left("failed at 7")
      ])
    }))

  it.live("select maps results and skips those it maps to undefined", () =>
    Effect.gen(function*() {
      const { iterable } = fastIterable((i) => i, 10)
      const odd = Chunk.toArray(
        yield* Stream.runCollect(fromAbortableIterable(iterable, String, (i) => i % 2 === 1 ? `#${i}` : undefined))
      )
      assert.deepStrictEqual(odd, ["#1", "#3", "#5", "#7", "#9"])
    }))

  it.live("closing while next() is stalled does not wait for it", () =>
    Effect.gen(function*() {
      const first = yield* fromAbortableIterable(stallingIterable(), String).pipe(
        Stream.timeoutFail(() => "stalled", "50 millis"),
        Stream.either,
        Stream.runCollect,
        Effect.timeout("2 seconds")
      )
      assert.deepStrictEqual(Chunk.toArray(first), [Either.right(1), Either.left("stalled")])
    }))
})
