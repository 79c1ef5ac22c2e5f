/**
 * vLLM's OpenAI server behind SageMaker's `/invocations`, as in vllm-project/vllm:
 * `vllm/entrypoints/sagemaker/routes.py` @ 048a32c7 (the body is tried as a `ChatCompletionRequest`,
 * then a `CompletionRequest`; neither: 400 "Cannot find suitable handler"),
 * `vllm/entrypoints/openai/serving_chat.py` @ 99c5632f (chat answers and streams: a role-only first
 * chunk, the finish reason on the last token's chunk, `tool_calls` as finish reason for `auto` and
 * `required` calls but `stop` for a named function, a usage chunk with `choices: []`, `data: [DONE]`),
 * `vllm/entrypoints/openai/serving_completion.py` @ 00463e62 and `vllm/entrypoints/openai/protocol.py`
 * @ 0052bed3 (the wire types: `ErrorResponse` is `{"error": {message, type, param, code}}`).
 *
 * @since 0.1.0
 * @internal
 */
import type { ModelResponse } from "../SagemakerEmulator.js"
import * as Chat from "./chat.js"
import * as D from "./dialect.js"
import * as Model from "./model.js"

/** `OpenAIServing.create_error_response`. */
const errorBody = (message: string, type = "BadRequestError", code = 400, param: string | null = null) => ({
  error: { message, type, param, code }
})

const error = (message: string, type = "BadRequestError", code = 400, param: string | null = null): ModelResponse =>
  D.json(code, errorBody(message, type, code, param))

const noHandler = (): ModelResponse =>
  error("Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', 'CompletionRequest']")

const done = "data: [DONE]\n\n"

const generationMessage = (failure: D.Failure): string => failure.message ?? "the emulator's generation-error fault"

/** vLLM's finish reasons: `stop` for EOS and stop strings, `length`. */
const finishOf = (reason: Model.FinishReason): string => reason === "length" ? "length" : "stop"

const isOptional = (u: unknown, ok: (u: unknown) => boolean): boolean => u === undefined || u === null || ok(u)
const isInt = (u: unknown): boolean => typeof u === "number" && Number.isInteger(u)
const isStop = (u: unknown): boolean =>
  typeof u === "string" || (Array.isArray(u) && u.every((s) => typeof s === "string"))

/** `validate_stream_options`: stream options without `stream` fail validation. */
const streamOptionsOk = (body: Record<string, unknown>): boolean =>
  isOptional(body["stream_options"], D.isRecord) &&
  !(D.isRecord(body["stream_options"]) && body["stream"] !== true)

/** The usage chunk's `include_usage` defaults to true once `stream_options` is given. */
const usageWanted = (body: Record<string, unknown>): { readonly final: boolean; readonly continuous: boolean } => {
  const o = body["stream_options"]
  if (!D.isRecord(o)) return { final: false, continuous: false }
  const final = o["include_usage"] !== false
  return { final, continuous: final && o["continuous_usage_stats"] === true }
}

const requestId = (ctx: D.Context): string =>
  Model.hash32(`${ctx.request.endpointName}:${ctx.request.text}:${ctx.nowMillis}`).toString(16).padStart(8, "0")

/** `make_tool_call_id`: `chatcmpl-tool-` and a random hex id (here a hash). */
const toolCallId = (seed: string): string =>
  `chatcmpl-tool-${Model.hash32(seed).toString(16).padStart(8, "0")}${Model.hash32(`${seed}#`).toString(16)}`

const utf8 = new TextEncoder()

const logprob = (t: Model.Token) => ({
  token: t.text,
  logprob: t.logprob,
  bytes: Array.from(utf8.encode(t.text)),
  top_logprobs: []
})

// ---------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------

type ChatBody = Record<string, unknown>

