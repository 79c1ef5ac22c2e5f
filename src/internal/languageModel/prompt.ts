/**
 * `@effect/ai` prompts in the container's terms: every message and part as a Messages API message
 * (`role`, `content`, `tool_calls`, `tool_call_id`) for the chat dialects, or as plain turns for a
 * chat template. What a dialect cannot carry is refused with `MalformedInput`, never dropped:
 *
 * | part | chat dialects | text-generation |
 * |---|---|---|
 * | system | `{role: "system", content}` | a system turn |
 * | user text | `content` (a string when it is the only part, else `{type: "text"}` parts) | the turn's text |
 * | user image file | `{type: "image_url", image_url: {url}}` (bytes as a `data:` URL) | refused |
 * | user text/JSON file | its text, as a text part | its text |
 * | other user files | refused | refused |
 * | assistant text | `content` | the turn's text |
 * | assistant reasoning | `reasoning_content` (openai, lmi); not sent to TGI, whose messages have no such member | not rendered |
 * | assistant tool call | `tool_calls[]` (`arguments` a JSON string; an object for TGI) | refused |
 * | tool result | `{role: "tool", tool_call_id, content}` (a string result as is, else JSON; a failure as `{"error": …}`) | refused |
 * | assistant file | refused | refused |
 *
 * Provider-executed tool calls and results (which this provider never produces) are left out.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type { TemplateMessage } from "./chatTemplates.js"
import type { DialectFacts } from "./dialects.js"
import { malformedInput } from "./errors.js"

type Json = Record<string, unknown>

type Translated<A> = Either.Either<A, AiError.MalformedInput>

const utf8 = new TextDecoder("utf-8", { fatal: true })

const isTextMedia = (mediaType: string): boolean =>
  mediaType.startsWith("text/") || mediaType === "application/json" || mediaType.endsWith("+json")

/** A file's bytes: a `Uint8Array`, or base64 text (the encoded form of a prompt's file part). */
const fileBytes = (data: string | Uint8Array | URL): Uint8Array | undefined => {
  if (data instanceof Uint8Array) return data
  if (typeof data !== "string") return undefined
  return Either.getOrUndefined(Encoding.decodeBase64(data))
}

const describeFile = (part: Prompt.FilePart): string =>
  part.fileName === undefined ? `'${part.mediaType}'` : `'${part.fileName}' (${part.mediaType})`

/** The text of a text or JSON file; a URL cannot be read here. */
const fileText = (method: string, part: Prompt.FilePart): Translated<string> => {
  const bytes = fileBytes(part.data)
  if (bytes === undefined) {
    return Either.left(malformedInput(method, `the text file ${describeFile(part)} must be given as bytes, not a URL`))
  }
  try {
    return Either.right(utf8.decode(bytes))
  } catch {
    return Either.left(malformedInput(method, `the text file ${describeFile(part)} is not valid UTF-8`))
  }
}

/** An image as the `url` of an `image_url` part: a URL as is, bytes as a `data:` URL. */
const imageUrl = (part: Prompt.FilePart): string => {
  const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
  if (part.data instanceof URL) return part.data.toString()
  if (part.data instanceof Uint8Array) return `data:${mediaType};base64,${Encoding.encodeBase64(part.data)}`
  return /^(data:|https?:\/\/)/i.test(part.data) ? part.data : `data:${mediaType};base64,${part.data}`
}

/** A tool result as the content of a tool message. */
export const toolResultContent = (part: Prompt.ToolResultPart): string => {
  if (part.isFailure) return JSON.stringify({ error: part.result ?? null })
  return typeof part.result === "string" ? part.result : JSON.stringify(part.result ?? null)
}

const userContent = (method: string, message: Prompt.UserMessage): Translated<string | Array<Json>> => {
  const parts: Array<Json> = []
  for (const part of message.content) {
    if (part.type === "text") {
      parts.push({ type: "text", text: part.text })
    } else if (part.mediaType.startsWith("image/")) {
      parts.push({ type: "image_url", image_url: { url: imageUrl(part) } })
    } else if (isTextMedia(part.mediaType)) {
      const text = fileText(method, part)
      if (Either.isLeft(text)) return Either.left(text.left)
      parts.push({ type: "text", text: text.right })
    } else {
      return Either.left(
        malformedInput(method, `the file ${describeFile(part)} cannot be sent: only images and text files can`)
      )
    }
  }
  return Either.right(parts.length === 1 && parts[0]!.type === "text" ? parts[0]!.text as string : parts)
}

