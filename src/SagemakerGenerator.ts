/**
 * The `SagemakerGenerator` service: Haystack's `SagemakerGenerator` the Effect way. `run` sends
 * `{"inputs": prompt, "parameters": kwargs}` to an endpoint and returns `{ replies, meta }`, failing
 * only with tagged errors; retries and timeouts are Schedules; `toDict`/`fromDict` speak Haystack's
 * serialized form.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Record from "effect/Record"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { gapTimeout } from "./internal/stream/gapTimeout.js"
import * as HaystackDefaults from "./internal/haystack/defaults.js"
import { checkRetryOption, type RetryOption, type RetryPolicy, withPolicy } from "./internal/policy/retryPolicy.js"
import * as Serialization from "./internal/haystack/serialization.js"
import * as StreamDecoder from "./internal/container/streamDecoder.js"
import * as Telemetry from "./internal/telemetry/telemetry.js"
import { unwrapScoped } from "./internal/stream/unwrapScoped.js"
import * as Validation from "./internal/policy/validation.js"
import * as Payload from "./Payload.js"
import * as SagemakerClient from "./SagemakerClient.js"
import {
  AWSConfigurationError,
  type SagemakerDeserializationError,
  type SagemakerError,
  SagemakerResponseError,
  SagemakerStreamError,
  SagemakerTimeoutError,
  SagemakerValidationError
} from "./SagemakerError.js"
import * as Secret from "./Secret.js"

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  RetryOption,
  /**
   * @since 0.1.0
   * @category models
   */
  RetryPolicy
}

/**
 * @since 0.1.0
 * @category models
 */
export type GenerationResult = Payload.GenerationResult

/**
 * One piece of a streamed generation. `text` is what to append; the rest is there when the
 * container sends it (TGI and LMI send token ids and log-probs; the last chunk usually carries the
 * finish reason and token counts). A special token (TGI's `</s>`) arrives with `text: ""`,
 * `special: true` and its text in `specialText`. Where each field comes from, per container
 * format, is tabled in the stream decoder (`src/internal/streamDecoder.ts`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamChunk {
  readonly text: string
  readonly tokenId?: number
  readonly logprob?: number
  readonly special?: boolean
  readonly specialText?: string
  /** As the container wrote it: `length`, `eos_token`, `stop_sequence`, `stop`, … */
  readonly finishReason?: string
  /** The whole generated text, when the container repeats it on its last event. */
  readonly generatedText?: string
  readonly inputTokens?: number
  readonly outputTokens?: number
}

