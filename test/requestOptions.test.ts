/**
 * Per-call request options (the third argument of `run` and `stream`): they replace the layer's
 * member by member, are checked by the operation's own rules before any request, and a stateful
 * session opened by one call is continued by the next.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient, testEnv, utf8 } from "./helpers/generator.js"
import { transports } from "./helpers/transports.js"

const OK = utf8(JSON.stringify([{ generated_text: "ok" }]))

const setup = (options: Partial<SagemakerGenerator.Options>) => {
  const fake = fakeClient(
    () => Effect.succeed(OK),
    () => Effect.succeed(Stream.make(utf8("data:{\"token\":{\"text\":\"a\"}}\n")))
  )
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(SagemakerGenerator.layerWithClient({ model: "m", ...options })),
      Effect.provide(fake.layer)
    )
  return { calls: fake.calls, provide }
}

describe("per-call request options", () => {
  it.effect("replace the layer's routing member by member, and custom attributes key by key", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({
        targetVariant: "blue",
        inferenceId: "layer-id",
        awsCustomAttributes: { tenant: "acme", trace: 1 }
      })
      yield* provide(Effect.all([
        SagemakerGenerator.run("p"),
        SagemakerGenerator.run("p", null, {
          targetVariant: "green",
          prefixAwareId: "app-7",
          awsCustomAttributes: { trace: 2 }
        })
      ]))
      const [layer, call] = calls
      assert.deepStrictEqual(
        [layer!.targetVariant, layer!.inferenceId, layer!.prefixAwareId, layer!.customAttributes],
        ["blue", "layer-id", undefined, "tenant=acme;trace=1"]
      )
      assert.deepStrictEqual(
        [call!.targetVariant, call!.inferenceId, call!.prefixAwareId, call!.customAttributes],
        ["green", "layer-id", "app-7", "tenant=acme;trace=2"]
      )
    }))

  it.effect("are checked before any request, naming the field", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({})
      const errors = yield* provide(Effect.all([
        Effect.flip(SagemakerGenerator.run("p", null, { targetVariant: "not a variant" })),
        Effect.flip(SagemakerGenerator.run("p", null, { inferenceId: "x".repeat(65) })),
        Effect.flip(SagemakerGenerator.run("p", null, { timeout: "-1 seconds" })),
        Effect.flip(SagemakerGenerator.run("p", null, { awsCustomAttributes: { a: "b;c" } })),
        Effect.flip(SagemakerGenerator.run("p", null, { retry: { attempts: 0 } })),
        Effect.flip(SagemakerGenerator.run("p", null, "nope" as never)),
        Stream.runDrain(SagemakerGenerator.stream("p", null, { sessionId: "NEW_SESSION" })).pipe(Effect.flip),
        Stream.runDrain(SagemakerGenerator.stream("p", null, { targetModel: "a.tar.gz" })).pipe(Effect.flip)
      ]))
      assert.deepStrictEqual(
        errors.map((e) => e._tag === "SagemakerValidationError" ? e.field : e._tag),
        [
          "targetVariant",
          "inferenceId",
          "timeout",
          "awsCustomAttributes.a",
          "retry",
          "request",
          "sessionId",
          "targetModel"
        ]
      )
      assert.match(errors[6]!.message, /a stream cannot open a session/)
      assert.match(errors[7]!.message, /not a member of the stream route/)
      assert.strictEqual(calls.length, 0)
    }))

  it.effect("a layer's NEW_SESSION is refused by stream, which cannot open a session", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({ sessionId: "NEW_SESSION" })
      const error = yield* provide(Stream.runDrain(SagemakerGenerator.stream("p")).pipe(Effect.flip))
      assert.strictEqual(error._tag, "SagemakerValidationError")
      assert.strictEqual(calls.length, 0)
    }))
})

describe("stateful sessions against the emulator", () => {
  for (const transport of transports) {
    it.scopedLive(`${transport.name}: NEW_SESSION gives a session id that the next calls continue`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
        const generator = SagemakerGenerator.layer({ ...transport.options, model: "ep", endpointUrl: emulator.url })
        const opened = yield* SagemakerGenerator.runWithMetadata("hello", { max_new_tokens: 4 }, {
          sessionId: "NEW_SESSION"
        }).pipe(Effect.provide(generator), Effect.withConfigProvider(ConfigProvider.fromMap(testEnv)))
        const newSessionId = opened.invocation.newSessionId
        assert.isDefined(newSessionId)
        assert.match(newSessionId!, /^[a-zA-Z0-9-]+; Expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        assert.strictEqual(opened.invocation.invokedProductionVariant, "AllTraffic")
        assert.isString(opened.replies[0])

        const sessionId = SagemakerGenerator.sessionIdOf(newSessionId!)
        const chunks = yield* SagemakerGenerator.stream("more", { max_new_tokens: 4 }, { sessionId }).pipe(
          Stream.runCollect,
          Effect.provide(generator),
          Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
        )
        assert.isAbove(chunks.length, 0)
        const sent = (yield* emulator.requests).map((request) => request.headers["x-amzn-sagemaker-session-id"])
        assert.deepStrictEqual(sent, ["NEW_SESSION", sessionId])
      }))
  }
})
