/**
 * Pure, incremental decoder for model-container token streams (docs/protocol.md §6.4, §7).
 *
 * Pipeline: `PayloadPart` bytes (arbitrary boundaries) → streaming UTF-8 (`TextDecoder` with
 * `fatal: true` and `{ stream: true }`, so a character split across parts decodes correctly and
 * invalid UTF-8 is a failure, never a silent U+FFFD) → lines (split on `\n`, one trailing `\r`
 * stripped, the last unterminated line flushed by `end()`) → {@link DecodedEvent}s.
 *
 * Formats:
 * - `tgi`: Hugging Face TGI server-sent events, `data:{json}` or `data: {json}`.
 * - `lmi`: DJL LMI JSON lines (`{"token":...}`, `{"outputs":[...]}`), bare or with a `data:` prefix.
 * - `openai`: chat-completion chunks (`choices[].delta.content`), bare or with a `data:` prefix,
 *   ended by `[DONE]`.
 *
 * No Effect runtime is involved: the decoder is a small mutable object meant to live inside one
 * stream (the generator creates one per request). Every call costs O(bytes pushed): nothing is
 * re-scanned, and the pending (unterminated) line is bounded by `maxLineBytes`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import type { ContainerStreamFormat, StreamChunk, ToolCallDelta } from "../../StreamChunk.js"
import * as Fields from "./fields.js"

/** The payload formats the decoder speaks. */
export type StreamFormat = ContainerStreamFormat

/**
 * Decoder options.
 *
 * @internal
 */
export interface StreamDecoderOptions {
  /**
   * The payload format, or `"auto"` (the default) to detect it from the first meaningful line:
   *
   * | first meaningful line | format |
   * | --- | --- |
   * | `data:` + object with `choices` | `openai` |
   * | `data:` + object with `token` (or only `details`) | `tgi` |
   * | `data:` + object with `outputs` | `lmi` |
   * | bare object with `token`, `outputs` (or only `details`) | `lmi` |
   * | bare object with `choices` (or only `usage`) | `openai` |
   * | `[DONE]` (with or without `data:`) | `openai` |
   *
   * Blank lines, SSE comments (`:...`) and `event:` / `id:` / `retry:` lines are not meaningful.
   * Any other first object (that is not an error object) fails with `UnknownShape`.
   */
  readonly format?: StreamFormat | "auto" | undefined
  /**
   * The longest line accepted, in UTF-8 bytes, excluding the `\n`. Default 1 MiB (1 048 576).
   *
   * The length is checked as bytes arrive: the unterminated line the decoder buffers never exceeds
   * this bound, and a part that would push it past fails at once (memory held: at most
   * `maxLineBytes` plus the part being pushed). Complete lines inside one part are held to the
   * same bound.
   */
  readonly maxLineBytes?: number | undefined
  /**
   * When `true`, the text of special tokens (TGI `special: true`, LMI `special_token: true`, for
   * example the EOS `</s>`) is included in {@link DecodedEvent.text}. Default `false`: the event is
   * still emitted, with `text: ""`, `special: true` and the withheld text in `specialText`.
   */
  readonly includeSpecialTokens?: boolean | undefined
  /** When `true`, every event carries the parsed JSON object it came from in `raw`. Default `false`. */
  readonly includeRaw?: boolean | undefined
}

/**
 * One decoded stream event. Concatenating `text` over all events gives the generated text.
 *
 * Fields are present only when the container sent them:
 *
 * | field | tgi / lmi | openai |
 * | --- | --- | --- |
 * | `text` | `token.text` (`""` for a withheld special token), `outputs[0]` | `choices[i].delta.content` (`""` if null/absent), or `choices[i].text` |
 * | `tokenId` | `token.id` | — |
 * | `logprob` | `token.logprob` / `token.log_prob` | `choices[i].logprobs.content[0].logprob` when exactly one entry |
 * | `special` | `token.special` / `token.special_token` | — |
 * | `specialText` | withheld text of a special token | — |
 * | `finishReason` | `details.finish_reason`, verbatim (`eos_token`, `length`, `stop_sequence`) | `choices[i].finish_reason`, verbatim (`stop`, `length`, ...) |
 * | `generatedText` | `generated_text` when a string (TGI/LMI last event) | — |
 * | `inputTokens` | `details.input_length` | `usage.prompt_tokens` |
 * | `outputTokens` | `details.generated_tokens` | `usage.completion_tokens` |
 * | `raw` | parsed object, only with `includeRaw` | same |
 *
 * For `openai`, only the choice with `index` 0 (or without `index`) is read; chunks carrying
 * nothing (for example the role-only first chunk, or a chunk for another choice) produce no event.
 *
 * @internal
 */
