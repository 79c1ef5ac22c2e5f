/**
 * Asynchronous inference: the scale-out path. SageMaker queues each request, autoscales the
 * instances behind the queue and writes each result to S3, so a client submits now and collects
 * later, from any process. `submit` returns a {@link Handle}, a plain value that encodes with
 * `Schema` (`Schema.encode(Handle)`) and can be awaited elsewhere; `awaitResult` polls S3 for the
 * result with backoff (one poll loop per service, whatever the number of handles awaited);
 * `run` is both.
 *
 * S3 goes through `@aws-sdk/client-s3`, an optional peer dependency loaded when the layer is
 * built, with the `SagemakerClient`'s region and credential chain.
 *
 * @example
 * ```ts
 * import { SagemakerAsync, SagemakerClient } from "effect-sagemaker"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * const Async = SagemakerAsync.layer({ model: "my-async-endpoint", inputLocation: "s3://my-bucket/inputs/" })
 *   .pipe(Layer.provide(SagemakerClient.layer({ region: "us-east-1" })))
 *
 * const program = SagemakerAsync.run("Summarize the annual report").pipe(Effect.provide(Async))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Poller from "./internal/async/poller.js"
import * as S3 from "./internal/async/s3.js"
import { timedOut, unexpectedResponse } from "./internal/client/errorTable.js"
import * as Routing from "./internal/client/routing.js"
import * as RequestBody from "./internal/container/requestBody.js"
import { MAX_ASYNC_INLINE_BODY_BYTES, MAX_ASYNC_PAYLOAD_BYTES } from "./internal/limits.js"
import { policyPerCall } from "./internal/policy/retryPolicy.js"
import * as Settings from "./internal/policy/settings.js"
import * as Validation from "./internal/policy/validation.js"
import * as Payload from "./Payload.js"
import * as SagemakerClient from "./SagemakerClient.js"
import {
  type AWSConfigurationError,
  type SagemakerError,
  SagemakerInferenceError,
  SagemakerValidationError
} from "./SagemakerError.js"
import type * as SagemakerGenerator from "./SagemakerGenerator.js"

/**
 * What SageMaker promised for one submitted request: where its result or its failure will be
 * written, and when it will have given up (`expiresAt`: the queue's time to live plus the
 * invocation timeout, after `submittedAt`). Encode it with `Schema.encode(Handle)` (dates become
 * ISO strings) to keep it in a file or a queue; decode it to await it in another process.
 *
 * @since 0.1.0
 * @category models
 */
export const Handle = Schema.Struct({
  endpointName: Schema.String,
  inferenceId: Schema.String,
  outputLocation: Schema.String,
  failureLocation: Schema.optional(Schema.String),
  submittedAt: Schema.Date,
  expiresAt: Schema.Date
})

/**
 * @since 0.1.0
 * @category models
 */
export type Handle = typeof Handle.Type

/**
 * @since 0.1.0
 * @category models
 */
export type HandleEncoded = typeof Handle.Encoded

