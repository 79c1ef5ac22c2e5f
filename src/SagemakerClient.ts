/**
 * The transport seam: one scoped client per layer, every call abortable (interrupting the fiber
 * cancels the HTTP request), every failure a tagged error from the one error table. Tests of the
 * layers above fake this service with `Layer.succeed`.
 *
 * Two transports sit behind it, chosen by {@link Options.transport}:
 *
 * - `"sdk"` (default): `@aws-sdk/client-sagemaker-runtime`'s `SageMakerRuntimeClient`.
 * - `"http"`: a lean one — node's `http`/`https` with a keep-alive agent, one `Effect.async` per
 *   call, SigV4 from `@smithy/signature-v4`, SageMaker's error responses and event streams read
 *   directly. Credentials, region and endpoint still come from the SDK's providers (default
 *   chain, profiles, SSO, `AWS_ENDPOINT_URL_*`). Same requests, same errors, same stream
 *   behaviour, with less CPU per call and per event and a shorter time to the first token
 *   (README, Performance).
 *
 * @since 0.1.0
 */
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig
} from "@aws-sdk/client-sagemaker-runtime"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { abortableSend } from "./internal/client/sdk/abortableSend.js"
import { fromAbortableIterable } from "./internal/client/sdk/iterableStream.js"
import { fromSdkError, fromStreamError } from "./internal/client/errorTable.js"
import { AWSConfigurationError, type SagemakerRequestError, type SagemakerStreamError } from "./SagemakerError.js"

/**
 * What a call can fail with before any response stream: the request errors, and
 * `AWSConfigurationError` when the SDK's default chain finds no credentials at call time.
 *
 * @since 0.1.0
 * @category errors
 */
export type InvokeError = SagemakerRequestError | AWSConfigurationError

/**
 * Static AWS credentials. Values stay redacted until the SDK asks for them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credentials {
  readonly accessKeyId: Redacted.Redacted<string>
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken?: Redacted.Redacted<string> | undefined
}

/**
 * Which transport carries the requests: the AWS SDK client (`"sdk"`), or the lean HTTP transport
 * (`"http"`: node's `http`/`https` + SigV4, credentials and region still from the SDK's
 * providers).
 *
 * @since 0.1.0
 * @category models
 */
export type Transport = "sdk" | "http"

/**
 * Every transport, the default first.
 *
 * @since 0.1.0
 * @category constants
 */
export const transports: ReadonlyArray<Transport> = ["sdk", "http"]

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The region; otherwise the SDK's chain (`AWS_REGION`, the profile's region). */
  readonly region?: string | undefined
  /** Static credentials; otherwise the SDK's default provider chain (env, profile, SSO, IMDS). */
  readonly credentials?: Credentials | undefined
  /** A shared-config profile for the SDK's chain. */
  readonly profile?: string | undefined
  /** Another SageMaker Runtime, e.g. the emulator; otherwise the SDK's `AWS_ENDPOINT_URL_*` handling. */
  readonly endpointUrl?: string | undefined
  /**
   * Requests in flight at once over this client; the socket pool is this big. Default
   * {@link DEFAULT_MAX_CONCURRENCY} (the SDK's own default pool of 50 would queue large batches).
   */
  readonly maxConcurrency?: number | undefined
  /** Named in `AWSConfigurationError`s (Haystack's message names the endpoint). */
  readonly endpointName?: string | undefined
  /** Default `"sdk"`. See {@link Transport}. */
  readonly transport?: Transport | undefined
}

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_CONCURRENCY = 1024

