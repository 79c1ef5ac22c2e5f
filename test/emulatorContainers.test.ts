/**
 * The container personalities as the real servers behave (docs/emulator.md): TGI ≥ 2.4's
 * `/invocations`, rolling-batch DJL LMI and vLLM, and the chat features of the deterministic model
 * (tool calls, tool results, structured output, reasoning, finish reasons and usage), through the
 * real SDK client on both routes.
 */
import { ModelError, type SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { client, concatBytes, invokeError, invokeJson, stream, streamOk, utf8 } from "./helpers/emulator.js"

const withEmulator = (options: SagemakerEmulator.Options) =>
  Effect.flatMap(SagemakerEmulator.make(options), (emulator) => client(emulator))

const on = (personality: SagemakerEmulator.Personality, container: SagemakerEmulator.ContainerOptions = {}) =>
  withEmulator({ personality, container })

/** The whole JSON answer of InvokeEndpoint. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = (c: SageMakerRuntimeClient, body: unknown, endpoint = "ep"): Effect.Effect<any> =>
  invokeJson(c, { EndpointName: endpoint, Body: JSON.stringify(body) })

/** The bytes of the stream route, as text, and the container's content type. */
const streamed = (c: SageMakerRuntimeClient, body: unknown, endpoint = "ep") =>
  Effect.map(
    streamOk(c, { EndpointName: endpoint, Body: JSON.stringify(body) }),
    (r) => ({ text: utf8(concatBytes(r.parts)), contentType: r.response.ContentType })
  )

/** The `data` of every SSE event; comments (keep-alives) and blank lines are not events. */
const sseData = (text: string): ReadonlyArray<string> =>
  text.split("\n\n").filter((e) => e.length > 0 && !e.startsWith(":")).map((e) => e.replace(/^data: ?/, ""))

/** The parsed events of an SSE stream, `[DONE]` left out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sseJson = (text: string): ReadonlyArray<any> =>
  sseData(text).filter((d) => d !== "[DONE]").map((d) => JSON.parse(d))

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const jsonLines = (text: string): ReadonlyArray<any> =>
  text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l))

/** The container's answer to a failed call: SageMaker's 424 `ModelError` around its status and body. */
const modelError = (c: SageMakerRuntimeClient, body: unknown, endpoint = "ep") =>
  Effect.map(
    invokeError(c, { EndpointName: endpoint, ContentType: "application/json", Body: JSON.stringify(body) }),
    (e) => {
      assert.instanceOf(e, ModelError)
      assert.strictEqual(e.$metadata?.httpStatusCode, 424)
      return { status: e["OriginalStatusCode"] as number, message: e["OriginalMessage"] as string }
    }
  )

const streamModelError = (c: SageMakerRuntimeClient, body: unknown) =>
  Effect.map(
    stream(c, { EndpointName: "ep", ContentType: "application/json", Body: JSON.stringify(body) }),
    (r) => {
      assert.isTrue(r._tag === "Left", "the stream route refused the call")
      const e = r._tag === "Left" ? r.left : undefined
      return { status: e?.["OriginalStatusCode"] as number, message: e?.["OriginalMessage"] as string }
    }
  )

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: {
      type: "object",
      properties: {
        location: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer", minimum: 3, maximum: 5 },
        detailed: { type: "boolean" }
      },
      required: ["location", "unit", "days"]
    }
  }
}
const clock = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } } } }
}
const user = (content: string) => [{ role: "user", content }]

/** What the schema rules give for `weather`'s parameters. */
const assertWeatherArguments = (args: unknown) => {
  const a = args as Record<string, unknown>
  assert.isString(a["location"])
  assert.match(a["location"] as string, /^[a-z]+$/)
  assert.strictEqual(a["unit"], "celsius")
  assert.strictEqual(a["days"], 3)
  assert.strictEqual(a["detailed"], true)
}

