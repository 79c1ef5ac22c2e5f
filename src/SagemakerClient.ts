/**
 * The one client every service runs on: one socket pool, one credential chain and one region for
 * many endpoints. Every call is abortable (interrupting the fiber cancels the HTTP
 * request) and every failure is a tagged error from the one error table.
 *
 * Two transports sit behind it, with the same requests, errors and streams:
 *
 * - `"http"` ({@link layerHttp}, the default): node's `http`/`https` with a keep-alive pool, SigV4
 *   from `@smithy/signature-v4` and the event-stream framing read directly; credentials, region
 *   and endpoint (FIPS, dual-stack, `AWS_ENDPOINT_URL_*`) still come from the SDK's providers. It
 *   costs about half the CPU per call of the SDK's client (bench/README.md).
 * - `"sdk"` ({@link layerSdk}): `@aws-sdk/client-sagemaker-runtime`'s client, middleware and all.
 *
 * @example
 * ```ts
 * import { SagemakerClient, SagemakerGenerator } from "effect-sagemaker"
 * import * as Layer from "effect/Layer"
 *
 * // Two generators, one pool of sockets and one credential resolution.
 * const Client = SagemakerClient.layer({ region: "us-east-1" })
 * const Chat = SagemakerGenerator.layerWithClient({ model: "chat-endpoint" }).pipe(Layer.provide(Client))
 * ```
 *
 * @since 0.1.0
 */
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as http from "node:http"
import type * as https from "node:https"
import * as HttpTransport from "./internal/client/http/httpTransport.js"
import type * as Routing from "./internal/client/routing.js"
import * as SdkTransport from "./internal/client/sdk/sdkTransport.js"
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
export const transports: ReadonlyArray<Transport> = ["http", "sdk"]

/**
 * The default transport.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTransport: Transport = "http"

/**
 * What the client is for: where and as whom it connects. Which endpoint a call goes to is part of
 * the call.
 *
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
   * Not with an agent of your own: size its `maxSockets` instead.
   */
  readonly maxConcurrency?: number | undefined
  /**
   * The agent for `http:` endpoints, instead of the client's own keep-alive pool: a proxy agent,
   * say. Yours to close; the client does not destroy it. The SDK's `requestHandler.httpAgent`.
   */
  readonly httpAgent?: Agent | undefined
  /**
   * The agent for `https:` endpoints (SageMaker's own): a proxy agent, or one with its own CA,
   * client certificate or socket options. Yours to close. The SDK's `requestHandler.httpsAgent`.
   * (`NODE_EXTRA_CA_CERTS` needs no agent: node's default trust store takes it.)
   */
  readonly httpsAgent?: Agent | undefined
}

/**
 * A node `http.Agent` or `https.Agent` (proxy agents are). Declared by two of its members so that
 * these declarations need no `@types/node`; the client checks that it is an agent when it is built.
 *
 * @since 0.1.0
 * @category models
 */
export interface Agent {
  readonly maxSockets: number
  readonly destroy: () => void
}

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_CONCURRENCY: number = SdkTransport.DEFAULT_MAX_CONCURRENCY

/**
 * The optional routing members of a request: which variant, model, container, inference component
 * or session serves it. Each is checked against SageMaker's rule before the request is sent.
 *
 * @since 0.1.0
 * @category models
 */
export type RoutingOptions = Routing.Routing

/**
 * One InvokeEndpoint request, in the SDK's terms but with our names.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvokeRequest extends RoutingOptions {
  readonly endpointName: string
  readonly body: Uint8Array
  readonly contentType: string
  readonly accept: string
  readonly customAttributes?: string | undefined
}

/**
 * One InvokeEndpointWithResponseStream request: the route has no `targetModel`.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamRequest = Omit<InvokeRequest, "targetModel">

/**
 * @since 0.1.0
 * @category models
 */
