/**
 * The generator through the real transport against the emulator: `run` and `stream` for every
 * personality, `stream` under every split strategy and stream fault, and early close. Loops over
 * every transport of test/helpers/transports.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { testEnv } from "./helpers/generator.js"
import { transports } from "./helpers/transports.js"

const PROMPT = "What's Natural Language Processing?"
const KWARGS = { max_new_tokens: 12, seed: 3 }

const generatorOn = (
  emulator: SagemakerEmulator.Service,
  options: Partial<SagemakerGenerator.Options>
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(SagemakerGenerator.layer({ model: "ep", endpointUrl: emulator.url, ...options })),
    Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
  )

const collectStream = (kwargs: Record<string, unknown> = KWARGS) =>
  SagemakerGenerator.stream(PROMPT, kwargs).pipe(Stream.either, Stream.runCollect, Effect.map(Chunk.toArray))

const texts = (results: ReadonlyArray<Either.Either<SagemakerGenerator.StreamChunk, unknown>>) =>
  results.filter(Either.isRight).map((r) => r.right.text).join("")

const failureOf = <E>(results: ReadonlyArray<Either.Either<SagemakerGenerator.StreamChunk, E>>): E | undefined => {
  const last = results.at(-1)
  return last !== undefined && Either.isLeft(last) ? last.left : undefined
}

for (const transport of transports) {
  describe(`generator × emulator (${transport.name} transport)`, () => {
    describe("run and stream for every personality", () => {
      for (const personality of ["default", "tgi", "lmi", "messages"] as const) {
        it.scopedLive(`${personality}: stream yields the same text as run`, () =>
          Effect.gen(function*() {
            const emulator = yield* SagemakerEmulator.make({ personality })
            const { ran, streamed } = yield* Effect.gen(function*() {
              const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS)
              const streamed = yield* collectStream()
              return { ran, streamed }
            }).pipe(generatorOn(emulator, transport.options))
            assert.strictEqual(ran.replies.length, 1)
            assert.isAbove(ran.replies[0]!.length, 0)
            assert.isTrue(streamed.every(Either.isRight), JSON.stringify(streamed.filter(Either.isLeft)))
            assert.strictEqual(texts(streamed), ran.replies[0])
            const requests = yield* emulator.requests
            assert.deepStrictEqual(requests.map((r) => [r.operation, r.status]), [["invoke", 200], ["stream", 200]])
          }))
      }

      for (const personality of ["llama2", "llama2-chat"] as const) {
        it.scopedLive(`${personality}: a container that does not stream gives its whole answer as one chunk`, () =>
          Effect.gen(function*() {
            const emulator = yield* SagemakerEmulator.make({ personality })
            const options = { ...transport.options, awsCustomAttributes: { accept_eula: true } }
            const { ran, streamed } = yield* Effect.gen(function*() {
              const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS)
              const streamed = yield* collectStream()
              return { ran, streamed }
            }).pipe(generatorOn(emulator, options))
            assert.isAbove(ran.replies[0]!.length, 0)
            assert.deepStrictEqual(streamed, [Either.right({ text: ran.replies[0]!, generatedText: ran.replies[0]! })])
          }))
      }

      it.scopedLive("tgi: the last chunk carries the finish reason and token count; meta carries details", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
          const { ran, streamed } = yield* Effect.gen(function*() {
            const ran = yield* SagemakerGenerator.run(PROMPT, { ...KWARGS, details: true })
            const streamed = yield* collectStream()
            return { ran, streamed }
          }).pipe(generatorOn(emulator, transport.options))
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

      it.scopedLive("messages: a chat completion's usage and finish reason reach meta", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "messages" })
          const ran = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(generatorOn(emulator, transport.options))
          const meta = ran.meta[0]!
          assert.strictEqual(meta.finish_reason, "length")
          assert.deepStrictEqual(meta.message, { role: "assistant" })
          assert.isObject(meta.usage)
        }))

      it.scopedLive("llama2 and llama2-chat: JumpStart generation replies, with accept_eula", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({
            endpoints: { text: { personality: "llama2" }, chat: { personality: "llama2-chat" } }
          })
          const options = { ...transport.options, awsCustomAttributes: { accept_eula: true } }
          const text = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(
            generatorOn(emulator, { ...options, model: "text" })
          )
          const chat = yield* SagemakerGenerator.run(PROMPT, KWARGS).pipe(
            generatorOn(emulator, { ...options, model: "chat" })
          )
          assert.isAbove(text.replies[0]!.length, 0)
          assert.deepStrictEqual(text.meta, [{}])
          assert.isAbove(chat.replies[0]!.length, 0)
          assert.deepStrictEqual(chat.meta, [{ role: "assistant" }])
          const requests = yield* emulator.requests
          assert.deepStrictEqual(requests.map((r) => r.headers["x-amzn-sagemaker-custom-attributes"]), [
            "accept_eula=true",
            "accept_eula=true"
          ])
        }))

      it.scopedLive("llama2 without accept_eula: the container's refusal as a ModelError", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "llama2" })
          const error = yield* SagemakerGenerator.run(PROMPT).pipe(
            generatorOn(emulator, transport.options),
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
      const splits: ReadonlyArray<SagemakerEmulator.SplitStrategy> = [
        { kind: "whole" },
        { kind: "fixed", size: 7 },
        { kind: "inside-lines" },
        { kind: "inside-utf8" },
        { kind: "bytes" }
      ]
      for (const personality of ["tgi", "lmi", "messages"] as const) {
        it.scopedLive(`${personality}: every split decodes to run's text`, () =>
          Effect.gen(function*() {
            const endpoints = Object.fromEntries(splits.map((split, i) => [`split-${i}`, { personality, split }]))
            const emulator = yield* SagemakerEmulator.make({ endpoints: { reference: { personality }, ...endpoints } })
            // Enough words that multi-byte characters (é, —, emoji) are cut by the splits.
            const kwargs = { max_new_tokens: 40, seed: 11 }
            const expected = yield* SagemakerGenerator.run(PROMPT, kwargs).pipe(
              generatorOn(emulator, { ...transport.options, model: "reference" })
            )
            assert.isTrue(
              [...expected.replies[0]!].some((c) => c.charCodeAt(0) > 0x7f),
              "the text has multi-byte characters"
            )
            for (const name of Object.keys(endpoints)) {
              const results = yield* collectStream(kwargs).pipe(
                generatorOn(emulator, { ...transport.options, model: name })
              )
              assert.isTrue(results.every(Either.isRight), `${name}: ${JSON.stringify(results.filter(Either.isLeft))}`)
              assert.strictEqual(texts(results), expected.replies[0], name)
            }
          }))
      }
    })

    describe("stream faults", () => {
      const faulty = (fault: SagemakerEmulator.Fault, options: Partial<SagemakerGenerator.Options> = {}) =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "tgi", faults: { ep: fault } })
          const results = yield* collectStream({ max_new_tokens: 10 }).pipe(
            generatorOn(emulator, { ...transport.options, retry: { baseDelay: "1 millis" }, ...options })
          )
          const requests = yield* emulator.requests
          return { results, requests }
        })

      for (
        const [fault, errorCode] of [
          [{ kind: "stream-error", afterParts: 3 }, "ModelStreamError"],
          [{ kind: "internal-stream-failure", afterParts: 3 }, "InternalStreamFailure"]
        ] as const
      ) {
        it.scopedLive(`${fault.kind} after 3 parts: 3 chunks, then SagemakerStreamError ${errorCode}, not retried`, () =>
          Effect.gen(function*() {
            const { requests, results } = yield* faulty(fault)
            assert.strictEqual(results.filter(Either.isRight).length, 3)
            const error = failureOf(results)
            assert.strictEqual(error?._tag, "SagemakerStreamError")
            if (error?._tag === "SagemakerStreamError") assert.strictEqual(error.errorCode, errorCode)
            assert.strictEqual(requests.length, 1)
          }))
      }

      for (const kind of ["truncate", "bad-crc"] as const) {
        it.scopedLive(`${kind}: the chunks before the break, then SagemakerStreamError`, () =>
          Effect.gen(function*() {
            const { requests, results } = yield* faulty({ kind })
            assert.isAbove(results.filter(Either.isRight).length, 0)
            assert.strictEqual(failureOf(results)?._tag, "SagemakerStreamError")
            assert.strictEqual(requests.length, 1)
          }))
      }

      it.scopedLive("reset after 2 parts: 2 chunks, then SagemakerStreamError", () =>
        Effect.gen(function*() {
          const { results } = yield* faulty({ kind: "reset", afterParts: 2 })
          assert.strictEqual(results.filter(Either.isRight).length, 2)
          assert.strictEqual(failureOf(results)?._tag, "SagemakerStreamError")
        }))

      it.scopedLive("a stall after 2 parts: the gap timeout ends the stream with SagemakerTimeoutError", () =>
        Effect.gen(function*() {
          const { results } = yield* faulty({ kind: "stall", afterParts: 2 }, { timeout: "300 millis", retry: false })
          assert.strictEqual(results.filter(Either.isRight).length, 2)
          assert.strictEqual(failureOf(results)?._tag, "SagemakerTimeoutError")
        }))

      it.scopedLive("not-ready before the stream opens is retried, then the stream flows", () =>
        Effect.gen(function*() {
          const { requests, results } = yield* faulty({ kind: "not-ready", count: 2 })
          assert.isTrue(results.every(Either.isRight))
          assert.strictEqual(results.length, 10)
          assert.deepStrictEqual(requests.map((r) => r.status), [429, 429, 200])
        }))

      it.scopedLive("a model error before the stream opens is a SagemakerInferenceError, not retried", () =>
        Effect.gen(function*() {
          const { requests, results } = yield* faulty({ kind: "model-error" })
          assert.strictEqual(results.length, 1)
          assert.strictEqual(failureOf(results)?._tag, "SagemakerInferenceError")
          assert.strictEqual(requests.length, 1)
        }))
    })

    describe("closing a stream early", () => {
      it.scopedLive("taking 2 chunks of a slow stream aborts the HTTP request", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "tgi", partDelayMillis: 50 })
          // Checked while the layer (and its client) is open: closing it would close the socket too.
          yield* Effect.gen(function*() {
            const chunks = yield* SagemakerGenerator.stream(PROMPT, { max_new_tokens: 200 }).pipe(
              Stream.take(2),
              Stream.runCollect
            )
            assert.strictEqual(Chunk.size(chunks), 2)
            yield* emulator.awaitClosedRequests(1).pipe(Effect.timeout("2 seconds"))
            assert.strictEqual(yield* emulator.closedRequests, 1)
          }).pipe(generatorOn(emulator, transport.options))
        }))

      it.scopedLive("interrupting the consumer aborts the HTTP request", () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "tgi", partDelayMillis: 50 })
          yield* Effect.gen(function*() {
            const exit = yield* SagemakerGenerator.stream(PROMPT, { max_new_tokens: 200 }).pipe(
              Stream.runDrain,
              Effect.timeout("200 millis"),
              Effect.exit
            )
            assert.isTrue(exit._tag === "Failure")
            yield* emulator.awaitClosedRequests(1).pipe(Effect.timeout("2 seconds"))
          }).pipe(generatorOn(emulator, transport.options))
        }))
    })
  })
}
