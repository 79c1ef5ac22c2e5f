/**
 * The generation of `effect-sagemaker generate`, once its command line was accepted, under the
 * library's retry policy (each retry logged with `--verbose`); `connect.ts` says where it goes.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import type { SagemakerError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import { connect, EMULATOR_ENDPOINT } from "./connect.js"
import type { Settings } from "./generate.js"
import type { Output } from "./output.js"

const millis = (duration: Duration.Duration) => `${Math.round(Duration.toMillis(duration))}ms`

/**
 * The library's default schedule with `retries` retries, logging each retry with its delay and
 * the failure it retries.
 */
export const retrySchedule = (retries: number): Schedule.Schedule<unknown, SagemakerError> =>
  Schedule.delays(SagemakerGenerator.retrySchedule({ attempts: retries + 1 })).pipe(
    Schedule.intersect(Schedule.identity<SagemakerError>()),
    Schedule.onDecision(([delay, error], decision) =>
      ScheduleDecision.isContinue(decision)
        ? Effect.logDebug(`retrying in ${millis(delay)} after ${error._tag}`)
        : Effect.void
    )
  )

export const generate = (
  settings: Settings,
  prompt: string,
  stdout: Output
): Effect.Effect<void, SagemakerError | SagemakerEmulator.EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const generator = yield* connect(settings, {
      retry: settings.retries === 0 ? false : retrySchedule(settings.retries),
      logAttempts: true
    })
    if (settings.output === "stream") {
      yield* generator.stream(prompt).pipe(Stream.runForEach((chunk) => stdout.write(chunk.text)))
      return yield* stdout.write("\n")
    }
    const result = yield* generator.run(prompt)
    yield* stdout.write(
      settings.output === "json" ? `${JSON.stringify(result, null, 2)}\n` : `${result.replies.join("\n")}\n`
    )
  }).pipe(
    Effect.annotateLogs({ endpoint: settings.endpoint ?? EMULATOR_ENDPOINT }),
    Logger.withMinimumLogLevel(settings.verbose ? LogLevel.Debug : LogLevel.Info)
  )
