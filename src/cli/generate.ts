/**
 * `effect-sagemaker generate [PROMPT | -]`: its options, and their checks. Every check runs before
 * anything is sent or started; the generation itself (`generateRun.ts`, which loads the AWS SDK)
 * is loaded only once the command line is accepted.
 *
 * @since 0.1.0
 * @internal
 */
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { EmulatorServeError } from "../emulator/SagemakerEmulator.js"
import type * as Payload from "../Payload.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { Transport } from "../SagemakerClient.js"
import type { SagemakerError } from "../SagemakerError.js"
import { type CommandSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import { MAX_PROMPT_BYTES, type PromptSource, readPrompt } from "./input.js"
import type { Output } from "./output.js"
import { nonEmpty, parseDuration, parseHttpUrl, parseKeyValues, parseWholeNumber } from "./parse.js"

/** The transports, as the library names them. */
const TRANSPORTS: ReadonlyArray<Transport> = ["sdk", "http"]

/** The named request formats of the library (written out: `Payload` loads Schema, which help does not need). */
const REQUEST_FORMATS = ["haystack", "chat", "completions"] as const satisfies ReadonlyArray<Payload.RequestFormat>

/** Retries of the library's default policy. */
const DEFAULT_RETRIES = RetryPolicy.DEFAULT_ATTEMPTS - 1

/** A region name is a DNS label, as the AWS SDK requires. */
const REGION_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/

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
    {
      name: "endpoint",
      kind: "value",
      placeholder: "NAME",
      description: "The SageMaker endpoint name",
      default: "SAGEMAKER_ENDPOINT_NAME, else the embedded emulator"
    },
    {
      name: "param",
      kind: "repeated",
      placeholder: "KEY=VALUE",
      description: "A generation parameter: --param max_new_tokens=64 --param 'stop=[\"</s>\"]'. A value that " +
        "starts with {, [, \", a digit, -, true, false or null must be valid JSON; any other value is a string",
      default: "max_new_tokens=1024 when no --param is given"
    },
    {
      name: "custom-attribute",
      kind: "repeated",
      placeholder: "KEY=VALUE",
      description: "A custom attribute for the model container, sent as written: --custom-attribute accept_eula=true",
      default: "none"
    },
    {
      name: "prompt-file",
      kind: "value",
      placeholder: "PATH",
      description: "Read the prompt from this file (- for stdin) instead of the PROMPT argument"
    },
    { name: "stream", kind: "flag", description: "Print tokens as they arrive" },
    { name: "json", kind: "flag", description: "Print { replies, meta } as JSON" },
    {
      name: "timeout",
      kind: "value",
      placeholder: "DURATION",
      description: "Bounds each attempt (for --stream: until the first token, then each gap between tokens): " +
        "500ms, 30s, 2m; a bare number is seconds",
      default: "none"
    },
    {
      name: "retries",
      kind: "value",
      placeholder: "N",
      description: "Retries of a retryable failure (not ready, throttled, 5xx, timeout, connection), " +
        "with jittered exponential backoff from 200ms",
      default: String(DEFAULT_RETRIES)
    },
    { name: "no-retry", kind: "flag", description: "One attempt only (--retries 0)" },
    {
      name: "request-format",
      kind: "value",
      placeholder: "haystack|chat|completions",
      description: "The request body: {inputs, parameters} (TGI generate, LMI, JumpStart), the Messages API " +
        "(TGI 2.4+, LMI, vLLM) or legacy completions; --param values become top-level fields for chat and completions",
      default: "haystack"
    },
    {
      name: "transport",
      kind: "value",
      placeholder: "sdk|http",
      description: "The AWS SDK client, or the lean node:http transport (credentials and region still from " +
        "the SDK's providers)",
      default: "sdk"
    },
    {
      name: "region",
      kind: "value",
      placeholder: "REGION",
      description: "The AWS region, e.g. us-east-1",
      default: "AWS_DEFAULT_REGION, AWS_REGION or the profile's region"
    },
    {
      name: "profile",
      kind: "value",
      placeholder: "NAME",
      description: "An AWS shared-config profile",
      default: "AWS_PROFILE, else the default profile"
    },
    {
      name: "endpoint-url",
      kind: "value",
      placeholder: "URL",
      description: "Another SageMaker Runtime, e.g. a separately started emulator: an http:// or https:// URL " +
        "(needs --endpoint)",
      default: "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, else SageMaker's"
    },
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
export interface Settings {
  /** `undefined`: the embedded emulator answers. */
  readonly endpoint: string | undefined
  readonly prompt: PromptSource
  readonly generationKwargs: Readonly<Record<string, unknown>>
  readonly customAttributes: Readonly<Record<string, string>>
  readonly region: string | undefined
  readonly profile: string | undefined
  readonly endpointUrl: string | undefined
  readonly timeout: Duration.Duration | undefined
  readonly retries: number
  readonly transport: Transport
  readonly requestFormat: (typeof REQUEST_FORMATS)[number]
  readonly output: "text" | "json" | "stream"
  readonly verbose: boolean
}

const optional = <A>(
  args: ParsedArgs,
  name: string,
  check: (option: string, text: string) => Either.Either<A, UsageError>
): Either.Either<A | undefined, UsageError> => {
  const text = args.values.get(name)
  return text === undefined ? Either.right(undefined) : check(`--${name}`, text)
}

/** Checks the command line; `stdinIsTTY` decides whether a missing PROMPT means stdin. */
export const settings = (
  args: ParsedArgs,
  stdinIsTTY: boolean
): Effect.Effect<Settings, UsageError> =>
  Effect.gen(function*() {
    const flag = (name: string) => args.flags.has(name)
    const endpointOption = yield* optional(args, "endpoint", nonEmpty)
    const fromEnv = Option.getOrUndefined(yield* Effect.orDie(Config.option(Config.string("SAGEMAKER_ENDPOINT_NAME"))))
    if (endpointOption === undefined && fromEnv !== undefined && fromEnv.trim().length === 0) {
      return yield* usageError("SAGEMAKER_ENDPOINT_NAME is set but empty: set an endpoint name or unset it")
    }
    const endpoint = endpointOption ?? fromEnv

    const generationKwargs = yield* parseKeyValues("--param", args.repeated.get("param") ?? [], "json")
    const customAttributes = yield* parseKeyValues(
      "--custom-attribute",
      args.repeated.get("custom-attribute") ?? [],
      "text"
    ) as Either.Either<Record<string, string>, UsageError>

    const region = yield* optional(args, "region", (option, text) =>
      Either.flatMap(
        nonEmpty(option, text),
        (region) =>
          REGION_PATTERN.test(region)
            ? Either.right(region)
            : Either.left(usageError(`${option} must be a region name such as us-east-1, got "${region}"`))
      ))
    const profile = yield* optional(args, "profile", nonEmpty)
    const endpointUrl = yield* optional(args, "endpoint-url", parseHttpUrl)
    if (endpointUrl !== undefined && endpoint === undefined) {
      return yield* usageError("--endpoint-url needs an endpoint name (--endpoint or SAGEMAKER_ENDPOINT_NAME)")
    }
    const timeout = yield* optional(args, "timeout", parseDuration)
    const retriesOption = yield* optional(args, "retries", (option, text) => parseWholeNumber(option, text, 0, 100))
    if (retriesOption !== undefined && flag("no-retry")) {
      return yield* usageError("--retries and --no-retry contradict each other: give one")
    }
    const transport = args.values.get("transport") ?? "sdk"
    if (!(TRANSPORTS as ReadonlyArray<string>).includes(transport)) {
      return yield* usageError(`--transport must be one of ${TRANSPORTS.join(", ")}, got "${transport}"`)
    }
    const requestFormat = args.values.get("request-format") ?? "haystack"
    if (!(REQUEST_FORMATS as ReadonlyArray<string>).includes(requestFormat)) {
      return yield* usageError(`--request-format must be one of ${REQUEST_FORMATS.join(", ")}, got "${requestFormat}"`)
    }
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
      endpoint,
      prompt,
      generationKwargs,
      customAttributes,
      region,
      profile,
      endpointUrl,
      timeout,
      retries: flag("no-retry") ? 0 : retriesOption ?? DEFAULT_RETRIES,
      transport: transport as Transport,
      requestFormat: requestFormat as (typeof REQUEST_FORMATS)[number],
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