describe("tgi: TGI ≥ 2.4 behind /invocations", () => {
  it.scopedLive("routes by body shape: inputs → generate, messages → chat, prompt → completions, else 422", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const generate = yield* run(c, { inputs: "What is a bridge?", parameters: { max_new_tokens: 4 } })
      assert.isArray(generate)
      assert.isString(generate[0].generated_text)
      const chat = yield* run(c, { messages: user("What is a bridge?"), max_tokens: 4 })
      assert.strictEqual(chat.object, "chat.completion")
      const completion = yield* run(c, { prompt: "What is a bridge?", max_tokens: 4 })
      assert.strictEqual(completion.object, "text_completion")
      assert.strictEqual(completion.choices[0].text.trim().split(/\s+/).length, 4)
      const neither = yield* modelError(c, { question: "What is a bridge?" })
      assert.strictEqual(neither.status, 422)
      assert.match(neither.message, /data did not match any variant of untagged enum SagemakerRequest/)
    }))

  it.scopedLive("generate: return_full_text defaults to true, in the body and in the stream's generated_text", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const prompt = "Tell me about rivers"
      const [byDefault] = yield* run(c, { inputs: prompt, parameters: { max_new_tokens: 5, seed: 2 } })
      const [plain] = yield* run(c, {
        inputs: prompt,
        parameters: { max_new_tokens: 5, seed: 2, return_full_text: false }
      })
      assert.strictEqual(byDefault.generated_text, prompt + plain.generated_text)
      const { text } = yield* streamed(c, { inputs: prompt, parameters: { max_new_tokens: 5, seed: 2 }, stream: true })
      const events = sseJson(text)
      assert.strictEqual(events.map((e) => e.token.text).join(""), plain.generated_text)
      assert.strictEqual(events.at(-1).generated_text, byDefault.generated_text)
    }))

  it.scopedLive("generate stream: details is null on every event unless parameters.details is true", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const plain = sseJson(
        (yield* streamed(c, { inputs: "hi there", parameters: { max_new_tokens: 3 }, stream: true })).text
      )
      assert.deepStrictEqual(plain.map((e) => e.details), [null, null, null])
      const detailed = sseJson(
        (yield* streamed(c, { inputs: "hi there", parameters: { max_new_tokens: 3, details: true }, stream: true }))
          .text
      )
      assert.deepStrictEqual(detailed.at(-1).details, {
        finish_reason: "length",
        generated_tokens: 3,
        input_length: 2,
        seed: null
      })
    }))

  it.scopedLive("stop sequences stay in the text (generate and chat); finish reason stop_sequence", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const [full] = yield* run(c, {
        inputs: "Explain gardens",
        parameters: { max_new_tokens: 20, seed: 4, return_full_text: false }
      })
      const word = full.generated_text.trim().split(/\s+/)[3]
      const [stopped] = yield* run(c, {
        inputs: "Explain gardens",
        parameters: { max_new_tokens: 20, seed: 4, return_full_text: false, stop: [word], details: true }
      })
      assert.isTrue(stopped.generated_text.endsWith(word), stopped.generated_text)
      assert.strictEqual(stopped.details.finish_reason, "stop_sequence")
      const chat = yield* run(c, { messages: user("Explain gardens"), max_tokens: 20, seed: 4 })
      const chatWord = chat.choices[0].message.content.split(" ")[3]
      const chatStopped = yield* run(c, {
        messages: user("Explain gardens"),
        max_tokens: 20,
        seed: 4,
        stop: [chatWord]
      })
      assert.isTrue(chatStopped.choices[0].message.content.endsWith(chatWord))
      assert.strictEqual(chatStopped.choices[0].finish_reason, "stop_sequence")
    }))

  it.scopedLive(
    "chat stream: role on every delta, finish reason on the last token's chunk, usage chunk with choices: [] when asked",
    () =>
      Effect.gen(function*() {
        const c = yield* on("tgi")
        const { contentType, text } = yield* streamed(c, {
          messages: user("What is a café?"),
          stream: true,
          stream_options: { include_usage: true }
        })
        assert.strictEqual(contentType, "text/event-stream")
        assert.isTrue(text.startsWith("data:{") && text.endsWith("data:[DONE]\n\n"))
        const events = sseJson(text)
        const usage = events.at(-1)
        assert.deepStrictEqual(usage.choices, [])
        assert.strictEqual(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens)
        const tokens = events.slice(0, -1)
        assert.isTrue(tokens.every((e) => e.object === "chat.completion.chunk" && e.usage === null))
        assert.isTrue(tokens.every((e) => e.choices[0].delta.role === "assistant"))
        assert.deepStrictEqual(
          tokens.map((e) => e.choices[0].finish_reason),
          [...tokens.slice(1).map(() => null), "stop"]
        )
        // The EOS token is special: its chunk carries no text.
        assert.strictEqual(tokens.at(-1).choices[0].delta.content, "")
        const whole = yield* run(c, { messages: user("What is a café?") })
        assert.strictEqual(tokens.map((e) => e.choices[0].delta.content).join(""), whole.choices[0].message.content)
        assert.deepStrictEqual(whole.usage, usage.usage)
        const withoutUsage = sseJson((yield* streamed(c, { messages: user("What is a café?"), stream: true })).text)
        assert.strictEqual(withoutUsage.length, tokens.length)
      })
  )

  it.scopedLive("completions: finish_reason \"\" on every chunk but the last, whose usage and reason come from details", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const events = sseJson((yield* streamed(c, { prompt: "Say something", stream: true })).text)
      assert.isTrue(events.slice(0, -1).every((e) => e.choices[0].finish_reason === "" && e.usage === undefined))
      const last = events.at(-1)
      assert.strictEqual(last.choices[0].finish_reason, "eos_token")
      assert.strictEqual(last.choices[0].text, "</s>")
      assert.isObject(last.usage)
      const whole = yield* run(c, { prompt: "Say something" })
      assert.strictEqual(whole.choices[0].finish_reason, "stop")
      assert.strictEqual(
        events.slice(0, -1).map((e) => e.choices[0].text).join(""),
        whole.choices[0].text
      )
    }))

  it.scopedLive("SSE error events where TGI sends them: validation in a stream, a failure mid-generation", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const invalid = yield* streamed(c, { inputs: "hi", parameters: { max_new_tokens: 0 }, stream: true })
      assert.strictEqual(invalid.contentType, "text/event-stream")
      assert.deepStrictEqual(sseJson(invalid.text), [{
        error: "Input validation error: `max_new_tokens` must be strictly positive",
        error_type: "validation"
      }])
      const chatInvalid = yield* streamed(c, { messages: user("hi"), max_tokens: 0, stream: true })
      assert.deepStrictEqual(sseData(chatInvalid.text), [
        JSON.stringify({
          error: {
            message: "Input validation error: `max_new_tokens` must be strictly positive",
            http_status_code: 422
          }
        }),
        "[DONE]"
      ])

      const failing = yield* withEmulator({
        personality: "tgi",
        faults: { ep: { kind: "generation-error", afterTokens: 2, message: "CUDA out of memory" } }
      })
      const events = sseJson(
        (yield* streamed(failing, { inputs: "hi there", parameters: { max_new_tokens: 5 }, stream: true })).text
      )
      assert.strictEqual(events.length, 3)
      assert.deepStrictEqual(events[2], {
        error: "Request failed during generation: CUDA out of memory",
        error_type: "generation"
      })
      const whole = yield* modelError(failing, { inputs: "hi there" })
      assert.strictEqual(whole.status, 424)
      assert.deepStrictEqual(JSON.parse(whole.message), {
        error: "Request failed during generation: CUDA out of memory",
        error_type: "generation"
      })
    }))

  it.scopedLive("keep-alive comments (axum's `:`) before the first event", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi", { keepAliveComments: 2 })
      const { text } = yield* streamed(c, { messages: user("hi"), max_tokens: 2, stream: true })
      assert.isTrue(text.startsWith(":\n\n:\n\ndata:{"), text.slice(0, 20))
      assert.strictEqual(sseJson(text).length, 2)
    }))

  it.scopedLive("tool calls: id \"0\", arguments a JSON string (an object with toolArgumentsAsObject), finish stop", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const body = { messages: user("What is it like outside?"), tools: [clock, weather], tool_choice: "get_weather" }
      const answer = yield* run(c, body)
      const message = answer.choices[0].message
      assert.deepStrictEqual(Object.keys(message), ["role", "tool_calls"])
      assert.strictEqual(answer.choices[0].finish_reason, "stop")
      const call = message.tool_calls[0]
      assert.deepStrictEqual([call.id, call.type, call.function.name, call.function.description], [
        "0",
        "function",
        "get_weather",
        null
      ])
      assert.isString(call.function.arguments)
      assertWeatherArguments(JSON.parse(call.function.arguments))
      assert.isAbove(answer.usage.completion_tokens, 0)
      const old = yield* on("tgi", { toolArgumentsAsObject: true })
      const oldCall = (yield* run(old, body)).choices[0].message.tool_calls[0]
      assert.deepStrictEqual(oldCall.function.arguments, JSON.parse(call.function.arguments))
      const required = yield* run(c, { ...body, tool_choice: "required" })
      assert.strictEqual(required.choices[0].message.tool_calls[0].function.name, "get_time")
    }))

  it.scopedLive("tool-call stream: the name and \"{\" first, argument fragments after, ids from the history, no finish reason", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const body = {
        messages: user("weather please"),
        tools: [weather],
        tool_choice: "required",
        stream: true,
        stream_options: { include_usage: true }
      }
      const events = sseJson((yield* streamed(c, body)).text)
      const calls = events.filter((e) => e.choices.length > 0).map((e) => e.choices[0].delta.tool_calls[0])
      assert.deepStrictEqual([calls[0].function.name, calls[0].function.arguments], ["get_weather", "{"])
      assert.isTrue(calls.slice(1).every((t) => t.function.name === null && t.id === "0" && t.index === 0))
      assertWeatherArguments(JSON.parse(calls.map((t) => t.function.arguments).join("")))
      assert.isTrue(events.every((e) => e.choices.length === 0 || e.choices[0].finish_reason === null))
      assert.deepStrictEqual(events.at(-1).choices, [])
      const later = sseJson(
        (yield* streamed(c, {
          ...body,
          messages: [
            ...user("weather please"),
            {
              role: "assistant",
              tool_calls: [{ id: "0", type: "function", function: { name: "get_weather", arguments: "{}" } }]
            },
            { role: "tool", tool_call_id: "0", content: "sunny" },
            ...user("and tomorrow?")
          ]
        })).text
      )
      assert.strictEqual(later[0].choices[0].delta.tool_calls[0].id, "1")
    }))

  it.scopedLive("refusals: tools with a response format, an unknown named tool", () =>
    Effect.gen(function*() {
      const c = yield* on("tgi")
      const both = yield* modelError(c, {
        messages: user("hi"),
        tools: [weather],
        response_format: { type: "json", value: { type: "object" } }
      })
      assert.deepStrictEqual([both.status, JSON.parse(both.message)], [422, {
        error: "Tool error: Grammar and tools are mutually exclusive",
        error_type: "tool_error"
      }])
      const unknown = yield* modelError(c, { messages: user("hi"), tools: [weather], tool_choice: "nope" })
      assert.strictEqual(JSON.parse(unknown.message).error, "Tool error: Tool with name nope not found")
      // TGI's grammar is `{"type": ..., "value": ...}`: OpenAI's `json_schema` shape does not deserialize.
      const openai = yield* modelError(c, {
        messages: user("hi"),
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } }
      })
      assert.strictEqual(openai.status, 422)
    }))
})

