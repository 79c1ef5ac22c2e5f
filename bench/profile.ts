/**
 * CPU profile of one contender at 64 requests in flight, steady state only: warm up, then the V8
 * sampling profiler (through `node:inspector`) for `--seconds`. Writes the `.cpuprofile` (open it
 * in Chrome DevTools or speedscope) and prints one JSON line with the request count.
 *
 *   node node_modules/.cache/effect-sagemaker-bench/bench/profile.js --contender run --url URL --out FILE [--seconds 4]
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { makeStreaming, makeUnary, type StreamContender, type UnaryContender } from "./contenders.js"
import { experimentCaller, isVariant, streamVariants } from "./experiments.js"
import { streamContenders, unaryContenders } from "./names.js"
import { argValue, ENDPOINT, runReport, STREAM_TOKENS, streamEndpoint } from "./shared.js"

export interface ProfileReport {
  readonly contender: string
  readonly file: string
  readonly completed: number
  /** Events (stream contenders) or requests. */
  readonly units: number
  readonly errors: number
  readonly elapsedMs: number
  readonly cpuUs: number
}

const main = async () => {
  const argv = process.argv.slice(2)
  const contender = argValue(argv, "--contender") ?? "run"
  const url = argValue(argv, "--url") ?? ""
  const out = argValue(argv, "--out") ?? "profile.cpuprofile"
  const transport = argValue(argv, "--transport")
  const seconds = Number(argValue(argv, "--seconds") ?? "4")
  const streaming = (streamContenders as ReadonlyArray<string>).includes(contender) ||
    (streamVariants as ReadonlyArray<string>).includes(contender)
  const call: () => Promise<unknown> = (streamContenders as ReadonlyArray<string>).includes(contender)
    ? ((client) => () => client.call(streamEndpoint(STREAM_TOKENS)))(
      makeStreaming(contender as StreamContender, { url, transport })
    )
    : (unaryContenders as ReadonlyArray<string>).includes(contender)
    ? ((client) => () => client.call(ENDPOINT))(makeUnary(contender as UnaryContender, { url, transport }))
    : isVariant(contender)
    ? experimentCaller(contender, url)
    : (() => {
      throw new Error(`unknown contender ${contender}`)
    })()

  let completed = 0
  let errors = 0
  const load = async (durationMs: number) => {
    const deadline = performance.now() + durationMs
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (performance.now() < deadline) {
        await call().then(() => completed++, () => errors++)
      }
    }))
  }

  await load(1500)
  completed = 0
  errors = 0
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await load(seconds * 1000)
  const elapsedMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  writeFileSync(out, JSON.stringify(profile))
  const report: ProfileReport = {
    contender,
    file: out,
    completed,
    units: streaming ? completed * STREAM_TOKENS : completed,
    errors,
    elapsedMs,
    cpuUs: cpu.user + cpu.system
  }
  return report
}

runReport(main)
