/**
 * The options that say which endpoint a command talks to and how (`--endpoint`, `--param`,
 * `--timeout`, `--retries`, `--transport`, ...), shared by `generate` and `batch`, and their
 * checks. Nothing here loads the AWS SDK: help and usage errors stay fast.
 *
 * @since 0.1.0
 * @internal
 */
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Payload from "../Payload.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { Transport } from "../SagemakerClient.js"
import { type OptionSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import { nonEmpty, parseDuration, parseHttpUrl, parseKeyValues, parseWholeNumber } from "./parse.js"

/** The transports, as the library names them, its default first (written out: help loads no client). */
const TRANSPORTS: ReadonlyArray<Transport> = ["http", "sdk"]

/** The named request formats of the library (written out: `Payload` loads Schema, which help does not need). */
const REQUEST_FORMATS = ["haystack", "chat", "completions"] as const satisfies ReadonlyArray<Payload.RequestFormat>

export type RequestFormat = (typeof REQUEST_FORMATS)[number]

/** Retries of the library's default policy. */
export const DEFAULT_RETRIES = RetryPolicy.DEFAULT_ATTEMPTS - 1

/** A region name is a DNS label, as the AWS SDK requires. */
const REGION_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/

/** The shared options, by name; each command lists the ones it takes, in its own order. */
export const options = {
  endpoint: {
    name: "endpoint",
    kind: "value",
    placeholder: "NAME",
    description: "The SageMaker endpoint name",
    default: "SAGEMAKER_ENDPOINT_NAME, else the embedded emulator"
  },
  param: {
    name: "param",
    kind: "repeated",
    placeholder: "KEY=VALUE",
    description: "A generation parameter: --param max_new_tokens=64 --param 'stop=[\"</s>\"]'. A value that " +
      "starts with {, [, \", a digit, -, true, false or null must be valid JSON; any other value is a string",
    default: "max_new_tokens=1024 when no --param is given"
  },
  customAttribute: {
    name: "custom-attribute",
    kind: "repeated",
    placeholder: "KEY=VALUE",
    description: "A custom attribute for the model container, sent as written: --custom-attribute accept_eula=true",
    default: "none"
  },
  timeout: {
    name: "timeout",
    kind: "value",
    placeholder: "DURATION",
    description: "Bounds each attempt: 500ms, 30s, 2m; a bare number is seconds",
    default: "none"
  },
  retries: {
    name: "retries",
    kind: "value",
    placeholder: "N",
    description: "Retries of a retryable failure (not ready, throttled, 5xx, timeout, connection), " +
      "with jittered exponential backoff from 200ms",
    default: String(DEFAULT_RETRIES)
  },
  noRetry: { name: "no-retry", kind: "flag", description: "One attempt only (--retries 0)" },
  requestFormat: {
    name: "request-format",
    kind: "value",
    placeholder: "haystack|chat|completions",
    description: "The request body: {inputs, parameters} (TGI generate, LMI, JumpStart), the Messages API " +
      "(TGI 2.4+, LMI, vLLM) or legacy completions; --param values become top-level fields for chat and completions",
    default: "haystack"
  },
  transport: {
    name: "transport",
    kind: "value",
    placeholder: "http|sdk",
    description: "The lean node:http transport (credentials, region and endpoint still from the SDK's " +
      "providers), or the AWS SDK client",
    default: TRANSPORTS[0]!
  },
  region: {
    name: "region",
    kind: "value",
    placeholder: "REGION",
    description: "The AWS region, e.g. us-east-1",
    default: "AWS_DEFAULT_REGION, AWS_REGION or the profile's region"
  },
  profile: {
    name: "profile",
    kind: "value",
    placeholder: "NAME",
    description: "An AWS shared-config profile",
    default: "AWS_PROFILE, else the default profile"
  },
  endpointUrl: {
    name: "endpoint-url",
    kind: "value",
    placeholder: "URL",
    description: "Another SageMaker Runtime, e.g. a separately started emulator: an http:// or https:// URL " +
      "(needs --endpoint)",
    default: "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, else SageMaker's"
  }
} as const satisfies Readonly<Record<string, OptionSpec>>

/** The tail of both commands' option lists: the request format and how the endpoint is reached. */
export const connectionOptions: ReadonlyArray<OptionSpec> = [
  options.noRetry,
  options.requestFormat,
  options.transport,
  options.region,
  options.profile,
  options.endpointUrl
]

/** The endpoint and how to reach it, checked. */
export interface EndpointSettings {
  /** `undefined`: the embedded emulator answers. */
  readonly endpoint: string | undefined
  readonly generationKwargs: Readonly<Record<string, unknown>>
  readonly customAttributes: Readonly<Record<string, string>>
  readonly region: string | undefined
  readonly profile: string | undefined
  readonly endpointUrl: string | undefined
  readonly timeout: Duration.Duration | undefined
  readonly retries: number
  readonly transport: Transport
  readonly requestFormat: RequestFormat
}

/** The value of option `name` checked by `check`, or `undefined` when it is not given. */
export const optional = <A>(
  args: ParsedArgs,
  name: string,
  check: (option: string, text: string) => Either.Either<A, UsageError>
): Either.Either<A | undefined, UsageError> => {
  const text = args.values.get(name)
  return text === undefined ? Either.right(undefined) : check(`--${name}`, text)
}

/** Checks the shared options (and `SAGEMAKER_ENDPOINT_NAME`). */
export const endpointSettings = (args: ParsedArgs): Effect.Effect<EndpointSettings, UsageError> =>
  Effect.gen(function*() {
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
    const retries = yield* optional(args, "retries", (option, text) => parseWholeNumber(option, text, 0, 100))
    if (retries !== undefined && args.flags.has("no-retry")) {
      return yield* usageError("--retries and --no-retry contradict each other: give one")
    }
    const transport = args.values.get("transport") ?? TRANSPORTS[0]!
    if (!(TRANSPORTS as ReadonlyArray<string>).includes(transport)) {
      return yield* usageError(`--transport must be one of ${TRANSPORTS.join(", ")}, got "${transport}"`)
    }
    const requestFormat = args.values.get("request-format") ?? "haystack"
    if (!(REQUEST_FORMATS as ReadonlyArray<string>).includes(requestFormat)) {
      return yield* usageError(`--request-format must be one of ${REQUEST_FORMATS.join(", ")}, got "${requestFormat}"`)
    }
    return {
      endpoint,
      generationKwargs,
      customAttributes,
      region,
      profile,
      endpointUrl,
      timeout,
      retries: args.flags.has("no-retry") ? 0 : retries ?? DEFAULT_RETRIES,
      transport: transport as Transport,
      requestFormat: requestFormat as RequestFormat
    }
  })
