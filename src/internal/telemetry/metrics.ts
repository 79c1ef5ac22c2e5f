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
import * as MetricLabel from "effect/MetricLabel"
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
 * The metrics of one service and operation: labelled once, so that recording a call costs no more
 * than the updates themselves. Recorded outside an Effect: the recorders are called from stream
 * callbacks and taps.
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
  const labels = [
    MetricLabel.make("gen_ai.operation.name", operation),
    MetricLabel.make("gen_ai.provider.name", PROVIDER),
    MetricLabel.make("gen_ai.system", PROVIDER),
    MetricLabel.make("gen_ai.request.model", model)
  ]
  // One label array per series, made once: a metric resolves its series by the array's identity
  // (a `Metric.tagged` chain builds a new array, and looks the series up by hash, on every update).
  const inputLabels = [...labels, MetricLabel.make("gen_ai.token.type", "input")]
  const outputLabels = [...labels, MetricLabel.make("gen_ai.token.type", "output")]
  const failureLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const success: Recorder["success"] = (seconds, inTokens, outTokens) => {
    operationDuration.unsafeUpdate(seconds, labels)
    if (inTokens !== undefined) tokenUsage.unsafeUpdate(inTokens, inputLabels)
    if (outTokens !== undefined) tokenUsage.unsafeUpdate(outTokens, outputLabels)
  }
  const failure: Recorder["failure"] = (seconds, errorType) => {
    let tagged = failureLabels.get(errorType)
    if (tagged === undefined) {
      tagged = [...labels, MetricLabel.make("error.type", errorType)]
      failureLabels.set(errorType, tagged)
    }
    operationDuration.unsafeUpdate(seconds, tagged)
  }
  return {
    success,
    failure,
    stream: () => {
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      return {
        first: () => timeToFirstChunk.unsafeUpdate(seconds(), labels),
        end: (inTokens, outTokens) => success(seconds(), inTokens, outTokens),
        failed: (errorType) => failure(seconds(), errorType)
      }
    }
  }
}
