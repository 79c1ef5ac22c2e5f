/**
 * The generator a command talks through: against a real endpoint when one is configured, else
 * against the embedded emulator (started in-process, said so on stderr). Either way the request
 * goes through the lean transport (or the AWS SDK client with `--transport sdk`). Loaded once the
 * command line is accepted: it loads the SDK.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../SagemakerClient.js"
import { AWSConfigurationError, type SagemakerError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import * as Secret from "../Secret.js"
import type { EndpointSettings } from "./endpointOptions.js"

/** The endpoint name the embedded emulator serves. */
export const EMULATOR_ENDPOINT = "effect-sagemaker-emulator"

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
    // The members these commands do not call pass through as they are.
    ...client,
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
 * The generator's options for `settings`: the endpoint's, or the embedded emulator's (started
 * here, for the lifetime of the scope, answering as `personality`).
 */
const generatorOptions = (
  settings: EndpointSettings,
  retry: SagemakerGenerator.Options["retry"],
  personality: SagemakerEmulator.Personality
): Effect.Effect<SagemakerGenerator.Options, SagemakerEmulator.EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const base = {
      generationKwargs: settings.generationKwargs,
      requestFormat: settings.requestFormat,
      awsCustomAttributes: settings.customAttributes,
      retry,
      ...(settings.timeout === undefined ? {} : { timeout: settings.timeout })
    }
    if (settings.endpoint === undefined) {
      const emulator = yield* SagemakerEmulator.make({ personality })
      yield* Console.error(
        `No endpoint configured (--endpoint or SAGEMAKER_ENDPOINT_NAME): ` +
          `generating with the embedded SageMaker emulator at ${emulator.url}` +
          (personality === "default" ? "" : ` (personality ${personality})`)
      )
      return {
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
    }
    return {
      ...base,
      model: settings.endpoint,
      ...(settings.region === undefined ? {} : { awsRegionName: Secret.fromToken(settings.region) }),
      ...(settings.profile === undefined ? {} : { awsProfileName: Secret.fromToken(settings.profile) }),
      ...(settings.endpointUrl === undefined ? {} : { endpointUrl: settings.endpointUrl })
    }
  })

/** How a command connects: its retry policy, whether attempts are logged, the emulator's personality. */
export interface ConnectOptions {
  readonly retry: SagemakerGenerator.Options["retry"]
  readonly logAttempts: boolean
  /** The embedded emulator's personality, when no endpoint is configured. Default `default`. */
  readonly personality?: SagemakerEmulator.Personality | undefined
}

/**
 * The client for `settings`, built as `SagemakerGenerator.layer` builds its own: the secrets and
 * the region resolve first, and errors name the endpoint. With `logAttempts`, each attempt is
 * logged at debug level. Also the generator's options, which name the endpoint (or the emulator's).
 */
export const connectClient = (
  settings: EndpointSettings,
  options: ConnectOptions
): Effect.Effect<
  { readonly client: SagemakerClient.Service; readonly generator: SagemakerGenerator.Options },
  SagemakerError | SagemakerEmulator.EmulatorServeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const generator = yield* generatorOptions(settings, options.retry, options.personality ?? "default")
    const client = yield* SagemakerClient.makeTransport(
      settings.transport,
      yield* SagemakerGenerator.clientOptions(generator)
    ).pipe(
      Effect.mapError((error) =>
        error.model === "" ? new AWSConfigurationError({ ...error, model: generator.model }) : error
      )
    )
    return { client: options.logAttempts ? logAttempts(client) : client, generator }
  })

/** The generator for `settings`, on the client of {@link connectClient}. */
export const connect = (
  settings: EndpointSettings,
  options: ConnectOptions
): Effect.Effect<
  SagemakerGenerator.Service,
  SagemakerError | SagemakerEmulator.EmulatorServeError,
  Scope.Scope
> =>
  Effect.flatMap(
    connectClient(settings, options),
    ({ client, generator }) =>
      SagemakerGenerator.make(generator).pipe(Effect.provideService(SagemakerClient.SagemakerClient, client))
  )
