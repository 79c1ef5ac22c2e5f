/**
 * The model container dialects of docs/protocol.md §7 over the deterministic generator: request parsing
 * and validation (answered as the container would, so SageMaker turns them into ModelErrors) and the
 * non-streaming and streaming response shapes of TGI, LMI, JumpStart Llama 2 and OpenAI-style chat.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ModelRequest, ModelResponse, Personality, Responder } from "../SagemakerEmulator.js"
import * as Model from "./model.js"

/** Beyond this the generator would be asked for absurd amounts of text. */
const maxTotalTokens = 4096

const json = (status: number, value: unknown): ModelResponse => ({
  status,
  contentType: "application/json",
  body: JSON.stringify(value)
})

const text = (status: number, body: string): ModelResponse => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body
})

/** A parameter problem, in each container's own error shape. */
const invalid = (personality: Personality, message: string): ModelResponse => {
  switch (personality) {
    case "lmi":
      return json(400, { error: message, code: 400 })
    case "llama2":
    case "llama2-chat":
      return json(400, { code: 400, type: "InternalServerException", message })
    case "messages":
      return json(400, { object: "error", message, type: "BadRequestError", param: null, code: 400 })
    default:
      return json(422, { error: `Input validation error: ${message}`, error_type: "validation" })
  }
}

const notJson = (personality: Personality, request: ModelRequest): ModelResponse => {
  const detail = request.text.trim().length === 0 ?
    "EOF while parsing a value at line 1 column 0" :
    "expected value at line 1 column 1"
  switch (personality) {
    case "default":
    case "tgi":
      return text(400, `Failed to parse the request body as JSON: ${detail}`)
    default:
      return invalid(personality, `Invalid JSON body: ${detail}`)
  }
}

const missingField = (personality: Personality, field: string): ModelResponse =>
  personality === "default" || personality === "tgi"
    ? text(
      422,
      `Failed to deserialize the JSON body into the target type: missing field \`${field}\` at line 1 column 2`
    )
    : invalid(personality, `Missing required field \`${field}\``)

interface Params {
  readonly maxNewTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
  readonly returnFullText: boolean
  readonly details: boolean
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Reads generation parameters; returns a validation message on bad input. */
const readParams = (
  personality: Personality,
  source: Record<string, unknown>,
  maxKey: "max_new_tokens" | "max_tokens",
  inputTokens: number
): Params | string => {
  const max = source[maxKey]
  if (max !== undefined && max !== null && (typeof max !== "number" || !Number.isInteger(max) || max < 1)) {
    return `\`${maxKey}\` must be strictly positive`
  }
  const maxNewTokens = typeof max === "number" ? max : undefined
  if (maxNewTokens !== undefined && inputTokens + maxNewTokens > maxTotalTokens) {
    return `\`inputs\` tokens + \`${maxKey}\` must be <= ${maxTotalTokens}. Given: ${inputTokens} \`inputs\` tokens and ${maxNewTokens} \`${maxKey}\``
  }
  const rawStop = source["stop"]
  let stop: ReadonlyArray<string> = []
  if (typeof rawStop === "string") stop = [rawStop]
  else if (Array.isArray(rawStop) && rawStop.every((s) => typeof s === "string")) stop = rawStop
  else if (rawStop !== undefined && rawStop !== null) return "`stop` must be a list of strings"
  if ((personality === "tgi" || personality === "default") && stop.length > 4) {
    return `\`stop\` supports up to 4 stop sequences. Given: ${stop.length}`
  }
  const seed = source["seed"]
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0)) {
    return "`seed` must be a non-negative integer"
  }
  const temperature = source["temperature"]
  if (typeof temperature === "number" && temperature <= 0 && personality !== "messages") {
    return "`temperature` must be strictly positive"
  }
  const topP = source["top_p"]
  if (personality === "tgi" && typeof topP === "number" && (topP <= 0 || topP >= 1)) {
    return "`top_p` must be > 0.0 and < 1.0"
  }
  return {
    maxNewTokens,
    stop,
    seed: typeof seed === "number" ? seed : undefined,
    returnFullText: source["return_full_text"] === true,
    details: source["details"] === true
  }
}

const sse = (value: unknown): string => `data:${JSON.stringify(value)}\n\n`
const sseSpaced = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`
const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`

