/**
 * The `SagemakerGenerator` service: Haystack's `SagemakerGenerator` the Effect way. `run` sends
 * `{"inputs": prompt, "parameters": kwargs}` to an endpoint and returns `{ replies, meta }`, failing
 * only with tagged errors; `stream` streams the tokens; `toDict`/`fromDict` speak Haystack's
 * serialized form.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { timedOut } from "./internal/client/errorTable.js"
import * as Fields from "./internal/container/fields.js"
import * as RequestBody from "./internal/container/requestBody.js"
import * as StreamDecoder from "./internal/container/streamDecoder.js"
import * as HaystackClientOptions from "./internal/haystack/clientOptions.js"
import * as HaystackDefaults from "./internal/haystack/defaults.js"
import * as Serialization from "./internal/haystack/serialization.js"
import { policyPerCall } from "./internal/policy/retryPolicy.js"
import * as Settings from "./internal/policy/settings.js"
import * as Validation from "./internal/policy/validation.js"
import { decodeStream, decodeWholeBody, isWholeBody } from "./internal/stream/decodeStream.js"
import { gapTimeoutScoped } from "./internal/stream/gapTimeout.js"
import { unwrap, unwrapScoped } from "./internal/stream/unwrap.js"
import * as Metrics from "./internal/telemetry/metrics.js"
import * as Telemetry from "./internal/telemetry/telemetry.js"
import * as Payload from "./Payload.js"
import type * as RetryPolicyModule from "./RetryPolicy.js"
import * as SagemakerClient from "./SagemakerClient.js"
import {
  AWSConfigurationError,
  type SagemakerDeserializationError,
  type SagemakerError,
  SagemakerValidationError
} from "./SagemakerError.js"
import type * as Secret from "./Secret.js"
import * as StreamChunkModule from "./StreamChunk.js"

/**
 * @since 0.1.0
 * @category models
 */
export type RetryOption = RetryPolicyModule.RetryOption

/**
 * @since 0.1.0
 * @category models
 */
export type RetryPolicy = RetryPolicyModule.RetryPolicy

/**
 * @since 0.1.0
 * @category models
 */
export type GenerationResult = Payload.GenerationResult

/**
 * One piece of a streamed generation (see the `StreamChunk` module).
 *
 * @since 0.1.0
 * @category models
 */
export type StreamChunk = StreamChunkModule.StreamChunk

/**
 * The token-stream format of `stream`: `tgi`, `lmi`, `openai`, or `auto` (detected from the first
 * line).
 *
 * @since 0.1.0
 * @category models
 */
export type StreamFormat = StreamChunkModule.StreamFormat

/**
 * Where and as whom the generator connects: Haystack's AWS secrets, and ours. With
 * {@link layerWithClient} the client from the context serves instead, and these are not read.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** Default `Secret.fromEnvVar("AWS_ACCESS_KEY_ID", { strict: false })`; `null` for none. */
  readonly awsAccessKeyId?: Secret.Secret | null | undefined
  /** Default `Secret.fromEnvVar("AWS_SECRET_ACCESS_KEY", { strict: false })`. */
  readonly awsSecretAccessKey?: Secret.Secret | null | undefined
  /** Default `Secret.fromEnvVar("AWS_SESSION_TOKEN", { strict: false })`. */
  readonly awsSessionToken?: Secret.Secret | null | undefined
  /** Default `Secret.fromEnvVar("AWS_DEFAULT_REGION", { strict: false })` (not `AWS_REGION`, as in Haystack). */
  readonly awsRegionName?: Secret.Secret | null | undefined
  /** Default `Secret.fromEnvVar("AWS_PROFILE", { strict: false })`. */
  readonly awsProfileName?: Secret.Secret | null | undefined
  /** Another SageMaker Runtime (the emulator, a proxy); otherwise the SDK's `AWS_ENDPOINT_URL_*` handling. */
  readonly endpointUrl?: string | undefined
  /** Requests in flight at once over the generator's client; the socket pool follows. Default 1024. */
  readonly maxConcurrency?: number | undefined
  /**
   * Which transport carries the requests: `"http"` (default) or `"sdk"`; a shorthand for choosing
   * `SagemakerClient.layerHttp` or `layerSdk` (see `SagemakerClient.Transport`).
   */
  readonly transport?: SagemakerClient.Transport | undefined
}

