/**
 * The chat features of the deterministic model, shared by every chat dialect: reading a chat
 * request's messages, tools, tool choice and response format, deciding what the model answers
 * (text, a JSON instance, tool calls) and generating the tokens of that answer, reasoning first when
 * the container parses reasoning. The rules are those of docs/emulator.md ("Chat features").
 *
 * @since 0.1.0
 * @internal
 */
import * as Model from "./model.js"
import * as Schema from "./schema.js"

/** @internal */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** A tool call found in the conversation (an assistant message's `tool_calls`). @internal */
export interface HistoryToolCall {
  readonly id: string | undefined
  readonly name: string
}

/** @internal */
export interface Message {
  readonly role: string
  readonly content: string
  readonly toolCalls: ReadonlyArray<HistoryToolCall>
}

/** @internal */
export interface Tool {
  readonly name: string
  readonly parameters: unknown
}

/** @internal */
export type ToolChoice =
  | { readonly _tag: "none" }
  | { readonly _tag: "auto" }
  | { readonly _tag: "required" }
  | { readonly _tag: "named"; readonly name: string }

/** The text of a message's `content`: a string, or the text parts of a list. @internal */
export const contentText = (content: unknown): string | undefined => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content.flatMap((p) => isRecord(p) && typeof p["text"] === "string" ? [p["text"]] : []).join("\n")
  }
  return undefined
}

/**
 * Reads `messages`. A message needs a `role` and a `content` (a string or a list of parts), except an
 * assistant message that carries `tool_calls` instead. Returns a reason on bad input.
 *
 * @internal
 */
export const readMessages = (raw: unknown): ReadonlyArray<Message> | string => {
  if (!Array.isArray(raw) || raw.length === 0) return "`messages` must be a non-empty list"
  const out: Array<Message> = []
  for (const m of raw) {
    if (!isRecord(m) || typeof m["role"] !== "string") return "every message needs a `role`"
    const calls = Array.isArray(m["tool_calls"]) ? m["tool_calls"] : []
    const toolCalls: Array<HistoryToolCall> = []
    for (const c of calls) {
      const fn = isRecord(c) ? c["function"] : undefined
      if (!isRecord(fn) || typeof fn["name"] !== "string") return "every tool call needs a `function.name`"
      toolCalls.push({ id: isRecord(c) && typeof c["id"] === "string" ? c["id"] : undefined, name: fn["name"] })
    }
    const content = contentText(m["content"])
    if (content === undefined && toolCalls.length === 0) {
      return "every message needs a `content` string or a list of text parts"
    }
    out.push({ role: m["role"], content: content ?? "", toolCalls })
  }
  return out
}

/** Reads `tools` (`[{type: "function", function: {name, parameters}}]`). @internal */
export const readTools = (raw: unknown): ReadonlyArray<Tool> | string => {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) return "`tools` must be a list"
  const out: Array<Tool> = []
  for (const t of raw) {
    const fn = isRecord(t) ? t["function"] : undefined
    if (!isRecord(fn) || typeof fn["name"] !== "string") return "every tool needs a `function.name`"
    // TGI names the schema `arguments` as well as `parameters`.
    out.push({ name: fn["name"], parameters: fn["parameters"] ?? fn["arguments"] ?? {} })
  }
  return out
}

/**
 * Reads `tool_choice`: `"none"`, `"auto"`, `"required"`, `{type: "function", function: {name}}`, or
 * (TGI only) a bare function name. Absent or null: `auto` when there are tools.
 *
 * @internal
 */
export const readToolChoice = (
  raw: unknown,
  tools: ReadonlyArray<Tool>,
  bareNames: boolean
): ToolChoice | string => {
  if (raw === undefined || raw === null) return tools.length > 0 ? { _tag: "auto" } : { _tag: "none" }
  if (raw === "none" || raw === "auto" || raw === "required") return { _tag: raw }
  if (typeof raw === "string") return bareNames ? { _tag: "named", name: raw } : `unknown tool_choice "${raw}"`
  const fn = isRecord(raw) ? raw["function"] : undefined
  if (isRecord(fn) && typeof fn["name"] === "string") return { _tag: "named", name: fn["name"] }
  return "`tool_choice` must be none, auto, required or {type: function, function: {name}}"
}

