/**
 * Hugging Face TGI ≥ 2.4 behind SageMaker's `/invocations`, as in huggingface/text-generation-inference
 * @ db931fcf (v3.3.7): `router/src/sagemaker.rs` routes the body by shape (`inputs` → generate,
 * `messages` → chat completions, `prompt` → legacy completions, else 422); `router/src/server.rs`
 * writes the answers and SSE streams (`compat_generate` defaults `return_full_text` to true for
 * `text-generation` models and models without a pipeline tag; stream `details` only when asked);
 * `router/src/chat.rs` streams chat deltas and tool calls; `router/src/lib.rs` has the wire types.
 * The `default` personality speaks the same dialect, leniently (see `respond`).
 *
 * @since 0.1.0
 * @internal
 */
import type { ModelResponse } from "../SagemakerEmulator.js"
import * as Chat from "./chat.js"
import * as D from "./dialect.js"
import * as Model from "./model.js"

/** `info.model_id` and `system_fingerprint` (`{version}-{docker_label or "native"}`) of the served model. */
const servedModel = "tgi"
const fingerprint = "3.3.7-native"

const validationError = (message: string): ModelResponse =>
  D.json(422, { error: `Input validation error: ${message}`, error_type: "validation" })

const toolError = (message: string): ModelResponse =>
  D.json(422, { error: `Tool error: ${message}`, error_type: "tool_error" })

const generationMessage = (failure: D.Failure): string =>
  `Request failed during generation: ${failure.message ?? "the emulator's generation-error fault"}`

/** `InferError` → `(StatusCode, Json<ErrorResponse>)`: a failed generation is 424. */
const generationError = (failure: D.Failure): ModelResponse =>
  D.json(424, { error: generationMessage(failure), error_type: "generation" })

/** `impl From<InferError> for Event`: the generate stream's error event. */
const errorEvent = (error: string, errorType: string): string => D.sse({ error, error_type: errorType })

/** `InferError::into_openai_event`: chat and completions streams' error event. */
const openaiErrorEvent = (message: string): string => D.sse({ error: { message, http_status_code: 422 } })

const done = "data:[DONE]\n\n"

/** axum's `KeepAlive::default()` comment, sent after 15 s without an event. */
const keepAlive = (ctx: D.Context): ReadonlyArray<string> =>
  Array.from({ length: Math.max(0, ctx.container.keepAliveComments ?? 0) }, () => ":\n\n")

const eventStream = (ctx: D.Context, events: ReadonlyArray<string>): ModelResponse =>
  D.chunks("text/event-stream", [...keepAlive(ctx), ...events])

/** Where serde_json reports an error found once the whole value is read. */
const endPosition = (text: string): string => {
  const lines = text.trimEnd().split("\n")
  return `line ${lines.length} column ${lines[lines.length - 1]!.length}`
}

/** axum's `Json` rejection when no variant of the untagged `SagemakerRequest` matches. */
const noVariant = (text: string): ModelResponse =>
  D.text(
    422,
    `Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum SagemakerRequest at ${
      endPosition(text)
    }`
  )

const notJson = (text: string): ModelResponse => {
  const detail = text.trim().length === 0 ?
    "EOF while parsing a value at line 1 column 0" :
    "expected value at line 1 column 1"
  return D.text(400, `Failed to parse the request body as JSON: ${detail}`)
}

// ---------------------------------------------------------------------------------------------
// Which variant of `SagemakerRequest` the body deserializes into (serde, untagged, in order)
// ---------------------------------------------------------------------------------------------

const isUint = (u: unknown): boolean => typeof u === "number" && Number.isInteger(u) && u >= 0
const optional = (u: unknown, ok: (u: unknown) => boolean): boolean => u === undefined || u === null || ok(u)
const isStrings = (u: unknown): boolean => Array.isArray(u) && u.every((s) => typeof s === "string")
const isNumber = (u: unknown): boolean => typeof u === "number"
const isBool = (u: unknown): boolean => typeof u === "boolean"