/**
 * How each request is sent: routing, custom attributes, timeout and retries. Given to the layer,
 * they apply to every call; given to one call (the third argument of `run` and `stream`), they
 * replace the layer's for that call, member by member (custom attributes key by key).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions extends SagemakerClient.RoutingOptions {
  /**
   * Sent as the `X-Amzn-SageMaker-Custom-Attributes` header, `k=v;k2=v2`. Default `{}` (no header).
   */
  readonly awsCustomAttributes?: Readonly<Record<string, string | number | boolean>> | null | undefined
  /**
   * Bounds each attempt, from the call until the response (for a stream: until the first event,
   * then each gap between events). Waiting for a socket counts. Default: none.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Which failures are tried again, and when. Only errors with `retryable: true` are retried
   * (`SagemakerNotReadyError`, `SagemakerThrottlingError`, `SagemakerTimeoutError`, and
   * `SagemakerInferenceError` for 500, 502, 503, 504 and transport failures); failures after the
   * first event of a `stream` never are.
   *
   * - Default (`undefined` or `{}`): 3 attempts in all, exponential backoff from 200 ms (doubling,
   *   jittered 0.8–1.2×), each delay at least the server's `Retry-After` and at most 20 s.
   * - `{ attempts, baseDelay, maxDelay, deadline }`: the default policy with other numbers.
   *   `deadline` bounds the whole call (every attempt and delay): when it runs out the attempt in
   *   flight is aborted and the call fails with `SagemakerTimeoutError`; a retry that could not
   *   start before it is not waited for (the call fails with the last error). For `stream` it
   *   bounds opening the stream (up to the first event).
   * - A `Schedule`: your own policy; it sees only the retryable errors.
   * - `false`: one attempt.
   *
   * Composing your own `Effect.retry` / `Effect.timeout` around `run` works as well (set
   * `retry: false`); interrupting a call aborts its HTTP request.
   */
  readonly retry?: RetryOption | undefined
}

/**
 * What is generated, and how it is read.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerationOptions {
  /** The SageMaker endpoint name. */
  readonly model: string
  /** Default, and also when `{}` is given: `{ max_new_tokens: 1024 }`. */
  readonly generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
  /**
   * The request body the container speaks: `"haystack"` (default, `{inputs, parameters}`),
   * `"chat"` (`{messages, ...kwargs}`), `"completions"` (`{prompt, ...kwargs}`) or your own
   * function (see `Payload.RequestFormat`). A function cannot be written to a dict.
   */
  readonly requestFormat?: Payload.RequestFormat | undefined
  /** The token-stream format of `stream`; default `auto` (detected from the first line). */
  readonly streamFormat?: StreamFormat | undefined
  /**
   * `X-Amzn-SageMaker-Accept` for `stream`. Default `application/jsonlines` (DJL LMI's default;
   * TGI ignores it and sends server-sent events).
   */
  readonly streamAccept?: string | undefined
}

/**
 * The options: Haystack's parameters in camelCase, with Haystack's defaults, then ours.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ClientOptions, RequestOptions, GenerationOptions {}

/**
 * What SageMaker said about a call besides the body: the variant that served it, the session it
 * opened or closed, the custom attributes the model set, the request id.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvocationMetadata {
  readonly invokedProductionVariant: string | undefined
  /** Set when the call had `sessionId: "NEW_SESSION"`: `<id>; Expires=<UTC time>`. */
  readonly newSessionId: string | undefined
  /** The id of the session the call closed. */
  readonly closedSessionId: string | undefined
  readonly customAttributes: string | undefined
  readonly requestId: string | undefined
}

/**
 * `run`'s result with the call's {@link InvocationMetadata}.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvocationResult extends GenerationResult {
  readonly invocation: InvocationMetadata
}

/**
 * The session id to send on the next call of a session that `newSessionId` opened: the id without
 * its `; Expires=` part.
 *
 * @since 0.1.0
 * @category utils
 */
export const sessionIdOf = (newSessionId: string): string => newSessionId.split(";")[0]!.trim()

