/**
 * A call's tools and tool choice as the Messages API's `tools` and `tool_choice`:
 *
 * | `toolChoice` | request |
 * |---|---|
 * | `"none"`, or no tools | no `tools`, no `tool_choice` |
 * | `"auto"` | `tool_choice: "auto"` |
 * | `"required"` | `tool_choice: "required"` (LMI, which refuses it: the one tool named, several refused) |
 * | `{ tool }` | `tool_choice: {type: "function", function: {name}}` |
 * | `{ oneOf, mode }` | only those tools, `"auto"` or `"required"` as `mode` says |
 *
 * Provider-defined tools do not exist on SageMaker and are refused.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import type { DialectFacts } from "./dialects.js"
import { malformedInput } from "./errors.js"

type Json = Record<string, unknown>

export interface ChatTools {
  readonly tools: Array<Json> | undefined
  readonly toolChoice: unknown
}

export const NO_TOOLS: ChatTools = { tools: undefined, toolChoice: undefined }

/** A function tool definition. */
export const functionTool = (name: string, description: string | undefined, parameters: unknown): Json => ({
  type: "function",
  function: description === undefined ? { name, parameters } : { name, description, parameters }
})

export const namedChoice = (name: string): Json => ({ type: "function", function: { name } })

export const prepareTools = (
  method: string,
  options: Pick<LanguageModel.ProviderOptions, "tools" | "toolChoice">,
  dialect: DialectFacts
): Either.Either<ChatTools, AiError.MalformedInput> => {
  const choice = options.toolChoice
  if (options.tools.length === 0 || choice === "none") return Either.right(NO_TOOLS)
  const providerDefined = options.tools.find((tool) => Tool.isProviderDefined(tool))
  if (providerDefined !== undefined) {
    return Either.left(
      malformedInput(method, `the provider-defined tool '${providerDefined.name}' does not exist on SageMaker`)
    )
  }
  let selected = options.tools
  let mode: "auto" | "required" | { readonly name: string }
  if (choice === "auto" || choice === "required") {
    mode = choice
  } else if ("tool" in choice) {
    mode = { name: choice.tool }
  } else {
    const allowed = new Set<string>(choice.oneOf)
    selected = options.tools.filter((tool) => allowed.has(tool.name))
    mode = choice.mode === "required" ? "required" : "auto"
  }
  if (selected.length === 0) return Either.right(NO_TOOLS)
  if (mode === "required" && !dialect.requiredToolChoice) {
    if (selected.length > 1) {
      return Either.left(
        malformedInput(
          method,
          `LMI refuses tool_choice "required"; with one tool it is named instead, but ${selected.length} were given`
        )
      )
    }
    mode = { name: selected[0]!.name }
  }
  const tools = selected.map((tool) => {
    const ast = tool.parametersSchema.ast
    // `Tool.getDescription` and `getJsonSchema`, on the fields every tool has.
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(ast)
    return functionTool(tool.name, description, Tool.getJsonSchemaFromSchemaAst(ast))
  })
  return Either.right({ tools, toolChoice: typeof mode === "string" ? mode : namedChoice(mode.name) })
}
