/**
 * The CLI run as a child process, as a user runs it. Every failure ends with one line on stderr,
 * `error: <tag>: <message>`, and its exit code (1 an error, 2 a usage error, 130 SIGINT, 143
 * SIGTERM); input the CLI refuses sends no request (the emulator records every request it
 * sees); no planted secret appears in any output.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { spec as generateSpec } from "../src/cli/generate.js"
import { commandHelp, useColor } from "../src/cli/help.js"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import {
  assertFailure,
  assertNoSecret,
  buildBin,
  credentials,
  PLANTED_SECRET,
  removeBin,
  runCli,
  spawnCli
} from "./helpers/cli.js"

beforeAll(() => void buildBin(), 60_000)
afterAll(() => removeBin())

const noRequests = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => assert.deepStrictEqual(requests.map((r) => r.path), []))

/** Waits until the emulator has seen `n` requests. */
const awaitRequests = (emulator: SagemakerEmulator.Service, n: number) =>
  emulator.requests.pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (requests) => requests.length >= n }),
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`fewer than ${n} requests`) }),
    Effect.orDie
  )

const inputsOf = (request: SagemakerEmulator.RecordedRequest) =>
  (JSON.parse(request.bodyText) as { inputs: string }).inputs

const at = (emulator: SagemakerEmulator.Service, endpoint = "ep") => [
  "generate",
  "--endpoint",
  endpoint,
  "--endpoint-url",
  emulator.url
]

describe("effect-sagemaker generate", () => {
  it.live("with no endpoint runs the real SDK path against the embedded emulator", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["generate", "--param", "max_new_tokens=6", "What's Natural Language Processing?"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stderr, /^No endpoint configured .* embedded SageMaker emulator at http:\/\/127\.0\.0\.1:\d+\n$/)
      const reply = run.stdout.trim()
      assert.isAbove(reply.length, 0)
      // max_new_tokens=6 reached the emulator's model: at most six words.
      assert.isAtMost(reply.split(/\s+/).length, 6)
      assertNoSecret(run)
    }))

  it.live("--json prints { replies, meta }; --stream prints the same text token by token", () =>
    Effect.gen(function*() {
      const args = ["--param", "max_new_tokens=10", "--param", "seed=7", "Tell me about rivers"]
      const json = yield* runCli(["generate", "--json", ...args])
      assert.strictEqual(json.code, 0, json.stderr)
      const parsed = JSON.parse(json.stdout) as { replies: Array<string>; meta: Array<unknown> }
      assert.strictEqual(parsed.replies.length, 1)
      assert.strictEqual(parsed.meta.length, 1)
      const streamed = yield* runCli(["generate", "--stream", ...args])
      assert.strictEqual(streamed.code, 0, streamed.stderr)
      assert.strictEqual(streamed.stdout, `${parsed.replies[0]}\n`)
    }))

  it.scopedLive("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and SAGEMAKER_ENDPOINT_NAME point it at a separate emulator", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ endpoints: ["my-endpoint"] })
      const run = yield* runCli(["generate", "--param", "max_new_tokens=3", "hello"], {
        env: {
          ...credentials,
          AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: emulator.url,
          SAGEMAKER_ENDPOINT_NAME: "my-endpoint"
        }
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.stderr, "")
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.endpointName, r.status]), [["my-endpoint", 200]])
      assert.match(requests[0]!.headers.authorization ?? "", /Credential=AKIDCLI\//)
      // The default transport: the lean one, with the endpoint from the SDK's providers.
      assert.strictEqual(requests[0]!.headers["user-agent"], "effect-sagemaker")
      assertNoSecret(run)
    }))

  it.scopedLive("--transport sdk sends the same request through the AWS SDK client", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const run = yield* runCli([...at(emulator), "--transport", "sdk", "--param", "max_new_tokens=3", "hello"], {
        env: credentials
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.isAbove(run.stdout.trim().length, 0)
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.endpointName, r.status]), [["ep", 200]])
      assert.match(requests[0]!.headers["user-agent"] ?? "", /aws-sdk-js/)
      const wrong = yield* runCli([...at(emulator), "--transport", "grpc", "hello"], { env: credentials })
      assertFailure(wrong, 2, "error: UsageError: --transport must be one of http, sdk, got \"grpc\"")
      assert.strictEqual((yield* emulator.requests).length, 1)
    }))

  it.scopedLive("--request-format chat sends the Messages API body; an unknown format is a usage error", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "messages" })
      const run = yield* runCli(
        [...at(emulator), "--request-format", "chat", "--param", "max_new_tokens=3", "hello"],
        { env: credentials }
      )
      assert.strictEqual(run.code, 0, run.stderr)
      assert.isAbove(run.stdout.trim().length, 0)
      const requests = yield* emulator.requests
      assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(requests[0]!.body)), {
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 3
      })
      const wrong = yield* runCli([...at(emulator), "--request-format", "xml", "hello"], { env: credentials })
      assertFailure(
        wrong,
        2,
        "error: UsageError: --request-format must be one of haystack, chat, completions, got \"xml\""
      )
      assert.strictEqual((yield* emulator.requests).length, 1)
      assertNoSecret(run)
    }))

  it.scopedLive("a fault on a real-style endpoint prints one error line with its tag and exits 1", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { "ep-me": { kind: "model-error" } } })
      const run = yield* runCli([...at(emulator, "ep-me"), "hi"], { env: credentials })
      assert.strictEqual(run.stdout, "")
      assertFailure(
        run,
        1,
        /^error: SagemakerInferenceError: SageMaker Inference returned an error\. Status code: 424\./
      )
    }))

  it.live("an endpoint name the library refuses is one error line naming the field", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["generate", "--endpoint", "not valid!", "hi"], { env: credentials })
      assertFailure(
        run,
        1,
        "error: SagemakerValidationError: Invalid model: 'not valid!' must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ " +
          "(letters, digits and single hyphens inside)"
      )
    }))
})