type Kwargs = Readonly<Record<string, unknown>> | null | undefined

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The endpoint name. */
  readonly model: string
  /** The init-time generation kwargs, defaults applied. */
  readonly generationKwargs: Readonly<Record<string, unknown>>
  /**
   * Generates from `prompt`; `generationKwargs` are merged per key over the init-time ones, and
   * `request` over the layer's request options.
   */
  readonly run: (
    prompt: string,
    generationKwargs?: Kwargs,
    request?: RequestOptions | undefined
  ) => Effect.Effect<GenerationResult, SagemakerError>
  /**
   * `run`, with what SageMaker said about the call: the variant that served it, and the id of the
   * session a `sessionId: "NEW_SESSION"` request opened.
   */
  readonly runWithMetadata: (
    prompt: string,
    generationKwargs?: Kwargs,
    request?: RequestOptions | undefined
  ) => Effect.Effect<InvocationResult, SagemakerError>
  /**
   * Streams the generation token by token over `InvokeEndpointWithResponseStream`. Failures
   * before the first event follow the retry policy; a failure after it ends the stream with
   * `SagemakerStreamError` once the earlier chunks were delivered. Closing the stream early aborts
   * the HTTP request. A stream cannot open a session (`NEW_SESSION` needs `run`) and carries no
   * `targetModel`.
   */
  readonly stream: (
    prompt: string,
    generationKwargs?: Kwargs,
    request?: RequestOptions | undefined
  ) => Stream.Stream<StreamChunk, SagemakerError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SagemakerGenerator extends Context.Tag("effect-sagemaker/SagemakerGenerator")<
  SagemakerGenerator,
  Service
>() {}

/**
 * Haystack's default generation kwargs.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_GENERATION_KWARGS: Readonly<Record<string, unknown>> = HaystackDefaults.DEFAULT_GENERATION_KWARGS

interface GenerationSettings {
  readonly model: string
  readonly generationKwargs: Readonly<Record<string, unknown>>
  readonly request: Settings.RequestSettings
}

const validationError = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

/** Validates every option that can be checked without the network. */
const validate = (options: Options): Effect.Effect<GenerationSettings, SagemakerValidationError> =>
  Effect.gen(function*() {
    yield* Validation.checkEndpointName("model", options.model)
    const request = yield* Settings.fromOptions(options)
    const kwargs = options.generationKwargs
    if (kwargs != null) yield* Validation.checkKwargs("generationKwargs", kwargs)
    const maxConcurrency = options.maxConcurrency
    if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) {
      return yield* validationError("maxConcurrency", `must be a whole number of at least 1, got ${maxConcurrency}`)
    }
    const formatProblem = RequestBody.checkFormat(options.requestFormat)
    if (formatProblem !== undefined) return yield* validationError("requestFormat", formatProblem)
    const streamFormat = options.streamFormat
    if (streamFormat !== undefined && !StreamChunkModule.streamFormats.includes(streamFormat)) {
      return yield* validationError(
        "streamFormat",
        `must be one of ${StreamChunkModule.streamFormats.join(", ")}, got ${streamFormat}`
      )
    }
    const transport = options.transport
    if (transport !== undefined && !SagemakerClient.transports.includes(transport)) {
      return yield* validationError(
        "transport",
        `must be one of ${SagemakerClient.transports.join(", ")}, got ${transport}`
      )
    }
    return { model: options.model, generationKwargs: HaystackDefaults.generationKwargs(kwargs), request }
  })

