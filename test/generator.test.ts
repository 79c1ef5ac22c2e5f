/**
 * Unit tests of the generator over a fake transport seam: retries and timeouts under TestClock,
 * validation before any request, routing options, telemetry. The transport itself is tested with
 * the real SDK elsewhere.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import {
  SagemakerInferenceError,
  SagemakerNotReadyError,
  SagemakerThrottlingError,
  SagemakerValidationError
} from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient, utf8 } from "./helpers/generator.js"
import { makeRecordingTracer } from "./helpers/tracer.js"

const OK = utf8(`[{"generated_text":"ok"}]`)

const notReady = new SagemakerNotReadyError({ endpointName: "m", statusCode: 429, text: "loading" })

/** A generator over a fake client; returns the calls the fake saw. */
const setup = (
  options: Partial<SagemakerGenerator.Options>,
  respond: Parameters<typeof fakeClient>[0]
) => {
  const fake = fakeClient(respond)
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(SagemakerGenerator.layerWithClient({ model: "m", ...options })),
      Effect.provide(fake.layer)
    )
  return { calls: fake.calls, provide }
}

describe("retry policy (TestClock)", () => {
  it.effect("the default retries a retryable error: 3 attempts in all, with backoff", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({}, (_, call) => call < 3 ? Effect.fail(notReady) : Effect.succeed(OK))
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("1 millis")
      // The first retry waits about 200 ms (jitter 0.8–1.2×): not yet.
      assert.strictEqual(calls.length, 1)
      yield* TestClock.adjust("300 millis")
      assert.strictEqual(calls.length, 2)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(result.replies, ["ok"])
      assert.strictEqual(calls.length, 3)
    }))

  it.effect("the default gives up after 3 attempts with the last error", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({}, () => Effect.fail(notReady))
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SagemakerNotReadyError")
      assert.strictEqual(calls.length, 3)
    }))

  it.effect("a non-retryable error is not retried", () =>
    Effect.gen(function*() {
      const modelError = new SagemakerInferenceError({
        endpointName: "m",
        statusCode: 424,
        errorCode: "ModelError",
        text: "bad"
      })
      const { calls, provide } = setup({}, () => Effect.fail(modelError))
      const error = yield* Effect.flip(provide(SagemakerGenerator.run("p")))
      assert.strictEqual(error.message, modelError.message)
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("retry: false makes one attempt", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({ retry: false }, () => Effect.fail(notReady))
      yield* Effect.flip(provide(SagemakerGenerator.run("p")))
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("a Retry-After hint lengthens the delay", () =>
    Effect.gen(function*() {
      const throttled = new SagemakerThrottlingError({
        endpointName: "m",
        statusCode: 429,
        text: "slow down",
        retryAfterMillis: 5_000
      })
      const { calls, provide } = setup({}, (_, call) => call === 1 ? Effect.fail(throttled) : Effect.succeed(OK))
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(calls.length, 1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("maxDelay caps a Retry-After hint", () =>
    Effect.gen(function*() {
      const throttled = new SagemakerThrottlingError({ endpointName: "m", text: "x", retryAfterMillis: 3_600_000 })
      const { calls, provide } = setup(
        { retry: { maxDelay: "2 seconds" } },
        (_, call) => call === 1 ? Effect.fail(throttled) : Effect.succeed(OK)
      )
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("attempts and a custom Schedule are honoured; the Schedule only sees retryable errors", () =>
    Effect.gen(function*() {
      const five = setup({ retry: { attempts: 5, baseDelay: "10 millis" } }, () => Effect.fail(notReady))
      const fiber = yield* Effect.fork(Effect.flip(five.provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(five.calls.length, 5)

      const custom = setup(
        { retry: Schedule.spaced("1 second") },
        (_, call) => call < 4 ? Effect.fail(notReady) : Effect.succeed(OK)
      )
      const customFiber = yield* Effect.fork(custom.provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("2500 millis")
      assert.strictEqual(custom.calls.length, 3)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(customFiber)
      assert.strictEqual(custom.calls.length, 4)
    }))
})

describe("timeout (TestClock)", () => {
  it.effect("an attempt that outruns timeout fails with SagemakerTimeoutError, and is retried", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup(
        { timeout: "1 second", retry: { baseDelay: "10 millis" } },
        (_, call) => call === 1 ? Effect.never : Effect.succeed(OK)
      )
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.run("p")))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("100 millis")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(result.replies, ["ok"])
      assert.strictEqual(calls.length, 2)
    }))

  it.effect("with retries off, the timeout error surfaces with its duration", () =>
    Effect.gen(function*() {
      const { provide } = setup({ timeout: Duration.millis(1500), retry: false }, () => Effect.never)
      const fiber = yield* Effect.fork(Effect.flip(provide(SagemakerGenerator.run("p"))))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "SagemakerTimeoutError")
      if (error._tag !== "SagemakerTimeoutError") return
      assert.strictEqual(error.timeoutMillis, 1500)
      assert.isTrue(error.retryable)
      assert.strictEqual(error.message, "SageMaker request to 'm' timed out after 1s 500ms")
    }))
})

describe("validation before any request", () => {
  const invalid = (options: Partial<SagemakerGenerator.Options>, field: string, rule: RegExp) =>
    it.effect(`${field}: ${rule.source}`, () =>
      Effect.gen(function*() {
        const { calls, provide } = setup(options, () => Effect.succeed(OK))
        const error = yield* Effect.flip(provide(SagemakerGenerator.run("p")))
        assert.instanceOf(error, SagemakerValidationError)
        if (error._tag !== "SagemakerValidationError") return
        assert.strictEqual(error.field, field)
        assert.match(error.rule, rule)
        assert.strictEqual(calls.length, 0)
      }))

  invalid({ model: "bad_name" }, "model", /must match/)
  invalid({ model: "-leading" }, "model", /must match/)
  invalid({ model: "a".repeat(64) }, "model", /at most 63 characters, got 64/)
  invalid({ model: "" }, "model", /must not be empty/)
  invalid({ targetVariant: "v_1" }, "targetVariant", /must match/)
  invalid({ inferenceComponentName: "ic-" }, "inferenceComponentName", /must match/)
  invalid({ sessionId: "x".repeat(257) }, "sessionId", /at most 256/)
  invalid({ inferenceId: " leading-space" }, "inferenceId", /printable ASCII/)
  invalid({ awsCustomAttributes: { a: "b;c" } }, "awsCustomAttributes.a", /must not contain ';' or '='/)
  invalid({ awsCustomAttributes: { "a=b": "c" } }, "awsCustomAttributes.a=b", /key must not contain/)
  invalid({ awsCustomAttributes: { a: "héllo" } }, "awsCustomAttributes.a", /printable US-ASCII/)
  invalid(
    { awsCustomAttributes: { a: { nested: 1 } as unknown as string } },
    "awsCustomAttributes.a",
    /got an object/
  )
  invalid({ awsCustomAttributes: { a: "x".repeat(1100) } }, "awsCustomAttributes", /at most 1024 characters/)
  invalid({ generationKwargs: { stop: [() => 1] } }, "generationKwargs", /generationKwargs.stop\[0\] is a function/)
  invalid({ generationKwargs: { temperature: Number.NaN } }, "generationKwargs", /NaN, not a JSON number/)
  invalid({ timeout: "-1 seconds" }, "timeout", /positive duration/)
  invalid({ retry: { attempts: 0 } }, "retry", /at least 1/)
  invalid({ maxConcurrency: 0 }, "maxConcurrency", /at least 1/)

  it.effect("run-time kwargs that are not JSON, a body over 6 MiB, and a prompt that is not a string", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({}, () => Effect.succeed(OK))
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const errors = yield* provide(Effect.all([
        Effect.flip(SagemakerGenerator.run("p", cyclic)),
        Effect.flip(SagemakerGenerator.run("p", { n: 10n })),
        Effect.flip(SagemakerGenerator.run("p", { d: new Date(0) })),
        Effect.flip(SagemakerGenerator.run("x".repeat(6_291_457))),
        Effect.flip(SagemakerGenerator.run(42 as unknown as string))
      ]))
      assert.deepStrictEqual(errors.map((e) => e._tag === "SagemakerValidationError" ? [e.field, e.rule] : e._tag), [
        ["generationKwargs", "generationKwargs.self refers back to itself (a cycle)"],
        ["generationKwargs", "generationKwargs.n is a bigint, not JSON"],
        ["generationKwargs", "generationKwargs.d is a Date, not a plain JSON object"],
        ["body", "the request body is 6291507 bytes; SageMaker accepts at most 6291456"],
        ["prompt", "must be a string, got number"]
      ])
      assert.strictEqual(calls.length, 0)
    }))

  it.effect("undefined kwargs properties are left out, as JSON.stringify does", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({}, () => Effect.succeed(OK))
      yield* provide(SagemakerGenerator.run("p", { temperature: undefined, top_p: 0.9 }))
      assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(calls[0]!.body)), {
        inputs: "p",
        parameters: { max_new_tokens: 1024, top_p: 0.9 }
      })
    }))
})

describe("requests", () => {
  it.effect("routing options reach the transport; the prompt is sent verbatim", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({
        targetVariant: "variant-1",
        targetModel: "model.tar.gz",
        targetContainerHostname: "container-1",
        inferenceComponentName: "ic-1",
        inferenceId: "inf 1",
        sessionId: "NEW_SESSION"
      }, () => Effect.succeed(OK))
      yield* provide(SagemakerGenerator.run("  {{not a template}} é  "))
      const call = calls[0]!
      assert.deepStrictEqual(
        [
          call.endpointName,
          call.contentType,
          call.accept,
          call.targetVariant,
          call.targetModel,
          call.targetContainerHostname,
          call.inferenceComponentName,
          call.inferenceId,
          call.sessionId,
          call.customAttributes
        ],
        [
          "m",
          "application/json",
          "application/json",
          "variant-1",
          "model.tar.gz",
          "container-1",
          "ic-1",
          "inf 1",
          "NEW_SESSION",
          undefined
        ]
      )
      assert.strictEqual(
        new TextDecoder().decode(call.body),
        `{"inputs":"  {{not a template}} é  ","parameters":{"max_new_tokens":1024}}`
      )
    }))
})

