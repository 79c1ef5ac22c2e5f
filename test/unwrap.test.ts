/**
 * `unwrapScoped` (the stream's scope, cheaper than `Stream.unwrapScoped`): the scope `open` ran in
 * closes once, with the stream's exit, however the stream ends. `unwrap` (cheaper than
 * `Stream.unwrap`): the stream is made when it runs, and fails as what made it or as itself.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { unwrap, unwrapScoped } from "../src/internal/stream/unwrap.js"

/** A stream whose opening registers a finalizer that records the exit its scope closed with. */
const recorded = <A, E>(inner: Stream.Stream<A, E>, openFails?: string) => {
  const exits: Array<Exit.Exit<unknown, unknown>> = []
  const stream = unwrapScoped(
    Effect.gen(function*() {
      yield* Effect.addFinalizer((exit) => Effect.sync(() => exits.push(exit)))
      if (openFails !== undefined) return yield* Effect.fail(openFails)
      return inner
    })
  )
  return { stream, exits }
}

describe("unwrapScoped", () => {
  it.effect("the stream's elements, then its scope closed with success", () =>
    Effect.gen(function*() {
      const { exits, stream } = recorded(Stream.make(1, 2, 3))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(stream)), [1, 2, 3])
      assert.strictEqual(exits.length, 1)
      assert.isTrue(Exit.isSuccess(exits[0]!))
    }))

  it.effect("a failing open fails the stream and closes its scope with that failure", () =>
    Effect.gen(function*() {
      const { exits, stream } = recorded(Stream.make(1), "refused")
      assert.strictEqual(yield* Effect.flip(Stream.runDrain(stream)), "refused")
      assert.strictEqual(exits.length, 1)
      assert.deepStrictEqual(exits[0], Exit.fail("refused"))
    }))

  it.effect("a failure in the stream comes after its elements and closes the scope with it", () =>
    Effect.gen(function*() {
      const { exits, stream } = recorded(Stream.concat(Stream.make(1, 2), Stream.fail("broken")))
      const seen: Array<number> = []
      const error = yield* Effect.flip(Stream.runForEach(stream, (n) => Effect.sync(() => seen.push(n))))
      assert.strictEqual(error, "broken")
      assert.deepStrictEqual(seen, [1, 2])
      assert.deepStrictEqual(exits, [Exit.fail("broken")])
    }))

  it.effect("a consumer that stops early closes the scope before its own run ends", () =>
    Effect.gen(function*() {
      const { exits, stream } = recorded(Stream.iterate(0, (n) => n + 1))
      const taken = yield* Stream.runCollect(Stream.take(stream, 2)).pipe(
        Effect.tap(() => Effect.sync(() => assert.strictEqual(exits.length, 1)))
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(taken), [0, 1])
    }))

  it.live("interrupting the consumer while the stream waits closes the scope as interrupted", () =>
    Effect.gen(function*() {
      const { exits, stream } = recorded(Stream.concat(Stream.make(1), Stream.never))
      const fiber = yield* Effect.fork(Stream.runDrain(stream))
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(exits.length, 1)
      assert.isTrue(Exit.isInterrupted(exits[0]!))
    }))
})

describe("unwrap", () => {
  it.effect("nothing is made until the stream runs, and it is made again on every run", () =>
    Effect.gen(function*() {
      let made = 0
      const stream = unwrap(Effect.sync(() => {
        made++
        return Stream.make(made, made)
      }))
      assert.strictEqual(made, 0)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(stream)), [1, 1])
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(stream)), [2, 2])
    }))

  it.effect("a failure to make the stream fails it, and so does the stream's own failure, after its elements", () =>
    Effect.gen(function*() {
      const unmade: Effect.Effect<Stream.Stream<number>, string> = Effect.fail("no stream")
      assert.strictEqual(yield* Effect.flip(Stream.runDrain(unwrap(unmade))), "no stream")
      const seen: Array<number> = []
      const error = yield* Effect.flip(Stream.runForEach(
        unwrap(Effect.succeed(Stream.concat(Stream.make(1), Stream.fail("broken")))),
        (n) => Effect.sync(() => seen.push(n))
      ))
      assert.strictEqual(error, "broken")
      assert.deepStrictEqual(seen, [1])
    }))
})
