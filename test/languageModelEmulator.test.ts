/**
 * `@effect/ai`'s own `LanguageModel.generateText`, `streamText` and `generateObject`, with a
 * `Toolkit` whose handler answers, through `SagemakerLanguageModel` on the real `SagemakerClient`
 * (both transports) against the emulator's chat personalities: vLLM for the `openai` dialect, TGI
 * and LMI for theirs, TGI's and LMI's generate routes for `text-generation`. Per dialect: a tool
 * loop to a final answer, `generateObject` into a Schema (the dialect's own way and by a forced
 * tool), streamed tool parameters reassembled exactly, usage and one finish on every response,
 * errors mapped, and interruption aborting the HTTP request.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import * as Fixtures from "./helpers/fixtures.js"
import { makeRecordingTracer } from "./helpers/tracer.js"
import { transports } from "./helpers/transports.js"

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ get_weather: ({ city }) => Effect.succeed(`Sunny in ${city}`) })

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

const QUESTION = "Please call get_weather for Paris."

const chatDialects = [
  { dialect: "openai", personality: "vllm" },
  { dialect: "tgi", personality: "tgi" },
  { dialect: "lmi", personality: "lmi" }
] as const satisfies ReadonlyArray<
  { dialect: SagemakerLanguageModel.Dialect; personality: SagemakerEmulator.Personality }
>

/** The endpoints of one dialect: one per test, each with its container and faults. */
const endpointsOf = (dialect: string, personality: SagemakerEmulator.Personality) =>
  ({
    [`${dialect}-loop`]: { personality },
    [`${dialect}-object`]: { personality },
    [`${dialect}-object-tool`]: { personality },
    [`${dialect}-stream-tool`]: { personality },
    [`${dialect}-usage`]: { personality },
    [`${dialect}-reasoning`]: { personality, container: { reasoning: true } },
    [`${dialect}-model-error`]: { personality, faults: { kind: "model-error", originalStatusCode: 400 } },
    [`${dialect}-generation-error`]: { personality, faults: { kind: "generation-error", afterTokens: 3 } },
    [`${dialect}-stall`]: { personality, faults: { kind: "stall", afterParts: 4 } }
  }) satisfies Record<string, SagemakerEmulator.EndpointOptions>

const emulatorOptions: SagemakerEmulator.Options = {
  endpoints: {
    ...Object.assign({}, ...chatDialects.map(({ dialect, personality }) => endpointsOf(dialect, personality))),
    "not-ready": { personality: "vllm", faults: { kind: "not-ready", count: 1 } },
    "malformed": { personality: "vllm", faults: { kind: "malformed" } },
    "reset": { personality: "vllm", faults: { kind: "reset" } },
    "slow": { personality: "vllm", faults: { kind: "latency", millis: 5_000 } },
    "traced": { personality: "vllm" },
    "configured": { personality: "vllm" },
    "routed": { personality: "vllm" },
    "as-model": { personality: "vllm" },
    "traced-error": { personality: "vllm", faults: { kind: "model-error" } },
    "tg-tgi": { personality: "tgi" },
    "tg-lmi": { personality: "lmi" }
  }
}

/** Runs `effect` with a language model for `endpointName` on the block's client. */
const withModel = (endpointName: string, options: Partial<SagemakerLanguageModel.Options> = {}) =>
  Effect.provide(SagemakerLanguageModel.layer({ endpointName, ...options }))

const requestBodies = (endpointName: string) =>
  Effect.map(Fixtures.requestsTo(endpointName), (requests) => requests.map((r) => JSON.parse(r.bodyText)))

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

/**
 * `error`, checked to be the `AiError` of `tag`. Compared by tag: a failing `instanceOf` on an
 * Effect value makes vitest's reporter format it for minutes.
 */
const aiError = <T extends AiError.AiError["_tag"]>(error: unknown, tag: T): Extract<AiError.AiError, { _tag: T }> => {
  assert.strictEqual((error as { readonly _tag?: unknown } | undefined)?._tag, tag)
  return error as Extract<AiError.AiError, { _tag: T }>
}

const finishes = (parts: ReadonlyArray<{ readonly type: string }>) => parts.filter((p) => p.type === "finish")

const assertUsage = (usage: Response.Usage) => {
  assert.isAbove(usage.inputTokens ?? 0, 0)
  assert.isAbove(usage.outputTokens ?? 0, 0)
  assert.strictEqual(usage.totalTokens, usage.inputTokens! + usage.outputTokens!)
}

