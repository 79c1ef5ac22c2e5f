/**
 * `effect-sagemaker generate --chat`, the real CLI in a child process against the emulator on both
 * transports: the prompt (and `--system`) as messages through `SagemakerLanguageModel`, the reply
 * whole or streamed, each dialect's body as the container receives it (the text-generation one
 * rendered by its chat template), `--param` as the language model's configuration, the
 * generator's error lines and exit codes, and usage errors before anything is sent. Without
 * `@effect/ai` (a copy of the built package where it does not resolve), `--chat` is one error line
 * and exit 1, and `generate` without it still works.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import {
  assertFailure,
  assertNoSecret,
  buildBin,
  type CliExit,
  credentials,
  removeBin,
  runCli,
  spawnCli
} from "./helpers/cli.js"

beforeAll(() => void buildBin(), 60_000)
afterAll(() => removeBin())

const at = (emulator: SagemakerEmulator.Service, endpoint = "ep") => [
  "generate",
  "--chat",
  "--endpoint",
  endpoint,
  "--endpoint-url",
  emulator.url
]

const bodies = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => requests.map((r) => JSON.parse(r.bodyText) as Record<string, unknown>))

const noRequests = (emulator: SagemakerEmulator.Service) =>
  Effect.map(emulator.requests, (requests) => assert.deepStrictEqual(requests.map((r) => r.path), []))

/** The messages of the logfmt lines `-v` writes on stderr (every line is one). */
const logMessages = (run: CliExit, endpoint: string): Array<string> =>
  run.stderr.trimEnd().split("\n").map((line) => {
    const match = new RegExp(`^timestamp=\\S+ level=DEBUG fiber=#\\d+ message="(.*)" endpoint=${endpoint}$`).exec(line)
    assert.isNotNull(match, line)
    return match![1]!
  })

const userAgent = { sdk: /aws-sdk-js/, http: /^effect-sagemaker$/ } as const