/** Whether pydantic would take the body as a `ChatCompletionRequest`. */
const chatRequest = (body: ChatBody): {
  readonly messages: ReadonlyArray<Chat.Message>
  readonly tools: ReadonlyArray<Chat.Tool>
  readonly toolChoice: Chat.ToolChoice
} | undefined => {
  if (!Array.isArray(body["messages"]) || !streamOptionsOk(body)) return undefined
  if (!isOptional(body["stop"], isStop) || !isOptional(body["max_tokens"], isInt)) return undefined
  if (!isOptional(body["max_completion_tokens"], isInt) || !isOptional(body["seed"], isInt)) return undefined
  const messages = Chat.readMessages(body["messages"])
  const tools = Chat.readTools(body["tools"])
  if (typeof messages === "string" || typeof tools === "string") return undefined
  const toolChoice = Chat.readToolChoice(body["tool_choice"], tools, false)
  if (typeof toolChoice === "string") return undefined
  // `check_tool_usage`: a tool choice needs tools, a named one among them.
  const choice = body["tool_choice"]
  if (choice !== undefined && choice !== null && choice !== "none" && body["tools"] === undefined) {
    return undefined
  }
  if (toolChoice._tag === "named" && !tools.some((t) => t.name === toolChoice.name)) return undefined
  return { messages, tools, toolChoice }
}

