/**
 * A whole answer (the decoded body of InvokeEndpoint) as `@effect/ai` response parts, in order:
 * `response-metadata` (the body's `id` and `model`), `reasoning`, `text`, `tool-call`s, and one
 * `finish` with the usage. The structured-output strategies' JSON becomes the text part.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import * as IdGenerator from "@effect/ai/IdGenerator"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { GenerationResult } from "../../Payload.js"
import * as Fields from "../container/fields.js"
import * as Finish from "./finish.js"
import type { PreparedRequest } from "./requestBody.js"
import { unfence } from "./structuredOutput.js"
import { parseArguments } from "./toolArguments.js"

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const nonEmpty = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined

/** `response-metadata` from a body's (or a chunk's) `id` and `model`; TGI's `id` is `""`. */
export const metadataPart = (source: Json): Response.ResponseMetadataPartEncoded => {
  const id = nonEmpty(source.id)
  const modelId = nonEmpty(source.model)
  return {
    type: "response-metadata",
    ...(id === undefined ? {} : { id }),
    ...(modelId === undefined ? {} : { modelId })
  }
}

/** The reasoning of a message: `reasoning_content` (vLLM before 0.11, LMI), or vLLM's `reasoning`. */
export const reasoningOf = (message: Json): string | undefined =>
  nonEmpty(message.reasoning_content) ?? nonEmpty(message.reasoning)

/** The text of a text-generation answer without the prompt, for a container that repeats it anyway. */
const withoutPrompt = (text: string, prompt: string | undefined): string =>
  prompt !== undefined && prompt.length > 0 && text.startsWith(prompt) ? text.slice(prompt.length) : text

export const makeResponse = (
  method: string,
  result: GenerationResult,
  prepared: PreparedRequest
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError, IdGenerator.IdGenerator> =>
  Effect.gen(function*() {
    const meta: Json = result.meta[0] ?? {}
    const message: Json = isObject(meta.message) ? meta.message : {}
    const parts: Array<Response.PartEncoded> = [metadataPart(meta)]
    const reasoning = reasoningOf(message)
    if (reasoning !== undefined) parts.push({ type: "reasoning", text: reasoning })
    let text = withoutPrompt(result.replies[0] ?? "", prepared.renderedPrompt)
    if (prepared.instructed) text = unfence(text)
    if (text.length > 0) parts.push({ type: "text", text })
    let toolCalls = 0
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : []
    for (const call of calls) {
      // `Payload` normalized every call to `{id?, function: {name, arguments: string}}`.
      const fn = isObject(call) && isObject(call.function) ? call.function : {}
      const name = typeof fn.name === "string" ? fn.name : ""
      const args = typeof fn.arguments === "string" ? fn.arguments : "{}"
      if (name === prepared.responseTool) {
        parts.push({ type: "text", text: args })
        continue
      }
      const params = parseArguments(method, name, args)
      if (Either.isLeft(params)) return yield* params.left
      const id = (isObject(call) ? nonEmpty(call.id) : undefined) ??
        (yield* Effect.flatMap(IdGenerator.IdGenerator, (ids) => ids.generateId()))
      parts.push({ type: "tool-call", id, name, params: params.right })
      toolCalls++
    }
    parts.push(Finish.finishPart(Fields.finishReasonOf(meta), toolCalls > 0, Finish.usageOfMeta(meta)))
    return parts
  })