const streamRequested = (personality: Personality, request: ModelRequest, body: Record<string, unknown>): boolean =>
  body["stream"] === true || (personality === "default" && request.operation === "stream" && body["stream"] !== false)

// ---------------------------------------------------------------------------------------------
// Text generation: TGI and LMI
// ---------------------------------------------------------------------------------------------

const tgiText = (prompt: string, params: Params, streaming: boolean): ModelResponse => {
  const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
  const full = params.returnFullText ? prompt + g.text : g.text
  if (!streaming) {
    const details = {
      finish_reason: g.finishReason,
      generated_tokens: g.generatedTokens,
      seed: params.seed ?? null,
      prefill: [],
      tokens: g.tokens.map((t) => ({ id: t.id, text: t.text, logprob: t.logprob, special: t.special }))
    }
    return json(200, [params.details ? { generated_text: full, details } : { generated_text: full }])
  }
  const tokens = g.tokens.length > 0 ? g.tokens : [{ ...Model.eosToken, text: "" }]
  const events = tokens.map((t, i) => {
    const last = i === tokens.length - 1
    return sse({
      index: i + 1,
      token: { id: t.id, text: t.text, logprob: t.logprob, special: t.special },
      generated_text: last ? full : null,
      // TGI always ends a stream with its StreamDetails, whatever `details` asked.
      details: last
        ? {
          finish_reason: g.finishReason,
          generated_tokens: g.generatedTokens,
          input_length: g.inputTokens,
          seed: params.seed ?? null
        }
        : null
    })
  })
  return { status: 200, contentType: "text/event-stream", body: events }
}

const lmiText = (prompt: string, params: Params, streaming: boolean): ModelResponse => {
  const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
  const full = params.returnFullText ? prompt + g.text : g.text
  // LMI does not surface the EOS token.
  const tokens = g.tokens.filter((t) => !t.special)
  if (!streaming) {
    const details = {
      finish_reason: g.finishReason,
      generated_tokens: g.generatedTokens,
      inputs: prompt,
      tokens: tokens.map((t) => ({ id: t.id, text: t.text, log_prob: t.logprob }))
    }
    return json(200, params.details ? { generated_text: full, details } : { generated_text: full })
  }
  const streamed = tokens.length > 0 ? tokens : [{ id: -1, text: "", logprob: -1, special: false }]
  const lines = streamed.map((t, i) => {
    const token = { id: t.id, text: t.text, log_prob: t.logprob }
    if (i < streamed.length - 1) return jsonLine({ token })
    return jsonLine({
      token,
      generated_text: full,
      ...(params.details
        ? { details: { finish_reason: g.finishReason, generated_tokens: g.generatedTokens, inputs: prompt } }
        : {})
    })
  })
  return { status: 200, contentType: "application/jsonlines", body: lines }
}

// ---------------------------------------------------------------------------------------------
// Chat completions (TGI Messages API, LMI chat, OpenAI-compatible servers)
// ---------------------------------------------------------------------------------------------

interface ChatMessage {
  readonly role: string
  readonly content: string
}

const contentText = (content: unknown): string | undefined => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    const parts = content.flatMap((p) => isRecord(p) && typeof p["text"] === "string" ? [p["text"]] : [])
    return parts.join("\n")
  }
  return undefined
}

const readMessages = (raw: unknown): ReadonlyArray<ChatMessage> | string => {
  if (!Array.isArray(raw) || raw.length === 0) return "`messages` must be a non-empty list"
  const out: Array<ChatMessage> = []
  for (const m of raw) {
    if (!isRecord(m) || typeof m["role"] !== "string") return "every message needs a `role`"
    const content = contentText(m["content"])
    if (content === undefined) return "every message needs a `content` string or a list of text parts"
    out.push({ role: m["role"], content })
  }
  return out
}

const lastUserContent = (messages: ReadonlyArray<ChatMessage>): string =>
  [...messages].reverse().find((m) => m.role === "user")?.content ?? messages[messages.length - 1]!.content

const chatContentTokens = (tokens: ReadonlyArray<Model.Token>): Array<string> => {
  const texts = tokens.filter((t) => !t.special).map((t) => t.text)
  if (texts.length > 0) texts[0] = texts[0]!.trimStart()
  return texts
}