export interface InvokeResponse {
  readonly body: Uint8Array
  readonly contentType: string | undefined
  readonly invokedProductionVariant: string | undefined
  readonly customAttributes: string | undefined
  /** The session a `sessionId: "NEW_SESSION"` request opened: `<id>; Expires=<UTC time>`. */
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
  readonly customAttributes?: string | undefined
  readonly requestId: string | undefined
  readonly parts: Stream.Stream<Uint8Array, SagemakerStreamError>
}

/**
 * The members only InvokeEndpointAsync has, each documented by its row of the routing table.
 *
 * @since 0.1.0
 * @category models
 */
export type AsyncMembers = Routing.AsyncMembers

/**
 * One InvokeEndpointAsync request: exactly one of an inline `body` (at most 128,000 bytes) and
 * `inputLocation` (an S3 URI of the body). The content type and accept are those of the body the
 * container reads from its queue, and of the result it writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface AsyncRequest extends AsyncMembers {
  readonly endpointName: string
  readonly body?: Uint8Array | undefined
  readonly contentType?: string | undefined
  readonly accept?: string | undefined
  readonly customAttributes?: string | undefined
  /** Your identifier of the request; SageMaker makes one otherwise. */
  readonly inferenceId?: string | undefined
}

/**
 * What InvokeEndpointAsync answers (HTTP 202): where the result will be written.
 *
 * @since 0.1.0
 * @category models
 */
export interface AsyncResponse {
  readonly inferenceId: string | undefined
  /** The S3 URI where the result appears when the model is done. */
  readonly outputLocation: string | undefined
  /** The S3 URI where the error text appears when it fails. */
  readonly failureLocation: string | undefined
  readonly requestId: string | undefined
}

/**
 * What the S3 client of an async service needs from this one: its region, and its credential
 * chain (the SDK's provider, resolved and refreshed by the SDK; values only ever reach the SDK).
 *
 * @since 0.1.0
 * @category models
 */
export interface AwsIdentity {
  readonly region: string
  readonly credentials: () => Promise<{
    readonly accessKeyId: string
    readonly secretAccessKey: string
    readonly sessionToken?: string
  }>
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
    request: StreamRequest
  ) => Effect.Effect<StreamResponse, InvokeError, Scope.Scope>
  /** Queues a request on an asynchronous endpoint; the result is written to S3 later. */
  readonly invokeEndpointAsync: (request: AsyncRequest) => Effect.Effect<AsyncResponse, InvokeError>
  /** The region and credential chain, for the S3 client of async inference. */
  readonly identity: AwsIdentity
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SagemakerClient extends Context.Tag("effect-sagemaker/SagemakerClient")<SagemakerClient, Service>() {}

/**
 * Builds the SDK client (destroyed when the scope closes) and resolves the region now, so that a
 * region configured nowhere fails here rather than at the first call. Both transports use it: the
 * HTTP transport borrows its providers (credentials, region, endpoint rules).
 */
const sdkClient = (options: Options) =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new SageMakerRuntimeClient(SdkTransport.sdkConfig(options)),
        catch: (cause) =>
          new AWSConfigurationError({
            model: "",
            description: "the SageMaker Runtime client could not be built",
            cause
          })
      }),
      (client) => Effect.sync(() => client.destroy())
    )
    const region = yield* Effect.tryPromise({
      try: () => client.config.region(),
      // The SDK's message repeats the region value, which may have come from a secret: leave it out.
      catch: () =>
        new AWSConfigurationError({
          model: "",
          description: "no valid AWS region is configured: set the region option, AWS_DEFAULT_REGION, " +
            "AWS_REGION or a profile's region to a region name such as us-east-1"
        })
    })
    return { client, region }
  })

