/**
 * `SagemakerLanguageModel` on the real servers' own bytes: the emulator's responder answers with a
 * payload of test/fixtures/containers (TGI, vLLM, LMI, each citing its upstream source), and
 * `@effect/ai`'s `generateText` / `streamText` read it through the real client over both
 * transports. Pinned here: each server's tool-call stream as true increments (the server's own
 * fragments), TGI 2.x's unnamed streamed calls, LMI's repeated names and missing ids, reasoning of
 * both vLLM generations, usage (or its absence), finish reasons, and the errors. A few answers are
 * derived from a fixture (arguments cut short, a fenced JSON answer); each says so.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import type { ContainerFixture, StreamFixture } from "./fixtures/containers/fixture.js"
import { lmi } from "./fixtures/containers/lmi.js"
import { tgi } from "./fixtures/containers/tgi.js"
import { vllm } from "./fixtures/containers/vllm.js"
import * as Fixtures from "./helpers/fixtures.js"
import { transports } from "./helpers/transports.js"

const fixture = (list: ReadonlyArray<ContainerFixture>, name: string): ContainerFixture => {
  const found = list.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no fixture named ${JSON.stringify(name)}`)
  return found
}

/** What the container flushes, one write per SSE event or JSON line. */
const writesOf = (body: string, contentType: string): ReadonlyArray<string> => {
  if (contentType.startsWith("text/event-stream")) return body.split(/(?<=\n\n)/)
  if (contentType.startsWith("application/jsonlines")) return body.split(/(?<=\n)/)
  return [body]
}

const answer = (f: Pick<ContainerFixture, "status" | "contentType" | "body">): SagemakerEmulator.Responder => () => ({
  status: f.status,
  contentType: f.contentType,
  body: writesOf(f.body, f.contentType)
})

const tgiToolStream = fixture(tgi, "chat stream of a tool call (TGI 3): tool_calls deltas, name on the first only")
const tgiLegacyToolStream = fixture(
  tgi,
  "chat stream of a tool call (TGI 2.4): tool_calls is an object, the whole grammar JSON streams as arguments"
)
const vllmToolStream = fixture(vllm, "chat stream of an auto tool call: id and name first, then argument fragments")
const lmiNamedToolStream = fixture(
  lmi,
  "chat jsonlines stream with a named tool choice: every delta repeats the function name"
)
const vllmToolCall = fixture(vllm, "chat completion with an auto tool call: content null, finish_reason tool_calls")

/** vLLM's tool call with its arguments cut short, as a model that ran out of tokens writes them (ours). */
const cutArguments = {
  ...vllmToolCall,
  body: vllmToolCall.body.replace(
    "{\\\"location\\\": \\\"San Francisco, CA\\\", \\\"unit\\\": \\\"fahrenheit\\\"}",
    "{\\\"location\\\": \\\"San Fr"
  )
}
/** TGI 3's tool-call stream without its last fragment, the closing `"}` (ours). */
const cutStream = (() => {
  const events = tgiToolStream.body.split(/(?<=\n\n)/)
  return { ...tgiToolStream, body: [...events.slice(0, -2), events.at(-1)!].join("") }
})()
/** vLLM's text answer carrying a JSON object in a Markdown fence (ours: the content replaced). */
const vllmText = fixture(vllm, "chat completion (text), every ChatMessage field written")
const fencedJson = {
  ...vllmText,
  body: vllmText.body.replace(
    /"content":"(?:[^"\\]|\\.)*"/,
    JSON.stringify({ content: "```json\n{\"name\": \"Ada\", \"age\": 36}\n```" }).slice(1, -1)
  )
}

const endpoints: Record<
  string,
  { readonly dialect: SagemakerLanguageModel.Dialect; readonly fixture: ContainerFixture }
