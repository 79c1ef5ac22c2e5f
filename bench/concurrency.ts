/**
 * The LLM scenario: `--count` generations at once against an endpoint that takes `--delay`
 * milliseconds to answer each. With enough sockets they all finish in about one delay; a socket
 * pool of 50 (the SDK's default) makes it count / 50 delays. One contender per process, so that
 * each one's memory is its own.
 *
 *   node node_modules/.cache/effect-sagemaker-bench/bench/concurrency.js --contender run-http --url URL --count 1000 --delay 1000
 *
 * Contenders: `run` and `run-http` (`SagemakerGenerator.run` on the `sdk` and `http` transports,
 * named explicitly, default `maxConcurrency`, in `Effect.forEach` with unbounded concurrency),
 * `sdk-default` (the raw SDK's default client), `sdk-1024` (the raw SDK with a pool of 1,024
 * sockets), `floor` (`node:http` + SigV4, 1,024 sockets, all kept between batches),
 * `langchain-1024` (LangChain JS's `SageMakerEndpoint.invoke`, its SDK client given 1,024
 * sockets).
 *
 * Memory: the peak RSS of the process (`resourceUsage().maxRSS`), and `heapUsed` and RSS sampled
 * every 10 ms during the batches (their peaks), with the heap at rest before the first batch.
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { generatorOptions, makeUnary, type Unary } from "./contenders.js"
import { transportOf } from "./names.js"
import { argValue, delayedEndpoint, PROMPT, runReport } from "./shared.js"

export interface ConcurrencyReport {
  readonly contender: string
  readonly count: number
  readonly delayMs: number
  /** The round of the scenario (each round runs every contender once, the order rotated). */
  readonly round?: number | undefined
  /** The first batch: new sockets, cold code. */
  readonly wallMs: number
  /** The same batch again in the same process: sockets kept alive, code warm (not with `--once`). */
  readonly warmWallMs: number | undefined
  readonly errors: number
  readonly firstError: string | undefined
  readonly cpuMs: number
  readonly maxRssMb: number
  /** `heapUsed` after setup, before the first batch. */
  readonly heapBeforeMb?: number | undefined
  /** The largest `heapUsed` sampled during the batches. */
  readonly peakHeapMb?: number | undefined
  /** The largest RSS sampled during the batches. */
  readonly peakRssMb?: number | undefined
}

const MB = 2 ** 20

/** Samples the heap and RSS every 10 ms until stopped; keeps the peaks. */
const sampler = () => {
  let heap = 0
  let rss = 0
  const sample = () => {
    const usage = process.memoryUsage()
    heap = Math.max(heap, usage.heapUsed)
    rss = Math.max(rss, usage.rss)
  }
  const timer = setInterval(sample, 10)
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      return { peakHeapMb: heap / MB, peakRssMb: rss / MB }
    }
  }
}

const main = async () => {
  const argv = process.argv.slice(2)
  const contender = argValue(argv, "--contender") ?? ""
  const url = argValue(argv, "--url") ?? ""
  const count = Number(argValue(argv, "--count") ?? "1000")
  const delayMs = Number(argValue(argv, "--delay") ?? "1000")
  const round = argValue(argv, "--round")
  const endpoint = delayedEndpoint(delayMs)
  let errors = 0
  let firstError: string | undefined
  const failed = (error: unknown) => {
    errors++
    firstError ??= String(error)
  }
  const once = argv.includes("--once")
  const cpu0 = process.cpuUsage()
  let batch: () => Promise<void>
  let close: () => Promise<void>
  if (contender === "run" || contender === "run-http") {
    const runtime = ManagedRuntime.make(
      SagemakerGenerator.layer(generatorOptions({ url, transport: transportOf[contender] }, endpoint))
    )
    await runtime.runtime()
    batch = () =>
      runtime.runPromise(
        Effect.forEach(
          Array.from({ length: count }),
          () => SagemakerGenerator.run(PROMPT).pipe(Effect.catchAll((error) => Effect.sync(() => failed(error)))),
          { concurrency: "unbounded", discard: true }
        )
      )
    close = () => runtime.dispose()
  } else if (["floor", "sdk-default", "sdk-1024", "langchain-1024"].includes(contender)) {
    const client: Unary = contender === "floor"
      ? makeUnary("floor", { url, maxSockets: 1024 })
      : contender === "langchain-1024"
      ? await (await import("./langchain.js")).langchainUnary({ url, maxSockets: 1024 })
      : makeUnary("sdk", { url, maxSockets: contender === "sdk-1024" ? 1024 : undefined })
    batch = () => Promise.all(Array.from({ length: count }, () => client.call(endpoint).catch(failed))).then(() => {})
    close = client.close
  } else {
    throw new Error(`unknown contender ${contender}`)
  }
  const heapBeforeMb = process.memoryUsage().heapUsed / MB
  const memory = sampler()
  const timed = async () => {
    const t0 = performance.now()
    await batch()
    return performance.now() - t0
  }
  const wallMs = await timed()
  const warmWallMs = once ? undefined : await timed()
  const peaks = memory.stop()
  await close()
  const cpu = process.cpuUsage(cpu0)
  const report: ConcurrencyReport = {
    contender,
    count,
    delayMs,
    round: round === undefined ? undefined : Number(round),
    wallMs,
    warmWallMs,
    errors,
    firstError,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapBeforeMb,
    ...peaks
  }
  return report
}

runReport(main)