for (const transport of ["sdk", "http"] as const) {
  describe(`generate --chat over ${transport}`, () => {
    it.scopedLive("the prompt and --system are messages; the reply is printed; --param is the config", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "vllm" })
        const run = yield* runCli(
          [
            ...at(emulator),
            "--transport",
            transport,
            "--system",
            "Be brief.",
            "--param",
            "max_new_tokens=6",
            "--param",
            "temperature=0.2",
            "--param",
            "top_k=5",
            "--custom-attribute",
            "tenant=acme",
            "What is a river?"
          ],
          { env: credentials }
        )
        assert.strictEqual(run.code, 0, run.stderr)
        assert.strictEqual(run.stderr, "")
        assert.match(run.stdout, /^[^\n]*\S[^\n]*\n$/, "one line of reply")
        const [request] = yield* emulator.requests
        assert.strictEqual(request!.operation, "invoke")
        assert.strictEqual(request!.headers["x-amzn-sagemaker-custom-attributes"], "tenant=acme")
        assert.match(request!.headers["user-agent"] ?? "", userAgent[transport])
        assert.deepStrictEqual(JSON.parse(request!.bodyText), {
          messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is a river?" }],
          max_tokens: 6,
          temperature: 0.2,
          top_k: 5
        })
        // The container's answer, as vLLM writes it: six tokens at most.
        assert.isAtMost(run.stdout.trim().split(/\s+/).length, 6)
        assertNoSecret(run)
      }))

    it.scopedLive("--stream prints the same reply as text deltas; -v logs attempts, finish and usage", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "vllm" })
        const args = [...at(emulator), "--transport", transport, "--param", "seed=7", "Tell me about rivers"]
        const whole = yield* runCli([...args, "-v"], { env: credentials })
        assert.strictEqual(whole.code, 0, whole.stderr)
        const streamed = yield* runCli([...args, "--stream", "-v"], { env: credentials })
        assert.strictEqual(streamed.code, 0, streamed.stderr)
        assert.strictEqual(streamed.stdout, whole.stdout)
        const patterns = (operation: string, opened: string) => [
          new RegExp(`^attempt 1: ${operation} ep \\(\\d+ bytes\\)$`),
          new RegExp(`^attempt 1: ${opened} after \\d+ms$`),
          /^finish: stop \(container: stop\)$/,
          /^usage: \d+ input tokens, \d+ output tokens, \d+ in all$/
        ]
        for (
          const [run, expected] of [
            [whole, patterns("InvokeEndpoint", "succeeded")],
            [streamed, patterns("InvokeEndpointWithResponseStream", "stream opened \\(first event\\)")]
          ] as const
        ) {
          const messages = logMessages(run, "ep")
          assert.strictEqual(messages.length, expected.length, run.stderr)
          expected.forEach((pattern, i) => assert.match(messages[i]!, pattern))
        }
        const [wholeBody, streamBody] = yield* bodies(emulator)
        assert.strictEqual(wholeBody!.stream, undefined)
        assert.strictEqual(streamBody!.stream, true)
        assert.deepStrictEqual(streamBody!.stream_options, { include_usage: true })
        assert.deepStrictEqual((yield* emulator.requests).map((r) => r.operation), ["invoke", "stream"])
        assertNoSecret(whole, streamed)
      }))

    it.scopedLive("--dialect text-generation --chat-template llama3 sends inputs rendered by the template", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
        const args = [
          ...at(emulator),
          "--transport",
          transport,
          "--dialect",
          "text-generation",
          "--chat-template",
          "llama3",
          "--system",
          "Be brief.",
          "--param",
          "max_new_tokens=4",
          "--param",
          "top_k=5",
          "Say hello"
        ]
        const whole = yield* runCli(args, { env: credentials })
        assert.strictEqual(whole.code, 0, whole.stderr)
        assert.isAbove(whole.stdout.trim().length, 0)
        const streamed = yield* runCli([...args, "--stream"], { env: credentials })
        assert.strictEqual(streamed.code, 0, streamed.stderr)
        assert.strictEqual(streamed.stdout, whole.stdout)
        const inputs = SagemakerLanguageModel.renderChatTemplate("llama3", [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hello" }
        ])
        assert.strictEqual(
          inputs,
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nSay hello<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        const parameters = { max_new_tokens: 4, return_full_text: false, details: true, top_k: 5 }
        assert.deepStrictEqual(yield* bodies(emulator), [
          { inputs, parameters },
          { inputs, parameters, stream: true }
        ])
      }))

    it.scopedLive("errors are the generator's lines and exit codes; a timeout aborts the request", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({
          personality: "vllm",
          faults: { "ep-me": { kind: "model-error" }, "warming": { kind: "not-ready" }, "stalled": { kind: "stall" } }
        })
        const options = { env: credentials }
        const withTransport = (endpoint: string) => [...at(emulator, endpoint), "--transport", transport]
        const modelError = yield* runCli([...withTransport("ep-me"), "hi"], options)
        assert.strictEqual(modelError.stdout, "")
        assertFailure(
          modelError,
          1,
          /^error: SagemakerInferenceError: SageMaker Inference returned an error\. Status code: 424\./
        )
        const notReady = yield* runCli([...withTransport("warming"), "--no-retry", "--stream", "hi"], options)
        assertFailure(notReady, 1, /^error: SagemakerNotReadyError: Sagemaker model not ready: /)
        const stalled = yield* runCli(
          [...withTransport("stalled"), "--timeout", "300ms", "--retries", "1", "hi"],
          options
        )
        assertFailure(stalled, 1, "error: SagemakerTimeoutError: SageMaker request to 'stalled' timed out after 300ms")
        yield* emulator.awaitClosedRequests(2)
        const requests = yield* emulator.requests
        assert.deepStrictEqual(
          requests.map((r) => [r.endpointName, r.status, r.aborted]),
          [["ep-me", 424, false], ["warming", 429, false], ["stalled", 0, true], ["stalled", 0, true]]
        )
      }))

    it.scopedLive("SIGINT during --chat --stream aborts the request, ends the line and exits 130", () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({
          personality: "vllm",
          faults: { slow: { kind: "stall", afterParts: 3 } }
        })
        const cli = yield* spawnCli([...at(emulator, "slow"), "--transport", transport, "--stream", "hi"], {
          env: credentials
        })
        yield* cli.waitFor("stdout", /\S/)
        yield* cli.kill("SIGINT")
        const run = yield* cli.exit
        assertFailure(run, 130, "error: Interrupted: stopped by SIGINT")
        assert.match(run.stdout, /^[^\n]*\S[^\n]*\n$/)
        yield* emulator.awaitClosedRequests(1)
      }))
  })
}

