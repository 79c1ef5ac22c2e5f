/**
 * A `@effect/ai` `LanguageModel` on a SageMaker endpoint: `LanguageModel.generateText`,
 * `streamText` and `generateObject`, toolkits with typed tools, and the span `@effect/ai` opens,
 * over the shared `SagemakerClient` (its retry policy, timeouts and abortable requests).
 *
 * The container behind the endpoint is spoken to in its `dialect`:
 *
 * - `"openai"` (the default): the Messages API (`{messages, tools, ...}`) that TGI ≥ 2.4, DJL LMI
 *   and vLLM serve on `/invocations`; JSON output through `response_format: json_schema`.
 * - `"tgi"`: TGI's Messages API with its quirks: numbered tool-call ids and tool arguments as JSON
 *   objects in the history, its grammar `{type: "json", value}` for JSON output, which it refuses
 *   together with tools (refused here before the request), and TGI 2.x's streamed tool calls.
 * - `"lmi"`: LMI's chat: no usage on its streams, `tool_choice: "required"` refused by LMI (the one
 *   tool is named instead).
 * - `"text-generation"`: a plain `{inputs, parameters}` container; the conversation is rendered by a
 *   `chatTemplate`, temperature 0 becomes `do_sample: false`, tools are refused.
 *
 * This module is the subpath `effect-sagemaker/SagemakerLanguageModel` and not part of the root
 * barrel: only it needs `@effect/ai` (an optional peer dependency).
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { SagemakerClient } from "effect-sagemaker"
 * import * as SagemakerLanguageModel from "effect-sagemaker/SagemakerLanguageModel"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * const Chat = SagemakerLanguageModel.layer({ endpointName: "my-llm", config: { max_tokens: 256 } }).pipe(
 *   Layer.provide(SagemakerClient.layer({ region: "us-east-1" }))
 * )
 *
 * const program = LanguageModel.generateText({ prompt: "What is Effect?" }).pipe(
 *   Effect.map((response) => response.text),
 *   Effect.provide(Chat)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Response from "@effect/ai/Response"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Span } from "effect/Tracer"
import { timedOut } from "./internal/client/errorTable.js"
import * as Fields from "./internal/container/fields.js"
import * as StreamDecoder from "./internal/container/streamDecoder.js"
import * as ChatTemplates from "./internal/languageModel/chatTemplates.js"
import * as InternalConfig from "./internal/languageModel/config.js"
import * as Dialects from "./internal/languageModel/dialects.js"
import * as Errors from "./internal/languageModel/errors.js"
import * as RequestBody from "./internal/languageModel/requestBody.js"
import { makeResponse } from "./internal/languageModel/response.js"
import { StreamParts } from "./internal/languageModel/streamParts.js"
import * as LanguageModelTelemetry from "./internal/languageModel/telemetry.js"
import * as WholeAnswer from "./internal/languageModel/wholeAnswer.js"
import { policyPerCall } from "./internal/policy/retryPolicy.js"
import * as Settings from "./internal/policy/settings.js"
import * as Validation from "./internal/policy/validation.js"
import { decodeStream, gatherWholeBody, isWholeBody } from "./internal/stream/decodeStream.js"
import { gapTimeoutScoped } from "./internal/stream/gapTimeout.js"
import { unwrapScoped } from "./internal/stream/unwrap.js"
import * as Metrics from "./internal/telemetry/metrics.js"
import { PROVIDER } from "./internal/telemetry/telemetry.js"
import * as Payload from "./Payload.js"
import * as SagemakerClient from "./SagemakerClient.js"
import { type SagemakerError, SagemakerValidationError } from "./SagemakerError.js"
import type * as SagemakerGenerator from "./SagemakerGenerator.js"

/**
 * How the container is spoken to: `openai` (default), `tgi`, `lmi` or `text-generation`.
 *
 * @since 0.1.0
 * @category models
 */
export type Dialect = Dialects.Dialect

/**
 * Every dialect, the default first.
 *
 * @since 0.1.0
 * @category constants
 */
export const dialects: ReadonlyArray<Dialect> = Dialects.dialects