export interface DecodedEvent extends StreamChunk {
  readonly raw?: unknown
}

/**
 * Why a stream could not be decoded.
 *
 * - `InvalidUtf8`: the bytes are not UTF-8 (including a multi-byte character cut off by the end
 *   of the stream).
 * - `LineTooLong`: a line exceeds `maxLineBytes`.
 * - `InvalidJson`: a data line (after any `data:` prefix) is not JSON.
 * - `UnknownShape`: JSON that is not an object of the expected format.
 * - `ModelError`: the container reported an error inside the stream: an object with a non-null
 *   `error` (TGI `{"error":"...","error_type":"generation"}`, vLLM `{"error":{...}}`), an object
 *   with `"object":"error"`, or a `finish_reason` of `"error"` (LMI's last line after a
 *   mid-generation failure, `details.finish_reason == "error"`). The container's message, when it
 *   sent one, is in `message`; map it to a response error of the model.
 * - `DataAfterEnd`: `push` was called with bytes after `end()`.
 *
 * @internal
 */
export type StreamDecodeErrorReason =
  | "InvalidUtf8"
  | "LineTooLong"
  | "InvalidJson"
  | "UnknownShape"
  | "ModelError"
  | "DataAfterEnd"

/**
 * The only error `push` and `end` throw.
 *
 * `events` holds the events the failing call decoded *before* the failure, in order: deliver them
 * before failing the stream, so that everything up to the bad line reaches the consumer
 * (docs/protocol.md §6.3). `line` is the offending line, truncated to 200 characters.
 *
 * @internal
 */
export class StreamDecodeError extends Data.TaggedError("StreamDecodeError")<{
  readonly reason: StreamDecodeErrorReason
  readonly line: string
  readonly message: string
  readonly format: StreamFormat | undefined
  readonly events: ReadonlyArray<DecodedEvent>
}> {}

/**
 * An incremental decoder for one stream.
 *
 * Usage: call `push` with each `PayloadPart`'s bytes and emit the returned events; when the
 * byte stream ends, call `end` once and emit its events (the last unterminated line).
 *
 * Both methods throw only {@link StreamDecodeError}. After a failure the decoder stays failed:
 * later calls throw the same failure again (with empty `events`). After `[DONE]` the stream is
 * over: further bytes are ignored without being decoded, and `end` returns no events.
 *
 * @internal
 */
export interface StreamDecoder {
  /** The format in use: the fixed one, or the detected one (`undefined` until detected). */
  readonly format: StreamFormat | undefined
  /** Bytes held for the current unterminated line (never more than `maxLineBytes`). */
  readonly bufferedBytes: number
  /** `true` once `[DONE]` was seen. */
  readonly done: boolean
  /** Decodes one part; returns the events of the lines it completed. Throws {@link StreamDecodeError}. */
  push(bytes: Uint8Array): Array<DecodedEvent>
  /** Ends the stream: flushes the last unterminated line. Throws {@link StreamDecodeError}. */
  end(): Array<DecodedEvent>
}

/**
 * `delta.tool_calls` as fragments: a list (OpenAI, vLLM, LMI) or a single object (TGI 2.x), each
 * with its `index`; `arguments` stays text (an object, as TGI may send, is written as JSON).
 */
