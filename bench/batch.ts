/**
 * The batch scenario: N prompts against an endpoint that serves `capacity` requests at once in
 * `latency` ms and throttles the rest (the bench server's `-capacity-<n>-delay-<ms>` endpoint).
 * Compared side by side in one process: `SagemakerBatch.run` with adaptive concurrency, and fixed
 * concurrency at 256 (what a user guesses) and at the capacity (the ideal, if one knew it), both
 * through `run` with the generator's default retries. Then the RSS growth of a batch of 1,000,000
 * input lines against an instant in-memory generator.
 *
 *   npm run bench -- --batch [--items 10000] [--capacity 64] [--latency 20] [--start 16] [--lines 0]
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as SagemakerBatch from "../src/SagemakerBatch.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import { argValue } from "./shared.js"

const argv = process.argv.slice(2)
const url = argValue(argv, "--url")!
const items = Number(argValue(argv, "--items") ?? "10000")
const capacity = Number(argValue(argv, "--capacity") ?? "64")
const latency = Number(argValue(argv, "--latency") ?? "20")
const lines = Number(argValue(argv, "--lines") ?? "1000000")
const start = Number(argValue(argv, "--start") ?? "16")
const endpoint = `batch-capacity-${capacity}-delay-${latency}`

const generator = SagemakerGenerator.layer({
  model: endpoint,
  endpointUrl: url,
  transport: "http",
  awsAccessKeyId: Secret.fromToken("AKIDBENCH"),
  awsSecretAccessKey: Secret.fromToken("bench-secret"),
  awsRegionName: Secret.fromToken("us-east-1")
})

const stats = async (reset: boolean) =>
  (await (await fetch(`${url}/__stats${reset ? "?reset=1" : ""}`)).json()) as { requests: number; throttled: number }

const prompts = () => Stream.range(1, items).pipe(Stream.map((i) => ({ id: `p${i}`, prompt: `prompt ${i}` })))

const contenders: Record<string, Effect.Effect<number, never, SagemakerGenerator.SagemakerGenerator>> = {
  [`adaptive (SagemakerBatch, from ${start})`]: SagemakerBatch.run(prompts(), {
    concurrency: start,
    maxConcurrency: 256
  }).pipe(
    Stream.runFold(0, (ok, result) => ok + (SagemakerBatch.isSuccess(result) ? 1 : 0)),
    Effect.orDie
  ),
  "fixed 256, default retries": fixed(256),
  [`fixed ${capacity} (the ideal), default retries`]: fixed(capacity)
}

function fixed(concurrency: number) {
  return prompts().pipe(
    Stream.mapEffect((item) => Effect.either(SagemakerGenerator.run(item.prompt)), { concurrency, unordered: true }),
    Stream.runFold(0, (ok, result) => ok + (result._tag === "Right" ? 1 : 0))
  )
}

const main = async () => {
  const ideal = (capacity / latency) * 1000
  const rows: Array<string> = []
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(generator)
    // Warm the sockets and the JIT.
    yield* Effect.provide(
      Effect.forEach(Chunk.range(1, 200), () => SagemakerGenerator.run("warm"), { concurrency: 32 }),
      context
    )
    for (const [name, contender] of Object.entries(contenders)) {
      yield* Effect.promise(() => stats(true))
      const start = performance.now()
      const ok = yield* Effect.provide(contender, context)
      const seconds = (performance.now() - start) / 1000
      const { requests, throttled } = yield* Effect.promise(() => stats(false))
      rows.push(
        `| ${name} | ${ok}/${items} | ${seconds.toFixed(2)} | ${(ok / seconds).toFixed(0)} | ` +
          `${(ok / seconds / ideal).toFixed(2)} | ${((100 * throttled) / requests).toFixed(1)} % |`
      )
    }
  })))
  process.stdout.write(
    `${items} prompts, capacity ${capacity} at ${latency} ms (ideal ${ideal.toFixed(0)}/s), http transport\n\n` +
      `| contender | succeeded | wall s | goodput /s | vs ideal | throttled requests |\n|---|---:|---:|---:|---:|---:|\n` +
      rows.join("\n") + "\n"
  )

  if (lines === 0) return
  // Memory: a long input through an instant generator; RSS sampled every 100,000 results.
  const instant = SagemakerGenerator.layerTest((prompt) => Effect.succeed({ replies: [prompt], meta: [{}] }))
  global.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const start = performance.now()
  await Effect.runPromise(
    SagemakerBatch.run(
      Stream.range(1, lines).pipe(Stream.map((i) => ({ prompt: `line ${i}` }))),
      { concurrency: 64, maxConcurrency: 256, ordered: true }
    ).pipe(
      Stream.runForEach((result) =>
        Effect.sync(() => {
          if (result.index % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().rss)
        })
      ),
      Effect.provide(instant),
      Effect.orDie
    )
  )
  process.stdout.write(
    `\n${lines} input lines (ordered, instant generator): ${((performance.now() - start) / 1000).toFixed(1)} s, ` +
      `RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MB ` +
      `(growth ${((peak - before) / 2 ** 20).toFixed(0)} MB)\n`
  )
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
