/**
 * The stream `timeout` per pull: no timeout, `Stream.timeoutFail` (a race, two fibers forked per
 * pull) and `gapTimeout` (`src/internal/gapTimeout.ts`: one producer and one watchdog fiber per
 * stream). In memory, no I/O: every pull of the source answers at once, as many pulls as a model
 * streaming token by token makes. CPU µs per pull over 50 streams at a time; variants taken in
 * turn, rounds rotated, median of the rounds.
 *
 *   npm run bench -- --gap-timeout
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { gapTimeout } from "../src/internal/stream/gapTimeout.js"
import { median } from "./shared.js"

const PULLS = 100
const STREAMS = 300
const ROUNDS = 7

const source = () => {
  let n = 0
  return Stream.repeatEffectChunkOption(
    Effect.suspend(() => n++ < PULLS ? Effect.succeed(Chunk.of(n)) : Effect.fail(Option.none()))
  )
}

const variants: Record<string, () => Stream.Stream<number, string>> = {
  "no timeout": source,
  "Stream.timeoutFail": () => Stream.timeoutFail(source(), () => "timeout", "10 seconds"),
  "gapTimeout": () => gapTimeout(source(), "10 seconds", () => "timeout")
}

const cpuPerPull = async (make: () => Stream.Stream<number, string>): Promise<number> => {
  const start = process.cpuUsage()
  for (let i = 0; i < STREAMS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => Effect.runPromise(Stream.runDrain(make()))))
  }
  const used = process.cpuUsage(start)
  return (used.user + used.system) / (STREAMS * PULLS)
}

const main = async () => {
  const names = Object.keys(variants)
  const results: Record<string, Array<number>> = {}
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      const cpu = await cpuPerPull(variants[name]!)
      if (round > 0) (results[name] ??= []).push(cpu) // round 0 warms up
    }
  }
  const base = median(results["no timeout"]!)
  process.stdout.write(
    `| variant | CPU µs/pull | over no timeout |\n|---|---:|---:|\n` +
      names.map((name) => {
        const cpu = median(results[name]!)
        return `| ${name} | ${cpu.toFixed(1)} | ${name === "no timeout" ? "–" : `+${(cpu - base).toFixed(1)}`} |`
      }).join("\n") + "\n"
  )
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
