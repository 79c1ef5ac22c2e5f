/**
 * The generator through the real transport against the emulator: `run` and `stream` for every
 * personality, `stream` under every split strategy and stream fault, and early close. Loops over
 * every transport of test/helpers/transports.ts; each transport's tests share one emulator and one
 * client, each test on its own endpoint.
 */
import { assert, describe } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Fixtures from "./helpers/fixtures.js"
import { transports } from "./helpers/transports.js"

const PROMPT = "What's Natural Language Processing?"
const KWARGS = { max_new_tokens: 12, seed: 3 }

const collectStream = (kwargs: Record<string, unknown> = KWARGS) =>
  SagemakerGenerator.stream(PROMPT, kwargs).pipe(Stream.either, Stream.runCollect, Effect.map(Chunk.toArray))

const texts = (results: ReadonlyArray<Either.Either<SagemakerGenerator.StreamChunk, unknown>>) =>
  results.filter(Either.isRight).map((r) => r.right.text).join("")

const failureOf = <E>(results: ReadonlyArray<Either.Either<SagemakerGenerator.StreamChunk, E>>): E | undefined => {
  const last = results.at(-1)
  return last !== undefined && Either.isLeft(last) ? last.left : undefined
}

const splits: ReadonlyArray<SagemakerEmulator.SplitStrategy> = [
  { kind: "whole" },
  { kind: "fixed", size: 7 },
  { kind: "inside-lines" },
  { kind: "inside-utf8" },
  { kind: "bytes" }
]
/**
 * vLLM (`messages`) takes chat or completions bodies only. In front of it, this responder turns the
 * generator's Haystack body into the chat body that `requestFormat: "chat"` sends, so that vLLM's
 * real answers and streams still reach the generator here.
 */
const chatFront = (personality: SagemakerEmulator.Personality): SagemakerEmulator.Responder => {
  const container = SagemakerEmulator.personalityResponder(personality)
  return (request) => {
    const haystack = request.json as { inputs: string; parameters?: Record<string, unknown>; stream?: boolean }
    const text = JSON.stringify({
      messages: [{ role: "user", content: haystack.inputs }],
      max_tokens: haystack.parameters?.["max_new_tokens"],
      seed: haystack.parameters?.["seed"],
      stream: haystack.stream
    })
    return container({ ...request, text, json: JSON.parse(text), body: new TextEncoder().encode(text) })
  }
}

const endpointOf = (personality: "default" | "tgi" | "lmi" | "messages"): SagemakerEmulator.EndpointOptions =>
  personality === "messages" ? { personality, responder: chatFront(personality) } : { personality }

const splitPersonalities = ["tgi", "lmi", "messages"] as const
const splitEndpoints = (personality: (typeof splitPersonalities)[number]) =>
  splits.map((split, i) => [`${personality}-split-${i}`, { ...endpointOf(personality), split }] as const)

/** One tgi endpoint per stream fault, named after the fault's kind. */
const streamFaults = {
  "stream-error": { kind: "stream-error", afterParts: 3 },
  "internal-stream-failure": { kind: "internal-stream-failure", afterParts: 3 },
  "truncate": { kind: "truncate" },
  "bad-crc": { kind: "bad-crc" },
  "reset": { kind: "reset", afterParts: 2 },
  "stall": { kind: "stall", afterParts: 2 },
  "not-ready": { kind: "not-ready", count: 2 },
  "model-error": { kind: "model-error" }
} as const satisfies Record<string, SagemakerEmulator.Fault>

