/**
 * The request options of one `SagemakerLanguageModel` call (`Config`'s `request`, through
 * `withConfigOverride`), on the real `SagemakerClient` (both transports) against the emulator: merged
 * over the layer's member by member (custom attributes key by key) on `generateText` and
 * `streamText`, a call's timeout and retry in place of the layer's, and a bad option refused with
 * `MalformedInput` naming the field before anything is sent, by the generator's per-call rules.
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as SagemakerClient from "../src/SagemakerClient.js"
import type * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import * as Fixtures from "./helpers/fixtures.js"
import { transports } from "./helpers/transports.js"

const emulatorOptions = {
  endpoints: {
    "routed": { personality: "vllm" },
    "routed-tgi": { personality: "tgi" },
    "slow": { personality: "vllm", faults: { kind: "latency", millis: 600 } },
    "warming": { personality: "vllm", faults: { kind: "not-ready", count: 1 } },
    "refused": { personality: "vllm" }
  }
} as const

const withModel = (endpointName: string, options: Partial<SagemakerLanguageModel.Options> = {}) =>
  Effect.provide(SagemakerLanguageModel.layer({ endpointName, ...options }))

const withRequest = (request: SagemakerGenerator.RequestOptions | unknown) =>
  SagemakerLanguageModel.withConfigOverride({ request: request as SagemakerGenerator.RequestOptions })

const generate = LanguageModel.generateText({ prompt: "Hello" })
const stream = Effect.asVoid(Stream.runDrain(LanguageModel.streamText({ prompt: "Hello" })))

/** `error`, checked to be the `AiError` of `tag` (compared by tag, as vitest formats Effect values slowly). */
const aiError = <T extends AiError.AiError["_tag"]>(error: unknown, tag: T): Extract<AiError.AiError, { _tag: T }> => {
  assert.strictEqual((error as { readonly _tag?: unknown } | undefined)?._tag, tag)
  return error as Extract<AiError.AiError, { _tag: T }>
}

const headersOf = (endpointName: string, ...names: ReadonlyArray<string>) =>
  Effect.map(
    Fixtures.requestsTo(endpointName),
    (requests) => requests.map((r) => [r.operation, ...names.map((name) => r.headers[name])])
  )

const ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
const VARIANT = "x-amzn-sagemaker-target-variant"
const COMPONENT = "x-amzn-sagemaker-inference-component"