/** What the model answers. @internal */
export type Plan =
  | { readonly _tag: "Text"; readonly prompt: string; readonly prefix: string | undefined }
  | { readonly _tag: "Json"; readonly prompt: string; readonly text: string }
  | {
    readonly _tag: "ToolCalls"
    readonly prompt: string
    readonly calls: ReadonlyArray<{ readonly name: string; readonly arguments: string }>
  }

/** @internal */
export interface ChatView {
  readonly messages: ReadonlyArray<Message>
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
  /** The JSON Schema the content must follow, when a response format asks for JSON. */
  readonly responseSchema: unknown
  /** Whether the container can return several calls at once (TGI returns one). */
  readonly parallelToolCalls: boolean
}

const lastUser = (messages: ReadonlyArray<Message>): string =>
  [...messages].reverse().find((m) => m.role === "user")?.content ?? messages[messages.length - 1]!.content

// Arguments are always an object, as the servers' tool grammars force.
const argumentsOf = (tool: Tool): string => {
  const value = Schema.instanceOf(tool.parameters)
  return JSON.stringify(isRecord(value) ? value : {})
}

/** What `{"type": "json_object"}` (no schema) gets: an object with a short answer. @internal */
export const jsonObjectSchema = {
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"]
} as const

/**
 * The decision, in this order: a forced tool call (`required`: the first tool; a named function);
 * after a tool result, text quoting it (or JSON if a response format asks for it); under `auto`, a
 * call of every tool whose name the last user message contains; JSON for a response format; text.
 *
 * @internal
 */
export const plan = (view: ChatView): Plan => {
  const prompt = lastUser(view.messages)
  const call = (tools: ReadonlyArray<Tool>): Plan => ({
    _tag: "ToolCalls",
    prompt,
    calls: tools.map((t) => ({ name: t.name, arguments: argumentsOf(t) }))
  })
  const choice = view.toolChoice
  if (view.tools.length > 0 && choice._tag === "required") return call([view.tools[0]!])
  if (choice._tag === "named") {
    const tool = view.tools.find((t) => t.name === choice.name)
    if (tool !== undefined) return call([tool])
  }
  const json: Plan | undefined = view.responseSchema === undefined
    ? undefined
    : { _tag: "Json", prompt, text: JSON.stringify(Schema.instanceOf(view.responseSchema)) }
  const last = view.messages[view.messages.length - 1]!
  if (last.role === "tool") {
    return json ?? { _tag: "Text", prompt: last.content, prefix: `The tool returned "${last.content}".` }
  }
  if (choice._tag === "auto") {
    const said = prompt.toLowerCase()
    const named = view.tools.filter((t) => said.includes(t.name.toLowerCase()))
    if (named.length > 0) return call(view.parallelToolCalls ? named : [named[0]!])
  }
  return json ?? { _tag: "Text", prompt, prefix: undefined }
}

/** One tool call's part of the answer: its argument fragments as generated. @internal */
export interface CallTokens {
  readonly name: string
  /** The arguments as generated (cut short when the token budget ran out). */
  readonly arguments: string
  readonly tokens: ReadonlyArray<Model.Token>
}

/** The answer's tokens, split by what they carry. @internal */
export interface ChatGeneration {
  readonly reasoning: ReadonlyArray<Model.Token>
  /** Text or JSON content; empty for tool calls. */
  readonly content: ReadonlyArray<Model.Token>
  readonly calls: ReadonlyArray<CallTokens>
  /** The model ended on its own: the EOS token generated last. */
  readonly eos: boolean
  readonly finishReason: Model.FinishReason
  readonly stop: { readonly sequence: string; readonly start: number } | undefined
  /** Every generated token: reasoning, answer and EOS. */
  readonly generatedTokens: number
  readonly promptTokens: number
}

/** @internal */
export interface GenerateOptions {
  readonly maxTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
  readonly reasoning: boolean
  /** vLLM drops the stop sequence from the text; TGI and LMI keep the whole token. */
  readonly cutStop: boolean
}

/** A chat answer starts with its first word, not with the space a continuation token carries. */
const trimFirst = (tokens: ReadonlyArray<Model.Token>): ReadonlyArray<Model.Token> =>
  tokens.length === 0 ? tokens : [{ ...tokens[0]!, text: tokens[0]!.text.trimStart() }, ...tokens.slice(1)]

