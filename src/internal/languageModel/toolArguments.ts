/**
 * Tool-call arguments as the parameters of a `tool-call` part: JSON text parsed with `@effect/ai`'s
 * prototype-safe parser, failing with `MalformedOutput` that names the tool. Also TGI 2.x's streamed
 * tool call, whose arguments are the whole grammar output, `{"function": {"_name": …, …}}`, with no
 * name on any delta.
 *
 * @since 0.1.0
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import { malformedOutput } from "./errors.js"

const MAX_SHOWN = 500

const shown = (text: string): string => text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text

export const parseArguments = (
  method: string,
  toolName: string,
  text: string
): Either.Either<unknown, AiError.MalformedOutput> => {
  // A call without arguments (an empty string) is a call with none.
  if (text.trim().length === 0) return Either.right({})
  try {
    return Either.right(Tool.unsafeSecureJsonParse(text))
  } catch (cause) {
    return Either.left(malformedOutput(
      method,
      `the arguments of the call to tool '${toolName}' are not valid JSON: ${shown(text)}`,
      cause
    ))
  }
}

/** The special tokens a TGI 2.x grammar output may end with (`<|eot_id|>`, `</s>`). */
const trailingSpecialTokens = /(?:<\|[a-z_]+\|>|<\/s>)+\s*$/

/**
 * TGI 2.x: the name and parameters of a streamed call whose arguments hold the grammar's
 * `{"function": {"_name": name, ...parameters}}`; `undefined` when the text is not that.
 */
export const legacyTgiCall = (text: string): { readonly name: string; readonly params: unknown } | undefined => {
  let value: unknown
  try {
    value = Tool.unsafeSecureJsonParse(text.replace(trailingSpecialTokens, ""))
  } catch {
    return undefined
  }
  const fn = typeof value === "object" && value !== null ? (value as Record<string, unknown>).function : undefined
  if (typeof fn !== "object" || fn === null) return undefined
  const { _name: name, ...params } = fn as Record<string, unknown>
  return typeof name === "string" && name.length > 0 ? { name, params } : undefined
}
