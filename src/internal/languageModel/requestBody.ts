/**
 * The request body of one call, by dialect: `{messages, tools, tool_choice, response_format,
 * ...sampling, ...extraBody}` for the chat dialects, `{inputs, parameters}` with the rendered chat
 * template for `text-generation` (temperature 0 there is `do_sample: false`, as TGI refuses a zero
 * temperature). Whatever cannot be sent is refused with `MalformedInput` before the request.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Either from "effect/Either"
import * as Validation from "../policy/validation.js"
import type { ChatTemplateFunction, TemplateMessage } from "./chatTemplates.js"
import type { ConfigService } from "./config.js"
import { samplingFields } from "./config.js"
import type { Dialect, DialectFacts, StructuredOutput } from "./dialects.js"
import { malformedInput } from "./errors.js"
import * as Prompt from "./prompt.js"
import * as StructuredOutputs from "./structuredOutput.js"
import * as Tools from "./tools.js"

type Json = Record<string, unknown>

export interface RequestSettings {
  readonly dialect: Dialect
  readonly facts: DialectFacts
  readonly chatTemplate: ChatTemplateFunction | undefined
  /** The strategy for JSON output; the dialect's default unless the options chose one. */
  readonly structuredOutput: StructuredOutput
}

/** A request ready to send, with what reading its answer needs. */
export interface PreparedRequest {
  readonly body: Uint8Array
  /** The forced tool of the `tool` strategy: its call is the JSON answer. */
  readonly responseTool: string | undefined
  /** The `prompt` strategy asked for JSON in words: a code fence around it is dropped. */
  readonly instructed: boolean
  /** The rendered prompt of the text-generation dialect, dropped from an answer that repeats it. */
  readonly renderedPrompt: string | undefined
}

/** What of a call's provider options the body is made of. */
export type CallOptions = Pick<LanguageModel.ProviderOptions, "prompt" | "tools" | "toolChoice" | "responseFormat">

const encoder = new TextEncoder()

const record = (u: unknown): Json | undefined =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? u as Json : undefined

const encode = (method: string, body: Json): Either.Either<Uint8Array, AiError.MalformedInput> => {
  const bytes = encoder.encode(JSON.stringify(body))
  const size = Validation.checkBodySize(bytes)
  return Either.isLeft(size) ? Either.left(malformedInput(method, size.left.rule)) : Either.right(bytes)
}

const chatBody = (
  method: string,
  settings: RequestSettings,
  options: CallOptions,
  config: ConfigService,
  stream: boolean
): Either.Either<PreparedRequest, AiError.MalformedInput> =>
  Either.gen(function*() {
    let messages = yield* Prompt.toChatMessages(method, options.prompt, settings.facts)
    let { toolChoice, tools } = yield* Tools.prepareTools(method, options, settings.facts)
    const format = StructuredOutputs.jsonFormatOf(options.responseFormat)
    let responseFormat: Json | undefined
    let responseTool: string | undefined
    let instructed = false
    if (format !== undefined) {
      const part = StructuredOutputs.forChat(settings.structuredOutput, settings.dialect, format)
      if (part.responseFormat !== undefined) {
        if (tools !== undefined && settings.facts.grammarExcludesTools) {
          return yield* Either.left(malformedInput(
            method,
            "TGI refuses a response format together with tools: call generateObject without a toolkit, " +
              "or choose structuredOutput \"tool\""
          ))
        }
        responseFormat = part.responseFormat
      }
      if (part.tool !== undefined) {
        tools = [...(tools ?? []), part.tool.definition]
        toolChoice = part.tool.choice
        responseTool = format.name
      }
      if (part.instruction !== undefined) {
        messages = StructuredOutputs.withInstruction(messages, part.instruction, (content) => ({
          role: "system",
          content
        }))
        instructed = true
      }
    }
    const extra = config.extraBody ?? {}
    const body: Json = { messages, ...samplingFields(config), ...extra }
    if (tools !== undefined) {
      body.tools = tools
      body.tool_choice = toolChoice
    }
    if (responseFormat !== undefined) body.response_format = responseFormat
    if (stream) {
      body.stream = true
      body.stream_options = { include_usage: true, ...record(extra.stream_options) }
    }
    return { body: yield* encode(method, body), responseTool, instructed, renderedPrompt: undefined }
  })

/** The sampling fields as a text-generation container's `parameters`. */
const generationParameters = (config: ConfigService): Json => {
  const parameters: Json = {}
  if (config.max_tokens !== undefined) parameters.max_new_tokens = config.max_tokens
  if (config.temperature !== undefined) {
    // TGI refuses a temperature of 0: greedy decoding is `do_sample: false`.
    if (config.temperature === 0) parameters.do_sample = false
    else parameters.temperature = config.temperature
  }
  // TGI's generate route wants 0 < top_p < 1; 1 means no nucleus sampling at all.
  if (config.top_p !== undefined && config.top_p < 1) parameters.top_p = config.top_p
  if (config.stop !== undefined) parameters.stop = typeof config.stop === "string" ? [config.stop] : config.stop
  if (config.seed !== undefined) parameters.seed = config.seed
  if (config.frequency_penalty !== undefined) parameters.frequency_penalty = config.frequency_penalty
  if (config.presence_penalty !== undefined) parameters.presence_penalty = config.presence_penalty
  return parameters
}

const textGenerationBody = (
  method: string,
  settings: RequestSettings,
  options: CallOptions,
  config: ConfigService,
  stream: boolean
): Either.Either<PreparedRequest, AiError.MalformedInput> =>
  Either.gen(function*() {
    if (options.tools.length > 0 && options.toolChoice !== "none") {
      return yield* Either.left(malformedInput(
        method,
        "the text-generation dialect has no tools: use a chat dialect (openai, tgi, lmi) for tool calling"
      ))
    }
    let turns = yield* Prompt.toTemplateMessages(method, options.prompt)
    const format = StructuredOutputs.jsonFormatOf(options.responseFormat)
    let grammar: Json | undefined
    let instructed = false
    if (format !== undefined) {
      if (settings.structuredOutput === "grammar") {
        grammar = StructuredOutputs.generateGrammar(format)
      } else {
        turns = StructuredOutputs.withInstruction<TemplateMessage>(
          turns,
          StructuredOutputs.instruction(format),
          (content) => ({ role: "system", content })
        )
        instructed = true
      }
    }
    let inputs: unknown
    try {
      inputs = settings.chatTemplate!(turns)
    } catch (error) {
      return yield* Either.left(malformedInput(
        method,
        `the chat template threw: ${error instanceof Error ? error.message : String(error)}`
      ))
    }
    if (typeof inputs !== "string") {
      return yield* Either.left(malformedInput(method, `the chat template returned ${typeof inputs}, not a string`))
    }
    const { parameters: extraParameters, ...extra } = config.extraBody ?? {}
    const parameters: Json = {
      ...generationParameters(config),
      // The answer without the prompt, and the finish reason and token counts with it.
      return_full_text: false,
      details: true,
      ...(grammar === undefined ? {} : { grammar }),
      ...record(extraParameters)
    }
    const body: Json = { ...extra, inputs, parameters }
    if (stream) body.stream = true
    return { body: yield* encode(method, body), responseTool: undefined, instructed, renderedPrompt: inputs }
  })

export const build = (
  method: string,
  settings: RequestSettings,
  options: CallOptions,
  config: ConfigService,
  stream: boolean
): Either.Either<PreparedRequest, AiError.MalformedInput> =>
  settings.facts.chat
    ? chatBody(method, settings, options, config, stream)
    : textGenerationBody(method, settings, options, config, stream)
