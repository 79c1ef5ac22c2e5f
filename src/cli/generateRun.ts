/**
 * The generation of `effect-sagemaker generate`, once its command line was accepted: against a
 * real endpoint when one is configured, else against the embedded emulator (started in-process,
 * said so on stderr). Either way the request goes through the real AWS SDK (or the lean
 * transport with `--transport http`), under the library's retry policy.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../SagemakerClient.js"
import { AWSConfigurationError, type SagemakerError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import * as Secret from "../Secret.js"
import type { Settings } from "./generate.js"
import type { Output } from "./output.js"

/** The endpoint name the embedded emulator serves. */
export const EMULATOR_ENDPOINT = "effect-sagemaker-emulator"

const millis = (duration: Duration.Duration) => `${Math.round(Duration.toMillis(duration))}ms`

/**
 * The library's default schedule with `retries` retries, logging each retry with its delay and
 * the failure it retries.
 */
const retrySchedule = (retries: number): Schedule.Schedule<unknown, SagemakerError> =>
  Schedule.delays(SagemakerGenerator.retrySchedule({ attempts: retries + 1 })).pipe(
    Schedule.intersect(Schedule.identity<SagemakerError>()),
    Schedule.onDecision(([delay, error], decision) =>
      ScheduleDecision.isContinue(decision)
        ? Effect.logDebug(`retrying in ${millis(delay)} after ${error._tag}`)
        : Effect.void
    )
  )

type Failure = SagemakerClient.InvokeError

const describeFailure = (error: Failure) =>
  `${error._tag} (${
    "statusCode" in error && error.statusCode !== undefined ? `status ${error.statusCode}` : "no response"
  })`

/**
 * The client with each attempt logged (at debug level: shown with `--verbose`): its number, how
 * it ended (the status of a failure) and how long it took.
 */
const logAttempts = (client: SagemakerClient.Service): SagemakerClient.Service => {
  let attempts = 0
  const attempt = <A, R>(
    operation: string,
    call: Effect.Effect<A, Failure, R>,
    succeeded: string
  ): Effect.Effect<A, Failure, R> =>
    Effect.suspend(() => {
      const n = ++attempts
      return Effect.flatMap(Clock.currentTimeMillis, (start) => {
        const log = (outcome: string) =>
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Effect.logDebug(`attempt ${n}: ${outcome} after ${now - start}ms`)
          )
        return Effect.logDebug(`attempt ${n}: ${operation}`).pipe(
          Effect.zipRight(call),
          Effect.tap(() => log(succeeded)),
          Effect.tapError((error) => log(describeFailure(error))),
          Effect.onInterrupt(() => log("aborted"))
        )
      })
    })
  return SagemakerClient.SagemakerClient.of({
    region: client.region,
    invokeEndpoint: (request) =>
      attempt(
        `InvokeEndpoint ${request.endpointName} (${request.body.byteLength} bytes)`,
        client.invokeEndpoint(request),
        "succeeded"
      ),
    invokeEndpointWithResponseStream: (request) =>
      attempt(
        `InvokeEndpointWithResponseStream ${request.endpointName} (${request.body.byteLength} bytes)`,
        client.invokeEndpointWithResponseStream(request),
        "stream opened (first event)"
      )
  })
}

/**
 * The generator over a client with logged attempts, built as `SagemakerGenerator.layer` builds
 * its own: the secrets and the region resolve first, and errors name the endpoint.
 */
const makeGenerator = (
  options: SagemakerGenerator.Options,
  transport: SagemakerClient.Transport
): Effect.Effect<SagemakerGenerator.Service, SagemakerError, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* SagemakerClient.makeTransport(transport, yield* SagemakerGenerator.clientOptions(options))
      .pipe(
        Effect.mapError((error) =>
          error.model === "" ? new AWSConfigurationError({ ...error, model: options.model }) : error
        )
      )
    return yield* SagemakerGenerator.make(options).pipe(
      Effect.provideService(SagemakerClient.SagemakerClient, logAttempts(client))
    )
  })

export const generate = (
  settings: Settings,
  prompt: string,
  stdout: Output
): Effect.Effect<void, SagemakerError | SagemakerEmulator.EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const base = {
      generationKwargs: settings.generationKwargs,
      requestFormat: settings.requestFormat,
      awsCustomAttributes: settings.customAttributes,
      retry: settings.retries === 0 ? false as const : retrySchedule(settings.retries),
      ...(settings.timeout === undefined ? {} : { timeout: settings.timeout })
    }
    let options: SagemakerGenerator.Options
    if (settings.endpoint === undefined) {
      const emulator = yield* SagemakerEmulator.make({})
      yield* Console.error(
        `No endpoint configured (--endpoint or SAGEMAKER_ENDPOINT_NAME): ` +
          `generating with the embedded SageMaker emulator at ${emulator.url}`
      )
      options = {
        ...base,
        model: EMULATOR_ENDPOINT,
        endpointUrl: emulator.url,
        // The emulator does not check signatures unless asked; these keys sign nothing real.
        awsAccessKeyId: Secret.fromToken("EMULATOR"),
        awsSecretAccessKey: Secret.fromToken("emulator-secret"),
        awsSessionToken: null,
        awsRegionName: Secret.fromToken("us-east-1"),
        awsProfileName: null
      }
    } else {
      options = {
        ...base,
        model: settings.endpoint,
        ...(settings.region === undefined ? {} : { awsRegionName: Secret.fromToken(settings.region) }),
        ...(settings.profile === undefined ? {} : { awsProfileName: Secret.fromToken(settings.profile) }),
        ...(settings.endpointUrl === undefined ? {} : { endpointUrl: settings.endpointUrl })
      }
    }

    const generator = yield* makeGenerator(options, settings.transport)
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