/**
 * The options of an async service. The request options are the generator's, checked by
 * InvokeEndpointAsync's rules: of the routing members only `inferenceId` exists there.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SagemakerGenerator.RequestOptions {
  /** The async endpoint's name. */
  readonly model: string
  /** Default `{ max_new_tokens: 1024 }`, as the generator's. */
  readonly generationKwargs?: Readonly<Record<string, unknown>> | undefined
  /** The request body's format, as the generator's (default `"haystack"`). */
  readonly requestFormat?: Payload.RequestFormat | undefined
  /**
   * An S3 prefix (`s3://bucket/inputs/`) where bodies over SageMaker's inline limit (128,000
   * bytes) are uploaded before they are submitted. Without it such a body is refused.
   */
  readonly inputLocation?: string | undefined
  /** `"always"` uploads every body (endpoints that take only `InputLocation`). Default `"when-needed"`. */
  readonly upload?: "when-needed" | "always" | undefined
  /** Another S3 endpoint (the emulator's `s3Url`), path-style; otherwise `AWS_ENDPOINT_URL_S3`, then S3's own. */
  readonly s3EndpointUrl?: string | undefined
  /** How long a request may wait in SageMaker's queue: 60 s to 6 h (SageMaker's default 6 h). */
  readonly requestTtl?: Duration.DurationInput | undefined
  /** How long the model may work on one: 1 s to 1 h (SageMaker's default 15 min). */
  readonly invocationTimeout?: Duration.DurationInput | undefined
  /** The largest result read: default {@link DEFAULT_MAX_RESULT_BYTES}, at most 1 GB. */
  readonly maxResultBytes?: number | undefined
  /** How S3 is polled for results: the first delay (1 s), doubling up to the last (30 s). */
  readonly poll?: {
    readonly firstDelay?: Duration.DurationInput | undefined
    readonly lastDelay?: Duration.DurationInput | undefined
    /** S3 requests in flight at once across every awaited result. Default 16. */
    readonly concurrency?: number | undefined
  } | undefined
}

/**
 * One submission's own options: the request options (replacing the layer's, as the generator's
 * per-call options do), and where its output goes.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubmitOptions extends SagemakerGenerator.RequestOptions {
  /** A path appended to the endpoint's S3 output path. */
  readonly s3OutputPathExtension?: string | undefined
  /** The output object's name, instead of `<inference id>.out`. */
  readonly filename?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  /**
   * How long to wait from now. Default: until the handle's `expiresAt` (plus a minute for the
   * write), by when SageMaker has written the result or the failure.
   */
  readonly deadline?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Sends the request to the endpoint's queue (uploading its body first when it must). */
  readonly submit: (
    prompt: string,
    generationKwargs?: Readonly<Record<string, unknown>> | null,
    options?: SubmitOptions
  ) => Effect.Effect<Handle, SagemakerError>
  /**
   * The result of a handle, once it is in S3: decoded as `run`'s, or the failure object's text
   * as a `SagemakerInferenceError` (`errorCode: "AsyncInferenceFailure"`); past the deadline a
   * `SagemakerTimeoutError`.
   */
  readonly awaitResult: (
    handle: Handle,
    options?: AwaitOptions
  ) => Effect.Effect<Payload.GenerationResult, SagemakerError>
  /** `submit`, then `awaitResult`. */
  readonly run: (
    prompt: string,
    generationKwargs?: Readonly<Record<string, unknown>> | null,
    options?: SubmitOptions & AwaitOptions
  ) => Effect.Effect<Payload.GenerationResult, SagemakerError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SagemakerAsync extends Context.Tag("effect-sagemaker/SagemakerAsync")<SagemakerAsync, Service>() {}

/**
 * The default largest result: 100 MB.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_RESULT_BYTES = 100_000_000

const DEFAULT_GENERATION_KWARGS: Readonly<Record<string, unknown>> = { max_new_tokens: 1024 }
/** SageMaker's defaults, for `expiresAt` when a submission sets neither. */
const DEFAULT_TTL_SECONDS = 21_600
const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900
/** After `expiresAt`, how long the failure object may take to be written. */
const WRITE_GRACE_MILLIS = 60_000
/** A failure object is text; more than this is not read. */
const MAX_FAILURE_BYTES = 1_048_576

const invalid = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

const seconds = (field: string, input: Duration.DurationInput | undefined, name: Routing.AsyncName) => {
  if (input === undefined) return Either.right(undefined)
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return Either.left(invalid(field, "must be a duration"))
  const value = Duration.toSeconds(decoded.value)
  const problem = Routing.asyncProblem(name, value)
  return problem === undefined ? Either.right(value) : Either.left(invalid(field, problem))
}

const positiveMillis = (field: string, input: Duration.DurationInput | undefined, byDefault: number) => {
  if (input === undefined) return Either.right(byDefault)
  const decoded = Duration.decodeUnknown(input)
  return Option.isNone(decoded) || Duration.toMillis(decoded.value) <= 0
    ? Either.left(invalid(field, "must be a positive duration"))
    : Either.right(Duration.toMillis(decoded.value))
}

