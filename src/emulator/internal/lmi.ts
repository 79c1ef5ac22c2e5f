/**
 * DJL Serving LMI with rolling batch (vLLM backend), as in deepjavalibrary/djl-serving @ d21927c4:
 * `engines/python/setup/djl_python/input_parser.py` (a body with `messages` is a chat request, else
 * `inputs` and `parameters`; a parse failure is answered 424), `output_formatter.py` (the `json`,
 * `jsonlines`, `sse`, `3p` and chat formatters), `request_io.py` (`Token.as_dict`),
 * `rolling_batch/rolling_batch.py` (a failed batch: 424 with a generic message) and
 * `rolling_batch/rolling_batch_vllm_utils.py` (vLLM's `stop` becomes `eos_token`; the EOS token is a
 * token with empty text), `chat_completions/vllm_chat_utils.py` (`tool_choice: "required"` refused;
 * `sse_chat` framing), and `engines/python/src/main/java/ai/djl/python/engine/Request.java` (an
 * error with a code becomes the status and the body `{"code", "error"}`).
 *
 * @since 0.1.0
 * @internal
 */
import type { ModelResponse } from "../SagemakerEmulator.js"
import * as Chat from "./chat.js"
import * as D from "./dialect.js"
import * as Model from "./model.js"

/** `Request.addResponse`: an error with a status code answers `{"code", "error"}` with that status. */
const coded = (code: number, error: string): ModelResponse => D.json(code, { code, error })

const parseFailed = (reason: string): ModelResponse =>
  coded(424, `Input Parsing failed. Ensure that the request payload is valid. ${reason}`)

/** `stop_on_any_exception`: what every request of a failed rolling batch is told. */
const batchFailure = "exception occurred during rolling batch inference"

