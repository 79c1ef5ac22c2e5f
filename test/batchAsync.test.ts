/**
 * `SagemakerBatch.runAsync` end to end: the real `SagemakerAsync` service on a real
 * `SagemakerClient` (both transports) and the real `@aws-sdk/client-s3`, against the emulator's
 * async endpoints and its S3 endpoint. Every item is submitted once and has one `Submitted` event
 * before its one `Result`; a failure object or a refused submission is a `Failure` result; items
 * resumed from their handles are collected without a single submission; submissions in flight
 * stay within `submitConcurrency`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerAsync from "../src/SagemakerAsync.js"
import * as SagemakerBatch from "../src/SagemakerBatch.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import { credentials, region } from "./helpers/fixtures.js"

const ASYNC = "async-ep"
const NARROW = "narrow"
const layers = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp } as const

/** The container refuses prompts that start with FAIL: the queue writes a failure object for them. */
const model = SagemakerEmulator.personalityResponder("default")
const startEmulator = SagemakerEmulator.make({
  asyncEndpoints: [ASYNC, NARROW],
  async: { delayMillis: 100 },
  faults: { [NARROW]: [{ kind: "capacity", limit: 3 }, { kind: "latency", millis: 40 }] },
  responder: (request) =>
    String((request.json as { inputs?: unknown }).inputs).startsWith("FAIL")
      ? { status: 400, body: JSON.stringify({ error: "refused by the test's container" }) }
      : model(request)
})

const asyncLayer = (
  transport: keyof typeof layers,
  emulator: SagemakerEmulator.Service,
  options: Partial<SagemakerAsync.Options> = {}
) =>
  SagemakerAsync.layer({
    model: ASYNC,
    s3EndpointUrl: emulator.s3Url,
    poll: { firstDelay: 20, lastDelay: 200 },
    retry: { baseDelay: 10 },
    generationKwargs: { max_new_tokens: 3 },
    ...options
  }).pipe(Layer.provide(layers[transport]({ region, credentials, endpointUrl: emulator.url })))

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `item-${i}`, prompt: i === 7 ? `FAIL ${i}` : `Prompt number ${i}` }))

const submissions = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => requests.filter((r) => r.operation === "async"))

