/**
 * The finish part of a response: the container's finish reason in `@effect/ai`'s vocabulary (the
 * raw one kept in the part's metadata), and the token usage as far as the container reported it.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Fields from "../container/fields.js"

/** The provider metadata key of every part this provider writes metadata on. */
export const METADATA_KEY = "sagemaker"

const reasons: Readonly<Record<string, Response.FinishReason>> = {
  // OpenAI-compatible servers (vLLM, LMI chat, TGI's Messages API).
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter",
  // TGI and LMI `details.finish_reason`.
  eos_token: "stop",
  stop_sequence: "stop",
  error: "error"
}

/**
 * The reason in `@effect/ai`'s terms. A response that calls tools finished for them, also when the
 * server says `stop` (TGI always does, vLLM and OpenAI do for a named tool choice) or nothing
 * (TGI's streamed tool calls end without a finish reason).
 */
export const finishReason = (raw: string | undefined, hasToolCalls: boolean): Response.FinishReason => {
  const mapped = raw === undefined ? undefined : reasons[raw]
  if (hasToolCalls && (mapped === undefined || mapped === "stop")) return "tool-calls"
  return mapped ?? "unknown"
}

type Usage = typeof Response.Usage.Encoded

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const count = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

/** Token counts, summed when the container gave no total. */
export const usage = (inputTokens: number | undefined, outputTokens: number | undefined, extra?: {
  readonly totalTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
}): Usage => ({
  inputTokens,
  outputTokens,
  totalTokens: extra?.totalTokens ??
    (inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined),
  ...(extra?.reasoningTokens === undefined ? {} : { reasoningTokens: extra.reasoningTokens }),
  ...(extra?.cachedInputTokens === undefined ? {} : { cachedInputTokens: extra.cachedInputTokens })
})

/** OpenAI's `usage` object: the counts, the total and the details vLLM fills in. */
export const openaiUsage = (raw: Json): Usage => {
  const counts = Fields.openaiUsage(raw)
  const completion = raw.completion_tokens_details
  const prompt = raw.prompt_tokens_details
  return usage(counts.inputTokens, counts.outputTokens, {
    totalTokens: count(raw.total_tokens),
    reasoningTokens: isObject(completion) ? count(completion.reasoning_tokens) : undefined,
    cachedInputTokens: isObject(prompt) ? count(prompt.cached_tokens) : undefined
  })
}

/** The usage of one `meta` entry of a decoded body: OpenAI's `usage`, else TGI/LMI's `details`. */
export const usageOfMeta = (meta: Json): Usage => {
  if (isObject(meta.usage)) return openaiUsage(meta.usage)
  const counts = Fields.usageOf(meta)
  return usage(counts?.inputTokens, counts?.outputTokens)
}

/** The finish part. */
export const finishPart = (
  raw: string | undefined,
  hasToolCalls: boolean,
  tokens: Usage
): Response.FinishPartEncoded => ({
  type: "finish",
  reason: finishReason(raw, hasToolCalls),
  usage: tokens,
  metadata: { [METADATA_KEY]: { finishReason: raw } }
})
