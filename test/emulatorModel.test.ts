/**
 * The emulator's personalities (docs/protocol.md §7) and its deterministic default model, exercised
 * through the real SDK client.
 */
import { ModelError, type SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { client, concatBytes, invoke, invokeError, invokeJson, streamOk, utf8 } from "./helpers/emulator.js"

interface TgiToken {
  readonly id: number
  readonly text: string
  readonly logprob: number
  readonly special: boolean
}
interface TgiItem {
  readonly generated_text: string
  readonly details?: {
    readonly finish_reason: string
    readonly generated_tokens: number
    readonly seed: number | null
    readonly prefill: ReadonlyArray<unknown>
    readonly tokens: ReadonlyArray<TgiToken>
  }
}

const withPersonality = (personality: SagemakerEmulator.Personality) =>
  Effect.gen(function*() {
    const emulator = yield* SagemakerEmulator.make({ personality })
    const c = yield* client(emulator)
    return c
  })

const tgi = (c: SageMakerRuntimeClient, payload: unknown) =>
  Effect.map(invokeJson(c, { EndpointName: "ep", Body: JSON.stringify(payload) }), (j) => j as ReadonlyArray<TgiItem>)

/** The generated text alone: TGI's `/invocations` prepends the prompt unless told not to. */
const generatedText = (c: SageMakerRuntimeClient, inputs: string, parameters: Record<string, unknown>) =>
  Effect.map(
    tgi(c, { inputs, parameters: { return_full_text: false, ...parameters } }),
    (items) => items[0]!.generated_text
  )

const modelError = (c: SageMakerRuntimeClient, body: string, extra: Record<string, string> = {}) =>
  Effect.map(
    invokeError(c, { EndpointName: "ep", ContentType: "application/json", Body: body, ...extra }),
    (e) => {
      assert.instanceOf(e, ModelError)
      assert.strictEqual(e.$metadata?.httpStatusCode, 424)
      return { status: e["OriginalStatusCode"] as number, message: e["OriginalMessage"] as string, error: e }
    }
  )

const streamText = (c: SageMakerRuntimeClient, payload: unknown) =>
  Effect.map(
    streamOk(c, { EndpointName: "ep", Body: JSON.stringify(payload) }),
    (r) => ({ text: utf8(concatBytes(r.parts)), contentType: r.response.ContentType })
  )

describe("SagemakerEmulator default model", () => {
  it.scopedLive("max_new_tokens: exactly that many tokens; details describe them", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const [item] = yield* tgi(c, {
        inputs: "What is Natural Language Processing?",
        parameters: { max_new_tokens: 9, details: true, return_full_text: false }
      })
      const details = item!.details!
      assert.strictEqual(details.finish_reason, "length")
      assert.strictEqual(details.generated_tokens, 9)
      assert.strictEqual(details.tokens.length, 9)
      assert.isNull(details.seed)
      assert.deepStrictEqual(details.prefill, [])
      assert.strictEqual(details.tokens.map((t) => t.text).join(""), item!.generated_text)
      assert.strictEqual(item!.generated_text.trim().split(/\s+/).length, 9)
      for (const t of details.tokens) {
        assert.isTrue(Number.isInteger(t.id) && t.id > 2)
        assert.isTrue(t.logprob <= 0)
        assert.isFalse(t.special)
        assert.isTrue(t.text.startsWith(" "))
      }
      const [plain] = yield* tgi(c, {
        inputs: "What is Natural Language Processing?",
        parameters: { max_new_tokens: 9, return_full_text: false }
      })
      assert.deepStrictEqual(Object.keys(plain!), ["generated_text"])
      assert.strictEqual(plain!.generated_text, item!.generated_text)
    }))

  it.scopedLive("readable words from the prompt, with multi-byte characters", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      for (const prompt of ["What is Natural Language Processing?", "Tell me about gardens", "x"]) {
        const text = yield* generatedText(c, prompt, { max_new_tokens: 10 })
        assert.match(text, /\P{ASCII}/u, text)
      }
      const text = yield* generatedText(c, "Tell me about gardens and rivers", { max_new_tokens: 40 })
      assert.match(text, /gardens|rivers/i)
    }))

  it.scopedLive("without max_new_tokens: two sentences, then an EOS token", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const [item] = yield* tgi(c, {
        inputs: "Why is the sky blue?",
        parameters: { details: true, return_full_text: false }
      })
      const details = item!.details!
      assert.strictEqual(details.finish_reason, "eos_token")
      const last = details.tokens.at(-1)!
      assert.deepStrictEqual([last.text, last.special], ["</s>", true])
      assert.strictEqual(details.generated_tokens, details.tokens.length)
      assert.isFalse(item!.generated_text.includes("</s>"))
      assert.match(item!.generated_text, /[.😀🚀✨🌱]$/u)
    }))

  it.scopedLive("seed: same seed and prompt give the same text; another seed another text", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const a = yield* generatedText(c, "Describe a market", { max_new_tokens: 20, seed: 42 })
      const b = yield* generatedText(c, "Describe a market", { max_new_tokens: 20, seed: 42 })
      const other = yield* generatedText(c, "Describe a market", { max_new_tokens: 20, seed: 43 })
      const unseeded = yield* generatedText(c, "Describe a market", { max_new_tokens: 20 })
      assert.strictEqual(a, b)
      assert.notStrictEqual(a, other)
      assert.notStrictEqual(a, unseeded)
      const [item] = yield* tgi(c, { inputs: "Describe a market", parameters: { seed: 42, details: true } })
      assert.strictEqual(item!.details!.seed, 42)
    }))

  // TGI stops after the token that completes a stop sequence and keeps that whole token.
  it.scopedLive("stop: generation ends with the token that completes the first stop sequence, kept", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const prompt = "Explain bridges"
      const full = yield* generatedText(c, prompt, { max_new_tokens: 20, seed: 1 })
      const word = full.trim().split(/\s+/)[4]!
      const [item] = yield* tgi(c, {
        inputs: prompt,
        parameters: { max_new_tokens: 20, seed: 1, stop: ["never-there", word], details: true, return_full_text: false }
      })
      const completed = full.indexOf(word) + word.length
      const tokenEnd = full.indexOf(" ", completed)
      assert.strictEqual(item!.generated_text, tokenEnd < 0 ? full : full.slice(0, tokenEnd))
      assert.isTrue(item!.generated_text.includes(word))
      assert.strictEqual(item!.details!.finish_reason, "stop_sequence")
      assert.strictEqual(item!.details!.tokens.map((t) => t.text).join(""), item!.generated_text)
    }))

  // `compat_generate` defaults `return_full_text` to true for text-generation models.
  it.scopedLive("return_full_text: the prompt is prepended unless it is false", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const plain = yield* generatedText(c, "Once upon a time", { max_new_tokens: 6 })
      const full = yield* generatedText(c, "Once upon a time", { max_new_tokens: 6, return_full_text: true })
      const [byDefault] = yield* tgi(c, { inputs: "Once upon a time", parameters: { max_new_tokens: 6 } })
      assert.strictEqual(full, `Once upon a time${plain}`)
      assert.strictEqual(byDefault!.generated_text, full)
    }))
})