const isGenerate = (body: Record<string, unknown>): boolean => {
  if (typeof body["inputs"] !== "string" || !(body["stream"] === undefined || isBool(body["stream"]))) return false
  const p = body["parameters"]
  if (p === undefined) return true
  if (!D.isRecord(p)) return false
  return optional(p["max_new_tokens"], isUint) && (p["stop"] === undefined || isStrings(p["stop"])) &&
    optional(p["seed"], isUint) && (p["details"] === undefined || isBool(p["details"])) &&
    optional(p["return_full_text"], isBool) && optional(p["temperature"], isNumber) && optional(p["top_p"], isNumber)
}

const isGrammar = (u: unknown): boolean => {
  if (!D.isRecord(u) || !("value" in u)) return false
  switch (u["type"]) {
    case "json":
    case "json_object":
      return true
    case "regex":
      return typeof u["value"] === "string"
    case "json_schema":
      return D.isRecord(u["value"]) && "schema" in u["value"]
    default:
      return false
  }
}

const isChat = (body: Record<string, unknown>): boolean =>
  Array.isArray(body["messages"]) && optional(body["stop"], isStrings) && optional(body["max_tokens"], isUint) &&
  optional(body["max_completion_tokens"], isUint) && optional(body["seed"], isUint) &&
  (body["stream"] === undefined || isBool(body["stream"])) && optional(body["response_format"], isGrammar) &&
  optional(body["stream_options"], D.isRecord) && optional(body["tools"], Array.isArray) &&
  optional(body["logprobs"], isBool)

const isCompletion = (body: Record<string, unknown>): boolean => {
  const prompt = body["prompt"]
  return (typeof prompt === "string" || (isStrings(prompt) && (prompt as Array<string>).length > 0)) &&
    optional(body["stop"], isStrings) && optional(body["max_tokens"], isUint) && optional(body["seed"], isUint) &&
    (body["stream"] === undefined || isBool(body["stream"]))
}

// ---------------------------------------------------------------------------------------------
// Generate (`inputs`)
// ---------------------------------------------------------------------------------------------

const tokenJson = (t: Model.Token) => ({ id: t.id, text: t.text, logprob: t.logprob, special: t.special })