const toolCallDeltas = (raw: unknown): Array<ToolCallDelta> | undefined => {
  if (raw === undefined || raw === null) return undefined
  const calls = Array.isArray(raw) ? raw : [raw]
  const deltas: Array<ToolCallDelta> = []
  for (let i = 0; i < calls.length; i++) {
    const call: unknown = calls[i]
    if (!isObject(call)) continue
    const fn = isObject(call.function) ? call.function : {}
    const delta: { index: number; id?: string; name?: string; arguments?: string } = {
      index: typeof call.index === "number" ? call.index : i
    }
    if (typeof call.id === "string" && call.id.length > 0) delta.id = call.id
    if (typeof fn.name === "string" && fn.name.length > 0) delta.name = fn.name
    const args = fn.arguments
    if (typeof args === "string") {
      if (args.length > 0) delta.arguments = args
    } else if (isObject(args)) {
      delta.arguments = JSON.stringify(args)
    }
    deltas.push(delta)
  }
  return deltas.length === 0 ? undefined : deltas
}

const setUsage = (event: { inputTokens?: number; outputTokens?: number }, usage: Fields.Usage): void => {
  if (usage.inputTokens !== undefined) event.inputTokens = usage.inputTokens
  if (usage.outputTokens !== undefined) event.outputTokens = usage.outputTokens
}

/** @internal */
export const DEFAULT_MAX_LINE_BYTES = 1_048_576

const MAX_SNIPPET = 200
const LF = 10
const STREAM = { stream: true } as const
const INVALID_UTF8 = "the stream is not valid UTF-8"

/**
 * Fatal: invalid UTF-8 throws instead of becoming U+FFFD. `ignoreBOM`: the decoder is flushed at
 * every line end, and would otherwise drop a U+FEFF at the start of any line; the decoder strips
 * the BOM of the stream's first line itself.
 */
const newUtf8Decoder = (): TextDecoder => new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** For error messages only: a lossy decoding of at most ~4 snippets' worth of bytes. */
const lossy = (bytes: Uint8Array): string => new TextDecoder("utf-8").decode(bytes.subarray(0, MAX_SNIPPET * 4))
const NO_EVENTS: ReadonlyArray<DecodedEvent> = []

type Mutable<A> = { -readonly [K in keyof A]: A[K] }
type JsonObject = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const snippet = (s: string): string => {
  if (s.length <= MAX_SNIPPET) return s
  let end = MAX_SNIPPET
  const c = s.charCodeAt(end - 1)
  if (c >= 0xd800 && c <= 0xdbff) end-- // do not cut a surrogate pair
  return s.slice(0, end) + "…"
}

