/**
 * The sampling configuration of the language model: its fields, their check, and the merge of the
 * layer's configuration with a call's override. Fields are named as in the Messages API; the
 * text-generation dialect renames them for `parameters`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import type { RequestOptions } from "../policy/settings.js"
import * as Validation from "../policy/validation.js"

export interface ConfigService {
  readonly temperature?: number | undefined
  readonly top_p?: number | undefined
  /** The most tokens to generate (`max_new_tokens` on the text-generation dialect). */
  readonly max_tokens?: number | undefined
  readonly stop?: string | ReadonlyArray<string> | undefined
  readonly seed?: number | undefined
  readonly frequency_penalty?: number | undefined
  readonly presence_penalty?: number | undefined
  /**
   * More top-level body fields, as the container names them (`top_k`, `repetition_penalty`,
   * `chat_template_kwargs`, ...). On the text-generation dialect a `parameters` object here is merged
   * into the body's `parameters`; a `stream_options` object into the stream's.
   */
  readonly extraBody?: Readonly<Record<string, unknown>> | undefined
  /**
   * The request options of this call (routing, custom attributes, timeout, retry), merged over the
   * layer's by the generator's per-call rules (`settings.ts`, `forCall`); checked there, not here.
   */
  readonly request?: RequestOptions | undefined
}

/** The body fields the provider writes itself: `extraBody` may not set them. */
export const ownFields: ReadonlyArray<string> = [
  "messages",
  "inputs",
  "stream",
  "tools",
  "tool_choice",
  "response_format"
]

const numberFields = ["temperature", "top_p", "frequency_penalty", "presence_penalty"] as const

const describe = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : JSON.stringify(u)

/** Why `config` is not a configuration (the field path first), or `undefined`. */
export const checkConfig = (
  path: string,
  config: unknown
): { readonly field: string; readonly rule: string } | undefined => {
  if (config === undefined) return undefined
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    return { field: path, rule: `must be an object, got ${describe(config)}` }
  }
  const c = config as Record<string, unknown>
  for (const key of numberFields) {
    const value = c[key]
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value))) {
      return { field: `${path}.${key}`, rule: `must be a finite number, got ${describe(value)}` }
    }
  }
  for (const key of ["max_tokens", "seed"] as const) {
    const value = c[key]
    if (value !== undefined && !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
      return { field: `${path}.${key}`, rule: `must be a whole number, got ${describe(value)}` }
    }
  }
  const stop = c.stop
  if (
    stop !== undefined && typeof stop !== "string" &&
    !(Array.isArray(stop) && stop.every((s) => typeof s === "string"))
  ) {
    return { field: `${path}.stop`, rule: `must be a string or a list of strings, got ${describe(stop)}` }
  }
  const extra = c.extraBody
  if (extra !== undefined) {
    const checked = Validation.checkKwargs(`${path}.extraBody`, extra)
    if (Either.isLeft(checked)) return { field: checked.left.field, rule: checked.left.rule }
    for (const key of ownFields) {
      if ((extra as Record<string, unknown>)[key] !== undefined) {
        return { field: `${path}.extraBody.${key}`, rule: `the provider writes "${key}" itself` }
      }
    }
  }
  return undefined
}

/** A call's override over the layer's configuration, field by field (as `withConfigOverride` merges). */
export const merge = (base: ConfigService | undefined, override: ConfigService | undefined): ConfigService =>
  override === undefined ? base ?? {} : { ...base, ...override }

/** The sampling fields that are set, as the Messages API names them. */
export const samplingFields = (config: ConfigService): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  for (
    const key of [
      "temperature",
      "top_p",
      "max_tokens",
      "stop",
      "seed",
      "frequency_penalty",
      "presence_penalty"
    ] as const
  ) {
    if (config[key] !== undefined) fields[key] = config[key]
  }
  return fields
}
