import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import type { DecodedEvent, StreamDecoderOptions, StreamFormat } from "../src/internal/container/streamDecoder.js"
import { makeStreamDecoder, StreamDecodeError } from "../src/internal/container/streamDecoder.js"

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

const utf8 = new TextEncoder()
const bytesOf = (s: string): Uint8Array => utf8.encode(s)

type Splitting = "one-byte" | ReadonlyArray<number>

/** Cuts `bytes` at the given points (taken modulo the length), or into one-byte parts. */
const split = (bytes: Uint8Array, splitting: Splitting): Array<Uint8Array> => {
  if (splitting === "one-byte") {
    const parts: Array<Uint8Array> = []
    for (let i = 0; i < bytes.length; i++) parts.push(bytes.subarray(i, i + 1))
    return parts
  }
  const cuts = [...new Set(splitting.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b)
  const parts: Array<Uint8Array> = []
  let from = 0
  for (const cut of cuts) {
    parts.push(bytes.subarray(from, cut)) // may be empty: empty parts must be harmless
    from = cut
  }
  parts.push(bytes.subarray(from))
  return parts
}

const decodeParts = (
  parts: ReadonlyArray<Uint8Array>,
  options?: StreamDecoderOptions
): { events: Array<DecodedEvent>; format: StreamFormat | undefined } => {
  const decoder = makeStreamDecoder(options)
  const events: Array<DecodedEvent> = []
  for (const part of parts) events.push(...decoder.push(part))
  events.push(...decoder.end())
  return { events, format: decoder.format }
}

const decodeString = (s: string, options?: StreamDecoderOptions) => decodeParts([bytesOf(s)], options)

const expectFailure = (f: () => unknown): StreamDecodeError => {
  try {
    f()
  } catch (e) {
    if (e instanceof StreamDecodeError) return e
    throw e
  }
  assert.fail("expected a StreamDecodeError")
}

type MutableEvent = { -readonly [K in keyof DecodedEvent]: DecodedEvent[K] }

const textOf = (events: ReadonlyArray<DecodedEvent>): string => events.map((e) => e.text).join("")

// -------------------------------------------------------------------------------------------------
// arbitraries
// -------------------------------------------------------------------------------------------------

/** Token text: any code point, plus a pool of nasty ones (quotes, backslashes, newlines, astral). */
const tokenText = FastCheck.oneof(
  FastCheck.string({ unit: "binary", maxLength: 8 }),
  FastCheck.string({
    unit: FastCheck.constantFrom(
      "a",
      " ",
      "é",
      "€",
      "😀",
      "👩‍👩‍👧",
      "𝄞",
      "\"",
      "\\",
      "\n",
      "\r\n",
      "\r",
      "\t",
      "\u0000",
      "\u2028",
      "data:",
      "[DONE]",
      ": x"
    ),
    maxLength: 6
  })
)

const logprob = FastCheck.double({ min: -30, max: 0, noNaN: true }).map((x) => (x === 0 ? 0 : x)) // no -0

const token = FastCheck.record({ id: FastCheck.integer({ min: 0, max: 250_000 }), text: tokenText, logprob })
type Token = typeof token extends FastCheck.Arbitrary<infer A> ? A : never

const tokens = FastCheck.array(token, { maxLength: 12 })

const splitting: FastCheck.Arbitrary<Splitting> = FastCheck.oneof(
  { arbitrary: FastCheck.constant("one-byte" as const), weight: 1 },
  { arbitrary: FastCheck.array(FastCheck.nat(), { maxLength: 24 }), weight: 4 }
)

const sseNoise = FastCheck.array(
  FastCheck.constantFrom("", ": keep-alive", ":", "event: message", "id: 42", "retry: 1000"),
  { maxLength: 2 }
)

const numRuns = 150

// -------------------------------------------------------------------------------------------------
// encoders (the container side)
// -------------------------------------------------------------------------------------------------

const EOS = { id: 2, text: "</s>", logprob: -0.01 }

const tgiStream = (
  ts: ReadonlyArray<Token>,
  opts: { space: boolean; crlf: boolean; eos: boolean; noise: ReadonlyArray<ReadonlyArray<string>> }
): { wire: string; expected: Array<DecodedEvent> } => {
  const nl = opts.crlf ? "\r\n" : "\n"
  const prefix = opts.space ? "data: " : "data:"
  const all = opts.eos ? [...ts.map((t) => ({ ...t, special: false })), { ...EOS, special: true }] : ts.map((t) => ({
    ...t,
    special: false
  }))
  const full = ts.map((t) => t.text).join("")
  let wire = ""
  const expected: Array<DecodedEvent> = []
  all.forEach((t, i) => {
    const last = i === all.length - 1
    for (const noise of opts.noise[i % Math.max(1, opts.noise.length)] ?? []) wire += noise + nl
    const details = last
      ? { finish_reason: opts.eos ? "eos_token" : "length", generated_tokens: all.length, input_length: 7, seed: null }
      : null
    const obj = {
      index: i,
      token: { id: t.id, text: t.text, logprob: t.logprob, special: t.special },
      generated_text: last ? full : null,
      details
    }
    wire += prefix + JSON.stringify(obj) + nl + nl
    const event: MutableEvent = {
      text: t.special ? "" : t.text,
      tokenId: t.id,
      logprob: t.logprob,
      special: t.special
    }
    if (t.special) event.specialText = t.text
    if (last) {
      event.generatedText = full
      event.finishReason = opts.eos ? "eos_token" : "length"
      event.inputTokens = 7
      event.outputTokens = all.length
    }
    expected.push(event)
  })
  return { wire, expected }
}

const lmiStream = (
  ts: ReadonlyArray<Token>,
  opts: { finalNewline: boolean; prefix: "" | "data:" | "data: " }
): { wire: string; expected: Array<DecodedEvent> } => {
  const full = ts.map((t) => t.text).join("")
  const lines: Array<string> = []
  const expected: Array<DecodedEvent> = []
  ts.forEach((t, i) => {
    const last = i === ts.length - 1
    const obj: Record<string, unknown> = { token: { id: t.id, text: t.text, log_prob: t.logprob } }
    const event: MutableEvent = { text: t.text, tokenId: t.id, logprob: t.logprob }
    if (last) {
      obj.generated_text = full
      obj.details = { finish_reason: "length", generated_tokens: ts.length, inputs: "What is Deep Learning?" }
      event.generatedText = full
      event.finishReason = "length"
      event.outputTokens = ts.length
    }
    lines.push(opts.prefix + JSON.stringify(obj))
    expected.push(event)
  })
  const sep = opts.prefix === "" ? "\n" : "\n\n"
  const wire = lines.join(sep) + (opts.finalNewline && lines.length > 0 ? sep : "")
  return { wire, expected }
}

const openaiStream = (
  ts: ReadonlyArray<Token>,
  opts: { prefix: "" | "data:" | "data: " }
): { wire: string; expected: Array<DecodedEvent> } => {
  const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: "chatcmpl-0",
      object: "chat.completion.chunk",
      created: 1712792433,
      model: "tgi",
      choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }],
      ...extra
    })
  const lines = [chunk({ delta: { role: "assistant", content: "" } })]
  const expected: Array<DecodedEvent> = []
  for (const t of ts) {
    lines.push(chunk({ delta: { content: t.text } }))
    if (t.text !== "") expected.push({ text: t.text })
  }
  lines.push(chunk({ delta: {}, finish_reason: "stop" }))
  expected.push({ text: "", finishReason: "stop" })
  lines.push(
    JSON.stringify({ id: "chatcmpl-0", choices: [], usage: { prompt_tokens: 9, completion_tokens: ts.length } })
  )
  expected.push({ text: "", inputTokens: 9, outputTokens: ts.length })
  if (opts.prefix !== "") {
    // SSE: [DONE] ends the stream, whatever follows (even garbage) is ignored.
    const wire = lines.map((l) => opts.prefix + l + "\n\n").join("") + opts.prefix + "[DONE]\n\ndata: {not json\n\xff"
    return { wire, expected }
  }
  return { wire: lines.join("\n") + "\n", expected }
}

