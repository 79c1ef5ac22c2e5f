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
import { chatOptions, type ChatSettings, chatSettings, loadChatRun, type MissingPeerDependency } from "./chat.js"
import type { ChatError } from "./chatRun.js"
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
    `(environment, shared config and credentials files, SSO).`,
    `With --chat the prompt is one user message (after the --system message, if any), sent through ` +
    `@effect/ai's LanguageModel in the body of --dialect; the reply is printed as text (--json: ` +
    `{ text, finishReason, usage }; -v also logs the finish reason and the token usage). --param ` +
    `temperature, top_p, max_tokens (or max_new_tokens), stop, seed, frequency_penalty and presence_penalty ` +
    `are its sampling settings, any other key an extra body field (text-generation: a generation parameter); ` +
    `no max_new_tokens default applies. --request-format has no meaning there. The embedded emulator ` +
    `answers in the dialect's personality (vllm, tgi, lmi, default).`
  ],
  options: [
    options.endpoint,
    { ...options.param, default: "max_new_tokens=1024 when no --param is given; none with --chat" },
    options.customAttribute,
    {
      name: "prompt-file",
      kind: "value",
      placeholder: "PATH",
      description: "Read the prompt from this file (- for stdin) instead of the PROMPT argument"
    },
    { name: "stream", kind: "flag", description: "Print tokens as they arrive" },
    {
      name: "json",
      kind: "flag",
      description: "Print { replies, meta } as JSON (with --chat: { text, finishReason, usage })"
    },
    ...chatOptions,
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
  /** With `--chat`: its options; the generator's `requestFormat` does not apply then. */
  readonly chat: ChatSettings | undefined
}

/** Checks the command line; `stdinIsTTY` decides whether a missing PROMPT means stdin. */
export const settings = (
  args: ParsedArgs,
  stdinIsTTY: boolean
): Effect.Effect<Settings, UsageError> =>
  Effect.gen(function*() {
    const flag = (name: string) => args.flags.has(name)
    const endpoint = yield* endpointSettings(args)
    const chat = yield* chatSettings(args, endpoint.generationKwargs)
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
      verbose: flag("verbose"),
      chat
    }
  })

/** Checks the command line, reads the prompt, then generates (or chats). */
export const run = (
  args: ParsedArgs,
  stdout: Output,
  stdinIsTTY: boolean
): Effect.Effect<
  void,
  UsageError | SagemakerError | EmulatorServeError | MissingPeerDependency | ChatError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const checked = yield* settings(args, stdinIsTTY)
    if (checked.chat !== undefined) {
      // Before the prompt is read: without @effect/ai, stdin is left alone.
      const ChatRun = yield* loadChatRun
      return yield* ChatRun.chat(checked, checked.chat, yield* readPrompt(checked.prompt), stdout)
    }
    const prompt = yield* readPrompt(checked.prompt)
    const GenerateRun = yield* Effect.promise(() => import("./generateRun.js"))
    return yield* GenerateRun.generate(checked, prompt, stdout)
  })