/** Python's `repr` of a parsed JSON value, as LMI's messages quote the payload. */
const pyRepr = (u: unknown): string => {
  if (u === null || u === undefined) return "None"
  if (u === true) return "True"
  if (u === false) return "False"
  if (typeof u === "number") return String(u)
  if (typeof u === "string") return `'${u.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
  if (Array.isArray(u)) return `[${u.map(pyRepr).join(", ")}]`
  return `{${Object.entries(u as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`
}

const pyType = (u: unknown): string =>
  `<class '${
    Array.isArray(u) ?
      "list" :
      u === null ?
      "NoneType" :
      typeof u === "number" ?
      (Number.isInteger(u) ? "int" : "float") :
      typeof u === "boolean" ?
      "bool" :
      typeof u === "object" ?
      "dict" :
      "str"
  }'>`

/** vLLM's `stop` (EOS or a stop string) is LMI's `eos_token`. */
const finishOf = (reason: Model.FinishReason): string => reason === "length" ? "length" : "eos_token"

/** The EOS token as LMI gets it from vLLM: an ordinary token with empty text. */
const lmiToken = (t: Model.Token): Model.Token => t.special ? { ...t, text: "", special: false } : t

/** `Token.as_dict`. */
const tokenDict = (t: Model.Token) => ({ id: t.id, text: t.text, log_prob: t.logprob })

/** The token a failed rolling batch appends (`stop_on_any_exception`). */
const errorToken = (message: string) => ({
  id: -1,
  text: "",
  log_prob: -1,
  special_token: true,
  error_msg: message
})

const formatters = ["json", "jsonlines", "sse", "3p", "3p_stream"] as const
type Formatter = typeof formatters[number]

const contentTypes: Record<Formatter, string> = {
  json: "application/json",
  jsonlines: "application/jsonlines",
  sse: "text/event-stream",
  "3p": "application/json",
  "3p_stream": "application/jsonlines"
}

// ---------------------------------------------------------------------------------------------
// Text generation (`inputs`)
// ---------------------------------------------------------------------------------------------

const generate = (ctx: D.Context, body: Record<string, unknown>): ModelResponse => {
  // `parse_lmi_default_request_rolling_batch`
  const inputs = body["inputs"]
  if (inputs === undefined || inputs === null) {
    return parseFailed(
      `Invalid request payload. Request payload should be a json object specifying the 'inputs' field. Received payload ${
        pyRepr(body)
      }`
    )
  }
  if (typeof inputs !== "string") {
    return parseFailed(`Invalid request payload. The 'inputs' field must be a string. Received type ${pyType(inputs)}`)
  }
  if (inputs.length === 0) {
    return parseFailed(
      `Invalid request payload. The 'inputs' field does not contain any content. Received payload ${pyRepr(body)}`
    )
  }
  const parameters = body["parameters"] ?? {}
  if (!D.isRecord(parameters)) {
    return parseFailed(
      `Invalid request payload. 'parameters' must be provided as an object of key-value pairs. Received payload ${
        pyRepr(body)
      }`
    )
  }
  const streaming = body["stream"] === true
  const params = D.readParams(parameters, {
    maxKey: "max_new_tokens",
    inputTokens: Model.countWords(inputs),
    maxStop: undefined,
    positiveTemperature: false,
    openTopP: false
  })
  // vLLM's SamplingParams refuse the values inside the rolling batch, which fails as a whole.
  if (typeof params === "string") return coded(424, batchFailure)
  const asked = parameters["output_formatter"]
  const formatter: Formatter = typeof asked === "string" && (formatters as ReadonlyArray<string>).includes(asked)
    ? asked as Formatter
    : streaming
    ? "jsonlines"
    : "json"

  const g = Model.generate({ prompt: inputs, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
  const all = g.tokens.map(lmiToken)
  const failure = ctx.failure
  const message = failure?.message ?? batchFailure
  const tokens = D.before(all, failure)
  const prefix = params.returnFullText === true ? inputs : ""
  const generatedText = prefix + D.joined(tokens)
  const finish = failure === undefined ? finishOf(g.finishReason) : "error"
  const details = (withTokens: boolean) => ({
    finish_reason: finish,
    generated_tokens: tokens.length + (failure === undefined ? 0 : 1),
    inputs,
    ...(withTokens ? { tokens: tokens.map(tokenDict) } : {})
  })
  // `get_details_dict`: details when asked, else only an error's finish reason.
  const detailsOf = (withTokens: boolean) =>
    params.details ? details(withTokens) : failure !== undefined ? { finish_reason: "error" } : undefined

  if (failure?.lmi === "http-424" && (!streaming || tokens.length === 0)) return coded(424, message)
  const respond = (chunks: ReadonlyArray<string>): ModelResponse =>
    streaming
      ? D.chunks(contentTypes[formatter], chunks)
      : { status: 200, contentType: contentTypes[formatter], body: chunks.join("") }

  switch (formatter) {
    case "json": {
      if (failure?.lmi === "null-text") {
        return D.json(200, { generated_text: null, error: message, code: 400, details: detailsOf(true) })
      }
      const d = detailsOf(true)
      return respond([JSON.stringify(
        d === undefined ? { generated_text: generatedText } : {
          generated_text: generatedText,
          details: d
        }
      )])
    }
    case "3p":
    case "3p_stream":
      return respond(threeP(formatter, tokens, g, inputs, prefix, failure, message))
    default: {
      const frame = formatter === "sse" ? (line: string) => `data: ${line}\n` : (line: string) => line
      const lines = tokens.map((t, i) => {
        const last = failure === undefined && i === tokens.length - 1
        if (!last) return frame(D.jsonLine({ token: tokenDict(t) }))
        const d = detailsOf(false)
        return frame(D.jsonLine({
          token: tokenDict(t),
          generated_text: generatedText,
          ...(d === undefined ? {} : { details: d })
        }))
      })
      if (failure === undefined) return respond(lines)
      if (failure.lmi === "http-424") return respond([...lines, JSON.stringify({ code: 424, error: message })])
      return respond([
        ...lines,
        frame(D.jsonLine({ token: errorToken(message), generated_text: generatedText, details: detailsOf(false) }))
      ])
    }
  }
}

/** `_json_3p_output_formatter` and `_jsonlines_3p_output_formatter` (Bedrock-style bodies). */
const threeP = (
  formatter: "3p" | "3p_stream",
  tokens: ReadonlyArray<Model.Token>,
  g: Model.Generation,
  inputs: string,
  prefix: string,
  failure: D.Failure | undefined,
  message: string
): ReadonlyArray<string> => {
  const promptTokens = Model.countWords(inputs)
  const finish = failure === undefined ? finishOf(g.finishReason) : "error"
  if (formatter === "3p") {
    const generated = tokens.length
    return [JSON.stringify({
      body: failure === undefined
        ? {
          generation: prefix + D.joined(tokens),
          prompt_token_count: promptTokens,
          generation_token_count: generated,
          stop_reason: finish
        }
        : { generation: null, prompt_token_count: 0, generation_token_count: 0, stop_reason: "error" },
      metering: { inputTokenCount: promptTokens, outputTokenCount: generated },
      content_type: "application/json",
      ...(failure === undefined ? {} : { error: { error: { error_code: 400, error_msg: message } } })
    })]
  }
  const shown = failure === undefined ? tokens : [...tokens, { id: -1, text: "", logprob: -1, special: true }]
  return shown.map((t, i) => {
    const first = i === 0
    const last = i === shown.length - 1
    return D.jsonLine({
      body: {
        generation: t.text,
        prompt_token_count: first ? promptTokens : null,
        generation_token_count: i + 1,
        stop_reason: last ? finish : null
      },
      metering: { outputTokenCount: i + 1, ...(first ? { inputTokenCount: promptTokens } : {}) },
      content_type: "application/jsonlines",
      ...(last && failure !== undefined ? { error: { error_code: 400, error_msg: message } } : {})
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Chat completions (`messages`)
// ---------------------------------------------------------------------------------------------

/** LMI's ids are `id(request_output)`, a CPython address. */
const objectId = (seed: string): string => `1403${Model.hash32(seed).toString().padStart(10, "0")}`

/** `bytes` of LMI's logprobs: the code points of the token text (`[ord(c) for c in text]`). */
const codePoints = (s: string): ReadonlyArray<number> | null =>
  s.length === 0 ? null : Array.from(s, (c) => c.codePointAt(0)!)

const chat = (ctx: D.Context, body: Record<string, unknown>): ModelResponse => {
  const messages = Chat.readMessages(body["messages"])
  if (typeof messages === "string") return parseFailed(`1 validation error for ChatCompletionRequest: ${messages}`)
  const tools = Chat.readTools(body["tools"])
  if (typeof tools === "string") return parseFailed(`1 validation error for ChatCompletionRequest: ${tools}`)
  const toolChoice = Chat.readToolChoice(body["tool_choice"], tools, false)
  if (typeof toolChoice === "string") return parseFailed(`1 validation error for ChatCompletionRequest: ${toolChoice}`)
  if (toolChoice._tag === "required") return parseFailed("tool_choice = \"required\" is not supported!")
  if (toolChoice._tag === "named" && !tools.some((t) => t.name === toolChoice.name)) {
    return parseFailed(`Tool '${toolChoice.name}' has not been passed in \`tools\`.`)
  }
  const streaming = body["stream"] === true
  const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
  const params = D.readParams({
    max_tokens: body["max_tokens"] ?? body["max_completion_tokens"],
    stop: body["stop"],
    seed: body["seed"]
  }, {
    maxKey: "max_tokens",
    inputTokens: promptTokens,
    maxStop: undefined,
    positiveTemperature: false,
    openTopP: false
  })
  if (typeof params === "string") return coded(424, batchFailure)
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
    cutStop: false
  })
  const failure = ctx.failure
  const message = failure?.message ?? batchFailure
  const id = `chatcmpl-${objectId(`${ctx.request.endpointName}:${ctx.request.text}:${ctx.nowMillis}`)}`
  const created = D.seconds(ctx.nowMillis)
  const named = toolChoice._tag === "named"
  const auto = gen.calls.length > 0 && !named
  const finish = failure !== undefined ? "error" : auto ? "tool_calls" : finishOf(gen.finishReason)
  const withLogprobs = body["logprobs"] === true
  const answerTokens = gen.calls.length > 0
    ? gen.calls.flatMap((c) => c.tokens)
    : gen.content.map(lmiToken)
  const eos = gen.eos ? [lmiToken(Model.eosToken)] : []
  // With a reasoning parser the formatter never looks for tool calls: the call's text is content.
  const asContent = reasoning && gen.calls.length > 0

  if (failure?.lmi === "http-424" && (!streaming || failure.afterTokens === 0)) return coded(424, message)

  if (!streaming) {
    const reasoningText = D.joined(gen.reasoning)
    const shown = D.before([...gen.reasoning, ...answerTokens, ...(gen.calls.length > 0 ? eos : [])], failure)
    const content = D.joined(D.before(answerTokens, failure))
    let messageBody: Record<string, unknown>
    if (gen.calls.length > 0 && !asContent) {
      const calls = gen.calls.map((c, i) => ({
        id: `chatcmpl-tool-${objectId(`${id}:${i}`)}`,
        type: "function",
        function: { name: c.name, arguments: c.arguments }
      }))
      messageBody = named
        ? { role: "assistant", content: "", tool_calls: calls }
        : { role: "assistant", content: null, tool_calls: calls }
    } else if (reasoning && reasoningText.length > 0) {
      messageBody = { role: "assistant", reasoning_content: reasoningText, content }
    } else {
      messageBody = { role: "assistant", content }
    }
    const logprobs = withLogprobs
      ? {
        content: shown.map((t) => {
          const b = codePoints(t.text)
          return {
            token: t.text,
            logprob: t.logprob,
            bytes: b,
            top_logprobs: [{ token: t.text, logprob: t.logprob, bytes: b }]
          }
        })
      }
      : null
    return D.json(200, {
      id,
      object: "chat.completion",
      created,
      choices: [{ index: 0, message: messageBody, logprobs, finish_reason: finish }],
      usage: {
        prompt_tokens: gen.promptTokens,
        completion_tokens: gen.generatedTokens,
        total_tokens: gen.promptTokens + gen.generatedTokens
      }
    })
  }

  // `_jsonlines_chat_output_formatter`: one line per token, `role` on the first, the finish reason
  // on the last; logprobs as a one-element list (a stray tuple in the formatter).
  const deltas: Array<{ readonly delta: Record<string, unknown>; readonly token: Model.Token }> = []
  for (const t of gen.reasoning) deltas.push({ delta: { reasoning_content: t.text }, token: t })
  if (gen.calls.length > 0 && !asContent) {
    gen.calls.forEach((c, index) => {
      if (!named) {
        deltas.push({
          delta: {
            tool_calls: [{
              id: `chatcmpl-tool-${objectId(`${id}:${index}`)}`,
              type: "function",
              index,
              function: { name: c.name }
            }]
          },
          token: c.tokens[0] ?? Model.eosToken
        })
      }
      for (const t of c.tokens) {
        deltas.push({
          delta: {
            tool_calls: [
              named ? { index: 0, function: { name: c.name, arguments: t.text } } : {
                index,
                function: { arguments: t.text }
              }
            ]
          },
          token: t
        })
      }
    })
    if (named && gen.eos) {
      const t = lmiToken(Model.eosToken)
      deltas.push({
        delta: { tool_calls: [{ index: 0, function: { name: gen.calls[0]!.name, arguments: "" } }] },
        token: t
      })
    }
  } else {
    for (const t of [...answerTokens, ...(asContent ? eos : [])]) deltas.push({ delta: { content: t.text }, token: t })
  }
  const sent = failure === undefined ? deltas : deltas.slice(0, Math.min(failure.afterTokens, deltas.length))
  if (failure !== undefined && failure.lmi !== "http-424") {
    sent.push({ delta: { content: "" }, token: { id: -1, text: "", logprob: -1, special: true } })
  }
  const sse = ctx.container.lmiChatStream === "sse"
  const lines = sent.map(({ delta, token }, i) => {
    const last = i === sent.length - 1
    const b = codePoints(token.text)
    const line = D.jsonLine({
      id,
      object: "chat.completion.chunk",
      created,
      choices: [{
        index: 0,
        delta: i === 0 ? { ...delta, role: "assistant" } : delta,
        logprobs: withLogprobs
          ? [{
            content: [{
              token: token.text,
              logprob: token.logprob,
              bytes: b,
              top_logprobs: [{ token: token.logprob, logprob: token.logprob, bytes: b }]
            }]
          }]
          : null,
        finish_reason: last && !(failure?.lmi === "http-424") ? finish : null
      }]
    })
    // `_sse_chat_output_formatter` adds `data: [DONE]` to the chunk that carries the finish reason.
    return sse ? `data: ${line}\n${last && failure?.lmi !== "http-424" ? "data: [DONE]\n\n" : ""}` : line
  })
  const contentType = sse ? "text/event-stream" : "application/jsonlines"
  if (failure?.lmi === "http-424") {
    return D.chunks(contentType, [...lines, JSON.stringify({ code: 424, error: message })])
  }
  return D.chunks(contentType, lines)
}

/**
 * Answers as a rolling-batch LMI container does.
 *
 * @internal
 */
export const respond = (ctx: D.Context): ModelResponse => {
  const body = ctx.request.json
  // Python's `json.loads` on a body that is not JSON (or is empty).
  if (body === undefined) return parseFailed("Expecting value: line 1 column 1 (char 0)")
  if (!D.isRecord(body)) {
    return parseFailed(
      `Invalid request payload. Request payload should be a json object specifying the 'inputs' field. Received payload ${
        pyRepr(body)
      }`
    )
  }
  return "messages" in body ? chat(ctx, body) : generate(ctx, body)
}