/**
 * How `generateObject` asks for JSON. Each dialect has its default, the first it supports:
 *
 * | dialect | strategies |
 * |---|---|
 * | `openai`, `lmi` | `json_schema` (`response_format`), `tool` (a forced tool), `prompt` |
 * | `tgi` | `grammar` (`{type: "json", value}`), `json_schema` (TGI's own), `tool`, `prompt` |
 * | `text-generation` | `prompt` (an instruction with the schema), `grammar` (TGI's `parameters.grammar`) |
 *
 * @since 0.1.0
 * @category models
 */
export type StructuredOutput = Dialects.StructuredOutput

/**
 * One turn of a conversation, as a chat template sees it.
 *
 * @since 0.1.0
 * @category models
 */
export type TemplateMessage = ChatTemplates.TemplateMessage

/**
 * A chat template of the `text-generation` dialect: a built-in (`llama3`, `llama2`, `mistral`,
 * `chatml`) or your own function from the turns to the prompt.
 *
 * @since 0.1.0
 * @category models
 */
export type ChatTemplate = ChatTemplates.ChatTemplate

/**
 * The built-in chat templates.
 *
 * @since 0.1.0
 * @category constants
 */
export const chatTemplates: ReadonlyArray<ChatTemplates.BuiltInChatTemplate> = ChatTemplates.builtInChatTemplates

/**
 * The prompt a chat template makes of a conversation: what the `text-generation` dialect sends as
 * `inputs`.
 *
 * @since 0.1.0
 * @category utils
 */
export const renderChatTemplate = (template: ChatTemplate, messages: ReadonlyArray<TemplateMessage>): string =>
  ChatTemplates.resolve(template)(messages)

/**
 * The options of the language model: the endpoint, how its container is spoken to, the default
 * sampling configuration, and the request options of the generator (routing, custom attributes,
 * timeout and retry), which apply to every call; `Config`'s `request` (through
 * {@link withConfigOverride}) overrides them for one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SagemakerGenerator.RequestOptions {
  /** The SageMaker endpoint name. */
  readonly endpointName: string
  /** Default `"openai"`. */
  readonly dialect?: Dialect | undefined
  /** The `text-generation` dialect's template (required there, refused elsewhere). */
  readonly chatTemplate?: ChatTemplate | undefined
  /** How `generateObject` asks for JSON; default: the dialect's own (see {@link StructuredOutput}). */
  readonly structuredOutput?: StructuredOutput | undefined
  /** Sampling parameters for every call; {@link withConfigOverride} overrides them per call. */
  readonly config?: Config.Service | undefined
}

/**
 * The sampling configuration of a call, read from the context: {@link withConfigOverride} puts it
 * there. Its fields replace those of the layer's `config`, field by field; its `request` is merged
 * over the layer's request options.
 *
 * @since 0.1.0
 * @category tags
 */
export class Config extends Context.Tag("effect-sagemaker/SagemakerLanguageModel/Config")<
  Config,
  Config.Service
>() {
  /**
   * The configuration in the context, if any.
   *
   * @since 0.1.0
   */
  static readonly getOrUndefined: Effect.Effect<Config.Service | undefined> = Effect.map(
    Effect.context<never>(),
    (context) => context.unsafeMap.get(Config.key)
  )
}

/**
 * @since 0.1.0
 */
export declare namespace Config {
  /**
   * Sampling parameters, named as in the Messages API (`max_tokens` becomes `max_new_tokens` on
   * the text-generation dialect), and `extraBody`, more body fields as the container names them.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service extends InternalConfig.ConfigService {
    /**
     * The request options of the call (routing, custom attributes, timeout, retry), merged over
     * the layer's as the third argument of `SagemakerGenerator.run` and `stream` is: each member
     * given replaces the layer's (custom attributes key by key), and they are checked by the same
     * rules, before any request; a bad one fails the call with `MalformedInput` naming the field
     * (`config.request.timeout`, ...), {@link sagemakerError} giving the `SagemakerValidationError`.
     * A `streamText` call cannot open a session (`sessionId: "NEW_SESSION"`) nor name a
     * `targetModel` (the stream route has none). Like the other fields, a nested
     * {@link withConfigOverride} replaces it as a whole.
     *
     * @example
     * ```ts
     * LanguageModel.generateText({ prompt: "Hi" }).pipe(
     *   SagemakerLanguageModel.withConfigOverride({
     *     request: { targetVariant: "canary", awsCustomAttributes: { tenant: "acme" }, timeout: "10 seconds" }
     *   })
     * )
     * ```
     */
    readonly request?: SagemakerGenerator.RequestOptions | undefined
  }
}

