/**
 * `stream` over a fake transport seam: decoding across arbitrary part boundaries, failures after
 * earlier chunks, retries only before the first event, the gap timeout, early close. The real SDK
 * path is tested against the emulator.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { SagemakerNotReadyError, SagemakerStreamError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient, utf8 } from "./helpers/generator.js"
import { makeRecordingTracer } from "./helpers/tracer.js"

const tgi = (tokens: ReadonlyArray<string>) =>
  tokens.map((text, i) =>
    `data:${
      JSON.stringify({
        token: { id: i, text, logprob: -0.5, special: false },
        generated_text: i === tokens.length - 1 ? tokens.join("") : null,
        details: i === tokens.length - 1 ? { finish_reason: "length", generated_tokens: tokens.length } : null
      })
    }\n\n`
  ).join("")

/** Cuts `bytes` into parts of `size` bytes. */
const cut = (bytes: Uint8Array, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))

const setup = (
  options: Partial<SagemakerGenerator.Options>,
  respondStream: Parameters<typeof fakeClient>[1]
) => {
  const fake = fakeClient(() => Effect.die("run is not used here"), respondStream)
  const provide = <A, E>(stream: Stream.Stream<A, E, SagemakerGenerator.SagemakerGenerator>) =>
    stream.pipe(
      Stream.provideLayer(SagemakerGenerator.layerWithClient({ model: "m", ...options })),
      Stream.provideLayer(fake.layer)
    )
  return { calls: fake.calls, provide }
}

