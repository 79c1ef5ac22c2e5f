/**
 * A token stream (the decoder's chunks, with their raw JSON) as `@effect/ai` stream parts:
 * `response-metadata` first; `reasoning-start`/`delta`/`end` and `text-start`/`delta`/`end` around
 * each run of reasoning or text; `tool-params-start`, one `tool-params-delta` per fragment the
 * container sent (the fragment itself, never the text so far), `tool-params-end` and the parsed
 * `tool-call`; then exactly one `finish`, with the last finish reason and usage seen, also when the
 * container sent no usage chunk (LMI) or no finish reason (TGI's streamed tool calls).
 *
 * Tool calls are completed when the stream ends: a container may finish one call's arguments in
 * the chunk that carries the finish reason, or (TGI 2.x) name the tool only inside its arguments.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as IdGenerator from "@effect/ai/IdGenerator"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { StreamChunk } from "../../StreamChunk.js"
import type { DecodedEvent } from "../container/streamDecoder.js"
import { malformedOutput } from "./errors.js"
import * as Finish from "./finish.js"
import { metadataPart } from "./response.js"
import { legacyTgiCall, parseArguments } from "./toolArguments.js"

type Part = Response.StreamPartEncoded

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

interface ActiveCall {
  readonly index: number
  id: string | undefined
  name: string | undefined
  /** The arguments so far. */
  text: string
  /** Whether `tool-params-start` went out (it needs the name). */
  started: boolean
}

export interface StreamPartsOptions {
  readonly method: string
  /** TGI 2.x's unnamed calls, `{"function": {"_name", …}}`, are read (the tgi dialect). */
  readonly legacyTgiCalls: boolean
  readonly ids: IdGenerator.Service
}

/** One converter per stream: `push` each batch of chunks, then `end` once. */
export class StreamParts {
  private counter = 0
  private textId: string | undefined = undefined
  private reasoningId: string | undefined = undefined
  private metadataSent = false
  private readonly calls = new Map<number, ActiveCall>()
  private finishReason: string | undefined = undefined
  private inputTokens: number | undefined = undefined
  private outputTokens: number | undefined = undefined
  private usage: typeof Response.Usage.Encoded | undefined = undefined

  constructor(private readonly options: StreamPartsOptions) {}

  /** The parts of a batch of chunks; then {@link assignIds} if {@link waitingForIds}. */
  push(events: Iterable<StreamChunk>): Array<Part> {
    const parts: Array<Part> = []
    for (const event of events) this.read(event as DecodedEvent, parts)
    return parts
  }

  /** Reads one chunk into `parts`. */
  private read(event: DecodedEvent, parts: Array<Part>): void {
    const raw = isObject(event.raw) ? event.raw : {}
    if (!this.metadataSent) {
      this.metadataSent = true
      parts.push(metadataPart(raw))
    }
    if (event.reasoning !== undefined && event.reasoning.length > 0) {
      this.endText(parts)
      if (this.reasoningId === undefined) {
        this.reasoningId = this.nextId()
        parts.push({ type: "reasoning-start", id: this.reasoningId })
      }
      parts.push({ type: "reasoning-delta", id: this.reasoningId, delta: event.reasoning })
    }
    if (event.text.length > 0) {
      this.endReasoning(parts)
      if (this.textId === undefined) {
        this.textId = this.nextId()
        parts.push({ type: "text-start", id: this.textId })
      }
      parts.push({ type: "text-delta", id: this.textId, delta: event.text })
    }
    if (event.toolCalls !== undefined) {
      for (const fragment of event.toolCalls) {
        let call = this.calls.get(fragment.index)
        if (call === undefined) {
          call = { index: fragment.index, id: undefined, name: undefined, text: "", started: false }
          this.calls.set(fragment.index, call)
        }
        if (call.id === undefined && fragment.id !== undefined) call.id = fragment.id
        // LMI repeats the name on every delta of a named tool choice: the first one counts.
        if (call.name === undefined && fragment.name !== undefined) call.name = fragment.name
        const delta = fragment.arguments ?? ""
        call.text += delta
        if (!call.started && call.name !== undefined && call.id !== undefined) {
          call.started = true
          parts.push({ type: "tool-params-start", id: call.id, name: call.name })
          if (call.text.length > 0) parts.push({ type: "tool-params-delta", id: call.id, delta: call.text })
        } else if (call.started && delta.length > 0) {
          parts.push({ type: "tool-params-delta", id: call.id!, delta })
        }
      }
    }
    if (event.finishReason !== undefined) this.finishReason = event.finishReason
    if (event.inputTokens !== undefined) this.inputTokens = event.inputTokens
    if (event.outputTokens !== undefined) this.outputTokens = event.outputTokens
    const usage = raw.usage
    if (isObject(usage)) this.usage = Finish.openaiUsage(usage)
  }

