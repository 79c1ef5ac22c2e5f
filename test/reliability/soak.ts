/**
 * The long soak (`npm run soak`): many thousands of calls with random faults at high concurrency
 * against the emulator on loopback, bounded in count and time. Prints its figures as Markdown and
 * exits non-zero when a call ended in something other than a reply or its endpoint's typed error,
 * a rejection went unhandled, a socket stayed open or the heap did not come back.
 *
 *   npm run soak -- --calls 20000 --concurrency 500 --seed 7 --max-seconds 300 [--transport sdk|http]
 *
 * Without `--transport`, every transport of `test/helpers/transports.ts` runs, one after another
 * in this process (run one per process for memory figures that do not carry over).
 */
import "./env.js"
import * as Effect from "effect/Effect"
import { formatFigures, runSoak } from "../helpers/soak.js"
import { transports } from "../helpers/transports.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const value = i === -1 ? undefined : Number(process.argv[i + 1])
  return value === undefined || !Number.isFinite(value) ? fallback : value
}

/** Heap growth tolerated between warm-up and the end (after GC). */
const MAX_HEAP_GROWTH = 64 * 1_048_576

const only = process.argv.includes("--transport") ? process.argv[process.argv.indexOf("--transport") + 1] : undefined

const main = Effect.gen(function*() {
  let failed = false
  const selected = transports.filter((t) => only === undefined || t.name === only)
  if (selected.length === 0) {
    console.error(`unknown transport ${only} (expected one of ${transports.map((t) => t.name).join(", ")})`)
    process.exitCode = 1
  }
  for (const transport of selected) {
    const figures = yield* runSoak({
      calls: arg("calls", 20_000),
      concurrency: arg("concurrency", 500),
      seed: arg("seed", 7),
      maxMillis: arg("max-seconds", 300) * 1000,
      warmup: 1_000,
      transport
    })
    console.log(`\n### Soak, ${transport.name} transport\n`)
    console.log(formatFigures(figures))
    const problems = [
      figures.completed !== figures.calls && `${figures.calls - figures.completed} call(s) did not complete`,
      figures.hung > 0 && `${figures.hung} call(s) hung`,
      figures.unexpected.length > 0 && `unexpected outcomes: ${figures.unexpected.join("; ")}`,
      figures.defects.length > 0 && `defects: ${figures.defects.join("\n")}`,
      figures.unhandledRejections > 0 && `${figures.unhandledRejections} unhandled rejection(s)`,
      figures.openConnectionsAfter > 0 && `${figures.openConnectionsAfter} connection(s) left open`,
      Object.keys(figures.resourcesLeft).length > 0 && `resources left: ${JSON.stringify(figures.resourcesLeft)}`,
      figures.memoryAfter.heapUsed - figures.memoryBefore.heapUsed > MAX_HEAP_GROWTH &&
      "the heap grew by more than 64 MB"
    ].filter((p): p is string => typeof p === "string")
    if (problems.length > 0) {
      failed = true
      console.error(`\nFAILED:\n- ${problems.join("\n- ")}`)
    }
  }
  if (failed) process.exitCode = 1
})

Effect.runPromise(main)