describe("SagemakerGenerator.stream (fake transport)", () => {
  it.effect("decodes TGI events cut into one-byte parts, through a 4-byte emoji, with token metadata", () =>
    Effect.gen(function*() {
      const tokens = ["Deep", " learning", " 😀", " café"]
      const { calls, provide } = setup({}, () => Effect.succeed(Stream.fromIterable(cut(utf8(tgi(tokens)), 1))))
      const chunks = Chunk.toArray(yield* Stream.runCollect(provide(SagemakerGenerator.stream("p", { seed: 1 }))))
      assert.deepStrictEqual(chunks.map((c) => c.text), tokens)
      assert.deepStrictEqual(chunks.map((c) => c.tokenId), [0, 1, 2, 3])
      assert.strictEqual(chunks[3]!.finishReason, "length")
      assert.strictEqual(chunks[3]!.outputTokens, 4)
      const body = JSON.parse(new TextDecoder().decode(calls[0]!.body))
      assert.deepStrictEqual(body, { inputs: "p", parameters: { max_new_tokens: 1024, seed: 1 }, stream: true })
      assert.strictEqual(calls[0]!.accept, "application/jsonlines")
    }))

  it.effect("a mid-stream failure arrives after the chunks before it, and is not retried", () =>
    Effect.gen(function*() {
      const failure = new SagemakerStreamError({ endpointName: "m", errorCode: "ModelStreamError", text: "boom" })
      const { calls, provide } = setup(
        {},
        () => Effect.succeed(Stream.concat(Stream.make(utf8(tgi(["a", "b"]))), Stream.fail(failure)))
      )
      const results = yield* provide(SagemakerGenerator.stream("p")).pipe(Stream.either, Stream.runCollect)
      const array = Chunk.toArray(results)
      assert.deepStrictEqual(array.slice(0, 2).map((r) => Either.map(r, (c) => c.text)), [
        Either.right("a"),
        Either.right("b")
      ])
      assert.strictEqual(Either.getOrThrow(Either.flip(array[2]!))._tag, "SagemakerStreamError")
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("a line that is not JSON fails with SagemakerResponseError after the earlier chunks", () =>
    Effect.gen(function*() {
      const { provide } = setup(
        {},
        () => Effect.succeed(Stream.make(utf8(tgi(["ok"]) + "data:{not json}\n\n" + tgi(["lost"]))))
      )
      const results = Chunk.toArray(
        yield* provide(SagemakerGenerator.stream("p")).pipe(Stream.either, Stream.runCollect)
      )
      assert.deepStrictEqual(results.length, 2)
      assert.deepStrictEqual(Either.map(results[0]!, (c) => c.text), Either.right("ok"))
      const error = Either.getOrThrow(Either.flip(results[1]!))
      assert.strictEqual(error._tag, "SagemakerResponseError")
      assert.match(error.message, /^Unexpected model response in the stream \(InvalidJson\)/)
    }))

  it.effect("a bad line in a later part of one chunk of parts still delivers the earlier parts' chunks", () =>
    Effect.gen(function*() {
      // The SDK transport hands over the parts of a socket read as one chunk.
      const parts = Chunk.make(utf8(tgi(["a"])), utf8(tgi(["b"])), utf8("data:{not json}\n\n"), utf8(tgi(["lost"])))
      const { provide } = setup({}, () => Effect.succeed(Stream.fromChunk(parts)))
      const results = Chunk.toArray(
        yield* provide(SagemakerGenerator.stream("p")).pipe(Stream.either, Stream.runCollect)
      )
      assert.deepStrictEqual(results.slice(0, 2).map((r) => Either.map(r, (c) => c.text)), [
        Either.right("a"),
        Either.right("b")
      ])
      assert.strictEqual(results.length, 3)
      assert.strictEqual(Either.getOrThrow(Either.flip(results[2]!))._tag, "SagemakerResponseError")
    }))

  it.effect("an LMI error line ends the stream with SagemakerStreamError ModelError", () =>
    Effect.gen(function*() {
      const lines = `{"token":{"id":1,"text":"Hi","log_prob":-1}}\n` +
        `{"token":{"id":-1,"text":"","log_prob":-1,"special_token":true},"generated_text":"",` +
        `"details":{"finish_reason":"error"}}\n`
      const { provide } = setup({}, () => Effect.succeed(Stream.make(utf8(lines))))
      const results = Chunk.toArray(
        yield* provide(SagemakerGenerator.stream("p")).pipe(Stream.either, Stream.runCollect)
      )
      assert.deepStrictEqual(Either.map(results[0]!, (c) => c.text), Either.right("Hi"))
      const error = Either.getOrThrow(Either.flip(results.at(-1)!))
      assert.strictEqual(error._tag, "SagemakerStreamError")
      if (error._tag === "SagemakerStreamError") assert.strictEqual(error.errorCode, "ModelError")
    }))

  it.effect("a failure before the first event follows the retry policy", () =>
    Effect.gen(function*() {
      const notReady = new SagemakerNotReadyError({ endpointName: "m", text: "loading" })
      const { calls, provide } = setup(
        { retry: { baseDelay: "10 millis" } },
        (_, call) => call < 3 ? Effect.fail(notReady) : Effect.succeed(Stream.make(utf8(tgi(["x"]))))
      )
      const fiber = yield* Effect.fork(Stream.runCollect(provide(SagemakerGenerator.stream("p"))))
      yield* TestClock.adjust("1 second")
      const chunks = yield* Fiber.join(fiber)
      assert.deepStrictEqual(Chunk.toArray(chunks).map((c) => c.text), ["x"])
      assert.strictEqual(calls.length, 3)
    }))

  it.effect("timeout bounds each gap between parts", () =>
    Effect.gen(function*() {
      const { provide } = setup(
        { timeout: "1 second", retry: false },
        () =>
          Effect.succeed(
            Stream.concat(Stream.make(utf8(tgi(["a"]))), Stream.fromEffect(Effect.never))
          )
      )
      const fiber = yield* Effect.fork(provide(SagemakerGenerator.stream("p")).pipe(Stream.either, Stream.runCollect))
      yield* TestClock.adjust("2 seconds")
      const results = Chunk.toArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(Either.map(results[0]!, (c) => c.text), Either.right("a"))
      assert.strictEqual(Either.getOrThrow(Either.flip(results[1]!))._tag, "SagemakerTimeoutError")
    }))

  it.effect("the layerTest replacement streams its replies", () =>
    Effect.gen(function*() {
      const chunks = yield* SagemakerGenerator.stream("p").pipe(
        Stream.runCollect,
        Effect.provide(SagemakerGenerator.layerTest(() => Effect.succeed({ replies: ["one"], meta: [{}] })))
      )
      assert.deepStrictEqual(Chunk.toArray(chunks), [{ text: "one" }])
    }))
})

describe("SagemakerGenerator.stream telemetry", () => {
  it.effect("under a tracer: a client span with the request attributes, open until the stream ends", () => {
    const { spans, tracer } = makeRecordingTracer()
    return Effect.gen(function*() {
      const { provide } = setup(
        { generationKwargs: { max_new_tokens: 3, temperature: 0.5 } },
        () => Effect.succeed(Stream.make(utf8(tgi(["a", "b"]))))
      )
      const pull = yield* Stream.toPull(provide(SagemakerGenerator.stream("p")))
      yield* pull
      const span = spans.find((s) => s.name === "SagemakerGenerator.stream")!
      assert.strictEqual(span.kind, "client")
      assert.strictEqual(span.status._tag, "Started")
      assert.deepStrictEqual(Object.fromEntries(span.attributes), {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "aws.sagemaker",
        "gen_ai.system": "aws.sagemaker",
        "gen_ai.request.model": "m",
        "gen_ai.request.max_tokens": 3,
        "gen_ai.request.temperature": 0.5
      })
    }).pipe(
      Effect.scoped,
      Effect.tap(() => assert.strictEqual(spans[0]?.status._tag, "Ended")),
      Effect.withTracer(tracer)
    )
  })

  it.effect("under a tracer: a failure in the stream records error.type and ends the span with it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const failure = new SagemakerStreamError({ endpointName: "m", errorCode: "ModelStreamError", text: "boom" })
      const { provide } = setup(
        {},
        () => Effect.succeed(Stream.concat(Stream.make(utf8(tgi(["a"]))), Stream.fail(failure)))
      )
      yield* Effect.flip(Stream.runDrain(provide(SagemakerGenerator.stream("p")))).pipe(Effect.withTracer(tracer))
      const span = spans.find((s) => s.name === "SagemakerGenerator.stream")!
      assert.strictEqual(span.attributes.get("error.type"), "SagemakerStreamError")
      assert.strictEqual(span.status._tag, "Ended")
    }))

  it.effect("under a tracer: invalid arguments fail inside the span, with error.type", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      const { calls, provide } = setup({}, () => Effect.die("not called"))
      const error = yield* Effect.flip(
        Stream.runDrain(provide(SagemakerGenerator.stream(42 as unknown as string)))
      ).pipe(Effect.withTracer(tracer))
      assert.strictEqual(error._tag, "SagemakerValidationError")
      assert.strictEqual(calls.length, 0)
      const span = spans.find((s) => s.name === "SagemakerGenerator.stream")!
      assert.strictEqual(span.attributes.get("error.type"), "SagemakerValidationError")
    }))
})
