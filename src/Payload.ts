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
import { responseTooLarge, unexpectedResponse } from "./internal/client/errorTable.js"
import { MAX_BODY_BYTES } from "./internal/limits.js"
import { SagemakerResponseError } from "./SagemakerError.js"

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
 * Haystack's request body, `{"inputs": prompt, "parameters": kwargs}`, plus `"stream": true` for
 * the streaming operation (TGI and LMI stream only when asked).
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodeRequest = (
  prompt: string,
  parameters: Readonly<Record<string, unknown>>,
  options?: { readonly stream?: boolean | undefined }
): Uint8Array =>
  encoder.encode(
    JSON.stringify(options?.stream ? { inputs: prompt, parameters, stream: true } : { inputs: prompt, parameters })
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
 * OpenAI chat completion (TGI Messages API, LMI chat, vLLM).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({ message: ChatMessage }, Rest))
}, Rest)

/**
 * Every response body understood: a chat completion, a non-empty list of generations, or one
 * generation object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseBody = Schema.Union(ChatCompletion, Schema.NonEmptyArray(Generation), Generation)

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

/**
 * Normalizes a decoded body to replies and one meta entry per reply. For a chat completion, meta
 * is each choice without its message content, plus the top-level `id`, `model` and `usage`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const normalize = (body: ResponseBody): GenerationResult => {
  if (!Array.isArray(body) && "choices" in body && Array.isArray(body.choices)) {
    const completion = body as typeof ChatCompletion.Type
    const top: Record<string, unknown> = {}
    for (const key of ["id", "model", "usage"]) if (key in completion) top[key] = completion[key]
    return {
      replies: completion.choices.map((choice) => choice.message.content),
      meta: completion.choices.map((choice) => ({ ...choice, message: omit(choice.message, "content"), ...top }))
    }
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
  if ("choices" in value) return `chat completion without a string choices[].message.content`
  return explainElement(value)
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
 * A body over {@link MAX_RESPONSE_BYTES} is refused before it is decoded. `__proto__` keys are
 * dropped wherever they appear in the body, so that no part of the result (`meta` included) can
 * carry a prototype chosen by the body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeResponse = (
  endpointName: string,
  bytes: Uint8Array
): Effect.Effect<GenerationResult, SagemakerResponseError> =>
  Effect.suspend(() => {
    const refuse = (detail: string, body: string) =>
      Effect.fail(unexpectedResponse(endpointName, detail, truncate(body)))
    if (bytes.length > MAX_RESPONSE_BYTES) {
      return Effect.fail(responseTooLarge(
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
    return Either.match(decodeBody(json), {
      onLeft: () => refuse(explain(json), text),
      onRight: (body) => Effect.succeed(normalize(body))
    })
  })
