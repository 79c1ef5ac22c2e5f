/**
 * The dialects of the language model and what differs between them, one fact per field: the body
 * shape, how structured output can be asked for, and the quirks of each server's Messages API
 * (docs/containers.md has the wire formats).
 *
 * @since 0.1.0
 * @internal
 */

/** How the container is spoken to. */
export type Dialect = "openai" | "tgi" | "lmi" | "text-generation"

/** The dialects, the default first. */
export const dialects: ReadonlyArray<Dialect> = ["openai", "tgi", "lmi", "text-generation"]

/**
 * How `generateObject` asks for JSON:
 *
 * - `json_schema`: `response_format: {type: "json_schema", json_schema: {name, schema}}` (vLLM, LMI;
 *   on TGI its own `{type: "json_schema", value: {name, schema}}`);
 * - `grammar`: TGI's grammar, `{type: "json", value: schema}` (`response_format` of its Messages API,
 *   `parameters.grammar` of its generate route);
 * - `tool`: a tool whose parameters are the schema, forced with `tool_choice`;
 * - `prompt`: an instruction in the system message, the only way a plain text model has.
 */
export type StructuredOutput = "json_schema" | "grammar" | "tool" | "prompt"

export interface DialectFacts {
  /** `{messages, ...}` bodies; otherwise `{inputs, parameters}` with a chat template. */
  readonly chat: boolean
  /** The structured-output strategies the dialect has, the default first. */
  readonly structuredOutputs: ReadonlyArray<StructuredOutput>
  /**
   * TGI reads `function.arguments` of a tool call in the history as a JSON value: a string would
   * stay a string, so the arguments go as an object.
   */
  readonly toolArgumentsAsObject: boolean
  /**
   * TGI's message body is either `content` or `tool_calls` (an untagged enum tried in that order):
   * an assistant turn with both goes as two messages, or the tool calls would be dropped.
   */
  readonly toolCallsApartFromContent: boolean
  /** The assistant's reasoning is sent back as `reasoning_content` (TGI's messages have no such member). */
  readonly reasoningInHistory: boolean
  /** LMI refuses `tool_choice: "required"`: one tool is named instead, several are refused. */
  readonly requiredToolChoice: boolean
  /** A response format and tools in one request are refused by the server (TGI). */
  readonly grammarExcludesTools: boolean
}

export const facts: { readonly [D in Dialect]: DialectFacts } = {
  openai: {
    chat: true,
    structuredOutputs: ["json_schema", "tool", "prompt"],
    toolArgumentsAsObject: false,
    toolCallsApartFromContent: false,
    reasoningInHistory: true,
    requiredToolChoice: true,
    grammarExcludesTools: false
  },
  tgi: {
    chat: true,
    structuredOutputs: ["grammar", "json_schema", "tool", "prompt"],
    toolArgumentsAsObject: true,
    toolCallsApartFromContent: true,
    reasoningInHistory: false,
    requiredToolChoice: true,
    grammarExcludesTools: true
  },
  lmi: {
    chat: true,
    structuredOutputs: ["json_schema", "tool", "prompt"],
    toolArgumentsAsObject: false,
    toolCallsApartFromContent: false,
    reasoningInHistory: true,
    requiredToolChoice: false,
    grammarExcludesTools: false
  },
  "text-generation": {
    chat: false,
    structuredOutputs: ["prompt", "grammar"],
    toolArgumentsAsObject: false,
    toolCallsApartFromContent: false,
    reasoningInHistory: false,
    requiredToolChoice: false,
    grammarExcludesTools: false
  }
}

export const isDialect = (u: unknown): u is Dialect =>
  typeof u === "string" && (dialects as ReadonlyArray<string>).includes(u)