const collect = (stream: Stream.Stream<SagemakerBatch.AsyncEvent, unknown, SagemakerAsync.SagemakerAsync>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const resultsOf = (events: ReadonlyArray<SagemakerBatch.AsyncEvent>) =>
  events.filter((event): event is SagemakerBatch.ResultEvent => event._tag === "Result")

const submittedOf = (events: ReadonlyArray<SagemakerBatch.AsyncEvent>) =>
  events.filter((event): event is SagemakerBatch.Submitted => event._tag === "Submitted")

describe("SagemakerBatch.runAsync", () => {
  for (const transport of ["http", "sdk"] as const) {
    it.scopedLive(`${transport}: each item is submitted once, its Submitted before its one Result; a failure is a result`, () =>
      Effect.gen(function*() {
        const emulator = yield* startEmulator
        const batch = items(20)
        const events = yield* collect(SagemakerBatch.runAsync(Stream.fromIterable(batch), { submitConcurrency: 4 }))
          .pipe(Effect.provide(asyncLayer(transport, emulator)))
        const submitted = submittedOf(events)
        const results = resultsOf(events)
        const ids = batch.map((item) => item.id)
        assert.deepStrictEqual(submitted.map((event) => event.id).sort(), [...ids].sort())
        assert.deepStrictEqual(results.map((event) => event.id).sort(), [...ids].sort())
        for (const [index, id] of ids.entries()) {
          const at = (tag: string) => events.findIndex((event) => event._tag === tag && event.id === id)
          assert.isBelow(at("Submitted"), at("Result"), id)
          assert.strictEqual(results.find((event) => event.id === id)!.index, index)
        }
        // The handles are the emulator's: one inference id each, under the endpoint's output path.
        assert.strictEqual(new Set(submitted.map((event) => event.handle.inferenceId)).size, 20)
        assert.isTrue(submitted.every((event) => event.handle.endpointName === ASYNC))
        for (const result of results) {
          assert.strictEqual(result.attempts, 1)
          assert.isAtLeast(result.latencyMs, 0)
          if (result.id === "item-7") {
            assert.strictEqual(result.outcome._tag, "Failure")
            const error = result.outcome._tag === "Failure" ? result.outcome.error : undefined
            assert.strictEqual(error?._tag, "SagemakerInferenceError")
            if (error?._tag === "SagemakerInferenceError") {
              assert.strictEqual(error.errorCode, "AsyncInferenceFailure")
              assert.include(error.text, "refused by the test's container")
            }
          } else {
            assert.isTrue(SagemakerBatch.isSuccess(result), result.id)
            if (result.outcome._tag === "Success") {
              assert.strictEqual(result.outcome.replies.length, 1)
              assert.isAbove(result.outcome.replies[0]!.length, 0)
            }
          }
        }
        const requests = yield* submissions(emulator)
        assert.strictEqual(requests.length, 20)
        assert.deepStrictEqual(
          requests.map((r) => (JSON.parse(r.bodyText) as { inputs: string }).inputs).sort(),
          batch.map((item) => item.prompt).sort()
        )
      }))
  }

  it.scopedLive("items resumed with their handles are collected without a submission", () =>
    Effect.gen(function*() {
      const emulator = yield* startEmulator
      const batch = items(20)
      const Async = asyncLayer("http", emulator)
      // A first run that stops at its Submitted events: the results are still to be collected.
      const handles = yield* SagemakerBatch.runAsync(Stream.fromIterable(batch)).pipe(
        Stream.filter((event): event is SagemakerBatch.Submitted => event._tag === "Submitted"),
        Stream.take(20),
        Stream.runCollect,
        Effect.map((chunk) => new Map(Chunk.toReadonlyArray(chunk).map((event) => [event.id, event.handle]))),
        Effect.provide(Async)
      )
      assert.strictEqual(handles.size, 20)
      // The handles as a checkpoint keeps them: encoded to JSON and decoded back.
      const decoded = new Map<string, SagemakerAsync.Handle>()
      for (const [id, handle] of handles) {
        const json = JSON.parse(JSON.stringify(yield* Schema.encode(SagemakerAsync.Handle)(handle)))
        decoded.set(id, yield* Schema.decodeUnknown(SagemakerAsync.Handle)(json))
      }
      yield* emulator.reset

      // Half resumed, half with their handles dropped: only the second half is submitted again.
      const resumed = batch.map((item, i) => i % 2 === 0 ? { ...item, handle: decoded.get(item.id)! } : item)
      const events = yield* collect(SagemakerBatch.runAsync(Stream.fromIterable(resumed))).pipe(
        Effect.provide(Async)
      )
      const results = resultsOf(events)
      assert.deepStrictEqual(results.map((event) => event.id).sort(), batch.map((item) => item.id).sort())
      assert.deepStrictEqual(
        submittedOf(events).map((event) => event.id).sort(),
        batch.filter((_, i) => i % 2 === 1).map((item) => item.id).sort()
      )
      assert.strictEqual((yield* submissions(emulator)).length, 10)
      for (const result of results) {
        const wasResumed = Number(result.id.slice("item-".length)) % 2 === 0
        assert.strictEqual(result.attempts, wasResumed ? 0 : 1, result.id)
        assert.strictEqual(result.outcome._tag, result.id === "item-7" ? "Failure" : "Success", result.id)
      }

      // Every item resumed: nothing submitted at all, every result collected.
      yield* emulator.reset
      const all = yield* collect(
        SagemakerBatch.runAsync(Stream.fromIterable(batch.map((item) => ({ ...item, handle: decoded.get(item.id)! }))))
      ).pipe(Effect.provide(Async))
      assert.deepStrictEqual(submittedOf(all), [])
      assert.strictEqual(resultsOf(all).length, 20)
      assert.strictEqual(resultsOf(all).filter(SagemakerBatch.isSuccess).length, 19)
      assert.deepStrictEqual(yield* submissions(emulator), [])
    }))

  it.scopedLive("a submission SageMaker would not take is a Failure result without a Submitted event", () =>
    Effect.gen(function*() {
      const emulator = yield* startEmulator
      // Over the 128,000 bytes SageMaker takes inline, and no inputLocation to upload it to.
      const batch = [{ id: "big", prompt: "x".repeat(130_000) }, { id: "small", prompt: "hello" }]
      const events = yield* collect(SagemakerBatch.runAsync(Stream.fromIterable(batch))).pipe(
        Effect.provide(asyncLayer("http", emulator))
      )
      assert.deepStrictEqual(submittedOf(events).map((event) => event.id), ["small"])
      const big = resultsOf(events).find((event) => event.id === "big")!
      assert.strictEqual(big.outcome._tag === "Failure" && big.outcome.error._tag, "SagemakerValidationError")
      assert.isTrue(SagemakerBatch.isSuccess(resultsOf(events).find((event) => event.id === "small")!))
      assert.strictEqual((yield* submissions(emulator)).length, 1)
    }))

  it.scopedLive("submissions in flight stay within submitConcurrency: an endpoint taking 3 at once refuses none", () =>
    Effect.gen(function*() {
      const emulator = yield* startEmulator
      const progress: Array<SagemakerBatch.AsyncProgress> = []
      const run = (submitConcurrency: number) =>
        collect(SagemakerBatch.runAsync(Stream.fromIterable(items(12).map((item) => ({ ...item, prompt: "p" }))), {
          submitConcurrency,
          onProgress: (snapshot) => progress.push(snapshot)
        })).pipe(Effect.provide(asyncLayer("http", emulator, { model: NARROW, retry: false })))
      const events = yield* run(3)
      assert.strictEqual(resultsOf(events).filter(SagemakerBatch.isSuccess).length, 12)
      assert.deepStrictEqual([...new Set((yield* submissions(emulator)).map((r) => r.status))], [202])
      assert.strictEqual(Math.max(...progress.map((p) => p.submitting)), 3)
      assert.deepStrictEqual(progress.at(-1), {
        submitting: 0,
        submitted: 12,
        resumed: 0,
        pending: 0,
        done: 12,
        succeeded: 12,
        failed: 0,
        tokens: progress.at(-1)!.tokens
      })
      // The same batch with more at once than the endpoint takes: some are refused (throttled).
      yield* emulator.reset
      const wide = yield* run(6)
      assert.isAbove(resultsOf(wide).filter((event) => !SagemakerBatch.isSuccess(event)).length, 0)
    }))

  it.scopedLive("bad options fail the stream before any request", () =>
    Effect.gen(function*() {
      const emulator = yield* startEmulator
      for (
        const [options, field] of [[{ submitConcurrency: 0 }, "submitConcurrency"], [
          { deadline: "soon" },
          "deadline"
        ]] as const
      ) {
        const exit = yield* Effect.exit(
          collect(SagemakerBatch.runAsync(Stream.fromIterable(items(2)), options as SagemakerBatch.AsyncOptions)).pipe(
            Effect.provide(asyncLayer("http", emulator))
          )
        )
        assert.isTrue(Exit.isFailure(exit), field)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error as { readonly _tag: string; readonly message: string }
          assert.strictEqual(error._tag, "SagemakerValidationError")
          assert.include(error.message, field)
        }
      }
      assert.deepStrictEqual(yield* submissions(emulator), [])
    }))
})
