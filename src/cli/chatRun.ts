/**
 * The chat of `effect-sagemaker generate --chat`, once its command line was accepted: the prompt
 * (and `--system`) as messages through `@effect/ai`'s `LanguageModel` on `SagemakerLanguageModel`,
 * over the client `connect.ts` builds for `generate`, under the same retry policy and logs. Loaded
 * only for `--chat` (`chat.ts`): it imports `@effect/ai`, an optional peer dependency.
 *
 * @since 0.1.0
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../SagemakerClient.js"
import type { SagemakerError } from "../SagemakerError.js"
import * as SagemakerLanguageModel from "../SagemakerLanguageModel.js"
import { type ChatSettings, personalities } from "./chat.js"
import { connectClient, EMULATOR_ENDPOINT } from "./connect.js"
import type { Settings } from "./generate.js"
import { retrySchedule } from "./generateRun.js"
import type { Output } from "./output.js"

/** What a chat fails with: our tagged error where the `AiError` stands for one, else the `AiError`. */
export type ChatError = SagemakerError | AiError.AiError | SagemakerEmulator.EmulatorServeError

const tokens = (count: number | undefined, what: string) => count === undefined ? [] : [`${count} ${what}`]

/** The finish reason and the usage, logged at debug level (shown with `--verbose`) as the attempts are. */
const logFinish = (finish: Response.FinishPart | undefined) => {
  if (finish === undefined) return Effect.logDebug("finish: none received")
  const container = finish.metadata.sagemaker?.finishReason
  const usage = [
    ...tokens(finish.usage.inputTokens, "input tokens"),
    ...tokens(finish.usage.outputTokens, "output tokens"),
    ...tokens(finish.usage.totalTokens, "in all")
  ]
  return Effect.logDebug(`finish: ${finish.reason}${container === undefined ? "" : ` (container: ${container})`}`).pipe(
    Effect.zipRight(Effect.logDebug(`usage: ${usage.length === 0 ? "not reported" : usage.join(", ")}`))
  )
}

/** The finish part of a whole answer. */
const finishOf = (content: ReadonlyArray<Response.AnyPart>): Response.FinishPart | undefined =>
  content.find((part): part is Response.FinishPart => part.type === "finish")

export const chat = (
  settings: Settings,
  chatSettings: ChatSettings,
  prompt: string,
  stdout: Output
): Effect.Effect<void, ChatError, Scope.Scope> =>
  Effect.gen(function*() {
    const retry = settings.retries === 0 ? false : retrySchedule(settings.retries)
    const { client, generator } = yield* connectClient(settings, {
      retry,
      logAttempts: true,
      personality: personalities[chatSettings.dialect]
    })
    const model = yield* SagemakerLanguageModel.make({
      endpointName: generator.model,
      dialect: chatSettings.dialect,
      chatTemplate: chatSettings.chatTemplate,
      config: chatSettings.config,
      awsCustomAttributes: settings.customAttributes,
      timeout: settings.timeout,
      retry
    }).pipe(Effect.provideService(SagemakerClient.SagemakerClient, client))
    const messages: ReadonlyArray<Prompt.MessageEncoded> = [
      ...(chatSettings.system === undefined ? [] : [{ role: "system", content: chatSettings.system } as const]),
      { role: "user", content: prompt }
    ]
    if (settings.output === "stream") {
      let finish: Response.FinishPart | undefined
      yield* LanguageModel.streamText({ prompt: messages }).pipe(
        Stream.runForEach((part) => {
          if (part.type === "text-delta") return stdout.write(part.delta)
          if (part.type === "finish") finish = part
          return Effect.void
        }),
        Effect.provideService(LanguageModel.LanguageModel, model)
      )
      yield* stdout.write("\n")
      return yield* logFinish(finish)
    }
    const response = yield* LanguageModel.generateText({ prompt: messages }).pipe(
      Effect.provideService(LanguageModel.LanguageModel, model)
    )
    if (settings.output === "json") {
      const { inputTokens, outputTokens, totalTokens } = response.usage
      yield* stdout.write(
        `${
          JSON.stringify(
            {
              text: response.text,
              finishReason: response.finishReason,
              usage: { inputTokens, outputTokens, totalTokens }
            },
            null,
            2
          )
        }\n`
      )
    } else {
      yield* stdout.write(`${response.text}\n`)
    }
    yield* logFinish(finishOf(response.content))
  }).pipe(
    // The error line names what the generator's would: the retried, classified SageMaker failure.
    Effect.mapError((error) =>
      AiError.isAiError(error) ? SagemakerLanguageModel.sagemakerError(error) ?? error : error
    ),
    Effect.annotateLogs({ endpoint: settings.endpoint ?? EMULATOR_ENDPOINT }),
    Logger.withMinimumLogLevel(settings.verbose ? LogLevel.Debug : LogLevel.Info)
  )