const emulatorOptions: SagemakerEmulator.Options = {
  endpoints: {
    // The shared generator's endpoint: a slow stream, to be closed early.
    [Fixtures.MODEL]: { personality: "tgi", partDelayMillis: 50 },
    "default": { personality: "default" },
    "tgi": { personality: "tgi" },
    "lmi": { personality: "lmi" },
    "messages": endpointOf("messages"),
    "vllm": { personality: "vllm" },
    "llama2": { personality: "llama2" },
    "llama2-chat": { personality: "llama2-chat" },
    "tgi-details": { personality: "tgi" },
    "messages-meta": endpointOf("messages"),
    "text": { personality: "llama2" },
    "chat": { personality: "llama2-chat" },
    "llama2-no-eula": { personality: "llama2" },
    ...Object.fromEntries(splitPersonalities.flatMap((personality) => [
      [`${personality}-reference`, endpointOf(personality)],
      ...splitEndpoints(personality)
    ])),
    ...Object.fromEntries(
      Object.entries(streamFaults).map(([name, fault]) => [name, { personality: "tgi", faults: fault }])
    )
  }
}

for (const transport of transports) {
  Fixtures.layerLive(Fixtures.stack(transport, { emulator: emulatorOptions }))(
    `generator × emulator (${transport.name} transport)`,
    (it) => {
      describe("run and stream for every personality", () => {
        for (const personality of ["default", "tgi", "lmi", "messages"] as const) {
          it.effect(`${personality}: stream yields the same text as run`, () =>
            Effect.gen(function*() {
              const { ran, streamed } = yield* Effect.gen(function*() {
                const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS)
                const streamed = yield* collectStream()
                return { ran, streamed }
              }).pipe(Fixtures.generatorOn(personality))
              assert.strictEqual(ran.replies.length, 1)
              assert.isAbove(ran.replies[0]!.length, 0)
              assert.isTrue(streamed.every(Either.isRight), JSON.stringify(streamed.filter(Either.isLeft)))
              // TGI's `/invocations` defaults `return_full_text` to true: the reply starts with the
              // prompt, which the stream's tokens do not carry.
              assert.strictEqual(personality === "tgi" ? PROMPT + texts(streamed) : texts(streamed), ran.replies[0])
              const requests = yield* Fixtures.requestsTo(personality)
              assert.deepStrictEqual(requests.map((r) => [r.operation, r.status]), [["invoke", 200], ["stream", 200]])
            }))
        }

        for (const personality of ["llama2", "llama2-chat"] as const) {
          it.effect(`${personality}: a container that does not stream gives its whole answer as one chunk`, () =>
            Effect.gen(function*() {
              const { ran, streamed } = yield* Effect.gen(function*() {
                const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS)
                const streamed = yield* collectStream()
                return { ran, streamed }
              }).pipe(Fixtures.generatorOn(personality, { awsCustomAttributes: { accept_eula: true } }))
              assert.isAbove(ran.replies[0]!.length, 0)
              assert.deepStrictEqual(streamed, [
                Either.right({ text: ran.replies[0]!, generatedText: ran.replies[0]! })
              ])
            }))
        }

        // TGI's last stream event has `details: null` unless `parameters.details` is true.
        it.effect("tgi with details: the last chunk carries the finish reason and token count; meta carries details", () =>
          Effect.gen(function*() {
            const { ran, streamed } = yield* Effect.gen(function*() {
              const ran = yield* SagemakerGenerator.run(PROMPT, { ...KWARGS, details: true })
              const streamed = yield* collectStream({ ...KWARGS, details: true })
              return { ran, streamed }
            }).pipe(Fixtures.generatorOn("tgi-details"))
            const details = ran.meta[0]!.details as { finish_reason: string; generated_tokens: number }
            assert.strictEqual(details.finish_reason, "length")
            assert.strictEqual(details.generated_tokens, 12)
            const last = streamed.at(-1)!
            assert.isTrue(Either.isRight(last))
            if (Either.isRight(last)) {
              assert.strictEqual(last.right.finishReason, "length")
              assert.strictEqual(last.right.outputTokens, 12)
            }
          }))

        it.effect("messages: a chat completion's usage and finish reason reach meta", () =>
          Effect.gen(function*() {
            const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(Fixtures.generatorOn("messages-meta"))
            const meta = ran.meta[0]!
            assert.strictEqual(meta.finish_reason, "length")
            assert.strictEqual((meta.message as { readonly role: string }).role, "assistant")
            assert.isObject(meta.usage)
          }))

        it.effect("vllm refuses the generator's Haystack body: the container's 400 inside a ModelError", () =>
          Effect.gen(function*() {
            const error = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(
              Fixtures.generatorOn("vllm"),
              Effect.flip
            )
            assert.strictEqual(error._tag, "SagemakerInferenceError")
            if (error._tag !== "SagemakerInferenceError") return
            assert.strictEqual(error.statusCode, 424)
            assert.strictEqual(error.originalStatusCode, 400)
            assert.match(error.originalMessage ?? "", /Cannot find suitable handler/)
          }))

        it.effect("llama2 and llama2-chat: JumpStart generation replies, with accept_eula", () =>
          Effect.gen(function*() {
            const options = { awsCustomAttributes: { accept_eula: true } }
            const text = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(Fixtures.generatorOn("text", options))
            const chat = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(Fixtures.generatorOn("chat", options))
            assert.isAbove(text.replies[0]!.length, 0)
            assert.deepStrictEqual(text.meta, [{}])
            assert.isAbove(chat.replies[0]!.length, 0)
            assert.deepStrictEqual(chat.meta, [{ role: "assistant" }])
            const requests = [...yield* Fixtures.requestsTo("text"), ...yield* Fixtures.requestsTo("chat")]
            assert.deepStrictEqual(requests.map((r) => r.headers["x-amzn-sagemaker-custom-attributes"]), [
              "accept_eula=true",
              "accept_eula=true"
            ])
          }))

        it.effect("llama2 without accept_eula: the container's refusal as a ModelError", () =>
          Effect.gen(function*() {
            const error = yield* SagemakerGenerator.run(PROMPT).pipe(
              Fixtures.generatorOn("llama2-no-eula"),
              Effect.flip
            )
            assert.strictEqual(error._tag, "SagemakerInferenceError")
            if (error._tag !== "SagemakerInferenceError") return
            assert.strictEqual(error.statusCode, 424)
            assert.strictEqual(error.errorCode, "ModelError")
            assert.strictEqual(error.originalStatusCode, 400)
            assert.match(error.originalMessage ?? "", /accept_eula/)
          }))
      })

      describe("stream across split strategies", () => {
        for (const personality of splitPersonalities) {
          it.effect(`${personality}: every split decodes to run's text`, () =>
            Effect.gen(function*() {
              // Enough words that multi-byte characters (é, —, emoji) are cut by the splits; TGI
              // would otherwise prepend the prompt to run's reply.
              const kwargs = { max_new_tokens: 40, seed: 11, return_full_text: false }
              const expected = yield* SagemakerGenerator.run(PROMPT, kwargs).pipe(
                Fixtures.generatorOn(`${personality}-reference`)
              )
              assert.isTrue(
                [...expected.replies[0]!].some((c) => c.charCodeAt(0) > 0x7f),
                "the text has multi-byte characters"
              )
              for (const [name] of splitEndpoints(personality)) {
                const results = yield* collectStream(kwargs).pipe(Fixtures.generatorOn(name))
                assert.isTrue(
                  results.every(Either.isRight),
                  `${name}: ${JSON.stringify(results.filter(Either.isLeft))}`
                )
                assert.strictEqual(texts(results), expected.replies[0], name)
              }
            }))
        }
      })

      describe("stream faults", () => {
        const faulty = (endpoint: keyof typeof streamFaults, options: Partial<SagemakerGenerator.Options> = {}) =>
          Effect.gen(function*() {
            const results = yield* collectStream({ max_new_tokens: 10 }).pipe(
              Fixtures.generatorOn(endpoint, { retry: { baseDelay: "1 millis" }, ...options })
            )
            const requests = yield* Fixtures.requestsTo(endpoint)
            return { results, requests }
          })

        for (
          const [endpoint, errorCode] of [
            ["stream-error", "ModelStreamError"],
            ["internal-stream-failure", "InternalStreamFailure"]
          ] as const
        ) {
          it.effect(
            `${endpoint} after 3 parts: 3 chunks, then SagemakerStreamError ${errorCode}, not retried`,
            () =>
              Effect.gen(function*() {
                const { requests, results } = yield* faulty(endpoint)
                assert.strictEqual(results.filter(Either.isRight).length, 3)
                const error = failureOf(results)
                assert.strictEqual(error?._tag, "SagemakerStreamError")
                if (error?._tag === "SagemakerStreamError") assert.strictEqual(error.errorCode, errorCode)
                assert.strictEqual(requests.length, 1)
              })
          )
        }

        for (const kind of ["truncate", "bad-crc"] as const) {
          it.effect(`${kind}: the chunks before the break, then SagemakerStreamError`, () =>
            Effect.gen(function*() {
              const { requests, results } = yield* faulty(kind)
              assert.isAbove(results.filter(Either.isRight).length, 0)
              assert.strictEqual(failureOf(results)?._tag, "SagemakerStreamError")
              assert.strictEqual(requests.length, 1)
            }))
        }

        it.effect("reset after 2 parts: 2 chunks, then SagemakerStreamError", () =>
          Effect.gen(function*() {
            const { results } = yield* faulty("reset")
            assert.strictEqual(results.filter(Either.isRight).length, 2)
            assert.strictEqual(failureOf(results)?._tag, "SagemakerStreamError")
          }))

        it.effect("a stall after 2 parts: the gap timeout ends the stream with SagemakerTimeoutError", () =>
          Effect.gen(function*() {
            const { results } = yield* faulty("stall", { timeout: "300 millis", retry: false })
            assert.strictEqual(results.filter(Either.isRight).length, 2)
            assert.strictEqual(failureOf(results)?._tag, "SagemakerTimeoutError")
          }))

        it.effect("not-ready before the stream opens is retried, then the stream flows", () =>
          Effect.gen(function*() {
            const { requests, results } = yield* faulty("not-ready")
            assert.isTrue(results.every(Either.isRight))
            assert.strictEqual(results.length, 10)
            assert.deepStrictEqual(requests.map((r) => r.status), [429, 429, 200])
          }))

        it.effect("a model error before the stream opens is a SagemakerInferenceError, not retried", () =>
          Effect.gen(function*() {
            const { requests, results } = yield* faulty("model-error")
            assert.strictEqual(results.length, 1)
            assert.strictEqual(failureOf(results)?._tag, "SagemakerInferenceError")
            assert.strictEqual(requests.length, 1)
          }))
      })

      describe("closing a stream early", () => {
        /** The shared generator's requests the client closed before their response finished. */
        const abortedSoFar = Effect.map(
          Fixtures.requestsTo(Fixtures.MODEL),
          (requests) => requests.filter((r) => r.aborted).length
        )

        it.effect("taking 2 chunks of a slow stream aborts the HTTP request", () =>
          Effect.gen(function*() {
            const before = yield* abortedSoFar
            const chunks = yield* SagemakerGenerator.stream(PROMPT, { max_new_tokens: 200 }).pipe(
              Stream.take(2),
              Stream.runCollect
            )
            assert.strictEqual(Chunk.size(chunks), 2)
            yield* Fixtures.awaitAborted(Fixtures.MODEL, before + 1)
            assert.strictEqual(yield* abortedSoFar, before + 1)
          }))

        it.effect("interrupting the consumer aborts the HTTP request", () =>
          Effect.gen(function*() {
            const before = yield* abortedSoFar
            const exit = yield* SagemakerGenerator.stream(PROMPT, { max_new_tokens: 200 }).pipe(
              Stream.runDrain,
              Effect.timeout("200 millis"),
              Effect.exit
            )
            assert.isTrue(exit._tag === "Failure")
            yield* Fixtures.awaitAborted(Fixtures.MODEL, before + 1)
          }))
      })
    }
  )
}
