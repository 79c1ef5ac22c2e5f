/**
 * `effect-sagemaker batch` run as a child process against the emulator, as a user runs it: the
 * output holds each id exactly once, well-formed; failed items are in it with their errors (exit
 * code 2); the output is the checkpoint (a SIGKILL mid-run, then the same command again, redoes
 * only what was in flight; a torn last line is redone; `--retry-failed`); shards split the input;
 * bad input is refused by its line number before any request; SIGINT leaves every finished result
 * on disk. No planted secret appears in any output or in the results file.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fnv1a32 } from "../src/cli/batchInput.js"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { SagemakerError, SagemakerInferenceError } from "../src/SagemakerError.js"
import { assertFailure, assertNoSecret, buildBin, credentials, removeBin, runCli, spawnCli } from "./helpers/cli.js"

beforeAll(() => void buildBin(), 60_000)
afterAll(() => removeBin())

/** A folder for one test's files, removed after it. */
const tmp = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-batch-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const jsonl = (items: ReadonlyArray<unknown>) => items.map((item) => `${JSON.stringify(item)}\n`).join("")

const prompts = (n: number, prefix = "item") =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, prompt: `Prompt number ${i}` }))

interface ResultLine {
  readonly id: string
  readonly replies?: ReadonlyArray<string>
  readonly meta?: ReadonlyArray<unknown>
  readonly error?: { readonly tag: string; readonly message: string; readonly detail?: unknown }
  readonly attempts: number
  readonly latency_ms: number
}

/** The output's lines, each checked to be a whole result line; the file ends with a newline. */
const readResults = (file: string): Array<ResultLine> => {
  const text = fs.readFileSync(file, "utf8")
  if (text.length === 0) return []
  assert.isTrue(text.endsWith("\n"), "the output ends with a whole line")
  assertNoSecret(text)
  return text.slice(0, -1).split("\n").map((line) => {
    const result = JSON.parse(line) as ResultLine
    assert.isString(result.id)
    assert.isNumber(result.attempts)
    assert.isNumber(result.latency_ms)
    if (result.error === undefined) {
      assert.isArray(result.replies)
      assert.isArray(result.meta)
      assert.strictEqual(result.replies!.length, result.meta!.length)
    } else {
      assert.isString(result.error.tag)
      assert.isString(result.error.message)
    }
    return result
  })
}

/** Every id of `expected` exactly once, nothing else. */
const assertEachOnce = (results: ReadonlyArray<ResultLine>, expected: ReadonlyArray<string>) => {
  const ids = results.map((result) => result.id)
  assert.strictEqual(new Set(ids).size, ids.length, "no id twice")
  assert.deepStrictEqual([...ids].sort(), [...expected].sort())
}

const lineCount = (file: string) => fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").length - 1 : 0

/** Waits until `file` has at least `n` whole lines. */
const awaitLines = (file: string, n: number) =>
  Effect.sync(() => lineCount(file)).pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (count) => count >= n }),
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`${file} never had ${n} lines`) }),
    Effect.orDie
  )

const inputsOf = (request: SagemakerEmulator.RecordedRequest) =>
  (JSON.parse(request.bodyText) as { inputs: string }).inputs

const noRequests = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => assert.deepStrictEqual(requests.map((r) => r.path), []))

const batch = (emulator: SagemakerEmulator.Service, endpoint: string, ...args: ReadonlyArray<string>) => [
  "batch",
  "--endpoint",
  endpoint,
  "--endpoint-url",
  emulator.url,
  "--param",
  "max_new_tokens=3",
  ...args
]

/** A folder with `prompts.jsonl` (`input`, JSON lines of `items` or the text given), the path of `results.jsonl` in it, and an emulator. */
const workspace = (items: string | ReadonlyArray<unknown>, options: SagemakerEmulator.Options = {}) =>
  Effect.gen(function*() {
    const dir = yield* tmp
    const emulator = yield* SagemakerEmulator.make(options)
    const input = path.join(dir, "prompts.jsonl")
    fs.writeFileSync(input, typeof items === "string" ? items : jsonl(items))
    return { dir, emulator, input, output: path.join(dir, "results.jsonl") }
  })

/** Requests in flight are at most the concurrency limit; results received but not yet written wait in the stream's buffer of 16. */
const IN_FLIGHT_BOUND = 8 + 16