describe("vllm: vLLM behind /invocations", () => {
  it.scopedLive("refuses an inputs body with 400 Cannot find suitable handler, on both routes", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const body = { inputs: "What is a bridge?", parameters: { max_new_tokens: 5 } }
      for (const e of [yield* modelError(c, body), yield* streamModelError(c, { ...body, stream: true })]) {
        assert.strictEqual(e.status, 400)
        assert.deepStrictEqual(JSON.parse(e.message), {
          error: {
            message:
              "Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', 'CompletionRequest']",
            type: "BadRequestError",
            param: null,
            code: 400
          }
        })
      }
    }))

  it.scopedLive("messages is an alias of vllm", () =>
    Effect.gen(function*() {
      const c = yield* withEmulator({
        endpoints: { a: { personality: "vllm" }, b: { personality: "messages" } }
      })
      const body = { messages: user("What is a bridge?"), max_tokens: 6, seed: 1 }
      const a = yield* run(c, body, "a")
      const b = yield* run(c, body, "b")
      assert.strictEqual(a.choices[0].message.content, b.choices[0].message.content)
      const refused = yield* modelError(c, { inputs: "x" }, "b")
      assert.strictEqual(refused.status, 400)
    }))

  it.scopedLive(
    "chat stream: a role-only first chunk, the finish reason on the last token's chunk, a usage chunk when asked",
    () =>
      Effect.gen(function*() {
        const c = yield* on("vllm")
        const { text } = yield* streamed(c, {
          messages: user("What is a bridge?"),
          max_tokens: 6,
          stream: true,
          stream_options: {}
        })
        assert.isTrue(text.startsWith("data: {") && text.endsWith("data: [DONE]\n\n"))
        const events = sseJson(text)
        assert.deepStrictEqual(events[0].choices[0].delta, { role: "assistant", content: "" })
        const tokens = events.slice(1, -1)
        assert.strictEqual(tokens.length, 6)
        assert.isTrue(tokens.every((e) => e.choices[0].delta.role === undefined))
        assert.deepStrictEqual(tokens.map((e) => e.choices[0].finish_reason), [null, null, null, null, null, "length"])
        assert.strictEqual(tokens.at(-1).choices[0].stop_reason, null)
        // `include_usage` defaults to true once `stream_options` is sent.
        const usage = events.at(-1)
        assert.deepStrictEqual(usage.choices, [])
        assert.deepStrictEqual(usage.usage, { prompt_tokens: 4, total_tokens: 10, completion_tokens: 6 })
        const whole = yield* run(c, { messages: user("What is a bridge?"), max_tokens: 6 })
        assert.strictEqual(tokens.map((e) => e.choices[0].delta.content).join(""), whole.choices[0].message.content)
        const noUsage = sseJson(
          (yield* streamed(c, { messages: user("What is a bridge?"), max_tokens: 6, stream: true })).text
        )
        assert.strictEqual(noUsage.length, 7)
      })
  )

  it.scopedLive("stop sequences are cut out of the text; stop_reason names them", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const full = (yield* run(c, { messages: user("Explain gardens"), max_tokens: 20, seed: 4 })).choices[0]
      const word = full.message.content.split(" ")[3]
      const stopped = (yield* run(c, { messages: user("Explain gardens"), max_tokens: 20, seed: 4, stop: word }))
        .choices[0]
      assert.strictEqual(stopped.message.content, full.message.content.slice(0, full.message.content.indexOf(word)))
      assert.deepStrictEqual([stopped.finish_reason, stopped.stop_reason], ["stop", word])
    }))

  it.scopedLive("tool calls: tool_calls for required and auto, stop for a named function (as OpenAI)", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const required = (yield* run(c, { messages: user("outside?"), tools: [weather, clock], tool_choice: "required" }))
        .choices[0]
      assert.strictEqual(required.finish_reason, "tool_calls")
      assert.strictEqual(required.message.content, "")
      assert.match(required.message.tool_calls[0].id, /^chatcmpl-tool-/)
      assertWeatherArguments(JSON.parse(required.message.tool_calls[0].function.arguments))
      const named = (yield* run(c, {
        messages: user("outside?"),
        tools: [weather, clock],
        tool_choice: { type: "function", function: { name: "get_time" } }
      })).choices[0]
      assert.strictEqual(named.finish_reason, "stop")
      assert.strictEqual(named.message.tool_calls[0].function.name, "get_time")
      // `auto`: a tool is called when the last user message names it; every named tool is called.
      const auto = (yield* run(c, { messages: user("Use get_time and get_weather"), tools: [weather, clock] }))
        .choices[0]
      assert.strictEqual(auto.finish_reason, "tool_calls")
      assert.isNull(auto.message.content)
      assert.deepStrictEqual(auto.message.tool_calls.map((t: { function: { name: string } }) => t.function.name), [
        "get_weather",
        "get_time"
      ])
      const none = (yield* run(c, { messages: user("What is the time?"), tools: [weather, clock] })).choices[0]
      assert.deepStrictEqual([none.finish_reason, none.message.tool_calls], ["stop", []])
      assert.isString(none.message.content)
    }))

  it.scopedLive("tool-call stream: id, type and name in the first delta, argument fragments after, tool_calls last", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const events = sseJson(
        (yield* streamed(c, {
          messages: user("get_weather for Paris"),
          tools: [weather],
          stream: true
        })).text
      )
      const deltas = events.slice(1).map((e) => e.choices[0].delta)
      const first = deltas[0].tool_calls[0]
      assert.deepStrictEqual([first.type, first.index, first.function.name], ["function", 0, "get_weather"])
      assert.match(first.id, /^chatcmpl-tool-/)
      const rest = deltas.slice(1, -1).map((d) => d.tool_calls[0])
      assert.isTrue(rest.every((t) => t.id === undefined && t.function.name === undefined))
      assertWeatherArguments(JSON.parse([first, ...rest].map((t) => t.function.arguments).join("")))
      assert.deepStrictEqual(deltas.at(-1), {})
      assert.strictEqual(events.at(-1).choices[0].finish_reason, "tool_calls")
      // `required` streams `name: null` after the first fragment.
      const required = sseJson(
        (yield* streamed(c, {
          messages: user("hi"),
          tools: [weather],
          tool_choice: "required",
          stream: true
        })).text
      )
      assert.strictEqual(required[2].choices[0].delta.tool_calls[0].function.name, null)
    }))

  it.scopedLive("a tool result: the answer quotes the tool message, in text", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const answer = (yield* run(c, {
        messages: [
          ...user("get_weather for Paris"),
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call-1", type: "function", function: { name: "get_weather", arguments: "{}" } }]
          },
          { role: "tool", tool_call_id: "call-1", content: "21 degrees and sunny" }
        ],
        tools: [weather]
      })).choices[0]
      assert.strictEqual(answer.finish_reason, "stop")
      assert.deepStrictEqual(answer.message.tool_calls, [])
      assert.include(answer.message.content, "\"21 degrees and sunny\"")
    }))

  it.scopedLive("structured output: json_schema content is an instance of the schema; json_object an object", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const schema = {
        type: "object",
        properties: {
          name: { type: "string", minLength: 8 },
          age: { type: "integer", minimum: 18, maximum: 99 },
          score: { type: "number", exclusiveMinimum: 2 },
          email: { type: "string", format: "email" },
          tags: { type: "array", items: { type: "string" }, minItems: 2 },
          kind: { anyOf: [{ type: "null" }, { const: "person" }] },
          address: { $ref: "#/$defs/address" }
        },
        required: ["name", "age", "tags", "address"],
        $defs: { address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }
      }
      const answer = (yield* run(c, {
        messages: user("Describe a person"),
        response_format: { type: "json_schema", json_schema: { name: "person", schema } }
      })).choices[0]
      const value = JSON.parse(answer.message.content)
      assert.isAtLeast(value.name.length, 8)
      assert.strictEqual(value.age, 18)
      assert.isAbove(value.score, 2)
      assert.strictEqual(value.email, "user@example.com")
      assert.strictEqual(value.tags.length, 2)
      assert.strictEqual(value.kind, "person")
      assert.isString(value.address.city)
      assert.strictEqual(answer.finish_reason, "stop")
      const object = (yield* run(c, { messages: user("hi"), response_format: { type: "json_object" } })).choices[0]
      assert.isString(JSON.parse(object.message.content).answer)
    }))

  it.scopedLive("reasoning: reasoning_content before the answer, streamed first; the later `reasoning` name", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm", { reasoning: true })
      const whole = (yield* run(c, { messages: user("Why is the sky blue?"), max_tokens: 40 })).choices[0]
      assert.match(whole.message.reasoning_content, /^Let me think about/)
      assert.isString(whole.message.content)
      assert.isAbove(whole.message.content.length, 0)
      const events = sseJson(
        (yield* streamed(c, {
          messages: user("Why is the sky blue?"),
          max_tokens: 40,
          stream: true
        })).text
      )
      const deltas = events.slice(1).map((e) => e.choices[0].delta)
      const firstContent = deltas.findIndex((d) => d.content !== undefined)
      assert.isAbove(firstContent, 0)
      assert.isTrue(deltas.slice(0, firstContent).every((d) => typeof d.reasoning_content === "string"))
      assert.isTrue(deltas.slice(firstContent).every((d) => d.reasoning_content === undefined))
      assert.strictEqual(
        deltas.slice(0, firstContent).map((d) => d.reasoning_content).join(""),
        whole.message.reasoning_content
      )
      assert.strictEqual(deltas.slice(firstContent).map((d) => d.content).join(""), whole.message.content)
      const later = yield* on("vllm", { reasoning: "reasoning" })
      const renamed = (yield* run(later, { messages: user("Why is the sky blue?"), max_tokens: 40 })).choices[0]
      assert.strictEqual(renamed.message.reasoning, whole.message.reasoning_content)
      assert.isUndefined(renamed.message.reasoning_content)
    }))

  it.scopedLive("completions: prompt bodies, max_tokens 16 by default, usage null on chunks, a usage chunk when asked", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const whole = yield* run(c, { prompt: "Once upon a time" })
      assert.strictEqual(whole.object, "text_completion")
      assert.deepStrictEqual([whole.usage.completion_tokens, whole.choices[0].finish_reason], [16, "length"])
      const events = sseJson(
        (yield* streamed(c, {
          prompt: "Once upon a time",
          stream: true,
          stream_options: { include_usage: true }
        })).text
      )
      const chunks = events.slice(0, -1)
      assert.isTrue(chunks.every((e) => e.usage === null))
      assert.deepStrictEqual(chunks.map((e) => e.choices[0].finish_reason).slice(-2), [null, "length"])
      assert.strictEqual(chunks.map((e) => e.choices[0].text).join(""), whole.choices[0].text)
      assert.deepStrictEqual(events.at(-1).choices, [])
    }))

  it.scopedLive("errors: an unknown model is 404; a failure mid-stream is an error event then [DONE]", () =>
    Effect.gen(function*() {
      const c = yield* on("vllm")
      const unknown = yield* modelError(c, { model: "gpt-4", messages: user("hi") })
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(JSON.parse(unknown.message).error.type, "NotFoundError")
      const failing = yield* withEmulator({
        personality: "vllm",
        faults: { ep: { kind: "generation-error", afterTokens: 2, message: "engine died" } }
      })
      const data = sseData((yield* streamed(failing, { messages: user("hi"), max_tokens: 5, stream: true })).text)
      assert.strictEqual(data.length, 5)
      assert.deepStrictEqual(JSON.parse(data[3]!).error.message, "engine died")
      assert.strictEqual(data[4], "[DONE]")
    }))
})

