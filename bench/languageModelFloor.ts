/**
 * Where the language model's CPU per call goes, without the network: the same reply through
 *
 * - `SagemakerGenerator.run` on a `SagemakerClient` that answers from memory (the TGI body);
 * - `LanguageModel.generateText` through `SagemakerLanguageModel` on that client (the chat body);
 * - `LanguageModel.generateText` through a provider that returns one text part and a finish part
 *   at once: what `@effect/ai` itself costs per call, the floor no provider goes below.
 *
 * Interleaved rounds, the median per call of each. The difference between the last two is our
 * provider's own work (request body, response parts, policy, metrics).
 *
 *   npm run bench -- --lm-floor [--calls 20000] [--rounds 5]
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import { argValue, CHAT_RESPONSE, cpuPerCall, PROMPT, UNARY_RESPONSE } from "./shared.js"

const argv = process.argv.slice(2)
const calls = Number(argValue(argv, "--calls") ?? "20000")
const rounds = Number(argValue(argv, "--rounds") ?? "5")
const encoder = new TextEncoder()

/** A client that answers every call from memory with `body`. */
const memoryClient = (body: string) => {
  const bytes = encoder.encode(body)
  return Layer.succeed(
    SagemakerClient.SagemakerClient,
    SagemakerClient.SagemakerClient.of({
      region: "us-east-1",
      invokeEndpoint: () =>
        Effect.succeed({
          body: bytes,
          contentType: "application/json",
          invokedProductionVariant: "AllTraffic",
          customAttributes: undefined,
          newSessionId: undefined,
          closedSessionId: undefined,
          requestId: "r"
        }),
      invokeEndpointWithResponseStream: () => Effect.die("not measured"),
      invokeEndpointAsync: () => Effect.die("not measured"),
      identity: { region: "us-east-1", credentials: () => Promise.reject(new Error("none")) }
    })
  )
}

const floorModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () =>
      Effect.succeed([
        { type: "text", text: "Natural Language Processing is a field of AI." },
        { type: "finish", reason: "stop", usage: { inputTokens: 8, outputTokens: 10, totalTokens: 18 } }
      ]),
    streamText: () => Effect.dieMessage("not measured") as never
  })
)

const generator = ManagedRuntime.make(
  SagemakerGenerator.layerWithClient({ model: "bench" }).pipe(Layer.provide(memoryClient(UNARY_RESPONSE)))
)
const provider = ManagedRuntime.make(
  SagemakerLanguageModel.layer({ endpointName: "bench-chat" }).pipe(Layer.provide(memoryClient(CHAT_RESPONSE)))
)
const floor = ManagedRuntime.make(floorModel)

const contenders = {
  "SagemakerGenerator.run": () => generator.runPromise(SagemakerGenerator.run(PROMPT)),
  "generateText through SagemakerLanguageModel": () =>
    provider.runPromise(LanguageModel.generateText({ prompt: PROMPT })),
  "generateText through a constant provider (@effect/ai's floor)": () =>
    floor.runPromise(LanguageModel.generateText({ prompt: PROMPT }))
} as const

const us = await cpuPerCall(contenders, calls, rounds)
const run = us["SagemakerGenerator.run"]!
const lm = us["generateText through SagemakerLanguageModel"]!
const lmFloor = us["generateText through a constant provider (@effect/ai's floor)"]!
const lines = [
  `### Language model CPU per call, in memory (${calls} calls, ${rounds} rounds, medians)`,
  "",
  "| path | CPU µs/call | × run |",
  "|---|---:|---:|",
  ...Object.entries(us).map(([name, value]) => `| ${name} | ${value.toFixed(1)} | ${(value / run).toFixed(2)}× |`),
  "",
  `Our provider's own work: ${(lm - lmFloor).toFixed(1)} µs per call; @effect/ai's: ${lmFloor.toFixed(1)} µs.`
]
process.stderr.write(`${lines.join("\n")}\n`)
process.stdout.write(`${JSON.stringify(us)}\n`)
await Promise.all([generator.dispose(), provider.dispose(), floor.dispose()])
