/**
 * `effect-sagemaker generate <prompt>`: one generation, against a real endpoint when one is
 * configured, else against the embedded emulator (started in-process, said so on stderr). Either
 * way the request goes through the real AWS SDK.
 *
 * @since 0.1.0
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import { SagemakerValidationError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import * as Secret from "../Secret.js"
import { parseKeyValues } from "./parse.js"

/** The endpoint name the embedded emulator serves. */
export const EMULATOR_ENDPOINT = "effect-sagemaker-emulator"

const prompt = Args.text({ name: "prompt" }).pipe(Args.withDescription("The prompt, sent verbatim as \"inputs\""))

const endpoint = Options.text("endpoint").pipe(
  Options.withFallbackConfig(Config.string("SAGEMAKER_ENDPOINT_NAME")),
  Options.optional,
  Options.withDescription(
    "The SageMaker endpoint name (or SAGEMAKER_ENDPOINT_NAME); without one, the embedded emulator answers"
  )
)
const params = Options.text("param").pipe(
  Options.repeated,
  Options.withDescription("A generation parameter, key=value with a JSON value: --param max_new_tokens=64")
)
const customAttributes = Options.text("custom-attribute").pipe(
  Options.repeated,
  Options.withDescription("A custom attribute for the model container: --custom-attribute accept_eula=true")
)
const region = Options.text("region").pipe(Options.optional, Options.withDescription("The AWS region"))
const profile = Options.text("profile").pipe(Options.optional, Options.withDescription("An AWS shared-config profile"))
const endpointUrl = Options.text("endpoint-url").pipe(
  Options.optional,
  Options.withDescription("Another SageMaker Runtime URL, e.g. a separately started emulator")
)
const json = Options.boolean("json").pipe(Options.withDescription("Print { replies, meta } as JSON"))
const stream = Options.boolean("stream").pipe(Options.withDescription("Print tokens as they arrive"))

const usageError = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

const write = (text: string) => Effect.sync(() => process.stdout.write(text))

export const command = Command.make(
  "generate",
  { prompt, endpoint, params, customAttributes, region, profile, endpointUrl, json, stream },
  (input) =>
    Effect.gen(function*() {
      const generationKwargs = yield* Either.mapLeft(
        parseKeyValues("--param", input.params, "json"),
        (rule) => usageError("--param", rule)
      )
      const awsCustomAttributes = yield* Either.mapLeft(
        parseKeyValues("--custom-attribute", input.customAttributes, "scalar"),
        (rule) => usageError("--custom-attribute", rule)
      )
      const base = {
        generationKwargs,
        awsCustomAttributes: awsCustomAttributes as Record<string, string | number | boolean>
      }
      const generate = (options: SagemakerGenerator.Options) =>
        Effect.gen(function*() {
          const generator = yield* SagemakerGenerator.SagemakerGenerator
          if (input.stream) {
            yield* generator.stream(input.prompt).pipe(Stream.runForEach((chunk) => write(chunk.text)))
            return yield* write("\n")
          }
          const result = yield* generator.run(input.prompt)
          yield* input.json
            ? Console.log(JSON.stringify(result, null, 2))
            : Console.log(result.replies.join("\n"))
        }).pipe(Effect.provide(SagemakerGenerator.layer(options)))

      if (Option.isNone(input.endpoint)) {
        if (Option.isSome(input.endpointUrl)) {
          return yield* usageError("--endpoint", "--endpoint-url needs an endpoint name (--endpoint)")
        }
        const emulator = yield* SagemakerEmulator.make({})
        yield* Console.error(
          `No endpoint configured (--endpoint or SAGEMAKER_ENDPOINT_NAME): ` +
            `generating with the embedded SageMaker emulator at ${emulator.url}`
        )
        return yield* generate({
          ...base,
          model: EMULATOR_ENDPOINT,
          endpointUrl: emulator.url,
          // The emulator does not check signatures unless asked; these keys sign nothing real.
          awsAccessKeyId: Secret.fromToken("EMULATOR"),
          awsSecretAccessKey: Secret.fromToken("emulator-secret"),
          awsSessionToken: null,
          awsRegionName: Secret.fromToken("us-east-1"),
          awsProfileName: null
        })
      }
      return yield* generate({
        ...base,
        model: input.endpoint.value,
        ...Option.match(input.region, { onNone: () => ({}), onSome: (r) => ({ awsRegionName: Secret.fromToken(r) }) }),
        ...Option.match(input.profile, {
          onNone: () => ({}),
          onSome: (p) => ({ awsProfileName: Secret.fromToken(p) })
        }),
        ...Option.match(input.endpointUrl, { onNone: () => ({}), onSome: (url) => ({ endpointUrl: url }) })
      })
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Generate text with a SageMaker endpoint (or the embedded emulator)"))
