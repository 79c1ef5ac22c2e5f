/**
 * The LLM scenario: `--count` generations at once against an endpoint that takes `--delay`
 * milliseconds to answer each. With enough sockets they all finish in about one delay; a socket
 * pool of 50 (the SDK's default) makes it count / 50 delays.
 *
 *   node node_modules/.cache/effect-sagemaker-bench/bench/concurrency.js --contender run --url URL --count 1000 --delay 1000
 *
 * Contenders: `run` (`SagemakerGenerator.run`, default `maxConcurrency`, in `Effect.forEach` with
 * unbounded concurrency), `run-http` (same, lean transport), `sdk-default` (the raw SDK's default
 * client), `sdk-1024` (the raw SDK with a pool of 1,024 sockets), `floor` (`node:http` + SigV4,
 * 1,024 sockets, all kept between batches).
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { generatorOptions, makeUnary } from "./contenders.js"
import { argValue, delayedEndpoint, PROMPT, runReport } from "./shared.js"

export interface ConcurrencyReport {
  readonly contender: string
  readonly count: number
  readonly delayMs: number
  /** The first batch: new sockets, cold code. */
  readonly wallMs: number
  /** The same batch again in the same process: sockets kept alive, code warm (not with `--once`). */
  readonly warmWallMs: number | undefined
  readonly errors: number
  readonly firstError: string | undefined
  readonly cpuMs: number
  readonly maxRssMb: number
}

const main = async () => {
  const argv = process.argv.slice(2)
  const contender = argValue(argv, "--contender") ?? ""
  const url = argValue(argv, "--url") ?? ""
  const transport = argValue(argv, "--transport")
  const count = Number(argValue(argv, "--count") ?? "1000")
  const delayMs = Number(argValue(argv, "--delay") ?? "1000")
  const endpoint = delayedEndpoint(delayMs)
  let errors = 0
  let firstError: string | undefined
  const failed = (error: unknown) => {
    errors++
    firstError ??= String(error)
  }
  let wallMs: number
  let warmWallMs: number | undefined
  const once = argv.includes("--once")
  const cpu0 = process.cpuUsage()
  if (contender === "run" || contender === "run-http") {
    const runtime = ManagedRuntime.make(
      SagemakerGenerator.layer(
        generatorOptions({ url, transport: contender === "run-http" ? transport : undefined }, endpoint)
      )
    )
    await runtime.runtime()
    const batch = async () => {
      const t0 = performance.now()
      await runtime.runPromise(
        Effect.forEach(
          Array.from({ length: count }),
          () => SagemakerGenerator.run(PROMPT).pipe(Effect.catchAll((error) => Effect.sync(() => failed(error)))),
          { concurrency: "unbounded", discard: true }
        )
      )
      return performance.now() - t0
    }
    wallMs = await batch()
    warmWallMs = once ? undefined : await batch()
    await runtime.dispose()
  } else if (contender === "floor" || contender === "sdk-default" || contender === "sdk-1024") {
    const client = contender === "floor"
      ? makeUnary("floor", { url, maxSockets: 1024 })
      : makeUnary("sdk", { url, maxSockets: contender === "sdk-1024" ? 1024 : undefined })
    const batch = async () => {
      const t0 = performance.now()
      await Promise.all(Array.from({ length: count }, () => client.call(endpoint).catch(failed)))
      return performance.now() - t0
    }
    wallMs = await batch()
    warmWallMs = once ? undefined : await batch()
    await client.close()
  } else {
    throw new Error(`unknown contender ${contender}`)
  }
  const cpu = process.cpuUsage(cpu0)
  const report: ConcurrencyReport = {
    contender,
    count,
    delayMs,
    wallMs,
    warmWallMs,
    errors,
    firstError,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024
  }
  return report
}

runReport(main)
