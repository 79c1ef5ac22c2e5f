/** Every example in examples/ runs against the emulator and prints what its comments promise. */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as path from "node:path"

const run = (example: string) =>
  Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "..", "examples", example)],
      { env: { ...process.env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill())
  })

describe("examples", () => {
  it.live("first-program.ts: one reply and its finish reason", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("first-program.ts")
      assert.strictEqual(code, 0, stderr)
      const lines = stdout.trim().split("\n")
      assert.strictEqual(lines.length, 2, stdout)
      assert.isAbove(lines[0]!.trim().split(/\s+/).length, 5)
      assert.strictEqual(lines[1], "[finish reason: length, tokens: 24]")
    }))

  it.live("swapping-layers.ts: the same program under the test layer and the emulator", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("swapping-layers.ts")
      assert.strictEqual(code, 0, stderr)
      assert.match(stdout, /^test layer: {5}a short summary \(asked \["Summarize: Effect layers"\]\)\n/)
      assert.match(stdout, /\nemulator layer: \S.+\n$/)
    }))

  it.live("retry-and-timeout.ts: two retried failures, then a reply; a timeout that gives up", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("retry-and-timeout.ts")
      assert.strictEqual(code, 0, stderr)
      const lines = stdout.trim().split("\n")
      assert.deepStrictEqual(lines.slice(0, 2), [
        "attempt failed: SagemakerNotReadyError (retryable: true)",
        "attempt failed: SagemakerNotReadyError (retryable: true)"
      ])
      assert.match(lines[2]!, /^warming-up answered: \S/)
      assert.strictEqual(lines[3], "slow: (gave up after 300 ms)")
    }))

  it.live("streaming.ts: tokens, then the chunk count and finish reason", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("streaming.ts")
      assert.strictEqual(code, 0, stderr)
      assert.match(stdout, /\n\[30 chunks, finish reason: length\]\n$/)
    }))

  it.live("chat.ts: a tool call answered by its handler, the answer quoting it, an object, a streamed answer", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("chat.ts")
      assert.strictEqual(code, 0, stderr)
      const lines = stdout.trim().split("\n")
      const call = /^tool call: get_weather\(\{"city":"([^"]+)"\}\) -> Sunny, 21°C in (.+)$/.exec(lines[0]!)
      assert.isNotNull(call, lines[0])
      assert.strictEqual(call![2], call![1])
      assert.match(
        lines[1]!,
        new RegExp(`^answer: The tool returned "Sunny, 21°C in ${call![1]}"\\. .+ \\[finish: length\\]$`)
      )
      const object = JSON.parse(lines[2]!.replace(/^object: /, ""))
      assert.deepStrictEqual(Object.keys(object), ["name", "population"])
      assert.isAbove(lines[3]!.split(" ").length, 10)
      assert.match(lines[4]!, /^\[finish: length, tokens: \d+ in, 40 out\]$/)
    }))

  it.live("async.ts: three handles kept as JSON, then three results collected from S3", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("async.ts")
      assert.strictEqual(code, 0, stderr)
      const lines = stdout.trim().split("\n")
      assert.match(lines[0]!, /^submitted 3; first handle: \{"endpointName":"my-async-endpoint","inferenceId":/)
      assert.strictEqual(lines.length, 4, stdout)
      assert.match(lines[1]!, /^What is a river delta\? -> What is a river delta\? \S/)
      assert.match(lines[3]!, /^How do glaciers move\? -> How do glaciers move\? \S/)
    }))

  it.live("embeddings.ts: the same sentence scores 1, every vector has the same length", () =>
    Effect.gen(function*() {
      const { code, stdout, stderr } = yield* run("embeddings.ts")
      assert.strictEqual(code, 0, stderr)
      const lines = stdout.trim().split("\n")
      assert.match(lines[0]!, /^1\.000 {2}The cat sat on the mat\.$/)
      assert.strictEqual(lines.length, 4)
      assert.match(lines[3]!, /^\[3 vectors of 32 numbers\]$/)
    }))
})
