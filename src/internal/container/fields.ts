/**
 * Where each container format puts the finish reason, the token counts and its own error text:
 * TGI and LMI in `details` (`finish_reason`, `input_length`, `generated_tokens`), OpenAI-compatible
 * servers in the choice's `finish_reason` and the body's `usage`. The decoders of `run` and
 * `stream` and telemetry all read them here (docs/containers.md).
 *
 * @since 0.1.0
 * @internal
 */

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

/** Token counts, as far as the container reported them. */
export interface Usage {
  readonly inputTokens: number | undefined
  readonly outputTokens: number | undefined
}

/** TGI and LMI `details`: the finish reason as written (`length`, `eos_token`, `stop_sequence`). */
export const detailsFinishReason = (details: Json): string | undefined =>
  typeof details.finish_reason === "string" ? details.finish_reason : undefined

/** TGI and LMI `details`: `input_length` and `generated_tokens`. */
export const detailsUsage = (details: Json): Usage => ({
  inputTokens: count(details.input_length),
  outputTokens: count(details.generated_tokens)
})

/** OpenAI `usage`: `prompt_tokens` and `completion_tokens`. */
export const openaiUsage = (usage: Json): Usage => ({
  inputTokens: count(usage.prompt_tokens),
  outputTokens: count(usage.completion_tokens)
})

/** The finish reason of one `meta` entry of `run`: the choice's own, else TGI/LMI's `details`. */
export const finishReasonOf = (meta: Json): string | undefined => {
  if (typeof meta.finish_reason === "string") return meta.finish_reason
  return isObject(meta.details) ? detailsFinishReason(meta.details) : undefined
}

/** The token counts of one `meta` entry of `run`: OpenAI's `usage`, else TGI/LMI's `details`. */
export const usageOf = (meta: Json): Usage | undefined => {
  if (isObject(meta.usage)) return openaiUsage(meta.usage)
  if (isObject(meta.details)) return detailsUsage(meta.details)
  return undefined
}

/**
 * The text of a container's own error report: `error` (a string, or an object with `message` or
 * `error_msg`, nested as LMI's `3p` nests it), `message`, `error_msg`.
 */
export const errorTextOf = (record: Json, depth = 0): string | undefined => {
  const error = record.error
  if (typeof error === "string") return error
  if (isObject(error) && depth < 3) {
    const nested = errorTextOf(error, depth + 1)
    if (nested !== undefined) return nested
  }
  if (typeof record.message === "string") return record.message
  return typeof record.error_msg === "string" ? record.error_msg : undefined
}
