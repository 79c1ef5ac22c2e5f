/**
 * The fault matrix (issue 5): every fault the emulator injects, through the real transport and the
 * generator, for every transport of `transports`: the error's tag and fields, whether it was
 * retried (how many requests the emulator saw, how many the client abandoned), the chunks a stream
 * delivered first, and a time bound. The rows are data (`helpers/faultMatrix.ts`), printed for the
 * README by `test/reliability/faultMatrixTable.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { rows, runRow } from "./helpers/faultMatrix.js"
import { transports } from "./helpers/transports.js"

for (const variant of transports) {
  describe(`fault matrix (${variant.name} transport)`, () => {
    for (const row of rows) {
      const expect = row.expect
      it.live(`${row.operation}: ${row.fault} → ${expect.outcome}, ${expect.requests} request(s)`, () =>
        Effect.gen(function*() {
          const outcome = yield* runRow(row, variant)
          const context = JSON.stringify({ ...outcome, error: outcome.error?.message })
          assert.strictEqual(outcome.outcome, expect.outcome, context)
          for (const [key, value] of Object.entries(expect.fields ?? {})) {
            assert.deepStrictEqual(
              (outcome.error as unknown as Record<string, unknown>)[key],
              value,
              `${key}: ${context}`
            )
          }
          assert.strictEqual(outcome.requests, expect.requests, `requests: ${context}`)
          assert.strictEqual(outcome.aborted, expect.aborted ?? 0, `aborted: ${context}`)
          // A non-retryable error is never retried.
          if (outcome.error !== undefined && !outcome.error.retryable) assert.strictEqual(outcome.requests, 1, context)
          if (expect.chunks !== undefined) assert.strictEqual(outcome.chunks, expect.chunks, `chunks: ${context}`)
          if (expect.outcome === "reply") assert.isAbove(row.operation === "run" ? 1 : outcome.chunks, 0)
          assert.isAtLeast(outcome.millis, expect.minMillis ?? 0, `time: ${context}`)
          assert.isBelow(outcome.millis, expect.maxMillis, `time: ${context}`)
        }))
    }
  })
}