declare module "@effect/ai/Response" {
  export interface FinishPartMetadata extends ProviderMetadata {
    /** What this provider adds to a finish part: the container's own finish reason. */
    readonly sagemaker?: {
      /** As the container wrote it: `stop`, `length`, `tool_calls`, `eos_token`, … (absent when it sent none). */
      readonly finishReason?: string | undefined
    } | undefined
  }
}

/**
 * Runs `self` with `overrides` over the sampling configuration in the context.
 *
 * @since 0.1.0
 * @category config
 */
export const withConfigOverride: {
  (overrides: Config.Service): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R> =>
    Effect.flatMap(Config.getOrUndefined, (config) => Effect.provideService(self, Config, { ...config, ...overrides }))
)

/**
 * The tagged error an `AiError` of this provider stands for: the retried, classified failure of
 * the SageMaker call (for example `SagemakerInferenceError` with its `originalStatusCode`), kept
 * also where the `AiError` class has no `cause` (`HttpResponseError`). `undefined` for errors this
 * provider refused itself (`MalformedInput`, unparsable tool arguments) or did not make.
 *
 * @since 0.1.0
 * @category errors
 */
export const sagemakerError = (error: AiError.AiError): SagemakerError | undefined => Errors.sagemakerErrorOf(error)

interface ModelSettings {
  readonly endpointName: string
  readonly request: Settings.RequestSettings
  readonly body: RequestBody.RequestSettings
}

/**
 * A call's request options over the layer's, by the generator's per-call rules; the field named
 * as the `Config` path it was given at.
 */
const callRequest = (
  base: Settings.RequestSettings,
  request: unknown,
  operation: "invoke" | "stream"
): Either.Either<Settings.RequestSettings, SagemakerValidationError> =>
  Either.mapLeft(
    Settings.forCall(base, request, operation),
    (error) =>
      new SagemakerValidationError({
        field: error.field === "request" ? "config.request" : `config.request.${error.field}`,
        rule: error.rule
      })
  )

const invalid = (field: string, rule: string) => Either.left(new SagemakerValidationError({ field, rule }))

const validate = (options: Options): Either.Either<ModelSettings, SagemakerValidationError> =>
  Either.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* invalid("options", "must be an object of language model options")
    }
    yield* Validation.checkEndpointName("endpointName", options.endpointName)
    const request = yield* Settings.fromOptions(options)
    const dialect = options.dialect ?? "openai"
    if (!Dialects.isDialect(dialect)) {
      return yield* invalid("dialect", `must be one of ${Dialects.dialects.join(", ")}, got ${String(dialect)}`)
    }
    const facts = Dialects.facts[dialect]
    const template = options.chatTemplate
    if (template !== undefined && !ChatTemplates.isChatTemplate(template)) {
      return yield* invalid(
        "chatTemplate",
        `must be one of ${ChatTemplates.builtInChatTemplates.join(", ")} or a function, got ${String(template)}`
      )
    }
    if (facts.chat && template !== undefined) {
      return yield* invalid("chatTemplate", `the ${dialect} dialect's container applies its own chat template`)
    }
    if (!facts.chat && template === undefined) {
      return yield* invalid(
        "chatTemplate",
        `the text-generation dialect needs one: ${ChatTemplates.builtInChatTemplates.join(", ")} or a function`
      )
    }
    const structuredOutput = options.structuredOutput ?? facts.structuredOutputs[0]!
    if (!facts.structuredOutputs.includes(structuredOutput)) {
      return yield* invalid(
        "structuredOutput",
        `the ${dialect} dialect has ${facts.structuredOutputs.join(", ")}, got ${String(structuredOutput)}`
      )
    }
    const problem = InternalConfig.checkConfig("config", options.config)
    if (problem !== undefined) return yield* invalid(problem.field, problem.rule)
    yield* callRequest(request, options.config?.request, "invoke")
    return {
      endpointName: options.endpointName,
      request,
      body: {
        dialect,
        facts,
        chatTemplate: template === undefined ? undefined : ChatTemplates.resolve(template),
        structuredOutput
      }
    }
  })

