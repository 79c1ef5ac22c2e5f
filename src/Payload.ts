/**
 * The payload formats of model containers: the request body Haystack sends, and the response
 * bodies that TGI, DJL LMI, JumpStart and OpenAI-compatible containers return, as one
 * `effect/Schema` union normalized to `{ replies, meta }`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { containerReportedError, responseTooLarge, unexpectedResponse } from "./internal/client/errorTable.js"
import * as Fields from "./internal/container/fields.js"
import { MAX_BODY_BYTES } from "./internal/limits.js"
import type { SagemakerInferenceError, SagemakerResponseError } from "./SagemakerError.js"

/**
 * What `run` returns: one `meta` entry per reply (Haystack repeats the list once per reply).
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerationResult {
  readonly replies: ReadonlyArray<string>
  readonly meta: ReadonlyArray<Record<string, unknown>>
}

/**
 * Your own request body: built from the prompt, the merged generation kwargs and whether the call
 * streams; the result must be JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestFormatFunction = (
  prompt: string,
  generationKwargs: Readonly<Record<string, unknown>>,
  stream: boolean
) => unknown

/**
 * What a request body looks like, for the container behind the endpoint:
 *
 * - `"haystack"` (the default): `{"inputs": prompt, "parameters": kwargs}`, plus `"stream": true`
 *   when streaming; TGI's generate route, LMI, JumpStart.
 * - `"chat"`: `{"messages": [{"role": "user", "content": prompt}], ...kwargs}`: the Messages API
 *   of TGI 2.4 and later, LMI and vLLM.
 * - `"completions"`: `{"prompt": prompt, ...kwargs}`: legacy completions (TGI, vLLM).
 * - a function: your own body.
 *
 * For `chat` and `completions` the kwargs are top-level fields, Haystack's `max_new_tokens`
 * becomes `max_tokens` unless that is set, and a stream asks for `"stream": true` and a usage
 * chunk (`stream_options.include_usage`).
 *
 * @since 0.1.0
 * @category models
 */
export type RequestFormat = "haystack" | "chat" | "completions" | RequestFormatFunction

/**
 * The named request formats, the default first.
 *
 * @since 0.1.0
 * @category constants
 */
export const requestFormats: ReadonlyArray<Exclude<RequestFormat, RequestFormatFunction>> = [
  "haystack",
  "chat",
  "completions"
]

/** The kwargs of an OpenAI-style body: top-level, with `max_tokens` for Haystack's `max_new_tokens`. */
const openaiFields = (kwargs: Readonly<Record<string, unknown>>, stream: boolean): Record<string, unknown> => {
  const { max_new_tokens, ...rest } = kwargs
  const fields: Record<string, unknown> = rest
  if (max_new_tokens !== undefined && rest.max_tokens === undefined) fields.max_tokens = max_new_tokens
  if (stream) {
    fields.stream = true
    fields.stream_options = {
      include_usage: true,
      ...(Predicate.isRecord(rest.stream_options) ? rest.stream_options : {})
    }
  }
  return fields
}