/** `s3://bucket[/prefix]` → where uploads go: the bucket, and a key prefix ending in `/` (or empty). */
const parsePrefix = (uri: string): { readonly bucket: string; readonly prefix: string } | undefined => {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)
  if (match === null) return undefined
  const path = match[2]!
  return { bucket: match[1]!, prefix: path === "" || path.endsWith("/") ? path : `${path}/` }
}

interface AsyncSettings {
  readonly model: string
  readonly generationKwargs: Readonly<Record<string, unknown>>
  readonly request: Settings.RequestSettings
  readonly upload: { readonly bucket: string; readonly prefix: string } | undefined
  readonly requestTtlSeconds: number | undefined
  readonly invocationTimeoutSeconds: number | undefined
  readonly maxResultBytes: number
  readonly poll: Poller.Options
}

const validate = (options: Options): Either.Either<AsyncSettings, SagemakerValidationError> =>
  Either.gen(function*() {
    yield* Validation.checkEndpointName("model", options.model)
    const request = yield* Settings.fromOptions(options, "async")
    if (options.generationKwargs != null) yield* Validation.checkKwargs("generationKwargs", options.generationKwargs)
    const formatProblem = RequestBody.checkFormat(options.requestFormat)
    if (formatProblem !== undefined) return yield* Either.left(invalid("requestFormat", formatProblem))
    let upload: AsyncSettings["upload"]
    if (options.inputLocation !== undefined) {
      upload = parsePrefix(options.inputLocation)
      if (upload === undefined) {
        return yield* Either.left(invalid("inputLocation", "must be an S3 prefix such as s3://bucket/inputs/"))
      }
    }
    if (options.upload !== undefined && options.upload !== "when-needed" && options.upload !== "always") {
      return yield* Either.left(invalid("upload", `must be "when-needed" or "always", got ${String(options.upload)}`))
    }
    if (options.upload === "always" && upload === undefined) {
      return yield* Either.left(invalid("inputLocation", "is needed with upload: \"always\""))
    }
    if (options.s3EndpointUrl !== undefined && !/^https?:\/\/[^/]/.test(options.s3EndpointUrl)) {
      return yield* Either.left(invalid("s3EndpointUrl", "must be an http:// or https:// URL"))
    }
    const requestTtlSeconds = yield* seconds("requestTtl", options.requestTtl, "requestTtlSeconds")
    const invocationTimeoutSeconds = yield* seconds(
      "invocationTimeout",
      options.invocationTimeout,
      "invocationTimeoutSeconds"
    )
    const maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES
    if (!(Number.isInteger(maxResultBytes) && maxResultBytes >= 1 && maxResultBytes <= MAX_ASYNC_PAYLOAD_BYTES)) {
      return yield* Either.left(
        invalid("maxResultBytes", `must be a whole number from 1 to ${MAX_ASYNC_PAYLOAD_BYTES}, got ${maxResultBytes}`)
      )
    }
    const firstDelay = yield* positiveMillis("poll.firstDelay", options.poll?.firstDelay, 1_000)
    const lastDelay = yield* positiveMillis("poll.lastDelay", options.poll?.lastDelay, 30_000)
    if (lastDelay < firstDelay) {
      return yield* Either.left(invalid("poll.lastDelay", "must not be below poll.firstDelay"))
    }
    const concurrency = options.poll?.concurrency ?? 16
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      return yield* Either.left(invalid("poll.concurrency", `must be a whole number of at least 1, got ${concurrency}`))
    }
    return {
      model: options.model,
      generationKwargs: options.generationKwargs ?? DEFAULT_GENERATION_KWARGS,
      request,
      upload,
      requestTtlSeconds,
      invocationTimeoutSeconds,
      maxResultBytes,
      poll: { firstDelay: Duration.millis(firstDelay), lastDelay: Duration.millis(lastDelay), concurrency }
    }
  })

