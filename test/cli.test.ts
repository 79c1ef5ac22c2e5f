/**
 * The CLI run as a child process, as a user runs it: `generate` with and without an endpoint,
 * `--json` and `--stream` output, a fault producing one error line and a non-zero exit code.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { runTsx } from "./helpers/childProcess.js"

const BIN = path.join(import.meta.dirname, "..", "src", "cli", "bin.ts")

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runTsx(BIN, args, env)

const credentials = { AWS_ACCESS_KEY_ID: "AKIDCLI", AWS_SECRET_ACCESS_KEY: "cli-secret", AWS_REGION: "us-east-1" }

describe("effect-sagemaker CLI", () => {
  it.live("generate with no endpoint runs the real SDK path against the embedded emulator", () =>
    Effect.gen(function*() {
      const run = yield* cli(["generate", "--param", "max_new_tokens=6", "What's Natural Language Processing?"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stderr, /^No endpoint configured .* embedded SageMaker emulator at http:\/\/127\.0\.0\.1:\d+\n$/)
      const reply = run.stdout.trim()
      assert.isAbove(reply.length, 0)
      // max_new_tokens=6 reached the emulator's model: at most six words.
      assert.isAtMost(reply.split(/\s+/).length, 6)
      assert.notInclude(run.stderr, "NodeVersionSupportWarning")
    }))

  it.live("--json prints { replies, meta }; --stream prints the same text token by token", () =>
    Effect.gen(function*() {
      const args = ["--param", "max_new_tokens=10", "--param", "seed=7", "Tell me about rivers"]
      const json = yield* cli(["generate", "--json", ...args])
      assert.strictEqual(json.code, 0, json.stderr)
      const parsed = JSON.parse(json.stdout) as { replies: Array<string>; meta: Array<unknown> }
      assert.strictEqual(parsed.replies.length, 1)
      assert.strictEqual(parsed.meta.length, 1)
      const streamed = yield* cli(["generate", "--stream", ...args])
      assert.strictEqual(streamed.code, 0, streamed.stderr)
      assert.strictEqual(streamed.stdout, `${parsed.replies[0]}\n`)
    }))

  it.scopedLive("a fault on a real-style endpoint prints one error line with its tag and exits 1", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { "ep-me": { kind: "model-error" } } })
      const run = yield* cli(["generate", "--endpoint", "ep-me", "--endpoint-url", emulator.url, "hi"], credentials)
      assert.strictEqual(run.code, 1)
      assert.strictEqual(run.stdout, "")
      const lines = run.stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1, run.stderr)
      assert.match(
        lines[0]!,
        /^error: SagemakerInferenceError: SageMaker Inference returned an error\. Status code: 424\./
      )
    }))

  it.scopedLive("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and SAGEMAKER_ENDPOINT_NAME point it at a separate emulator", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ endpoints: ["my-endpoint"] })
      const run = yield* cli(["generate", "--param", "max_new_tokens=3", "hello"], {
        ...credentials,
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: emulator.url,
        SAGEMAKER_ENDPOINT_NAME: "my-endpoint"
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.stderr, "")
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.endpointName, r.status]), [["my-endpoint", 200]])
      assert.match(requests[0]!.headers.authorization ?? "", /Credential=AKIDCLI\//)
    }))

  it.live("bad input is one error line naming the field", () =>
    Effect.gen(function*() {
      const run = yield* cli(["generate", "--endpoint", "not valid!", "hi"], credentials)
      assert.strictEqual(run.code, 1)
      assert.strictEqual(
        run.stderr.trim(),
        "error: SagemakerValidationError: Invalid model: 'not valid!' must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ " +
          "(letters, digits and single hyphens inside)"
      )
    }))

  it.live("--help lists both commands", () =>
    Effect.gen(function*() {
      const run = yield* cli(["--help"])
      assert.strictEqual(run.code, 0)
      assert.include(run.stdout, "generate")
      assert.include(run.stdout, "emulator")
    }))
})
