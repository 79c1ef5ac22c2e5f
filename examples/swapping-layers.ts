/**
 * Swapping layers: one program, tested with a replacement layer (no network at all) and with the
 * emulator (the real SDK path over loopback HTTP).
 *
 *   npx tsx examples/swapping-layers.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerEmulator, SagemakerGenerator, Secret } from "effect-sagemaker"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The code under test: it only knows the SagemakerGenerator service. */
const summarize = (text: string) =>
  SagemakerGenerator.run(`Summarize: ${text}`, { max_new_tokens: 12 }).pipe(
    Effect.map(({ replies }) => replies[0]?.trim() ?? "")
  )

// 1. A replacement layer: deterministic, instant, records what it was asked.
const prompts: Array<string> = []
const GeneratorTest = SagemakerGenerator.layerTest((prompt) => {
  prompts.push(prompt)
  return Effect.succeed({ replies: ["a short summary"], meta: [{}] })
})

// 2. The real layer against the emulator.
const GeneratorEmulated = Layer.unwrapEffect(
  Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
    SagemakerGenerator.layer({
      model: "summarizer",
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken("AKIDEXAMPLE"),
      awsSecretAccessKey: Secret.fromToken("example-secret"),
      awsRegionName: Secret.fromToken("us-east-1")
    }))
).pipe(Layer.provide(SagemakerEmulator.layer()))

const main = Effect.gen(function*() {
  const fromTest = yield* summarize("Effect layers").pipe(Effect.provide(GeneratorTest))
  yield* Console.log(`test layer:     ${fromTest} (asked ${JSON.stringify(prompts)})`)
  const fromEmulator = yield* summarize("Effect layers").pipe(Effect.provide(GeneratorEmulated))
  yield* Console.log(`emulator layer: ${fromEmulator}`)
})

main.pipe(NodeRuntime.runMain)
