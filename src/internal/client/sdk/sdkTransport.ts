/**
 * The SDK transport behind the `SagemakerClient` seam: `@aws-sdk/client-sagemaker-runtime`'s
 * client, each call abortable, each failure read by the SDK adapter of the error table.
 *
 * @since 0.1.0
 * @internal
 */
import {
  InvokeEndpointAsyncCommand,
  type InvokeEndpointAsyncCommandInput,
  InvokeEndpointCommand,
  type InvokeEndpointCommandInput,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandInput,
  type SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig
} from "@aws-sdk/client-sagemaker-runtime"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import type * as https from "node:https"
import type {
  AsyncRequest,
  AsyncResponse,
  InvokeError,
  InvokeRequest,
  InvokeResponse,
  Options,
  Service,
  StreamRequest,
  StreamResponse
} from "../../../SagemakerClient.js"
import type { SagemakerStreamError } from "../../../SagemakerError.js"
import * as Routing from "../routing.js"
import { abortableSend } from "./abortableSend.js"
import { fromAbortableIterable } from "./iterableStream.js"
import { fromSdkError, fromStreamError } from "./sdkErrors.js"

/** The socket pool when `maxConcurrency` is not given (the SDK's own 50 would queue large batches). */
export const DEFAULT_MAX_CONCURRENCY = 1024

/** The SDK client configuration for these options. */
export const sdkConfig = (options: Options): SageMakerRuntimeClientConfig => {
  const maxSockets = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY
  const credentials = options.credentials
  return {
    // One retry layer: ours (a Schedule in the services).
    maxAttempts: 1,
    // Reuse the middleware stack across calls instead of rebuilding it per call.
    cacheMiddleware: true,
    // A socket per request in flight. Node's default of 256 idle sockets stays here: keeping them
    // all made long soaks slower on this client, for a reason not found yet (bench/README.md, soak).
    requestHandler: {
      httpAgent: (options.httpAgent as http.Agent | undefined) ?? { keepAlive: true, maxSockets },
      httpsAgent: (options.httpsAgent as https.Agent | undefined) ?? { keepAlive: true, maxSockets }
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

/** The command input of a request: its routing members by the table. */
const commandInput = (request: StreamRequest, operation: Routing.Operation): Record<string, unknown> => {
  const input: Record<string, unknown> = {
    EndpointName: request.endpointName,
    Body: request.body,
    ContentType: request.contentType,
    Accept: request.accept,
    CustomAttributes: request.customAttributes
  }
  for (const [name, member] of Routing.rows) {
    const value = (request as Routing.Routing)[name]
    if (value !== undefined && member.rules[operation] !== undefined) input[member.sdkMember] = value
  }
  return input
}

/**
 * The abort reason when a response stream's scope closes. `abort()` without a reason builds a
 * `DOMException` with a stack trace for every stream, mostly after a stream that ended anyway.
 */
const STREAM_CLOSED = new Error("the response stream was closed")

/** The SDK transport over a built client. */
export const make = (client: SageMakerRuntimeClient, region: string): Service => {
  const send = abortableSend(client)
  const invokeEndpoint = (request: InvokeRequest): Effect.Effect<InvokeResponse, InvokeError> =>
    Effect.tryPromise({
      try: (signal) =>
        send(new InvokeEndpointCommand(commandInput(request, "invoke") as InvokeEndpointCommandInput), signal),
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
    request: StreamRequest
  ): Effect.Effect<StreamResponse, InvokeError, Scope.Scope> =>
    Effect.gen(function*() {
      // Owned by the caller's scope: closing it (end, early close, interruption) aborts the request.
      // On the scope itself, as the http transport's body (no fiber references carried over).
      const controller = new AbortController()
      yield* Scope.addFinalizer(yield* Effect.scope, Effect.sync(() => controller.abort(STREAM_CLOSED)))
      const output = yield* Effect.tryPromise({
        try: (signal) => {
          // Interrupting the send (a timeout, a deadline) aborts the request as well: forwarded to
          // the one controller, cheaper than combining both signals with `AbortSignal.any`.
          signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true })
          return send(
            new InvokeEndpointWithResponseStreamCommand(
              commandInput(request, "stream") as InvokeEndpointWithResponseStreamCommandInput
            ),
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
        customAttributes: output.CustomAttributes,
        requestId: output.$metadata.requestId,
        parts
      }
    })

  const invokeEndpointAsync = (request: AsyncRequest): Effect.Effect<AsyncResponse, InvokeError> =>
    Effect.tryPromise({
      try: (signal) => send(new InvokeEndpointAsyncCommand(asyncCommandInput(request)), signal),
      catch: (error) => fromSdkError(request.endpointName, error)
    }).pipe(Effect.map((output) => ({
      inferenceId: output.InferenceId,
      outputLocation: output.OutputLocation,
      failureLocation: output.FailureLocation,
      requestId: output.$metadata.requestId
    })))

  return {
    region,
    invokeEndpoint,
    invokeEndpointWithResponseStream,
    invokeEndpointAsync,
    identity: { region, credentials: client.config.credentials }
  }
}

/** The command input of an async request: its members by the tables. */
const asyncCommandInput = (request: AsyncRequest): InvokeEndpointAsyncCommandInput => {
  const input: Record<string, unknown> = {
    EndpointName: request.endpointName,
    ContentType: request.contentType,
    Accept: request.accept,
    CustomAttributes: request.customAttributes,
    InferenceId: request.inferenceId,
    Body: request.body
  }
  for (const [name, member] of Routing.asyncRows) {
    if (request[name] !== undefined) input[member.sdkMember] = request[name]
  }
  return input as unknown as InvokeEndpointAsyncCommandInput
}