/**
 * Resolves the secrets through the current `ConfigProvider` into the client's options. Explicit
 * keys become static credentials; without them the SDK's default chain (and the profile) applies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientOptions = (options: Options): Effect.Effect<SagemakerClient.Options, AWSConfigurationError> =>
  HaystackClientOptions.resolve(options.model, options)

const noMetadata: InvocationMetadata = {
  invokedProductionVariant: undefined,
  newSessionId: undefined,
  closedSessionId: undefined,
  customAttributes: undefined,
  requestId: undefined
}

/**
 * The service over the `SagemakerClient` in the context (a shared client, or a fake in tests).
 * The client options (secrets, `endpointUrl`, `maxConcurrency`, `transport`) are checked but not
 * read: they belong to the client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Service, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Effect.gen(function*() {
    const settings = yield* validate(options)
    const client = yield* SagemakerClient.SagemakerClient
    const model = settings.model
    const requestFormat = options.requestFormat ?? "haystack"
    const metrics = Metrics.recorder(requestFormat === "chat" ? "chat" : "text_completion", model)
    const policyOf = policyPerCall(model, settings.request)

    /** The kwargs and request settings of a call, checked; `Left` names what is wrong. */
    const prepare = (
      prompt: unknown,
      kwargs: unknown,
      request: unknown,
      operation: "invoke" | "stream"
    ): Either.Either<
      { readonly parameters: Readonly<Record<string, unknown>>; readonly request: Settings.RequestSettings },
      SagemakerValidationError
    > => {
      if (typeof prompt !== "string") {
        return Either.left(
          validationError("prompt", `must be a string, got ${prompt === null ? "null" : typeof prompt}`)
        )
      }
      return Either.flatMap(Settings.forCall(settings.request, request, operation), (callRequest) => {
        if (kwargs == null) return Either.right({ parameters: settings.generationKwargs, request: callRequest })
        return Validation.checkKwargs("generationKwargs", kwargs).pipe(
          Either.map(() => ({
            parameters: { ...settings.generationKwargs, ...(kwargs as Record<string, unknown>) },
            request: callRequest
          }))
        )
      })
    }

    const spanModelOf = (request: Settings.RequestSettings) => request.routing.inferenceComponentName ?? model
    const runSpan = (attributes: Record<string, unknown>) =>
      ({
        kind: "client",
        attributes,
        // The stack would point inside this module, and capturing it is costly on the hot path.
        captureStackTrace: false
      }) as const
    const recordErrorType = (error: SagemakerError) => Effect.annotateCurrentSpan("error.type", error._tag)

    // A pipeline rather than `Effect.gen`, and the request attributes given to the span when it is
    // made: `run` is the hot path. Nothing is done until the Effect runs (the body is encoded per run).
    const invokeNow = <A extends GenerationResult>(
      prompt: unknown,
      generationKwargs: unknown,
      requestOptions: unknown,
      traced: boolean,
      project: (result: GenerationResult, response: SagemakerClient.InvokeResponse) => A
    ): Effect.Effect<A, SagemakerError> => {
      const prepared = prepare(prompt, generationKwargs, requestOptions, "invoke")
      if (Either.isLeft(prepared)) {
        return Effect.fail(prepared.left).pipe(
          Effect.tapError(recordErrorType),
          Effect.withSpan("SagemakerGenerator.run", runSpan({ "gen_ai.request.model": model }))
        )
      }
      const { parameters, request } = prepared.right
      const spanModel = spanModelOf(request)
      const encoded = RequestBody.encode(requestFormat, prompt as string, parameters, false)
      if (Either.isLeft(encoded)) {
        return Effect.fail(encoded.left).pipe(
          Effect.tapError(recordErrorType),
          Effect.withSpan("SagemakerGenerator.run", runSpan(Telemetry.requestAttributes(spanModel, parameters)))
        )
      }
      const started = performance.now()
      const seconds = () => (performance.now() - started) / 1000
      // One step after the call: decoding, the metrics and the result, each a plain function.
      const measured = Effect.matchEffect(
        policyOf(request)(client.invokeEndpoint({
          endpointName: model,
          body: encoded.right,
          contentType: "application/json",
          accept: "application/json",
          customAttributes: request.customAttributesHeader,
          ...request.routing
        })),
        {
          onFailure: (error) => {
            metrics.failure(seconds(), error._tag)
            return Effect.fail(error)
          },
          onSuccess: (response) => {
            const decoded = Payload.decodeResponseEither(model, response.body)
            if (Either.isLeft(decoded)) {
              metrics.failure(seconds(), decoded.left._tag)
              return Effect.fail(decoded.left)
            }
            const result = decoded.right
            const usage = Fields.usageOf(result.meta[0] ?? {})
            metrics.success(seconds(), usage?.inputTokens, usage?.outputTokens)
            return Effect.succeed(project(result, response))
          }
        }
      )
      return traced
        ? measured.pipe(
          Effect.tap(Telemetry.annotateResponse),
          Effect.tapError(recordErrorType),
          Effect.withSpan("SagemakerGenerator.run", runSpan(Telemetry.requestAttributes(spanModel, parameters)))
        )
        : measured
    }
    const withMetadata = (result: GenerationResult, response: SagemakerClient.InvokeResponse): InvocationResult => ({
      replies: result.replies,
      meta: result.meta,
      invocation: {
        invokedProductionVariant: response.invokedProductionVariant,
        newSessionId: response.newSessionId,
        closedSessionId: response.closedSessionId,
        customAttributes: response.customAttributes,
        requestId: response.requestId
      }
    })
    /** A call, started when the Effect runs, its result given by `project`. */
    const invoking = <A extends GenerationResult>(
      project: (result: GenerationResult, response: SagemakerClient.InvokeResponse) => A
    ) =>
    (prompt: unknown, generationKwargs: unknown, request: unknown): Effect.Effect<A, SagemakerError> =>
      Effect.withFiberRuntime((fiber) =>
        invokeNow(prompt, generationKwargs, request, Telemetry.isTraced(fiber), project)
      )
    const runWithMetadata: Service["runWithMetadata"] = invoking(withMetadata)
    const run: Service["run"] = invoking((result) => result)

    const decoderOptions = {
      format: options.streamFormat ?? "auto",
      maxLineBytes: StreamDecoder.DEFAULT_MAX_LINE_BYTES
    } as const
    const streamAccept = options.streamAccept ?? "application/jsonlines"

    /** Sends the request, waits for its first event (under the retry policy) and decodes the rest. */
    const openStream = (
      prompt: string,
      parameters: Readonly<Record<string, unknown>>,
      request: Settings.RequestSettings
    ): Effect.Effect<Stream.Stream<StreamChunk, SagemakerError>, SagemakerError, Scope.Scope> => {
      const encoded = RequestBody.encode(requestFormat, prompt, parameters, true)
      if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
      const body = encoded.right
      const { targetModel: _notOnTheStreamRoute, ...routing } = request.routing
      const observer = metrics.stream()
      const decode = (contentType: string | undefined, parts: Stream.Stream<Uint8Array, SagemakerError>) =>
        isWholeBody(contentType)
          ? decodeWholeBody(model, parts)
          : decodeStream(model, parts, StreamDecoder.makeStreamDecoder(decoderOptions), observer)
      const timeout = request.timeout
      return Effect.flatMap(
        policyOf(request)(client.invokeEndpointWithResponseStream({
          endpointName: model,
          body,
          contentType: "application/json",
          accept: streamAccept,
          customAttributes: request.customAttributesHeader,
          ...routing
        })).pipe(Effect.tapError((error) => Effect.sync(() => observer.failed(error._tag)))),
        (response) =>
          timeout === undefined
            ? Effect.succeed(decode(response.contentType, response.parts))
            // In the stream's scope, which this opening runs in.
            : Effect.map(
              gapTimeoutScoped(response.parts, timeout, () => timedOut(model, Duration.toMillis(timeout))),
              (parts) => decode(response.contentType, parts)
            )
      )
    }

    const openTraced = (
      prompt: unknown,
      generationKwargs: unknown,
      requestOptions: unknown
    ): Effect.Effect<Stream.Stream<StreamChunk, SagemakerError>, SagemakerError, Scope.Scope> => {
      const prepared = prepare(prompt, generationKwargs, requestOptions, "stream")
      const open = Either.isLeft(prepared)
        ? Effect.fail(prepared.left)
        : openStream(prompt as string, prepared.right.parameters, prepared.right.request)
      // Traced, the span is made here (it records this call site, as `Stream.withSpan` does), lives
      // in the stream's scope and ends with the stream's exit; everything up to the first event runs
      // under it. Cheaper than wrapping the stream in `Stream.withSpan` and `Stream.tapError`.
      const traced = () =>
        Effect.flatMap(
          Effect.makeSpanScoped("SagemakerGenerator.stream", {
            kind: "client",
            attributes: Either.isLeft(prepared)
              ? { "gen_ai.request.model": model }
              : Telemetry.requestAttributes(spanModelOf(prepared.right.request), prepared.right.parameters),
            captureStackTrace: false
          }),
          (span) => {
            const annotateError = (error: SagemakerError) => Effect.sync(() => span.attribute("error.type", error._tag))
            return open.pipe(
              Effect.map(Stream.tapError(annotateError)),
              Effect.tapError(annotateError),
              Effect.withParentSpan(span)
            )
          }
        )
      return Telemetry.whenTraced(traced, open)
    }
    // Nothing is done until the stream runs.
    const stream: Service["stream"] = (prompt, generationKwargs, request) =>
      unwrapScoped(Effect.suspend(() => openTraced(prompt, generationKwargs, request)))

    return SagemakerGenerator.of({
      model,
      generationKwargs: settings.generationKwargs,
      run,
      runWithMetadata,
      stream
    })
  })