/** The text of `streamText`'s deltas, and what its tool calls look like on the way. */
const streamSummary = <T extends Record<string, Tool.Any>>(parts: ReadonlyArray<Response.StreamPart<T>>) => {
  const params = new Map<string, string>()
  for (const part of parts) {
    if (part.type === "tool-params-start") params.set(part.id, "")
    if (part.type === "tool-params-delta") params.set(part.id, params.get(part.id)! + part.delta)
  }
  return {
    types: parts.map((p) => p.type),
    text: parts.flatMap((p) => p.type === "text-delta" ? [p.delta] : []).join(""),
    params
  }
}

for (const transport of transports) {
  const stack = Fixtures.client(transport).pipe(
    Layer.provideMerge(Fixtures.emulator(emulatorOptions)),
    Layer.merge(WeatherHandlers)
  )
  Fixtures.layerLive(stack)(`SagemakerLanguageModel over ${transport.name}`, (it) => {
    for (const { dialect, personality } of chatDialects) {
      it.effect(`${dialect}: a tool loop to a final answer (${personality})`, () =>
        Effect.gen(function*() {
          const first = yield* LanguageModel.generateText({ prompt: QUESTION, toolkit: Weather })
          assert.strictEqual(first.toolCalls.length, 1)
          const call = first.toolCalls[0]!
          assert.strictEqual(call.name, "get_weather")
          assert.isString(call.params.city)
          assert.deepStrictEqual(first.toolResults.map((r) => r.result), [`Sunny in ${call.params.city}`])
          assert.strictEqual(first.finishReason, "tool-calls")
          assertUsage(first.usage)
          if (dialect === "tgi") assert.strictEqual(call.id, "0")

          const history = Prompt.merge(Prompt.make(QUESTION), Prompt.fromResponseParts(first.content))
          const second = yield* LanguageModel.generateText({ prompt: history, toolkit: Weather })
          assert.strictEqual(second.toolCalls.length, 0)
          assert.include(second.text, `The tool returned "Sunny in ${call.params.city}".`)
          assert.include(["stop", "length"], second.finishReason)
          assertUsage(second.usage)

          // The container got the call and its result back, in its own terms.
          const [, sent] = yield* requestBodies(`${dialect}-loop`)
          const assistant = sent.messages[1]
          assert.strictEqual(assistant.tool_calls[0].id, call.id)
          assert.deepStrictEqual(
            assistant.tool_calls[0].function.arguments,
            dialect === "tgi" ? call.params : JSON.stringify(call.params)
          )
          assert.deepStrictEqual(sent.messages[2], {
            role: "tool",
            tool_call_id: call.id,
            content: `Sunny in ${call.params.city}`
          })
        }).pipe(withModel(`${dialect}-loop`, { dialect })))

      it.effect(`${dialect}: generateObject decodes into a Schema, as the dialect asks for JSON`, () =>
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateObject({ prompt: "Describe a person", schema: Person })
          assert.isString(response.value.name)
          assert.isNumber(response.value.age)
          assert.strictEqual(response.finishReason, "stop")
          assertUsage(response.usage)
          const [sent] = yield* requestBodies(`${dialect}-object`)
          assert.strictEqual(sent.response_format.type, dialect === "tgi" ? "json" : "json_schema")
        }).pipe(withModel(`${dialect}-object`, { dialect })))

      it.effect(`${dialect}: generateObject by a forced tool`, () =>
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateObject({
            prompt: "Describe a person",
            schema: Person,
            objectName: "person"
          })
          assert.isString(response.value.name)
          assert.isNumber(response.value.age)
          // The forced tool's call is the answer, not a tool call of the toolkit.
          assert.strictEqual(response.toolCalls.length, 0)
          const [sent] = yield* requestBodies(`${dialect}-object-tool`)
          assert.deepStrictEqual(sent.tool_choice, { type: "function", function: { name: "person" } })
          assert.isUndefined(sent.response_format)
        }).pipe(withModel(`${dialect}-object-tool`, { dialect, structuredOutput: "tool" })))

      it.effect(`${dialect}: streamed tool parameters reassembled exactly, then the call and its result`, () =>
        Effect.gen(function*() {
          const parts = yield* collect(LanguageModel.streamText({ prompt: QUESTION, toolkit: Weather }))
          const { params, types } = streamSummary(parts)
          const call = parts.find((p) => p.type === "tool-call")!
          assert.strictEqual(call.type, "tool-call")
          // The deltas are increments: together they are the arguments the container generated.
          assert.strictEqual(params.get(call.id), JSON.stringify(call.params))
          const deltas = parts.filter((p) => p.type === "tool-params-delta").length
          assert.isAbove(deltas, 2)
          assert.deepStrictEqual(types.filter((t) => t !== "tool-params-delta"), [
            "response-metadata",
            "tool-params-start",
            "tool-params-end",
            "tool-call",
            "finish",
            "tool-result"
          ])
          const finish = finishes(parts)[0] as Response.FinishPart
          assert.strictEqual(finish.reason, "tool-calls")
          const result = parts.find((p) => p.type === "tool-result")!
          assert.strictEqual(result.type === "tool-result" && result.result, `Sunny in ${call.params.city}`)
        }).pipe(withModel(`${dialect}-stream-tool`, { dialect })))

      it.effect(`${dialect}: usage and exactly one finish, on generateText and streamText`, () =>
        Effect.gen(function*() {
          const generated = yield* LanguageModel.generateText({ prompt: "Say hello" })
          assert.strictEqual(finishes(generated.content).length, 1)
          assert.strictEqual(generated.finishReason, "length")
          assert.strictEqual(generated.usage.outputTokens, 8)
          assertUsage(generated.usage)
          const metadata = generated.content.find((p) => p.type === "response-metadata")!
          assert.isTrue(metadata.type === "response-metadata")

          const parts = yield* collect(LanguageModel.streamText({ prompt: "Say hello" }))
          const { text, types } = streamSummary(parts)
          assert.strictEqual(text, generated.text)
          assert.deepStrictEqual(types.filter((t) => t !== "text-delta"), [
            "response-metadata",
            "text-start",
            "text-end",
            "finish"
          ])
          const finish = finishes(parts)[0] as Response.FinishPart
          assert.strictEqual(finish.reason, "length")
          assert.deepStrictEqual(finish.metadata.sagemaker?.finishReason, "length")
          if (dialect === "lmi") {
            // LMI's chat stream carries no usage at all: the finish comes without it.
            assert.isUndefined(finish.usage.inputTokens)
          } else {
            assertUsage(finish.usage)
          }
        }).pipe(withModel(`${dialect}-usage`, { dialect, config: { max_tokens: 8, seed: 1 } })))

      if (dialect !== "tgi") {
        it.effect(`${dialect}: a reasoning container's reasoning comes apart from the text`, () =>
          Effect.gen(function*() {
            const generated = yield* LanguageModel.generateText({ prompt: "Explain tides" })
            assert.match(generated.reasoningText ?? "", /^Let me think about/)
            assert.isAbove(generated.text.length, 0)
            const parts = yield* collect(LanguageModel.streamText({ prompt: "Explain tides" }))
            const types = parts.map((p) => p.type).filter((t) => !t.endsWith("-delta"))
            assert.deepStrictEqual(types, [
              "response-metadata",
              "reasoning-start",
              "reasoning-end",
              "text-start",
              "text-end",
              "finish"
            ])
            const reasoning = parts.flatMap((p) => p.type === "reasoning-delta" ? [p.delta] : []).join("")
            assert.strictEqual(reasoning, generated.reasoningText)
          }).pipe(withModel(`${dialect}-reasoning`, { dialect, config: { max_tokens: 30, seed: 2 } })))
      }

      it.effect(`${dialect}: a container's error status is an HttpResponseError with its own status`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "Hello" }))
          const errorChecked = aiError(error, "HttpResponseError")
          assert.strictEqual(errorChecked.response.status, 400)
          const original = SagemakerLanguageModel.sagemakerError(errorChecked)
          assert.strictEqual(original?._tag, "SagemakerInferenceError")
          assert.strictEqual(original?._tag === "SagemakerInferenceError" && original.statusCode, 424)
          const streamed = yield* Effect.flip(collect(LanguageModel.streamText({ prompt: "Hello" })))
          aiError(streamed, "HttpResponseError")
        }).pipe(withModel(`${dialect}-model-error`, { dialect, retry: false })))

      it.effect(`${dialect}: a generation that fails mid-stream ends the stream with UnknownError after its text`, () =>
        Effect.gen(function*() {
          const results = yield* collect(Stream.either(LanguageModel.streamText({ prompt: "Tell a story" })))
          const last = results.at(-1)!
          assert.isTrue(last._tag === "Left")
          const error = last._tag === "Left" ? last.left : undefined
          const errorChecked = aiError(error, "UnknownError")
          assert.strictEqual(SagemakerLanguageModel.sagemakerError(errorChecked)?._tag, "SagemakerStreamError")
          const deltas = results.filter((r) => r._tag === "Right" && r.right.type === "text-delta")
          assert.isAbove(deltas.length, 0)
          assert.isFalse(results.some((r) => r._tag === "Right" && r.right.type === "finish"))
        }).pipe(withModel(`${dialect}-generation-error`, { dialect, config: { max_tokens: 20 } })))

      it.effect(`${dialect}: closing a stream early aborts its HTTP request`, () =>
        Effect.gen(function*() {
          const parts = yield* collect(LanguageModel.streamText({ prompt: "Tell a story" }).pipe(Stream.take(3)))
          assert.deepStrictEqual(parts.map((p) => p.type), ["response-metadata", "text-start", "text-delta"])
          yield* Fixtures.awaitAborted(`${dialect}-stall`, 1)
        }).pipe(withModel(`${dialect}-stall`, { dialect })))
    }

    it.effect("the span @effect/ai opens carries the GenAI attributes, never the prompt or the output", () =>
      Effect.gen(function*() {
        const { spans, tracer } = makeRecordingTracer()
        const secretPrompt = "My passport number is X1234567"
        const generated = yield* LanguageModel.generateText({ prompt: secretPrompt }).pipe(
          withModel("traced", { config: { temperature: 0.5, top_p: 0.9, max_tokens: 12, seed: 3 } }),
          Effect.withTracer(tracer)
        )
        yield* collect(LanguageModel.streamText({ prompt: secretPrompt })).pipe(
          withModel("traced", { config: { max_tokens: 5 } }),
          Effect.withTracer(tracer)
        )
        yield* Effect.exit(LanguageModel.generateText({ prompt: "Hi" })).pipe(
          withModel("traced-error", { retry: false }),
          Effect.withTracer(tracer)
        )
        const named = (name: string) => spans.filter((span) => span.name === name)
        const [generate, failed] = named("LanguageModel.generateText")
        const [stream] = named("LanguageModel.streamText")
        assert.deepStrictEqual(
          Object.fromEntries([...generate!.attributes].filter(([key]) => key.startsWith("gen_ai"))),
          {
            "gen_ai.system": "aws.sagemaker",
            "gen_ai.provider.name": "aws.sagemaker",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "traced",
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.max_tokens": 12,
            "gen_ai.request.seed": 3,
            "gen_ai.response.id": generated.content.find((p) => p.type === "response-metadata")!.id.pipe(
              (id) => id._tag === "Some" ? id.value : undefined
            ),
            "gen_ai.response.model": "traced",
            "gen_ai.response.finish_reasons": ["length"],
            "gen_ai.usage.input_tokens": generated.usage.inputTokens,
            "gen_ai.usage.output_tokens": 12
          }
        )
        assert.deepStrictEqual(stream!.attributes.get("gen_ai.response.finish_reasons"), ["length"])
        assert.strictEqual(stream!.attributes.get("gen_ai.usage.output_tokens"), 5)
        assert.strictEqual(failed!.attributes.get("error.type"), "SagemakerInferenceError")
        const everything = JSON.stringify(spans.map((span) => [...span.attributes]))
        assert.notInclude(everything, "X1234567")
        assert.notInclude(everything, generated.text.slice(0, 20))
      }))

    it.effect("withConfigOverride replaces the layer's sampling fields for one call; a bad one is refused", () =>
      Effect.gen(function*() {
        yield* LanguageModel.generateText({ prompt: "Hello" })
        yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(
          SagemakerLanguageModel.withConfigOverride({ max_tokens: 4, extraBody: { top_k: 5 } })
        )
        const bad = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Hello" }).pipe(SagemakerLanguageModel.withConfigOverride({ seed: -1 }))
        )
        assert.include(aiError(bad, "MalformedInput").description, "Invalid config.seed")
        const [layerOnly, overridden] = yield* requestBodies("configured")
        assert.deepStrictEqual([layerOnly.max_tokens, layerOnly.temperature, layerOnly.top_k], [9, 0.3, undefined])
        assert.deepStrictEqual([overridden.max_tokens, overridden.temperature, overridden.top_k], [4, 0.3, 5])
        assert.strictEqual((yield* Fixtures.requestsTo("configured")).length, 2)
      }).pipe(withModel("configured", { config: { max_tokens: 9, temperature: 0.3 } })))

    it.effect("the generator's request options go with every call: routing and custom attributes", () =>
      Effect.gen(function*() {
        yield* LanguageModel.generateText({ prompt: "Hello" })
        yield* collect(LanguageModel.streamText({ prompt: "Hello" }))
        const requests = yield* Fixtures.requestsTo("routed")
        for (const request of requests) {
          assert.strictEqual(request.headers["x-amzn-sagemaker-inference-component"], "chat-component")
          assert.strictEqual(request.headers["x-amzn-sagemaker-custom-attributes"], "tenant=acme")
        }
        assert.deepStrictEqual(requests.map((r) => r.operation), ["invoke", "stream"])
      }).pipe(withModel("routed", {
        inferenceComponentName: "chat-component",
        awsCustomAttributes: { tenant: "acme" }
      })))

    it.effect("model(): an @effect/ai Model of provider aws.sagemaker", () =>
      Effect.gen(function*() {
        const chat = SagemakerLanguageModel.model("as-model", { config: { max_tokens: 3 } })
        assert.strictEqual(chat.provider, "aws.sagemaker")
        const response = yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(Effect.provide(chat))
        assert.strictEqual(response.usage.outputTokens, 3)
        assert.strictEqual(yield* AiModel.ProviderName.pipe(Effect.provide(chat)), "aws.sagemaker")
      }))

    it.effect("our retry policy runs first: a model that is not ready yet answers on the second attempt", () =>
      Effect.gen(function*() {
        const response = yield* LanguageModel.generateText({ prompt: "Hello" })
        assert.isAbove(response.text.length, 0)
        assert.strictEqual((yield* Fixtures.requestsTo("not-ready")).length, 2)
      }).pipe(withModel("not-ready", { retry: { baseDelay: "5 millis" } })))

    it.effect("an unreadable body is MalformedOutput; a reset connection is HttpRequestError", () =>
      Effect.gen(function*() {
        const malformed = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Hello" }).pipe(withModel("malformed"))
        )
        const malformedChecked = aiError(malformed, "MalformedOutput")
        assert.strictEqual(SagemakerLanguageModel.sagemakerError(malformedChecked)?._tag, "SagemakerResponseError")
        const reset = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Hello" }).pipe(withModel("reset", { retry: false }))
        )
        const resetChecked = aiError(reset, "HttpRequestError")
        assert.strictEqual(resetChecked.reason, "Transport")
        assert.strictEqual(SagemakerLanguageModel.sagemakerError(resetChecked)?._tag, "SagemakerInferenceError")
      }))

    it.effect("a timeout is HttpRequestError, and interrupting a call aborts its HTTP request", () =>
      Effect.gen(function*() {
        const timedOut = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Hello" }).pipe(
            withModel("slow", { timeout: "50 millis", retry: false })
          )
        )
        const timedOutChecked = aiError(timedOut, "HttpRequestError")
        assert.strictEqual(SagemakerLanguageModel.sagemakerError(timedOutChecked)?._tag, "SagemakerTimeoutError")
        yield* Fixtures.awaitAborted("slow", 1)
        const interrupted = yield* Effect.exit(
          LanguageModel.generateText({ prompt: "Hello" }).pipe(withModel("slow"), Effect.timeout("50 millis"))
        )
        assert.isTrue(Exit.isFailure(interrupted))
        yield* Fixtures.awaitAborted("slow", 2)
      }))

    for (const personality of ["tgi", "lmi"] as const) {
      it.effect(`text-generation on ${personality}'s generate route: the template rendered, usage and finish`, () =>
        Effect.gen(function*() {
          const generated = yield* LanguageModel.generateText({
            prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }]
          })
          assert.isAbove(generated.text.length, 0)
          assert.strictEqual(generated.finishReason, "length")
          assert.strictEqual(generated.usage.outputTokens, 6)
          const parts = yield* collect(LanguageModel.streamText({ prompt: "Say hello" }))
          const { text, types } = streamSummary(parts)
          assert.isAbove(text.length, 0)
          assert.deepStrictEqual(types.filter((t) => t !== "text-delta"), [
            "response-metadata",
            "text-start",
            "text-end",
            "finish"
          ])
          const finish = finishes(parts)[0] as Response.FinishPart
          assert.strictEqual(finish.reason, "length")
          assert.strictEqual(finish.usage.outputTokens, 6)
          const [sent] = yield* requestBodies(`tg-${personality}`)
          assert.strictEqual(
            sent.inputs,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
              "<|start_header_id|>user<|end_header_id|>\n\nSay hello<|eot_id|>" +
              "<|start_header_id|>assistant<|end_header_id|>\n\n"
          )
          assert.deepStrictEqual(sent.parameters, {
            max_new_tokens: 6,
            do_sample: false,
            return_full_text: false,
            details: true
          })
          const refused = yield* Effect.flip(LanguageModel.generateText({ prompt: QUESTION, toolkit: Weather }))
          aiError(refused, "MalformedInput")
          assert.strictEqual((yield* Fixtures.requestsTo(`tg-${personality}`)).length, 2)
        }).pipe(withModel(`tg-${personality}`, {
          dialect: "text-generation",
          chatTemplate: "llama3",
          config: { temperature: 0, max_tokens: 6 }
        })))
    }
  })
}
