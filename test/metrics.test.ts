/**
 * The GenAI client metrics, exported through `@effect/opentelemetry` to the real OpenTelemetry
 * SDK's in-memory metric reader: operation duration (with `error.type` on failures), token usage
 * by token type, and the time to the first chunk of a stream, for `run` and `stream` against the
 * emulator, and the language and embedding models on the same metrics.
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { assert, describe, it } from "@effect/vitest"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import type { HistogramMetricData } from "@opentelemetry/sdk-metrics"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerEmbeddingModel from "../src/SagemakerEmbeddingModel.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import { testEnv } from "./helpers/generator.js"

describe("GenAI client metrics", () => {
  it.scopedLive("run and stream record duration, tokens, time to first chunk and errors by type", () =>
    Effect.gen(function*() {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
      const telemetry = Metrics.layer(() => reader).pipe(
        Layer.provide(Resource.layer({ serviceName: "metrics-test" }))
      )
      yield* Layer.build(telemetry)
      const emulator = yield* SagemakerEmulator.make({
        personality: "tgi",
        faults: { broken: { kind: "model-error" } },
        endpoints: {
          "metrics-ep": { personality: "tgi" },
          broken: { personality: "tgi" },
          "chat-ep": { personality: "vllm" },
          "embed-ep": { personality: "embeddings" }
        }
      })
      const generatorFor = (model: string) =>
        SagemakerGenerator.layer({ model, endpointUrl: emulator.url, retry: false })
      yield* Effect.gen(function*() {
        yield* SagemakerGenerator.run("Hello", { max_new_tokens: 5, details: true })
        yield* Stream.runDrain(SagemakerGenerator.stream("Hello", { max_new_tokens: 5, details: true }))
      }).pipe(Effect.provide(generatorFor("metrics-ep")), Effect.withConfigProvider(ConfigProvider.fromMap(testEnv)))
      yield* SagemakerGenerator.run("Hello").pipe(
        Effect.flip,
        Effect.provide(generatorFor("broken")),
        Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
      )

      // The language model and the embedding model record on the same metrics.
      const client = SagemakerClient.layerHttp({
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDTEST"), secretAccessKey: Redacted.make("metrics-secret") },
        endpointUrl: emulator.url
      })
      yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(
        Effect.provide(SagemakerLanguageModel.layer({ endpointName: "chat-ep" }).pipe(Layer.provide(client)))
      )
      yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embed("Hello")),
        Effect.provide(SagemakerEmbeddingModel.layer({ endpointName: "embed-ep" }).pipe(Layer.provide(client)))
      )

      yield* Effect.promise(() => reader.forceFlush())
      const metrics = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics).flatMap((scope) =>
        scope.metrics
      )
      const points = (name: string) =>
        (metrics.filter((metric) => metric.descriptor.name === name) as Array<HistogramMetricData>)
          .flatMap((metric) => metric.dataPoints)
      const ours = (model: string) => (point: { attributes: Record<string, unknown> }) =>
        point.attributes["gen_ai.request.model"] === model

      const durations = points("gen_ai.client.operation.duration")
      const ok = durations.filter(ours("metrics-ep")).filter((point) => point.attributes["error.type"] === undefined)
      assert.strictEqual(ok.reduce((n, point) => n + point.value.count, 0), 2)
      assert.strictEqual(ok[0]!.attributes["gen_ai.provider.name"], "aws.sagemaker")
      assert.strictEqual(ok[0]!.attributes["gen_ai.operation.name"], "text_completion")
      const failed = durations.filter(ours("broken"))
      assert.deepStrictEqual(failed.map((point) => [point.attributes["error.type"], point.value.count]), [
        ["SagemakerInferenceError", 1]
      ])

      const operations = (model: string) =>
        durations.filter(ours(model)).map((p) => p.attributes["gen_ai.operation.name"])
      assert.deepStrictEqual(operations("chat-ep"), ["chat"])
      assert.deepStrictEqual(operations("embed-ep"), ["embeddings"])

      const tokens = points("gen_ai.client.token.usage").filter(ours("metrics-ep"))
      const output = tokens.find((point) => point.attributes["gen_ai.token.type"] === "output")!
      assert.strictEqual(output.value.count, 2)
      assert.strictEqual(output.value.sum, 10)

      const firstChunk = points("gen_ai.client.operation.time_to_first_chunk").filter(ours("metrics-ep"))
      assert.strictEqual(firstChunk.reduce((n, point) => n + point.value.count, 0), 1)
      assert.isAbove(firstChunk[0]!.value.sum!, 0)
    }))
})
