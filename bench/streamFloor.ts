/**
 * The fixed CPU of one `stream` call without the network: a `SagemakerClient` that answers from
 * memory with a one-event TGI stream, against the bare Effect `Stream` of the same bytes read to
 * the end (the fixed cost of running any Effect stream). The difference is what the generator's
 * stream adds per call: opening, the decoder, the timeout, the span, the metrics.
 *
 *   npm run bench -- --stream-floor [--calls 20000] [--rounds 5]
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { argValue, cpuPerCall, PROMPT, tgiEvents } from "./shared.js"

const argv = process.argv.slice(2)
const calls = Number(argValue(argv, "--calls") ?? "20000")
const rounds = Number(argValue(argv, "--rounds") ?? "5")
const encoder = new TextEncoder()
const parts = tgiEvents(1).map((event) => encoder.encode(event))

const client = Layer.succeed(
  SagemakerClient.SagemakerClient,
  SagemakerClient.SagemakerClient.of({
    region: "us-east-1",
    invokeEndpoint: () => Effect.die("not measured"),
    invokeEndpointWithResponseStream: () =>
      Effect.succeed({
        contentType: "text/event-stream",
        invokedProductionVariant: "AllTraffic",
        requestId: "r",
        parts: Stream.fromIterable(parts)
      }),
    invokeEndpointAsync: () => Effect.die("not measured"),
    identity: { region: "us-east-1", credentials: () => Promise.reject(new Error("none")) }
  })
)
const generator = ManagedRuntime.make(
  SagemakerGenerator.layerWithClient({ model: "bench" }).pipe(Layer.provide(client))
)
const bare = ManagedRuntime.make(Layer.empty)

const contenders = {
  "SagemakerGenerator.stream, one event": () =>
    generator.runPromise(Stream.runDrain(SagemakerGenerator.stream(PROMPT))),
  "Stream.fromIterable of the same bytes, drained": () => bare.runPromise(Stream.runDrain(Stream.fromIterable(parts)))
} as const

const us = await cpuPerCall(contenders, calls, rounds)
const lines = [
  `### Stream fixed CPU per call, in memory (${calls} calls, ${rounds} rounds, medians)`,
  "",
  "| path | CPU µs/call |",
  "|---|---:|",
  ...Object.entries(us).map(([name, value]) => `| ${name} | ${value.toFixed(1)} |`)
]
process.stderr.write(`${lines.join("\n")}\n`)
process.stdout.write(`${JSON.stringify(us)}\n`)
await Promise.all([generator.dispose(), bare.dispose()])