describe("generate --chat with the embedded emulator", () => {
  it.live("it answers in the personality of the dialect", () =>
    Effect.gen(function*() {
      for (const [dialect, personality] of [["openai", "vllm"], ["tgi", "tgi"], ["lmi", "lmi"]] as const) {
        const run = yield* runCli([
          "generate",
          "--chat",
          "--dialect",
          dialect,
          "--json",
          "--param",
          "max_tokens=5",
          "Hi"
        ])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.match(
          run.stderr,
          new RegExp(
            `^No endpoint configured .* embedded SageMaker emulator at http://127\\.0\\.0\\.1:\\d+ ` +
              `\\(personality ${personality}\\)\\n$`
          )
        )
        const printed = JSON.parse(run.stdout) as {
          text: string
          finishReason: string
          usage: { outputTokens: number }
        }
        assert.isAbove(printed.text.length, 0)
        assert.strictEqual(printed.finishReason, "length")
        assert.strictEqual(printed.usage.outputTokens, 5)
      }
      const templated = yield* runCli([
        "generate",
        "--chat",
        "--dialect",
        "text-generation",
        "--chat-template",
        "chatml",
        "--param",
        "max_new_tokens=3",
        "Hi"
      ])
      assert.strictEqual(templated.code, 0, templated.stderr)
      assert.match(templated.stderr, /embedded SageMaker emulator at http:\/\/127\.0\.0\.1:\d+\n$/)
      assert.isAtMost(templated.stdout.trim().split(/\s+/).length, 3)
    }))
})

describe("generate --chat usage errors: exit 2, the flag named, nothing sent", () => {
  it.scopedLive("chat options without --chat, dialects, templates, --request-format and --param", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({})
      const plain = ["generate", "--endpoint", "ep", "--endpoint-url", emulator.url]
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [[...plain, "--system", "Be brief."], "--system needs --chat"],
        [[...plain, "--dialect", "tgi"], "--dialect needs --chat"],
        [[...plain, "--chat-template", "llama3"], "--chat-template needs --chat"],
        [
          [...at(emulator), "--request-format", "chat"],
          "--request-format has no meaning with --chat: the chat writes its dialect's body (--dialect)"
        ],
        [
          [...at(emulator), "--dialect", "gpt"],
          "--dialect must be one of openai, tgi, lmi, text-generation, got \"gpt\""
        ],
        [
          [...at(emulator), "--dialect", "text-generation"],
          "--dialect text-generation needs --chat-template llama3|llama2|mistral|chatml"
        ],
        [
          [...at(emulator), "--chat-template", "llama3"],
          "--chat-template is for --dialect text-generation only: the openai container applies its own template"
        ],
        [
          [...at(emulator), "--dialect", "text-generation", "--chat-template", "jinja"],
          "--chat-template must be one of llama3, llama2, mistral, chatml, got \"jinja\""
        ],
        [[...at(emulator), "--system", ""], "--system must not be empty"],
        [[...at(emulator), "--param", "temperature=hot"], "--param temperature must be a finite number, got \"hot\""],
        [[...at(emulator), "--param", "max_new_tokens=-1"], "--param max_new_tokens must be a whole number, got -1"],
        [
          [...at(emulator), "--param", "max_tokens=3", "--param", "max_new_tokens=4"],
          "--param max_tokens and max_new_tokens are the same setting with --chat: give one"
        ],
        [
          [...at(emulator), "--param", "messages=[]"],
          "--param messages: with --chat the body's \"messages\" is written by the chat itself"
        ],
        [[...at(emulator), "--json", "--stream"], "--json and --stream cannot be combined: give one"]
      ]
      for (const [args, message] of cases) {
        assertFailure(yield* runCli([...args, "hi"], { env: credentials }), 2, `error: UsageError: ${message}`)
      }
      yield* noRequests(emulator)
    }))

  it.live("--help lists the chat options", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["generate", "--help"])
      assert.strictEqual(help.code, 0)
      assert.match(help.stdout, /--chat +Chat through @effect\/ai's LanguageModel/)
      assert.match(help.stdout, /--system TEXT +With --chat: a system message/)
      assert.match(help.stdout, /--dialect openai\|tgi\|lmi\|text-generation[^]*?\(default:\s+openai\)/)
      assert.match(help.stdout, /--chat-template llama3\|llama2\|mistral\|chatml/)
    }))
})