/** UTF-8 length of `s[from, to)`; `s` is well-formed (it came out of a fatal decoder). */
const utf8Length = (s: string, from: number, to: number): number => {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** A decoder that failed keeps failing: the same failure, without the events already delivered. */
const rethrow = (f: StreamDecodeError): StreamDecodeError =>
  new StreamDecodeError({ reason: f.reason, line: f.line, message: f.message, format: f.format, events: NO_EVENTS })

const isSseField = (line: string): boolean =>
  line.startsWith("event:") || line.startsWith("id:") || line.startsWith("retry:")

const isBlank = (line: string): boolean => line.trim().length === 0

/** An LMI `3p` line: the generation inside a `body`. */
const isThreeP = (obj: JsonObject): obj is JsonObject & { readonly body: JsonObject } =>
  isObject(obj.body) && "generation" in obj.body

const isErrorObject = (obj: JsonObject): boolean =>
  (obj.error !== undefined && obj.error !== null) || obj.object === "error"

const detect = (obj: JsonObject, prefixed: boolean): StreamFormat | undefined => {
  if (obj.choices !== undefined) return "openai"
  if (obj.token !== undefined) {
    // LMI's SSE formatter prefixes its objects with `data:`; its tokens spell `log_prob`.
    return prefixed && !(isObject(obj.token) && obj.token.log_prob !== undefined) ? "tgi" : "lmi"
  }
  if (obj.outputs !== undefined) return "lmi"
  if (isThreeP(obj)) return "lmi"
  if (obj.details !== undefined) return prefixed ? "tgi" : "lmi"
  if (obj.usage !== undefined) return "openai"
  return undefined
}

class Decoder implements StreamDecoder {
  format: StreamFormat | undefined
  bufferedBytes = 0
  done = false

  private utf8 = newUtf8Decoder()
  private readonly maxLineBytes: number
  private readonly includeSpecial: boolean
  private readonly includeRaw: boolean
  /** Decoded text of the current unterminated line (its bytes are counted in `bufferedBytes`). */
  private pending = ""
  private ended = false
  private atStart = true
  /** `true` when the decoder holds no partial character (the last byte decoded was ASCII). */
  private clean = true
  private failure: StreamDecodeError | undefined = undefined

  constructor(options: StreamDecoderOptions | undefined) {
    const format = options?.format
    this.format = format === undefined || format === "auto" ? undefined : format
    const max = options?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`)
    }
    this.maxLineBytes = max
    this.includeSpecial = options?.includeSpecialTokens === true
    this.includeRaw = options?.includeRaw === true
  }

  push(bytes: Uint8Array): Array<DecodedEvent> {
    if (this.failure !== undefined) throw rethrow(this.failure)
    if (this.ended) {
      if (bytes.length === 0) return []
      throw this.fail("DataAfterEnd", "", "bytes were pushed after end()", [])
    }
    const out: Array<DecodedEvent> = []
    if (this.done || bytes.length === 0) return out
    const max = this.maxLineBytes
    const firstLf = bytes.indexOf(LF)

    if (firstLf === -1) {
      // No line ends in this part: check the bound before decoding or buffering anything.
      const total = this.bufferedBytes + bytes.length
      if (total > max) throw this.tooLong(this.pending + lossy(bytes), total, out)
      try {
        this.pending += this.utf8.decode(bytes, STREAM)
      } catch {
        throw this.fail("InvalidUtf8", this.pending + lossy(bytes), INVALID_UTF8, out)
      }
      this.bufferedBytes = total
      this.clean = bytes[bytes.length - 1]! < 0x80
      return out
    }

    let text: string
    let start = 0
    if (this.clean) {
      // The decoder holds no partial character: decode the whole part in one call.
      try {
        text = this.utf8.decode(bytes, STREAM)
      } catch {
        // Invalid UTF-8 somewhere: redo the part line by line, to deliver the lines before the
        // bad one (or stop at `[DONE]`) and to report the right line.
        this.utf8 = newUtf8Decoder()
        return this.pushLines(bytes, out)
      }
      const lf = text.indexOf("\n")
      const firstBytes = this.bufferedBytes + firstLf
      if (firstBytes > max) throw this.tooLong(this.pending + text.slice(0, MAX_SNIPPET + 1), firstBytes, out)
      const first = this.pending.length === 0 ? text.slice(0, lf) : this.pending + text.slice(0, lf)
      this.pending = ""
      this.bufferedBytes = 0
      this.line(first, out)
      if (this.done) return out
      start = lf + 1
    } else {
      // The decoder may hold the start of a character. Decoding the line's end without `stream`
      // flushes it (a valid character never spans a LF: held bytes there are invalid UTF-8) and
      // leaves the decoder clean for the rest.
      const firstBytes = this.bufferedBytes + firstLf
      const head = bytes.subarray(0, firstLf)
      if (firstBytes > max) throw this.tooLong(this.pending + lossy(head), firstBytes, out)
      let first: string
      try {
        first = this.pending + this.utf8.decode(head)
      } catch {
        throw this.fail("InvalidUtf8", this.pending + lossy(head), INVALID_UTF8, out)
      }
      this.pending = ""
      this.bufferedBytes = 0
      this.line(first, out)
      if (this.done) return out
      const rest = bytes.subarray(firstLf + 1)
      try {
        text = this.utf8.decode(rest, STREAM)
      } catch {
        this.utf8 = newUtf8Decoder()
        return this.pushLines(rest, out)
      }
    }
    // Each LF byte decodes to exactly one "\n" (fatal mode never substitutes anything).
    let lf: number
    while ((lf = text.indexOf("\n", start)) !== -1) {
      // UTF-16 units <= UTF-8 bytes <= 3 * units: count bytes exactly only for long lines.
      if ((lf - start) * 3 > max) {
        const n = utf8Length(text, start, lf)
        if (n > max) throw this.tooLong(text.slice(start, start + MAX_SNIPPET + 1), n, out)
      }
      this.line(text.slice(start, lf), out)
      if (this.done) return out
      start = lf + 1
    }
    const tailBytes = bytes.length - bytes.lastIndexOf(LF) - 1
    if (tailBytes > max) throw this.tooLong(text.slice(start, start + MAX_SNIPPET + 1), tailBytes, out)
    this.pending = start < text.length ? text.slice(start) : ""
    this.bufferedBytes = tailBytes
    this.clean = bytes[bytes.length - 1]! < 0x80
    return out
  }

  end(): Array<DecodedEvent> {
    if (this.failure !== undefined) throw rethrow(this.failure)
    const out: Array<DecodedEvent> = []
    if (this.ended) return out
    this.ended = true
    if (this.done) return out
    let tail: string
    try {
      tail = this.utf8.decode()
    } catch {
      throw this.fail(
        "InvalidUtf8",
        this.pending,
        "the stream ended inside a multi-byte UTF-8 character",
        out
      )
    }
    const last = this.pending + tail
    this.pending = ""
    this.bufferedBytes = 0
    if (last.length > 0) this.line(last, out)
    return out
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The exact, slower path for a part (or the rest of one) whose bulk decoding failed: one decoder
   * call per line, from a clean decoder state, with byte-exact line lengths. The first line joins
   * the pending one.
   */
  private pushLines(bytes: Uint8Array, out: Array<DecodedEvent>): Array<DecodedEvent> {
    const max = this.maxLineBytes
    let start = 0
    let lf: number
    while ((lf = bytes.indexOf(LF, start)) !== -1) {
      const segment = bytes.subarray(start, lf)
      const n = this.bufferedBytes + segment.length
      if (n > max) throw this.tooLong(this.pending + lossy(segment), n, out)
      let line: string
      try {
        line = this.pending + this.utf8.decode(segment)
      } catch {
        throw this.fail("InvalidUtf8", this.pending + lossy(segment), INVALID_UTF8, out)
      }
      this.pending = ""
      this.bufferedBytes = 0
      this.line(line, out)
      if (this.done) return out
      start = lf + 1
    }
    const tail = bytes.subarray(start)
    if (tail.length > max) throw this.tooLong(lossy(tail), tail.length, out)
    try {
      this.pending = this.utf8.decode(tail, STREAM)
    } catch {
      throw this.fail("InvalidUtf8", lossy(tail), INVALID_UTF8, out)
    }
    this.bufferedBytes = tail.length
    this.clean = bytes[bytes.length - 1]! < 0x80
    return out
  }

  private fail(
    reason: StreamDecodeErrorReason,
    line: string,
    message: string,
    events: ReadonlyArray<DecodedEvent>
  ): StreamDecodeError {
    const error = new StreamDecodeError({ reason, line: snippet(line), message, format: this.format, events })
    this.failure = error
    this.pending = ""
    this.bufferedBytes = 0
    return error
  }

  private tooLong(line: string, bytes: number, out: ReadonlyArray<DecodedEvent>): StreamDecodeError {
    return this.fail(
      "LineTooLong",
      line,
      `a line exceeds maxLineBytes (${this.maxLineBytes}): at least ${bytes} bytes`,
      out
    )
  }

  /** Decodes one complete line (without its `\n`). */
  private line(line: string, out: Array<DecodedEvent>): void {
    if (this.atStart) {
      this.atStart = false
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1) // the stream's byte order mark
    }
    let len = line.length
    if (len !== 0 && line.charCodeAt(len - 1) === 13) line = line.slice(0, --len)
    if (len === 0) return
    let payload = line
    let prefixed = false
    const c = line.charCodeAt(0)
    if (c !== 123 /* { */) {
      if (c === 100 /* d */ && line.startsWith("data:")) {
        payload = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
        prefixed = true
        // An empty data field carries nothing.
        if (payload.length === 0 || (payload.charCodeAt(0) === 32 && isBlank(payload))) return
      } else if (c === 58 /* : */ || isSseField(line)) {
        return // SSE comment or event/id/retry field
      } else if (isBlank(line)) {
        return
      }
      if (payload.charCodeAt(0) === 91 /* [ */ && payload.trim() === "[DONE]") {
        if (this.format === undefined) this.format = "openai"
        this.done = true
        this.pending = ""
        this.bufferedBytes = 0
        return
      }
    }
    let value: unknown
    try {
      value = JSON.parse(payload)
    } catch (e) {
      throw this.fail("InvalidJson", line, `a stream line is not JSON: ${(e as Error).message}`, out)
    }
    if (!isObject(value)) {
      throw this.fail("UnknownShape", line, "a stream line is JSON but not an object", out)
    }
    if (isErrorObject(value)) {
      const message = Fields.errorTextOf(value)
      throw this.fail(
        "ModelError",
        line,
        message === undefined ? "the model container sent an error object" : message,
        out
      )
    }
    let format = this.format
    if (format === undefined) {
      format = detect(value, prefixed)
      if (format === undefined) {
        throw this.fail(
          "UnknownShape",
          line,
          "cannot detect the stream format: the first object has none of token, outputs, choices, details, usage",
          out
        )
      }
      this.format = format
    }
    if (format === "openai") this.openai(value, line, out)
    else this.token(value, line, out)
  }

  /** LMI's `3p` (Bedrock-style) lines: `{"body": {"generation", "prompt_token_count", ...}, "metering"}`. */
  private threeP(body: JsonObject, line: string, out: Array<DecodedEvent>): void {
    if (typeof body.generation !== "string") {
      throw this.fail("UnknownShape", line, "a 3p line's \"body.generation\" is not a string", out)
    }
    const event: Mutable<DecodedEvent> = { text: body.generation }
    if (typeof body.prompt_token_count === "number") event.inputTokens = body.prompt_token_count
    if (typeof body.generation_token_count === "number") event.outputTokens = body.generation_token_count
    if (typeof body.stop_reason === "string" && body.stop_reason.length > 0) event.finishReason = body.stop_reason
    out.push(event)
  }

  /** TGI and LMI objects: one lenient decoder (both spellings of logprob and special). */
  private token(obj: JsonObject, line: string, out: Array<DecodedEvent>): void {
    if (isThreeP(obj)) {
      if (obj.body.stop_reason === "error") {
        throw this.fail(
          "ModelError",
          line,
          "the model container reported an error mid-generation (stop_reason \"error\")",
          out
        )
      }
      return this.threeP(obj.body, line, out)
    }
    const details = obj.details
    const hasDetails = isObject(details)
    if (hasDetails && details.finish_reason === "error") {
      // LMI puts the exception's text on the last token, as `error_msg`.
      const message = Fields.errorTextOf(obj) ?? Fields.errorTextOf(details) ??
        (isObject(obj.token) ? Fields.errorTextOf(obj.token) : undefined)
      throw this.fail(
        "ModelError",
        line,
        message === undefined
          ? "the model container reported an error mid-generation (finish_reason \"error\")"
          : message,
        out
      )
    }
    const token = obj.token
    let event: Mutable<DecodedEvent>
    if (token !== undefined && token !== null) {
      if (!isObject(token) || typeof token.text !== "string") {
        throw this.fail("UnknownShape", line, `a ${this.format} token has no string "text"`, out)
      }
      const special = token.special ?? token.special_token
      const isSpecial = special === true
      event = { text: isSpecial && !this.includeSpecial ? "" : token.text }
      if (typeof token.id === "number") event.tokenId = token.id
      const logprob = token.logprob ?? token.log_prob
      if (typeof logprob === "number") event.logprob = logprob
      if (typeof special === "boolean") event.special = special
      if (isSpecial && !this.includeSpecial) event.specialText = token.text
    } else if (obj.outputs !== undefined) {
      const outputs = obj.outputs
      if (!Array.isArray(outputs) || (outputs.length > 0 && typeof outputs[0] !== "string")) {
        throw this.fail("UnknownShape", line, "\"outputs\" is not an array of strings", out)
      }
      event = { text: outputs.length > 0 ? outputs[0] as string : "" }
    } else if (hasDetails) {
      event = { text: "" }
    } else {
      throw this.fail("UnknownShape", line, `a ${this.format} line has none of token, outputs, details`, out)
    }
    if (typeof obj.generated_text === "string") event.generatedText = obj.generated_text
    if (hasDetails) {
      const finishReason = Fields.detailsFinishReason(details)
      if (finishReason !== undefined && finishReason.length > 0) event.finishReason = finishReason
      setUsage(event, Fields.detailsUsage(details))
    }
    if (this.includeRaw) event.raw = obj
    out.push(event)
  }

  private openai(obj: JsonObject, line: string, out: Array<DecodedEvent>): void {
    const choices = obj.choices
    const usage = obj.usage
    if (choices !== undefined && choices !== null && !Array.isArray(choices)) {
      throw this.fail("UnknownShape", line, "\"choices\" is not an array", out)
    }
    if ((choices === undefined || choices === null) && !isObject(usage)) {
      throw this.fail("UnknownShape", line, "an openai chunk has neither choices nor usage", out)
    }
    let choice: JsonObject | undefined
    if (choices) {
      for (let i = 0; i < choices.length; i++) {
        const ch: unknown = choices[i]
        if (!isObject(ch)) throw this.fail("UnknownShape", line, "a choice is not an object", out)
        if (ch.index === undefined || ch.index === 0) {
          choice = ch
          break
        }
      }
    }
    let any = false
    const event: Mutable<DecodedEvent> = { text: "" }
    if (choice !== undefined) {
      const delta = choice.delta
      let content: unknown
      if (isObject(delta)) content = delta.content
      else if (delta === undefined || delta === null) content = choice.text
      else throw this.fail("UnknownShape", line, "\"delta\" is not an object", out)
      if (typeof content === "string") {
        event.text = content
        any = content.length > 0
      } else if (content !== undefined && content !== null) {
        throw this.fail("UnknownShape", line, "\"delta.content\" is not a string", out)
      }
      if (isObject(delta)) {
        const reasoning = delta.reasoning_content ?? delta.reasoning
        if (typeof reasoning === "string" && reasoning.length > 0) {
          event.reasoning = reasoning
          any = true
        }
        const toolCalls = toolCallDeltas(delta.tool_calls)
        if (toolCalls !== undefined) {
          event.toolCalls = toolCalls
          any = true
        }
      }
      // LMI's chat stream sends its logprobs object inside a one-element list.
      const logprobs = Array.isArray(choice.logprobs) && choice.logprobs.length === 1
        ? choice.logprobs[0]
        : choice.logprobs
      if (isObject(logprobs) && Array.isArray(logprobs.content) && logprobs.content.length === 1) {
        const lp: unknown = logprobs.content[0]
        if (isObject(lp) && typeof lp.logprob === "number") {
          event.logprob = lp.logprob
          any = true
        }
      }
      const finish = choice.finish_reason
      if (finish === "error") {
        const message = Fields.errorTextOf(choice)
        throw this.fail(
          "ModelError",
          line,
          message === undefined
            ? "the model container reported an error mid-generation (finish_reason \"error\")"
            : message,
          out
        )
      }
      // TGI's completions stream writes `""` on every chunk but the last: that is no finish reason.
      if (typeof finish === "string" && finish.length > 0) {
        event.finishReason = finish
        any = true
      }
    }
    if (isObject(usage)) {
      setUsage(event, Fields.openaiUsage(usage))
      any = any || event.inputTokens !== undefined || event.outputTokens !== undefined
    }
    if (!any) return // role-only chunk, empty content, another choice's chunk
    if (this.includeRaw) event.raw = obj
    out.push(event)
  }
}

/**
 * Creates a decoder for one stream. Throws `RangeError` if `maxLineBytes` is not a positive
 * integer (a programming error, not a stream failure).
 *
 * @internal
 */
export const makeStreamDecoder = (options?: StreamDecoderOptions): StreamDecoder => new Decoder(options)
