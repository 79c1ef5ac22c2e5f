/**
 * Streaming tokens as they are generated, as an Effect Stream. The emulator imitates a Hugging
 * Face TGI container here and cuts its stream inside UTF-8 characters, as real PayloadParts may be
 * cut; the decoder puts every character back together.
 *
 *   npx tsx examples/streaming.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerEmulator, SagemakerGenerator, Secret } from "effect-sagemaker"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const GeneratorLive = Layer.unwrapEffect(
  Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
    SagemakerGenerator.layer({
      model: "my-tgi-endpoint",
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken("AKIDEXAMPLE"),
      awsSecretAccessKey: Secret.fromToken("example-secret"),
      awsRegionName: Secret.fromToken("us-east-1"),
      // Each gap between two parts of the stream may last at most this long.
      timeout: "10 seconds"
    }))
).pipe(Layer.provide(SagemakerEmulator.layer({ personality: "tgi", split: { kind: "inside-utf8" } })))

// TGI ends its stream with the finish reason and token count only when `details` is true.
const program = SagemakerGenerator.stream("Tell me about cafés", { max_new_tokens: 30, details: true }).pipe(
  Stream.tap((chunk) => Effect.sync(() => process.stdout.write(chunk.text))),
  // The last chunk carries the finish reason and token count when the container sends them.
  Stream.runFold({ chunks: 0, finishReason: "unknown" }, (summary, chunk) => ({
    chunks: summary.chunks + 1,
    finishReason: chunk.finishReason ?? summary.finishReason
  })),
  Effect.flatMap(({ chunks, finishReason }) => Console.log(`\n[${chunks} chunks, finish reason: ${finishReason}]`))
)

program.pipe(Effect.provide(GeneratorLive), NodeRuntime.runMain)
