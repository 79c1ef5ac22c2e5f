/**
 * `SagemakerBatch.run`: against an endpoint of limited capacity (a loopback server that throttles
 * above N requests in flight, through the real SDK client), the limit settles near N and every
 * item comes out exactly once, in either order; failed items are results, not stream failures;
 * any interleaving of successes and failures yields every id once.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerBatch from "../src/SagemakerBatch.js"
import { type SagemakerError, SagemakerInferenceError, SagemakerThrottlingError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { testEnv } from "./helpers/generator.js"
import { transports } from "./helpers/transports.js"

/**
 * An endpoint that serves `capacity` requests at once, each in `latencyMillis`, and throttles the
 * rest as SageMaker does (400 `ThrottlingException`); a prompt of "bad" gets a ValidationError.
 */
const capacityServer = (capacity: number, latencyMillis: number) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; url: string; stats: { requests: number; throttled: number; peak: number } }>(
      (resume) => {
        const stats = { requests: 0, throttled: 0, peak: 0 }
        let inFlight = 0
        const server = http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            stats.requests++
            const prompt = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { inputs: string }).inputs
            const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
              res.writeHead(status, { "content-type": "application/json", ...headers })
              res.end(JSON.stringify(body))
            }
            if (prompt === "bad") return json(400, { message: "bad input" }, { "x-amzn-errortype": "ValidationError" })
            if (inFlight >= capacity) {
              stats.throttled++
              return json(400, { message: "Rate exceeded" }, { "x-amzn-errortype": "ThrottlingException" })
            }
            inFlight++
            stats.peak = Math.max(stats.peak, inFlight)
            setTimeout(() => {
              inFlight--
              json(200, [{ generated_text: `re: ${prompt}`, details: { input_length: 2, generated_tokens: 3 } }])
            }, latencyMillis)
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            server,
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            stats
          })))
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const prompts = (n: number) => Stream.range(0, n - 1).pipe(Stream.map((i) => ({ id: `item-${i}`, prompt: `p${i}` })))

describe("SagemakerBatch.run against an endpoint of limited capacity", () => {
  for (const transport of transports) {
    for (const ordered of [false, true]) {
      it.scopedLive(`${transport.name}, ${ordered ? "input" : "completion"} order: the limit settles near the capacity`, () =>
        Effect.gen(function*() {
          const endpoint = yield* capacityServer(8, 15)
          const limits: Array<number> = []
          const results = yield* SagemakerBatch.run(prompts(400), {
            concurrency: 2,
            maxConcurrency: 64,
            ordered,
            onProgress: (progress) => limits.push(progress.limit)
          }).pipe(
            Stream.runCollect,
            Effect.map(Chunk.toArray),
            Effect.provide(SagemakerGenerator.layer({ ...transport.options, model: "ep", endpointUrl: endpoint.url })),
            Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
          )
          const ids = results.map((result) => result.id)
          assert.strictEqual(new Set(ids).size, 400)
          if (ordered) assert.deepStrictEqual(ids, Array.from({ length: 400 }, (_, i) => `item-${i}`))
          assert.isTrue(results.every(SagemakerBatch.isSuccess))
          assert.deepStrictEqual(
            results.find((result) => result.id === "item-7")?.outcome,
            { _tag: "Success", replies: ["re: p7"], meta: [{ details: { input_length: 2, generated_tokens: 3 } }] }
          )
          // It grew from 2, met the capacity, and stayed near it; capacity retries were few.
          const settled = limits.slice(-50)
          assert.isAtLeast(Math.max(...limits), 8)
          assert.isAtLeast(Math.min(...settled), 4)
          assert.isAtMost(Math.max(...settled), 12)
          assert.isAbove(endpoint.stats.throttled, 0)
          assert.isAtMost(endpoint.stats.throttled, 0.1 * endpoint.stats.requests)
          assert.strictEqual(endpoint.stats.requests, 400 + endpoint.stats.throttled)
          assert.strictEqual(
            results.reduce((sum, result) => sum + result.attempts, 0),
            endpoint.stats.requests
          )
        }))
    }
  }

  it.scopedLive("the emulator's capacity fault: throttles and overloaded-container 424s both shrink the limit", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        personality: "tgi",
        faults: { ep: [{ kind: "capacity", limit: 6 }, { kind: "latency", millis: 15 }] }
      })
      const results = yield* SagemakerBatch.run(prompts(200), { concurrency: 12, maxConcurrency: 32 }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(SagemakerGenerator.layer({ model: "ep", endpointUrl: emulator.url, transport: "http" })),
        Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
      )
      assert.strictEqual(new Set(results.map((result) => result.id)).size, 200)
      assert.isTrue(results.every(SagemakerBatch.isSuccess))
      const refusals = (yield* emulator.requests).filter((request) => request.status !== 200)
      assert.isAbove(refusals.length, 1)
      assert.includeMembers([...new Set(refusals.map((request) => request.status))], [400, 424])
    }))

  it.scopedLive("a failed item is a result with its error; the batch goes on", () =>
    Effect.gen(function*() {
      const endpoint = yield* capacityServer(4, 5)
      const items = Stream.make({ prompt: "good" }, { prompt: "bad" }, { prompt: "fine" })
      const results = yield* SagemakerBatch.run(items, { ordered: true }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(SagemakerGenerator.layer({ model: "ep", endpointUrl: endpoint.url })),
        Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
      )
      assert.deepStrictEqual(results.map((result) => [result.id, result.index, result.outcome._tag]), [
        ["0", 0, "Success"],
        ["1", 1, "Failure"],
        ["2", 2, "Success"]
      ])
      const failure = results[1]!.outcome
      assert.strictEqual(failure._tag === "Failure" && failure.error._tag, "SagemakerValidationError")
      assert.strictEqual(results[1]!.attempts, 1)
    }))
})

