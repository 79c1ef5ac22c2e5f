/**
 * Chat through `@effect/ai` on a SageMaker endpoint: a tool loop with a typed `Tool` answered by a
 * handler, `generateObject` decoding into a `Schema`, and a streamed answer written to stdout.
 *
 * It talks to the local emulator's vLLM personality by default, so it runs without AWS:
 *   npx tsx examples/chat.ts
 * Name an endpoint to use a real one (credentials and region from the SDK's default chain):
 *   AWS_REGION=us-east-1 npx tsx examples/chat.ts my-vllm-endpoint
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerClient, SagemakerEmulator } from "effect-sagemaker"
import * as SagemakerLanguageModel from "effect-sagemaker/SagemakerLanguageModel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

// A typed tool, and a handler that answers it.
const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({
  get_weather: ({ city }) => Effect.succeed(`Sunny, 21°C in ${city}`)
})

const City = Schema.Struct({ name: Schema.String, population: Schema.Number })

const program = Effect.gen(function*() {
  // 1. The model calls the tool, @effect/ai runs the handler; the result goes back for the answer.
  const question = "Please call get_weather for Lisbon."
  const first = yield* LanguageModel.generateText({ prompt: question, toolkit: Weather })
  for (const call of first.toolCalls) {
    const result = first.toolResults.find((r) => r.id === call.id)?.result
    yield* Console.log(`tool call: ${call.name}(${JSON.stringify(call.params)}) -> ${result}`)
  }
  const history = Prompt.merge(Prompt.make(question), Prompt.fromResponseParts(first.content))
  const answer = yield* LanguageModel.generateText({ prompt: history, toolkit: Weather })
  yield* Console.log(`answer: ${answer.text} [finish: ${answer.finishReason}]`)

  // 2. A structured answer, decoded into the Schema.
  const city = yield* LanguageModel.generateObject({ prompt: "Describe a city", schema: City, objectName: "city" })
  yield* Console.log(`object: ${JSON.stringify(city.value)}`)

  // 3. A streamed answer, written as it arrives; the finish part comes last, with the usage.
  yield* LanguageModel.streamText({ prompt: "Tell me about the sea" }).pipe(
    Stream.runForEach((part) => {
      switch (part.type) {
        case "text-delta":
          return Effect.sync(() => process.stdout.write(part.delta))
        case "finish":
          return Console.log(
            `\n[finish: ${part.reason}, tokens: ${part.usage.inputTokens} in, ${part.usage.outputTokens} out]`
          )
        default:
          return Effect.void
      }
    })
  )
})

const endpointName = process.argv[2]

// The client: the emulator's unless an endpoint is named.
const ClientLive = endpointName === undefined
  ? Layer.unwrapEffect(
    Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
      SagemakerClient.layer({
        endpointUrl: emulator.url,
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDEXAMPLE"), secretAccessKey: Redacted.make("example-secret") }
      }))
  ).pipe(Layer.provide(SagemakerEmulator.layer({ personality: "vllm" })))
  : SagemakerClient.layer({})

const ChatLive = SagemakerLanguageModel.layer({
  endpointName: endpointName ?? "my-vllm-endpoint",
  config: { max_tokens: 40, seed: 7 }
}).pipe(Layer.provide(ClientLive))

program.pipe(Effect.provide(Layer.merge(ChatLive, WeatherHandlers)), NodeRuntime.runMain)
