/**
 * Structured output (`generateObject`): what a JSON response format adds to the request under each
 * strategy, and how the JSON comes back as the one text part `@effect/ai` decodes.
 *
 * | strategy | request | the JSON comes back as |
 * |---|---|---|
 * | `json_schema` | `response_format: {type: "json_schema", json_schema: {name, description, schema}}` (TGI: `{type: "json_schema", value: {name, schema}}`) | the content |
 * | `grammar` | TGI's `{type: "json", value: schema}`: `response_format`, or `parameters.grammar` on the generate route | the content |
 * | `tool` | a tool named after the object, with the schema as parameters, forced by `tool_choice` | that tool call's arguments |
 * | `prompt` | a system instruction with the schema | the text, without a Markdown code fence around it |
 *
 * @since 0.1.0
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import type { Dialect, StructuredOutput } from "./dialects.js"
import { functionTool, namedChoice } from "./tools.js"

type Json = Record<string, unknown>

/** A JSON response format, its schema as JSON Schema. */
export interface JsonFormat {
  readonly name: string
  readonly description: string
  readonly schema: unknown
}

export const jsonFormatOf = (format: LanguageModel.ProviderOptions["responseFormat"]): JsonFormat | undefined => {
  if (format.type !== "json") return undefined
  return {
    name: toolName(format.objectName),
    description: Tool.getDescriptionFromSchemaAst(format.schema.ast) ?? "Respond with a JSON object",
    schema: Tool.getJsonSchemaFromSchemaAst(format.schema.ast)
  }
}

/** Function names are `^[a-zA-Z0-9_-]{1,64}$` on the OpenAI API; vLLM and TGI take what OpenAI takes. */
const toolName = (objectName: string): string => {
  const cleaned = objectName.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64)
  return cleaned.length === 0 ? "generateObject" : cleaned
}

/** What the strategy adds to a chat request. */
export interface ChatRequestPart {
  readonly responseFormat?: Json | undefined
  /** The forced tool, and the choice that forces it. */
  readonly tool?: { readonly definition: Json; readonly choice: Json } | undefined
  /** A system instruction to add. */
  readonly instruction?: string | undefined
}

export const instruction = (format: JsonFormat): string =>
  `Respond with a single JSON object and nothing else: no explanation and no code fence. ` +
  `It must conform to this JSON Schema:\n${JSON.stringify(format.schema)}`

export const forChat = (strategy: StructuredOutput, dialect: Dialect, format: JsonFormat): ChatRequestPart => {
  switch (strategy) {
    case "json_schema":
      return {
        responseFormat: dialect === "tgi"
          ? { type: "json_schema", value: { name: format.name, schema: format.schema } }
          : {
            type: "json_schema",
            json_schema: { name: format.name, description: format.description, schema: format.schema }
          }
      }
    case "grammar":
      return { responseFormat: { type: "json", value: format.schema } }
    case "tool":
      return {
        tool: {
          definition: functionTool(format.name, format.description, format.schema),
          choice: namedChoice(format.name)
        }
      }
    case "prompt":
      return { instruction: instruction(format) }
  }
}

/** TGI's generate route takes the grammar among its parameters. */
export const generateGrammar = (format: JsonFormat): Json => ({ type: "json", value: format.schema })

/**
 * The JSON of a `prompt`-strategy answer: a model told not to may still wrap it in a Markdown code
 * fence; the fence is dropped, anything else is left for the schema to judge.
 */
export const unfence = (text: string): string => {
  const fenced = /^\s*```[a-zA-Z0-9_-]*\s*\n([\s\S]*?)\n?\s*```\s*$/.exec(text)
  return fenced === null ? text : fenced[1]!
}

/** The system instruction of the `prompt` strategy, merged into the first system message. */
export const withInstruction = <M extends { readonly role?: unknown; readonly content?: unknown }>(
  messages: ReadonlyArray<M>,
  text: string,
  make: (content: string) => M
): Array<M> => {
  const first = messages[0]
  if (first !== undefined && first.role === "system" && typeof first.content === "string") {
    return [make(`${first.content}\n\n${text}`), ...messages.slice(1)]
  }
  return [make(text), ...messages]
}