describe("effect-sagemaker batch", () => {
  it.scopedLive("a run writes each id once, well-formed, prints a summary and exits 0", () =>
    Effect.gen(function*() {
      const items = prompts(40)
      const { emulator, input, output } = yield* workspace(
        jsonl([...items.slice(0, 20), { prompt: "no id: its line number is its id" }, ...items.slice(20)]) +
          "\n" + jsonl([{ id: "kw", prompt: "with kwargs", generation_kwargs: { max_new_tokens: 1, seed: 3 } }])
      )
      const run = yield* runCli(batch(emulator, "ep", "--input", input, "--output", output), { env: credentials })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.stdout, "")
      assert.match(run.stderr, /^batch done: 42 of 42 items in \S+ \(\S+\/s\)\n {2}succeeded {2}42\n {2}failed {5}0\n/)
      assertNoSecret(run)
      const results = readResults(output)
      assertEachOnce(results, [...items.map((item) => item.id), "21", "kw"])
      assert.isTrue(results.every((result) => result.error === undefined && result.attempts === 1))
      const requests = yield* emulator.requests
      assert.strictEqual(requests.length, 42)
      // The prompt is sent verbatim; --param applies to all, an item's generation_kwargs win over it.
      const kw = requests.find((request) => inputsOf(request) === "with kwargs")!
      assert.deepStrictEqual((JSON.parse(kw.bodyText) as { parameters: unknown }).parameters, {
        max_new_tokens: 1,
        seed: 3
      })
      const other = requests.find((request) => inputsOf(request) === "Prompt number 7")!
      assert.deepStrictEqual((JSON.parse(other.bodyText) as { parameters: unknown }).parameters, { max_new_tokens: 3 })
    }))

  it.scopedLive("throttled requests wait and go again, outside --no-retry; the summary counts them", () =>
    Effect.gen(function*() {
      const items = prompts(10)
      // SageMaker throttles the endpoint's first 5 requests.
      const { emulator, input, output } = yield* workspace(items, { faults: { busy: { kind: "throttle", count: 5 } } })
      const run = yield* runCli(batch(emulator, "busy", "--input", input, "--output", output, "--no-retry"), {
        env: credentials
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(
        run.stderr,
        /\n {2}succeeded {2}10\n {2}failed {5}0\n {2}retried {4}5 requests \(5 on a capacity signal\)\n/
      )
      const results = readResults(output)
      assertEachOnce(results, items.map((item) => item.id))
      assert.strictEqual(results.reduce((sum, result) => sum + result.attempts, 0), 15)
      assert.deepStrictEqual(
        (yield* emulator.requests).map((request) => request.status).sort(),
        [...Array(5).fill(400), ...Array(10).fill(200)].sort()
      )
    }))

  it.scopedLive("--text from a pipe, against the embedded emulator; --quiet prints nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tmp
      const output = path.join(dir, "results.jsonl")
      const run = yield* runCli(["batch", "--text", "--output", output, "--param", "max_new_tokens=2"], {
        stdin: "first prompt\n\nsecond prompt\r\nthird prompt"
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stderr, /^No endpoint configured .* embedded SageMaker emulator at http:\/\/127\.0\.0\.1:\d+\n/)
      assert.match(run.stderr, /batch done: 3 of 3 items/)
      assertNoSecret(run)
      // A prompt's id is its line number; the blank line 2 is no item.
      assertEachOnce(readResults(output), ["1", "3", "4"])

      const emulator = yield* SagemakerEmulator.make({})
      const quiet = yield* runCli(batch(emulator, "ep", "--text", "--quiet", "--output", path.join(dir, "q.jsonl")), {
        env: credentials,
        stdin: "one\ntwo\n"
      })
      assert.strictEqual(quiet.code, 0, quiet.stderr)
      assert.strictEqual(quiet.stderr, "")
      assert.deepStrictEqual((yield* emulator.requests).map(inputsOf).sort(), ["one", "two"])
    }))

  it.scopedLive("failed items are in the output with their errors, exit 2; --retry-failed redoes only them", () =>
    Effect.gen(function*() {
      let refuse = true
      const model = SagemakerEmulator.personalityResponder("default")
      const items = prompts(20).map((item, i) => i % 7 === 3 ? { ...item, prompt: `FAIL ${i}` } : item)
      // The container refuses prompts that start with FAIL (a 400, which SageMaker answers as a 424 ModelError).
      const { emulator, input, output } = yield* workspace(items, {
        responder: (request) =>
          refuse && String((request.json as { inputs?: unknown }).inputs).startsWith("FAIL")
            ? { status: 400, body: JSON.stringify({ error: "refused by the test's container" }) }
            : model(request)
      })
      const args = batch(emulator, "ep", "--input", input, "--output", output)
      const run = yield* runCli(args, { env: credentials })
      assert.strictEqual(run.code, 2, run.stderr)
      assert.match(run.stderr, /\n {2}failed {5}3 \(SagemakerInferenceError 3\)\n/)
      assert.match(
        run.stderr,
        new RegExp(
          `\\nerror: ItemsFailed: 3 of 20 items failed: their errors are in ${escape(output)} ` +
            `\\(--retry-failed redoes them\\)\\n$`
        )
      )
      assertNoSecret(run)
      const results = readResults(output)
      assertEachOnce(results, items.map((item) => item.id))
      const failed = results.filter((result) => result.error !== undefined)
      assert.deepStrictEqual(failed.map((result) => result.id).sort(), ["item-10", "item-17", "item-3"])
      // The error's Schema encoding decodes back to the library's error.
      const error = Schema.decodeUnknownSync(SagemakerError)(failed[0]!.error!.detail)
      assert.instanceOf(error, SagemakerInferenceError)
      assert.strictEqual(error._tag === "SagemakerInferenceError" && error.originalStatusCode, 400)
      assert.strictEqual(failed[0]!.error!.message, error.message)
      assert.strictEqual(failed[0]!.error!.tag, "SagemakerInferenceError")

      // The same command again: nothing to send; the failures still make it exit 2.
      yield* emulator.reset
      const again = yield* runCli(args, { env: credentials })
      assert.strictEqual(again.code, 2, again.stderr)
      assert.match(again.stderr, /^nothing to do: /)
      yield* noRequests(emulator)

      refuse = false
      const retried = yield* runCli([...args, "--retry-failed"], { env: credentials })
      assert.strictEqual(retried.code, 0, retried.stderr)
      assert.match(retried.stderr, /^retrying 3 failed items of /)
      assert.match(retried.stderr, /\n {2}earlier {4}17 already in .*: 17 succeeded\n/)
      assert.deepStrictEqual((yield* emulator.requests).map(inputsOf).sort(), ["FAIL 10", "FAIL 17", "FAIL 3"])
      const final = readResults(output)
      assertEachOnce(final, items.map((item) => item.id))
      assert.isTrue(final.every((result) => result.error === undefined))
      assert.isFalse(fs.existsSync(`${output}.lock`))
    }))

  it.scopedLive("SIGKILL mid-run, then the same command: each id once, only the items in flight redone", () =>
    Effect.gen(function*() {
      const items = prompts(300)
      const { emulator, input, output } = yield* workspace(items, {
        faults: { slow: { kind: "latency", millis: 40 } },
        recordLimit: 10_000
      })
      const args = batch(
        emulator,
        "slow",
        "--input",
        input,
        "--output",
        output,
        "--concurrency",
        "8",
        "--max-concurrency",
        "8",
        "--progress-interval",
        "100ms"
      )
      const cli = yield* spawnCli(args, { env: credentials })
      yield* awaitLines(output, 60)
      yield* cli.kill("SIGKILL")
      const killed = yield* cli.exit
      assert.strictEqual(killed.code, null)
      assert.match(
        killed.stderr,
        /progress: \d+\/300 \(\d+%\), \S+\/s, ETA \S+, 0 failed, 0 retried, limit 8, \d in flight\n/
      )
      // SIGKILL may have cut the last write short: the whole lines are what was written.
      const written = fs.readFileSync(output, "utf8").split("\n").slice(0, -1).length
      assert.isBelow(written, 300)
      const firstRun = (yield* emulator.requests).length

      const resumed = yield* runCli(args, { env: credentials })
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assertNoSecret(resumed, killed)
      assertEachOnce(readResults(output), items.map((item) => item.id))
      const requests = yield* emulator.requests
      // The second run sent exactly the items the output did not hold...
      assert.strictEqual(requests.length - firstRun, 300 - written)
      // ...so the items done twice are the first run's requests whose results never reached the disk.
      const redone = requests.length - 300
      assert.isAtMost(redone, IN_FLIGHT_BOUND)
      assert.isFalse(fs.existsSync(`${output}.lock`))
    }))

  it.scopedLive("a torn last line is cut off and its item done again", () =>
    Effect.gen(function*() {
      const items = prompts(10)
      const { emulator, input, output } = yield* workspace(items)
      const args = batch(emulator, "ep", "--input", input, "--output", output)
      assert.strictEqual((yield* runCli(args, { env: credentials })).code, 0)
      // A crash in the middle of the last write: half a line, no newline.
      const lines = fs.readFileSync(output, "utf8").slice(0, -1).split("\n")
      const torn = lines.at(-1)!
      fs.writeFileSync(output, [...lines.slice(0, -1), torn.slice(0, torn.length / 2)].join("\n"))
      yield* emulator.reset

      const run = yield* runCli(args, { env: credentials })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stderr, /^.*results\.jsonl ended with a torn line .*: cut off, its item is done again\n/)
      assert.match(run.stderr, /batch done: 1 of 1 items/)
      assert.deepStrictEqual((yield* emulator.requests).map(inputsOf), [
        items.find((item) => item.id === (JSON.parse(torn) as ResultLine).id)!.prompt
      ])
      assertEachOnce(readResults(output), items.map((item) => item.id))
    }))

  it.scopedLive("--shard i/n: a stable split by the id's hash; the shards' outputs concatenate to every id once", () =>
    Effect.gen(function*() {
      const items = prompts(40)
      const { dir, emulator, input } = yield* workspace(items)
      const outputs = [1, 2, 3].map((i) => path.join(dir, `shard-${i}.jsonl`))
      for (const [i, output] of outputs.entries()) {
        const run = yield* runCli(
          batch(emulator, "ep", "--input", input, "--output", output, "--shard", `${i + 1}/3`),
          {
            env: credentials
          }
        )
        assert.strictEqual(run.code, 0, run.stderr)
        const ids = readResults(output).map((result) => result.id)
        assert.isAbove(ids.length, 0)
        assert.deepStrictEqual(
          ids.sort(),
          items.map((item) => item.id).filter((id) => fnv1a32(id) % 3 === i).sort()
        )
      }
      const all = outputs.map((output) => fs.readFileSync(output, "utf8")).join("")
      fs.writeFileSync(path.join(dir, "all.jsonl"), all)
      assertEachOnce(readResults(path.join(dir, "all.jsonl")), items.map((item) => item.id))
      assert.strictEqual((yield* emulator.requests).length, 40)
      // FNV-1a 32 of "a" (its published test vector): the hash is the documented one.
      assert.strictEqual(fnv1a32("a"), 0xe40c292c)
    }))
})

