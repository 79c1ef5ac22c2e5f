/**
 * `@effect/ai`'s `EmbeddingModel` on a SageMaker embeddings endpoint, over the shared
 * `SagemakerClient`. Three dialects, for the common containers:
 *
 * | dialect | request | response |
 * | --- | --- | --- |
 * | `tei` (default) | `{"inputs": [...]}` | `[[...], ...]` |
 * | `openai` (vLLM) | `{"input": [...], "model"?}` | `{"data": [{"index", "embedding"}]}` |
 * | `jumpstart` | `{"text_inputs": [...]}` | `{"embedding": [[...], ...]}` |
 *
 * Inputs are sent in batches of at most `maxBatchSize` (default 32), each split further so that
 * its body stays under SageMaker's 6 MiB limit. Not in the root barrel: import
 * `effect-sagemaker/SagemakerEmbeddingModel` (it needs `@effect/ai`).
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as AiModel from "@effect/ai/Model"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import { malformedInput, malformedOutput, toAiError } from "./internal/languageModel/errors.js"
import { MAX_BODY_BYTES } from "./internal/limits.js"
import { withPolicy } from "./internal/policy/retryPolicy.js"
import * as Settings from "./internal/policy/settings.js"
import * as Validation from "./internal/policy/validation.js"
import * as Metrics from "./internal/telemetry/metrics.js"
import * as SagemakerClient from "./SagemakerClient.js"
import { SagemakerValidationError } from "./SagemakerError.js"
import type * as SagemakerGenerator from "./SagemakerGenerator.js"

/**
 * The request and response body of the container behind the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type Dialect = "tei" | "openai" | "jumpstart"

/**
 * @since 0.1.0
 * @category constants
 */
export const dialects: ReadonlyArray<Dialect> = ["tei", "openai", "jumpstart"]

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends SagemakerGenerator.RequestOptions {
  /** The SageMaker endpoint name. */
  readonly endpointName: string
  /** Default `tei`. */
  readonly dialect?: Dialect | undefined
  /** The most inputs sent in one request. Default 32. */
  readonly maxBatchSize?: number | undefined
  /** `openai` only: the `model` field of the request (vLLM checks it against its served name). */
  readonly model?: string | undefined
}

const DEFAULT_MAX_BATCH_SIZE = 32

/** Named in this provider's `AiError`s. */
const MODULE = "SagemakerEmbeddingModel"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const requestBody = (dialect: Dialect, inputs: ReadonlyArray<string>, model: string | undefined): unknown => {
  switch (dialect) {
    case "tei":
      return { inputs }
    case "openai":
      return model === undefined ? { input: inputs } : { input: inputs, model }
    case "jumpstart":
      return { text_inputs: inputs }
  }
}

const isVector = (u: unknown): u is Array<number> =>
  Array.isArray(u) && u.length > 0 && u.every((n) => typeof n === "number" && Number.isFinite(n))

/** The vectors of a response body, in input order, or why the body is not one of the dialect's. */
const vectorsOf = (
  dialect: Dialect,
  body: unknown,
  count: number
): Either.Either<{ readonly vectors: Array<Array<number>>; readonly inputTokens: number | undefined }, string> => {
  let vectors: Array<Array<number>> | undefined
  let inputTokens: number | undefined
  if (dialect === "tei") {
    if (Array.isArray(body) && body.every(isVector)) vectors = body
  } else if (dialect === "openai") {
    if (Predicate.isRecord(body) && Array.isArray(body.data)) {
      const ordered: Array<Array<number>> = []
      for (const [position, entry] of body.data.entries()) {
        if (!Predicate.isRecord(entry) || !isVector(entry.embedding)) {
          return Either.left("a data[] entry has no embedding")
        }
        ordered[typeof entry.index === "number" ? entry.index : position] = entry.embedding
      }
      vectors = ordered
      const usage = body.usage
      if (Predicate.isRecord(usage) && typeof usage.prompt_tokens === "number") inputTokens = usage.prompt_tokens
    }
  } else if (Predicate.isRecord(body)) {
    const embedding = body.embedding
    if (Array.isArray(embedding) && embedding.every(isVector)) vectors = embedding
    else if (isVector(embedding) && count === 1) vectors = [embedding]
  }
  if (vectors === undefined) return Either.left(`the body is not an embeddings response of the ${dialect} dialect`)
  if (vectors.length !== count || vectors.some((vector) => vector === undefined)) {
    return Either.left(`${count} inputs were sent, ${vectors.length} vectors came back`)
  }
  return Either.right({ vectors, inputTokens })
}