describe("usage errors: exit 2, the flag named, nothing sent", () => {
  it.scopedLive("empty --region and --profile, and a --region that is no region name", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--region", ""], "error: UsageError: --region must not be empty"],
        [["--profile", ""], "error: UsageError: --profile must not be empty"],
        [
          ["--region", "us east 1"],
          "error: UsageError: --region must be a region name such as us-east-1, got \"us east 1\""
        ]
      ]
      for (const [flags, line] of cases) {
        assertFailure(yield* runCli([...at(emulator), ...flags, "hi"], { env: credentials }), 2, line)
      }
      yield* noRequests(emulator)
    }))

  it.live("emulator --port out of range or negative", () =>
    Effect.gen(function*() {
      for (const port of ["99999", "-5"]) {
        const run = yield* runCli(["emulator", "--port", port])
        assertFailure(run, 2, `error: UsageError: --port must be a whole number from 0 to 65535, got "${port}"`)
      }
    }))

  it.scopedLive("a mistyped flag is refused by its name, wherever it stands; it is never sent as the prompt", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string | RegExp]> = [
        [
          ["--param", "max_new_tokens=10", "--strem"],
          "error: UsageError: unknown option --strem (did you mean --stream?)"
        ],
        [["--strem", "hi"], "error: UsageError: unknown option --strem (did you mean --stream?)"],
        [
          ["--bogus", "x", "hi"],
          "error: UsageError: unknown option --bogus (effect-sagemaker generate --help lists the options)"
        ],
        [["hi", "there"], /^error: UsageError: unexpected argument "there": the prompt is one argument/],
        [["-5 degrees"], "error: UsageError: unknown option -5 degrees (an argument that starts with - goes after --)"],
        [["--log-level", "debug", "hi"], /^error: UsageError: unknown option --log-level \(use -v\/--verbose/],
        [["--json", "--stream", "hi"], "error: UsageError: --json and --stream cannot be combined: give one"]
      ]
      for (const [flags, line] of cases) {
        assertFailure(yield* runCli([...at(emulator), ...flags], { env: credentials }), 2, line)
      }
      yield* noRequests(emulator)
      // After `--`, the same words are the prompt.
      const run = yield* runCli([...at(emulator), "--param", "max_new_tokens=2", "--", "-5 degrees"], {
        env: credentials
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual((yield* emulator.requests).map(inputsOf), ["-5 degrees"])
    }))

  it.scopedLive("an option whose value is missing is a usage error naming it", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const forgotten = yield* runCli(
        ["generate", "--endpoint-url", emulator.url, "--param", "max_new_tokens=30", "--endpoint"],
        { env: credentials }
      )
      assertFailure(forgotten, 2, "error: UsageError: --endpoint needs a value (NAME)")
      const followedByFlag = yield* runCli([...at(emulator), "--timeout", "--stream", "hi"], { env: credentials })
      assertFailure(followedByFlag, 2, "error: UsageError: --timeout needs a value (DURATION), got the option --stream")
      yield* noRequests(emulator)
    }))

  it.scopedLive("--param: a value that looks like JSON must parse; other values are strings", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const broken = yield* runCli([...at(emulator), "--param", "stop=[\"a\",", "hi"], { env: credentials })
      assertFailure(broken, 2, /^error: UsageError: --param stop=\["a", is not valid JSON \(/)
      yield* noRequests(emulator)
      const run = yield* runCli(
        [
          ...at(emulator),
          "--param",
          "max_new_tokens=4",
          "--param",
          "stop=[\"</s>\"]",
          "--param",
          "note=plain words",
          "--param",
          "quoted=\"7\"",
          "hi"
        ],
        { env: credentials }
      )
      assert.strictEqual(run.code, 0, run.stderr)
      const [request] = yield* emulator.requests
      assert.deepStrictEqual((JSON.parse(request!.bodyText) as { parameters: unknown }).parameters, {
        max_new_tokens: 4,
        stop: ["</s>"],
        note: "plain words",
        quoted: "7"
      })
    }))

  it.scopedLive("--endpoint-url must be an http(s) URL", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const notUrl = yield* runCli(["generate", "--endpoint", "ep", "--endpoint-url", "not a url", "hi"], {
        env: credentials
      })
      assertFailure(
        notUrl,
        2,
        "error: UsageError: --endpoint-url must be an http:// or https:// URL, got \"not a url\""
      )
      // Pointed at the emulator's own port: used as plain HTTP, it would have reached it.
      const ftp = yield* runCli(
        ["generate", "--endpoint", "ep", "--endpoint-url", emulator.url.replace("http:", "ftp:"), "hi"],
        { env: credentials }
      )
      assertFailure(ftp, 2, "error: UsageError: --endpoint-url must be an http:// or https:// URL, got a ftp: URL")
      yield* noRequests(emulator)
    }))

  it.live("no command, an unknown command, and --version from package.json", () =>
    Effect.gen(function*() {
      assertFailure(
        yield* runCli([]),
        2,
        "error: UsageError: no command given: expected generate, batch or emulator (effect-sagemaker --help)"
      )
      assertFailure(
        yield* runCli(["serve"]),
        2,
        "error: UsageError: unknown command \"serve\": expected generate, batch or emulator"
      )
      const version = yield* runCli(["--version"])
      const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "..", "package.json"), "utf8"))
      assert.strictEqual(version.code, 0)
      assert.strictEqual(version.stdout, `${(pkg as { version: string }).version}\n`)
    }))
})

