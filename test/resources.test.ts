/**
 * Interruption and resources against the emulator through the real SDK (issue 5): interrupting a
 * running `run` or `stream` aborts its request; closing a layer's scope destroys its client and
 * sockets; a workload of successes, retries, timeouts, interruptions and early closes leaves no
 * fiber, timer, socket or server behind. (`interruption.test.ts` covers the same on a loopback
 * server: timeouts abort each attempt, maxConcurrency.)
 *
 * The interruption tests share one emulator and one client per transport, each on its own
 * endpoint. The tests of a layer's own client build and close their layers themselves: that
 * lifetime, and the process's sockets and timers around it, is what they pin.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import * as Fixtures from "./helpers/fixtures.js"
import { activeResources, excess, settle } from "./helpers/resources.js"
import { transports } from "./helpers/transports.js"

const generator = (emulator: SagemakerEmulator.Service, model: string, options: Partial<SagemakerGenerator.Options>) =>
  SagemakerGenerator.layer({
    model,
    endpointUrl: emulator.url,
    awsAccessKeyId: Secret.fromToken("AKIDRESOURCES"),
    awsSecretAccessKey: Secret.fromToken("resources-secret"),
    awsRegionName: Secret.fromToken("us-east-1"),
    awsSessionToken: null,
    awsProfileName: null,
    retry: { baseDelay: "1 millis" },
    ...options
  })

const closedWithin = (emulator: SagemakerEmulator.Service, n: number) =>
  emulator.awaitClosedRequests(n).pipe(
    Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => `fewer than ${n} requests were aborted` })
  )

/** Waits until the shared emulator has seen `n` requests to `endpointName`. */
const requestsSeen = (endpointName: string, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      if ((yield* Fixtures.requestsTo(endpointName)).length >= n) return
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.fail(`the emulator never saw ${n} request(s) to ${endpointName}`)
  })

const aborted = (endpointName: string) =>
  Effect.map(Fixtures.requestsTo(endpointName), (requests) => requests.filter((r) => r.aborted).length)

/** One endpoint per interruption test; the stall faults never answer. */
const interruptionEndpoints: SagemakerEmulator.Options = {
  endpoints: {
    "run-stalled": { faults: { kind: "stall" } },
    "stream-stalled": { faults: { kind: "stall", afterParts: 2 } },
    "slow": { partDelayMillis: 50 },
    "gap-stalled": { faults: { kind: "stall", afterParts: 2 } },
    "deadline-stalled": { faults: { kind: "stall" } },
    "first-attempt-stalled": { faults: { kind: "stall", afterParts: 0, count: 1 } }
  }
}

/** The generator options of the interruption tests: quick retries. */
const fast = (options: Partial<SagemakerGenerator.Options> = {}): Partial<SagemakerGenerator.Options> => ({
  retry: { baseDelay: "1 millis" },
  ...options
})

for (const variant of transports) {
  describe(`the layer owns its client (${variant.name} transport)`, () => {
    it.scopedLive("closing the layer's scope closes its keep-alive sockets (the client is destroyed)", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make()
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(generator(emulator, "ep", variant.options), scope)
        yield* Effect.all(Array.from({ length: 4 }, () => SagemakerGenerator.run("p")), { concurrency: 4 }).pipe(
          Effect.provide(context)
        )
        const open = yield* emulator.openConnections
        assert.isAtLeast(open, 1)
        assert.isAtMost(open, 4)
        yield* Scope.close(scope, Exit.void)
        for (let i = 0; i < 100 && (yield* emulator.openConnections) > 0; i++) yield* Effect.sleep("10 millis")
        assert.strictEqual(yield* emulator.openConnections, 0)
      }))

    it.live("a mixed workload leaves no fiber, timer, socket or server behind", () =>
      Effect.gen(function*() {
        const baseline = activeResources()
        const supervisor = yield* Supervisor.track
        yield* Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({
            endpoints: {
              ok: {},
              flaky: { faults: { kind: "not-ready", count: 2 } },
              slow: { faults: { kind: "latency", millis: 5_000 } },
              stalled: { faults: { kind: "stall", afterParts: 1 } },
              broken: { faults: { kind: "stream-error", afterParts: 2 } }
            }
          })
          const outcome = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
            Effect.map(Effect.exit(effect), (exit) =>
              Exit.match(exit, {
                onSuccess: () => "ok",
                onFailure: (cause) =>
                  Option.match(Cause.failureOption(cause), {
                    onNone: () => Cause.pretty(cause),
                    onSome: (error) => error._tag
                  })
              }))
          const run = (model: string, options: Partial<SagemakerGenerator.Options> = {}) =>
            SagemakerGenerator.run("p").pipe(
              Effect.provide(generator(emulator, model, { ...variant.options, ...options }))
            )
          const stream = (model: string, options: Partial<SagemakerGenerator.Options> = {}) =>
            Stream.runDrain(SagemakerGenerator.stream("p")).pipe(
              Effect.provide(generator(emulator, model, { ...variant.options, ...options }))
            )
          // Only the library's fibers are supervised, not the emulator's.
          const outcomes = yield* Effect.all([
            outcome(run("ok")),
            outcome(run("flaky")),
            outcome(run("slow", { timeout: "50 millis" })),
            outcome(stream("ok")),
            outcome(stream("broken")),
            outcome(stream("stalled", { timeout: "50 millis" })),
            outcome(run("slow").pipe(Effect.timeout("50 millis"))),
            outcome(stream("stalled").pipe(Effect.timeout("100 millis")))
          ], { concurrency: "unbounded" }).pipe(Effect.supervised(supervisor))
          // Every fiber the workload started has ended with it.
          const alive = yield* supervisor.value
          assert.strictEqual(alive.length, 0, `${alive.length} fiber(s) still running`)
          assert.deepStrictEqual(outcomes, [
            "ok",
            "ok",
            "SagemakerTimeoutError",
            "ok",
            "SagemakerStreamError",
            "SagemakerTimeoutError",
            "TimeoutException",
            "TimeoutException"
          ])
          yield* closedWithin(emulator, 3 + 1 + 1 + 1)
          // Each call's layer was closed with it: its client's keep-alive sockets are gone.
          for (let i = 0; i < 200 && (yield* emulator.openConnections) > 0; i++) yield* Effect.sleep("10 millis")
          assert.strictEqual(yield* emulator.openConnections, 0)
        }).pipe(Effect.scoped)
        // Sockets, the emulator's server and timers are back to what they were.
        const left = yield* settle(baseline)
        assert.deepStrictEqual(left, {}, JSON.stringify({ baseline, now: activeResources(), excess: excess(baseline) }))
      }))
  })
}