describe("lmi: rolling-batch DJL LMI", () => {
  it.scopedLive("json, jsonlines and sse outputs; the EOS token is a token with empty text", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const whole = yield* run(c, { inputs: "What is a bridge?", parameters: { details: true } })
      assert.isFalse(Array.isArray(whole))
      assert.strictEqual(whole.details.finish_reason, "eos_token")
      assert.deepStrictEqual(Object.keys(whole.details.tokens.at(-1)), ["id", "text", "log_prob"])
      assert.strictEqual(whole.details.tokens.at(-1).text, "")
      const lines = yield* streamed(c, { inputs: "What is a bridge?", stream: true })
      assert.strictEqual(lines.contentType, "application/jsonlines")
      const parsed = jsonLines(lines.text)
      assert.strictEqual(parsed.at(-1).generated_text, whole.generated_text)
      assert.isUndefined(parsed.at(-1).details)
      const sse = yield* streamed(c, {
        inputs: "What is a bridge?",
        parameters: { output_formatter: "sse" },
        stream: true
      })
      assert.strictEqual(sse.contentType, "text/event-stream")
      assert.isTrue(sse.text.startsWith("data: {\"token\""))
      assert.deepStrictEqual(sseJson(sse.text), parsed)
    }))

  it.scopedLive("errors are 424 {code, error}: a payload that does not parse", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const missing = yield* modelError(c, { prompt: "hi" })
      assert.strictEqual(missing.status, 424)
      assert.deepStrictEqual(JSON.parse(missing.message), {
        code: 424,
        error:
          "Input Parsing failed. Ensure that the request payload is valid. Invalid request payload. Request payload should be a json object specifying the 'inputs' field. Received payload {'prompt': 'hi'}"
      })
      const required = yield* modelError(c, { messages: user("hi"), tools: [weather], tool_choice: "required" })
      assert.strictEqual(
        JSON.parse(required.message).error.endsWith("tool_choice = \"required\" is not supported!"),
        true
      )
    }))

  it.scopedLive("chat: role on the first delta only, the finish reason on the last token's line", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const whole = yield* run(c, { messages: user("What is a bridge?") })
      assert.deepStrictEqual(Object.keys(whole), ["id", "object", "created", "choices", "usage"])
      assert.strictEqual(whole.choices[0].finish_reason, "eos_token")
      const { contentType, text } = yield* streamed(c, { messages: user("What is a bridge?"), stream: true })
      assert.strictEqual(contentType, "application/jsonlines")
      const lines = jsonLines(text)
      assert.strictEqual(lines[0].choices[0].delta.role, "assistant")
      assert.isTrue(lines.slice(1).every((l) => l.choices[0].delta.role === undefined))
      assert.deepStrictEqual(lines.map((l) => l.choices[0].finish_reason), [
        ...lines.slice(1).map(() => null),
        "eos_token"
      ])
      assert.strictEqual(lines.map((l) => l.choices[0].delta.content).join(""), whole.choices[0].message.content)
      const sse = yield* on("lmi", { lmiChatStream: "sse" })
      const framed = yield* streamed(sse, { messages: user("What is a bridge?"), stream: true })
      assert.isTrue(framed.text.endsWith("data: [DONE]\n\n"))
      assert.deepStrictEqual(sseJson(framed.text).map((l) => l.choices[0].delta), lines.map((l) => l.choices[0].delta))
    }))

  it.scopedLive("logprobs: a one-element list in chat streams, an object in chat bodies", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const lines = jsonLines(
        (yield* streamed(c, {
          messages: user("hi"),
          logprobs: true,
          max_tokens: 3,
          stream: true
        })).text
      )
      const first = lines[0].choices[0].logprobs
      assert.isArray(first)
      assert.strictEqual(first.length, 1)
      assert.strictEqual(first[0].content[0].token, lines[0].choices[0].delta.content)
      assert.isBelow(first[0].content[0].logprob, 0)
      const whole = yield* run(c, { messages: user("hi"), logprobs: true, max_tokens: 3 })
      assert.strictEqual(whole.choices[0].logprobs.content.length, 3)
    }))

  it.scopedLive("generation failures: 424 {code: 424, error} (≥ 0.29), error bodies and token.error_msg lines", () =>
    Effect.gen(function*() {
      const c = yield* withEmulator({
        endpoints: {
          current: { personality: "lmi", faults: { kind: "generation-error", afterTokens: 2 } },
          empty: { personality: "lmi", faults: { kind: "generation-error", afterTokens: 2, lmi: "empty-text" } },
          nulled: { personality: "lmi", faults: { kind: "generation-error", lmi: "null-text", message: "OOM" } }
        }
      })
      const body = { inputs: "What is a bridge?", parameters: { max_new_tokens: 5 } }
      const current = yield* modelError(c, body, "current")
      assert.deepStrictEqual([current.status, JSON.parse(current.message)], [424, {
        code: 424,
        error: "exception occurred during rolling batch inference"
      }])
      const currentStream = yield* streamed(c, { ...body, stream: true }, "current")
      const tail = currentStream.text.split("\n")
      assert.strictEqual(tail.length, 3)
      assert.deepStrictEqual(JSON.parse(tail[2]!), {
        code: 424,
        error: "exception occurred during rolling batch inference"
      })

      const empty = yield* run(c, body, "empty")
      assert.deepStrictEqual(Object.keys(empty), ["generated_text", "details"])
      assert.strictEqual(empty.details.finish_reason, "error")
      assert.strictEqual(empty.generated_text.trim().split(/\s+/).length, 2)
      const lines = jsonLines((yield* streamed(c, { ...body, stream: true }, "empty")).text)
      assert.strictEqual(lines.length, 3)
      assert.strictEqual(lines[2].token.error_msg, "exception occurred during rolling batch inference")
      assert.deepStrictEqual(lines[2].details, { finish_reason: "error" })

      const nulled = yield* run(c, body, "nulled")
      assert.deepStrictEqual(nulled, {
        generated_text: null,
        error: "OOM",
        code: 400,
        details: { finish_reason: "error" }
      })
    }))

  it.scopedLive("tool calls: a named function (finish eos_token, content \"\"), auto (tool_calls)", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const named = (yield* run(c, {
        messages: user("outside?"),
        tools: [weather],
        tool_choice: { type: "function", function: { name: "get_weather" } }
      })).choices[0]
      assert.deepStrictEqual([named.finish_reason, named.message.content], ["eos_token", ""])
      assertWeatherArguments(JSON.parse(named.message.tool_calls[0].function.arguments))
      const auto = (yield* run(c, { messages: user("call get_weather"), tools: [weather] })).choices[0]
      assert.strictEqual(auto.finish_reason, "tool_calls")
      const lines = jsonLines(
        (yield* streamed(c, {
          messages: user("outside?"),
          tools: [weather],
          tool_choice: { type: "function", function: { name: "get_weather" } },
          stream: true
        })).text
      )
      const fragments = lines.map((l) => l.choices[0].delta.tool_calls[0].function)
      assert.isTrue(fragments.every((f) => f.name === "get_weather"))
      assertWeatherArguments(JSON.parse(fragments.map((f) => f.arguments).join("")))
    }))

  it.scopedLive("3p: Bedrock-style bodies and lines", () =>
    Effect.gen(function*() {
      const c = yield* on("lmi")
      const whole = yield* run(c, { inputs: "hi there", parameters: { max_new_tokens: 3, output_formatter: "3p" } })
      assert.deepStrictEqual(Object.keys(whole), ["body", "metering", "content_type"])
      assert.deepStrictEqual(whole.metering, { inputTokenCount: 2, outputTokenCount: 3 })
      assert.strictEqual(whole.body.stop_reason, "length")
      const lines = jsonLines(
        (yield* streamed(c, {
          inputs: "hi there",
          parameters: { max_new_tokens: 3, output_formatter: "3p_stream" },
          stream: true
        })).text
      )
      assert.strictEqual(lines.map((l) => l.body.generation).join(""), whole.body.generation)
      assert.deepStrictEqual(lines.map((l) => l.body.stop_reason), [null, null, "length"])
    }))
})

