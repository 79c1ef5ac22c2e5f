/**
 * Hostile input (issue 5): random and adversarial response bodies and stream parts through the
 * response decoder (`Payload.decodeResponse`), the stream decoder (`makeStreamDecoder`) and the
 * generator's `run` and `stream` over a fake transport. Always a typed result (a success, or a
 * `SagemakerResponseError` / `SagemakerStreamError`), never a defect or a hang, whatever the
 * nesting depth, size, encoding or types; no prototype taken from a body; bounded memory for a
 * response or a line too large.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { makeStreamDecoder, StreamDecodeError } from "../src/internal/container/streamDecoder.js"
import * as Payload from "../src/Payload.js"
import { isSagemakerError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { fakeClient } from "./helpers/generator.js"

const encoder = new TextEncoder()
const utf8 = (text: string) => encoder.encode(text)
const numRuns = 200

/** The decoder's verdict: its result, or the tag of its typed error; a defect fails the test. */
const decode = (body: Uint8Array): Payload.GenerationResult | string => {
  const exit = Effect.runSyncExit(Payload.decodeResponse("ep", body))
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  assert.isTrue(Option.isSome(failure), `not a typed failure: ${Cause.pretty(exit.cause)}`)
  const error = Option.getOrThrow(failure)
  if (error._tag !== "SagemakerResponseError") return assert.fail(`${error._tag}: ${error.message}`)
  assert.isTrue(error.message.startsWith("Unexpected model response "))
  assert.isAtMost(error.body.length, 2048 + 40)
  return error._tag
}

/** What a successful decoding always satisfies. */
const assertWellFormed = (result: Payload.GenerationResult) => {
  assert.isAbove(result.replies.length, 0)
  assert.strictEqual(result.meta.length, result.replies.length)
  assert.isTrue(result.replies.every((reply) => typeof reply === "string"))
  assert.isTrue(
    result.meta.every((meta) => Object.getPrototypeOf(meta) === Object.prototype && !Object.hasOwn(meta, "__proto__"))
  )
}

const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth)
const nestedObject = (depth: number) => `{"a":`.repeat(depth) + "1" + "}".repeat(depth)

/** Keys that mean something to JavaScript objects. */
const trickyKey = FastCheck.constantFrom(
  "__proto__",
  "\\u005f\\u005fproto\\u005f\\u005f", // `__proto__`, spelled with escapes
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "__defineGetter__",
  "generated_text",
  "generation",
  "choices",
  "details"
)

/** A JSON object text (written by hand: a JavaScript object cannot hold an own `__proto__` key). */
const objectText = (entries: ReadonlyArray<readonly [string, string]>) =>
  `{${entries.map(([key, value]) => `"${key}":${value}`).join(",")}}`

const jsonText = FastCheck.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value))

/** Values for the tricky keys: JSON, or objects that would matter as a prototype. */
const trickyValue = FastCheck.oneof(
  jsonText,
  FastCheck.constantFrom(
    `{"generated_text":"fake","polluted":true}`,
    `{"__proto__":{"polluted":true}}`,
    `[{"\\u005f_proto__":{"generated_text":"fake"}}]`,
    `{"prototype":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`
  )
)

/** Whether `value` holds an own `__proto__` key at any depth. */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === "object" && value !== null &&
  (Object.hasOwn(value, "__proto__") || Object.values(value).some(hasProtoKey))

// -------------------------------------------------------------------------------------------------