describe("telemetry", () => {
  it.effect("a client span with GenAI attributes, and never the prompt or the reply", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const body = utf8(`[{"generated_text":"SECRET-REPLY","details":{"finish_reason":"length"}}]`)
      const { provide } = setup({ generationKwargs: { max_new_tokens: 7, temperature: 0.2, top_p: 0.9 } }, () =>
        Effect.succeed(body))
      yield* provide(SagemakerGenerator.run("SECRET-PROMPT")).pipe(Effect.withTracer(tracer))
      const span = spans.find((s) =>
        s.name === "SagemakerGenerator.run"
      )!
      assert.strictEqual(span.kind, "client")
      assert.deepStrictEqual(Object.fromEntries(span.attributes), {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "aws.sagemaker",
        "gen_ai.system": "aws.sagemaker",
        "gen_ai.request.model": "m",
        "gen_ai.request.max_tokens": 7,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.response.finish_reasons": ["length"]
      })
      assert.notInclude(JSON.stringify([...span.attributes]), "SECRET")
    }))

  it.effect("a failed call records error.type", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const { provide } = setup({ retry: false }, () => Effect.fail(notReady))
      yield* Effect.flip(provide(SagemakerGenerator.run("p")).pipe(Effect.withTracer(tracer)))
      const span = spans.find((s) => s.name === "SagemakerGenerator.run")!
      assert.strictEqual(span.attributes.get("error.type"), "SagemakerNotReadyError")
    }))
})