const chat = (
  personality: Personality,
  request: ModelRequest,
  messages: ReadonlyArray<ChatMessage>,
  params: Params,
  streaming: boolean,
  nowMillis: number
): ModelResponse => {
  const prompt = lastUserContent(messages)
  const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
  const pieces = chatContentTokens(g.tokens)
  const content = pieces.join("")
  const finishReason = g.finishReason === "length" ? "length" : "stop"
  const created = Math.floor(nowMillis / 1000)
  const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: g.generatedTokens,
    total_tokens: promptTokens + g.generatedTokens
  }
  const tgi = personality === "tgi" || personality === "default"
  const id = tgi ? "" : `chatcmpl-${Model.hash32(`${request.endpointName}:${prompt}:${nowMillis}`).toString(16)}`
  const header = tgi
    ? { object: "chat.completion", id, created, model: "tgi", system_fingerprint: "2.4.1-sha-emulator" }
    : personality === "lmi"
    ? { id, object: "chat.completion", created }
    : { id, object: "chat.completion", created, model: request.endpointName }
  if (!streaming) {
    return json(200, {
      ...header,
      choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: finishReason }],
      usage
    })
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...header,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
  })
  switch (personality) {
    case "lmi":
      return {
        status: 200,
        contentType: "application/jsonlines",
        body: [
          ...pieces.map((p) => jsonLine(chunk({ content: p, role: "assistant" }, null))),
          jsonLine(chunk({}, finishReason))
        ]
      }
    case "messages":
      // vLLM style: "data: " with a space, a role-only first chunk, "data: [DONE]".
      return {
        status: 200,
        contentType: "text/event-stream",
        body: [
          sseSpaced(chunk({ role: "assistant", content: "" }, null)),
          ...pieces.map((p) => sseSpaced(chunk({ content: p }, null))),
          sseSpaced(chunk({}, finishReason)),
          "data: [DONE]\n\n"
        ]
      }
    default:
      return {
        status: 200,
        contentType: "text/event-stream",
        body: [
          ...pieces.map((p) => sse(chunk({ role: "assistant", content: p }, null))),
          sse(chunk({ role: "assistant", content: "" }, finishReason)),
          "data:[DONE]\n\n"
        ]
      }
  }
}

// ---------------------------------------------------------------------------------------------
// JumpStart Llama 2
// ---------------------------------------------------------------------------------------------

// These containers never stream: the `generation` dialect is that of JumpStart's first Llama 2
// versions (`meta-textgeneration-llama-2-7b-f` 2.0.4 runs `djl-deepspeed` 0.23.0 in
// aws/sagemaker-python-sdk tests/unit/sagemaker/jumpstart/constants.py @0c73ce00), whose handler
// returns the whole pipeline output; djl-serving streams only handlers built for it
// (deepjavalibrary/djl-serving serving/docs/streaming_config.md @b58021c0). SageMaker does not refuse
// the stream route for such a container: it relays the JSON body as PayloadParts under
// `X-Amzn-SageMaker-Content-Type: application/json` (headers printed in langchain-ai/langchain-aws#128).
// Later Llama 2 versions run TGI and stream as the `tgi` personality does.

const eulaMessage =
  "Need to pass custom_attributes='accept_eula=true' as part of header. This means you have read and accept the end-user-license-agreement (EULA) of the model. EULA can be found in model card description or from https://ai.meta.com/resources/models-and-libraries/llama-downloads/."

const eulaAccepted = (customAttributes: string | undefined): boolean =>
  (customAttributes ?? "").split(/[;,]/).some((kv) => {
    const [k, v] = kv.split("=").map((s) => s.trim())
    return k === "accept_eula" && v !== undefined && v.toLowerCase() === "true"
  })