> = {
  "tgi-tool-stream": { dialect: "tgi", fixture: tgiToolStream },
  "tgi-legacy-tool-stream": { dialect: "tgi", fixture: tgiLegacyToolStream },
  "vllm-tool-stream": { dialect: "openai", fixture: vllmToolStream },
  "lmi-named-tool-stream": { dialect: "lmi", fixture: lmiNamedToolStream },
  "vllm-reasoning-stream": {
    dialect: "openai",
    fixture: fixture(vllm, "chat stream with reasoning_content deltas (vLLM before 0.11)")
  },
  "vllm-reasoning-stream-new": {
    dialect: "openai",
    fixture: fixture(
      vllm,
      "chat stream with reasoning deltas (current vLLM): reasoning, mirrored into reasoning_content"
    )
  },
  "vllm-usage-stream": {
    dialect: "openai",
    fixture: fixture(
      vllm,
      "chat stream with include_usage: role-only first chunk, finish chunk, usage chunk with choices []"
    )
  },
  "lmi-chat-stream": {
    dialect: "lmi",
    fixture: fixture(lmi, "chat jsonlines stream: logprobs as a one-element list, role on the first delta only")
  },
  "tgi-stream-error": {
    dialect: "tgi",
    fixture: fixture(tgi, "chat stream that fails before the first token: an OpenAI-style error event, then [DONE]")
  },
  "tgi-tool-call": {
    dialect: "tgi",
    fixture: fixture(tgi, "chat completion with a tool call (TGI 3): no content key, arguments as a JSON string")
  },
  "tgi-legacy-tool-call": {
    dialect: "tgi",
    fixture: fixture(tgi, "chat completion with a tool call (TGI 2.4): arguments as a JSON object")
  },
  "vllm-tool-call": { dialect: "openai", fixture: vllmToolCall },
  "lmi-named-tool-call": {
    dialect: "lmi",
    fixture: fixture(lmi, "chat completion with a named tool choice: content \"\" and tool_calls")
  },
  "vllm-reasoning": {
    dialect: "openai",
    fixture: fixture(vllm, "chat completion with reasoning_content (vLLM before 0.11)")
  },
  "lmi-424": {
    dialect: "lmi",
    fixture: fixture(lmi, "424 from a rolling-batch failure: {code, error} written by the Java frontend")
  },
  "tgi-429": { dialect: "tgi", fixture: fixture(tgi, "429 model overloaded: retryable") },
  "tgi-generate-stream": {
    dialect: "text-generation",
    fixture: fixture(tgi, "generate stream with details, and a keep-alive comment")
  },
  "lmi-generate-stream": {
    dialect: "text-generation",
    fixture: fixture(lmi, "jsonlines token stream with details on the last line")
  },
  "cut-arguments": { dialect: "openai", fixture: cutArguments },
  "cut-stream": { dialect: "tgi", fixture: cutStream },
  "fenced-json": { dialect: "openai", fixture: fencedJson },
  // A container that answers the stream route with its whole JSON body.
  "whole-body-on-stream": { dialect: "openai", fixture: vllmToolCall }
}

const emulatorOptions: SagemakerEmulator.Options = {
  endpoints: Object.fromEntries(
    Object.entries(endpoints).map(([name, { fixture }]) => [name, { responder: answer(fixture) }])
  )
}

// The tools the fixtures call, with the parameters each server's example has.
const TgiWeather = Toolkit.make(Tool.make("get_current_weather", {
  parameters: { location: Schema.String, format: Schema.String },
  success: Schema.String
}))
const VllmWeather = Toolkit.make(Tool.make("get_weather", {
  parameters: { location: Schema.String, unit: Schema.String },
  success: Schema.String
}))
const LmiWeather = Toolkit.make(Tool.make("get_current_weather", {
  parameters: { city: Schema.String, state: Schema.String, unit: Schema.String },
  success: Schema.String
}))
// Handlers are found by tool name: each test gets the one of its server's tool.
const TgiHandlers = TgiWeather.toLayer({ get_current_weather: ({ location }) => Effect.succeed(`Rain in ${location}`) })
const VllmHandlers = VllmWeather.toLayer({ get_weather: ({ location }) => Effect.succeed(`Fog in ${location}`) })
const LmiHandlers = LmiWeather.toLayer({ get_current_weather: ({ city }) => Effect.succeed(`Heat in ${city}`) })

const on = (endpointName: keyof typeof endpoints, options: Partial<SagemakerLanguageModel.Options> = {}) =>
  Effect.provide(
    SagemakerLanguageModel.layer({ endpointName, dialect: endpoints[endpointName]!.dialect, retry: false, ...options })
  )

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

/**
 * `error`, checked to be the `AiError` of `tag`. Compared by tag: a failing `instanceOf` on an
 * Effect value makes vitest's reporter format it for minutes.
 */
const aiError = <T extends AiError.AiError["_tag"]>(error: unknown, tag: T): Extract<AiError.AiError, { _tag: T }> => {
  assert.strictEqual((error as { readonly _tag?: unknown } | undefined)?._tag, tag)
  return error as Extract<AiError.AiError, { _tag: T }>
}

/** The argument fragments the server sent, in order, from the fixture's expected decoder chunks. */
const fragmentsOf = (f: ContainerFixture): ReadonlyArray<string> =>
  (f as StreamFixture).expected.chunks.flatMap((c) => c.toolCalls?.flatMap((t) => t.arguments ?? []) ?? [])