describe("Payload.decodeResponse: hostile bodies", () => {
  it.prop("random bytes: a result or SagemakerResponseError", [FastCheck.uint8Array({ maxLength: 512 })], ([bytes]) => {
    const verdict = decode(bytes)
    if (typeof verdict !== "string") assertWellFormed(verdict)
  }, { fastCheck: { numRuns } })

  it.prop("any JSON value (wrong types included): a result or SagemakerResponseError", [jsonText], ([text]) => {
    const verdict = decode(utf8(text))
    if (typeof verdict !== "string") assertWellFormed(verdict)
  }, { fastCheck: { numRuns } })

  it.prop(
    "objects with keys that mean something to JavaScript: the reply is the body's own, meta has a plain prototype",
    [
      FastCheck.string({ maxLength: 20 }),
      FastCheck.constantFrom("generated_text", "generation"),
      FastCheck.array(FastCheck.tuple(trickyKey, trickyValue), { maxLength: 6 }),
      FastCheck.boolean()
    ],
    ([reply, replyKey, extra, asList]) => {
      const entries = extra.filter(([key]) => key !== "generated_text" && key !== "generation" && key !== "choices")
      const text = objectText([[replyKey, JSON.stringify(reply)], ...entries])
      const result = decode(utf8(asList ? `[${text}]` : text))
      assert.notStrictEqual(typeof result, "string", text)
      const { meta, replies } = result as Payload.GenerationResult
      assert.deepStrictEqual(replies, [reply])
      assertWellFormed(result as Payload.GenerationResult)
      // Nothing leaked onto Object.prototype.
      assert.isUndefined((({}) as Record<string, unknown>).polluted)
      // No `__proto__` key anywhere in meta (a "__proto__" string value is fine).
      assert.isFalse(hasProtoKey(meta), text)
    },
    { fastCheck: { numRuns } }
  )

  it("a __proto__ key cannot supply the reply or meta's prototype", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      [`{"generation":"real","__proto__":{"generated_text":"fake"}}`, "real"],
      [`[{"generation":"real","\\u005f_proto__":{"generated_text":"fake","polluted":true}}]`, "real"],
      [`{"choices":[{"message":{"content":"real","__proto__":{"content":"fake"}}}],"__proto__":{"id":"x"}}`, "real"]
    ]
    for (const [body, reply] of cases) {
      const result = decode(utf8(body)) as Payload.GenerationResult
      assert.deepStrictEqual(result.replies, [reply], body)
      assertWellFormed(result)
      assert.isUndefined((result.meta[0] as Record<string, unknown>).polluted, body)
      assert.isUndefined((result.meta[0] as Record<string, unknown>).id, body)
    }
    // Deeper values keep their keys, minus `__proto__`, with plain prototypes.
    const deep = decode(utf8(`{"generated_text":"x","details":{"a":[{"__proto__":{"p":1},"b":2}]}}`))
    assert.deepStrictEqual((deep as Payload.GenerationResult).meta, [{ details: { a: [{ b: 2 }] } }])
    const element = ((deep as Payload.GenerationResult).meta[0]!.details as { a: Array<object> }).a[0]!
    assert.strictEqual(Object.getPrototypeOf(element), Object.prototype)
    assert.isFalse(Object.hasOwn(element, "__proto__"))
  })

  it("adversarial bodies: typed results, quickly", () => {
    const bodies: ReadonlyArray<readonly [string, string | Uint8Array, "reply" | "SagemakerResponseError"]> = [
      ["100k nested arrays", nested(100_000), "SagemakerResponseError"],
      ["1M nested arrays", nested(1_000_000), "SagemakerResponseError"],
      ["100k nested objects", nestedObject(100_000), "SagemakerResponseError"],
      ["100k nested arrays in a list", `[${nested(100_000)}]`, "SagemakerResponseError"],
      ["100k nested arrays as generation", `{"generation":${nested(100_000)}}`, "SagemakerResponseError"],
      ["100k nested arrays in meta", `{"generated_text":"x","details":${nested(100_000)}}`, "reply"],
      [
        "100k nested objects in meta, with escapes",
        `{"generated_text":"\\u0078","d":${nestedObject(100_000)}}`,
        "reply"
      ],
      ["100k unclosed arrays", "[".repeat(100_000), "SagemakerResponseError"],
      ["a 6 MB reply", `[{"generated_text":"${"x".repeat(6_000_000)}"}]`, "reply"],
      ["a 6 MB key", `{"generated_text":"x","${"k".repeat(6_000_000)}":1}`, "reply"],
      ["200k replies", `[${Array.from({ length: 200_000 }, () => `{"generated_text":"a"}`).join(",")}]`, "reply"],
      ["empty", "", "SagemakerResponseError"],
      ["whitespace", " \n\t ", "SagemakerResponseError"],
      ["a byte order mark and a body", "\uFEFF[{\"generated_text\":\"x\"}]", "reply"],
      ["null", "null", "SagemakerResponseError"],
      ["a number", "1e999", "SagemakerResponseError"],
      ["NaN", "NaN", "SagemakerResponseError"],
      ["an empty list", "[]", "SagemakerResponseError"],
      ["a list of null", "[null]", "SagemakerResponseError"],
      ["generated_text null", `{"generated_text":null}`, "SagemakerResponseError"],
      ["generated_text a number", `{"generated_text":1}`, "SagemakerResponseError"],
      ["no choices", `{"choices":[]}`, "SagemakerResponseError"],
      ["content not a string", `{"choices":[{"message":{"content":5}}]}`, "SagemakerResponseError"],
      ["a lone surrogate escape", `{"generated_text":"\\ud800"}`, "reply"],
      ["a NUL in the reply", `{"generated_text":"a\\u0000b"}`, "reply"],
      ["invalid UTF-8: a lone continuation byte", new Uint8Array([0x5b, 0x80, 0x5d]), "SagemakerResponseError"],
      ["invalid UTF-8: an overlong slash", new Uint8Array([0x22, 0xc0, 0xaf, 0x22]), "SagemakerResponseError"],
      ["invalid UTF-8: an encoded surrogate", new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), "SagemakerResponseError"],
      ["invalid UTF-8: cut inside a character", new Uint8Array([0x22, 0xf0, 0x9f, 0x98]), "SagemakerResponseError"],
      ["UTF-16", new Uint8Array([0xff, 0xfe, 0x5b, 0x00, 0x5d, 0x00]), "SagemakerResponseError"]
    ]
    for (const [name, body, expected] of bodies) {
      const started = performance.now()
      const verdict = decode(typeof body === "string" ? utf8(body) : body)
      assert.strictEqual(typeof verdict === "string" ? verdict : "reply", expected, name)
      if (typeof verdict !== "string") assertWellFormed(verdict)
      assert.isBelow(performance.now() - started, 2_000, name)
    }
  })

  it("a body over SageMaker's 6 MiB response limit is refused without being parsed", () => {
    assert.strictEqual(Payload.MAX_RESPONSE_BYTES, 6_291_456)
    const atLimit = utf8(`[{"generated_text":"${"x".repeat(Payload.MAX_RESPONSE_BYTES - 23)}"}]`)
    assert.strictEqual(atLimit.length, Payload.MAX_RESPONSE_BYTES)
    assert.notStrictEqual(typeof decode(atLimit), "string")
    const over = new Uint8Array(Payload.MAX_RESPONSE_BYTES + 1).fill(0x5b) // "[[[[…": would be parsed deep
    const error = Effect.runSync(Effect.flip(Payload.decodeResponse("ep", over)))
    if (error._tag !== "SagemakerResponseError") return assert.fail(error.message)
    assert.strictEqual(
      error.message,
      "Unexpected model response body: 6291457 bytes, over SageMaker's response limit of 6291456 bytes"
    )
    assert.strictEqual(error.body, `${"[".repeat(2048)}… (6291457 bytes)`)
  })
})