describe("bad input: refused by its line number before any request", () => {
  it.scopedLive("a malformed line, a duplicate id, a missing prompt, bad kwargs, an empty file, a closed stdin", () =>
    Effect.gen(function*() {
      const dir = yield* tmp
      const emulator = yield* SagemakerEmulator.make({})
      const output = path.join(dir, "results.jsonl")
      const file = (name: string, text: string) => {
        const at = path.join(dir, name)
        fs.writeFileSync(at, text)
        return at
      }
      const good = jsonl(prompts(3))
      const cases: ReadonlyArray<readonly [string, string]> = [
        [
          file("malformed.jsonl", `${good}{"id": "x", "prompt": "unclosed\n`),
          `has 1 bad line (nothing was sent; --skip-invalid skips invalid lines): line 4: not JSON (`
        ],
        [
          file("duplicate.jsonl", `${good}\n${JSON.stringify({ id: "item-1", prompt: "again" })}\n`),
          `has 1 bad line (nothing was sent; ids must be unique): line 5: the id "item-1" is already on line 2`
        ],
        [
          file("missing.jsonl", `${good}{"id": "x", "text": "no prompt field"}\n{"id": "y"}\n`),
          `has 2 bad lines (nothing was sent; --skip-invalid skips invalid lines): line 4: unknown field "text" ` +
          `(the fields are id, prompt, generation_kwargs); line 5: "prompt" is missing`
        ],
        [
          file("kwargs.jsonl", `{"prompt": "p", "generation_kwargs": [1]}\n{"prompt": 3}\n"just a string"\n`),
          `has 3 bad lines (nothing was sent; --skip-invalid skips invalid lines): line 1: "generation_kwargs" ` +
          `must be a JSON object, got an array; line 2: "prompt" must be a string, got a number; line 3: not a ` +
          `JSON object (got a string; --text reads plain text lines)`
        ],
        [file("empty.jsonl", ""), "is empty: no prompt to send"],
        [file("blank.jsonl", "\n  \n\n"), "is empty: no prompt to send"]
      ]
      for (const [input, message] of cases) {
        const run = yield* runCli(batch(emulator, "ep", "--input", input, "--output", output), { env: credentials })
        assertFailure(run, 2, new RegExp(`^error: UsageError: ${escape(input)} ${escape(message)}`))
      }
      // A closed stdin, with --input - and with no --input at all (a pipe).
      for (const args of [["--input", "-"], []]) {
        const run = yield* runCli(batch(emulator, "ep", ...args, "--output", output), { env: credentials })
        assertFailure(run, 2, "error: UsageError: stdin is empty: no prompt to send")
      }
      yield* noRequests(emulator)
      assert.isFalse(fs.existsSync(output), "nothing was written")

      // --skip-invalid: the invalid lines are named on stderr, the rest is sent; a duplicate is still refused.
      const skipped = yield* runCli(
        batch(emulator, "ep", "--input", path.join(dir, "missing.jsonl"), "--output", output, "--skip-invalid"),
        { env: credentials }
      )
      assert.strictEqual(skipped.code, 0, skipped.stderr)
      assert.match(skipped.stderr, /^skipped 2 invalid lines of .*missing\.jsonl: line 4: unknown field "text" /)
      assertEachOnce(readResults(output), ["item-0", "item-1", "item-2"])
      const duplicate = yield* runCli(
        batch(emulator, "ep", "--input", path.join(dir, "duplicate.jsonl"), "--output", output, "--skip-invalid"),
        { env: credentials }
      )
      assertFailure(duplicate, 2, /^error: UsageError: .*duplicate\.jsonl has 1 bad line .*already on line 2$/)
      assert.strictEqual((yield* emulator.requests).length, 3)
    }))

  it.scopedLive("usage errors name the flag; an output that is not a results file is refused", () =>
    Effect.gen(function*() {
      const { emulator, input, output } = yield* workspace(prompts(2))
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--input", input], "batch needs --output PATH: the results file, which is also the checkpoint"],
        [
          ["--input", input, "--output", input],
          "--input and --output are the same file: the results would overwrite the prompts"
        ],
        [
          ["--input", input, "--output", output, "--shard", "0/3"],
          "--shard must be I/N with 1 ≤ I ≤ N, e.g. 1/4, got \"0/3\""
        ],
        [
          ["--input", input, "--output", output, "--concurrency", "64", "--max-concurrency", "32"],
          "--concurrency 64 is above --max-concurrency 32: the limit never passes it"
        ],
        [
          ["--input", input, "--output", output, "--prompt-file", "x"],
          "unknown option --prompt-file (use --input PATH, with --text for plain text lines)"
        ]
      ]
      for (const [args, message] of cases) {
        assertFailure(
          yield* runCli(batch(emulator, "ep", ...args), { env: credentials }),
          2,
          `error: UsageError: ${message}`
        )
      }
      fs.writeFileSync(output, "{\"id\": \"a\", \"replies\": [\"x\"], \"meta\": [{}]}\nnot a result\n")
      assertFailure(
        yield* runCli(batch(emulator, "ep", "--input", input, "--output", output), { env: credentials }),
        2,
        `error: UsageError: --output ${output} line 2 is not a result of effect-sagemaker batch (it is not JSON): ` +
          "give another --output"
      )
      yield* noRequests(emulator)
    }))
})