const validationError = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

/**
 * The embedding model over the `SagemakerClient` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<EmbeddingModel.Service, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Effect.gen(function*() {
    yield* Validation.checkEndpointName("endpointName", options.endpointName)
    const dialect = options.dialect ?? "tei"
    if (!dialects.includes(dialect)) {
      return yield* validationError("dialect", `must be one of ${dialects.join(", ")}, got ${String(dialect)}`)
    }
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE
    if (!(Number.isInteger(maxBatchSize) && maxBatchSize >= 1)) {
      return yield* validationError("maxBatchSize", `must be a whole number of at least 1, got ${maxBatchSize}`)
    }
    const settings = yield* Settings.fromOptions(options)
    const client = yield* SagemakerClient.SagemakerClient
    const endpointName = options.endpointName
    const policy = withPolicy({ endpointName, timeout: settings.timeout, retry: settings.retry })
    const target = {
      endpointName,
      region: client.region,
      operation: "invoke",
      method: "embedMany",
      module: MODULE
    } as const
    const metrics = Metrics.recorder("embeddings", endpointName)

    /** One request; a batch whose body is over the limit is split in two, down to single inputs. */
    const send = (inputs: ReadonlyArray<string>): Effect.Effect<Array<Array<number>>, AiError.AiError> => {
      const body = encoder.encode(JSON.stringify(requestBody(dialect, inputs, options.model)))
      if (body.length > MAX_BODY_BYTES) {
        if (inputs.length === 1) {
          return Effect.fail(malformedInput(
            "embedMany",
            `one input makes a ${body.length}-byte request, over SageMaker's limit of ${MAX_BODY_BYTES} bytes`,
            MODULE
          ))
        }
        const half = Math.ceil(inputs.length / 2)
        return Effect.map(
          Effect.all([send(inputs.slice(0, half)), send(inputs.slice(half))]),
          ([first, second]) => [...first, ...second]
        )
      }
      const started = performance.now()
      return policy(client.invokeEndpoint({
        endpointName,
        body,
        contentType: "application/json",
        accept: "application/json",
        customAttributes: settings.customAttributesHeader,
        ...settings.routing
      })).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => metrics.failure((performance.now() - started) / 1000, error._tag))
        ),
        Effect.mapError(toAiError(target)),
        Effect.flatMap((response) => {
          let json: unknown
          try {
            json = JSON.parse(decoder.decode(response.body))
          } catch (cause) {
            return Effect.fail(malformedOutput("embedMany", "the embeddings response is not JSON", cause, MODULE))
          }
          return Either.match(vectorsOf(dialect, json, inputs.length), {
            onLeft: (problem) => Effect.fail(malformedOutput("embedMany", problem, undefined, MODULE)),
            onRight: ({ inputTokens, vectors }) => {
              metrics.success((performance.now() - started) / 1000, inputTokens, undefined)
              return Effect.succeed(vectors)
            }
          })
        })
      )
    }

    return yield* EmbeddingModel.make({
      maxBatchSize,
      embedMany: (inputs) =>
        Effect.map(send(inputs), (vectors) => vectors.map((embeddings, index) => ({ index, embeddings })))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<EmbeddingModel.EmbeddingModel, SagemakerValidationError, SagemakerClient.SagemakerClient> =>
  Layer.effect(EmbeddingModel.EmbeddingModel, make(options))

/**
 * The embedding model as an `AiModel`, provided with a `SagemakerClient`. `AiModel` layers cannot
 * fail: invalid options are a defect here (use {@link layer} to handle them as errors).
 *
 * @since 0.1.0
 * @category constructors
 */
export const model = (
  endpointName: string,
  options?: Omit<Options, "endpointName">
): AiModel.Model<"aws.sagemaker", EmbeddingModel.EmbeddingModel, SagemakerClient.SagemakerClient> =>
  AiModel.make("aws.sagemaker", Layer.orDie(layer({ ...options, endpointName })))
