/**
 * What `stream` yields: one piece of a generation at a time, in the container's own terms.
 *
 * @since 0.1.0
 */

/**
 * A fragment of a tool call, as a chat stream sends it: the first fragment of a call usually has
 * its `id` and `name`, the later ones pieces of its `arguments` (JSON text, to be concatenated
 * per `index`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallDelta {
  readonly index: number
  readonly id?: string
  readonly name?: string
  readonly arguments?: string
}

/**
 * One piece of a streamed generation. `text` is what to append; the rest is there when the
 * container sends it (TGI and LMI send token ids and log-probs; the last chunk usually carries the
 * finish reason and token counts). A special token (TGI's `</s>`) arrives with `text: ""`,
 * `special: true` and its text in `specialText`. Where each field comes from, per container
 * format, is tabled in docs/containers.md.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamChunk {
  readonly text: string
  readonly tokenId?: number
  readonly logprob?: number
  readonly special?: boolean
  readonly specialText?: string
  /** As the container wrote it: `length`, `eos_token`, `stop_sequence`, `stop`, … */
  readonly finishReason?: string
  /** The whole generated text, when the container repeats it on its last event. */
  readonly generatedText?: string
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** Tool-call fragments of a chat stream (`delta.tool_calls`). */
  readonly toolCalls?: ReadonlyArray<ToolCallDelta>
  /** Reasoning text of a reasoning model (`delta.reasoning_content`, or vLLM's newer `delta.reasoning`). */
  readonly reasoning?: string
}

/**
 * The token-stream formats of the containers: TGI server-sent events, DJL LMI JSON lines, OpenAI
 * chat chunks.
 *
 * @since 0.1.0
 * @category models
 */
export type ContainerStreamFormat = "tgi" | "lmi" | "openai"

/**
 * A container format, or `auto`: detected from the first line.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamFormat = ContainerStreamFormat | "auto"

/**
 * Every stream format option, `auto` (the default) first.
 *
 * @since 0.1.0
 * @category constants
 */
export const streamFormats: ReadonlyArray<StreamFormat> = ["auto", "tgi", "lmi", "openai"]
