/**
 * `gapTimeout` (the stream `timeout`, cheaper than `Stream.timeoutFail`) under `TestClock`: it
 * bounds each wait for the next chunk, not the stream, not the consumer's own time; a timeout
 * comes after the chunks before it and closes the upstream.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { gapTimeout, gapTimeoutScoped } from "../src/internal/stream/gapTimeout.js"
import { fromPull, pullOf } from "../src/internal/stream/pullStream.js"

/** `n` elements, each `gapMillis` after the one before. */
const spaced = (n: number, gapMillis: number) =>
  Stream.repeatEffect(Effect.delay(Effect.succeed("x"), gapMillis)).pipe(Stream.take(n))

/** A pull of `n` chunks of one element, each `gapMillis` after the one before, then nothing ever. */
const spacedPull = (n: number, gapMillis: number) => {
  let left = n
  return Effect.suspend(() => left-- > 0 ? Effect.delay(Effect.succeed(Chunk.of("x")), gapMillis) : Effect.never)
}

describe("gapTimeout", () => {
  it.effect("gaps each shorter than the timeout pass, however long the stream takes", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect(gapTimeout(spaced(5, 600), "1 second", () => "timeout")))
      yield* TestClock.adjust("5 seconds")
      const elements = yield* Fiber.join(fiber)
      assert.strictEqual(elements.length, 5)
    }))

  it.effect("a longer gap fails with onTimeout after the chunks before it, and closes the upstream", () =>
    Effect.gen(function*() {
      let upstreamExit: Exit.Exit<unknown, unknown> | undefined
      const upstream = Stream.concat(spaced(2, 100), Stream.fromEffect(Effect.never)).pipe(
        Stream.ensuringWith((exit) => Effect.sync(() => upstreamExit = exit))
      )
      const fiber = yield* Effect.fork(
        Stream.runCollect(Stream.either(gapTimeout(upstream, "1 second", () => "timeout")))
      )
      yield* TestClock.adjust("999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 second")
      const results = Chunk.toArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(results, [Either.right("x"), Either.right("x"), Either.left("timeout")])
      // Closed, not left waiting: on the transports this aborts the request.
      assert.isTrue(upstreamExit !== undefined && Exit.isFailure(upstreamExit), String(upstreamExit))
    }))

  it.effect("the consumer's own time between pulls does not count", () =>
    Effect.gen(function*() {
      const slowConsumer = Stream.runForEach(
        gapTimeout(Stream.make(1, 2, 3).pipe(Stream.rechunk(1)), "1 second", () => "timeout"),
        () => Effect.sleep("5 seconds")
      )
      const fiber = yield* Effect.fork(slowConsumer)
      yield* TestClock.adjust("20 seconds")
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.void)
    }))

  it.effect("the upstream's end and failure pass through", () =>
    Effect.gen(function*() {
      const ended = yield* Stream.runCollect(gapTimeout(Stream.make(1, 2, 3), "1 second", () => "timeout"))
      assert.deepStrictEqual(Chunk.toArray(ended), [1, 2, 3])
      const failed = yield* Effect.flip(
        Stream.runDrain(gapTimeout(Stream.concat(Stream.make(1), Stream.fail("broken")), "1 second", () => "timeout"))
      )
      assert.strictEqual(failed, "broken")
    }))

  it.effect("a stream made from a pull is pulled directly, with the same bound", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Stream.runCollect(Stream.either(gapTimeout(fromPull(spacedPull(2, 600)), "1 second", () => "timeout")))
      )
      yield* TestClock.adjust("1200 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 second")
      const results = Chunk.toArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(results, [Either.right("x"), Either.right("x"), Either.left("timeout")])
    }))

  it.scoped("in the caller's scope, the bounded stream is made from a pull, for the stage after it to pull", () =>
    Effect.gen(function*() {
      const timed = yield* gapTimeoutScoped(Stream.make(1, 2, 3), "1 second", () => "timeout")
      assert.isDefined(pullOf(timed))
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(timed)), [1, 2, 3])
    }))

  it.effect("interrupting the consumer interrupts the upstream and leaves no fiber behind", () =>
    Effect.gen(function*() {
      let upstreamExit: Exit.Exit<unknown, unknown> | undefined
      const upstream = Stream.fromEffect(Effect.never).pipe(
        Stream.ensuringWith((exit) => Effect.sync(() => upstreamExit = exit))
      )
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        Stream.runDrain(gapTimeout(upstream, "1 second", () => "timeout")).pipe(Effect.supervised(supervisor))
      )
      yield* TestClock.adjust("500 millis")
      const started = yield* supervisor.value
      assert.isAtLeast(started.length, 2) // the producer and the watchdog
      yield* Fiber.interrupt(fiber)
      assert.isTrue(upstreamExit !== undefined && Exit.isInterrupted(upstreamExit))
      for (const child of started) assert.isNotNull(child.unsafePoll())
    }))
})
