/**
 * `effect-sagemaker generate [PROMPT | -]`: its options, and their checks. Every check runs before
 * anything is sent or started; the generation itself (`generateRun.ts`, which loads the AWS SDK)
 * is loaded only once the command line is accepted.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { EmulatorServeError } from "../emulator/SagemakerEmulator.js"
import type { SagemakerError } from "../SagemakerError.js"
import { type CommandSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import { connectionOptions, type EndpointSettings, endpointSettings, options } from "./endpointOptions.js"
import { MAX_PROMPT_BYTES, type PromptSource, readPrompt } from "./input.js"
import type { Output } from "./output.js"
import { nonEmpty } from "./parse.js"

export const spec: CommandSpec = {
  name: "generate",
  summary: "Generate text with a SageMaker endpoint (or the embedded emulator)",
  operands: "[PROMPT | -]",
  details: [
    `The prompt is sent verbatim as "inputs". It is the PROMPT argument; or standard input, with - or when ` +
    `stdin is a pipe and no PROMPT is given; or the file of --prompt-file. At most ${MAX_PROMPT_BYTES} bytes ` +
    `(6 MiB, SageMaker's request body limit). A PROMPT that starts with - goes after --.`,
    `Without an endpoint (--endpoint or SAGEMAKER_ENDPOINT_NAME) the embedded SageMaker emulator answers, ` +
    `through the real AWS SDK. With one, the AWS SDK finds credentials and region as it always does ` +
    `(environment, shared config and credentials files, SSO).`
  ],
  options: [
    options.endpoint,
    options.param,
    options.customAttribute,
    {
      name: "prompt-file",
      kind: "value",
      placeholder: "PATH",
      description: "Read the prompt from this file (- for stdin) instead of the PROMPT argument"
    },
    { name: "stream", kind: "flag", description: "Print tokens as they arrive" },
    { name: "json", kind: "flag", description: "Print { replies, meta } as JSON" },
    {
      ...options.timeout,
      description: "Bounds each attempt (for --stream: until the first token, then each gap between tokens): " +
        "500ms, 30s, 2m; a bare number is seconds"
    },
    options.retries,
    ...connectionOptions,
    {
      name: "verbose",
      short: "v",
      kind: "flag",
      description: "Log each attempt, retry, status and latency on stderr"
    }
  ],
  maxOperands: 1,
  operandHint: "the prompt is one argument (quote it), and options are named --option",
  instead: {
    "log-level": "-v/--verbose, which logs each attempt, retry, status and latency",
    "retry": "--retries N or --no-retry",
    "version": "effect-sagemaker --version"
  }
}

/** The command line of `generate`, checked. */
export interface Settings extends EndpointSettings {
  readonly prompt: PromptSource
  readonly output: "text" | "json" | "stream"
  readonly verbose: boolean
}

/** Checks the command line; `stdinIsTTY` decides whether a missing PROMPT means stdin. */
export const settings = (
  args: ParsedArgs,
  stdinIsTTY: boolean
): Effect.Effect<Settings, UsageError> =>
  Effect.gen(function*() {
    const flag = (name: string) => args.flags.has(name)
    const endpoint = yield* endpointSettings(args)
    if (flag("json") && flag("stream")) return yield* usageError("--json and --stream cannot be combined: give one")

    const argument = args.operands[0]
    const file = args.values.get("prompt-file")
    if (argument !== undefined && file !== undefined) {
      return yield* usageError(`the prompt is given twice: as an argument and as --prompt-file ${file}`)
    }
    if (file !== undefined) yield* nonEmpty("--prompt-file", file)
    const prompt: PromptSource = file === "-" || argument === "-"
      ? { _tag: "Stdin" }
      : file !== undefined
      ? { _tag: "File", path: file }
      : argument !== undefined
      ? { _tag: "Argument", text: argument }
      : stdinIsTTY
      ? yield* usageError("generate needs a prompt: a PROMPT argument, - for stdin, or --prompt-file PATH")
      : { _tag: "Stdin" }

    return {
      ...endpoint,
      prompt,
      output: flag("json") ? "json" : flag("stream") ? "stream" : "text",
      verbose: flag("verbose")
    }
  })

/** Checks the command line, reads the prompt, then generates. */
export const run = (
  args: ParsedArgs,
  stdout: Output,
  stdinIsTTY: boolean
): Effect.Effect<void, UsageError | SagemakerError | EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* settings(args, stdinIsTTY)
    const prompt = yield* readPrompt(checked.prompt)
    const GenerateRun = yield* Effect.promise(() => import("./generateRun.js"))
    return yield* GenerateRun.generate(checked, prompt, stdout)
  })