describe("AWS configuration errors say which problem it is", () => {
  it.scopedLive("a missing region and missing credentials each give their reason; nothing is sent", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const haystack = "error: AWSConfigurationError: Could not connect to SageMaker Inference Endpoint 'ep'." +
        "Make sure the Endpoint exists and AWS environment is configured. Reason: "
      const noRegion = yield* runCli([...at(emulator), "hi"], {
        env: { AWS_ACCESS_KEY_ID: "AKIDCLI", AWS_SECRET_ACCESS_KEY: PLANTED_SECRET }
      })
      assertFailure(
        noRegion,
        1,
        `${haystack}no valid AWS region is configured: set the region option, ` +
          "AWS_DEFAULT_REGION, AWS_REGION or a profile's region to a region name such as us-east-1"
      )
      const noCredentials = yield* runCli([...at(emulator), "hi"], { env: { AWS_REGION: "us-east-1" } })
      assertFailure(noCredentials, 1, new RegExp(`^${escape(haystack)}No AWS credentials could be resolved: `))
      yield* noRequests(emulator)
    }))
})

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("the prompt from stdin or a file", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-cli-"))

  it.scopedLive("a pipe with no PROMPT, -, and --prompt-file are sent verbatim", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const dir = tmp()
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "prompt.txt")
      fs.writeFileSync(file, "from a file, café\n")
      const args = [...at(emulator), "--param", "max_new_tokens=2"]
      for (
        const run of [
          yield* runCli(args, { env: credentials, stdin: "from a pipe\n" }),
          yield* runCli([...args, "-"], { env: credentials, stdin: "from stdin" }),
          yield* runCli([...args, "--prompt-file", file], { env: credentials })
        ]
      ) {
        assert.strictEqual(run.code, 0, run.stderr)
        assertNoSecret(run)
      }
      assert.deepStrictEqual((yield* emulator.requests).map(inputsOf), [
        "from a pipe\n",
        "from stdin",
        "from a file, café\n"
      ])
    }))

  it.scopedLive("a 5 MiB prompt goes through stdin; one past 6 MiB is refused unread; empty input is refused", () =>
    Effect.gen(function*() {
      // A model that takes prompts of any length (the built-in one counts tokens as TGI does).
      const emulator = yield* SagemakerEmulator.make({
        responder: (request) => ({ body: JSON.stringify([{ generated_text: `${request.text.length} bytes` }]) })
      })
      const args = [...at(emulator), "--param", "max_new_tokens=2"]
      const large = "word ".repeat(1024 * 1024)
      const ok = yield* runCli([...args, "-"], { env: credentials, stdin: large })
      assert.strictEqual(ok.code, 0, ok.stderr)
      const [request] = yield* emulator.requests
      assert.strictEqual(inputsOf(request!).length, large.length)
      yield* emulator.reset

      const dir = tmp()
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "seven-mb.txt")
      fs.writeFileSync(file, "x".repeat(7_000_000))
      const tooLarge = yield* runCli([...args, "--prompt-file", file], { env: credentials })
      assertFailure(
        tooLarge,
        2,
        `error: UsageError: the prompt from --prompt-file ${file} is larger than 6291456 bytes (6 MiB), ` +
          "SageMaker's request body limit"
      )
      const missing = yield* runCli([...args, "--prompt-file", path.join(dir, "nope.txt")], { env: credentials })
      assertFailure(
        missing,
        2,
        /^error: UsageError: the prompt from --prompt-file .*nope\.txt could not be read: ENOENT/
      )
      const empty = yield* runCli(args, { env: credentials, stdin: "" })
      assertFailure(empty, 2, "error: UsageError: the prompt from stdin is empty")
      const twice = yield* runCli([...args, "--prompt-file", file, "hi"], { env: credentials })
      assertFailure(
        twice,
        2,
        `error: UsageError: the prompt is given twice: as an argument and as --prompt-file ${file}`
      )
      yield* noRequests(emulator)
    }))
})