const span = (name: string, model: string) =>
  Effect.withSpan(name, {
    kind: "client",
    attributes: { "gen_ai.system": "aws.sagemaker", "gen_ai.request.model": model },
    captureStackTrace: false
  })

/**
 * The service on the `SagemakerClient` in the context; its S3 client and poll loop live as long
 * as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  Service,
  SagemakerValidationError | AWSConfigurationError,
  SagemakerClient.SagemakerClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const settings = yield* validate(options)
    const client = yield* SagemakerClient.SagemakerClient
    const model = settings.model
    const configuredS3 = yield* Config.option(Config.nonEmptyString("AWS_ENDPOINT_URL_S3")).pipe(
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const s3 = yield* S3.make({
      identity: client.identity,
      endpointUrl: options.s3EndpointUrl ?? Option.getOrUndefined(configuredS3),
      endpointName: model
    })
    const poller = yield* Poller.make(s3, settings.poll)
    const format = options.requestFormat ?? "haystack"
    const policyOf = policyPerCall(model, settings.request)

    const submit: Service["submit"] = (prompt, generationKwargs, submitOptions) =>
      Effect.gen(function*() {
        if (typeof prompt !== "string") return yield* invalid("prompt", `must be a string, got ${typeof prompt}`)
        if (generationKwargs != null) yield* Validation.checkKwargs("generationKwargs", generationKwargs)
        const request = yield* Settings.forCall(settings.request, submitOptions, "async")
        const extension = submitOptions?.s3OutputPathExtension
        const filename = submitOptions?.filename
        for (const [name, value] of [["s3OutputPathExtension", extension], ["filename", filename]] as const) {
          const problem = value === undefined ? undefined : Routing.asyncProblem(name, value)
          if (problem !== undefined) return yield* invalid(name, problem)
        }
        const parameters = generationKwargs == null
          ? settings.generationKwargs
          : { ...settings.generationKwargs, ...generationKwargs }
        const body = yield* RequestBody.encode(format, prompt, parameters, false, MAX_ASYNC_PAYLOAD_BYTES)
        const inline = options.upload !== "always" && body.length <= MAX_ASYNC_INLINE_BODY_BYTES
        if (!inline && settings.upload === undefined) {
          return yield* invalid(
            "inputLocation",
            `the request body is ${body.length} bytes, over the ${MAX_ASYNC_INLINE_BODY_BYTES} SageMaker takes ` +
              "inline: set inputLocation to an S3 prefix to upload it to"
          )
        }
        const input = inline ? undefined : {
          bucket: settings.upload!.bucket,
          key: `${settings.upload!.prefix}${crypto.randomUUID()}.json`
        }
        const send = Effect.gen(function*() {
          if (input !== undefined) yield* s3.put(input, body, "application/json")
          return yield* client.invokeEndpointAsync({
            endpointName: model,
            contentType: "application/json",
            accept: "application/json",
            customAttributes: request.customAttributesHeader,
            inferenceId: request.routing.inferenceId,
            ...(input === undefined ? { body } : { inputLocation: S3.formatLocation(input) }),
            s3OutputPathExtension: extension,
            filename,
            requestTtlSeconds: settings.requestTtlSeconds,
            invocationTimeoutSeconds: settings.invocationTimeoutSeconds
          })
        })
        const submittedAt = yield* Clock.currentTimeMillis
        const response = yield* policyOf(request)(send)
        const inferenceId = response.inferenceId ?? request.routing.inferenceId
        if (inferenceId === undefined || response.outputLocation === undefined) {
          return yield* unexpectedResponse(
            model,
            "the InvokeEndpointAsync answer has no " + (inferenceId === undefined ? "InferenceId" : "OutputLocation"),
            ""
          )
        }
        const lifetimeSeconds = (settings.requestTtlSeconds ?? DEFAULT_TTL_SECONDS) +
          (settings.invocationTimeoutSeconds ?? DEFAULT_INVOCATION_TIMEOUT_SECONDS)
        return {
          endpointName: model,
          inferenceId,
          outputLocation: response.outputLocation,
          ...(response.failureLocation === undefined ? {} : { failureLocation: response.failureLocation }),
          submittedAt: new Date(submittedAt),
          expiresAt: new Date(submittedAt + lifetimeSeconds * 1000)
        } satisfies Handle
      }).pipe(span("SagemakerAsync.submit", model))

    const awaitResult: Service["awaitResult"] = (handle, awaitOptions) =>
      Effect.gen(function*() {
        if (!Schema.is(Handle)(handle)) {
          return yield* invalid("handle", "must be a Handle (decode an encoded one with Schema.decode(Handle))")
        }
        const output = S3.parseLocation(handle.outputLocation)
        const failure = handle.failureLocation === undefined ? undefined : S3.parseLocation(handle.failureLocation)
        if (output === undefined) return yield* invalid("handle.outputLocation", "must be an s3:// URI")
        const endpointName = handle.endpointName
        const now = yield* Clock.currentTimeMillis
        const waitMillis = awaitOptions?.deadline === undefined
          ? handle.expiresAt.getTime() + WRITE_GRACE_MILLIS - now
          : yield* positiveMillis("deadline", awaitOptions.deadline, 0)
        const firstLookAt = handle.submittedAt.getTime() + Duration.toMillis(settings.poll.firstDelay)
        const outcome = yield* poller.await({ output, failure, firstLookAt }).pipe(
          // Even past its deadline a handle gets one look: a result may be waiting.
          Effect.timeoutFail({
            duration: Duration.millis(
              Math.max(waitMillis, Math.max(firstLookAt - now, 0) + Duration.toMillis(settings.poll.firstDelay))
            ),
            onTimeout: () => timedOut(endpointName, Math.max(waitMillis, 0))
          })
        )
        if (outcome._tag === "Failure") {
          const text = yield* s3.get(endpointName, outcome.location, MAX_FAILURE_BYTES)
          return yield* new SagemakerInferenceError({
            endpointName,
            errorCode: "AsyncInferenceFailure",
            text: new TextDecoder().decode(text),
            retryable: false
          })
        }
        const bytes = yield* s3.get(endpointName, outcome.location, settings.maxResultBytes)
        return yield* Payload.decodeResponse(endpointName, bytes, settings.maxResultBytes)
      }).pipe(span("SagemakerAsync.awaitResult", handle?.endpointName ?? model))

    return {
      submit,
      awaitResult,
      run: (prompt, generationKwargs, runOptions) =>
        Effect.flatMap(submit(prompt, generationKwargs, runOptions), (handle) => awaitResult(handle, runOptions))
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<SagemakerAsync, SagemakerValidationError | AWSConfigurationError, SagemakerClient.SagemakerClient> =>
  Layer.scoped(SagemakerAsync, make(options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const submit = (
  prompt: string,
  generationKwargs?: Readonly<Record<string, unknown>> | null,
  options?: SubmitOptions
): Effect.Effect<Handle, SagemakerError, SagemakerAsync> =>
  Effect.flatMap(SagemakerAsync, (service) => service.submit(prompt, generationKwargs, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const awaitResult = (
  handle: Handle,
  options?: AwaitOptions
): Effect.Effect<Payload.GenerationResult, SagemakerError, SagemakerAsync> =>
  Effect.flatMap(SagemakerAsync, (service) => service.awaitResult(handle, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const run = (
  prompt: string,
  generationKwargs?: Readonly<Record<string, unknown>> | null,
  options?: SubmitOptions & AwaitOptions
): Effect.Effect<Payload.GenerationResult, SagemakerError, SagemakerAsync> =>
  Effect.flatMap(SagemakerAsync, (service) => service.run(prompt, generationKwargs, options))