const chat = (ctx: D.Context, body: ChatBody, request: NonNullable<ReturnType<typeof chatRequest>>) => {
  const { messages, toolChoice, tools } = request
  const streaming = body["stream"] === true
  const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
  const params = D.readParams({
    max_tokens: body["max_completion_tokens"] ?? body["max_tokens"],
    stop: body["stop"],
    seed: body["seed"]
  }, {
    maxKey: "max_tokens",
    inputTokens: promptTokens,
    maxStop: undefined,
    positiveTemperature: false,
    openTopP: false
  })
  if (typeof params === "string") return error(params)
  const reasoningField = ctx.container.reasoning === "reasoning" ? "reasoning" : "reasoning_content"
  const reasoning = ctx.container.reasoning !== undefined && ctx.container.reasoning !== false
  const gen = Chat.answer({
    messages,
    tools,
    toolChoice,
    responseSchema: Chat.openaiResponseSchema(body["response_format"]),
    parallelToolCalls: true
  }, {
    maxTokens: params.maxNewTokens,
    stop: params.stop,
    seed: params.seed,
    reasoning,
    cutStop: true
  })
  const id = `chatcmpl-${requestId(ctx)}`
  const created = D.seconds(ctx.nowMillis)
  const model = ctx.request.endpointName
  const named = toolChoice._tag === "named"
  // "tool_calls" for `auto` and `required` calls, "stop" for a named function (as OpenAI).
  const finish = gen.calls.length > 0 && !named && gen.eos ? "tool_calls" : finishOf(gen.finishReason)
  const stopReason = gen.stop?.sequence ?? null
  const usage = {
    prompt_tokens: gen.promptTokens,
    total_tokens: gen.promptTokens + gen.generatedTokens,
    completion_tokens: gen.generatedTokens
  }
  const withLogprobs = body["logprobs"] === true
  const failure = ctx.failure
  const calls = gen.calls.map((c, i) => ({
    id: toolCallId(`${id}:${i}`),
    type: "function",
    function: { name: c.name, arguments: c.arguments }
  }))

  if (!streaming) {
    if (failure !== undefined) return error(generationMessage(failure), "InternalServerError", 500)
    // The reasoning parser leaves no content when the budget ran out while reasoning.
    const content = gen.calls.length > 0
      ? (toolChoice._tag === "auto" ? null : "")
      : reasoning && gen.content.length === 0
      ? null
      : D.joined(gen.content)
    const reasoningText = D.joined(gen.reasoning)
    return D.json(200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content,
          refusal: null,
          annotations: null,
          audio: null,
          function_call: null,
          tool_calls: calls,
          [reasoningField]: reasoning && reasoningText.length > 0 ? reasoningText : null
        },
        logprobs: withLogprobs ? { content: gen.content.filter((t) => !t.special).map(logprob) } : null,
        finish_reason: finish,
        stop_reason: stopReason
      }],
      service_tier: null,
      system_fingerprint: null,
      usage: { ...usage, prompt_tokens_details: null },
      prompt_logprobs: null,
      kv_transfer_params: null
    })
  }

  // Streamed with `model_dump_json(exclude_unset=True)`: a choice has the fields that were set.
  const want = usageWanted(body)
  let produced = 0
  const chunk = (choice: Record<string, unknown>, countTokens: number) => {
    produced += countTokens
    return D.sseSpaced({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [choice],
      ...(want.continuous
        ? {
          usage: {
            prompt_tokens: gen.promptTokens,
            total_tokens: gen.promptTokens + produced,
            completion_tokens: produced
          }
        }
        : {})
    })
  }
  const steps: Array<{ readonly delta: Record<string, unknown>; readonly token: Model.Token | undefined }> = []
  for (const t of gen.reasoning) steps.push({ delta: { [reasoningField]: t.text }, token: t })
  if (gen.calls.length > 0) {
    gen.calls.forEach((c, index) => {
      c.tokens.forEach((t, i) => {
        const first = i === 0
        const fn = first
          ? { name: c.name, arguments: t.text }
          : toolChoice._tag === "required"
          ? { name: null, arguments: t.text }
          : { arguments: t.text }
        steps.push({
          delta: {
            tool_calls: [
              first ? { id: calls[index]!.id, type: "function", index, function: fn } : { index, function: fn }
            ]
          },
          token: t
        })
      })
    })
    // The EOS after a call is a control token: the finish rides on an empty delta.
    if (gen.eos) steps.push({ delta: {}, token: undefined })
  } else {
    for (const t of gen.content) steps.push({ delta: { content: t.special ? "" : t.text }, token: t })
  }
  const events: Array<string> = [
    chunk({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }, 0)
  ]
  const shown = failure === undefined ? steps : steps.slice(0, Math.min(failure.afterTokens, steps.length))
  shown.forEach(({ delta, token }, i) => {
    const last = failure === undefined && i === shown.length - 1
    const logprobs = withLogprobs && token !== undefined && !token.special ? { content: [logprob(token)] } : null
    events.push(chunk(
      last
        ? { index: 0, delta, logprobs, finish_reason: finish, stop_reason: stopReason }
        : { index: 0, delta, logprobs, finish_reason: null },
      last ? gen.generatedTokens - produced : 1
    ))
  })
  if (failure !== undefined) {
    events.push(D.sseSpaced(errorBody(generationMessage(failure))), done)
    return D.chunks("text/event-stream", events)
  }
  if (want.final) {
    events.push(D.sseSpaced({ id, object: "chat.completion.chunk", created, model, choices: [], usage }))
  }
  events.push(done)
  return D.chunks("text/event-stream", events)
}

// ---------------------------------------------------------------------------------------------
// Completions
// ---------------------------------------------------------------------------------------------

const isPrompt = (u: unknown): boolean =>
  typeof u === "string" || (Array.isArray(u) && u.length > 0 && u.every((s) => typeof s === "string"))

const completionRequest = (body: ChatBody): ReadonlyArray<string> | undefined => {
  if (!isPrompt(body["prompt"]) || !streamOptionsOk(body)) return undefined
  if (!isOptional(body["stop"], isStop) || !isOptional(body["max_tokens"], isInt) || !isOptional(body["seed"], isInt)) {
    return undefined
  }
  const p = body["prompt"]
  return typeof p === "string" ? [p] : p as ReadonlyArray<string>
}

