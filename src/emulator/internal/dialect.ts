/**
 * What the container dialects share: JSON and text answers, SSE and JSON-lines framing, the
 * generation parameters every server checks, and the context a dialect answers in (the endpoint's
 * container options and an injected generation failure).
 *
 * @since 0.1.0
 * @internal
 */
import type { ContainerOptions, Fault, ModelRequest, ModelResponse } from "../SagemakerEmulator.js"
import type * as Model from "./model.js"

/** @internal */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const json = (status: number, value: unknown): ModelResponse => ({
  status,
  contentType: "application/json",
  body: JSON.stringify(value)
})

/** @internal */
export const text = (status: number, body: string): ModelResponse => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body
})

/** A streamed answer: one chunk per event the container writes. @internal */
export const chunks = (contentType: string, body: ReadonlyArray<string>): ModelResponse => ({
  status: 200,
  contentType,
  body
})

/** axum's `Event::json_data`: `data:` without a space. @internal */
export const sse = (value: unknown): string => `data:${JSON.stringify(value)}\n\n`
/** Python servers write `data: ` with a space. @internal */
export const sseSpaced = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`
/** @internal */
export const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`

/** A `generation-error` fault as the container acts it out. @internal */
export interface Failure {
  /** Tokens streamed before the failure. */
  readonly afterTokens: number
  /** The container's own text, when the fault gives one. */
  readonly message: string | undefined
  readonly lmi: "http-424" | "empty-text" | "null-text"
}

/** @internal */
export interface Context {
  readonly request: ModelRequest
  readonly nowMillis: number
  readonly container: ContainerOptions
  readonly failure: Failure | undefined
}

/** @internal */
export const context = (request: ModelRequest, nowMillis: number): Context => {
  const f: Fault | undefined = request.generationError
  return {
    request,
    nowMillis,
    container: request.container ?? {},
    failure: f?.kind === "generation-error"
      ? { afterTokens: f.afterTokens ?? 0, message: f.message, lmi: f.lmi ?? "http-424" }
      : undefined
  }
}

/** Beyond this the generator would be asked for absurd amounts of text. @internal */
export const maxTotalTokens = 4096

/** @internal */
export interface Params {
  readonly maxNewTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
  /** As sent: `undefined` lets the server pick its default. */
  readonly returnFullText: boolean | undefined
  readonly details: boolean
}

/** @internal */
export interface ParamRules {
  readonly maxKey: string
  readonly inputTokens: number
  /** TGI refuses more than 4 stop sequences. */
  readonly maxStop: number | undefined
  /** TGI refuses `temperature <= 0` on its generate route; OpenAI servers take 0 as greedy. */
  readonly positiveTemperature: boolean
  /** TGI: `top_p` strictly between 0 and 1. */
  readonly openTopP: boolean
}

/** Reads the generation parameters; returns a validation message on bad input. @internal */
export const readParams = (source: Record<string, unknown>, rules: ParamRules): Params | string => {
  const key = rules.maxKey
  const max = source[key]
  if (max !== undefined && max !== null && (typeof max !== "number" || !Number.isInteger(max) || max < 1)) {
    return `\`${key}\` must be strictly positive`
  }
  const maxNewTokens = typeof max === "number" ? max : undefined
  if (maxNewTokens !== undefined && rules.inputTokens + maxNewTokens > maxTotalTokens) {
    return `\`inputs\` tokens + \`${key}\` must be <= ${maxTotalTokens}. Given: ${rules.inputTokens} \`inputs\` tokens and ${maxNewTokens} \`${key}\``
  }
  const rawStop = source["stop"]
  let stop: ReadonlyArray<string> = []
  if (typeof rawStop === "string") stop = [rawStop]
  else if (Array.isArray(rawStop) && rawStop.every((s) => typeof s === "string")) stop = rawStop
  else if (rawStop !== undefined && rawStop !== null) return "`stop` must be a list of strings"
  if (rules.maxStop !== undefined && stop.length > rules.maxStop) {
    return `\`stop\` supports up to ${rules.maxStop} stop sequences. Given: ${stop.length}`
  }
  const seed = source["seed"]
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0)) {
    return "`seed` must be a non-negative integer"
  }
  const temperature = source["temperature"]
  if (rules.positiveTemperature && typeof temperature === "number" && temperature <= 0) {
    return "`temperature` must be strictly positive"
  }
  const topP = source["top_p"]
  if (rules.openTopP && typeof topP === "number" && (topP <= 0 || topP >= 1)) {
    return "`top_p` must be > 0.0 and < 1.0"
  }
  const full = source["return_full_text"]
  return {
    maxNewTokens,
    stop,
    seed: typeof seed === "number" ? seed : undefined,
    returnFullText: typeof full === "boolean" ? full : undefined,
    details: source["details"] === true
  }
}

/** Unix seconds, as every server stamps `created`. @internal */
export const seconds = (millis: number): number => Math.floor(millis / 1000)

/** The tokens of an answer that fails after `afterTokens` of them. @internal */
export const before = <A>(tokens: ReadonlyArray<A>, failure: Failure | undefined): ReadonlyArray<A> =>
  failure === undefined ? tokens : tokens.slice(0, failure.afterTokens)

/** The text of non-special tokens. @internal */
export const joined = (tokens: ReadonlyArray<Model.Token>): string =>
  tokens.filter((t) => !t.special).map((t) => t.text).join("")