describe("the http transport's pool", () => {
  it.scopedLive(
    "a burst past node's default of 256 idle sockets keeps every socket for the next burst",
    () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ faults: { slow: { kind: "latency", millis: 300 } } })
        yield* Effect.gen(function*() {
          const burst = Effect.all(Array.from({ length: 300 }, () => SagemakerGenerator.run("p")), {
            concurrency: "unbounded",
            discard: true
          })
          yield* burst
          // All 300 stay open and idle: the next burst reconnects none (a TLS handshake each on AWS).
          assert.strictEqual(yield* emulator.openConnections, 300)
          yield* burst
          assert.strictEqual(yield* emulator.openConnections, 300)
        }).pipe(Effect.provide(generator(emulator, "slow", { transport: "http" })))
      }),
    60_000
  )
})

// After the tests that count the process's sockets, so that no shared client is open or closing
// while they take their baseline.
for (const variant of transports) {
  Fixtures.layerLive(Fixtures.stack(variant, { emulator: interruptionEndpoints }))(
    `interruption aborts the request (${variant.name} transport)`,
    (it) => {
      it.effect("interrupting a running run: the emulator sees its request closed", () =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            SagemakerGenerator.run("p").pipe(Fixtures.generatorOn("run-stalled", fast()))
          )
          yield* requestsSeen("run-stalled", 1)
          assert.strictEqual(yield* aborted("run-stalled"), 0)
          const exit = yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.isInterrupted(exit))
          yield* Fixtures.awaitAborted("run-stalled", 1)
          const [request] = yield* Fixtures.requestsTo("run-stalled")
          assert.isTrue(request!.aborted)
          assert.strictEqual(request!.status, 0)
        }))

      it.effect("interrupting a stream's consumer mid-stream: chunks first, then the request is closed", () =>
        Effect.gen(function*() {
          let chunks = 0
          const fiber = yield* Effect.fork(
            Stream.runForEach(SagemakerGenerator.stream("p"), () => Effect.sync(() => chunks++)).pipe(
              Fixtures.generatorOn("stream-stalled", fast())
            )
          )
          for (let i = 0; i < 200 && chunks < 2; i++) yield* Effect.sleep("10 millis")
          assert.strictEqual(chunks, 2)
          yield* Fiber.interrupt(fiber)
          yield* Fixtures.awaitAborted("stream-stalled", 1)
          assert.strictEqual((yield* Fixtures.requestsTo("stream-stalled")).length, 1)
        }))

      it.effect("closing a stream early (take 2 of many) aborts the rest of the response", () =>
        Effect.gen(function*() {
          const chunks = yield* SagemakerGenerator.stream("p", { max_new_tokens: 100 }).pipe(
            Stream.take(2),
            Stream.runCollect,
            Fixtures.generatorOn("slow", fast())
          )
          assert.strictEqual(Chunk.size(chunks), 2)
          // The shared client stays open: only the early close can have closed the request.
          yield* Fixtures.awaitAborted("slow", 1)
        }))

      it.effect("a gap timeout mid-stream closes the request while the client stays open", () =>
        Effect.gen(function*() {
          const results = yield* SagemakerGenerator.stream("p").pipe(
            Stream.either,
            Stream.runCollect,
            Fixtures.generatorOn("gap-stalled", fast({ timeout: "100 millis", retry: false }))
          )
          const last = Chunk.unsafeLast(results)
          assert.strictEqual(last._tag === "Left" ? last.left._tag : "no failure", "SagemakerTimeoutError")
          yield* Fixtures.awaitAborted("gap-stalled", 1)
        }))

      it.effect("a stream's timed-out attempt lets go of its request at once, not when the stream ends", () =>
        Effect.gen(function*() {
          const first = yield* Effect.scoped(Effect.gen(function*() {
            const pull = yield* Stream.toPull(SagemakerGenerator.stream("p"))
            const chunk = yield* pull
            // The retry's stream is still open: only the failed attempt's own release can have closed it.
            yield* Fixtures.awaitAborted("first-attempt-stalled", 1)
            return chunk
          })).pipe(Fixtures.generatorOn("first-attempt-stalled", fast({ timeout: "100 millis" })))
          assert.isAtLeast(Chunk.size(first), 1)
          assert.strictEqual((yield* Fixtures.requestsTo("first-attempt-stalled")).length, 2)
        }))

      it.effect("a deadline aborts the attempt in flight", () =>
        Effect.gen(function*() {
          const error = yield* SagemakerGenerator.run("p").pipe(
            Fixtures.generatorOn("deadline-stalled", fast({ retry: { deadline: "100 millis" } })),
            Effect.flip
          )
          assert.strictEqual(error._tag, "SagemakerTimeoutError")
          yield* Fixtures.awaitAborted("deadline-stalled", 1)
        }))
    }
  )
}