// -------------------------------------------------------------------------------------------------

const REASONS = ["InvalidUtf8", "LineTooLong", "InvalidJson", "UnknownShape", "ModelError", "DataAfterEnd"]

/** Pieces that make streams look almost right. */
const fragment = FastCheck.oneof(
  FastCheck.constantFrom(
    "data:",
    "data: ",
    "\n",
    "\r\n",
    "\n\n",
    ":comment\n",
    "event: x\n",
    "[DONE]",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "{\"token\":{\"text\":\"a\",\"id\":1}}",
    "{\"outputs\":[\"b\"]}",
    "{\"choices\":[{\"delta\":{\"content\":\"c\"}}]}",
    "{\"error\":\"boom\"}",
    "{\"details\":{\"finish_reason\":\"error\"}}",
    "{\"__proto__\":{\"token\":{\"text\":\"fake\"}}}",
    "😀",
    "\uFEFF"
  ).map(utf8),
  FastCheck.constantFrom(
    new Uint8Array([0xff]),
    new Uint8Array([0xc0, 0xaf]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array([0xf0, 0x9f])
  ),
  jsonText.map(utf8),
  FastCheck.uint8Array({ maxLength: 16 })
)

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

const cutAt = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const parts: Array<Uint8Array> = []
  let start = 0
  for (const point of points) {
    parts.push(bytes.subarray(start, point))
    start = point
  }
  parts.push(bytes.subarray(start))
  return parts
}

