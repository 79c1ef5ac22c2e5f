/**
 * GenAI attributes on the span `@effect/ai` opens for a call (`LanguageModel.generateText`, …):
 * the system `aws.sagemaker`, the model (the endpoint, or its inference component), the sampling
 * parameters, the response's id, model and finish reasons, the token usage, and `error.type` on a
 * failure. Never the prompt, the output or a secret.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import type { Span } from "effect/Tracer"
import { PROVIDER } from "../telemetry/telemetry.js"
import type { ConfigService } from "./config.js"
import { METADATA_KEY } from "./finish.js"

export const annotateRequest = (span: Span, model: string, config: ConfigService): void => {
  Telemetry.addGenAIAnnotations(span, {
    system: PROVIDER,
    operation: { name: "chat" },
    request: {
      model,
      temperature: config.temperature,
      topP: config.top_p,
      maxTokens: config.max_tokens,
      seed: config.seed,
      stopSequences: typeof config.stop === "string" ? [config.stop] : config.stop,
      frequencyPenalty: config.frequency_penalty,
      presencePenalty: config.presence_penalty
    }
  })
  // The newer name of `gen_ai.system`, as the generator's spans carry both.
  span.attribute("gen_ai.provider.name", PROVIDER)
}

/** The container's own finish reason when it sent one, else `@effect/ai`'s. */
const finishReasonOf = (part: Response.FinishPartEncoded): string => {
  const raw = part.metadata?.[METADATA_KEY]?.finishReason
  return typeof raw === "string" ? raw : part.reason
}

/** Response attributes from a part, as the parts go by (a whole answer's, or a stream's). */
export const annotatePart = (span: Span, part: Response.StreamPartEncoded | Response.PartEncoded): void => {
  if (part.type === "response-metadata") {
    Telemetry.addGenAIAnnotations(span, { response: { id: part.id, model: part.modelId } })
  } else if (part.type === "finish") {
    Telemetry.addGenAIAnnotations(span, {
      response: { finishReasons: [finishReasonOf(part)] },
      usage: { inputTokens: part.usage.inputTokens, outputTokens: part.usage.outputTokens }
    })
  }
}

export const annotateError = (span: Span, errorType: string): void => {
  span.attribute("error.type", errorType)
}