/**
 * The body of a request in one of the named formats, as a JSON value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const requestBody = (
  format: Exclude<RequestFormat, RequestFormatFunction>,
  prompt: string,
  parameters: Readonly<Record<string, unknown>>,
  stream: boolean
): Record<string, unknown> => {
  switch (format) {
    case "haystack":
      return stream ? { inputs: prompt, parameters, stream: true } : { inputs: prompt, parameters }
    case "chat":
      return { messages: [{ role: "user", content: prompt }], ...openaiFields(parameters, stream) }
    case "completions":
      return { prompt, ...openaiFields(parameters, stream) }
  }
}

/**
 * Haystack's request body, `{"inputs": prompt, "parameters": kwargs}`, plus `"stream": true` for
 * the streaming operation (TGI and LMI stream only when asked), or the body of another named
 * format, as UTF-8 JSON.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodeRequest = (
  prompt: string,
  parameters: Readonly<Record<string, unknown>>,
  options?: {
    readonly stream?: boolean | undefined
    readonly format?: Exclude<RequestFormat, RequestFormatFunction> | undefined
  }
): Uint8Array =>
  encoder.encode(
    JSON.stringify(requestBody(options?.format ?? "haystack", prompt, parameters, options?.stream === true))
  )

const encoder = new TextEncoder()

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * A chat message (`{"role", "content"}`), as JumpStart Llama-2 chat and OpenAI return it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatMessage = Schema.Struct({ content: Schema.String }, Rest)

/**
 * TGI and LMI: `{"generated_text": "..."}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextGeneration = Schema.Struct({ generated_text: Schema.String }, Rest)

/**
 * JumpStart: `{"generation": "..."}` or `{"generation": {"role", "content"}}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JumpStartGeneration = Schema.Struct({ generation: Schema.Union(Schema.String, ChatMessage) }, Rest)

/**
 * One generation object; `generated_text` wins over `generation`, as in Haystack.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Generation = Schema.Union(TextGeneration, JumpStartGeneration)

/**
 * A tool call of a chat completion. `function.arguments` is a JSON string (OpenAI, vLLM, LMI) or
 * an object (TGI); {@link normalize} makes it a string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  function: Schema.Struct({
    name: Schema.String,
    arguments: Schema.optional(Schema.Union(Schema.String, Rest, Schema.Null))
  }, Rest)
}, Rest)

/**
 * The assistant's message of a chat completion: its `content` is `null` or absent when it only
 * calls tools.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AssistantMessage = Schema.Struct({
  content: Schema.optional(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall)))
}, Rest)

/**
 * OpenAI chat completion (TGI Messages API, LMI chat, vLLM).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({ message: AssistantMessage }, Rest))
}, Rest)

/**
 * Legacy completions, `choices[].text` (TGI's `prompt` bodies, vLLM, LMI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Completion = Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({ text: Schema.String }, Rest))
}, Rest)

/**
 * LMI's `3p` (Bedrock-style) envelope: `{"body": {"generation": ...}, "metering": ...}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThirdPartyEnvelope = Schema.Struct({
  body: Schema.Struct({ generation: Schema.String }, Rest)
}, Rest)

/**
 * Every response body understood: a chat completion, a completion, a `3p` envelope, a non-empty
 * list of generations, or one generation object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseBody = Schema.Union(
  ChatCompletion,
  Completion,
  ThirdPartyEnvelope,
  Schema.NonEmptyArray(Generation),
  Generation
)

/**
 * @since 0.1.0
 * @category schemas
 */
export type ResponseBody = typeof ResponseBody.Type

const omit = (record: Readonly<Record<string, unknown>>, key: string): Record<string, unknown> => {
  const { [key]: _omitted, ...rest } = record
  return rest
}

const normalizeGeneration = (element: typeof Generation.Type): { reply: string; meta: Record<string, unknown> } => {
  if ("generated_text" in element && typeof element.generated_text === "string") {
    return { reply: element.generated_text, meta: omit(element, "generated_text") }
  }
  const generation = (element as typeof JumpStartGeneration.Type).generation
  const meta = omit(element, "generation")
  return typeof generation === "string"
    ? { reply: generation, meta }
    : { reply: generation.content, meta: { ...meta, ...omit(generation, "content") } }
}

/** A tool call with `function.arguments` as a JSON string, whatever form the container sent. */
const normalizeToolCall = (call: typeof ToolCall.Type): Record<string, unknown> => {
  const args = call.function.arguments
  return typeof args === "string"
    ? call
    : { ...call, function: { ...call.function, arguments: args == null ? "{}" : JSON.stringify(args) } }
}

const topLevel = (body: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const top: Record<string, unknown> = {}
  for (const key of ["id", "model", "usage"]) if (key in body) top[key] = body[key]
  return top
}

