/**
 * `effect-sagemaker batch --async` run as a child process, as a user runs it, against an emulator
 * the test starts (its async endpoints and its S3 endpoint, shared by every run of a test): each
 * submission is recorded in the output before its result; a SIGKILL mid-run, then the same command
 * again, submits only the items without a recorded submission and collects the others from their
 * handles, so that SageMaker sees one submission per item; `--retry-failed` submits the failures
 * again; the embedded emulator serves `--async` too; usage errors send nothing. No planted secret
 * appears in any output.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerAsync from "../src/SagemakerAsync.js"
import { assertFailure, assertNoSecret, buildBin, credentials, removeBin, runCli, spawnCli } from "./helpers/cli.js"

beforeAll(() => void buildBin(), 60_000)
afterAll(() => removeBin())

const ASYNC = "async-ep"

/** A folder for one test's files, removed after it. */
const tmp = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-batch-async-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const jsonl = (items: ReadonlyArray<unknown>) => items.map((item) => `${JSON.stringify(item)}\n`).join("")

const prompts = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `item-${i}`, prompt: `Prompt number ${i}` }))

interface OutputLine {
  readonly id: string
  readonly submitted?: unknown
  readonly replies?: ReadonlyArray<string>
  readonly error?: { readonly tag: string; readonly message: string }
  readonly attempts?: number
  readonly latency_ms?: number
}

/** The output's whole lines (a line SIGKILL cut short is not one), split by kind; every submission decodes as a handle. */
const readOutput = (file: string) => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  assertNoSecret(text)
  const lines = text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as OutputLine)
  const submitted = lines.filter((line) => line.submitted !== undefined)
  for (const line of submitted) {
    const handle = Schema.decodeUnknownSync(SagemakerAsync.Handle)(line.submitted)
    assert.strictEqual(handle.endpointName, ASYNC)
  }
  const results = lines.filter((line) => line.submitted === undefined)
  for (const result of results) {
    assert.isNumber(result.attempts)
    assert.isNumber(result.latency_ms)
    assert.isTrue(Array.isArray(result.replies) || typeof result.error?.tag === "string", JSON.stringify(result))
  }
  // A result is written after its submission, never before.
  for (const [at, line] of lines.entries()) {
    if (line.submitted === undefined) continue
    assert.isFalse(lines.slice(0, at).some((earlier) => earlier.id === line.id), `${line.id} submitted after a result`)
  }
  return { submitted: submitted.map((line) => line.id), results }
}

const assertEachOnce = (ids: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  assert.strictEqual(new Set(ids).size, ids.length, "no id twice")
  assert.deepStrictEqual([...ids].sort(), [...expected].sort())
}

/** Waits until `file` records at least `n` submissions. */
const awaitSubmissions = (file: string, n: number) =>
  Effect.sync(() => fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\"submitted\":").length - 1 : 0).pipe(
    Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (count) => count >= n }),
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`${file} never had ${n} submissions`) }),
    Effect.orDie
  )

/** The async submissions SageMaker accepted (202); `aborted`: those the client gave up before an answer. */
const submissions = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => {
    const async = requests.filter((r) => r.operation === "async")
    return {
      accepted: async.filter((r) => r.status === 202),
      aborted: async.filter((r) => r.status === 0).length,
      other: async.filter((r) => r.status !== 202 && r.status !== 0).length
    }
  })

const inputsOf = (request: SagemakerEmulator.RecordedRequest) =>
  (JSON.parse(request.bodyText) as { inputs: string }).inputs

/** A folder with `prompts.jsonl`, the path of `results.jsonl`, an emulator with `async-ep`, and the command line. */
const workspace = (items: ReadonlyArray<unknown>, options: SagemakerEmulator.Options = {}) =>
  Effect.gen(function*() {
    const dir = yield* tmp
    const emulator = yield* SagemakerEmulator.make({ asyncEndpoints: [ASYNC], recordLimit: 10_000, ...options })
    const input = path.join(dir, "prompts.jsonl")
    const output = path.join(dir, "results.jsonl")
    fs.writeFileSync(input, jsonl(items))
    const args = (...extra: ReadonlyArray<string>) => [
      "batch",
      "--async",
      "--endpoint",
      ASYNC,
      "--endpoint-url",
      emulator.url,
      "--s3-endpoint-url",
      emulator.s3Url,
      "--param",
      "max_new_tokens=3",
      "--poll-interval",
      "100ms",
      "--input",
      input,
      "--output",
      output,
      ...extra
    ]
    return { dir, emulator, input, output, args }
  })