/**
 * The complete layer, Haystack's shape: validates the options, resolves the secrets, builds its
 * own scoped client (closed with the layer) on the `transport` chosen, and checks that a region
 * resolves.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<SagemakerGenerator, AWSConfigurationError | SagemakerValidationError> =>
  Layer.scoped(
    SagemakerGenerator,
    Effect.gen(function*() {
      yield* validate(options)
      const client = yield* SagemakerClient.makeTransport(
        options.transport ?? SagemakerClient.defaultTransport,
        yield* clientOptions(options)
      ).pipe(
        // Haystack's message names the endpoint.
        Effect.mapError((error) =>
          error.model === "" ? new AWSConfigurationError({ ...error, model: options.model }) : error
        )
      )
      return yield* make(options).pipe(Effect.provideService(SagemakerClient.SagemakerClient, client))
    })
  )

/**
 * The service over the `SagemakerClient` in the context: several generators (and the other
 * services) on one client share its socket pool and its credentials (see {@link make}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithClient = (
  options: Options
): Layer.Layer<SagemakerGenerator, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Layer.effect(SagemakerGenerator, make(options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const run = (
  prompt: string,
  generationKwargs?: Kwargs,
  request?: RequestOptions | undefined
): Effect.Effect<GenerationResult, SagemakerError, SagemakerGenerator> =>
  Effect.flatMap(SagemakerGenerator, (generator) => generator.run(prompt, generationKwargs, request))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runWithMetadata = (
  prompt: string,
  generationKwargs?: Kwargs,
  request?: RequestOptions | undefined
): Effect.Effect<InvocationResult, SagemakerError, SagemakerGenerator> =>
  Effect.flatMap(SagemakerGenerator, (generator) => generator.runWithMetadata(prompt, generationKwargs, request))

/**
 * @since 0.1.0
 * @category accessors
 */
