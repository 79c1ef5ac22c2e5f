/**
 * The OpenTelemetry GenAI client metrics as Effect `Metric`s, recorded by every service where it
 * calls the client: operation duration (with `error.type` on failures), token usage by token type,
 * and the time to the first chunk of a stream. Exported by any Effect metrics exporter
 * (`@effect/opentelemetry`'s `Metrics.layer`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import { PROVIDER } from "./telemetry.js"

/** The GenAI conventions' advised bucket boundaries, in seconds. */
const DURATION_BOUNDARIES = MetricBoundaries.fromIterable([
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92
])

/** The GenAI conventions' advised bucket boundaries, in tokens. */
const TOKEN_BOUNDARIES = MetricBoundaries.fromIterable([
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864
])

export const operationDuration = Metric.histogram(
  "gen_ai.client.operation.duration",
  DURATION_BOUNDARIES,
  "GenAI operation duration, in seconds"
)

export const tokenUsage = Metric.histogram(
  "gen_ai.client.token.usage",
  TOKEN_BOUNDARIES,
  "Input and output tokens used, as the model container reported them"
)

export const timeToFirstChunk = Metric.histogram(
  "gen_ai.client.operation.time_to_first_chunk",
  DURATION_BOUNDARIES,
  "Time from the request to the first chunk of a streamed answer, in seconds"
)

/** The operations of the GenAI conventions our services perform. */
export type OperationName = "text_completion" | "chat" | "embeddings"

/**
 * The metrics of one service and operation: tagged once, so that recording a call costs no more
 * than the updates themselves.
 */
export interface Recorder {
  readonly success: (seconds: number, inputTokens: number | undefined, outputTokens: number | undefined) => void
  readonly failure: (seconds: number, errorType: string) => void
  /** A stream's observer, timing from now: its first chunk, its end with the tokens, its failure. */
  readonly stream: () => {
    readonly first: () => void
    readonly end: (inputTokens: number | undefined, outputTokens: number | undefined) => void
    readonly failed: (errorType: string) => void
  }
}

export const recorder = (operation: OperationName, model: string): Recorder => {
  const tags = {
    "gen_ai.operation.name": operation,
    "gen_ai.provider.name": PROVIDER,
    "gen_ai.system": PROVIDER,
    "gen_ai.request.model": model
  }
  const duration = taggedAll(operationDuration, tags)
  const input = Metric.tagged(
    Metric.tagged(tokenUsage, "gen_ai.token.type", "input"),
    "gen_ai.operation.name",
    operation
  )
  const output = Metric.tagged(
    Metric.tagged(tokenUsage, "gen_ai.token.type", "output"),
    "gen_ai.operation.name",
    operation
  )
  const inputTokens = taggedAll(input, tags)
  const outputTokens = taggedAll(output, tags)
  const firstChunk = taggedAll(timeToFirstChunk, tags)
  const failures = new Map<string, Metric.Metric.Histogram<number>>()
  const success: Recorder["success"] = (seconds, inTokens, outTokens) => {
    unsafeUpdate(duration, seconds)
    if (inTokens !== undefined) unsafeUpdate(inputTokens, inTokens)
    if (outTokens !== undefined) unsafeUpdate(outputTokens, outTokens)
  }
  const failure: Recorder["failure"] = (seconds, errorType) => {
    let metric = failures.get(errorType)
    if (metric === undefined) {
      metric = Metric.tagged(duration, "error.type", errorType)
      failures.set(errorType, metric)
    }
    unsafeUpdate(metric, seconds)
  }
  return {
    success,
    failure,
    stream: () => {
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      return {
        first: () => unsafeUpdate(firstChunk, seconds()),
        end: (inTokens, outTokens) => success(seconds(), inTokens, outTokens),
        failed: (errorType) => failure(seconds(), errorType)
      }
    }
  }
}

const taggedAll = (metric: Metric.Metric.Histogram<number>, tags: Record<string, string>) => {
  let tagged = metric
  for (const [key, value] of Object.entries(tags)) tagged = Metric.tagged(tagged, key, value)
  return tagged
}

/** Updates a metric outside an Effect: the recorders are called from stream callbacks and taps. */
const unsafeUpdate = (metric: Metric.Metric.Histogram<number>, value: number): void => metric.unsafeUpdate(value, [])