describe("run and stream are descriptions", () => {
  it.effect("the arguments are read when the Effect runs, each time it runs, not when it is built", () =>
    Effect.gen(function*() {
      let reads = 0
      const kwargs = {
        get temperature() {
          reads++
          return 0.5
        }
      }
      const { calls, provide } = setup({}, () => Effect.succeed(OK))
      const generator = yield* provide(SagemakerGenerator.SagemakerGenerator)
      const run = generator.run("p", kwargs)
      const stream = generator.stream("p", kwargs)
      assert.strictEqual(reads, 0)
      yield* run
      yield* run
      assert.strictEqual(calls.length, 2)
      const afterRuns = reads
      assert.isAbove(afterRuns, 0)
      yield* Effect.exit(Stream.runDrain(stream))
      assert.isAbove(reads, afterRuns)
    }))
})

describe("telemetry: which tracer", () => {
  it.effect("a tracer installed for the whole program (Layer.setTracer) records run's span too", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const { provide } = setup({}, () => Effect.succeed(OK))
      yield* provide(SagemakerGenerator.run("p")).pipe(Effect.provide(Layer.setTracer(tracer)))
      assert.deepStrictEqual(spans.map((s) => s.name), ["SagemakerGenerator.run"])
      assert.strictEqual(spans[0]!.status._tag, "Ended")
    }))

  it.effect("under Effect's built-in tracer run makes no span: the caller's span stays current", () =>
    Effect.gen(function*() {
      let seen: string | undefined
      const { provide } = setup({}, () =>
        Effect.map(Effect.currentSpan, (span) => {
          seen = span.name
          return OK
        }).pipe(Effect.orDie))
      yield* provide(SagemakerGenerator.run("p")).pipe(Effect.withSpan("caller"))
      assert.strictEqual(seen, "caller")
    }))
})

describe("layerTest", () => {
  it.effect("replaces the generator in a consumer's tests", () =>
    Effect.gen(function*() {
      const result = yield* SagemakerGenerator.run("hello", { temperature: 1 }).pipe(
        Effect.provide(
          SagemakerGenerator.layerTest((prompt, kwargs) => Effect.succeed({ replies: [`${prompt}!`], meta: [kwargs] }))
        )
      )
      assert.deepStrictEqual(result, { replies: ["hello!"], meta: [{ max_new_tokens: 1024, temperature: 1 }] })
    }))
})