/**
 * Normalizes a decoded body to replies and one meta entry per reply.
 *
 * - A chat completion: the reply is the message's content (`""` for a message that only calls
 *   tools); meta is the choice without its content, its `tool_calls` with `function.arguments` as
 *   JSON strings, plus the top-level `id`, `model` and `usage`.
 * - A completion: the reply is `text`; meta is the choice without it, plus `id`, `model`, `usage`.
 * - A `3p` envelope: the reply is `body.generation`; meta is the rest of `body` and the envelope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const normalize = (body: ResponseBody): GenerationResult => {
  if (!Array.isArray(body) && "choices" in body && Array.isArray(body.choices)) {
    const top = topLevel(body)
    if (Schema.is(ChatCompletion)(body)) {
      return {
        replies: body.choices.map((choice) => choice.message.content ?? ""),
        meta: body.choices.map((choice) => {
          const message = omit(choice.message, "content")
          const toolCalls = choice.message.tool_calls
          if (Array.isArray(toolCalls)) message.tool_calls = toolCalls.map(normalizeToolCall)
          return { ...choice, message, ...top }
        })
      }
    }
    const completion = body as typeof Completion.Type
    return {
      replies: completion.choices.map((choice) => choice.text),
      meta: completion.choices.map((choice) => ({ ...omit(choice, "text"), ...top }))
    }
  }
  if (!Array.isArray(body) && "body" in body && Schema.is(ThirdPartyEnvelope)(body)) {
    return { replies: [body.body.generation], meta: [{ ...omit(body.body, "generation"), ...omit(body, "body") }] }
  }
  const elements = (Array.isArray(body) ? body : [body]) as ReadonlyArray<typeof Generation.Type>
  const normalized = elements.map(normalizeGeneration)
  return { replies: normalized.map((entry) => entry.reply), meta: normalized.map((entry) => entry.meta) }
}

const MAX_BODY_IN_ERROR = 2048

/**
 * SageMaker's limit on an InvokeEndpoint response body: 6,291,456 bytes (6 MiB). A larger body
 * cannot come from SageMaker; {@link decodeResponse} refuses it without decoding or parsing it.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_RESPONSE_BYTES: number = MAX_BODY_BYTES

const jsonType = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "list" : typeof value === "object" ? "object" : typeof value

const replyKeys = `a "generated_text" or "generation" key`

/** Why a parsed body is not a response we understand, naming the keys it saw. */
const explain = (value: unknown): string => {
  const expected = "(expected a JSON object or a non-empty list of objects)"
  if (Array.isArray(value)) {
    if (value.length === 0) return `type: empty list ${expected}`
    const index = value.findIndex((element) => !Schema.is(Generation)(element))
    return `in element ${index}: ${explainElement(value[index])}`
  }
  if (!Predicate.isRecord(value)) return `type: ${jsonType(value)} ${expected}`
  if ("choices" in value) {
    return `"choices" without a choices[].message (chat completion) or a string choices[].text (completion)`
  }
  return explainElement(value)
}

const isNumberArray = (u: unknown): boolean => Array.isArray(u) && u.length > 0 && u.every((n) => typeof n === "number")

/** A body that holds vectors, not text: TEI's `[[...]]`, vLLM's `data[].embedding`, JumpStart's `embedding`. */
const looksLikeEmbeddings = (value: unknown): string | undefined => {
  if (Array.isArray(value) && isNumberArray(value[0])) return "a list of vectors"
  if (!Predicate.isRecord(value)) return undefined
  if (isNumberArray(value.embedding) || (Array.isArray(value.embedding) && isNumberArray(value.embedding[0]))) {
    return `an "embedding" key`
  }
  if (Array.isArray(value.embeddings)) return `an "embeddings" key`
  if (Array.isArray(value.data) && Predicate.isRecord(value.data[0]) && Array.isArray(value.data[0].embedding)) {
    return `"data[].embedding"`
  }
  return undefined
}

/** LMI's failed token carries the exception's text: the last of `details.tokens`. */
const lastTokenError = (details: Readonly<Record<string, unknown>>): string | undefined => {
  const tokens = details.tokens
  const last = Array.isArray(tokens) ? tokens[tokens.length - 1] : undefined
  return Predicate.isRecord(last) && typeof last.error_msg === "string" ? last.error_msg : undefined
}

/**
 * LMI reports a failed generation inside an HTTP 200: `{"generated_text": "", "details":
 * {"finish_reason": "error"}}`, `{"generated_text": null, "error": ..., "code": ...}`, or a `3p`
 * envelope with an `error`. Taking one of them for a reply would be a silent wrong answer.
 */
const containerErrorIn = (value: unknown): string | undefined => {
  for (const element of Array.isArray(value) ? value : [value]) {
    if (!Predicate.isRecord(element)) continue
    const details = element.details
    if (Predicate.isRecord(details) && details.finish_reason === "error") {
      return Fields.errorTextOf(element) ?? Fields.errorTextOf(details) ?? lastTokenError(details) ??
        "the model container reported an error mid-generation (finish_reason \"error\")"
    }
    // LMI's `3p` envelope of a failed generation: a null generation, the error beside the body.
    const body = element.body
    if (Predicate.isRecord(body) && "generation" in body && (element.error != null || body.stop_reason === "error")) {
      return Fields.errorTextOf(element) ??
        "the model container reported an error mid-generation (stop_reason \"error\")"
    }
    if ("generated_text" in element && element.generated_text === null && element.error != null) {
      const text = Fields.errorTextOf(element) ?? JSON.stringify(element.error)
      return typeof element.code === "number" || typeof element.code === "string"
        ? `${text} (code ${element.code})`
        : text
    }
  }
  return undefined
}

