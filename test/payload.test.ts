/**
 * The response decoder: the Schema union of list and object payloads, normalized to replies and
 * one meta entry per reply, with typed errors for everything else.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Payload from "../src/Payload.js"
import { utf8 } from "./helpers/generator.js"

const decode = (body: string | Uint8Array) => Payload.decodeResponse("ep", typeof body === "string" ? utf8(body) : body)

/** A body refused as unreadable: any other failure is a defect of the test. */
const refused = (body: string | Uint8Array) =>
  Effect.flip(decode(body)).pipe(
    Effect.flatMap((error) => error._tag === "SagemakerResponseError" ? Effect.succeed(error) : Effect.die(error))
  )

describe("Payload.decodeResponse", () => {
  it.effect("TGI list with details", () =>
    Effect.gen(function*() {
      const result = yield* decode(`[{"generated_text":"Deep learning","details":{"finish_reason":"length"}}]`)
      assert.deepStrictEqual(result, { replies: ["Deep learning"], meta: [{ details: { finish_reason: "length" } }] })
    }))

  it.effect("LMI object", () =>
    Effect.gen(function*() {
      const result = yield* decode(`{"generated_text":"x","details":{"generated_tokens":8}}`)
      assert.deepStrictEqual(result, { replies: ["x"], meta: [{ details: { generated_tokens: 8 } }] })
    }))

  it.effect("JumpStart Llama-2 chat: the content is the reply, the role goes to meta", () =>
    Effect.gen(function*() {
      const result = yield* decode(`[{"generation":{"role":"assistant","content":"Hi there"}}]`)
      assert.deepStrictEqual(result, { replies: ["Hi there"], meta: [{ role: "assistant" }] })
    }))

  it.effect("OpenAI chat completion: meta is each choice without its content, plus id, model, usage", () =>
    Effect.gen(function*() {
      const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
      const body = JSON.stringify({
        object: "chat.completion",
        id: "chatcmpl-1",
        created: 1,
        model: "tgi",
        choices: [
          { index: 0, message: { role: "assistant", content: "A" }, logprobs: null, finish_reason: "length" },
          { index: 1, message: { role: "assistant", content: "B" }, logprobs: null, finish_reason: "stop" }
        ],
        usage
      })
      const result = yield* decode(body)
      assert.deepStrictEqual(result.replies, ["A", "B"])
      assert.deepStrictEqual(result.meta[1], {
        index: 1,
        message: { role: "assistant" },
        logprobs: null,
        finish_reason: "stop",
        id: "chatcmpl-1",
        model: "tgi",
        usage
      })
    }))

  it.effect("the reply key is chosen per element", () =>
    Effect.gen(function*() {
      const result = yield* decode(`[{"generated_text":"a"},{"generation":"b","x":1}]`)
      assert.deepStrictEqual(result, { replies: ["a", "b"], meta: [{}, { x: 1 }] })
    }))

  for (
    const [body, message] of [
      [`[{"generated_text": null}]`, `in element 0: "generated_text" is null, expected a string`],
      [`{"generation": 5}`, `"generation" is number, expected a string or a {"role", "content"} message`],
      [
        `{"choices": []}`,
        `"choices" without a choices[].message (chat completion) or a string choices[].text (completion)`
      ],
      [`[{"generated_text":"a"}, "b"]`, `in element 1: type: string (expected an object)`],
      [``, `body: not JSON (Unexpected end of JSON input)`]
    ] as const
  ) {
    it.effect(`refuses ${body || "an empty body"}`, () =>
      Effect.gen(function*() {
        const error = yield* refused(body)
        assert.strictEqual(error._tag, "SagemakerResponseError")
        assert.strictEqual(error.message, `Unexpected model response ${message}`)
        assert.strictEqual(error.body, body)
      }))
  }

  it.effect("invalid UTF-8 is refused, never decoded to U+FFFD", () =>
    Effect.gen(function*() {
      const error = yield* refused(new Uint8Array([0x5b, 0x7b, 0xff, 0xfe]))
      assert.strictEqual(error.message, "Unexpected model response body: not valid UTF-8")
    }))

  it.effect("the raw body kept in the error is truncated", () =>
    Effect.gen(function*() {
      const error = yield* refused(`"${"x".repeat(10_000)}"`)
      assert.isBelow(error.body.length, 2100)
      assert.match(error.body, /… \(10002 characters\)$/)
    }))
})

describe("Payload.encodeRequest", () => {
  it("is Haystack's body, with stream: true for the streaming operation", () => {
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    assert.strictEqual(
      text(Payload.encodeRequest("hi ☃", { max_new_tokens: 5 })),
      `{"inputs":"hi ☃","parameters":{"max_new_tokens":5}}`
    )
    assert.strictEqual(
      text(Payload.encodeRequest("hi", {}, { stream: true })),
      `{"inputs":"hi","parameters":{},"stream":true}`
    )
  })
})

