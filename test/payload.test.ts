/**
 * The response decoder: the Schema union of list and object payloads, normalized to replies and
 * one meta entry per reply, with typed errors for everything else.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Payload from "../src/Payload.js"
import { utf8 } from "./helpers/generator.js"

const decode = (body: string | Uint8Array) => Payload.decodeResponse("ep", typeof body === "string" ? utf8(body) : body)

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
      [`{"choices": []}`, `chat completion without a string choices[].message.content`],
      [`[{"generated_text":"a"}, "b"]`, `in element 1: type: string (expected an object)`],
      [``, `body: not JSON (Unexpected end of JSON input)`]
    ] as const
  ) {
    it.effect(`refuses ${body || "an empty body"}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(decode(body))
        assert.strictEqual(error._tag, "SagemakerResponseError")
        assert.strictEqual(error.message, `Unexpected model response ${message}`)
        assert.strictEqual(error.body, body)
      }))
  }

  it.effect("invalid UTF-8 is refused, never decoded to U+FFFD", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode(new Uint8Array([0x5b, 0x7b, 0xff, 0xfe])))
      assert.strictEqual(error.message, "Unexpected model response body: not valid UTF-8")
    }))

  it.effect("the raw body kept in the error is truncated", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode(`"${"x".repeat(10_000)}"`))
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