describe("SagemakerEmulator personalities", () => {
  it.scopedLive("tgi stream: data: without a space, blank lines, final generated_text (prompt first) and details", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const { contentType, text } = yield* streamText(c, {
        inputs: "What is deep learning?",
        parameters: { max_new_tokens: 4, details: true, seed: 3 },
        stream: true
      })
      assert.strictEqual(contentType, "text/event-stream")
      const events = text.split("\n\n").filter((e) => e.length > 0)
      assert.strictEqual(events.length, 4)
      assert.isTrue(text.endsWith("\n\n"))
      assert.isTrue(events.every((e) => e.startsWith("data:{")))
      const parsed = events.map((e) => JSON.parse(e.slice(5)))
      assert.deepStrictEqual(parsed.slice(0, 3).map((p) => [p.generated_text, p.details]), [
        [null, null],
        [null, null],
        [
          null,
          null
        ]
      ])
      const last = parsed[3]
      const tokens = parsed.map((p) => p.token.text).join("")
      assert.strictEqual(last.generated_text, `What is deep learning?${tokens}`)
      assert.deepStrictEqual(last.details, { finish_reason: "length", generated_tokens: 4, input_length: 4, seed: 3 })
      const nonStream = yield* generatedText(c, "What is deep learning?", { max_new_tokens: 4, seed: 3 })
      assert.strictEqual(nonStream, tokens)
    }))

  it.scopedLive("tgi: container validation errors become ModelErrors", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("tgi")
      const zero = yield* modelError(c, JSON.stringify({ inputs: "hi", parameters: { max_new_tokens: 0 } }))
      assert.strictEqual(zero.status, 422)
      assert.deepStrictEqual(JSON.parse(zero.message), {
        error: "Input validation error: `max_new_tokens` must be strictly positive",
        error_type: "validation"
      })
      assert.isTrue(zero.error.message.startsWith("Received client error (422) from primary with message"))
      const huge = yield* modelError(c, JSON.stringify({ inputs: "hi there", parameters: { max_new_tokens: 5000 } }))
      assert.strictEqual(
        JSON.parse(huge.message).error,
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 2 `inputs` tokens and 5000 `max_new_tokens`"
      )
      const topP = yield* modelError(c, JSON.stringify({ inputs: "hi", parameters: { top_p: 1.0 } }))
      assert.strictEqual(JSON.parse(topP.message).error, "Input validation error: `top_p` must be > 0.0 and < 1.0")
      const notJson = yield* modelError(c, "inputs=hi")
      assert.strictEqual(notJson.status, 400)
      assert.isTrue(notJson.message.startsWith("Failed to parse the request body as JSON"))
      // `/invocations` takes `inputs`, `messages` or `prompt` bodies (`SagemakerRequest` is untagged).
      const missing = yield* modelError(c, JSON.stringify({ text: "hi" }))
      assert.strictEqual(missing.status, 422)
      assert.strictEqual(
        missing.message,
        "Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum SagemakerRequest at line 1 column 13"
      )
      const octet = yield* invokeError(c, { EndpointName: "ep", Body: JSON.stringify({ inputs: "hi" }) })
      assert.strictEqual(octet["OriginalStatusCode"], 415)
      assert.strictEqual(octet["OriginalMessage"], "Expected request with `Content-Type: application/json`")
    }))

  it.scopedLive("lmi: an object, details with log_prob; JSON-lines stream", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("lmi")
      const body = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ inputs: "What is Deep Learning?", parameters: { max_new_tokens: 5, details: true } })
      })) as {
        generated_text: string
        details: {
          finish_reason: string
          generated_tokens: number
          inputs: string
          tokens: Array<Record<string, unknown>>
        }
      }
      assert.isFalse(Array.isArray(body))
      assert.strictEqual(body.details.finish_reason, "length")
      assert.strictEqual(body.details.generated_tokens, 5)
      assert.strictEqual(body.details.inputs, "What is Deep Learning?")
      assert.deepStrictEqual(Object.keys(body.details.tokens[0]!), ["id", "text", "log_prob"])
      const { contentType, text } = yield* streamText(c, {
        inputs: "What is Deep Learning?",
        parameters: { max_new_tokens: 5 },
        stream: true
      })
      assert.strictEqual(contentType, "application/jsonlines")
      const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l))
      assert.strictEqual(lines.length, 5)
      assert.deepStrictEqual(Object.keys(lines[0]), ["token"])
      assert.strictEqual(lines[4].generated_text, lines.map((l) => l.token.text).join(""))
      assert.strictEqual(lines[4].generated_text, body.generated_text)
      // vLLM refuses the value inside the rolling batch, which fails as a whole: 424 and a generic text.
      const bad = yield* modelError(c, JSON.stringify({ inputs: "hi", parameters: { max_new_tokens: -1 } }))
      assert.strictEqual(bad.status, 424)
      assert.deepStrictEqual(JSON.parse(bad.message), {
        code: 424,
        error: "exception occurred during rolling batch inference"
      })
    }))

  it.scopedLive("llama2: needs accept_eula=true; answers [{generation}]", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("llama2")
      const payload = JSON.stringify({ inputs: "I believe the meaning of life is", parameters: { max_new_tokens: 8 } })
      const eula = yield* modelError(c, payload)
      assert.strictEqual(eula.status, 400)
      assert.isTrue(eula.message.includes("accept_eula=true"))
      assert.strictEqual(eula.error["ErrorCode"], "CLIENT_ERROR_FROM_MODEL")
      const ok =
        (yield* invokeJson(c, { EndpointName: "ep", Body: payload, CustomAttributes: "accept_eula=true" })) as Array<
          { generation: string }
        >
      assert.strictEqual(ok.length, 1)
      assert.deepStrictEqual(Object.keys(ok[0]!), ["generation"])
      assert.strictEqual(ok[0]!.generation.trim().split(/\s+/).length, 8)
      const batch = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ inputs: ["one prompt", "another prompt"] }),
        CustomAttributes: "trace=1;accept_eula=true"
      })) as Array<{ generation: string }>
      assert.strictEqual(batch.length, 2)
      assert.notStrictEqual(batch[0]!.generation, batch[1]!.generation)
      const streamed = yield* Effect.map(
        streamOk(c, { EndpointName: "ep", Body: payload, CustomAttributes: "accept_eula=true" }),
        (r) => r.parts.length
      )
      assert.strictEqual(streamed, 1)
    }))

  it.scopedLive("llama2-chat: dialogs in, [{generation: {role, content}}] out", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("llama2-chat")
      const dialog = [{ role: "system", content: "Be brief." }, { role: "user", content: "What is a café?" }]
      const out = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ inputs: [dialog], parameters: { max_new_tokens: 6 } }),
        CustomAttributes: "accept_eula=true"
      })) as Array<{ generation: { role: string; content: string } }>
      assert.strictEqual(out.length, 1)
      assert.strictEqual(out[0]!.generation.role, "assistant")
      assert.strictEqual(out[0]!.generation.content, out[0]!.generation.content.trimStart())
      assert.strictEqual(out[0]!.generation.content.split(" ").length, 6)
      const fromString = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ inputs: "What is a café?", parameters: { max_new_tokens: 6 } }),
        CustomAttributes: "accept_eula=true"
      })) as Array<{ generation: { role: string; content: string } }>
      assert.strictEqual(fromString[0]!.generation.content, out[0]!.generation.content)
      const wrong = yield* modelError(
        c,
        JSON.stringify({ inputs: [[{ role: "user", content: "hi" }, { role: "assistant", content: "yo" }]] }),
        { CustomAttributes: "accept_eula=true" }
      )
      assert.strictEqual(wrong.status, 400)
      const noEula = yield* modelError(c, JSON.stringify({ inputs: [dialog] }))
      assert.isTrue(noEula.message.includes("accept_eula"))
    }))

  it.scopedLive("messages (vllm): OpenAI chat.completion; stream of data: chunks and data: [DONE]", () =>
    Effect.gen(function*() {
      const c = yield* withPersonality("messages")
      const messages = [{ role: "system", content: "You are helpful." }, {
        role: "user",
        content: "What is deep learning?"
      }]
      const body = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ messages, max_tokens: 7, seed: 5 })
      })) as {
        object: string
        model: string
        choices: Array<{ index: number; message: { role: string; content: string }; finish_reason: string }>
        usage: {
          prompt_tokens: number
          completion_tokens: number
          total_tokens: number
          prompt_tokens_details: null
        }
      }
      assert.strictEqual(body.object, "chat.completion")
      assert.strictEqual(body.model, "ep")
      assert.strictEqual(body.choices.length, 1)
      assert.strictEqual(body.choices[0]!.index, 0)
      assert.strictEqual(body.choices[0]!.message.role, "assistant")
      assert.strictEqual(body.choices[0]!.finish_reason, "length")
      assert.deepStrictEqual(body.usage, {
        prompt_tokens: 7,
        total_tokens: 14,
        completion_tokens: 7,
        prompt_tokens_details: null
      })
      const content = body.choices[0]!.message.content
      assert.strictEqual(content.split(" ").length, 7)

      const { contentType, text } = yield* streamText(c, { messages, max_tokens: 7, seed: 5, stream: true })
      assert.strictEqual(contentType, "text/event-stream")
      const events = text.split("\n\n").filter((e) => e.length > 0)
      assert.strictEqual(events.at(-1), "data: [DONE]")
      assert.isTrue(events.every((e) => e.startsWith("data: ")))
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)))
      assert.isTrue(chunks.every((ch) => ch.object === "chat.completion.chunk"))
      assert.strictEqual(chunks[0].choices[0].delta.role, "assistant")
      assert.strictEqual(chunks.map((ch) => ch.choices[0].delta.content ?? "").join(""), content)
      assert.strictEqual(chunks.at(-1).choices[0].finish_reason, "length")

      // vLLM's `/invocations` takes chat or completions bodies only.
      const viaInputs = yield* modelError(
        c,
        JSON.stringify({ inputs: "What is deep learning?", max_tokens: 7, seed: 5 })
      )
      assert.strictEqual(viaInputs.status, 400)
      assert.match(viaInputs.message, /Cannot find suitable handler/)
      const stopped = (yield* invokeJson(c, {
        EndpointName: "ep",
        Body: JSON.stringify({ messages, max_tokens: 7, seed: 5, stop: content.split(" ")[2] })
      })) as typeof body
      assert.strictEqual(stopped.choices[0]!.finish_reason, "stop")
    }))

  it.scopedLive("tgi and lmi answer messages bodies as chat completions in their own framing", () =>
    Effect.gen(function*() {
      const payload = { messages: [{ role: "user", content: "Hello" }], max_tokens: 3, stream: true }
      const t = yield* withPersonality("tgi")
      const tgiChat = (yield* invokeJson(t, {
        EndpointName: "ep",
        Body: JSON.stringify({ ...payload, stream: false })
      })) as { model: string; choices: Array<{ message: { content: string } }> }
      assert.strictEqual(tgiChat.model, "tgi")
      const tgiStream = yield* streamText(t, payload)
      assert.isTrue(tgiStream.text.endsWith("data:[DONE]\n\n"))
      assert.isTrue(tgiStream.text.startsWith("data:{"))
      const l = yield* withPersonality("lmi")
      const lmiStream = yield* streamText(l, payload)
      assert.strictEqual(lmiStream.contentType, "application/jsonlines")
      // One line per token: `role` on the first only, the finish reason on the last.
      const lines = lmiStream.text.trimEnd().split("\n").map((x) => JSON.parse(x))
      assert.strictEqual(lines.length, 3)
      assert.deepStrictEqual(lines.map((x) => x.choices[0].delta.role), ["assistant", undefined, undefined])
      assert.deepStrictEqual(lines.map((x) => x.choices[0].finish_reason), [null, null, "length"])
      assert.strictEqual(
        lines.map((x) => x.choices[0].delta.content ?? "").join(""),
        tgiChat.choices[0]!.message.content
      )
    }))

  it.scopedLive("personalityResponder can be wrapped by a custom responder", () =>
    Effect.gen(function*() {
      const base = SagemakerEmulator.personalityResponder("lmi")
      const emulator = yield* SagemakerEmulator.make({
        responder: (request) =>
          Effect.map(
            Effect.suspend(() => {
              const r = base(request)
              return Effect.isEffect(r) ? r : Effect.succeed(r)
            }),
            (response) => ({ ...response, customAttributes: `personality=${request.personality}` })
          )
      })
      const c = yield* client(emulator)
      const r = Either.getOrThrow(
        yield* invoke(c, {
          EndpointName: "ep",
          ContentType: "application/json",
          Body: JSON.stringify({ inputs: "hi" })
        })
      )
      assert.strictEqual(r.CustomAttributes, "personality=default")
      assert.isString((JSON.parse(r.Body!.transformToString()) as { generated_text: string }).generated_text)
    }))
})