describe("timeouts, retries, streams and signals", () => {
  it.scopedLive("--timeout bounds each attempt against a stalled endpoint; --retries 1 makes two", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { stalled: { kind: "stall" } } })
      const run = yield* runCli([...at(emulator, "stalled"), "--timeout", "300ms", "--retries", "1", "hi"], {
        env: credentials
      })
      assertFailure(run, 1, "error: SagemakerTimeoutError: SageMaker request to 'stalled' timed out after 300ms")
      yield* emulator.awaitClosedRequests(2)
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.endpointName, r.aborted]), [["stalled", true], ["stalled", true]])
    }))

  it.scopedLive("--verbose logs each attempt, its status and latency, and each retry, on stderr", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { warming: { kind: "not-ready", count: 2 } } })
      const run = yield* runCli([...at(emulator, "warming"), "-v", "--param", "max_new_tokens=3", "hi"], {
        env: credentials
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.isAbove(run.stdout.trim().length, 0)
      assertNoSecret(run)
      const lines = run.stderr.trimEnd().split("\n")
      for (const line of lines) {
        assert.match(line, /^timestamp=\S+ level=DEBUG fiber=#\d+ message=".*" endpoint=warming$/)
      }
      const messages = lines.map((line) => /message="(.*)" endpoint=/.exec(line)![1])
      const patterns = [
        /^attempt 1: InvokeEndpoint warming \(\d+ bytes\)$/,
        /^attempt 1: SagemakerNotReadyError \(status 429\) after \d+ms$/,
        /^retrying in \d+ms after SagemakerNotReadyError$/,
        /^attempt 2: InvokeEndpoint warming \(\d+ bytes\)$/,
        /^attempt 2: SagemakerNotReadyError \(status 429\) after \d+ms$/,
        /^retrying in \d+ms after SagemakerNotReadyError$/,
        /^attempt 3: InvokeEndpoint warming \(\d+ bytes\)$/,
        /^attempt 3: succeeded after \d+ms$/
      ]
      assert.strictEqual(messages.length, patterns.length, run.stderr)
      patterns.forEach((pattern, i) => assert.match(messages[i]!, pattern))
      assert.deepStrictEqual((yield* emulator.requests).map((r) => r.status), [429, 429, 200])

      // --no-retry: one attempt, and its error.
      yield* emulator.reset
      const once = yield* runCli([...at(emulator, "warming"), "--no-retry", "hi"], { env: credentials })
      assertFailure(once, 1, /^error: SagemakerNotReadyError: Sagemaker model not ready: /)
      assert.deepStrictEqual((yield* emulator.requests).map((r) => r.status), [429])
    }))

  it.scopedLive("--stream ends the partial line before its error", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { broken: { kind: "stream-error", afterParts: 2 } } })
      const run = yield* runCli([...at(emulator, "broken"), "--stream", "hi"], { env: credentials })
      assertFailure(run, 1, /^error: SagemakerStreamError: SageMaker response stream failed \(ModelStreamError\)/)
      assert.match(run.stdout, /^[^\n]*\S[^\n]*\n$/, "the partial text, then a newline")
    }))

  it.scopedLive("SIGINT during --stream aborts the request, ends the line and exits 130", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { slow: { kind: "stall", afterParts: 2 } } })
      const cli = yield* spawnCli([...at(emulator, "slow"), "--stream", "hi"], { env: credentials })
      yield* cli.waitFor("stdout", /\S/)
      yield* cli.kill("SIGINT")
      const run = yield* cli.exit
      assertFailure(run, 130, "error: Interrupted: stopped by SIGINT")
      assert.match(run.stdout, /^[^\n]*\S[^\n]*\n$/)
      yield* emulator.awaitClosedRequests(1)
    }))

  it.scopedLive("SIGTERM during generate aborts the request and exits 143", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { slow: { kind: "stall" } } })
      const cli = yield* spawnCli([...at(emulator, "slow"), "hi"], { env: credentials })
      yield* awaitRequests(emulator, 1)
      yield* cli.kill("SIGTERM")
      const run = yield* cli.exit
      assertFailure(run, 143, "error: Interrupted: stopped by SIGTERM")
      assert.strictEqual(run.stdout, "")
      yield* emulator.awaitClosedRequests(1)
    }))
})