const completions = (ctx: D.Context, body: ChatBody, prompts: ReadonlyArray<string>): ModelResponse => {
  const streaming = body["stream"] === true
  const id = `cmpl-${requestId(ctx)}`
  const created = D.seconds(ctx.nowMillis)
  const model = ctx.request.endpointName
  const failure = ctx.failure
  const results: Array<{ readonly g: Model.Generation; readonly tokens: ReadonlyArray<Model.Token> }> = []
  for (const prompt of prompts) {
    // `CompletionRequest.max_tokens` defaults to 16.
    const params = D.readParams({ max_tokens: body["max_tokens"] ?? 16, stop: body["stop"], seed: body["seed"] }, {
      maxKey: "max_tokens",
      inputTokens: Model.countWords(prompt),
      maxStop: undefined,
      positiveTemperature: false,
      openTopP: false
    })
    if (typeof params === "string") return error(params)
    const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
    results.push({ g, tokens: Model.cutAtStop(g) })
  }
  const usageOf = (rs: typeof results) => {
    const prompt = rs.reduce((n, r) => n + r.g.inputTokens, 0)
    const completion = rs.reduce((n, r) => n + r.g.generatedTokens, 0)
    return { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion }
  }
  if (!streaming) {
    if (failure !== undefined) return error(generationMessage(failure), "InternalServerError", 500)
    return D.json(200, {
      id,
      object: "text_completion",
      created,
      model,
      choices: results.map((r, index) => ({
        index,
        text: D.joined(r.tokens),
        logprobs: null,
        finish_reason: finishOf(r.g.finishReason),
        stop_reason: r.g.stop?.sequence ?? null,
        prompt_logprobs: null
      })),
      service_tier: null,
      system_fingerprint: null,
      usage: { ...usageOf(results), prompt_tokens_details: null },
      kv_transfer_params: null
    })
  }
  // Streamed with `model_dump_json(exclude_unset=False)`: every field, `usage: null` included.
  const events: Array<string> = []
  results.forEach((r, index) => {
    r.tokens.forEach((t, i) => {
      const last = i === r.tokens.length - 1
      events.push(D.sseSpaced({
        id,
        object: "text_completion",
        created,
        model,
        choices: [{
          index,
          text: t.special ? "" : t.text,
          logprobs: null,
          finish_reason: last ? finishOf(r.g.finishReason) : null,
          stop_reason: last ? r.g.stop?.sequence ?? null : null
        }],
        usage: null
      }))
    })
  })
  if (failure !== undefined) {
    return D.chunks("text/event-stream", [
      ...events.slice(0, failure.afterTokens),
      D.sseSpaced(errorBody(generationMessage(failure))),
      done
    ])
  }
  if (usageWanted(body).final) {
    events.push(D.sseSpaced({ id, object: "text_completion", created, model, choices: [], usage: usageOf(results) }))
  }
  return D.chunks("text/event-stream", [...events, done])
}

/**
 * Answers as vLLM's `/invocations` does.
 *
 * @internal
 */
export const respond = (ctx: D.Context): ModelResponse => {
  const request = ctx.request
  // `validate_json_request`, answered by vLLM's handler of `RequestValidationError`.
  if ((request.contentType ?? "").toLowerCase().split(";")[0]!.trim() !== "application/json") {
    return error("[\"Unsupported Media Type: Only 'application/json' is allowed\"]", "Bad Request")
  }
  const body = request.json
  if (body === undefined) {
    return error("JSON decode error: Expecting value: line 1 column 1 (char 0)", "Bad Request")
  }
  if (!D.isRecord(body)) return noHandler()
  const asChat = chatRequest(body)
  const prompts = asChat === undefined ? completionRequest(body) : undefined
  if (asChat === undefined && prompts === undefined) return noHandler()
  // `_check_model`: only the served model (the endpoint) is known.
  const model = body["model"]
  if (typeof model === "string" && model !== request.endpointName) {
    return error(`The model \`${model}\` does not exist.`, "NotFoundError", 404, "model")
  }
  return asChat !== undefined ? chat(ctx, body, asChat) : completions(ctx, body, prompts!)
}