const generate = (ctx: D.Context, body: Record<string, unknown>, lenient: boolean): ModelResponse => {
  const inputs = body["inputs"] as string
  const streaming = body["stream"] === true ||
    (lenient && ctx.request.operation === "stream" && body["stream"] !== false)
  const parameters = D.isRecord(body["parameters"]) ? body["parameters"] : {}
  const params = inputs.length === 0 ? "`inputs` cannot be empty" : D.readParams(parameters, {
    maxKey: "max_new_tokens",
    inputTokens: Model.countWords(inputs),
    maxStop: 4,
    positiveTemperature: true,
    openTopP: true
  })
  // `generate_stream` always answers an event stream: validation errors become error events.
  if (typeof params === "string") {
    return streaming
      ? eventStream(ctx, [errorEvent(`Input validation error: ${params}`, "validation")])
      : validationError(params)
  }
  const g = Model.generate({ prompt: inputs, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
  // TGI keeps the whole token that completed a stop sequence; the lenient default cuts it out.
  const tokens = lenient ? Model.cutAtStop(g) : g.tokens
  const returnFullText = params.returnFullText ?? !lenient
  const full = (returnFullText ? inputs : "") + D.joined(tokens)
  const failure = ctx.failure
  if (!streaming) {
    if (failure !== undefined) return generationError(failure)
    const details = {
      finish_reason: g.finishReason,
      generated_tokens: g.generatedTokens,
      seed: params.seed ?? null,
      prefill: [],
      tokens: tokens.map(tokenJson)
    }
    return D.json(200, [params.details ? { generated_text: full, details } : { generated_text: full }])
  }
  if (failure !== undefined) {
    const sent = tokens.slice(0, Math.min(failure.afterTokens, tokens.length - 1))
    return eventStream(ctx, [
      ...sent.map((t, i) => D.sse({ index: i + 1, token: tokenJson(t), generated_text: null, details: null })),
      errorEvent(generationMessage(failure), "generation")
    ])
  }
  const events = tokens.map((t, i) => {
    const last = i === tokens.length - 1
    return D.sse({
      index: i + 1,
      token: tokenJson(t),
      generated_text: last ? full : null,
      details: last && (params.details || lenient)
        ? {
          finish_reason: g.finishReason,
          generated_tokens: g.generatedTokens,
          input_length: g.inputTokens,
          seed: params.seed ?? null
        }
        : null
    })
  })
  return eventStream(ctx, events)
}

// ---------------------------------------------------------------------------------------------
// Chat completions (`messages`)
// ---------------------------------------------------------------------------------------------

/** `FinishReason::format(true)`: chat and non-streamed completions say `stop` for EOS. */
const openaiFinish = (reason: Model.FinishReason): string => reason === "eos_token" ? "stop" : reason

/** TGI's `response_format` is its grammar: `{"type": "json" | "json_object" | "json_schema", "value"}`. */
const responseSchema = (format: unknown): unknown => {
  if (!D.isRecord(format)) return undefined
  const value = format["value"]
  switch (format["type"]) {
    case "json":
    case "json_object":
      return D.isRecord(value) && Object.keys(value).length > 0 ? value : Chat.jsonObjectSchema
    case "json_schema":
      return D.isRecord(value) ? value["schema"] : undefined
    default:
      return undefined
  }
}

/** `ChatRequest::next_tool_call_id`: one more than the largest integer id in the history, else a uuid. */
const nextToolCallId = (messages: ReadonlyArray<Chat.Message>): string => {
  let next = 0
  for (const m of messages) {
    for (const c of m.toolCalls) {
      if (c.id === undefined || !/^\d+$/.test(c.id)) {
        const h = Model.hash32(messages.map((x) => x.content).join("\u0000")).toString(16).padStart(8, "0")
        return `${h}-0000-4000-8000-${h}${h.slice(0, 4)}`
      }
      next = Math.max(next, Number(c.id) + 1)
    }
  }
  return String(next)
}

const chat = (ctx: D.Context, body: Record<string, unknown>, lenient: boolean): ModelResponse => {
  const streaming = body["stream"] === true
  const messages = Chat.readMessages(body["messages"])
  if (typeof messages === "string") return noVariant(ctx.request.text)
  const tools = Chat.readTools(body["tools"])
  if (typeof tools === "string") return noVariant(ctx.request.text)
  const toolChoice = Chat.readToolChoice(body["tool_choice"], tools, true)
  if (typeof toolChoice === "string") return noVariant(ctx.request.text)
  const schema = responseSchema(body["response_format"])
  if (body["response_format"] !== undefined && body["response_format"] !== null && Array.isArray(body["tools"])) {
    return toolError("Grammar and tools are mutually exclusive")
  }
  // The tool choice is only looked at when tools are given.
  if (toolChoice._tag === "named" && Array.isArray(body["tools"]) && !tools.some((t) => t.name === toolChoice.name)) {
    return toolError(`Tool with name ${toolChoice.name} not found`)
  }
  const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
  const params = D.readParams({
    max_new_tokens: body["max_tokens"] ?? body["max_completion_tokens"],
    stop: body["stop"],
    seed: body["seed"],
    top_p: body["top_p"]
  }, { maxKey: "max_new_tokens", inputTokens: promptTokens, maxStop: 4, positiveTemperature: false, openTopP: true })
  if (typeof params === "string") {
    return streaming
      ? eventStream(ctx, [openaiErrorEvent(`Input validation error: ${params}`), done])
      : validationError(params)
  }
  const gen = Chat.answer({
    messages,
    tools,
    toolChoice,
    responseSchema: schema,
    parallelToolCalls: false
  }, {
    maxTokens: params.maxNewTokens,
    stop: params.stop,
    seed: params.seed,
    reasoning: false,
    cutStop: lenient
  })
  const model = typeof body["model"] === "string" && body["model"] !== "tgi" ? body["model"] : servedModel
  const created = D.seconds(ctx.nowMillis)
  const finish = openaiFinish(gen.finishReason)
  const usage = {
    prompt_tokens: gen.promptTokens,
    completion_tokens: gen.generatedTokens,
    total_tokens: gen.promptTokens + gen.generatedTokens
  }
  const withLogprobs = body["logprobs"] === true
  const logprob = (t: Model.Token) => ({ token: t.text, logprob: t.logprob, top_logprobs: [] })
  const failure = ctx.failure

  if (!streaming) {
    if (failure !== undefined) return generationError(failure)
    let message: Record<string, unknown>
    if (gen.calls.length > 0) {
      // `chat::parse_output` cannot parse a tool call cut short by `max_tokens`.
      if (!gen.eos) {
        return toolError(
          `Failed to parse generated text: EOF while parsing an object at line 1 column ${
            gen.calls[0]!.arguments.length
          } ${JSON.stringify(gen.calls[0]!.arguments)}`
        )
      }
      message = {
        role: "assistant",
        tool_calls: gen.calls.map((c) => ({
          // `parse_output` numbers the non-streamed call "0", whatever the history holds.
          id: "0",
          type: "function",
          function: {
            description: null,
            name: c.name,
            arguments: ctx.container.toolArgumentsAsObject === true ? JSON.parse(c.arguments) : c.arguments
          }
        }))
      }
    } else {
      message = { role: "assistant", content: D.joined(gen.content) }
    }
    return D.json(200, {
      object: "chat.completion",
      id: "",
      created,
      model,
      system_fingerprint: fingerprint,
      choices: [{
        index: 0,
        message,
        logprobs: withLogprobs ? { content: gen.content.map(logprob) } : null,
        finish_reason: finish
      }],
      usage
    })
  }

  const chunk = (choices: ReadonlyArray<unknown>, chunkUsage: unknown = null) => ({
    object: "chat.completion.chunk",
    id: "",
    created,
    model,
    system_fingerprint: fingerprint,
    choices,
    usage: chunkUsage
  })
  const events: Array<string> = []
  if (gen.calls.length > 0) {
    // `ChatState`: the first event names the function and opens the arguments with "{"; the rest
    // are the argument tokens. The EOS after the closing brace produces no event, so a streamed
    // tool call carries no finish reason.
    const call = gen.calls[0]!
    const id = nextToolCallId(messages)
    call.tokens.forEach((t, i) => {
      events.push(D.sse(chunk([{
        index: 0,
        delta: {
          role: "assistant",
          tool_calls: [{
            index: 0,
            id,
            type: "function",
            function: { name: i === 0 ? call.name : null, arguments: t.text }
          }]
        },
        logprobs: withLogprobs ? { content: [logprob(t)] } : null,
        finish_reason: null
      }])))
    })
  } else {
    gen.content.forEach((t, i) => {
      const last = i === gen.content.length - 1
      events.push(D.sse(chunk([{
        index: 0,
        delta: { role: "assistant", content: t.special ? "" : t.text },
        logprobs: withLogprobs ? { content: [logprob(t)] } : null,
        finish_reason: last ? finish : null
      }])))
    })
  }
  const includeUsage = D.isRecord(body["stream_options"]) && body["stream_options"]["include_usage"] === true
  if (failure !== undefined) {
    return eventStream(ctx, [
      ...events.slice(0, Math.min(failure.afterTokens, Math.max(0, events.length - 1))),
      openaiErrorEvent(generationMessage(failure)),
      done
    ])
  }
  if (includeUsage) events.push(D.sse(chunk([], usage)))
  events.push(done)
  return eventStream(ctx, events)
}

// ---------------------------------------------------------------------------------------------
// Legacy completions (`prompt`)
// ---------------------------------------------------------------------------------------------

const completions = (ctx: D.Context, body: Record<string, unknown>, lenient: boolean): ModelResponse => {
  const streaming = body["stream"] === true
  if (body["suffix"] !== undefined && body["suffix"] !== null) {
    return D.json(422, {
      error: "Suffix is not supported and can be achieved by preprocessing the prompt.",
      error_type: "suffix not supported"
    })
  }
  const raw = body["prompt"]
  const prompts: ReadonlyArray<string> = typeof raw === "string" ? [raw] : raw as ReadonlyArray<string>
  const created = D.seconds(ctx.nowMillis)
  const failure = ctx.failure
  const results: Array<{ readonly g: Model.Generation; readonly tokens: ReadonlyArray<Model.Token> }> = []
  for (const prompt of prompts) {
    const params = D.readParams({
      max_new_tokens: body["max_tokens"],
      stop: body["stop"],
      seed: body["seed"],
      top_p: body["top_p"]
    }, {
      maxKey: "max_new_tokens",
      inputTokens: Model.countWords(prompt),
      maxStop: 4,
      positiveTemperature: false,
      openTopP: true
    })
    if (typeof params === "string") {
      return streaming
        ? eventStream(ctx, [openaiErrorEvent(`Input validation error: ${params}`), done])
        : validationError(params)
    }
    const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
    results.push({ g, tokens: lenient ? Model.cutAtStop(g) : g.tokens })
  }
  const usageOf = (rs: typeof results) => {
    const prompt = rs.reduce((n, r) => n + r.g.inputTokens, 0)
    const completion = rs.reduce((n, r) => n + r.g.generatedTokens, 0)
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  }
  if (!streaming) {
    if (failure !== undefined) return generationError(failure)
    return D.json(200, {
      object: "text_completion",
      id: "",
      created,
      model: servedModel,
      system_fingerprint: fingerprint,
      choices: results.map((r, index) => ({
        index,
        text: D.joined(r.tokens),
        logprobs: null,
        finish_reason: openaiFinish(r.g.finishReason)
      })),
      usage: usageOf(results)
    })
  }
  const events: Array<string> = []
  results.forEach((r, index) => {
    r.tokens.forEach((t, i) => {
      const choice = (finish: string) => ({ index, text: t.text, logprobs: null, finish_reason: finish })
      // Non-final chunks say `finish_reason: ""`; the final one is a `CompletionFinal` whose finish
      // reason is `FinishReason`'s Display (`eos_token`, not `stop`) and whose text is the last
      // token's, special or not.
      events.push(
        i < r.tokens.length - 1
          ? D.sse({
            object: "text_completion",
            id: "",
            created,
            choices: [choice("")],
            model: servedModel,
            system_fingerprint: fingerprint
          })
          : D.sse({
            object: "text_completion",
            id: "",
            created,
            model: servedModel,
            system_fingerprint: fingerprint,
            choices: [choice(r.g.finishReason)],
            usage: usageOf([r])
          })
      )
    })
  })
  if (failure !== undefined) {
    return eventStream(ctx, [
      ...events.slice(0, Math.min(failure.afterTokens, Math.max(0, events.length - 1))),
      openaiErrorEvent(generationMessage(failure)),
      done
    ])
  }
  return eventStream(ctx, [...events, done])
}

/**
 * Answers as TGI's `/invocations` does. `lenient` (the `default` personality) accepts any content
 * type, streams on the stream route unless the body says `"stream": false`, leaves
 * `return_full_text` off, always ends a generate stream with its details and cuts stop sequences out.
 *
 * @internal
 */
export const respond = (ctx: D.Context, lenient: boolean): ModelResponse => {
  const request = ctx.request
  // axum's Json extractor insists on a JSON content type.
  if (!lenient && !/^application\/json\b/i.test(request.contentType ?? "")) {
    return D.text(415, "Expected request with `Content-Type: application/json`")
  }
  const body = request.json
  if (body === undefined) return notJson(request.text)
  if (!D.isRecord(body)) return noVariant(request.text)
  if (isGenerate(body)) return generate(ctx, body, lenient)
  if (isChat(body)) return chat(ctx, body, lenient)
  if (isCompletion(body)) return completions(ctx, body, lenient)
  return noVariant(request.text)
}