describe("effect-sagemaker emulator", () => {
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    it.scopedLive(`prints its URL, serves, and stops cleanly on ${signal} (exit ${code})`, () =>
      Effect.gen(function*() {
        const cli = yield* spawnCli(["emulator", "--port", "0", "--personality", "tgi"])
        const [, url] = yield* cli.waitFor("stderr", /listening on (http:\/\/127\.0\.0\.1:\d+) /)
        const response = yield* Effect.promise(() =>
          fetch(`${url}/endpoints/any/invocations`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ inputs: "hi", parameters: { max_new_tokens: 2 } })
          })
        )
        assert.strictEqual(response.status, 200)
        yield* Effect.promise(() => response.text())
        yield* cli.waitFor("stdout", /POST \/endpoints\/any\/invocations 200/)
        yield* cli.kill(signal)
        const run = yield* cli.exit
        assert.strictEqual(run.code, code, run.stderr)
        assert.match(run.stderr, new RegExp(`\nSageMaker Runtime emulator stopped by ${signal}\n$`))
        assertNoSecret(run)
        // The port is closed.
        const after = yield* Effect.promise(() =>
          fetch(`${url}/endpoints/any/invocations`, { method: "POST", body: "{}" }).then(
            () => "answered",
            () => "refused"
          )
        )
        assert.strictEqual(after, "refused")
      }))
  }

  it.scopedLive("a port in use is one error line and exit 1", () =>
    Effect.gen(function*() {
      const taken = yield* SagemakerEmulator.make({})
      const run = yield* runCli(["emulator", "--port", String(taken.port)])
      assertFailure(
        run,
        1,
        new RegExp(
          `^error: EmulatorServeError: The SageMaker emulator cannot listen on 127\\.0\\.0\\.1:${taken.port}: `
        )
      )
    }))

  it.live("bad --fault, --personality and --verify-signatures without keys are usage errors", () =>
    Effect.gen(function*() {
      assertFailure(
        yield* runCli(["emulator", "--fault", "ep:flaky"]),
        2,
        /^error: UsageError: --fault: unknown fault kind "flaky"/
      )
      assertFailure(
        yield* runCli(["emulator", "--personality", "gpt"]),
        2,
        /^error: UsageError: --personality must be one of default, tgi, /
      )
      assertFailure(
        yield* runCli(["emulator", "--verify-signatures", "--port", "0"]),
        2,
        "error: UsageError: --verify-signatures needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to be set"
      )
    }))
})