/**
 * The token-stream formats understood: TGI server-sent events, DJL LMI JSON lines, OpenAI chat
 * chunks. `auto` detects the format from the first line.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamFormat = StreamDecoder.StreamFormat | "auto"

/**
 * The options: Haystack's parameters in camelCase, with Haystack's defaults, then ours.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The SageMaker endpoint name. */
  readonly model: string
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
  /** Sent as the `X-Amzn-SageMaker-Custom-Attributes` header, `k=v;k2=v2`. Default `{}` (no header). */
  readonly awsCustomAttributes?: Readonly<Record<string, string | number | boolean>> | null | undefined
  /** Default, and also when `{}` is given: `{ max_new_tokens: 1024 }`. */
  readonly generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
  /** Another SageMaker Runtime (the emulator, a proxy); otherwise the SDK's `AWS_ENDPOINT_URL_*` handling. */
  readonly endpointUrl?: string | undefined
  readonly targetVariant?: string | undefined
  readonly targetModel?: string | undefined
  readonly targetContainerHostname?: string | undefined
  readonly inferenceComponentName?: string | undefined
  readonly inferenceId?: string | undefined
  readonly sessionId?: string | undefined
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
  /** Requests in flight at once per layer; the socket pool follows. Default 1024. */
  readonly maxConcurrency?: number | undefined
  /** The token-stream format of `stream`; default `auto` (detected from the first line). */
  readonly streamFormat?: StreamFormat | undefined
  /**
   * `X-Amzn-SageMaker-Accept` for `stream`. Default `application/jsonlines` (DJL LMI's default;
   * TGI ignores it and sends server-sent events).
   */
  readonly streamAccept?: string | undefined
  /**
   * Which transport carries the requests: `"sdk"` (default), the AWS SDK client, or `"http"`, a
   * lean one on node's `http`/`https` with SigV4, whose credentials and region still come from
   * the SDK's providers. Same requests, errors and streams; see `SagemakerClient.Transport`.
   */
  readonly transport?: SagemakerClient.Transport | undefined
}

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
   * Generates from `prompt`; `generationKwargs` are merged per key over the init-time ones.
   */
  readonly run: (
    prompt: string,
    generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
  ) => Effect.Effect<GenerationResult, SagemakerError>
  /**
   * Streams the generation token by token over `InvokeEndpointWithResponseStream`. Failures
   * before the first event follow the retry policy; a failure after it ends the stream with
   * `SagemakerStreamError` once the earlier chunks were delivered. Closing the stream early aborts
   * the HTTP request.
   */
  readonly stream: (
    prompt: string,
    generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
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

const routingFields = [
  "targetModel",
  "targetVariant",
  "targetContainerHostname",
  "inferenceComponentName",
  "inferenceId",
  "sessionId"
] as const

interface Settings {
  readonly model: string
  readonly generationKwargs: Readonly<Record<string, unknown>>
  readonly customAttributes: string | undefined
  readonly timeout: Duration.Duration | undefined
}

const validationError = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

/** Validates every option that can be checked without the network. */
const validate = (options: Options): Effect.Effect<Settings, SagemakerValidationError> =>
  Effect.gen(function*() {
    yield* Validation.checkEndpointName("model", options.model)
    for (const field of routingFields) {
      const value = options[field]
      if (value !== undefined) yield* Validation.checkRoutingOption(field, value)
    }
    const kwargs = options.generationKwargs
    if (kwargs != null) yield* Validation.checkKwargs("generationKwargs", kwargs)
    const customAttributes = yield* Validation.encodeCustomAttributes(options.awsCustomAttributes ?? {})
    let timeout: Duration.Duration | undefined
    if (options.timeout !== undefined) {
      const decoded = Duration.decodeUnknown(options.timeout)
      if (Option.isNone(decoded) || Duration.toMillis(decoded.value) <= 0) {
        return yield* validationError("timeout", "must be a positive duration")
      }
      timeout = decoded.value
    }
    const retryProblem = checkRetryOption(options.retry)
    if (retryProblem !== undefined) return yield* validationError("retry", retryProblem)
    const maxConcurrency = options.maxConcurrency
    if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) {
      return yield* validationError("maxConcurrency", `must be a whole number of at least 1, got ${maxConcurrency}`)
    }
    const streamFormat = options.streamFormat
    if (streamFormat !== undefined && !["auto", "tgi", "lmi", "openai"].includes(streamFormat)) {
      return yield* validationError("streamFormat", `must be one of auto, tgi, lmi, openai, got ${streamFormat}`)
    }
    const transport = options.transport
    if (transport !== undefined && !SagemakerClient.transports.includes(transport)) {
      return yield* validationError("transport", `must be one of sdk, http, got ${transport}`)
    }
    return {
      model: options.model,
      generationKwargs: HaystackDefaults.generationKwargs(kwargs),
      customAttributes,
      timeout
    }
  })