describe("effect-sagemaker batch --async", () => {
  it.scopedLive("SIGKILL mid-run, then the same command: only the items never submitted are, one submission each", () =>
    Effect.gen(function*() {
      const items = prompts(12)
      const ids = items.map((item) => item.id)
      // Each submission takes 300 ms to be accepted and one at a time, each result 600 ms more to
      // be written: the kill lands while submissions are still to come and results still to collect.
      const { args, emulator, output } = yield* workspace(items, {
        async: { delayMillis: 600 },
        faults: { [ASYNC]: { kind: "latency", millis: 300 } }
      })
      const command = args("--concurrency", "1", "--progress-interval", "100ms")
      const cli = yield* spawnCli(command, { env: credentials })
      yield* awaitSubmissions(output, 4)
      yield* cli.kill("SIGKILL")
      const killed = yield* cli.exit
      assert.strictEqual(killed.code, null)
      assert.match(
        killed.stderr,
        /progress: \d+\/12 \(\d+%\), \S+\/s, ETA \S+, 0 failed, \d+ submitted, 0 resumed, \d+ pending\n/
      )
      const first = readOutput(output)
      assert.isAtLeast(first.submitted.length, 4)
      assert.isBelow(first.submitted.length, 12)
      // Some submissions are recorded without their result: the second run must collect them.
      const pending = first.submitted.filter((id) => !first.results.some((result) => result.id === id))
      assert.isAbove(pending.length, 0)
      const afterKill = yield* submissions(emulator)
      // Every submission SageMaker accepted is in the output; the one in flight was abandoned unanswered.
      assert.strictEqual(afterKill.accepted.length, first.submitted.length)
      assert.isAtMost(afterKill.aborted, 1)

      // The real-time route refuses to touch an output holding submissions without a result.
      const asyncOnly = new Set(["--s3-endpoint-url", "--poll-interval"])
      const syncCommand = command.filter((arg, i) =>
        arg !== "--async" && !asyncOnly.has(arg) && !asyncOnly.has(command[i - 1]!)
      )
      const sync = yield* runCli(syncCommand, { env: credentials })
      assert.strictEqual(sync.code, 2, sync.stderr)
      assert.match(
        sync.stderr,
        /error: UsageError: --output .* holds \d+ async submissions? without a result: run with --async to collect them\n$/
      )
      assert.strictEqual((yield* submissions(emulator)).accepted.length, first.submitted.length)

      const resumed = yield* runCli(command, { env: credentials })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assertNoSecret(resumed, killed)
      assert.match(
        resumed.stderr,
        new RegExp(`^resuming ${pending.length} submissions? of .*: awaited, not sent again\\n`)
      )
      const done = 12 - first.results.length
      assert.match(
        resumed.stderr,
        new RegExp(
          `batch done: ${done} of ${done} items in \\S+ \\(\\S+\\)\\n {2}succeeded {2}${done}\\n {2}failed {5}0\\n` +
            ` {2}submitted {2}${12 - first.submitted.length} \\(async inference\\)\\n` +
            ` {2}resumed {4}${pending.length} \\(submitted by an earlier run, awaited from .*\\)\\n` +
            ` {2}collected {2}${done} results from S3\\n`
        )
      )
      const final = readOutput(output)
      assertEachOnce(final.results.map((result) => result.id), ids)
      assertEachOnce(final.submitted, ids)
      assert.isTrue(final.results.every((result) => result.error === undefined), JSON.stringify(final.results))
      const all = yield* submissions(emulator)
      // One accepted submission per item, across both runs: the second sent exactly the items never submitted.
      assert.strictEqual(all.accepted.length, 12)
      assertEachOnce(all.accepted.map(inputsOf), items.map((item) => item.prompt))
      assert.strictEqual(all.other, 0)
      assert.isFalse(fs.existsSync(`${output}.lock`))

      // Once more: every result is there, nothing is sent.
      const again = yield* runCli(command, { env: credentials })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.match(again.stderr, /^nothing to do: /)
      assert.strictEqual((yield* submissions(emulator)).accepted.length, 12)
    }))

  it.scopedLive("a failed item exits 2 with its error; --retry-failed submits only it again", () =>
    Effect.gen(function*() {
      let refuse = true
      const model = SagemakerEmulator.personalityResponder("default")
      const items = prompts(8).map((item, i) => i === 5 ? { ...item, prompt: `FAIL ${i}` } : item)
      // The container refuses prompts that start with FAIL: the queue writes a failure object.
      const { args, emulator, output } = yield* workspace(items, {
        responder: (request) =>
          refuse && String((request.json as { inputs?: unknown }).inputs).startsWith("FAIL")
            ? { status: 400, body: JSON.stringify({ error: "refused by the test's container" }) }
            : model(request)
      })
      const run = yield* runCli(args(), { env: credentials })
      assert.strictEqual(run.code, 2, run.stderr)
      assert.match(
        run.stderr,
        /\n {2}failed {5}1 \(SagemakerInferenceError 1\)\n {2}submitted {2}8 \(async inference\)\n/
      )
      assert.match(
        run.stderr,
        /\nerror: ItemsFailed: 1 of 8 items failed: their errors are in .* \(--retry-failed redoes them\)\n$/
      )
      const first = readOutput(output)
      assertEachOnce(first.submitted, items.map((item) => item.id))
      const failed = first.results.filter((result) => result.error !== undefined)
      assert.deepStrictEqual(failed.map((result) => result.id), ["item-5"])
      assert.include(failed[0]!.error!.message, "refused by the test's container")

      refuse = false
      const retried = yield* runCli(args("--retry-failed"), { env: credentials })
      assert.strictEqual(retried.code, 0, retried.stderr)
      assert.match(retried.stderr, /^retrying 1 failed item of /)
      assert.match(retried.stderr, /\n {2}submitted {2}1 \(async inference\)\n {2}resumed {4}0 /)
      const accepted = (yield* submissions(emulator)).accepted
      assert.deepStrictEqual(accepted.slice(8).map(inputsOf), ["FAIL 5"])
      const final = readOutput(output)
      // The failure and its submission were taken out; the item has one of each again.
      assertEachOnce(final.submitted, items.map((item) => item.id))
      assertEachOnce(final.results.map((result) => result.id), items.map((item) => item.id))
      assert.isTrue(final.results.every((result) => result.error === undefined))
    }))

  it.scopedLive("the embedded emulator serves --async; its submissions cannot outlive it", () =>
    Effect.gen(function*() {
      const dir = yield* tmp
      const output = path.join(dir, "results.jsonl")
      const run = yield* runCli(["batch", "--async", "--text", "--output", output, "--poll-interval", "50ms"], {
        stdin: "first prompt\nsecond prompt\n"
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(
        run.stderr,
        /^No endpoint configured .* embedded SageMaker emulator's async endpoint at http:\/\/127\.0\.0\.1:\d+ /
      )
      assert.match(run.stderr, /batch done: 2 of 2 items .*\n {2}succeeded {2}2\n {2}failed {5}0\n {2}submitted {2}2 /)
      const lines = fs.readFileSync(output, "utf8").split("\n").slice(0, -1).map((line) =>
        JSON.parse(line) as OutputLine
      )
      assert.deepStrictEqual(lines.map((line) => [line.id, line.submitted === undefined]).sort(), [
        ["1", false],
        ["1", true],
        ["2", false],
        ["2", true]
      ])
      // Its submission without a result: that emulator is gone, and its S3 with it.
      const orphan = path.join(dir, "orphan.jsonl")
      fs.writeFileSync(orphan, `${JSON.stringify(lines.find((line) => line.submitted !== undefined))}\n`)
      const refused = yield* runCli(["batch", "--async", "--text", "--output", orphan], { stdin: "first prompt\n" })
      assert.strictEqual(refused.code, 2, refused.stderr)
      assert.match(
        refused.stderr,
        /error: UsageError: --output .* holds 1 submission to the embedded emulator of an earlier run/
      )
    }))

  it.scopedLive("usage errors send nothing: flags that need --async, flags it refuses, a submission that is no handle", () =>
    Effect.gen(function*() {
      const { args, dir, emulator, input, output } = yield* workspace(prompts(2))
      const plain = ["batch", "--endpoint", ASYNC, "--endpoint-url", emulator.url, "--input", input, "--output", output]
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [[...plain, "--input-location", "s3://bucket/in/"], "--input-location needs --async"],
        [[...plain, "--poll-interval", "1s"], "--poll-interval needs --async"],
        [args("--ordered"), "--ordered does not go with --async: results are written as they are collected"],
        [
          args("--max-concurrency", "8"),
          "--max-concurrency does not go with --async: submissions do not adapt, --concurrency sets how many are in flight"
        ],
        [
          args("--input-location", "/tmp/inputs"),
          "--input-location must be an S3 prefix such as s3://my-bucket/inputs/, got \"/tmp/inputs\""
        ],
        [
          ["batch", "--async", "--input", input, "--output", output, "--s3-endpoint-url", emulator.s3Url],
          "--s3-endpoint-url needs an endpoint name (--endpoint or SAGEMAKER_ENDPOINT_NAME): the embedded emulator has its own S3"
        ]
      ]
      for (const [command, message] of cases) {
        assertFailure(yield* runCli(command, { env: credentials }), 2, `error: UsageError: ${message}`)
      }
      fs.writeFileSync(output, `${JSON.stringify({ id: "item-0", submitted: { inferenceId: "x" } })}\n`)
      assertFailure(
        yield* runCli(args(), { env: credentials }),
        2,
        `error: UsageError: --output ${output} holds 1 submission that is no SagemakerAsync handle (the first: the id ` +
          `"item-0"): give another --output`
      )
      assert.deepStrictEqual((yield* emulator.requests).map((r) => r.path), [])
      assert.isFalse(fs.existsSync(path.join(dir, "results.jsonl.lock")))
    }))
})