const assistantMessages = (
  method: string,
  message: Prompt.AssistantMessage,
  dialect: DialectFacts
): Translated<Array<Json>> => {
  let text = ""
  let reasoning = ""
  const toolCalls: Array<Json> = []
  for (const part of message.content) {
    switch (part.type) {
      case "text":
        text += part.text
        break
      case "reasoning":
        reasoning += part.text
        break
      case "tool-call":
        if (part.providerExecuted) break
        toolCalls.push({
          id: part.id,
          type: "function",
          function: {
            name: part.name,
            arguments: dialect.toolArgumentsAsObject ? part.params ?? {} : JSON.stringify(part.params ?? {})
          }
        })
        break
      case "tool-result":
        // Results of tools the provider ran itself; this provider runs none.
        break
      case "file":
        return Either.left(
          malformedInput(method, `an assistant message holds the file ${describeFile(part)}: it cannot be sent back`)
        )
    }
  }
  const withReasoning = (m: Json): Json =>
    dialect.reasoningInHistory && reasoning.length > 0 ? { ...m, reasoning_content: reasoning } : m
  if (toolCalls.length === 0) return Either.right([withReasoning({ role: "assistant", content: text })])
  if (dialect.toolCallsApartFromContent) {
    const calls = { role: "assistant", tool_calls: toolCalls }
    return Either.right(text.length > 0 ? [{ role: "assistant", content: text }, calls] : [calls])
  }
  return Either.right([
    withReasoning({ role: "assistant", content: text.length > 0 ? text : null, tool_calls: toolCalls })
  ])
}

/** The prompt as Messages API messages. */
export const toChatMessages = (
  method: string,
  prompt: Prompt.Prompt,
  dialect: DialectFacts
): Translated<Array<Json>> => {
  const messages: Array<Json> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content })
        break
      case "user": {
        const content = userContent(method, message)
        if (Either.isLeft(content)) return Either.left(content.left)
        messages.push({ role: "user", content: content.right })
        break
      }
      case "assistant": {
        const translated = assistantMessages(method, message, dialect)
        if (Either.isLeft(translated)) return Either.left(translated.left)
        for (const m of translated.right) messages.push(m)
        break
      }
      case "tool":
        for (const part of message.content) {
          messages.push({ role: "tool", tool_call_id: part.id, content: toolResultContent(part) })
        }
        break
    }
  }
  return Either.right(messages)
}

const noTools = (method: string, what: string) =>
  Either.left(
    malformedInput(
      method,
      `the text-generation dialect has no tools: the prompt holds ${what} (use a chat dialect for tool calling)`
    )
  )

/** The prompt as the turns of a chat template (text only, no tools). */
export const toTemplateMessages = (method: string, prompt: Prompt.Prompt): Translated<Array<TemplateMessage>> => {
  const turns: Array<TemplateMessage> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        turns.push({ role: "system", content: message.content })
        break
      case "user": {
        const texts: Array<string> = []
        for (const part of message.content) {
          if (part.type === "text") {
            texts.push(part.text)
          } else if (isTextMedia(part.mediaType)) {
            const text = fileText(method, part)
            if (Either.isLeft(text)) return Either.left(text.left)
            texts.push(text.right)
          } else {
            return Either.left(
              malformedInput(method, `the text-generation dialect takes text only: the file ${describeFile(part)}`)
            )
          }
        }
        turns.push({ role: "user", content: texts.join("\n") })
        break
      }
      case "assistant": {
        let text = ""
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "tool-call" || part.type === "tool-result") return noTools(method, "a tool call")
          else if (part.type === "file") {
            return Either.left(
              malformedInput(method, `an assistant message holds the file ${describeFile(part)}: it cannot be rendered`)
            )
          }
        }
        turns.push({ role: "assistant", content: text })
        break
      }
      case "tool":
        return noTools(method, "a tool result")
    }
  }
  return Either.right(turns)
}
