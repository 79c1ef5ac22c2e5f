/**
 * Real container payloads (test/fixtures/containers) through the library: the emulator's
 * responder answers with a fixture's exact bytes, status and content type, and `run` or `stream`
 * reads them over every transport; a stream is also cut by every split strategy the stream tests
 * use, since a real stream's PayloadParts fall anywhere. Each fixture's expected outcome is what
 * the library must make of the real server's answer.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { isDeepStrictEqual } from "node:util"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import type { SagemakerError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import type { ContainerFixture, ExpectedError, RunFixture, StreamFixture } from "./fixtures/containers/fixture.js"
import { jumpstart } from "./fixtures/containers/jumpstart.js"
import { lmi } from "./fixtures/containers/lmi.js"
import { tgi } from "./fixtures/containers/tgi.js"
import { vllm } from "./fixtures/containers/vllm.js"
import { testEnv } from "./helpers/generator.js"
import { transports } from "./helpers/transports.js"

const PROMPT = "What is Deep Learning?"

const splits: ReadonlyArray<readonly [string, SagemakerEmulator.SplitStrategy]> = [
  ["whole", { kind: "whole" }],
  ["fixed-7", { kind: "fixed", size: 7 }],
  ["inside-lines", { kind: "inside-lines" }],
  ["inside-utf8", { kind: "inside-utf8" }],
  ["bytes", { kind: "bytes" }]
]

const containers: ReadonlyArray<readonly [string, ReadonlyArray<ContainerFixture>]> = [
  ["tgi", tgi],
  ["lmi", lmi],
  ["vllm", vllm],
  ["jumpstart", jumpstart]
]

/** What the container flushes, one write per SSE event or JSON line (one PayloadPart each under `whole`). */
const writesOf = (fixture: ContainerFixture): ReadonlyArray<string> => {
  if (fixture.contentType.startsWith("text/event-stream")) return fixture.body.split(/(?<=\n\n)/)
  if (fixture.contentType.startsWith("application/jsonlines")) return fixture.body.split(/(?<=\n)/)
  return [fixture.body]
}

const responderOf = (fixture: ContainerFixture): SagemakerEmulator.Responder => () => ({
  status: fixture.status,
  contentType: fixture.contentType,
  body: writesOf(fixture)
})

const generatorOn =
  (emulator: SagemakerEmulator.Service, model: string, transport: (typeof transports)[number]) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      // One attempt: a retryable error must show as such, not be retried away.
      Effect.provide(
        SagemakerGenerator.layer({ model, endpointUrl: emulator.url, retry: false, ...transport.options })
      ),
      Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
    )

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 400 ? `${text.slice(0, 400)}…` : text
}

const showError = (error: SagemakerError): string =>
  show({
    _tag: error._tag,
    message: error.message,
    retryable: error.retryable,
    ...("originalStatusCode" in error ? { originalStatusCode: error.originalStatusCode } : {})
  })

/** Why `error` is not the expected one, or `undefined`. */
const errorMismatch = (error: SagemakerError, expected: ExpectedError): string | undefined => {
  const wrong = error._tag !== expected.tag ||
    expected.messageIncludes.some((text) => !error.message.includes(text)) ||
    (expected.retryable !== undefined && error.retryable !== expected.retryable) ||
    (expected.originalStatusCode !== undefined &&
      !("originalStatusCode" in error && error.originalStatusCode === expected.originalStatusCode))
  return wrong ? `expected error ${show(expected)}, got ${showError(error)}` : undefined
}

const runMismatch = (
  result: Either.Either<SagemakerGenerator.GenerationResult, SagemakerError>,
  expected: RunFixture["expected"]
): string | undefined => {
  if ("error" in expected) {
    return Either.isLeft(result)
      ? errorMismatch(result.left, expected.error)
      : `expected error ${show(expected.error)}, got success ${show(result.right)}`
  }
  if (Either.isLeft(result)) return `expected ${show(expected)}, got error ${showError(result.left)}`
  const actual = { replies: result.right.replies, meta: result.right.meta }
  return isDeepStrictEqual(actual, expected) ? undefined : `expected ${show(expected)}, got ${show(actual)}`
}

const streamMismatch = (
  results: ReadonlyArray<Either.Either<SagemakerGenerator.StreamChunk, SagemakerError>>,
  expected: StreamFixture["expected"]
): string | undefined => {
  const chunks = results.filter(Either.isRight).map((r) => r.right)
  const last = results.at(-1)
  const failure = last !== undefined && Either.isLeft(last) ? last.left : undefined
  const index = expected.chunks.findIndex((chunk, i) => !isDeepStrictEqual(chunks[i], chunk))
  if (index !== -1) {
    return `chunk ${index} of ${expected.chunks.length}: expected ${show(expected.chunks[index])}, got ${
      index < chunks.length ? show(chunks[index]) : "no chunk"
    } (${chunks.length} chunks${failure === undefined ? "" : `, then ${showError(failure)}`})`
  }
  if (chunks.length > expected.chunks.length) {
    return `expected ${expected.chunks.length} chunks, got ${chunks.length}; extra: ${
      show(chunks[expected.chunks.length])
    }`
  }
  if (expected.error === undefined) {
    return failure === undefined ? undefined : `expected the stream to end, got ${showError(failure)}`
  }
  return failure === undefined
    ? `expected error ${show(expected.error)}, the stream ended`
    : errorMismatch(failure, expected.error)
}

const replayRun = (fixture: RunFixture, transport: (typeof transports)[number]) =>
  Effect.gen(function*() {
    const emulator = yield* SagemakerEmulator.make({ endpoints: { ep: { responder: responderOf(fixture) } } })
    const result = yield* SagemakerGenerator.run(PROMPT).pipe(Effect.either, generatorOn(emulator, "ep", transport))
    return runMismatch(result, fixture.expected)
  })

/** Every split's mismatch, so that a failure shows whether the framing matters. */
const replayStream = (fixture: StreamFixture, transport: (typeof transports)[number]) =>
  Effect.gen(function*() {
    const responder = responderOf(fixture)
    const endpoints = Object.fromEntries(splits.map(([name, split]) => [name, { responder, split }]))
    const emulator = yield* SagemakerEmulator.make({ endpoints })
    const mismatches: Array<string> = []
    for (const [name] of splits) {
      const results = yield* SagemakerGenerator.stream(PROMPT).pipe(
        Stream.either,
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        generatorOn(emulator, name, transport)
      )
      const mismatch = streamMismatch(results, fixture.expected)
      if (mismatch !== undefined) mismatches.push(`${name}: ${mismatch}`)
    }
    return mismatches
  })

for (const [container, fixtures] of containers) {
  describe(`real ${container} payloads`, () => {
    for (const fixture of fixtures) {
      for (const transport of transports) {
        it.scopedLive(`${fixture.kind}: ${fixture.name} (${transport.name})`, () =>
          fixture.kind === "run"
            ? Effect.map(replayRun(fixture, transport), (mismatch) =>
              assert.isUndefined(mismatch, `${fixture.source}: ${mismatch}`))
            : Effect.map(
              replayStream(fixture, transport),
              (mismatches) =>
                assert.deepStrictEqual(mismatches, [], `${fixture.source}\n${mismatches.join("\n")}`)
            ))
      }
    }
  })
}