export const stream = (
  prompt: string,
  generationKwargs?: Kwargs,
  request?: RequestOptions | undefined
): Stream.Stream<StreamChunk, SagemakerError, SagemakerGenerator> =>
  unwrap(Effect.map(SagemakerGenerator, (generator) => generator.stream(prompt, generationKwargs, request)))

/**
 * Haystack's serialized form of a generator.
 *
 * @since 0.1.0
 * @category models
 */
export type SerializedGenerator = Serialization.SerializedGenerator

/**
 * Haystack's `to_dict`, byte for byte: a dict made here loads in a Haystack pipeline. Options
 * beyond Haystack follow Haystack's keys, only when set. Throws on a token secret, as Haystack
 * raises, and on a `requestFormat` function: neither can be written down.
 *
 * @since 0.1.0
 * @category serialization
 */
export const toDict = (options: Options): SerializedGenerator => Serialization.toDict(options)

/**
 * Reads a serialized generator back into options, with Haystack's error messages.
 *
 * @since 0.1.0
 * @category serialization
 */
export const optionsFromDict = (data: unknown): Either.Either<Options, SagemakerDeserializationError> =>
  Serialization.fromDict(data)

/**
 * Haystack's `from_dict`: the layer of a serialized generator. Unlike Haystack it does not mutate
 * its input.
 *
 * @since 0.1.0
 * @category layers
 */
export const fromDict = (
  data: unknown
): Layer.Layer<SagemakerGenerator, AWSConfigurationError | SagemakerDeserializationError> =>
  Either.match(optionsFromDict(data), {
    onLeft: (error) => Layer.fail(error),
    onRight: (options) =>
      layer(options).pipe(
        Layer.mapError((error) =>
          error._tag === "SagemakerValidationError" ? Serialization.deserializationError(error.message) : error
        )
      )
  })

/**
 * A replacement layer for consumers' tests: `run` answers with `respond`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (
  respond: (
    prompt: string,
    generationKwargs: Readonly<Record<string, unknown>>
  ) => Effect.Effect<GenerationResult, SagemakerError>,
  options?: { readonly model?: string; readonly generationKwargs?: Readonly<Record<string, unknown>> }
): Layer.Layer<SagemakerGenerator> => {
  const generationKwargs = options?.generationKwargs ?? DEFAULT_GENERATION_KWARGS
  return Layer.succeed(
    SagemakerGenerator,
    SagemakerGenerator.of({
      model: options?.model ?? "test-model",
      generationKwargs,
      run: (prompt, kwargs) => Effect.suspend(() => respond(prompt, { ...generationKwargs, ...kwargs })),
      runWithMetadata: (prompt, kwargs) =>
        Effect.map(
          Effect.suspend(() => respond(prompt, { ...generationKwargs, ...kwargs })),
          (result) => ({ ...result, invocation: noMetadata })
        ),
      stream: (prompt, kwargs) =>
        Stream.flatMap(
          Stream.fromEffect(Effect.suspend(() => respond(prompt, { ...generationKwargs, ...kwargs }))),
          (result) => Stream.fromIterable(result.replies.map((text): StreamChunk => ({ text })))
        )
    })
  )
}

/**
 * Builds a retry `Schedule` with the default policy's shape, for use with `retry`.
 *
 * @since 0.1.0
 * @category constructors
 */
export { defaultSchedule as retrySchedule } from "./RetryPolicy.js"
