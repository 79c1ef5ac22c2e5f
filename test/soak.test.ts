/**
 * The short soak of `npm test` (the long one is `npm run soak`): 600 calls per transport, 40% of them meeting a
 * fault, 200 at a time, against the emulator on loopback. Every call ends in a reply or its
 * endpoint's typed error; nothing is left unhandled, hung or open; the heap comes back.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { runSoak } from "./helpers/soak.js"
import { transports } from "./helpers/transports.js"

const CALLS = 600

for (const transport of transports) {
  describe(`soak (${transport.name} transport)`, () => {
    it.live(`${CALLS} calls with random faults at concurrency 200`, () =>
      Effect.gen(function*() {
        const f = yield* runSoak({
          calls: CALLS,
          concurrency: 200,
          seed: 42,
          maxMillis: 20_000,
          warmup: 100,
          transport
        })
        const context = JSON.stringify({ ...f, memoryStart: undefined })
        assert.strictEqual(f.completed, CALLS, context)
        assert.strictEqual(f.skipped, 0, context)
        assert.strictEqual(f.hung, 0, context)
        assert.deepStrictEqual(f.defects, [], context)
        assert.deepStrictEqual(f.unexpected, [], context)
        assert.strictEqual(f.unhandledRejections, 0, context)
        // The seed's mix: about 40% of calls meet a fault, and every kind of outcome occurs.
        assert.isAbove(f.faultRate, 0.3, context)
        assert.isBelow(f.faultRate, 0.5, context)
        assert.deepStrictEqual(Object.keys(f.outcomes).sort(), [
          "SagemakerInferenceError",
          "SagemakerNotReadyError",
          "SagemakerResponseError",
          "SagemakerStreamError",
          "SagemakerThrottlingError",
          "SagemakerTimeoutError",
          "reply"
        ])
        // Retries happened: more requests than calls.
        assert.isAbove(f.requests, CALLS, context)
        // Nothing left open: connections, sockets, servers, timers.
        assert.strictEqual(f.openConnectionsAfter, 0, context)
        assert.deepStrictEqual(f.resourcesLeft, {}, context)
        // The heap (after GC) is back near its level after warm-up.
        assert.isBelow(f.memoryAfter.heapUsed - f.memoryBefore.heapUsed, 32 * 1_048_576, context)
      }), 60_000)
  })
}