/** Encodes with the `\xff` trailer (not UTF-8) kept as a raw byte. */
const wireBytes = (wire: string): Uint8Array => {
  const at = wire.indexOf("\xff")
  if (at === -1) return bytesOf(wire)
  const head = bytesOf(wire.slice(0, at))
  const out = new Uint8Array(head.length + 1)
  out.set(head)
  out[head.length] = 0xff
  return out
}

// -------------------------------------------------------------------------------------------------
// property tests
// -------------------------------------------------------------------------------------------------

describe("streamDecoder properties", () => {
  it.prop(
    "tgi SSE: any tokens, any split points → same events and text",
    {
      ts: tokens,
      space: FastCheck.boolean(),
      crlf: FastCheck.boolean(),
      eos: FastCheck.boolean(),
      noise: FastCheck.array(sseNoise, { maxLength: 4 }),
      cuts: splitting
    },
    ({ crlf, cuts, eos, noise, space, ts }) => {
      const { expected, wire } = tgiStream(ts, { space, crlf, eos, noise })
      const parts = split(bytesOf(wire), cuts)
      const auto = decodeParts(parts)
      assert.deepStrictEqual(auto.events, expected)
      assert.strictEqual(textOf(auto.events), ts.map((t) => t.text).join(""))
      assert.strictEqual(auto.format, expected.length === 0 ? undefined : "tgi")
      assert.deepStrictEqual(decodeParts(parts, { format: "tgi" }).events, expected)
    },
    { fastCheck: { numRuns } }
  )

  it.prop(
    "lmi JSON lines (bare or data:-prefixed, with or without a final newline) → same events and text",
    {
      ts: tokens,
      finalNewline: FastCheck.boolean(),
      prefix: FastCheck.constantFrom("" as const, "data:" as const, "data: " as const),
      cuts: splitting
    },
    ({ cuts, finalNewline, prefix, ts }) => {
      const { expected, wire } = lmiStream(ts, { finalNewline, prefix })
      const parts = split(bytesOf(wire), cuts)
      const auto = decodeParts(parts)
      assert.deepStrictEqual(auto.events, expected)
      assert.strictEqual(textOf(auto.events), ts.map((t) => t.text).join(""))
      assert.strictEqual(auto.format, ts.length === 0 ? undefined : "lmi")
      assert.deepStrictEqual(decodeParts(parts, { format: "lmi" }).events, expected)
    },
    { fastCheck: { numRuns } }
  )

  it.prop(
    "lmi dynamic batch {\"outputs\":[...]} → same text",
    { texts: FastCheck.array(tokenText, { maxLength: 12 }), finalNewline: FastCheck.boolean(), cuts: splitting },
    ({ cuts, finalNewline, texts }) => {
      const wire = texts.map((t) => JSON.stringify({ outputs: [t] })).join("\n") + (finalNewline ? "\n" : "")
      const auto = decodeParts(split(bytesOf(wire), cuts))
      assert.deepStrictEqual(auto.events, texts.map((text) => ({ text })))
      assert.strictEqual(auto.format, texts.length === 0 ? undefined : "lmi")
    },
    { fastCheck: { numRuns } }
  )

  it.prop(
    "openai chunks (data:, data: , bare) with [DONE] → same text, finish and usage",
    {
      ts: tokens,
      prefix: FastCheck.constantFrom("" as const, "data:" as const, "data: " as const),
      cuts: splitting
    },
    ({ cuts, prefix, ts }) => {
      const { expected, wire } = openaiStream(ts, { prefix })
      const parts = split(wireBytes(wire), cuts)
      const auto = decodeParts(parts)
      assert.deepStrictEqual(auto.events, expected)
      assert.strictEqual(textOf(auto.events), ts.map((t) => t.text).join(""))
      assert.strictEqual(auto.format, "openai")
      assert.deepStrictEqual(decodeParts(parts, { format: "openai" }).events, expected)
    },
    { fastCheck: { numRuns } }
  )

  it.prop(
    "the buffered line never exceeds maxLineBytes, and fails exactly when it would",
    {
      sizes: FastCheck.array(FastCheck.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 40 }),
      max: FastCheck.integer({ min: 1, max: 1500 })
    },
    ({ max, sizes }) => {
      const decoder = makeStreamDecoder({ maxLineBytes: max })
      let total = 0
      for (const size of sizes) {
        const part = new Uint8Array(size).fill(0x78) // "x", no newline
        if (total + size > max) {
          const error = expectFailure(() => decoder.push(part))
          assert.strictEqual(error.reason, "LineTooLong")
          assert.strictEqual(decoder.bufferedBytes, 0)
          return
        }
        assert.deepStrictEqual(decoder.push(part), [])
        total += size
        assert.strictEqual(decoder.bufferedBytes, total)
        assert.isAtMost(decoder.bufferedBytes, max)
      }
    },
    { fastCheck: { numRuns } }
  )
})

