/**
 * Shared layers for emulator-backed suites: one emulator, one `SagemakerClient` on a transport
 * pointed at it, and a generator on that client, built once per `layer` block (as
 * `@effect/vitest`'s `layer` does) instead of once per test. Tests that need their own endpoint or
 * faults use their own endpoint name on the shared emulator, and read its requests by that name.
 */
import { layer } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SagemakerEmulator from "../../src/emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../../src/SagemakerClient.js"
import type { AWSConfigurationError, SagemakerValidationError } from "../../src/SagemakerError.js"
import * as SagemakerGenerator from "../../src/SagemakerGenerator.js"
import type { TransportVariant } from "./transports.js"

export const region = "us-east-1"

/** Static test credentials: the emulator checks no signature unless it is given key pairs. */
export const credentials: SagemakerClient.Credentials = {
  accessKeyId: Redacted.make("AKIDFIXTURES"),
  secretAccessKey: Redacted.make("fixtures-secret")
}

/** The endpoint of the shared generator. */
export const MODEL = "ep"

export const emulator = (options?: SagemakerEmulator.Options): Layer.Layer<
  SagemakerEmulator.SagemakerEmulator,
  SagemakerEmulator.EmulatorServeError
> => SagemakerEmulator.layer(options)

const clientLayers: {
  readonly [T in SagemakerClient.Transport]: (
    options: SagemakerClient.Options
  ) => Layer.Layer<SagemakerClient.SagemakerClient, AWSConfigurationError>
} = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp }

/** The transport a variant of test/helpers/transports.ts selects with its `transport` option. */
export const transportOf = (variant: TransportVariant): SagemakerClient.Transport =>
  variant.options.transport ?? SagemakerClient.defaultTransport

/** A client on the variant's transport, pointed at the emulator in the context. */
export const client = (
  variant: TransportVariant,
  options: Partial<SagemakerClient.Options> = {}
): Layer.Layer<SagemakerClient.SagemakerClient, AWSConfigurationError, SagemakerEmulator.SagemakerEmulator> =>
  Layer.unwrapEffect(
    Effect.map(
      SagemakerEmulator.SagemakerEmulator,
      (emulator) => clientLayers[transportOf(variant)]({ region, credentials, endpointUrl: emulator.url, ...options })
    )
  )

/** A generator on the client in the context; endpoint {@link MODEL} unless `options.model` says otherwise. */
export const generator = (
  options: Partial<SagemakerGenerator.Options> = {}
): Layer.Layer<SagemakerGenerator.SagemakerGenerator, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  SagemakerGenerator.layerWithClient({ model: MODEL, ...options })

export interface StackOptions {
  readonly emulator?: SagemakerEmulator.Options | undefined
  readonly client?: Partial<SagemakerClient.Options> | undefined
  readonly generator?: Partial<SagemakerGenerator.Options> | undefined
}

export type Stack =
  | SagemakerEmulator.SagemakerEmulator
  | SagemakerClient.SagemakerClient
  | SagemakerGenerator.SagemakerGenerator

/** The emulator, a client on the variant's transport, and a generator on that client, all three in the context. */
export const stack = (
  variant: TransportVariant,
  options: StackOptions = {}
): Layer.Layer<Stack, SagemakerEmulator.EmulatorServeError | AWSConfigurationError | SagemakerValidationError> =>
  generator(options.generator).pipe(
    Layer.provideMerge(client(variant, options.client)),
    Layer.provideMerge(emulator(options.emulator))
  )

/**
 * `layer` from `@effect/vitest` without its TestServices: `it.effect` and `it.scoped` inside run on
 * the live clock, as the sockets and timers of these tests do (`it.live` does not exist in a block).
 *
 * Do not nest `it.layer` in such a block: in @effect/vitest 0.30 it replaces the block's `it.effect`
 * for every test registered after it. Give a test its own generator with {@link generatorOn}.
 */
export const layerLive = <R, E>(
  stackLayer: Layer.Layer<R, E>,
  options: { readonly timeout?: Duration.DurationInput } = {}
) => layer(stackLayer, { ...options, excludeTestServices: true })

/**
 * Runs `effect` with a generator for `model` (and `options`) on the shared client: a service, not
 * another client, so the emulator and the sockets stay the block's.
 */
export const generatorOn = (model: string, options: Partial<SagemakerGenerator.Options> = {}) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | SagemakerValidationError,
  Exclude<R, SagemakerGenerator.SagemakerGenerator> | SagemakerClient.SagemakerClient
> =>
  Effect.provideServiceEffect(
    effect,
    SagemakerGenerator.SagemakerGenerator,
    SagemakerGenerator.make({ ...options, model })
  )

/** The requests the shared emulator recorded for `endpointName`, in arrival order. */
export const requestsTo = (
  endpointName: string
): Effect.Effect<ReadonlyArray<SagemakerEmulator.RecordedRequest>, never, SagemakerEmulator.SagemakerEmulator> =>
  Effect.map(
    Effect.flatMap(SagemakerEmulator.SagemakerEmulator, (emulator) => emulator.requests),
    (requests) => requests.filter((request) => request.endpointName === endpointName)
  )

/**
 * Waits (up to `within`) until `n` requests to `endpointName` were closed by the client before
 * their response finished: the emulator's `awaitClosedRequests`, for one endpoint of a shared emulator.
 */
export const awaitAborted = (
  endpointName: string,
  n: number,
  within: Duration.DurationInput = "2 seconds"
): Effect.Effect<void, string, SagemakerEmulator.SagemakerEmulator> =>
  Effect.gen(function*() {
    while ((yield* requestsTo(endpointName)).filter((request) => request.aborted).length < n) {
      yield* Effect.sleep("5 millis")
    }
  }).pipe(
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => `fewer than ${n} request(s) to ${endpointName} were aborted`
    })
  )