const hostileStream = FastCheck.record({
  pieces: FastCheck.array(fragment, { maxLength: 40 }),
  cuts: FastCheck.array(FastCheck.nat(), { maxLength: 20 }),
  format: FastCheck.constantFrom("auto" as const, "tgi" as const, "lmi" as const, "openai" as const),
  maxLineBytes: FastCheck.constantFrom(8, 64, 1_048_576)
})

/** Feeds `parts` to a decoder; only StreamDecodeError may be thrown, and the line bound always holds. */
const feed = (
  parts: ReadonlyArray<Uint8Array>,
  options: { readonly format: "auto" | "tgi" | "lmi" | "openai"; readonly maxLineBytes: number }
) => {
  const decoder = makeStreamDecoder(options)
  const events: Array<{ readonly text: string }> = []
  let failure: StreamDecodeError | undefined
  const step = (f: () => ReadonlyArray<{ readonly text: string }>) => {
    try {
      events.push(...f())
    } catch (error) {
      assert.instanceOf(error, StreamDecodeError, String(error))
      assert.include(REASONS, (error as StreamDecodeError).reason)
      failure ??= error as StreamDecodeError
    }
    assert.isAtMost(decoder.bufferedBytes, options.maxLineBytes)
  }
  for (const part of parts) step(() => decoder.push(part))
  step(() => decoder.end())
  for (const event of events) assert.strictEqual(typeof event.text, "string")
  return { events, failure, decoder }
}

describe("makeStreamDecoder: hostile streams", () => {
  it.prop("random near-valid streams, cut anywhere: events or a StreamDecodeError, the line bound holds", [
    hostileStream
  ], ([{ cuts, format, maxLineBytes, pieces }]) => {
    const { failure } = feed(cutAt(concat(pieces), cuts), { format, maxLineBytes })
    if (failure !== undefined) {
      // A failed decoder stays failed.
      const again = feed([], { format, maxLineBytes })
      assert.isDefined(again)
    }
  }, { fastCheck: { numRuns } })

  it.prop("random bytes: events or a StreamDecodeError", [
    FastCheck.array(FastCheck.uint8Array({ maxLength: 64 }), { maxLength: 20 })
  ], ([parts]) => {
    feed(parts, { format: "auto", maxLineBytes: 1_048_576 })
  }, { fastCheck: { numRuns } })

  it("adversarial lines: typed failures, no prototype from the stream", () => {
    const cases: ReadonlyArray<readonly [string, string, string | undefined, ReadonlyArray<string>]> = [
      ["100k nested arrays", `data:${nested(100_000)}\n`, "UnknownShape", []],
      ["100k nested arrays in a token", `data:{"token":{"text":"a"},"x":${nested(100_000)}}\n`, undefined, ["a"]],
      ["100k nested objects", `${nestedObject(100_000)}\n`, "UnknownShape", []],
      ["a __proto__ token", `{"__proto__":{"token":{"text":"fake"}},"outputs":["real"]}\n`, undefined, ["real"]],
      ["__proto__ only", `data:{"__proto__":{"token":{"text":"fake"}}}\n`, "UnknownShape", []],
      ["token text a number", `data:{"token":{"text":5}}\n`, "UnknownShape", []],
      ["choices an object", `data:{"choices":{"0":{"delta":{"content":"x"}}}}\n`, "UnknownShape", []],
      ["a JSON string", `data:"just text"\n`, "UnknownShape", []],
      ["an error object", `data:{"error":"boom","error_type":"generation"}\n`, "ModelError", []]
    ]
    for (const [name, wire, reason, texts] of cases) {
      const { events, failure } = feed([utf8(wire)], { format: "auto", maxLineBytes: 8_388_608 })
      assert.strictEqual(failure?.reason, reason, name)
      assert.deepStrictEqual(events.map((e) => e.text), texts, name)
    }
  })

  it("a 10 MB line without a newline, in 1 KiB parts: LineTooLong at the bound, nothing more buffered", () => {
    const decoder = makeStreamDecoder({ maxLineBytes: 1_048_576 })
    const part = new Uint8Array(1024).fill(0x61)
    let failedAt = -1
    for (let i = 0; i < 10_240; i++) {
      try {
        decoder.push(part)
      } catch (error) {
        assert.strictEqual((error as StreamDecodeError).reason, "LineTooLong")
        failedAt = i
        break
      }
      assert.isAtMost(decoder.bufferedBytes, 1_048_576)
    }
    assert.strictEqual(failedAt, 1024)
    assert.strictEqual(decoder.bufferedBytes, 0)
  })
})