/**
 * Resolves the secrets through the current `ConfigProvider` into the client's options. Explicit
 * keys become static credentials; without them the SDK's default chain (and the profile) applies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientOptions = (
  options: Options
): Effect.Effect<SagemakerClient.Options, AWSConfigurationError> =>
  Effect.gen(function*() {
    const resolve = (name: HaystackDefaults.AwsSecretOption, secret: Secret.Secret | null) =>
      Secret.resolve(secret).pipe(
        Effect.map(Option.getOrUndefined),
        Effect.mapError((cause) =>
          new AWSConfigurationError({
            model: options.model,
            description: `${name} could not be resolved: ${cause.message}`,
            cause
          })
        )
      )
    const {
      awsAccessKeyId: accessKeyId,
      awsProfileName: profile,
      awsRegionName: region,
      awsSecretAccessKey: secretAccessKey,
      awsSessionToken: sessionToken
    } = yield* Effect.all(Record.map(HaystackDefaults.awsSecrets(options), (secret, name) => resolve(name, secret)))
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      return yield* new AWSConfigurationError({
        model: options.model,
        description: accessKeyId === undefined
          ? "awsSecretAccessKey is set but awsAccessKeyId is not: give both or neither"
          : "awsAccessKeyId is set but awsSecretAccessKey is not: give both or neither"
      })
    }
    return {
      endpointName: options.model,
      ...(accessKeyId === undefined || secretAccessKey === undefined
        ? {}
        : { credentials: { accessKeyId, secretAccessKey, sessionToken } }),
      // Region and profile name the client's configuration; they are not credentials.
      ...(region === undefined ? {} : { region: Redacted.value(region) }),
      ...(profile === undefined ? {} : { profile: Redacted.value(profile) }),
      ...(options.endpointUrl === undefined ? {} : { endpointUrl: options.endpointUrl }),
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
      ...(options.transport === undefined ? {} : { transport: options.transport })
    }
  })

/**
 * Payload parts → chunks. A line the decoder cannot read ends the stream with a
 * `SagemakerResponseError` (a `SagemakerStreamError` when the line is the container's own error
 * report) after the chunks decoded before it; nothing is dropped silently.
 *
 * One channel decodes a chunk of parts at a time and writes everything it decoded as one chunk:
 * no Effect, and no stream, per part or per event.
 */
const decodeStream = <E>(
  endpointName: string,
  parts: Stream.Stream<Uint8Array, E>,
  decoder: StreamDecoder.StreamDecoder
): Stream.Stream<StreamChunk, E | SagemakerResponseError | SagemakerStreamError> => {
  type Decoding = Channel.Channel<
    Chunk.Chunk<StreamChunk>,
    Chunk.Chunk<Uint8Array>,
    E | SagemakerResponseError | SagemakerStreamError,
    E,
    unknown,
    unknown
  >
  const emit = (events: Array<StreamChunk>, then: Decoding): Decoding =>
    events.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(events)), then)
  /**
   * Runs `decode`, which returns its events or collects them in the array it is given (so that a
   * failure in a later part still delivers the events of the parts before it); then `next`, or
   * the failure after every event decoded before it.
   */
  const step = (decode: (collected: Array<StreamChunk>) => Array<StreamChunk>, next: Decoding): Decoding => {
    const collected: Array<StreamChunk> = []
    let events: Array<StreamChunk>
    try {
      events = decode(collected)
    } catch (error) {
      if (!(error instanceof StreamDecoder.StreamDecodeError)) return Channel.failCause(Cause.die(error))
      for (const event of error.events) collected.push(event)
      const failure = error.reason === "ModelError"
        // The container reported a failure inside the stream (LMI's `finish_reason: "error"`).
        ? new SagemakerStreamError({ endpointName, errorCode: "ModelError", text: error.message })
        : new SagemakerResponseError({
          endpointName,
          detail: `in the stream (${error.reason}): ${error.message}`,
          body: error.line
        })
      return emit(collected, Channel.fail(failure))
    }
    return emit(events, next)
  }
  const loop: Decoding = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Uint8Array>) =>
      step((collected) => {
        if (input.length === 1) return decoder.push(Chunk.unsafeGet(input, 0))
        for (let i = 0; i < input.length; i++) {
          for (const event of decoder.push(Chunk.unsafeGet(input, i))) collected.push(event)
        }
        return collected
      }, loop),
    onFailure: (cause) => Channel.failCause(cause),
    onDone: () => step(() => decoder.end(), Channel.void)
  })
  return Stream.pipeThroughChannel(parts, loop)
}