describe("SagemakerBatch.run's bookkeeping", () => {
  it.effect("invalid options fail the stream before any item", () =>
    Effect.gen(function*() {
      const error = yield* SagemakerBatch.run(prompts(3), { concurrency: 0 }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(SagemakerGenerator.layerTest(() => Effect.die("no item may run")))
      )
      assert.strictEqual(error.field, "concurrency")
    }))

  it.live("retried counts the retries that happened, not the last failure", () =>
    Effect.gen(function*() {
      const transient = new SagemakerInferenceError({
        endpointName: "ep",
        errorCode: "X",
        text: "reset",
        retryable: true
      })
      const calls = new Map<string, number>()
      const generator = SagemakerGenerator.layerTest((prompt) =>
        Effect.suspend(() => {
          const n = (calls.get(prompt) ?? 0) + 1
          calls.set(prompt, n)
          return prompt === "always" || n === 1
            ? Effect.fail(transient)
            : Effect.succeed({ replies: [prompt], meta: [{}] })
        })
      )
      const retriedWith = (attempts: number) =>
        Effect.gen(function*() {
          calls.clear()
          let last: SagemakerBatch.Progress | undefined
          yield* SagemakerBatch.run(Stream.make({ prompt: "once" }, { prompt: "always" }), {
            attempts,
            onProgress: (progress) => (last = progress)
          }).pipe(Stream.runDrain, Effect.provide(generator))
          return last!.retried
        })
      // "once" fails then succeeds (1 retry); "always" fails every time (attempts - 1 retries).
      assert.strictEqual(yield* retriedWith(1), 0)
      assert.strictEqual(yield* retriedWith(3), 1 + 2)
    }))

  it.live("any interleaving of successes, failures and throttles yields every id exactly once", () =>
    Effect.promise(() =>
      FastCheck.assert(
        FastCheck.asyncProperty(
          FastCheck.array(FastCheck.constantFrom("ok", "fail", "throttle-once", "flaky-once"), { maxLength: 40 }),
          FastCheck.boolean(),
          async (plan, ordered) => {
            const seen = new Map<string, number>()
            const generator = SagemakerGenerator.layerTest((prompt) =>
              Effect.suspend((): Effect.Effect<SagemakerGenerator.GenerationResult, SagemakerError> => {
                const calls = (seen.get(prompt) ?? 0) + 1
                seen.set(prompt, calls)
                const kind = plan[Number(prompt)]
                if (kind === "fail") {
                  return Effect.fail(new SagemakerInferenceError({ endpointName: "ep", errorCode: "X", text: "no" }))
                }
                if (kind === "throttle-once" && calls === 1) {
                  return Effect.fail(
                    new SagemakerThrottlingError({ endpointName: "ep", text: "slow", retryAfterMillis: 1 })
                  )
                }
                if (kind === "flaky-once" && calls === 1) {
                  return Effect.fail(
                    new SagemakerInferenceError({
                      endpointName: "ep",
                      errorCode: "Transport",
                      text: "reset",
                      retryable: true
                    })
                  )
                }
                return Effect.succeed({ replies: [prompt], meta: [{}] })
              })
            )
            const results = await Effect.runPromise(
              SagemakerBatch.run(Stream.fromIterable(plan.map((_, i) => ({ prompt: String(i) }))), {
                concurrency: 3,
                maxConcurrency: 5,
                ordered
              }).pipe(Stream.runCollect, Effect.map(Chunk.toArray), Effect.provide(generator))
            )
            const ids = results.map((result) => result.id)
            assert.deepStrictEqual([...ids].sort(), plan.map((_, i) => String(i)).sort())
            if (ordered) assert.deepStrictEqual(ids, plan.map((_, i) => String(i)))
            for (const result of results) {
              assert.strictEqual(result.outcome._tag, plan[result.index] === "fail" ? "Failure" : "Success")
            }
          }
        ),
        { numRuns: 30 }
      )
    ))
})