const root = path.join(import.meta.dirname, "..")

/**
 * The built package copied where `@effect/ai` does not resolve: its `node_modules` links every
 * package of the checkout but that one.
 */
const withoutEffectAi = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-no-ai-"))
    const built = buildBin()
    fs.cpSync(path.join(built, "dist"), path.join(dir, "dist"), { recursive: true })
    fs.copyFileSync(path.join(built, "package.json"), path.join(dir, "package.json"))
    const modules = path.join(root, "node_modules")
    const linked = path.join(dir, "node_modules")
    fs.mkdirSync(path.join(linked, "@effect"), { recursive: true })
    for (const name of fs.readdirSync(modules)) {
      if (name.startsWith(".") || name === "@effect") continue
      fs.symlinkSync(path.join(modules, name), path.join(linked, name))
    }
    for (const name of fs.readdirSync(path.join(modules, "@effect"))) {
      if (name !== "ai") fs.symlinkSync(path.join(modules, "@effect", name), path.join(linked, "@effect", name))
    }
    return dir
  }),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs `node` with `argv`, in an environment without the host's AWS settings, as the helper's. */
const runNode = (argv: ReadonlyArray<string>) =>
  Effect.async<CliExit>((resume) => {
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !/^(AWS_|SAGEMAKER_)/.test(key)) env[key] = value
    }
    const child = execFile(
      process.execPath,
      argv,
      { env: { ...env, AWS_EC2_METADATA_DISABLED: "true" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    child.stdin?.end()
    return Effect.sync(() => child.kill())
  })

const runCopy = (dir: string, args: ReadonlyArray<string>) =>
  runNode([path.join(dir, "dist", "cli", "bin.js"), ...args])

describe("without @effect/ai installed", () => {
  it.scopedLive("--chat is one error line and exit 1; generate without it, and help, still work", () =>
    Effect.gen(function*() {
      const dir = yield* withoutEffectAi
      // The copy really cannot load it: the language model's module fails to import.
      const missing = yield* runNode([
        "-e",
        "import(process.argv[1]).then(() => console.log('loaded'), (e) => console.log(e.code, e.message))",
        path.join(dir, "dist", "SagemakerLanguageModel.js")
      ])
      assert.match(missing.stdout, /^ERR_MODULE_NOT_FOUND Cannot find package '@effect\/ai'/)
      for (const args of [["generate", "--chat", "hi"], ["generate", "--chat", "--stream", "--dialect", "tgi", "hi"]]) {
        const run = yield* runCopy(dir, args)
        assert.strictEqual(run.stdout, "")
        assertFailure(
          run,
          1,
          "error: MissingPeerDependency: --chat needs the optional peer dependency @effect/ai " +
            "(npm install @effect/ai@^0.37)"
        )
      }
      // A usage error still comes first.
      assertFailure(
        yield* runCopy(dir, ["generate", "--chat", "--dialect", "gpt", "hi"]),
        2,
        "error: UsageError: --dialect must be one of openai, tgi, lmi, text-generation, got \"gpt\""
      )
      const plain = yield* runCopy(dir, ["generate", "--param", "max_new_tokens=3", "hi"])
      assert.strictEqual(plain.code, 0, plain.stderr)
      assert.isAbove(plain.stdout.trim().length, 0)
      const help = yield* runCopy(dir, ["generate", "--help"])
      assert.strictEqual(help.code, 0, help.stderr)
      assert.include(help.stdout, "--chat")
    }))
})