for (const transport of transports) {
  const stack = Fixtures.client(transport).pipe(Layer.provideMerge(Fixtures.emulator(emulatorOptions)))
  Fixtures.layerLive(stack)(`per-call request options over ${transport.name}`, (it) => {
    it.effect("a call's custom attributes and target variant reach the container, over the layer's", () =>
      Effect.gen(function*() {
        yield* generate
        const perCall = { targetVariant: "canary", awsCustomAttributes: { trace: "t-1", tenant: "beta" } }
        yield* generate.pipe(withRequest(perCall))
        yield* stream.pipe(withRequest(perCall))
        yield* stream
        assert.deepStrictEqual(yield* headersOf("routed", ATTRIBUTES, VARIANT, COMPONENT), [
          ["invoke", "tenant=acme;region=eu", undefined, "chat"],
          ["invoke", "tenant=beta;region=eu;trace=t-1", "canary", "chat"],
          ["stream", "tenant=beta;region=eu;trace=t-1", "canary", "chat"],
          ["stream", "tenant=acme;region=eu", undefined, "chat"]
        ])
      }).pipe(withModel("routed", {
        inferenceComponentName: "chat",
        awsCustomAttributes: { tenant: "acme", region: "eu" }
      })))

    it.effect("on the tgi dialect too, and a layer's config.request applies to every call", () =>
      Effect.gen(function*() {
        yield* generate
        yield* stream.pipe(withRequest({ inferenceComponentName: "other" }))
        assert.deepStrictEqual(yield* headersOf("routed-tgi", VARIANT, COMPONENT), [
          ["invoke", "blue", undefined],
          // A nested override replaces the request as a whole, as it replaces the other fields.
          ["stream", undefined, "other"]
        ])
      }).pipe(withModel("routed-tgi", { dialect: "tgi", config: { request: { targetVariant: "blue" } } })))

    it.effect("a call's timeout replaces the layer's, both ways, on generateText and streamText", () =>
      Effect.gen(function*() {
        const short = { timeout: "100 millis", retry: false } as const
        // The layer's 100 ms times out the 600 ms answer; the call's 20 s waits for it.
        const layerTimedOut = yield* Effect.flip(generate.pipe(withModel("slow", short)))
        const checked = aiError(layerTimedOut, "HttpRequestError")
        assert.strictEqual(SagemakerLanguageModel.sagemakerError(checked)?._tag, "SagemakerTimeoutError")
        const answered = yield* generate.pipe(withRequest({ timeout: "20 seconds" }), withModel("slow", short))
        assert.isAbove(answered.text.length, 0)
        yield* stream.pipe(withRequest({ timeout: "20 seconds" }), withModel("slow", short))
        // No timeout on the layer; the call's 100 ms bounds it.
        for (const call of [generate, stream]) {
          const timedOut = yield* Effect.flip(call.pipe(withRequest(short), withModel("slow")))
          const error = SagemakerLanguageModel.sagemakerError(aiError(timedOut, "HttpRequestError"))
          assert.strictEqual(error?._tag, "SagemakerTimeoutError")
          assert.strictEqual(error?.message, "SageMaker request to 'slow' timed out after 100ms")
        }
        yield* Fixtures.awaitAborted("slow", 3)
        const requests = yield* Fixtures.requestsTo("slow")
        assert.deepStrictEqual(requests.map((r) => [r.operation, r.aborted]), [
          ["invoke", true],
          ["invoke", false],
          ["stream", false],
          ["invoke", true],
          ["stream", true]
        ])
      }))

    it.effect("a call's retry replaces the layer's: a model not ready answers on the second attempt", () =>
      Effect.gen(function*() {
        const answered = yield* generate.pipe(
          withRequest({ retry: { baseDelay: "5 millis" } }),
          withModel("warming", { retry: false })
        )
        assert.isAbove(answered.text.length, 0)
        assert.deepStrictEqual((yield* Fixtures.requestsTo("warming")).map((r) => r.status), [429, 200])
      }))

    it.effect("a bad option of a call fails with MalformedInput naming the field; nothing is sent", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<
          readonly [Effect.Effect<unknown, AiError.AiError, LanguageModel.LanguageModel>, unknown, string]
        > = [
          [generate, { timeout: -5 }, "Invalid config.request.timeout: must be a positive duration"],
          [generate, "fast", "Invalid config.request: must be an object of request options, got string"],
          [
            generate,
            { targetVariant: "no spaces!" },
            "Invalid config.request.targetVariant: must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
          ],
          [
            stream,
            { awsCustomAttributes: { k: "a;b" } },
            "Invalid config.request.awsCustomAttributes.k: the value must not contain ';' or '='"
          ],
          [
            generate,
            { retry: { attempts: 0 } },
            "Invalid config.request.retry: attempts must be a whole number of at least 1, got 0"
          ],
          [
            stream,
            { sessionId: "NEW_SESSION" },
            "Invalid config.request.sessionId: must be an existing session's id " +
            "(a stream cannot open a session: NEW_SESSION needs run)"
          ],
          [
            stream,
            { targetModel: "model-a" },
            "Invalid config.request.targetModel: is not a member of the stream route"
          ]
        ]
        for (const [call, request, message] of cases) {
          const failed = yield* Effect.flip(call.pipe(withRequest(request)))
          const checked = aiError(failed, "MalformedInput")
          assert.strictEqual(checked.description, message)
          const original = SagemakerLanguageModel.sagemakerError(checked)
          assert.strictEqual(original?._tag, "SagemakerValidationError")
        }
        assert.deepStrictEqual(yield* Fixtures.requestsTo("refused"), [])
      }).pipe(withModel("refused")))

    it.effect("a layer whose config.request is bad is refused when it is built, naming the field", () =>
      Effect.gen(function*() {
        const client = yield* SagemakerClient.SagemakerClient
        const made = yield* Effect.either(
          SagemakerLanguageModel.make({
            endpointName: "refused",
            config: { request: { timeout: "soon" as unknown as Duration.DurationInput } }
          }).pipe(
            Effect.provideService(SagemakerClient.SagemakerClient, client)
          )
        )
        assert.isTrue(Either.isLeft(made))
        if (Either.isLeft(made)) assert.strictEqual(made.left.field, "config.request.timeout")
        assert.deepStrictEqual(yield* Fixtures.requestsTo("refused"), [])
      }))
  })
}