describe("--help", () => {
  it.live("piped, it is plain text and shows each option's default", () =>
    Effect.gen(function*() {
      const root = yield* runCli(["--help"])
      assert.strictEqual(root.code, 0)
      assert.include(root.stdout, "generate")
      assert.include(root.stdout, "emulator")
      const generate = yield* runCli(["generate", "--help"])
      const emulator = yield* runCli(["emulator", "--help"], { env: { NO_COLOR: "1" } })
      for (const run of [root, generate, emulator]) {
        assert.strictEqual(run.code, 0)
        assert.notInclude(run.stdout, "\u001b")
        assert.strictEqual(run.stderr, "")
      }
      assert.match(generate.stdout, /--retries N +Retries of a retryable failure[^]*?\(default:\s+2\)/)
      assert.match(generate.stdout, /--transport http\|sdk[^]*?\(default:\s+http\)/)
      assert.match(emulator.stdout, /--port N[^]*?\(default:\s+8080\)/)
      // --help wins over any other problem on the line.
      const withTypo = yield* runCli(["generate", "--strem", "--help"])
      assert.strictEqual(withTypo.stdout, generate.stdout)
    }))

  it("is bold only on a terminal without NO_COLOR", () => {
    assert.isTrue(useColor(true, undefined))
    assert.isTrue(useColor(true, ""))
    assert.isFalse(useColor(true, "1"))
    assert.isFalse(useColor(false, undefined))
    assert.include(commandHelp(generateSpec, true), "\u001b[1mUsage:\u001b[22m")
    assert.notInclude(commandHelp(generateSpec, false), "\u001b")
  })
})