/** The tag of the error behind an `AiError`, for the span's `error.type`. */
const errorType = (error: AiError.AiError): string => Errors.sagemakerErrorOf(error)?._tag ?? error._tag

/**
 * The `LanguageModel` service over the `SagemakerClient` in the context. The options are checked
 * here, before any request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<LanguageModel.Service, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Effect.gen(function*() {
    const settings = yield* validate(options)
    const client = yield* SagemakerClient.SagemakerClient
    const { endpointName } = settings
    const policyOf = policyPerCall(endpointName, settings.request)
    const metrics = Metrics.recorder("chat", endpointName)
    const target = (method: string, operation: "invoke" | "stream"): Errors.RequestTarget => ({
      endpointName,
      region: client.region,
      operation,
      method
    })

    /**
     * The call's configuration (the layer's, then the context's override), its request settings
     * (the layer's, then the configuration's `request`) and its body; nothing is sent yet.
     */
    const prepare = (
      method: string,
      providerOptions: LanguageModel.ProviderOptions,
      stream: boolean
    ): Effect.Effect<
      { readonly prepared: RequestBody.PreparedRequest; readonly request: Settings.RequestSettings },
      AiError.AiError
    > =>
      Effect.flatMap(Config.getOrUndefined, (override) => {
        const config = InternalConfig.merge(options.config, override)
        const problem = override === undefined ? undefined : InternalConfig.checkConfig("config", config)
        if (problem !== undefined) {
          return Effect.fail(Errors.malformedInput(method, `Invalid ${problem.field}: ${problem.rule}`))
        }
        const request = callRequest(settings.request, config.request, stream ? "stream" : "invoke")
        if (Either.isLeft(request)) {
          return Effect.fail(Errors.toAiError(target(method, stream ? "stream" : "invoke"))(request.left))
        }
        const spanModel = request.right.routing.inferenceComponentName ?? endpointName
        LanguageModelTelemetry.annotateRequest(providerOptions.span, spanModel, config)
        return Effect.map(
          RequestBody.build(method, settings.body, providerOptions, config, stream),
          (prepared) => ({ prepared, request: request.right })
        )
      })

    const annotateFailure = (span: Span) => (error: AiError.AiError) =>
      Effect.sync(() => LanguageModelTelemetry.annotateError(span, errorType(error)))

    const generateText = (
      providerOptions: LanguageModel.ProviderOptions
    ): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError, IdGenerator.IdGenerator> =>
      Effect.gen(function*() {
        const { prepared, request } = yield* prepare("generateText", providerOptions, false)
        const started = performance.now()
        const result = yield* policyOf(request)(client.invokeEndpoint({
          endpointName,
          body: prepared.body,
          contentType: "application/json",
          accept: "application/json",
          customAttributes: request.customAttributesHeader,
          ...request.routing
        })).pipe(
          Effect.flatMap((response) => Payload.decodeResponse(endpointName, response.body)),
          Effect.tapBoth({
            onSuccess: (result) =>
              Effect.sync(() => {
                const usage = Fields.usageOf(result.meta[0] ?? {})
                metrics.success((performance.now() - started) / 1000, usage?.inputTokens, usage?.outputTokens)
              }),
            onFailure: (error) => Effect.sync(() => metrics.failure((performance.now() - started) / 1000, error._tag))
          }),
          Effect.mapError(Errors.toAiError(target("generateText", "invoke")))
        )
        const parts = yield* makeResponse("generateText", result, prepared)
        for (const part of parts) LanguageModelTelemetry.annotatePart(providerOptions.span, part)
        return parts
      }).pipe(Effect.tapError(annotateFailure(providerOptions.span)))

    const decoderOptions = {
      // Chat containers stream OpenAI chunks (SSE or LMI's JSON lines); a text-generation
      // container TGI's events or LMI's token lines.
      format: settings.body.facts.chat ? "openai" : "auto",
      maxLineBytes: StreamDecoder.DEFAULT_MAX_LINE_BYTES,
      includeRaw: true
    } as const

    const openStream = (
      providerOptions: LanguageModel.ProviderOptions
    ) =>
      Effect.gen(function*() {
        const method = "streamText"
        const toAiError = Errors.toAiError(target(method, "stream"))
        const { prepared, request } = yield* prepare(method, providerOptions, true)
        // A targetModel of the layer's is left out of streams; one given for the call was refused.
        const { targetModel: _notOnTheStreamRoute, ...streamRouting } = request.routing
        const observer = metrics.stream()
        const response = yield* policyOf(request)(client.invokeEndpointWithResponseStream({
          endpointName,
          body: prepared.body,
          contentType: "application/json",
          accept: "application/jsonlines",
          customAttributes: request.customAttributesHeader,
          ...streamRouting
        })).pipe(Effect.tapError((error) => Effect.sync(() => observer.failed(error._tag))), Effect.mapError(toAiError))
        const timeout = request.timeout
        // In the stream's scope, which this opening runs in.
        const bytes = timeout === undefined
          ? response.parts
          : yield* gapTimeoutScoped(response.parts, timeout, () => timedOut(endpointName, Duration.toMillis(timeout)))
        const ids = yield* IdGenerator.IdGenerator
        if (isWholeBody(response.contentType)) {
          return Stream.fromIterableEffect(
            gatherWholeBody(endpointName, bytes).pipe(
              Effect.mapError(toAiError),
              Effect.flatMap((result) => makeResponse(method, result, prepared)),
              Effect.map(WholeAnswer.toStreamParts),
              Effect.provideService(IdGenerator.IdGenerator, ids)
            )
          )
        }
        const converter = new StreamParts({ method, legacyTgiCalls: settings.body.dialect === "tgi", ids })
        const decoded = decodeStream(endpointName, bytes, StreamDecoder.makeStreamDecoder(decoderOptions), observer)
          .pipe(
            Stream.mapError(toAiError),
            Stream.mapChunksEffect((chunk) => {
              const parts = converter.push(chunk)
              return converter.waitingForIds
                ? Effect.map(converter.assignIds(), (opened) => Chunk.unsafeFromArray([...parts, ...opened]))
                : Effect.succeed(Chunk.unsafeFromArray(parts))
            })
          )
        return Stream.concat(decoded, Stream.suspend(() => Stream.fromIterableEffect(converter.end())))
      })

    const streamText = (
      providerOptions: LanguageModel.ProviderOptions
    ): Stream.Stream<Response.StreamPartEncoded, AiError.AiError, IdGenerator.IdGenerator> => {
      const span = providerOptions.span
      return unwrapScoped(Effect.suspend(() => openStream(providerOptions))).pipe(
        Stream.map((part) => {
          LanguageModelTelemetry.annotatePart(span, part)
          return part
        }),
        Stream.tapError(annotateFailure(span))
      )
    }

    return yield* LanguageModel.make({ generateText, streamText })
  })

/**
 * The `LanguageModel` layer over the `SagemakerClient` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * The language model of an endpoint as an `@effect/ai` `Model` (provider `aws.sagemaker`), for
 * `Effect.provide(model)` or `AiModel`-based selection. A `Model`'s layer cannot fail: options
 * that do not validate are a programming error here, a defect naming the field (use {@link layer}
 * to get them as `SagemakerValidationError`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const model = (
  endpointName: string,
  options?: Omit<Options, "endpointName">
): AiModel.Model<typeof PROVIDER, LanguageModel.LanguageModel, SagemakerClient.SagemakerClient> =>
  AiModel.make(PROVIDER, Layer.orDie(layer({ ...options, endpointName })))
