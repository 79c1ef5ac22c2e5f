/**
 * The generator's `requestFormat`: the body each format sends on `run` and `stream`, a custom
 * format's body checked as JSON, kwargs that would overwrite the format's own fields refused, and
 * the dict that writes a named format and refuses a function.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient, utf8 } from "./helpers/generator.js"

const CHAT = utf8(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "ok" } }] }))
const CHUNK = utf8(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "ok" } }] })}\n\ndata: [DONE]\n\n`)

const setup = (options: Partial<SagemakerGenerator.Options>) => {
  const fake = fakeClient(() => Effect.succeed(CHAT), () => Effect.succeed(Stream.make(CHUNK)))
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(SagemakerGenerator.layerWithClient({ model: "m", ...options })),
      Effect.provide(fake.layer)
    )
  const bodies = () => fake.calls.map((call) => JSON.parse(new TextDecoder().decode(call.body)) as unknown)
  return { provide, bodies, calls: fake.calls }
}

describe("requestFormat", () => {
  it.effect("chat: run sends the Messages API body, stream asks for a usage chunk", () =>
    Effect.gen(function*() {
      const { bodies, provide } = setup({ requestFormat: "chat", generationKwargs: { temperature: 0.2 } })
      const result = yield* provide(SagemakerGenerator.run("hello", { top_p: 0.9 }))
      const chunks = yield* provide(Stream.runCollect(SagemakerGenerator.stream("hello")))
      assert.deepStrictEqual(result.replies, ["ok"])
      assert.deepStrictEqual([...chunks].map((c) => c.text), ["ok"])
      assert.deepStrictEqual(bodies(), [
        { messages: [{ role: "user", content: "hello" }], temperature: 0.2, top_p: 0.9 },
        {
          messages: [{ role: "user", content: "hello" }],
          temperature: 0.2,
          stream: true,
          stream_options: { include_usage: true }
        }
      ])
    }))

  it.effect("chat with Haystack's default kwargs: max_new_tokens is sent as max_tokens", () =>
    Effect.gen(function*() {
      const { bodies, provide } = setup({ requestFormat: "chat" })
      yield* provide(SagemakerGenerator.run("hello"))
      assert.deepStrictEqual(bodies(), [{ messages: [{ role: "user", content: "hello" }], max_tokens: 1024 }])
    }))

  it.effect("completions: the prompt at the top level", () =>
    Effect.gen(function*() {
      const { bodies, provide } = setup({ requestFormat: "completions" })
      yield* provide(Effect.either(SagemakerGenerator.run("hello", { max_tokens: 5 })))
      assert.deepStrictEqual(bodies(), [{ prompt: "hello", max_tokens: 5 }])
    }))

  it.effect("a function builds the body from prompt, kwargs and the stream flag", () =>
    Effect.gen(function*() {
      const { bodies, provide } = setup({
        requestFormat: (prompt, kwargs, stream) => ({ text_inputs: prompt, max_length: kwargs.max_new_tokens, stream })
      })
      yield* provide(SagemakerGenerator.run("hello"))
      yield* provide(Stream.runDrain(SagemakerGenerator.stream("hello")))
      assert.deepStrictEqual(bodies(), [
        { text_inputs: "hello", max_length: 1024, stream: false },
        { text_inputs: "hello", max_length: 1024, stream: true }
      ])
    }))

  it.effect("bad formats and bodies are refused before any request, naming the field", () =>
    Effect.gen(function*() {
      const { calls, provide } = setup({ requestFormat: "chat" })
      const own = yield* provide(Effect.flip(SagemakerGenerator.run("hello", { messages: [] })))
      const streamKwarg = yield* provide(Effect.flip(SagemakerGenerator.run("hello", { stream: true })))
      const thrower = yield* Effect.flip(
        SagemakerGenerator.run("x").pipe(
          setup({
            requestFormat: () => {
              throw new Error("no template")
            }
          }).provide
        )
      )
      const notJson = yield* Effect.flip(
        SagemakerGenerator.run("x").pipe(setup({ requestFormat: () => ({ n: 10n }) }).provide)
      )
      const unknown = yield* Effect.flip(
        SagemakerGenerator.run("x").pipe(setup({ requestFormat: "xml" as never }).provide)
      )
      assert.deepStrictEqual(
        [own, streamKwarg, thrower, notJson, unknown].map((e) =>
          e._tag === "SagemakerValidationError" ? e.field : e._tag
        ),
        ["generationKwargs.messages", "generationKwargs.stream", "requestFormat", "requestFormat", "requestFormat"]
      )
      assert.match(thrower.message, /the request format function threw: no template/)
      assert.match(notJson.message, /bigint, not JSON/)
      assert.match(unknown.message, /must be one of haystack, chat, completions or a function/)
      assert.strictEqual(calls.length, 0)
    }))
})

describe("requestFormat in Haystack's dict", () => {
  it("a named format is written as request_format, only when set, and read back", () => {
    const dict = SagemakerGenerator.toDict({ model: "m", requestFormat: "chat" })
    assert.strictEqual(dict.init_parameters.request_format, "chat")
    assert.notProperty(SagemakerGenerator.toDict({ model: "m" }).init_parameters, "request_format")
    const options = SagemakerGenerator.optionsFromDict(JSON.parse(JSON.stringify(dict)))
    assert.isTrue(Either.isRight(options) && options.right.requestFormat === "chat")
    const bad = SagemakerGenerator.optionsFromDict({
      ...dict,
      init_parameters: { ...dict.init_parameters, request_format: "xml" }
    })
    assert.isTrue(Either.isLeft(bad) && /'request_format' must be one of/.test(bad.left.message))
  })

  it("a function cannot be written down: toDict throws, as for a token secret", () => {
    assert.throws(
      () => SagemakerGenerator.toDict({ model: "m", requestFormat: (prompt) => ({ prompt }) }),
      /Cannot serialize a requestFormat function/
    )
  })
})
