/**
 * Shared set-up for generator tests: Haystack's env fixture as a ConfigProvider, and a generator
 * layer pointed at a loopback server with the real SDK client.
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as SagemakerClient from "../../src/SagemakerClient.js"
import type { SagemakerStreamError } from "../../src/SagemakerError.js"
import * as SagemakerGenerator from "../../src/SagemakerGenerator.js"
import type { LoopbackServer } from "./loopbackServer.js"

/**
 * Haystack's `set_env_variables` fixture, but for the region: the AWS SDK refuses `fake_region`
 * (an underscore is not valid in a hostname) where boto3 accepts it, so it is `fake-region` here.
 */
export const haystackEnv = new Map([
  ["AWS_ACCESS_KEY_ID", "some_fake_id"],
  ["AWS_SECRET_ACCESS_KEY", "some_fake_key"],
  ["AWS_SESSION_TOKEN", "some_fake_token"],
  ["AWS_DEFAULT_REGION", "fake-region"],
  ["AWS_PROFILE", "some_fake_profile"]
])

export const withHaystackEnv = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withConfigProvider(effect, ConfigProvider.fromMap(haystackEnv))

/** Static test credentials for a server that does not check signatures. */
export const testEnv = new Map([
  ["AWS_ACCESS_KEY_ID", "AKIDTEST"],
  ["AWS_SECRET_ACCESS_KEY", "test-secret-value"],
  ["AWS_DEFAULT_REGION", "us-east-1"]
])

/** Runs `effect` with a generator (real SDK client) aimed at `server`. */
export const withGenerator = (
  server: LoopbackServer,
  options: Partial<SagemakerGenerator.Options> = {}
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(SagemakerGenerator.layer({ model: "test-model", endpointUrl: server.url, ...options })),
    Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
  )

/**
 * A fake transport for unit tests of the generator: answers each call lazily from `respond`, and
 * each streaming call from `respondStream` (the parts of the response stream).
 */
export const fakeClient = (
  respond: (
    request: SagemakerClient.InvokeRequest,
    call: number
  ) => Effect.Effect<Uint8Array, SagemakerClient.InvokeError>,
  respondStream?: (
    request: SagemakerClient.InvokeRequest,
    call: number
  ) => Effect.Effect<Stream.Stream<Uint8Array, SagemakerStreamError>, SagemakerClient.InvokeError>
) => {
  const calls: Array<SagemakerClient.InvokeRequest> = []
  const layer = Layer.succeed(
    SagemakerClient.SagemakerClient,
    SagemakerClient.SagemakerClient.of({
      region: "us-east-1",
      invokeEndpoint: (request) =>
        Effect.suspend(() => {
          calls.push(request)
          return respond(request, calls.length)
        }).pipe(Effect.map((body) => ({
          body,
          contentType: "application/json",
          invokedProductionVariant: "AllTraffic",
          customAttributes: undefined,
          newSessionId: undefined,
          closedSessionId: undefined,
          requestId: `req-${calls.length}`
        }))),
      invokeEndpointWithResponseStream: (request) =>
        Effect.suspend(() => {
          calls.push(request)
          return respondStream === undefined ? Effect.die("no stream responder") : respondStream(request, calls.length)
        }).pipe(Effect.map((parts) => ({
          contentType: "text/event-stream",
          invokedProductionVariant: "AllTraffic",
          requestId: `req-${calls.length}`,
          parts
        }))),
      invokeEndpointAsync: () => Effect.die("no async responder"),
      identity: { region: "us-east-1", credentials: () => Promise.reject(new Error("no credentials in this fake")) }
    })
  )
  return { calls, layer }
}

export const utf8 = (text: string) => new TextEncoder().encode(text)