const reasoningLead = (prompt: string): string => {
  const word = prompt.match(/[\p{L}][\p{L}\p{N}'-]{3,}/u)?.[0] ?? "this"
  return `Let me think about ${word}.`
}

/**
 * The tokens of `plan`'s answer under the token budget, reasoning (one sentence) first when asked.
 * Tool-call arguments are generated as JSON text, one call after the other.
 *
 * @internal
 */
export const generate = (
  plan: Plan,
  messages: ReadonlyArray<Message>,
  options: GenerateOptions
): ChatGeneration => {
  const promptTokens = messages.reduce((n, m) => n + Model.countWords(m.content), 0)
  let budget = options.maxTokens
  let reasoning: ReadonlyArray<Model.Token> = []
  if (options.reasoning) {
    const r = Model.generate({
      prompt: plan.prompt,
      maxNewTokens: undefined,
      stop: [],
      seed: options.seed,
      prefix: reasoningLead(plan.prompt),
      sentences: 1,
      salt: "reasoning"
    })
    reasoning = trimFirst(r.tokens.filter((t) => !t.special))
    if (budget !== undefined && reasoning.length > budget) reasoning = reasoning.slice(0, budget)
    if (budget !== undefined) budget -= reasoning.length
    if (budget !== undefined && budget <= 0) {
      return {
        reasoning,
        content: [],
        calls: [],
        eos: false,
        finishReason: "length",
        stop: undefined,
        generatedTokens: reasoning.length,
        promptTokens
      }
    }
  }
  const done = (
    g: Model.Generation,
    content: ReadonlyArray<Model.Token>,
    calls: ReadonlyArray<CallTokens>
  ): ChatGeneration => ({
    reasoning,
    content,
    calls,
    eos: g.finishReason === "eos_token",
    finishReason: g.finishReason,
    stop: g.stop,
    generatedTokens: reasoning.length + g.generatedTokens,
    promptTokens
  })
  switch (plan._tag) {
    case "Text": {
      const g = Model.generate({
        prompt: plan.prompt,
        maxNewTokens: budget,
        stop: options.stop,
        seed: options.seed,
        prefix: plan.prefix
      })
      return done(g, trimFirst(options.cutStop ? Model.cutAtStop(g) : g.tokens), [])
    }
    case "Json": {
      const g = Model.generate({
        prompt: plan.prompt,
        maxNewTokens: budget,
        stop: [],
        seed: options.seed,
        text: plan.text
      })
      return done(g, g.tokens, [])
    }
    case "ToolCalls": {
      const all = plan.calls.map((c) => c.arguments).join("")
      const g = Model.generate({ prompt: plan.prompt, maxNewTokens: budget, stop: [], seed: options.seed, text: all })
      const pieces = g.tokens.filter((t) => !t.special)
      const calls: Array<CallTokens> = []
      let at = 0
      let offset = 0
      for (const c of plan.calls) {
        const end = offset + c.arguments.length
        const tokens: Array<Model.Token> = []
        while (at < pieces.length && offset < end) {
          tokens.push(pieces[at]!)
          offset += pieces[at]!.text.length
          at++
        }
        // Pieces never straddle two calls: each call's JSON ends with "}" or "]", a piece of its own.
        if (tokens.length > 0 || calls.length === 0) {
          calls.push({ name: c.name, arguments: tokens.map((t) => t.text).join(""), tokens })
        }
        offset = end
        if (at >= pieces.length) break
      }
      return done(g, [], calls)
    }
  }
}

/**
 * The answer to a chat request: its plan (under `tool_choice: "none"` no tool is offered) and
 * that plan's tokens.
 *
 * @internal
 */
export const answer = (view: ChatView, options: GenerateOptions): ChatGeneration =>
  generate(plan({ ...view, tools: view.toolChoice._tag === "none" ? [] : view.tools }), view.messages, options)

/**
 * The JSON Schema an OpenAI-style `response_format` asks for (`json_object`: an object with a
 * short answer; `json_schema`: its `schema`), as vLLM and LMI read it.
 *
 * @internal
 */
export const openaiResponseSchema = (format: unknown): unknown => {
  if (typeof format !== "object" || format === null || Array.isArray(format)) return undefined
  const record = format as Record<string, unknown>
  if (record["type"] === "json_object") return jsonObjectSchema
  const spec = record["json_schema"]
  if (record["type"] !== "json_schema" || typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    return undefined
  }
  return (spec as Record<string, unknown>)["schema"] ?? {}
}