const checkOptions = (options: Options): Effect.Effect<void, AWSConfigurationError> => {
  const problem = (description: string) => Effect.fail(new AWSConfigurationError({ model: "", description }))
  const { maxConcurrency } = options
  if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) {
    return problem(`maxConcurrency must be a whole number of at least 1, got ${maxConcurrency}`)
  }
  for (const name of ["httpAgent", "httpsAgent"] as const) {
    const agent: unknown = options[name]
    if (agent !== undefined && !(agent instanceof http.Agent)) {
      return problem(`${name} must be a node http.Agent (or https.Agent), got ${typeof agent}`)
    }
  }
  if (maxConcurrency !== undefined && (options.httpAgent !== undefined || options.httpsAgent !== undefined)) {
    return problem(
      "maxConcurrency sizes the client's own socket pool: with httpAgent or httpsAgent, " +
        "set maxSockets on your agent instead"
    )
  }
  if (options.endpointUrl !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(options.endpointUrl)
    } catch {
      url = undefined
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return problem(`endpointUrl must be an http:// or https:// URL, got ${JSON.stringify(options.endpointUrl)}`)
    }
  }
  return Effect.void
}

/**
 * The client on the AWS SDK transport.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSdk = (options: Options): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const { client, region } = yield* sdkClient(options)
    return SagemakerClient.of(SdkTransport.make(client, region))
  })

/**
 * The client on the lean HTTP transport.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHttp = (options: Options): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const { client, region } = yield* sdkClient(options)
    return SagemakerClient.of(
      yield* HttpTransport.make({
        config: client.config,
        region,
        endpointUrl: options.endpointUrl,
        maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
        httpAgent: options.httpAgent as http.Agent | undefined,
        httpsAgent: options.httpsAgent as https.Agent | undefined
      })
    )
  })

const makers: { readonly [T in Transport]: typeof makeSdk } = { sdk: makeSdk, http: makeHttp }

/**
 * The client on the named transport; an unknown name fails with `AWSConfigurationError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTransport = (
  transport: Transport,
  options: Options
): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  Object.hasOwn(makers, transport)
    ? makers[transport](options)
    : Effect.fail(
      new AWSConfigurationError({
        model: "",
        description: `unknown transport ${JSON.stringify(transport)} (expected ${transports.join(" or ")})`
      })
    )

/**
 * The client on the default transport.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  makeTransport(defaultTransport, options)

/**
 * The client on the default transport, built when the layer is built (the region resolved then)
 * and closed with it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SagemakerClient, AWSConfigurationError> =>
  Layer.scoped(SagemakerClient, make(options))

/**
 * The client on the AWS SDK transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSdk = (options: Options): Layer.Layer<SagemakerClient, AWSConfigurationError> =>
  Layer.scoped(SagemakerClient, makeSdk(options))

/**
 * The client on the lean HTTP transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttp = (options: Options): Layer.Layer<SagemakerClient, AWSConfigurationError> =>
  Layer.scoped(SagemakerClient, makeHttp(options))

/** Which settings could not be read, by path and kind, never by value (values may be secrets). */
const describeConfigError = (error: ConfigError.ConfigError): string => {
  switch (error._op) {
    case "And":
    case "Or":
      return `${describeConfigError(error.left)}; ${describeConfigError(error.right)}`
    case "MissingData":
      return `${error.path.join(".")} is missing`
    case "InvalidData":
      return `${error.path.join(".")} is invalid`
    case "SourceUnavailable":
      return `${error.path.join(".")} could not be read: the configuration source is unavailable`
    case "Unsupported":
      return `${error.path.join(".")} is not supported`
  }
}

/**
 * The client on the default transport, its options read from `Config` (the current
 * `ConfigProvider`), as `PgClient.layerConfig` does:
 *
 * ```ts
 * SagemakerClient.layerConfig({
 *   region: Config.string("AWS_REGION"),
 *   maxConcurrency: Config.integer("SAGEMAKER_MAX_CONCURRENCY").pipe(Config.withDefault(64))
 * })
 * ```
 *
 * A setting that cannot be read fails the layer with `AWSConfigurationError`, naming its path.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<SagemakerClient, AWSConfigurationError> =>
  Layer.scoped(
    SagemakerClient,
    Effect.flatMap(
      Effect.mapError(
        Config.unwrap(config),
        (error) => new AWSConfigurationError({ model: "", description: describeConfigError(error) })
      ),
      make
    )
  )