/**
 * One InvokeEndpoint request, in the SDK's terms but with our names.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvokeRequest {
  readonly endpointName: string
  readonly body: Uint8Array
  readonly contentType: string
  readonly accept: string
  readonly customAttributes?: string | undefined
  readonly targetModel?: string | undefined
  readonly targetVariant?: string | undefined
  readonly targetContainerHostname?: string | undefined
  readonly inferenceComponentName?: string | undefined
  readonly inferenceId?: string | undefined
  readonly sessionId?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface InvokeResponse {
  readonly body: Uint8Array
  readonly contentType: string | undefined
  readonly invokedProductionVariant: string | undefined
  readonly customAttributes: string | undefined
  readonly newSessionId: string | undefined
  readonly closedSessionId: string | undefined
  readonly requestId: string | undefined
}

/**
 * An open response stream: the model's content type and its payload parts, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResponse {
  readonly contentType: string | undefined
  readonly invokedProductionVariant: string | undefined
  readonly requestId: string | undefined
  readonly parts: Stream.Stream<Uint8Array, SagemakerStreamError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The region requests are signed for. */
  readonly region: string
  readonly invokeEndpoint: (request: InvokeRequest) => Effect.Effect<InvokeResponse, InvokeError>
  /**
   * Opens `InvokeEndpointWithResponseStream`. The effect succeeds when the first event arrived
   * (the SDK resolves only then; the HTTP transport does the same), so a failure in the first
   * frame fails the call and follows the retry policy; closing the scope aborts the HTTP request.
   */
  readonly invokeEndpointWithResponseStream: (
    request: Omit<InvokeRequest, "targetModel">
  ) => Effect.Effect<StreamResponse, InvokeError, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SagemakerClient extends Context.Tag("effect-sagemaker/SagemakerClient")<SagemakerClient, Service>() {}

/**
 * The SDK client configuration for these options. Exposed for tests of credential handling.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sdkConfig = (options: Options): SageMakerRuntimeClientConfig => {
  const maxSockets = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY
  const credentials = options.credentials
  return {
    // One retry layer: ours (a Schedule in the generator).
    maxAttempts: 1,
    // Reuse the middleware stack across calls instead of rebuilding it per call.
    cacheMiddleware: true,
    // A socket per request in flight. Unlike the lean transport's pool, node's default of 256 idle
    // sockets stays: keeping them all made the 20,000-call soak slower on this client (86–95 s in
    // three runs against 64–77 s), for a reason not found yet.
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets }
    },
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    ...(credentials === undefined ? {} : {
      // The SDK boundary: the only place secret values are unwrapped.
      credentials: () =>
        Promise.resolve({
          accessKeyId: Redacted.value(credentials.accessKeyId),
          secretAccessKey: Redacted.value(credentials.secretAccessKey),
          ...(credentials.sessionToken === undefined ? {} : { sessionToken: Redacted.value(credentials.sessionToken) })
        })
    })
  }
}

const optionalHeaders = (
  request: Omit<InvokeRequest, "targetModel"> & { readonly targetModel?: string | undefined }
) => ({
  EndpointName: request.endpointName,
  Body: request.body,
  ContentType: request.contentType,
  CustomAttributes: request.customAttributes,
  TargetVariant: request.targetVariant,
  TargetContainerHostname: request.targetContainerHostname,
  InferenceComponentName: request.inferenceComponentName,
  InferenceId: request.inferenceId,
  SessionId: request.sessionId
})

/**
 * Builds the client as a scoped resource (closed when the scope closes) and resolves the region
 * now, so that a region configured nowhere fails here rather than at the first call. The SDK
 * client is built for either transport: for `"http"` it only lends its resolved providers
 * (credentials, region, endpoint rules).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const model = options.endpointName ?? ""
    const transport = options.transport ?? "sdk"
    if (!transports.includes(transport)) {
      return yield* new AWSConfigurationError({
        model,
        description: `unknown transport ${JSON.stringify(transport)} (expected "sdk" or "http")`
      })
    }
    const client = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new SageMakerRuntimeClient(sdkConfig(options)),
        catch: (cause) =>
          new AWSConfigurationError({ model, description: "the SageMaker Runtime client could not be built", cause })
      }),
      (client) => Effect.sync(() => client.destroy())
    )
    const region = yield* Effect.tryPromise({
      try: () => client.config.region(),
      // The SDK's message repeats the region value, which came from a Secret: leave it out.
      catch: () =>
        new AWSConfigurationError({
          model,
          description: "no valid AWS region is configured: set awsRegionName, AWS_DEFAULT_REGION, " +
            "AWS_REGION or a profile's region to a region name such as us-east-1"
        })
    })
    if (transport === "http") {
      // Loaded only when chosen: the signer, the event-stream decoder and node's https
      // would otherwise add to the import time of every program, most of which use the SDK.
      const HttpTransport = yield* Effect.tryPromise({
        try: () => import("./internal/client/http/httpTransport.js"),
        catch: (cause) =>
          new AWSConfigurationError({ model, description: "the lean HTTP transport could not be loaded", cause })
      })
      return SagemakerClient.of(
        yield* HttpTransport.make({
          config: client.config,
          region,
          endpointUrl: options.endpointUrl,
          maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
          model
        })
      )
    }
    return sdkService(client, region)
  })

/**
 * The abort reason when a response stream's scope closes. `abort()` without a reason builds a
 * `DOMException` with a stack trace for every stream, about 40 µs, mostly after a stream that
 * ended anyway.
 */