// -------------------------------------------------------------------------------------------------
// examples
// -------------------------------------------------------------------------------------------------

const PROTOCOL_TGI = "data:{\"token\":{\"id\":9509,\"text\":\" Deep\",\"logprob\":-0.5175781,\"special\":false}," +
  "\"generated_text\":null,\"details\":null}\n\n" +
  "data:{\"token\":{\"id\":1036,\"text\":\" learning\",\"logprob\":-0.21582031,\"special\":false}," +
  "\"generated_text\":null,\"details\":null}\n\n"

const TGI_EOS = "data:{\"index\":3,\"token\":{\"id\":2,\"text\":\"</s>\",\"logprob\":-0.0,\"special\":true}," +
  "\"top_tokens\":null,\"generated_text\":\" Deep learning\"," +
  "\"details\":{\"finish_reason\":\"eos_token\",\"generated_tokens\":3,\"input_length\":6,\"seed\":null}}\n\n"

describe("streamDecoder examples", () => {
  it("decodes docs/protocol.md's real TGI transcript, the EOS event withheld from text", () => {
    const { events, format } = decodeString(PROTOCOL_TGI + TGI_EOS)
    assert.strictEqual(format, "tgi")
    assert.deepStrictEqual(events, [
      { text: " Deep", tokenId: 9509, logprob: -0.5175781, special: false },
      { text: " learning", tokenId: 1036, logprob: -0.21582031, special: false },
      {
        text: "",
        tokenId: 2,
        logprob: -0,
        special: true,
        specialText: "</s>",
        generatedText: " Deep learning",
        finishReason: "eos_token",
        inputTokens: 6,
        outputTokens: 3
      }
    ])
    assert.strictEqual(textOf(events), " Deep learning")
  })

  it("includes special token text on request, and the raw object", () => {
    const { events } = decodeString(TGI_EOS, { includeSpecialTokens: true, includeRaw: true })
    assert.strictEqual(events.length, 1)
    assert.strictEqual(events[0]!.text, "</s>")
    assert.strictEqual(events[0]!.special, true)
    assert.strictEqual(events[0]!.specialText, undefined)
    assert.deepStrictEqual((events[0]!.raw as { index: number }).index, 3)
  })

  it("splits inside data:{\"tok and inside a 4-byte emoji (PROTOCOL §6.4)", () => {
    const wire = bytesOf("data:{\"token\":{\"id\":1,\"text\":\"😀\",\"logprob\":-1,\"special\":false}}\n\n")
    const emoji = wire.indexOf(0xf0)
    const parts = [wire.subarray(0, 10), wire.subarray(10, emoji + 2), wire.subarray(emoji + 2)]
    assert.deepStrictEqual(decodeParts(parts).events, [{ text: "😀", tokenId: 1, logprob: -1, special: false }])
  })

  it("joins LangChain's split {\"outputs\": + [\" problem\"]}", () => {
    const { events, format } = decodeParts([bytesOf("{\"outputs\": "), bytesOf("[\" problem\"]}\n")])
    assert.strictEqual(format, "lmi")
    assert.deepStrictEqual(events, [{ text: " problem" }])
  })

  it("flushes the last line without a newline at end(), not before", () => {
    const decoder = makeStreamDecoder()
    assert.deepStrictEqual(decoder.push(bytesOf("{\"outputs\":[\"a\"]}\n{\"outputs\":[\"b\"]}")), [{ text: "a" }])
    assert.deepStrictEqual(decoder.end(), [{ text: "b" }])
    assert.deepStrictEqual(decoder.end(), [])
  })

  it("strips a trailing \\r (CRLF lines)", () => {
    const { events } = decodeString("{\"outputs\":[\"a\"]}\r\n{\"outputs\":[\"b\"]}\r")
    assert.deepStrictEqual(events, [{ text: "a" }, { text: "b" }])
    assert.deepStrictEqual(decodeString("data:\r\n\r\ndata:{\"outputs\":[\"a\"]}\r\n").events, [{ text: "a" }])
    assert.strictEqual(expectFailure(() => decodeString("{oops}\r\n")).line, "{oops}")
  })

  it("[DONE] ends the stream: later bytes are ignored, even invalid ones", () => {
    const decoder = makeStreamDecoder()
    const events = decoder.push(
      bytesOf("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n")
    )
    assert.deepStrictEqual(events, [{ text: "Hi" }])
    assert.deepStrictEqual(decoder.push(bytesOf("data: [DONE]\n\ndata: {oops}\n")), [])
    assert.isTrue(decoder.done)
    assert.deepStrictEqual(decoder.push(new Uint8Array([0xff, 0x0a])), [])
    assert.deepStrictEqual(decoder.end(), [])
    // [DONE] in the middle of a part
    const one =
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
      "data:[DONE]\n\ndata: {oops}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n{tail"
    assert.deepStrictEqual(decodeString(one).events, [{ text: "a" }, { text: "b" }])
  })

  it("openai: role-only and null-content chunks give no event; finish and usage do", () => {
    const wire = [
      "data:{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}",
      "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":null}]}",
      "data:{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"},\"finish_reason\":null}]}",
      "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Deep\"},\"logprobs\":{\"content\":[{\"token\":\"Deep\",\"logprob\":-0.25}]},\"finish_reason\":null}]}",
      "data:{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}",
      "data:[DONE]"
    ].join("\n\n") + "\n\n"
    const { events, format } = decodeString(wire)
    assert.strictEqual(format, "openai")
    assert.deepStrictEqual(events, [
      { text: "Deep", logprob: -0.25 },
      { text: "", finishReason: "length", inputTokens: 5, outputTokens: 1 }
    ])
  })

  it("detects the format from the first meaningful line", () => {
    const cases: ReadonlyArray<readonly [string, StreamFormat | undefined]> = [
      [": comment\n\nevent: message\nid: 1\nretry: 10\n\n", undefined],
      ["\n\n: ping\ndata:{\"token\":{\"id\":1,\"text\":\"a\",\"logprob\":-1,\"special\":false}}\n", "tgi"],
      ["data: {\"token\":{\"id\":1,\"text\":\"a\",\"log_prob\":-1}}\n", "lmi"],
      ["data: {\"outputs\":[\"a\"]}\n", "lmi"],
      ["{\"token\":{\"id\":1,\"text\":\"a\",\"log_prob\":-1}}\n", "lmi"],
      ["{\"outputs\":[\"a\"]}\n", "lmi"],
      ["data:{\"choices\":[]}\n", "openai"],
      ["{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n", "openai"],
      ["data: [DONE]\n", "openai"]
    ]
    for (const [wire, expected] of cases) {
      assert.strictEqual(decodeString(wire).format, expected, wire)
    }
    const decoder = makeStreamDecoder({ format: "auto" })
    decoder.push(bytesOf(": ping\n\n"))
    assert.strictEqual(decoder.format, undefined)
    decoder.push(bytesOf("{\"outputs\":[\"a\"]}\n"))
    assert.strictEqual(decoder.format, "lmi")
  })

  it("a fixed format rejects another format's objects with UnknownShape", () => {
    const tgiLine = "data:{\"token\":{\"id\":1,\"text\":\"a\",\"logprob\":-1,\"special\":false}}\n"
    const error = expectFailure(() => decodeString(tgiLine, { format: "openai" }))
    assert.strictEqual(error.reason, "UnknownShape")
    assert.strictEqual(error.format, "openai")
    const error2 = expectFailure(() => decodeString("{\"choices\":[]}\n", { format: "tgi" }))
    assert.strictEqual(error2.reason, "UnknownShape")
    const error3 = expectFailure(() => decodeString("{\"hello\":1}\n"))
    assert.strictEqual(error3.reason, "UnknownShape")
    assert.strictEqual(error3.line, "{\"hello\":1}")
    const error4 = expectFailure(() => decodeString("[{\"generated_text\":\"x\"}]\n"))
    assert.strictEqual(error4.reason, "UnknownShape")
    const error5 = expectFailure(() => decodeString("{\"token\":{\"id\":1}}\n"))
    assert.strictEqual(error5.reason, "UnknownShape")
  })

  it("an invalid JSON line fails with InvalidJson, carrying the events decoded before it", () => {
    const decoder = makeStreamDecoder()
    const error = expectFailure(() => decoder.push(bytesOf("{\"outputs\":[\"a\"]}\n{\"outputs\": [\"b\"\nnext")))
    assert.strictEqual(error.reason, "InvalidJson")
    assert.strictEqual(error.line, "{\"outputs\": [\"b\"")
    assert.deepStrictEqual(error.events, [{ text: "a" }])
    assert.match(error.message, /not JSON/)
    // the decoder stays failed, and does not buffer anymore
    const again = expectFailure(() => decoder.push(bytesOf("{\"outputs\":[\"c\"]}\n")))
    assert.strictEqual(again.reason, "InvalidJson")
    assert.deepStrictEqual(again.events, [])
    assert.strictEqual(decoder.bufferedBytes, 0)
    assert.strictEqual(expectFailure(() => decoder.end()).reason, "InvalidJson")
  })

  it("an unknown SSE-less text line fails with InvalidJson (never dropped)", () => {
    const error = expectFailure(() => decodeString("data:{\"token\":{\"id\":1,\"text\":\"a\"}}\nhello world\n"))
    assert.strictEqual(error.reason, "InvalidJson")
    assert.strictEqual(error.line, "hello world")
    assert.deepStrictEqual(error.events, [{ text: "a", tokenId: 1 }])
  })

  it("invalid UTF-8 fails with InvalidUtf8, never U+FFFD", () => {
    const bad = new Uint8Array([
      ...bytesOf("{\"outputs\":[\"a\"]}\n{\"outputs\":[\""),
      0xc3,
      0x28,
      ...bytesOf("\"]}\n")
    ])
    const error = expectFailure(() => decodeParts([bad]))
    assert.strictEqual(error.reason, "InvalidUtf8")
    // one-byte parts: the bad byte is only detected when the next byte arrives
    const error2 = expectFailure(() => decodeParts(split(bad, "one-byte")))
    assert.strictEqual(error2.reason, "InvalidUtf8")
    // the stream ends inside a multi-byte character
    const cut = bytesOf("{\"outputs\":[\"😀\"]}").subarray(0, 15)
    const decoder = makeStreamDecoder()
    assert.deepStrictEqual(decoder.push(cut), [])
    assert.strictEqual(expectFailure(() => decoder.end()).reason, "InvalidUtf8")
    // a lone continuation byte
    assert.strictEqual(expectFailure(() => decodeParts([new Uint8Array([0x80, 0x0a])])).reason, "InvalidUtf8")
  })

  it("invalid UTF-8 later in a part: the lines before it are delivered, the bad line is reported", () => {
    const part = new Uint8Array([
      ...bytesOf("{\"outputs\":[\"a\"]}\n{\"outputs\":[\"b\"]}\n{\"outputs\":[\"c\"]}\n{\"outputs\":[\"x"),
      0xff,
      ...bytesOf("\"]}\n{\"outputs\":[\"d\"]}\n")
    ])
    const decoder = makeStreamDecoder()
    const error = expectFailure(() => decoder.push(part))
    assert.strictEqual(error.reason, "InvalidUtf8")
    assert.deepStrictEqual(error.events, [{ text: "a" }, { text: "b" }, { text: "c" }])
    assert.strictEqual(error.line, "{\"outputs\":[\"x\uFFFD\"]}")
    // a character cut by a LF is invalid too
    const cut = new Uint8Array([...bytesOf("{\"outputs\":[\"a\"]}\n{\"outputs\":[\""), 0xe2, 0x82, 0x0a])
    const error2 = expectFailure(() => decodeParts([cut]))
    assert.strictEqual(error2.reason, "InvalidUtf8")
    assert.deepStrictEqual(error2.events, [{ text: "a" }])
  })

  it("[DONE] followed by invalid bytes in the same part ends cleanly", () => {
    const part = new Uint8Array([
      ...bytesOf(
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
      ),
      ...bytesOf("data: [DONE]\n\n"),
      0xff,
      0x0a
    ])
    assert.deepStrictEqual(decodeParts([part]).events, [{ text: "a" }, { text: "b" }])
  })

  it("a line past maxLineBytes fails without buffering more (many parts, no newline)", () => {
    const decoder = makeStreamDecoder({ maxLineBytes: 1024 })
    const part = new Uint8Array(64).fill(0x7b) // "{"
    for (let i = 1; i <= 16; i++) {
      assert.deepStrictEqual(decoder.push(part), [])
      assert.strictEqual(decoder.bufferedBytes, i * 64)
    }
    const error = expectFailure(() => decoder.push(part))
    assert.strictEqual(error.reason, "LineTooLong")
    assert.strictEqual(error.line.length, 201) // 200 characters and an ellipsis
    assert.strictEqual(decoder.bufferedBytes, 0)
    for (let i = 0; i < 1000; i++) {
      assert.strictEqual(expectFailure(() => decoder.push(part)).reason, "LineTooLong")
    }
    assert.strictEqual(decoder.bufferedBytes, 0)
  })

  it("maxLineBytes is exact in UTF-8 bytes, wherever the line sits in a part", () => {
    const line = JSON.stringify({ outputs: ["é".repeat(300) + "😀"] }) // 600 + 4 + 16 bytes
    const size = bytesOf(line).length
    assert.strictEqual(size, 620)
    const first = "{\"outputs\":[\"a\"]}\n"
    const cases = [
      line + "\n", // first line, one part
      first + line + "\n" + first, // a line in the middle of a part
      first + line // the tail, flushed at end
    ]
    for (const wire of cases) {
      assert.strictEqual(textOf(decodeString(wire, { maxLineBytes: size }).events).includes("😀"), true)
      assert.strictEqual(expectFailure(() => decodeString(wire, { maxLineBytes: size - 1 })).reason, "LineTooLong")
      // and across parts
      const parts = split(bytesOf(wire), [5, 300, 301, 302, 630])
      assert.strictEqual(textOf(decodeParts(parts, { maxLineBytes: size }).events).includes("😀"), true)
      assert.strictEqual(expectFailure(() => decodeParts(parts, { maxLineBytes: size - 1 })).reason, "LineTooLong")
    }
  })

  it("LMI's mid-generation error line fails with ModelError after the earlier tokens", () => {
    const wire = "{\"token\": {\"id\": 304, \"text\": \"Deep \", \"log_prob\": -0.05}}\n" +
      "{\"token\": {\"id\": -1, \"text\": \"\", \"log_prob\": -1, \"special_token\": true}, \"generated_text\": \"\", " +
      "\"details\": {\"finish_reason\": \"error\", \"generated_tokens\": 1, \"inputs\": \"What is Deep Learning?\"}}\n"
    const error = expectFailure(() => decodeString(wire))
    assert.strictEqual(error.reason, "ModelError")
    assert.strictEqual(error.format, "lmi")
    assert.deepStrictEqual(error.events, [{ text: "Deep ", tokenId: 304, logprob: -0.05 }])
    assert.match(error.message, /finish_reason "error"/)
  })

  it("error objects in the stream fail with ModelError and the container's message", () => {
    const tgi = expectFailure(() =>
      decodeString("data:{\"error\":\"Request failed during generation: CUDA OOM\",\"error_type\":\"generation\"}\n\n")
    )
    assert.strictEqual(tgi.reason, "ModelError")
    assert.strictEqual(tgi.message, "Request failed during generation: CUDA OOM")
    const vllm = expectFailure(() =>
      decodeString("data: {\"error\":{\"message\":\"boom\",\"type\":\"x\",\"code\":500}}\n\n")
    )
    assert.strictEqual(vllm.message, "boom")
    const object = expectFailure(() => decodeString("{\"object\":\"error\",\"message\":\"bad\",\"code\":400}\n"))
    assert.strictEqual(object.message, "bad")
    const finish = expectFailure(() =>
      decodeString("data:{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\"}]}\n")
    )
    assert.strictEqual(finish.reason, "ModelError")
  })

  it("push after end() fails with DataAfterEnd", () => {
    const decoder = makeStreamDecoder()
    assert.deepStrictEqual(decoder.end(), [])
    assert.deepStrictEqual(decoder.push(new Uint8Array(0)), [])
    assert.strictEqual(expectFailure(() => decoder.push(bytesOf("{}\n"))).reason, "DataAfterEnd")
  })

  it("an empty stream, or one of blank and comment lines, gives no events", () => {
    assert.deepStrictEqual(decodeParts([]).events, [])
    assert.deepStrictEqual(decodeParts([new Uint8Array(0), new Uint8Array(0)]).events, [])
    assert.deepStrictEqual(decodeString("\n\r\n\n: keep-alive\ndata:\ndata: \n   \n").events, [])
  })

  it("a UTF-8 BOM at the start is dropped", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf("{\"outputs\":[\"a\"]}\n")])
    assert.deepStrictEqual(decodeParts(split(bom, "one-byte")).events, [{ text: "a" }])
  })

  it("rejects a non-positive maxLineBytes", () => {
    assert.throws(() => makeStreamDecoder({ maxLineBytes: 0 }), RangeError)
  })
})

