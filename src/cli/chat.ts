/**
 * `effect-sagemaker generate --chat`: its options (`--system`, `--dialect`, `--chat-template`),
 * `--param` read as the language model's configuration, and the loading of the chat itself
 * (`chatRun.ts`), which needs the optional peer dependency `@effect/ai`: nothing here imports it,
 * so that `generate` without `--chat`, help and usage errors work without it.
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import { type BuiltInChatTemplate, builtInChatTemplates } from "../internal/languageModel/chatTemplates.js"
import { checkConfig, type ConfigService, ownFields } from "../internal/languageModel/config.js"
import { type Dialect, dialects } from "../internal/languageModel/dialects.js"
import { type OptionSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import type * as ChatRun from "./chatRun.js"
import { optional } from "./endpointOptions.js"
import { nonEmpty } from "./parse.js"

/** The options only `--chat` takes, in the order of the help. */
export const chatOptions: ReadonlyArray<OptionSpec> = [
  {
    name: "chat",
    kind: "flag",
    description: "Chat through @effect/ai's LanguageModel (SagemakerLanguageModel): the prompt is one user " +
      "message, in the body of --dialect. Needs the optional peer dependency @effect/ai"
  },
  {
    name: "system",
    kind: "value",
    placeholder: "TEXT",
    description: "With --chat: a system message before the prompt",
    default: "none"
  },
  {
    name: "dialect",
    kind: "value",
    placeholder: dialects.join("|"),
    description: "With --chat: what the container speaks: the Messages API (TGI 2.4+, LMI, vLLM), TGI's or " +
      "LMI's own Messages API, or {inputs, parameters} with a chat template (text-generation)",
    default: "openai"
  },
  {
    name: "chat-template",
    kind: "value",
    placeholder: builtInChatTemplates.join("|"),
    description: "With --chat --dialect text-generation (required there, refused elsewhere): how the messages " +
      "become the prompt"
  }
]

/** What `--chat` adds to the command line of `generate`, checked. */
export interface ChatSettings {
  readonly system: string | undefined
  readonly dialect: Dialect
  readonly chatTemplate: BuiltInChatTemplate | undefined
  /** `--param`, as the language model's sampling configuration and extra body fields. */
  readonly config: ConfigService
}

/** The embedded emulator's personality that speaks each dialect. */
export const personalities: { readonly [D in Dialect]: SagemakerEmulator.Personality } = {
  openai: "vllm",
  tgi: "tgi",
  lmi: "lmi",
  "text-generation": "default"
}

/** The `--param` keys that are the language model's sampling fields (`max_new_tokens`: the generator's name). */
const samplingKeys: Readonly<Record<string, keyof ConfigService>> = {
  temperature: "temperature",
  top_p: "top_p",
  max_tokens: "max_tokens",
  max_new_tokens: "max_tokens",
  stop: "stop",
  seed: "seed",
  frequency_penalty: "frequency_penalty",
  presence_penalty: "presence_penalty"
}

/**
 * `--param` as the language model's configuration: the sampling keys are its fields (checked by
 * its own rules), any other key an extra body field, which the text-generation dialect's container
 * reads from `parameters`.
 */
export const chatConfig = (
  params: Readonly<Record<string, unknown>>,
  dialect: Dialect
): Either.Either<ConfigService, UsageError> => {
  const config: Record<string, unknown> = {}
  const given: Record<string, string> = {}
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(params)) {
    const field = samplingKeys[key]
    if (field === undefined) {
      if (ownFields.includes(key)) {
        return Either.left(usageError(`--param ${key}: with --chat the body's "${key}" is written by the chat itself`))
      }
      extra[key] = value
      continue
    }
    if (given[field] !== undefined) {
      return Either.left(usageError(`--param ${given[field]} and ${key} are the same setting with --chat: give one`))
    }
    const problem = checkConfig("config", { [field]: value })
    if (problem !== undefined) return Either.left(usageError(`--param ${key} ${problem.rule}`))
    given[field] = key
    config[field] = value
  }
  if (Object.keys(extra).length > 0) {
    config.extraBody = dialect === "text-generation" ? { parameters: extra } : extra
  }
  return Either.right(config as ConfigService)
}

/** The options of `--chat`, checked; `undefined` without `--chat`, where they are refused. */
export const chatSettings = (
  args: ParsedArgs,
  params: Readonly<Record<string, unknown>>
): Effect.Effect<ChatSettings | undefined, UsageError> =>
  Effect.gen(function*() {
    if (!args.flags.has("chat")) {
      const given = ["system", "dialect", "chat-template"].find((name) => args.values.has(name))
      if (given !== undefined) return yield* usageError(`--${given} needs --chat`)
      return undefined
    }
    if (args.values.has("request-format")) {
      return yield* usageError(
        "--request-format has no meaning with --chat: the chat writes its dialect's body (--dialect)"
      )
    }
    const dialect = args.values.get("dialect") ?? "openai"
    if (!(dialects as ReadonlyArray<string>).includes(dialect)) {
      return yield* usageError(`--dialect must be one of ${dialects.join(", ")}, got "${dialect}"`)
    }
    const template = args.values.get("chat-template")
    if (template !== undefined && !(builtInChatTemplates as ReadonlyArray<string>).includes(template)) {
      return yield* usageError(`--chat-template must be one of ${builtInChatTemplates.join(", ")}, got "${template}"`)
    }
    if (dialect === "text-generation" && template === undefined) {
      return yield* usageError(`--dialect text-generation needs --chat-template ${builtInChatTemplates.join("|")}`)
    }
    if (dialect !== "text-generation" && template !== undefined) {
      return yield* usageError(
        `--chat-template is for --dialect text-generation only: the ${dialect} container applies its own template`
      )
    }
    const system = yield* optional(args, "system", nonEmpty)
    return {
      system,
      dialect: dialect as Dialect,
      chatTemplate: template as BuiltInChatTemplate | undefined,
      config: yield* chatConfig(params, dialect as Dialect)
    }
  })

/** `--chat` was given, but `@effect/ai` cannot be loaded: an error of the installation (exit code 1). */
export class MissingPeerDependency extends Data.TaggedError("MissingPeerDependency")<{ readonly message: string }> {}

/** Node's error for a package that does not resolve, when that package is `@effect/ai`. */
const isEffectAiMissing = (error: unknown): boolean =>
  typeof error === "object" && error !== null &&
  (error as { readonly code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
  /['"]@effect\/ai(?:\/[^'"]*)?['"]/.test(String((error as { readonly message?: unknown }).message))

/** Loads the chat, and with it `@effect/ai`; any other failure to load it is a defect. */
export const loadChatRun: Effect.Effect<typeof ChatRun, MissingPeerDependency> = Effect.tryPromise({
  try: () => import("./chatRun.js"),
  catch: (error) => error
}).pipe(
  Effect.catchAll((error) =>
    isEffectAiMissing(error)
      ? Effect.fail(
        new MissingPeerDependency({
          message: "--chat needs the optional peer dependency @effect/ai (npm install @effect/ai@^0.37)"
        })
      )
      : Effect.die(error)
  )
)