const STREAM_CLOSED = new Error("the response stream was closed")

/** The SDK transport over a built client. */
const sdkService = (client: SageMakerRuntimeClient, region: string): Service => {
  const send = abortableSend(client)
  const invokeEndpoint = (request: InvokeRequest): Effect.Effect<InvokeResponse, InvokeError> =>
    Effect.tryPromise({
      try: (signal) =>
        send(
          new InvokeEndpointCommand({
            ...optionalHeaders(request),
            Accept: request.accept,
            TargetModel: request.targetModel
          }),
          signal
        ),
      catch: (error) => fromSdkError(request.endpointName, error)
    }).pipe(Effect.map((output) => ({
      body: output.Body ?? new Uint8Array(0),
      contentType: output.ContentType,
      invokedProductionVariant: output.InvokedProductionVariant,
      customAttributes: output.CustomAttributes,
      newSessionId: output.NewSessionId,
      closedSessionId: output.ClosedSessionId,
      requestId: output.$metadata.requestId
    })))

  const invokeEndpointWithResponseStream = (
    request: Omit<InvokeRequest, "targetModel">
  ): Effect.Effect<StreamResponse, InvokeError, Scope.Scope> =>
    Effect.gen(function*() {
      // Owned by the caller's scope: closing it (end, early close, interruption) aborts the request.
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (controller) => Effect.sync(() => controller.abort(STREAM_CLOSED))
      )
      const output = yield* Effect.tryPromise({
        try: (signal) => {
          // Interrupting the send (a timeout, a deadline) aborts the request as well: forwarded to
          // the one controller, cheaper than combining both signals with `AbortSignal.any`.
          signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true })
          return send(
            new InvokeEndpointWithResponseStreamCommand({ ...optionalHeaders(request), Accept: request.accept }),
            controller.signal
          )
        },
        catch: (error) => fromSdkError(request.endpointName, error)
      })
      const events = output.Body
      const parts: Stream.Stream<Uint8Array, SagemakerStreamError> = events === undefined
        ? Stream.empty
        : fromAbortableIterable(
          events,
          (error) => fromStreamError(request.endpointName, error),
          (event) => event.PayloadPart?.Bytes
        )
      return {
        contentType: output.ContentType,
        invokedProductionVariant: output.InvokedProductionVariant,
        requestId: output.$metadata.requestId,
        parts
      }
    })

  return SagemakerClient.of({ region, invokeEndpoint, invokeEndpointWithResponseStream })
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SagemakerClient, AWSConfigurationError> =>
  Layer.scoped(SagemakerClient, make(options))