describe("the deterministic model's chat rules, on every chat personality", () => {
  for (const personality of ["tgi", "vllm", "lmi"] as const) {
    it.scopedLive(`${personality}: tool_choice "auto" calls a tool only when the last user message names it`, () =>
      Effect.gen(function*() {
        const c = yield* on(personality)
        const answer = (yield* run(c, {
          messages: [...user("get_weather was useful before"), { role: "assistant", content: "ok" }, ...user("thanks")],
          tools: [weather]
        })).choices[0]
        assert.isString(answer.message.content)
        assert.isAbove(answer.message.content.length, 0)
        const called = (yield* run(c, { messages: user("Please run GET_WEATHER"), tools: [weather] })).choices[0]
        assert.strictEqual(called.message.tool_calls[0].function.name, "get_weather")
      }))

    it.scopedLive(`${personality}: every answer carries finish_reason and usage`, () =>
      Effect.gen(function*() {
        const c = yield* on(personality)
        for (
          const body of [
            { messages: user("hi") },
            { messages: user("hi"), max_tokens: 2 },
            {
              messages: user("hi"),
              tools: [weather],
              tool_choice: { type: "function", function: { name: "get_weather" } }
            }
          ]
        ) {
          const answer = yield* run(c, body)
          assert.isString(answer.choices[0].finish_reason)
          assert.strictEqual(
            answer.usage.total_tokens,
            answer.usage.prompt_tokens + answer.usage.completion_tokens
          )
        }
      }))
  }
})

