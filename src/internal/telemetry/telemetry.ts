/**
 * Span attributes of the OpenTelemetry GenAI conventions. Never the prompt, the output or a secret.
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Tracer from "effect/Tracer"
import type { GenerationResult } from "../../Payload.js"
import * as Fields from "../container/fields.js"

export const PROVIDER = "aws.sagemaker"

const numeric = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

/** The request attributes: operation, provider, model and the sampling parameters. */
export const requestAttributes = (
  model: string,
  parameters: Readonly<Record<string, unknown>>
): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": "text_completion",
    "gen_ai.provider.name": PROVIDER,
    // Deprecated in the conventions but what @effect/ai emits: keep dashboards aligned.
    "gen_ai.system": PROVIDER,
    "gen_ai.request.model": model
  }
  const sampling = {
    "gen_ai.request.max_tokens": numeric(parameters.max_new_tokens) ?? numeric(parameters.max_tokens),
    "gen_ai.request.temperature": numeric(parameters.temperature),
    "gen_ai.request.top_p": numeric(parameters.top_p),
    "gen_ai.request.top_k": numeric(parameters.top_k),
    "gen_ai.request.seed": numeric(parameters.seed)
  }
  for (const [key, value] of Object.entries(sampling)) if (value !== undefined) attributes[key] = value
  return attributes
}

/** Response attributes from what the container reported: finish reasons, id, token usage. */
export const annotateResponse = (result: GenerationResult): Effect.Effect<void> => {
  const attributes: Record<string, unknown> = {}
  const reasons = result.meta.map(Fields.finishReasonOf).filter((reason) => reason !== undefined)
  if (reasons.length > 0) attributes["gen_ai.response.finish_reasons"] = reasons
  const first = result.meta[0]
  if (first !== undefined) {
    if (typeof first.id === "string") attributes["gen_ai.response.id"] = first.id
    const usage = Fields.usageOf(first)
    if (usage?.inputTokens !== undefined) attributes["gen_ai.usage.input_tokens"] = usage.inputTokens
    if (usage?.outputTokens !== undefined) attributes["gen_ai.usage.output_tokens"] = usage.outputTokens
  }
  return Effect.annotateCurrentSpan(attributes)
}

/** Effect's built-in tracer, the one in place unless a program installs another: its spans go nowhere. */
const builtInTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * `traced` when a tracer other than Effect's built-in one is in place (`Layer.setTracer`,
 * `Effect.withTracer`, `@effect/opentelemetry`, the DevTools); otherwise `untraced`, which makes no
 * span. A span of the built-in tracer is exported nowhere, yet costs CPU on every call; the one
 * thing lost is the `at SagemakerGenerator.run` line in `Cause.pretty`.
 */
export const whenTraced = <A, E, R>(
  traced: () => Effect.Effect<A, E, R>,
  untraced: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.withFiberRuntime((fiber) => isTraced(fiber) ? traced() : untraced)

/** Whether `fiber` runs under a tracer other than Effect's built-in one (see {@link whenTraced}). */
export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => fiber.currentTracer !== builtInTracer