describe("Payload.decodeResponse: chat, completions and LMI bodies", () => {
  it.effect("a tool-call choice: the reply is \"\", meta keeps the calls with arguments as JSON text", () =>
    Effect.gen(function*() {
      const result = yield* decode(JSON.stringify({
        id: "chatcmpl-1",
        model: "m",
        choices: [{
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "0", type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } },
              { id: "call_2", type: "function", function: { name: "get_time", arguments: "{\"tz\":\"CET\"}" } }
            ]
          }
        }],
        usage: { prompt_tokens: 5, completion_tokens: 7 }
      }))
      assert.deepStrictEqual(result.replies, [""])
      assert.deepStrictEqual(result.meta[0], {
        index: 0,
        finish_reason: "tool_calls",
        message: {
          role: "assistant",
          tool_calls: [
            { id: "0", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: "{\"tz\":\"CET\"}" } }
          ]
        },
        id: "chatcmpl-1",
        model: "m",
        usage: { prompt_tokens: 5, completion_tokens: 7 }
      })
    }))

  it.effect("reasoning stays in meta as the container sent it", () =>
    Effect.gen(function*() {
      const result = yield* decode(JSON.stringify({
        choices: [{ message: { role: "assistant", content: "42", reasoning_content: "think" } }]
      }))
      assert.deepStrictEqual(result, {
        replies: ["42"],
        meta: [{ message: { role: "assistant", reasoning_content: "think" } }]
      })
    }))

  it.effect("legacy completions: replies from choices[].text, meta the choice without it", () =>
    Effect.gen(function*() {
      const result = yield* decode(JSON.stringify({
        id: "cmpl-1",
        object: "text_completion",
        model: "m",
        choices: [{ index: 0, text: " Paris", logprobs: null, finish_reason: "length" }],
        usage: { prompt_tokens: 3, completion_tokens: 1 }
      }))
      assert.deepStrictEqual(result, {
        replies: [" Paris"],
        meta: [{
          index: 0,
          logprobs: null,
          finish_reason: "length",
          id: "cmpl-1",
          model: "m",
          usage: { prompt_tokens: 3, completion_tokens: 1 }
        }]
      })
    }))

  it.effect("LMI's 3p envelope: the reply from body.generation, the rest in meta", () =>
    Effect.gen(function*() {
      const result = yield* decode(JSON.stringify({
        body: { generation: "Hi", prompt_token_count: 3, generation_token_count: 1, stop_reason: "length" },
        metering: { inputTokenCount: 3, outputTokenCount: 1 },
        content_type: "application/json"
      }))
      assert.deepStrictEqual(result, {
        replies: ["Hi"],
        meta: [{
          prompt_token_count: 3,
          generation_token_count: 1,
          stop_reason: "length",
          metering: { inputTokenCount: 3, outputTokenCount: 1 },
          content_type: "application/json"
        }]
      })
    }))

  for (
    const [name, body, text] of [
      [
        "an error finish reason with an empty text",
        { generated_text: "", details: { finish_reason: "error" } },
        /mid-generation/
      ],
      [
        "a null text with the container's error",
        { generated_text: null, error: "CUDA out of memory", code: 424 },
        /CUDA out of memory \(code 424\)/
      ],
      ["an error finish reason in a TGI-compatible list", [{
        generated_text: "par",
        details: { finish_reason: "error" }
      }], /finish_reason "error"/]
    ] as const
  ) {
    it.effect(`an LMI error inside a 200 fails, never a reply: ${name}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(decode(JSON.stringify(body)))
        assert.strictEqual(error._tag, "SagemakerInferenceError")
        if (error._tag !== "SagemakerInferenceError") return
        assert.isFalse(error.retryable)
        assert.match(error.message, text)
      }))
  }

  for (const body of [[[0.1, 0.2], [0.3, 0.4]], { embedding: [0.1, 0.2] }, { data: [{ embedding: [0.1] }] }]) {
    it.effect(`an embeddings body is named as one: ${JSON.stringify(body)}`, () =>
      Effect.gen(function*() {
        const error = yield* refused(JSON.stringify(body))
        assert.match(error.message, /^Unexpected model response the body looks like an embeddings response/)
      }))
  }
})

describe("Payload.encodeRequest: request formats", () => {
  const decodeBody = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as unknown
  it("chat: one user message, kwargs at the top level, max_new_tokens as max_tokens", () => {
    assert.deepStrictEqual(
      decodeBody(Payload.encodeRequest("hi", { max_new_tokens: 10, temperature: 0.5 }, { format: "chat" })),
      { messages: [{ role: "user", content: "hi" }], temperature: 0.5, max_tokens: 10 }
    )
    assert.deepStrictEqual(
      decodeBody(Payload.encodeRequest("hi", { max_new_tokens: 10, max_tokens: 3 }, { format: "chat", stream: true })),
      {
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
        stream: true,
        stream_options: { include_usage: true }
      }
    )
  })
  it("completions: the prompt, and the same kwargs rules", () => {
    assert.deepStrictEqual(
      decodeBody(Payload.encodeRequest("hi", { max_new_tokens: 4 }, { format: "completions", stream: true })),
      { prompt: "hi", max_tokens: 4, stream: true, stream_options: { include_usage: true } }
    )
  })
})