// -------------------------------------------------------------------------------------------------

/** The generator's verdict over a fake transport: a success or a typed error's tag; never a defect. */
const verdictOf = <A>(exit: Exit.Exit<A, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  assert.isTrue(Option.isSome(failure) && isSagemakerError(failure.value), Cause.pretty(exit.cause))
  return (Option.getOrThrow(failure) as { readonly _tag: string })._tag
}

const bodyArbitrary = FastCheck.oneof(
  FastCheck.uint8Array({ maxLength: 256 }),
  jsonText.map(utf8),
  FastCheck.array(FastCheck.tuple(trickyKey, jsonText), { maxLength: 5 }).map((entries) =>
    utf8(`[${objectText([["generated_text", "\"x\""], ...entries])}]`)
  ),
  FastCheck.constantFrom(
    `{"generated_text":"x","usage":{"prompt_tokens":"many"},"id":{},"finish_reason":7}`,
    `{"choices":[{"message":{"content":"x"},"finish_reason":null}],"usage":[1,2],"id":5}`,
    `[{"generated_text":"x","details":{"finish_reason":{"nested":true}}}]`
  ).map(utf8)
)

describe("the generator over hostile responses (fake transport)", () => {
  it.effect.prop(
    "run: a result or SagemakerResponseError, never a defect",
    [bodyArbitrary],
    ([body]) =>
      Effect.gen(function*() {
        const fake = fakeClient(() => Effect.succeed(body))
        const exit = yield* SagemakerGenerator.run("p").pipe(
          Effect.provide(SagemakerGenerator.layerWithClient({ model: "m" })),
          Effect.provide(fake.layer),
          Effect.exit
        )
        assert.include(["success", "SagemakerResponseError"], verdictOf(exit))
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.effect.prop(
    "stream: chunks, then at most a SagemakerResponseError or SagemakerStreamError, never a defect",
    [hostileStream],
    ([{ cuts, pieces }]) =>
      Effect.gen(function*() {
        const parts = cutAt(concat(pieces), cuts)
        const fake = fakeClient(
          () => Effect.die("run is not used here"),
          () => Effect.succeed(Stream.fromIterable(parts))
        )
        const exit = yield* SagemakerGenerator.stream("p").pipe(
          Stream.runDrain,
          Effect.provide(SagemakerGenerator.layerWithClient({ model: "m" })),
          Effect.provide(fake.layer),
          Effect.exit
        )
        assert.include(["success", "SagemakerResponseError", "SagemakerStreamError"], verdictOf(exit))
      }),
    { fastCheck: { numRuns: 60 } }
  )
})