/**
 * The service over a `SagemakerClient` you provide (a fake in tests, or a shared client). Options
 * about credentials, region, `endpointUrl`, `maxConcurrency` and `transport` belong to the client
 * and are not read here.
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
    const spanModel = options.inferenceComponentName ?? model
    const policy = withPolicy({ endpointName: model, timeout: settings.timeout, retry: options.retry })
    const routing = {
      targetModel: options.targetModel,
      targetVariant: options.targetVariant,
      targetContainerHostname: options.targetContainerHostname,
      inferenceComponentName: options.inferenceComponentName,
      inferenceId: options.inferenceId,
      sessionId: options.sessionId
    }

    const parameters = (
      prompt: unknown,
      kwargs: unknown
    ): Either.Either<Readonly<Record<string, unknown>>, SagemakerValidationError> => {
      if (typeof prompt !== "string") {
        return Either.left(
          validationError("prompt", `must be a string, got ${prompt === null ? "null" : typeof prompt}`)
        )
      }
      if (kwargs == null) return Either.right(settings.generationKwargs)
      return Validation.checkKwargs("generationKwargs", kwargs).pipe(
        Either.map(() => ({ ...settings.generationKwargs, ...(kwargs as Record<string, unknown>) }))
      )
    }

    const runSpan = (attributes: Record<string, unknown>) =>
      ({
        kind: "client",
        attributes,
        // The stack would point inside this module, and capturing it cost a third of our CPU per call.
        captureStackTrace: false
      }) as const
    const invalidCallSpan = runSpan({ "gen_ai.request.model": spanModel })
    const recordErrorType = (error: SagemakerError) => Effect.annotateCurrentSpan("error.type", error._tag)

    // A pipeline rather than `Effect.gen`, and the request attributes given to the span when it is
    // made: `run` is the hot path, and every step of the runtime counts there. Nothing is done
    // until the Effect runs (the body is encoded per run).
    const runNow = (
      prompt: unknown,
      generationKwargs: unknown
    ): Effect.Effect<GenerationResult, SagemakerError> => {
      const merged = parameters(prompt, generationKwargs)
      if (Either.isLeft(merged)) {
        return Effect.fail(merged.left).pipe(
          Effect.tapError(recordErrorType),
          Effect.withSpan("SagemakerGenerator.run", invalidCallSpan)
        )
      }
      const body = Payload.encodeRequest(prompt as string, merged.right)
      const tooLarge = Validation.checkBodySize(body)
      if (Either.isLeft(tooLarge)) {
        return Effect.fail(tooLarge.left).pipe(
          Effect.tapError(recordErrorType),
          Effect.withSpan("SagemakerGenerator.run", runSpan(Telemetry.requestAttributes(spanModel, merged.right)))
        )
      }
      const generated = policy(client.invokeEndpoint({
        endpointName: model,
        body,
        contentType: "application/json",
        accept: "application/json",
        customAttributes: settings.customAttributes,
        ...routing
      })).pipe(Effect.flatMap((response) => Payload.decodeResponse(model, response.body)))
      return Telemetry.whenTraced(
        () =>
          generated.pipe(
            Effect.tap(Telemetry.annotateResponse),
            Effect.tapError(recordErrorType),
            Effect.withSpan("SagemakerGenerator.run", runSpan(Telemetry.requestAttributes(spanModel, merged.right)))
          ),
        generated
      )
    }
    const run: Service["run"] = (prompt, generationKwargs) => Effect.suspend(() => runNow(prompt, generationKwargs))

    const decoderOptions = {
      format: options.streamFormat ?? "auto",
      maxLineBytes: StreamDecoder.DEFAULT_MAX_LINE_BYTES
    } as const
    const { inferenceComponentName, inferenceId, sessionId, targetContainerHostname, targetVariant } = routing

    /** Sends the request, waits for its first event (under the retry policy) and decodes the rest. */
    const openStream = (
      prompt: string,
      merged: Readonly<Record<string, unknown>>
    ): Effect.Effect<Stream.Stream<StreamChunk, SagemakerError>, SagemakerError, Scope.Scope> => {
      const body = Payload.encodeRequest(prompt, merged, { stream: true })
      const tooLarge = Validation.checkBodySize(body)
      if (Either.isLeft(tooLarge)) return Effect.fail(tooLarge.left)
      return Effect.map(
        policy(client.invokeEndpointWithResponseStream({
          endpointName: model,
          body,
          contentType: "application/json",
          accept: options.streamAccept ?? "application/jsonlines",
          customAttributes: settings.customAttributes,
          targetVariant,
          targetContainerHostname,
          inferenceComponentName,
          inferenceId,
          sessionId
        })),
        (response) => {
          const timeout = settings.timeout
          const parts = timeout === undefined ? response.parts : gapTimeout(
            response.parts,
            timeout,
            () => new SagemakerTimeoutError({ endpointName: model, timeoutMillis: Duration.toMillis(timeout) })
          )
          return decodeStream(model, parts, StreamDecoder.makeStreamDecoder(decoderOptions))
        }
      )
    }

    const openTraced = (
      prompt: unknown,
      generationKwargs: unknown
    ): Effect.Effect<Stream.Stream<StreamChunk, SagemakerError>, SagemakerError, Scope.Scope> => {
      const merged = parameters(prompt, generationKwargs)
      const open = Either.isLeft(merged) ? Effect.fail(merged.left) : openStream(prompt as string, merged.right)
      // Traced, the span is made here (it records this call site, as `Stream.withSpan` does), lives
      // in the stream's scope and ends with the stream's exit; everything up to the first event runs
      // under it. Cheaper than wrapping the stream in `Stream.withSpan` and `Stream.tapError`.
      const traced = () =>
        Effect.flatMap(
          Effect.makeSpanScoped("SagemakerGenerator.stream", {
            kind: "client",
            attributes: Either.isLeft(merged)
              ? { "gen_ai.request.model": spanModel }
              : Telemetry.requestAttributes(spanModel, merged.right),
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
    const stream: Service["stream"] = (prompt, generationKwargs) =>
      unwrapScoped(Effect.suspend(() => openTraced(prompt, generationKwargs)))

    return SagemakerGenerator.of({ model, generationKwargs: settings.generationKwargs, run, stream })
  })

/**
 * The complete layer: validates the options, resolves the secrets, builds its own scoped SDK
 * client (destroyed with the layer) and checks that a region resolves.
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
      const client = yield* SagemakerClient.make(yield* clientOptions(options))
      return yield* make(options).pipe(Effect.provideService(SagemakerClient.SagemakerClient, client))
    })
  )

/**
 * The service over a `SagemakerClient` from the context (see {@link make}).
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
  generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
): Effect.Effect<GenerationResult, SagemakerError, SagemakerGenerator> =>
  Effect.flatMap(SagemakerGenerator, (generator) => generator.run(prompt, generationKwargs))

/**
 * @since 0.1.0
 * @category accessors
 */
export const stream = (
  prompt: string,
  generationKwargs?: Readonly<Record<string, unknown>> | null | undefined
): Stream.Stream<StreamChunk, SagemakerError, SagemakerGenerator> =>
  Stream.unwrap(Effect.map(SagemakerGenerator, (generator) => generator.stream(prompt, generationKwargs)))

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
 * raises: a token cannot be written down.
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
export { defaultSchedule as retrySchedule } from "./internal/policy/retryPolicy.js"