  /**
   * Opens the calls that have a name but no id yet (LMI's named tool choice sends none): their
   * ids come from `@effect/ai`'s `IdGenerator`, once per call.
   */
  assignIds(): Effect.Effect<Array<Part>> {
    const waiting = [...this.calls.values()].filter((call) => !call.started && call.id === undefined && call.name)
    if (waiting.length === 0) return Effect.succeed([])
    return Effect.map(
      Effect.forEach(waiting, () => this.options.ids.generateId()),
      (ids) => {
        const parts: Array<Part> = []
        waiting.forEach((call, i) => {
          call.id = ids[i]!
          call.started = true
          parts.push({ type: "tool-params-start", id: call.id, name: call.name! })
          if (call.text.length > 0) parts.push({ type: "tool-params-delta", id: call.id, delta: call.text })
        })
        return parts
      }
    )
  }

  /** Whether a call is waiting for an id from the `IdGenerator`. */
  get waitingForIds(): boolean {
    for (const call of this.calls.values()) {
      if (!call.started && call.id === undefined && call.name !== undefined) return true
    }
    return false
  }

  /** The end of the stream: open parts closed, tool calls parsed, the finish part. */
  end(): Effect.Effect<Array<Part>, AiError.AiError> {
    return Effect.gen(this, function*() {
      const parts: Array<Part> = []
      if (!this.metadataSent) {
        this.metadataSent = true
        parts.push(metadataPart({}))
      }
      this.endReasoning(parts)
      this.endText(parts)
      const calls = [...this.calls.values()].sort((a, b) => a.index - b.index)
      for (const call of calls) {
        let name = call.name
        let params: unknown
        if (name === undefined) {
          const legacy = this.options.legacyTgiCalls ? legacyTgiCall(call.text) : undefined
          if (legacy === undefined) {
            return yield* malformedOutput(
              this.options.method,
              `a streamed tool call (index ${call.index}) never named its tool`
            )
          }
          name = legacy.name
          params = legacy.params
        } else {
          const parsed = parseArguments(this.options.method, name, call.text)
          if (Either.isLeft(parsed)) return yield* parsed.left
          params = parsed.right
        }
        const id = call.id ?? (yield* this.options.ids.generateId())
        if (!call.started) {
          // TGI 2.x: the name was only known once the arguments were complete.
          parts.push({ type: "tool-params-start", id, name })
          parts.push({ type: "tool-params-delta", id, delta: JSON.stringify(params) })
        }
        parts.push({ type: "tool-params-end", id })
        parts.push({ type: "tool-call", id, name, params })
      }
      parts.push(Finish.finishPart(
        this.finishReason,
        calls.length > 0,
        this.usage ?? Finish.usage(this.inputTokens, this.outputTokens)
      ))
      return parts
    })
  }

  private nextId(): string {
    return String(this.counter++)
  }

  private endText(parts: Array<Part>): void {
    if (this.textId === undefined) return
    parts.push({ type: "text-end", id: this.textId })
    this.textId = undefined
  }

  private endReasoning(parts: Array<Part>): void {
    if (this.reasoningId === undefined) return
    parts.push({ type: "reasoning-end", id: this.reasoningId })
    this.reasoningId = undefined
  }
}