const explainElement = (element: unknown): string => {
  if (!Predicate.isRecord(element)) return `type: ${jsonType(element)} (expected an object)`
  const keys = Object.keys(element)
  for (const key of ["generated_text", "generation"]) {
    if (key in element) {
      return `"${key}" is ${jsonType(element[key])}, expected a string` +
        (key === "generation" ? ` or a {"role", "content"} message` : "")
    }
  }
  return `without ${replyKeys} (keys: ${keys.length === 0 ? "none" : keys.join(", ")})`
}

const decodeUtf8 = new TextDecoder("utf-8", { fatal: true })
const decodeLossy = new TextDecoder("utf-8")

/**
 * Whether a JSON text may hold a `__proto__` key: written out, or spelled with `\u` escapes (the
 * only escapes that can produce letters and underscores).
 */
const mayHoldProtoKey = (text: string): boolean => text.includes("__proto__") || text.includes("\\u")

/**
 * Drops every `__proto__` key from a freshly parsed JSON value, at any depth (iteratively: no
 * recursion, whatever the nesting). `JSON.parse` keeps such a key as an ordinary property, but
 * copying it with an assignment (`Object.assign`, Schema's decoding, a naive deep merge) replaces
 * the target's prototype: a body could otherwise give `meta` a prototype of its choosing.
 */
const dropProtoKeys = (root: unknown): void => {
  const pending: Array<unknown> = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value !== "object" || value === null) continue
    if (Array.isArray(value)) {
      for (const element of value) if (typeof element === "object" && element !== null) pending.push(element)
      continue
    }
    const record = value as Record<string, unknown>
    if (Object.hasOwn(record, "__proto__")) delete record["__proto__"]
    for (const key of Object.keys(record)) {
      const child = record[key]
      if (typeof child === "object" && child !== null) pending.push(child)
    }
  }
}

const decodeBody = Schema.decodeUnknownEither(ResponseBody)

const truncate = (text: string): string =>
  text.length > MAX_BODY_IN_ERROR ? `${text.slice(0, MAX_BODY_IN_ERROR)}… (${text.length} characters)` : text

/**
 * Decodes a response body: UTF-8, JSON, then {@link ResponseBody}, normalized. Anything else fails
 * with a `SagemakerResponseError` whose message starts `Unexpected model response`; it never dies,
 * whatever the bytes (any nesting depth, invalid UTF-8, wrong types).
 *
 * A body over `maxBytes` (default {@link MAX_RESPONSE_BYTES}, InvokeEndpoint's limit; async
 * results may be larger) is refused before it is decoded. `__proto__` keys are
 * dropped wherever they appear in the body, so that no part of the result (`meta` included) can
 * carry a prototype chosen by the body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeResponse = (
  endpointName: string,
  bytes: Uint8Array,
  maxBytes: number = MAX_RESPONSE_BYTES
): Effect.Effect<GenerationResult, SagemakerResponseError | SagemakerInferenceError> =>
  Effect.suspend(() => decodeResponseEither(endpointName, bytes, maxBytes))

/**
 * {@link decodeResponse}, at once: the result, or why the body is not one.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeResponseEither = (
  endpointName: string,
  bytes: Uint8Array,
  maxBytes: number = MAX_RESPONSE_BYTES
): Either.Either<GenerationResult, SagemakerResponseError | SagemakerInferenceError> => {
  const refuse = (detail: string, body: string) => Either.left(unexpectedResponse(endpointName, detail, truncate(body)))
  if (bytes.length > maxBytes) {
    return Either.left(responseTooLarge(
      endpointName,
      bytes.length,
      `${decodeLossy.decode(bytes.subarray(0, MAX_BODY_IN_ERROR))}… (${bytes.length} bytes)`
    ))
  }
  let text: string
  try {
    text = decodeUtf8.decode(bytes)
  } catch {
    return refuse("body: not valid UTF-8", Buffer.from(bytes.subarray(0, MAX_BODY_IN_ERROR)).toString("latin1"))
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return refuse(`body: not JSON (${(error as Error).message})`, text)
  }
  if (mayHoldProtoKey(text)) dropProtoKeys(json)
  const containerError = containerErrorIn(json)
  if (containerError !== undefined) return Either.left(containerReportedError(endpointName, containerError))
  const decoded = decodeBody(json)
  if (Either.isRight(decoded)) return Either.right(normalize(decoded.right))
  const embeddings = looksLikeEmbeddings(json)
  return refuse(
    embeddings === undefined
      ? explain(json)
      : `the body looks like an embeddings response (${embeddings}), not generated text`,
    text
  )
}