describe("streamed structured output, and the generation-error fault", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, population: { type: "integer", minimum: 1000 } },
    required: ["city", "population"]
  }
  it.scopedLive("a streamed JSON answer concatenates to the non-streamed one (vllm, tgi)", () =>
    Effect.gen(function*() {
      const c = yield* withEmulator({ endpoints: { vllm: { personality: "vllm" }, tgi: { personality: "tgi" } } })
      const bodies = {
        vllm: {
          messages: user("A city"),
          response_format: { type: "json_schema", json_schema: { name: "c", schema } }
        },
        tgi: { messages: user("A city"), response_format: { type: "json", value: schema } }
      }
      for (const [endpoint, body] of Object.entries(bodies)) {
        const whole = (yield* run(c, body, endpoint)).choices[0].message.content
        assert.deepStrictEqual(Object.keys(JSON.parse(whole)), ["city", "population"])
        assert.strictEqual(JSON.parse(whole).population, 1000)
        const events = sseJson((yield* streamed(c, { ...body, stream: true }, endpoint)).text)
        const text = events.filter((e) => e.choices.length > 0).map((e) => e.choices[0].delta.content ?? "").join("")
        assert.strictEqual(text, whole, endpoint)
        assert.isAbove(events.length, 4, "the JSON arrives in fragments")
      }
    }))

  it.scopedLive("generation-error is recorded as the request's fault, and parses from the CLI form", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        personality: "tgi",
        faults: { ep: { kind: "generation-error", count: 1 } }
      })
      const c = yield* client(emulator)
      yield* modelError(c, { inputs: "hi" })
      yield* run(c, { inputs: "hi" })
      assert.deepStrictEqual((yield* emulator.requests).map((r) => [r.status, r.fault]), [
        [424, "generation-error"],
        [200, undefined]
      ])
      assert.deepStrictEqual(
        SagemakerEmulator.parseFault("generation-error:3"),
        Either.right({ kind: "generation-error", afterTokens: 3 })
      )
    }))
})

describe("default: TGI's dialect, lenient", () => {
  it.scopedLive("return_full_text off, stream details always sent, stop sequences cut out", () =>
    Effect.gen(function*() {
      const c = yield* on("default")
      const [plain] = yield* run(c, { inputs: "Explain gardens", parameters: { max_new_tokens: 20, seed: 4 } })
      assert.isFalse(plain.generated_text.startsWith("Explain gardens"))
      const word = plain.generated_text.trim().split(/\s+/)[3]
      const [stopped] = yield* run(c, {
        inputs: "Explain gardens",
        parameters: { max_new_tokens: 20, seed: 4, stop: [word] }
      })
      assert.strictEqual(stopped.generated_text, plain.generated_text.slice(0, plain.generated_text.indexOf(word)))
      const events = sseJson((yield* streamed(c, { inputs: "hi there", parameters: { max_new_tokens: 2 } })).text)
      assert.strictEqual(events.at(-1).details.finish_reason, "length")
    }))
})
