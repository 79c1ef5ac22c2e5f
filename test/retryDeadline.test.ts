/**
 * The `deadline` of the retry policy, over a fake transport under TestClock: it bounds every
 * attempt and delay of one call, aborts the attempt in flight with `SagemakerTimeoutError`, does
 * not sleep into a certain timeout, and is validated with the other retry numbers.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { SagemakerNotReadyError, SagemakerThrottlingError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient, utf8 } from "./helpers/generator.js"

const OK = utf8(`[{"generated_text":"ok"}]`)
const notReady = new SagemakerNotReadyError({ endpointName: "m", statusCode: 429, text: "loading" })

const setup = (
  options: Partial<SagemakerGenerator.Options>,
  respond: Parameters<typeof fakeClient>[0],
  respondStream?: Parameters<typeof fakeClient>[1]
) => {
  const fake = fakeClient(respond, respondStream)
  const layer = SagemakerGenerator.layerWithClient({ model: "m", ...options })
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(Effect.provide(layer), Effect.provide(fake.layer))
  return { calls: fake.calls, provide, layer: fake.layer, generatorLayer: layer }
}

describe("retry deadline (TestClock)", () => {
  it.effect("runs out during an attempt: the attempt is interrupted, SagemakerTimeoutError names the deadline", () =>
    Effect.gen(function*() {
      let interrupted = 0
      const { calls, provide } = setup(
        { retry: { deadline: "1 second" } },
        () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted++))
      )
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SagemakerTimeoutError")
      assert.strictEqual(error._tag === "SagemakerTimeoutError" && error.timeoutMillis, 1000)
      assert.strictEqual(error.message, "SageMaker request to 'm' timed out after 1s")
      assert.strictEqual(calls.length, 1)
      assert.strictEqual(interrupted, 1)
    }))

  it.effect("bounds attempts and delays together: per-attempt timeouts are retried until the deadline", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup(
        { timeout: "300 millis", retry: { attempts: 10, baseDelay: "1 millis", deadline: "1 second" } },
        () => Effect.never
      )
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      // Attempts at ~0, ~301, ~603 and ~906 ms; the fourth is cut by the deadline.
      assert.strictEqual(calls.length, 4)
      assert.strictEqual(error._tag === "SagemakerTimeoutError" && error.timeoutMillis, 1000)
    }))

  it.effect("a retry that could not start before the deadline is not waited for: the last error, at once", () =>
    Effect.gen(function*() {
      // Delays: 600 ms (480–720 with jitter), then 1200 ms (960–1440): the third attempt would
      // start after the deadline.
      const { calls, provide } = setup(
        { retry: { attempts: 10, baseDelay: "600 millis", deadline: "1 second" } },
        () => Effect.fail(notReady)
      )
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("720 millis")
      assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)), "still waiting")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SagemakerNotReadyError")
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("a Retry-After hint past the deadline: the throttling error at once, not a sleep into a timeout", () =>
    Effect.gen(function*() {
      const throttled = new SagemakerThrottlingError({ endpointName: "m", text: "slow down", retryAfterMillis: 5_000 })
      const { calls, provide } = setup({ retry: { deadline: "2 seconds" } }, () => Effect.fail(throttled))
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Option.isSome(yield* Fiber.poll(fiber)), "still waiting")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SagemakerThrottlingError")
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("a call that succeeds within the deadline is not affected", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup(
        { retry: { baseDelay: "100 millis", deadline: "1 second" } },
        (_, call) => call < 3 ? Effect.fail(notReady) : Effect.succeed(OK)
      )
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(result.replies, ["ok"])
      assert.strictEqual(calls.length, 3)
    }))

  it.effect("each call has its own deadline", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup(
        { retry: { baseDelay: "100 millis", deadline: "1 second" } },
        (_, call) => call % 2 === 1 ? Effect.fail(notReady) : Effect.succeed(OK)
      )
      const first = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("900 millis")
      yield* Fiber.join(first)
      const second = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("900 millis")
      const result = yield* Fiber.join(second)
      assert.deepStrictEqual(result.replies, ["ok"])
      assert.strictEqual(calls.length, 4)
    }))

  it.effect("stream: the deadline bounds opening the stream", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup(
        { retry: { deadline: "500 millis" } },
        () => Effect.die("run is not used here"),
        () => Effect.never
      )
      const fiber = yield* Effect.fork(Effect.flip(provide(Stream.runDrain(SagemakerGenerator.stream("p")))))
      yield* TestClock.adjust("500 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag === "SagemakerTimeoutError" && error.timeoutMillis, 500)
      assert.strictEqual(calls.length, 1)
    }))
})

describe("retry options are validated when the layer is built", () => {
  const cases: ReadonlyArray<readonly [SagemakerGenerator.RetryPolicy, string]> = [
    [{ deadline: 0 }, "deadline must be a positive duration, got 0"],
    [{ deadline: "0 millis" }, "deadline must be a positive duration, got \"0 millis\""],
    [{ deadline: "soon" as never }, "deadline must be a duration, got \"soon\""],
    [{ baseDelay: "forever" as never }, "baseDelay must be a duration, got \"forever\""],
    [{ baseDelay: Number.POSITIVE_INFINITY }, "baseDelay must be a finite duration, got Infinity"],
    [{ maxDelay: "a while" as never }, "maxDelay must be a duration, got \"a while\""],
    [{ attempts: 0 }, "attempts must be a whole number of at least 1, got 0"]
  ]
  for (const [retry, rule] of cases) {
    it.effect(`${JSON.stringify(retry)}: ${rule}`, () =>
      Effect.gen(function*() {
        const { generatorLayer, layer } = setup({ retry }, () => Effect.succeed(OK))
        const error = yield* Effect.flip(
          Effect.provide(SagemakerGenerator.run("p"), generatorLayer).pipe(Effect.provide(layer))
        )
        assert.strictEqual(error._tag, "SagemakerValidationError")
        assert.strictEqual(error._tag === "SagemakerValidationError" && error.field, "retry")
        assert.strictEqual(error.message, `Invalid retry: ${rule}`)
      }))
  }

  it.effect("an infinite maxDelay or deadline is accepted (no cap)", () =>
    Effect.gen(function*() {
      const { provide } = setup(
        { retry: { maxDelay: Number.POSITIVE_INFINITY, deadline: Number.POSITIVE_INFINITY } },
        () => Effect.succeed(OK)
      )
      const result = yield* provide(SagemakerGenerator.run("p"))
      assert.deepStrictEqual(result.replies, ["ok"])
    }))
})
