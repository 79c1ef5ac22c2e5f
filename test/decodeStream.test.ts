/**
 * `decodeStream` reads parts made from a pull (the http transport's) inside that pull, and any other
 * stream of parts through a channel: the same reads give the same chunks, the same failure after
 * them and the same observer calls either way.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as StreamDecoder from "../src/internal/container/streamDecoder.js"
import { decodeStream } from "../src/internal/stream/decodeStream.js"
import { fromPull, type Pull, pullOf } from "../src/internal/stream/pullStream.js"

class PartsBroke extends Data.TaggedError("PartsBroke")<{ readonly reason: string }> {}

/** One read of the parts: its payloads, the parts' failure, or a defect. */
type Read = ReadonlyArray<string> | { readonly fail: string } | { readonly die: string }

const encoder = new TextEncoder()

/** A TGI server-sent event; the last of `count` carries the finish reason and the token counts. */
const tgi = (index: number, count: number): string =>
  `data:${
    JSON.stringify({
      index,
      token: { id: index, text: ` t${index}`, logprob: 0, special: false },
      generated_text: index === count ? "done" : null,
      details: index === count ? { finish_reason: "length", generated_tokens: count, input_length: 7 } : null
    })
  }\n\n`

const pullOfReads = (reads: ReadonlyArray<Read>): Pull<Uint8Array, PartsBroke> => {
  let next = 0
  return Effect.suspend(() => {
    if (next >= reads.length) return Effect.fail(Option.none())
    const read = reads[next++]!
    if ("fail" in read) return Effect.fail(Option.some(new PartsBroke({ reason: read.fail })))
    if ("die" in read) return Effect.die(read.die)
    return Effect.succeed(Chunk.fromIterable(read.map((payload) => encoder.encode(payload))))
  })
}

const shapes = {
  "parts from a pull": (reads: ReadonlyArray<Read>) => fromPull(pullOfReads(reads)),
  "any other stream of parts": (reads: ReadonlyArray<Read>) => Stream.repeatEffectChunkOption(pullOfReads(reads))
} as const

/** Decodes the reads: the texts of each chunk, how the stream ended, and what the observer was told. */
const decodeReads = (shape: keyof typeof shapes, reads: ReadonlyArray<Read>) =>
  Effect.gen(function*() {
    const told: Array<string> = []
    const observer = {
      first: () => told.push("first"),
      end: (input: number | undefined, output: number | undefined) => told.push(`end ${input} ${output}`),
      failed: (errorType: string) => told.push(`failed ${errorType}`)
    }
    const chunks: Array<Array<string>> = []
    const exit = yield* Effect.exit(Stream.runForEachChunk(
      decodeStream("ep", shapes[shape](reads), StreamDecoder.makeStreamDecoder({ format: "auto" }), observer),
      (chunk) => Effect.sync(() => chunks.push(Chunk.toArray(chunk).map((event) => event.text)))
    ))
    return { chunks, exit, told }
  })

const bothShapes = (reads: ReadonlyArray<Read>) =>
  Effect.gen(function*() {
    const fromPullShape = yield* decodeReads("parts from a pull", reads)
    const otherShape = yield* decodeReads("any other stream of parts", reads)
    assert.deepStrictEqual(fromPullShape.chunks, otherShape.chunks)
    assert.deepStrictEqual(fromPullShape.told, otherShape.told)
    assert.deepStrictEqual(fromPullShape.exit, otherShape.exit)
    return fromPullShape
  })

describe("pullStream", () => {
  it.effect("a stream made from a pull gives its pull back; any other stream gives none", () =>
    Effect.gen(function*() {
      const pull = pullOfReads([["a"]])
      const stream = fromPull(pull)
      assert.strictEqual(pullOf(stream), pull)
      assert.isUndefined(pullOf(Stream.map(stream, (bytes) => bytes)))
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(stream)), 1)
    }))
})

describe("decodeStream, parts from a pull and any other stream of parts alike", () => {
  it.effect("one chunk per read, then the end with the token counts", () =>
    Effect.gen(function*() {
      const { chunks, exit, told } = yield* bothShapes([[tgi(1, 3)], [tgi(2, 3), tgi(3, 3)]])
      assert.deepStrictEqual(chunks, [[" t1"], [" t2", " t3"]])
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(told, ["first", "end 7 3"])
    }))

  it.effect("a read that completes no line gives no chunk; the line completes in a later read", () =>
    Effect.gen(function*() {
      const event = tgi(1, 1)
      const { chunks, exit, told } = yield* bothShapes([[event.slice(0, 10)], [event.slice(10)]])
      assert.deepStrictEqual(chunks, [[" t1"]])
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(told, ["first", "end 7 1"])
    }))

  it.effect("a last line without its newline is decoded at the end", () =>
    Effect.gen(function*() {
      const { chunks, exit } = yield* bothShapes([[tgi(1, 2)], [tgi(2, 2).trimEnd()]])
      assert.deepStrictEqual(chunks, [[" t1"], [" t2"]])
      assert.isTrue(Exit.isSuccess(exit))
    }))

  it.effect("a line it cannot read fails the stream after the events decoded before it", () =>
    Effect.gen(function*() {
      const { chunks, exit, told } = yield* bothShapes([[tgi(1, 3), "data: {not json\n\n", tgi(2, 3)]])
      assert.deepStrictEqual(chunks, [[" t1"]])
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      assert.strictEqual(error?._tag, "SagemakerResponseError")
      assert.deepStrictEqual(told, ["failed SagemakerResponseError", "first"])
    }))

  it.effect("the parts' own failure ends the stream after the chunks before it", () =>
    Effect.gen(function*() {
      const { chunks, exit, told } = yield* bothShapes([[tgi(1, 3)], { fail: "reset" }])
      assert.deepStrictEqual(chunks, [[" t1"]])
      assert.deepStrictEqual(exit, Exit.fail(new PartsBroke({ reason: "reset" })))
      assert.deepStrictEqual(told, ["first", "failed PartsBroke"])
    }))

  it.effect("a defect in the parts is a defect of the stream, told as an error of no type", () =>
    Effect.gen(function*() {
      const { chunks, exit, told } = yield* bothShapes([[tgi(1, 3)], { die: "boom" }])
      assert.deepStrictEqual(chunks, [[" t1"]])
      assert.deepStrictEqual(exit, Exit.die("boom"))
      assert.deepStrictEqual(told, ["first", "failed _OTHER"])
    }))
})