describe("signals", () => {
  it.scopedLive("SIGINT mid-run aborts the requests in flight, exits 130, every finished result on disk", () =>
    Effect.gen(function*() {
      const { emulator, input, output } = yield* workspace(prompts(300), {
        faults: { slow: { kind: "latency", millis: 40 } }
      })
      const cli = yield* spawnCli(
        batch(emulator, "slow", "--input", input, "--output", output, "--concurrency", "8", "--max-concurrency", "8"),
        { env: credentials }
      )
      yield* awaitLines(output, 30)
      yield* cli.kill("SIGINT")
      const run = yield* cli.exit
      assert.strictEqual(run.code, 130, run.stderr)
      assertNoSecret(run)
      assert.match(
        run.stderr,
        /\nerror: Interrupted: stopped by SIGINT; every result received is in the output, the same command resumes\n$/
      )
      const [, done] = /batch stopped: (\d+) of 300 items/.exec(run.stderr)!
      const results = readResults(output)
      // What the summary counted as done is what the output holds, whole lines only.
      assert.strictEqual(results.length, Number(done))
      assert.isBelow(results.length, 300)
      assert.strictEqual(new Set(results.map((result) => result.id)).size, results.length)
      yield* emulator.awaitClosedRequests(1)
      assert.isFalse(fs.existsSync(`${output}.lock`))
    }))
})

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