const deltasOf = (parts: ReadonlyArray<Response.AnyPart>) =>
  parts.flatMap((p) => p.type === "tool-params-delta" ? [p.delta] : [])

const only = <A extends { readonly type: string }, T extends A["type"]>(parts: ReadonlyArray<A>, type: T) => {
  const found = parts.filter((p): p is Extract<A, { type: T }> => p.type === type)
  assert.strictEqual(found.length, 1, `one ${type} part, got ${found.length}`)
  return found[0]!
}

for (const transport of transports) {
  const stack = Fixtures.client(transport).pipe(Layer.provideMerge(Fixtures.emulator(emulatorOptions)))
  Fixtures.layerLive(stack)(`SagemakerLanguageModel on real payloads over ${transport.name}`, (it) => {
    it.effect("TGI 3's tool-call stream: the server's fragments as deltas, id \"0\", finished for the call", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: TgiWeather }))
        const start = only(parts, "tool-params-start")
        assert.deepStrictEqual([start.id, start.name], ["0", "get_current_weather"])
        assert.deepStrictEqual(deltasOf(parts), fragmentsOf(tgiToolStream))
        const call = only(parts, "tool-call")
        assert.deepStrictEqual(call.params, { location: "Brooklyn, NY", format: "fahrenheit" })
        assert.deepStrictEqual(JSON.parse(deltasOf(parts).join("")), call.params)
        // TGI ends a streamed call with no finish reason and, unasked, no usage.
        const finish = only(parts, "finish")
        assert.strictEqual(finish.reason, "tool-calls")
        assert.isUndefined(finish.metadata.sagemaker?.finishReason)
        assert.isUndefined(finish.usage.inputTokens)
        assert.strictEqual(only(parts, "tool-result").result, "Rain in Brooklyn, NY")
      }).pipe(on("tgi-tool-stream"), Effect.provide(TgiHandlers)))

    it.effect("TGI 2.4's tool-call stream: the tool named inside its arguments", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: TgiWeather }))
        const call = only(parts, "tool-call")
        assert.strictEqual(call.name, "get_current_weather")
        assert.deepStrictEqual(call.params, { location: "Paris, France", format: "celsius" })
        assert.strictEqual(only(parts, "tool-params-start").name, "get_current_weather")
        assert.deepStrictEqual(JSON.parse(deltasOf(parts).join("")), call.params)
        assert.strictEqual(only(parts, "finish").reason, "tool-calls")
        assert.strictEqual(only(parts, "tool-result").result, "Rain in Paris, France")
      }).pipe(on("tgi-legacy-tool-stream"), Effect.provide(TgiHandlers)))

    it.effect("vLLM's tool-call stream: the deltas are the server's fragments, exactly", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: VllmWeather }))
        assert.strictEqual(only(parts, "tool-params-start").id, "chatcmpl-tool-8e7d6c5b4a3f42e19d8c7b6a5f4e3d2c")
        assert.deepStrictEqual(deltasOf(parts), fragmentsOf(vllmToolStream))
        assert.strictEqual(deltasOf(parts).join(""), "{\"location\": \"San Francisco, CA\", \"unit\": \"fahrenheit\"}")
        assert.deepStrictEqual(only(parts, "tool-call").params, { location: "San Francisco, CA", unit: "fahrenheit" })
        const finish = only(parts, "finish")
        assert.deepStrictEqual([finish.reason, finish.metadata.sagemaker?.finishReason], ["tool-calls", "tool_calls"])
        const metadata = only(parts, "response-metadata")
        assert.deepStrictEqual(
          [
            metadata.id._tag === "Some" && metadata.id.value,
            metadata.modelId._tag === "Some" && metadata.modelId.value
          ],
          ["chatcmpl-2f1e0d9c8b7a46958473a2b1c0d9e8f7", "meta-llama/Llama-3.1-8B-Instruct"]
        )
      }).pipe(on("vllm-tool-stream"), Effect.provide(VllmHandlers)))

    it.effect("LMI's named tool choice stream: one start despite the repeated name, an id from the IdGenerator", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: LmiWeather }))
        const start = only(parts, "tool-params-start")
        assert.strictEqual(start.name, "get_current_weather")
        assert.isAbove(start.id.length, 0)
        assert.deepStrictEqual(deltasOf(parts), fragmentsOf(lmiNamedToolStream))
        const call = only(parts, "tool-call")
        assert.strictEqual(call.id, start.id)
        assert.deepStrictEqual(call.params, { city: "Dallas", state: "TX", unit: "fahrenheit" })
        const finish = only(parts, "finish")
        assert.deepStrictEqual([finish.reason, finish.metadata.sagemaker?.finishReason], ["tool-calls", "eos_token"])
        assert.strictEqual(only(parts, "tool-result").result, "Heat in Dallas")
      }).pipe(on("lmi-named-tool-stream"), Effect.provide(LmiHandlers)))

    for (const endpoint of ["vllm-reasoning-stream", "vllm-reasoning-stream-new"] as const) {
      it.effect(`vLLM's reasoning stream (${endpoint}): reasoning parts, then text parts`, () =>
        Effect.gen(function*() {
          const parts = yield* collect(LanguageModel.streamText({ prompt: "Which is greater?" }))
          const expected = (endpoints[endpoint]!.fixture as StreamFixture).expected.chunks
          assert.strictEqual(
            parts.flatMap((p) => p.type === "reasoning-delta" ? [p.delta] : []).join(""),
            expected.map((c) => c.reasoning ?? "").join("")
          )
          assert.strictEqual(parts.flatMap((p) => p.type === "text-delta" ? [p.delta] : []).join(""), "9.8 is greater.")
          assert.deepStrictEqual(parts.map((p) => p.type).filter((t) => !t.endsWith("-delta")), [
            "response-metadata",
            "reasoning-start",
            "reasoning-end",
            "text-start",
            "text-end",
            "finish"
          ])
        }).pipe(on(endpoint)))
    }

    it.effect("vLLM's usage chunk after the finish chunk: one finish with both", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Capital of France?" }))
        const finish = only(parts, "finish")
        assert.strictEqual(finish.reason, "stop")
        assert.deepStrictEqual([finish.usage.inputTokens, finish.usage.outputTokens], [42, 11])
        assert.strictEqual(finish.usage.totalTokens, 53)
      }).pipe(on("vllm-usage-stream")))

    it.effect("LMI's chat stream, no usage anywhere: the finish comes anyway, without it", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Hi" }))
        assert.strictEqual(parts.flatMap((p) => p.type === "text-delta" ? [p.delta] : []).join(""), "Hello world")
        const finish = only(parts, "finish")
        assert.strictEqual(finish.reason, "length")
        assert.deepStrictEqual(
          [finish.usage.inputTokens, finish.usage.outputTokens, finish.usage.totalTokens],
          [undefined, undefined, undefined]
        )
      }).pipe(on("lmi-chat-stream")))

    it.effect("TGI's error event inside a 200 stream: UnknownError, the container's text kept", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(collect(LanguageModel.streamText({ prompt: "Hi" })))
        const errorChecked = aiError(error, "UnknownError")
        const original = SagemakerLanguageModel.sagemakerError(errorChecked)
        assert.strictEqual(original?._tag, "SagemakerStreamError")
        assert.include(original?.message, "Input validation error")
      }).pipe(on("tgi-stream-error")))

    it.effect("whole tool-call answers of TGI 3, TGI 2.4 (object arguments), vLLM and LMI", () =>
      Effect.gen(function*() {
        const tgi3 = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: TgiWeather }).pipe(
          on("tgi-tool-call"),
          Effect.provide(TgiHandlers)
        )
        assert.deepStrictEqual(tgi3.toolCalls.map((c) => [c.id, c.params]), [[
          "0",
          { location: "Brooklyn, NY", format: "fahrenheit" }
        ]])
        assert.strictEqual(tgi3.finishReason, "tool-calls")
        assert.deepStrictEqual([tgi3.usage.inputTokens, tgi3.usage.outputTokens, tgi3.usage.totalTokens], [
          501,
          29,
          530
        ])
        const tgi24 = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: TgiWeather }).pipe(
          on("tgi-legacy-tool-call"),
          Effect.provide(TgiHandlers)
        )
        assert.deepStrictEqual(tgi24.toolCalls[0]!.params, { format: "celsius", location: "Brooklyn, New York" })
        const fromVllm = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: VllmWeather }).pipe(
          on("vllm-tool-call"),
          Effect.provide(VllmHandlers)
        )
        assert.deepStrictEqual(fromVllm.toolCalls[0]!.params, { location: "San Francisco, CA", unit: "fahrenheit" })
        assert.deepStrictEqual(fromVllm.toolResults.map((r) => r.result), ["Fog in San Francisco, CA"])
        const fromLmi = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: LmiWeather }).pipe(
          on("lmi-named-tool-call"),
          Effect.provide(LmiHandlers)
        )
        assert.strictEqual(fromLmi.toolCalls[0]!.id, "chatcmpl-tool-140510529166160")
        assert.strictEqual(fromLmi.finishReason, "tool-calls")
        assert.strictEqual(fromLmi.text, "")
      }))

    it.effect("vLLM's reasoning_content comes as a reasoning part", () =>
      Effect.gen(function*() {
        const response = yield* LanguageModel.generateText({ prompt: "Which is greater?" })
        assert.isAbove(response.reasoningText?.length ?? 0, 0)
        assert.isAbove(response.text.length, 0)
        assert.deepStrictEqual(response.content.map((p) => p.type), [
          "response-metadata",
          "reasoning",
          "text",
          "finish"
        ])
      }).pipe(on("vllm-reasoning")))

    it.effect("a container's own error status: HttpResponseError with it, its body, the original error kept", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "Hi" }).pipe(on("lmi-424")))
        const errorChecked = aiError(error, "HttpResponseError")
        const response = errorChecked
        assert.strictEqual(response.response.status, 424)
        assert.include(response.body, "exception occurred during rolling batch inference")
        assert.strictEqual(
          response.request.url,
          "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/lmi-424/invocations"
        )
        const original = SagemakerLanguageModel.sagemakerError(errorChecked)
        assert.strictEqual(original?._tag === "SagemakerInferenceError" && original.originalStatusCode, 424)
      }))

    it.effect("an overloaded TGI (its own 429) is retried by our policy first, then mapped", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Hi" }).pipe(
            on("tgi-429", { retry: { attempts: 2, baseDelay: "5 millis" } })
          )
        )
        assert.strictEqual((error as AiError.HttpResponseError).response.status, 429)
        assert.strictEqual((yield* Fixtures.requestsTo("tgi-429")).length, 2)
      }))

    for (const endpoint of ["tgi-generate-stream", "lmi-generate-stream"] as const) {
      it.effect(`text-generation streams (${endpoint}): text, then the details' finish reason and counts`, () =>
        Effect.gen(function*() {
          const parts = yield* collect(LanguageModel.streamText({ prompt: "What is Deep Learning?" }))
          const expected = (endpoints[endpoint]!.fixture as StreamFixture).expected.chunks
          assert.strictEqual(
            parts.flatMap((p) => p.type === "text-delta" ? [p.delta] : []).join(""),
            expected.map((c) => c.text).join("")
          )
          const last = expected.at(-1)!
          const finish = only(parts, "finish")
          assert.strictEqual(finish.metadata.sagemaker?.finishReason, last.finishReason)
          assert.strictEqual(finish.usage.outputTokens, last.outputTokens)
        }).pipe(on(endpoint, { chatTemplate: "llama3" })))
    }

    it.effect("tool-call arguments that do not parse: MalformedOutput naming the tool (whole and streamed)", () =>
      Effect.gen(function*() {
        const whole = yield* Effect.flip(
          LanguageModel.generateText({ prompt: "Weather?", toolkit: VllmWeather }).pipe(
            on("cut-arguments"),
            Effect.provide(VllmHandlers)
          )
        )
        const wholeChecked = aiError(whole, "MalformedOutput")
        assert.include(wholeChecked.description, "the arguments of the call to tool 'get_weather' are not valid JSON")
        const streamed = yield* Effect.flip(
          collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: TgiWeather })).pipe(
            on("cut-stream"),
            Effect.provide(TgiHandlers)
          )
        )
        const streamedChecked = aiError(streamed, "MalformedOutput")
        assert.include(streamedChecked.description, "tool 'get_current_weather'")
      }))

    it.effect("the prompt strategy: JSON in a Markdown fence still decodes into the Schema", () =>
      Effect.gen(function*() {
        const response = yield* LanguageModel.generateObject({
          prompt: "Describe Ada",
          schema: Schema.Struct({ name: Schema.String, age: Schema.Number })
        })
        assert.deepStrictEqual(response.value, { name: "Ada", age: 36 })
        const [request] = yield* Fixtures.requestsTo("fenced-json")
        const sent = JSON.parse(request!.bodyText)
        assert.strictEqual(sent.messages[0].role, "system")
        assert.isUndefined(sent.response_format)
      }).pipe(on("fenced-json", { structuredOutput: "prompt" })))

    it.effect("a whole JSON body on the stream route still streams its tool call and finish", () =>
      Effect.gen(function*() {
        const parts = yield* collect(LanguageModel.streamText({ prompt: "Weather?", toolkit: VllmWeather }))
        assert.deepStrictEqual(parts.map((p) => p.type), [
          "response-metadata",
          "tool-params-start",
          "tool-params-delta",
          "tool-params-end",
          "tool-call",
          "finish",
          "tool-result"
        ])
        assert.strictEqual(only(parts, "finish").reason, "tool-calls")
      }).pipe(on("whole-body-on-stream"), Effect.provide(VllmHandlers)))
  })
}