const llama = (personality: "llama2" | "llama2-chat", body: Record<string, unknown>): ModelResponse => {
  const parameters = isRecord(body["parameters"]) ? body["parameters"] : {}
  const inputs = body["inputs"]
  if (personality === "llama2") {
    const prompts = typeof inputs === "string"
      ? [inputs]
      : Array.isArray(inputs) && inputs.length > 0 && inputs.every((s) => typeof s === "string")
      ? inputs as ReadonlyArray<string>
      : undefined
    if (prompts === undefined) return invalid(personality, "`inputs` must be a string or a list of strings")
    const out: Array<unknown> = []
    for (const prompt of prompts) {
      const params = readParams(personality, parameters, "max_new_tokens", Model.countWords(prompt))
      if (typeof params === "string") return invalid(personality, params)
      const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
      out.push({ generation: params.returnFullText ? prompt + g.text : g.text })
    }
    return json(200, out)
  }
  let dialogs: ReadonlyArray<unknown>
  if (typeof inputs === "string") dialogs = [[{ role: "user", content: inputs }]]
  else if (Array.isArray(inputs) && inputs.length > 0 && inputs.every(Array.isArray)) dialogs = inputs
  else if (Array.isArray(inputs) && inputs.length > 0) dialogs = [inputs]
  else return invalid(personality, "`inputs` must be a list of dialogs ([[{role, content}]]) or a string")
  const out: Array<unknown> = []
  for (const dialog of dialogs) {
    const messages = readMessages(dialog)
    if (typeof messages === "string") return invalid(personality, messages)
    if (messages[messages.length - 1]!.role !== "user") {
      return invalid(
        personality,
        "Model should only support 'system', 'user' and 'assistant' roles, starting with 'system', then 'user' and alternating (u/a/u/a/u...), ending with 'user'"
      )
    }
    const prompt = lastUserContent(messages)
    const params = readParams(personality, parameters, "max_new_tokens", Model.countWords(prompt))
    if (typeof params === "string") return invalid(personality, params)
    const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
    out.push({ generation: { role: "assistant", content: chatContentTokens(g.tokens).join("") } })
  }
  return json(200, out)
}

// ---------------------------------------------------------------------------------------------

/**
 * Answers `request` as the container behind `personality` would.
 *
 * @internal
 */
export const respond = (personality: Personality, request: ModelRequest, nowMillis: number): ModelResponse => {
  if (personality === "llama2" || personality === "llama2-chat") {
    if (!eulaAccepted(request.customAttributes)) return invalid(personality, eulaMessage)
    if (!isRecord(request.json)) {
      return request.json === undefined
        ? notJson(personality, request)
        : missingField(personality, "inputs")
    }
    return llama(personality, request.json)
  }
  // axum's Json extractor (TGI) and OpenAI-style servers insist on a JSON content type.
  if (
    (personality === "tgi" || personality === "messages") && !/^application\/json\b/i.test(request.contentType ?? "")
  ) {
    return text(415, "Expected request with `Content-Type: application/json`")
  }
  const body = request.json
  if (!isRecord(body)) return body === undefined ? notJson(personality, request) : missingField(personality, "inputs")
  const streaming = streamRequested(personality, request, body)
  const parameters = isRecord(body["parameters"]) ? body["parameters"] : {}

  const hasMessages = body["messages"] !== undefined
  if (hasMessages || personality === "messages") {
    let messages: ReadonlyArray<ChatMessage> | string
    if (hasMessages) messages = readMessages(body["messages"])
    else if (typeof body["inputs"] === "string") messages = [{ role: "user", content: body["inputs"] }]
    else return missingField(personality, "messages")
    if (typeof messages === "string") return invalid(personality, messages)
    const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
    const source = body["max_tokens"] === undefined && parameters["max_new_tokens"] !== undefined
      ? { ...body, max_tokens: parameters["max_new_tokens"] }
      : body
    const params = readParams(personality, source, "max_tokens", promptTokens)
    if (typeof params === "string") return invalid(personality, params)
    return chat(personality, request, messages, params, streaming, nowMillis)
  }

  const inputs = body["inputs"]
  if (inputs === undefined) return missingField(personality, "inputs")
  if (typeof inputs !== "string") return invalid(personality, "`inputs` must be a string")
  if (inputs.length === 0) return invalid(personality, "`inputs` cannot be empty")
  const params = readParams(personality, parameters, "max_new_tokens", Model.countWords(inputs))
  if (typeof params === "string") return invalid(personality, params)
  return personality === "lmi" ? lmiText(inputs, params, streaming) : tgiText(inputs, params, streaming)
}

/**
 * The built-in model as a `Responder`.
 *
 * @internal
 */
export const responder = (personality: Personality): Responder => (request) =>
  Effect.map(Clock.currentTimeMillis, (now) => respond(personality, request, now))
