/**
 * A first program: the SagemakerGenerator layer and `run` in an Effect program.
 *
 * It talks to the local SageMaker Runtime emulator, so it runs without AWS:
 *   npx tsx examples/first-program.ts
 * For a real endpoint, drop the emulator and `endpointUrl`, set `model` to your endpoint name and
 * let credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_DEFAULT_REGION, …).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerEmulator, SagemakerGenerator, Secret } from "effect-sagemaker"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const program = Effect.gen(function*() {
  const { replies, meta } = yield* SagemakerGenerator.run("What's Natural Language Processing?", {
    max_new_tokens: 24,
    details: true
  })
  yield* Console.log(replies[0])
  // `meta` holds what the container sent besides the text: TGI's `details` here.
  const details = meta[0]?.details as { finish_reason?: string; generated_tokens?: number } | undefined
  yield* Console.log(`[finish reason: ${details?.finish_reason}, tokens: ${details?.generated_tokens}]`)
})

// The generator layer, aimed at whatever emulator the context holds.
const GeneratorLive = Layer.unwrapEffect(
  Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
    SagemakerGenerator.layer({
      model: "my-llm-endpoint",
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken("AKIDEXAMPLE"),
      awsSecretAccessKey: Secret.fromToken("example-secret"),
      awsRegionName: Secret.fromToken("us-east-1")
    }))
).pipe(Layer.provide(SagemakerEmulator.layer({ personality: "tgi" })))

program.pipe(Effect.provide(GeneratorLive), NodeRuntime.runMain)