describe("chat streams: tool calls, reasoning, finish reasons, LMI's shapes", () => {
  const sse = (...objects: ReadonlyArray<unknown>) => objects.map((o) => `data: ${JSON.stringify(o)}\n\n`).join("")

  it("tool-call deltas become fragments by index, from a list or TGI's single object", () => {
    const { events } = decodeString(
      sse(
        {
          choices: [{
            index: 0,
            delta: {
              role: "assistant",
              content: null,
              tool_calls: [{
                index: 0,
                id: "call_1",
                type: "function",
                function: { name: "get_weather", arguments: "" }
              }]
            }
          }]
        },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] } }] },
        {
          choices: [{
            index: 0,
            delta: {
              tool_calls: { index: 0, id: "", type: "function", function: { name: null, arguments: "\"Paris\"}" } }
            }
          }]
        },
        { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] }
      ) + "data: [DONE]\n\n"
    )
    assert.deepStrictEqual(events, [
      { text: "", toolCalls: [{ index: 0, id: "call_1", name: "get_weather" }] },
      { text: "", toolCalls: [{ index: 0, arguments: "{\"city\":" }] },
      { text: "", toolCalls: [{ index: 0, arguments: "\"Paris\"}" }] },
      { text: "", finishReason: "tool_calls" }
    ])
  })

  it("reasoning deltas, in either spelling, come before the answer", () => {
    const { events } = decodeString(sse(
      { choices: [{ delta: { reasoning_content: "Let me think." } }] },
      { choices: [{ delta: { reasoning: " Done." } }] },
      { choices: [{ delta: { content: "42" }, finish_reason: "stop" }] }
    ))
    assert.deepStrictEqual(events, [
      { text: "", reasoning: "Let me think." },
      { text: "", reasoning: " Done." },
      { text: "42", finishReason: "stop" }
    ])
  })

  it("an empty-string finish reason is no finish reason (TGI completions streams)", () => {
    const { events } = decodeString(sse(
      { choices: [{ index: 0, text: "a", finish_reason: "" }] },
      { choices: [{ index: 0, text: "b", finish_reason: "length" }] }
    ))
    assert.deepStrictEqual(events, [{ text: "a" }, { text: "b", finishReason: "length" }])
  })

  it("LMI's chat stream: logprobs in a one-element list give the token's logprob", () => {
    const line = {
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      choices: [{
        index: 0,
        delta: { content: "Hi", role: "assistant" },
        logprobs: [{ content: [{ token: "Hi", logprob: -0.25, bytes: [72, 105], top_logprobs: [] }] }],
        finish_reason: null
      }]
    }
    const { events } = decodeString(`${JSON.stringify(line)}\n`)
    assert.deepStrictEqual(events, [{ text: "Hi", logprob: -0.25 }])
  })

  it("LMI's last token carries the exception's text as error_msg: it is the failure's message", () => {
    const failure = expectFailure(() =>
      decodeString(
        JSON.stringify({ token: { id: 1, text: "a", log_prob: -1 } }) + "\n" +
          JSON.stringify({
            token: { id: -1, text: "", log_prob: -1, error_msg: "CUDA error: out of memory" },
            generated_text: "a",
            details: { finish_reason: "error" }
          }) + "\n"
      )
    )
    assert.strictEqual(failure.reason, "ModelError")
    assert.strictEqual(failure.message, "CUDA error: out of memory")
    assert.deepStrictEqual(failure.events.map((e) => e.text), ["a"])
  })
})
