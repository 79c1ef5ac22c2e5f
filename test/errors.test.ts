/** The error union as a schema: errors survive encoding (for RPC or storage) with `retryable`. */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SagemakerError from "../src/SagemakerError.js"

describe("SagemakerError", () => {
  it.effect("round-trips through its Schema, keeping tag, fields, retryable and message", () =>
    Effect.gen(function*() {
      const errors: ReadonlyArray<SagemakerError.SagemakerError> = [
        new SagemakerError.SagemakerNotReadyError({ endpointName: "ep", statusCode: 429, text: "loading" }),
        new SagemakerError.SagemakerInferenceError({
          endpointName: "ep",
          statusCode: 424,
          errorCode: "ModelError",
          text: "bad",
          originalStatusCode: 400
        }),
        new SagemakerError.SagemakerTimeoutError({ endpointName: "ep", timeoutMillis: 1500 }),
        new SagemakerError.AWSConfigurationError({ model: "ep", description: "no region" })
      ]
      for (const error of errors) {
        const encoded = yield* Schema.encode(SagemakerError.SagemakerError)(error)
        const json = JSON.parse(JSON.stringify(encoded))
        const decoded = yield* Schema.decodeUnknown(SagemakerError.SagemakerError)(json)
        assert.strictEqual(decoded._tag, error._tag)
        assert.strictEqual(decoded.retryable, error.retryable)
        assert.strictEqual(decoded.message, error.message)
        assert.isTrue(SagemakerError.isSagemakerError(decoded))
      }
      assert.deepStrictEqual(errors.map((e) => e.retryable), [true, false, true, false])
    }))

  it("the guard refuses look-alikes", () => {
    assert.isFalse(SagemakerError.isSagemakerError({ _tag: "SagemakerNotReadyError", message: "x" }))
    assert.isFalse(SagemakerError.isSagemakerError(new Error("x")))
    assert.isFalse(SagemakerError.isSagemakerError(null))
  })
})
