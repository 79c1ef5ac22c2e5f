/**
 * Many prompts against one endpoint, as fast as it allows: `run` takes a `Stream` of items and
 * returns a `Stream` of results, one per item, never failing on an item's error. The concurrency
 * limit adapts to the endpoint's capacity: it grows by one per window of successes and shrinks by
 * 0.7 when SageMaker throttles, the model is not ready or the container is overloaded; such items
 * go back to wait for a slot, without spending their own retries.
 *
 * @example
 * ```ts
 * import { SagemakerBatch } from "effect-sagemaker"
 * import * as Stream from "effect/Stream"
 *
 * const results = SagemakerBatch.run(
 *   Stream.fromIterable([{ id: "a", prompt: "Hello" }, { id: "b", prompt: "Bonjour" }]),
 *   { concurrency: 16, ordered: true }
 * ) // Stream<Result, never, SagemakerGenerator>
 * ```
 *
 * `runAsync` is the same batch over asynchronous inference (the `SagemakerAsync` service): every
 * item is submitted to the endpoint's queue, a `Submitted` event carries its handle as soon as
 * SageMaker accepted it, and a `Result` event follows once its result is in S3. Keep the handles
 * and a batch resumes after a crash without submitting anything twice.
 *
 * @example
 * ```ts
 * import { SagemakerBatch } from "effect-sagemaker"
 * import * as Stream from "effect/Stream"
 *
 * const events = SagemakerBatch.runAsync(
 *   Stream.fromIterable([{ id: "a", prompt: "Hello" }, { id: "b", prompt: "Bonjour" }])
 * ) // Stream<AsyncEvent, never, SagemakerAsync>
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as Limiter from "./internal/batch/limiter.js"
import * as Fields from "./internal/container/fields.js"
import { isCapacitySignal } from "./internal/policy/retryPolicy.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as SagemakerAsync from "./SagemakerAsync.js"
import { SagemakerValidationError } from "./SagemakerError.js"
import type { SagemakerError } from "./SagemakerError.js"
import { type GenerationResult, SagemakerGenerator } from "./SagemakerGenerator.js"

/**
 * One prompt of a batch. Without an `id`, the item's index (from 0) is its id.
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly id?: string | undefined
  readonly prompt: string
  readonly generationKwargs?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What became of an item: its replies and meta, or the tagged error it ended with (encodable with
 * the `SagemakerError` Schema).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | {
    readonly _tag: "Success"
    readonly replies: ReadonlyArray<string>
    readonly meta: ReadonlyArray<Record<string, unknown>>
  }
  | { readonly _tag: "Failure"; readonly error: SagemakerError }

/**
 * One result per item. `attempts` counts every request sent for it, capacity retries included;
 * `latencyMs` is the time from its first request to its outcome.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly id: string
  readonly index: number
  readonly attempts: number
  readonly latencyMs: number
  readonly outcome: Outcome
}

/**
 * Where a batch stands. `retried` counts requests sent again (capacity signals and the items' own
 * retries); `tokens` the input and output tokens the container reported.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly limit: number
  readonly inFlight: number
  readonly done: number
  readonly succeeded: number
  readonly failed: number
  readonly retried: number
  readonly throttled: number
  readonly tokens: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The concurrency limit to start at. Default 16. */
  readonly concurrency?: number | undefined
  /** The limit never grows past this. Default 256. */
  readonly maxConcurrency?: number | undefined
  /** Results in input order (a reorder buffer of at most `maxConcurrency`) rather than as they finish. */
  readonly ordered?: boolean | undefined
  /**
   * Requests per item for its own retryable failures (5xx, timeouts, connection failures), with
   * the default backoff. Capacity retries do not count. Default 3.
   */
  readonly attempts?: number | undefined
  /** Capacity retries per item before it fails with the capacity error. Default 100. */
  readonly maxCapacityRetries?: number | undefined
  /** Called with a snapshot whenever an item finishes, is retried, or the limit changes. */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * The batch's metrics, updated as it runs (for `@effect/opentelemetry` or any Effect metric
 * reader).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = {
  limit: Metric.gauge("sagemaker.batch.concurrency_limit"),
  inFlight: Metric.gauge("sagemaker.batch.in_flight"),
  done: Metric.counter("sagemaker.batch.done", { incremental: true }),
  failed: Metric.counter("sagemaker.batch.failed", { incremental: true }),
  retried: Metric.counter("sagemaker.batch.retried", { incremental: true }),
  tokens: Metric.counter("sagemaker.batch.tokens", { incremental: true })
} as const

/** The batch retries itself: the generator makes one attempt per request. */
const NO_GENERATOR_RETRY = { retry: false } as const

const DEFAULT_CONCURRENCY = 16
const DEFAULT_MAX_CONCURRENCY = 256
const DEFAULT_MAX_CAPACITY_RETRIES = 100
const CAPACITY_BASE_DELAY_MILLIS = 100
const CAPACITY_MAX_DELAY_MILLIS = 20_000

const positiveInteger = (field: string, value: number | undefined): SagemakerValidationError | undefined =>
  value === undefined || (Number.isInteger(value) && value >= 1)
    ? undefined
    : new SagemakerValidationError({ field, rule: `must be a whole number of at least 1, got ${value}` })

const checkOptions = (options: Options): SagemakerValidationError | undefined => {
  const problem = positiveInteger("concurrency", options.concurrency) ??
    positiveInteger("maxConcurrency", options.maxConcurrency) ??
    positiveInteger("attempts", options.attempts) ??
    (options.maxCapacityRetries === undefined || (Number.isInteger(options.maxCapacityRetries) &&
        options.maxCapacityRetries >= 0)
      ? undefined
      : new SagemakerValidationError({
        field: "maxCapacityRetries",
        rule: `must be a whole number, got ${options.maxCapacityRetries}`
      }))
  if (problem !== undefined) return problem
  if ((options.concurrency ?? DEFAULT_CONCURRENCY) > (options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY)) {
    return new SagemakerValidationError({ field: "concurrency", rule: "must not be above maxConcurrency" })
  }
  return undefined
}

const tokensOf = (meta: ReadonlyArray<Record<string, unknown>>): number => {
  let tokens = 0
  for (const entry of meta) {
    const usage = Fields.usageOf(entry)
    tokens += (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0)
  }
  return tokens
}

/** The delay before a capacity retry: jittered exponential backoff, at least the server's `Retry-After`. */
const capacityDelay = (error: SagemakerError, retry: number): Duration.Duration => {
  const backoff = Math.min(CAPACITY_MAX_DELAY_MILLIS, CAPACITY_BASE_DELAY_MILLIS * 2 ** Math.min(retry, 10))
  const jittered = backoff * (0.8 + 0.4 * Math.random())
  const hint = "retryAfterMillis" in error ? error.retryAfterMillis : undefined
  return Duration.millis(Math.min(CAPACITY_MAX_DELAY_MILLIS, Math.max(jittered, hint ?? 0)))
}

/**
 * Runs every item through the `SagemakerGenerator` in the context, so that the same layer,
 * client and options serve single calls and batches. The generator's own retry policy is not
 * used: the batch retries, so that capacity signals shrink the limit instead of being retried
 * blindly. A failed item is a `Failure` result; the stream itself fails only when the options
 * are invalid or the input stream fails. Interrupting the stream aborts the requests in flight.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <E = never, R = never>(
  items: Stream.Stream<Item, E, R>,
  options: Options = {}
): Stream.Stream<Result, E | SagemakerValidationError, SagemakerGenerator | R> =>
  Stream.unwrap(Effect.gen(function*() {
    const invalid = checkOptions(options)
    if (invalid !== undefined) return Stream.fail(invalid) as Stream.Stream<Result, E | SagemakerValidationError, R>
    const generator = yield* SagemakerGenerator
    const maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY
    const attempts = options.attempts ?? RetryPolicy.DEFAULT_ATTEMPTS
    const maxCapacityRetries = options.maxCapacityRetries ?? DEFAULT_MAX_CAPACITY_RETRIES
    const progress = { done: 0, succeeded: 0, failed: 0, retried: 0, throttled: 0, tokens: 0 }
    const limiter = Limiter.make({
      initial: options.concurrency ?? DEFAULT_CONCURRENCY,
      max: maxConcurrency,
      onChange: () => report()
    })
    const report = () => options.onProgress?.({ limit: limiter.limit(), inFlight: limiter.inFlight(), ...progress })
    const record = Effect.suspend(() =>
      Effect.all([
        Metric.set(metrics.limit, limiter.limit()),
        Metric.set(metrics.inFlight, limiter.inFlight())
      ], { discard: true })
    )
    const ownRetries = RetryPolicy.defaultSchedule({ attempts })

    const process = (item: Item, index: number): Effect.Effect<Result> =>
      Effect.gen(function*() {
        const id = item.id ?? String(index)
        const start = yield* Clock.currentTimeMillis
        let sent = 0
        let capacityRetries = 0
        const once = limiter.withSlot(Effect.suspend(() => {
          sent++
          return generator.run(item.prompt, item.generationKwargs, NO_GENERATOR_RETRY)
        }))
        // Capacity signals: shrink the limit, wait, and try again, outside the item's own budget.
        const withCapacityRetries: Effect.Effect<GenerationResult, SagemakerError> = Effect.catchIf(
          once,
          (error) => isCapacitySignal(error) && capacityRetries < maxCapacityRetries,
          (error) =>
            Effect.suspend(() => {
              limiter.onCapacitySignal()
              progress.throttled++
              progress.retried++
              report()
              return Effect.zipRight(
                Effect.all([Metric.increment(metrics.retried), Effect.sleep(capacityDelay(error, capacityRetries++))]),
                withCapacityRetries
              )
            })
        )
        // Every run of it after the first is one of the item's own retries.
        let ownAttempts = 0
        const attempt = Effect.suspend(() => {
          if (ownAttempts++ > 0) {
            progress.retried++
            report()
          }
          return withCapacityRetries
        })
        const outcome = yield* attempt.pipe(
          Effect.retry({ schedule: ownRetries, while: (error) => error.retryable && !isCapacitySignal(error) }),
          Effect.match({
            onFailure: (error): Outcome => ({ _tag: "Failure", error }),
            onSuccess: (result): Outcome => ({ _tag: "Success", replies: result.replies, meta: result.meta })
          })
        )
        const end = yield* Clock.currentTimeMillis
        progress.done++
        if (outcome._tag === "Success") {
          limiter.onSuccess()
          progress.succeeded++
          const tokens = tokensOf(outcome.meta)
          progress.tokens += tokens
          yield* Metric.incrementBy(metrics.tokens, tokens)
        } else {
          progress.failed++
          yield* Metric.increment(metrics.failed)
        }
        yield* Metric.increment(metrics.done)
        yield* record
        report()
        return { id, index, attempts: sent, latencyMs: end - start, outcome }
      })

    return items.pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(([item, index]) => process(item, index), {
        concurrency: maxConcurrency,
        unordered: options.ordered !== true
      })
    )
  }))

/**
 * Whether a result succeeded.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSuccess = (result: Result): result is Result & { readonly outcome: Outcome & { _tag: "Success" } } =>
  result.outcome._tag === "Success"

/**
 * An item of `runAsync`: an {@link Item}, with the `handle` of its earlier submission when it has
 * one. An item with a handle is not submitted again: only its result is awaited, from the handle
 * (its `prompt` and `generationKwargs` are not used). That is how a batch resumes: keep the handle
 * of each `Submitted` event (`Schema.encode(SagemakerAsync.Handle)` makes it JSON), and give it
 * back with its item on the next run.
 *
 * @since 0.1.0
 * @category models
 */
export interface AsyncItem extends Item {
  readonly handle?: SagemakerAsync.Handle | undefined
}

/**
 * SageMaker accepted an item: the handle its result will be collected by. Emitted as soon as the
 * submission returns, before the item's `Result`, so that a caller records it before anything
 * else happens; only an item submitted by this stream has one (a resumed item does not).
 *
 * @since 0.1.0
 * @category models
 */
export interface Submitted {
  readonly _tag: "Submitted"
  readonly id: string
  readonly index: number
  readonly handle: SagemakerAsync.Handle
}

/**
 * An item's result, as `run` emits it. `attempts` counts the submissions sent for the item by this
 * stream: 1, or 0 for an item resumed from its handle (the retries of the async service's own
 * policy are not seen here). `latencyMs` runs from the submission (the handle's `submittedAt`,
 * in an earlier run for a resumed item) to the outcome; for a submission that failed, from its
 * start to its failure.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultEvent extends Result {
  readonly _tag: "Result"
}

/**
 * What `runAsync` emits: per item, a `Submitted` event (unless it was resumed or its submission
 * failed), then exactly one `Result` event.
 *
 * @since 0.1.0
 * @category models
 */
export type AsyncEvent = Submitted | ResultEvent

/**
 * Where an async batch stands. `submitted` counts the items SageMaker accepted, `resumed` those
 * awaited from an earlier handle, `pending` those being awaited now; `tokens` the input and
 * output tokens the container reported.
 *
 * @since 0.1.0
 * @category models
 */
export interface AsyncProgress {
  readonly submitting: number
  readonly submitted: number
  readonly resumed: number
  readonly pending: number
  readonly done: number
  readonly succeeded: number
  readonly failed: number
  readonly tokens: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AsyncOptions {
  /** Submissions in flight at once. Default 16. The results are awaited all at once. */
  readonly submitConcurrency?: number | undefined
  /**
   * How long each result is awaited, from when its item is submitted or resumed. Default: until
   * its handle expires (SageMaker's queue time to live and invocation timeout, plus a minute).
   */
  readonly deadline?: Duration.DurationInput | undefined
  /** Called with a snapshot whenever an item is submitted, resumed or finishes. */
  readonly onProgress?: ((progress: AsyncProgress) => void) | undefined
}

const DEFAULT_SUBMIT_CONCURRENCY = 16

/** What submitting one item came to: accepted, resumed from its handle, or failed (its result). */
type Submission =
  | { readonly _tag: "Accepted"; readonly event: Submitted }
  | { readonly _tag: "Resumed"; readonly id: string; readonly index: number; readonly handle: SagemakerAsync.Handle }
  | { readonly _tag: "Refused"; readonly event: ResultEvent }

/**
 * Runs every item through the `SagemakerAsync` service in the context: submits each (at most
 * `submitConcurrency` at once, with the service's retry policy), emits its `Submitted` event,
 * and awaits its result; every handle is awaited at once, by the service's one poll loop. An item
 * carrying a `handle` is only awaited. A failed submission or result is a `Failure` result; the
 * stream itself fails only when the options are invalid or the input stream fails. Results come
 * in completion order. Interrupting the stream stops the submissions in flight (one that SageMaker
 * accepted but whose answer was not read yet is queued there, without its `Submitted` event).
 *
 * @since 0.1.0
 * @category constructors
 */
export const runAsync = <E = never, R = never>(
  items: Stream.Stream<AsyncItem, E, R>,
  options: AsyncOptions = {}
): Stream.Stream<AsyncEvent, E | SagemakerValidationError, SagemakerAsync.SagemakerAsync | R> =>
  Stream.unwrap(Effect.gen(function*() {
    const invalid = positiveInteger("submitConcurrency", options.submitConcurrency) ??
      (options.deadline === undefined || Duration.decodeUnknown(options.deadline)._tag === "Some"
        ? undefined
        : new SagemakerValidationError({ field: "deadline", rule: "must be a duration" }))
    if (invalid !== undefined) {
      return Stream.fail(invalid) as Stream.Stream<AsyncEvent, E | SagemakerValidationError, R>
    }
    const service = yield* SagemakerAsync.SagemakerAsync
    const awaitOptions = options.deadline === undefined ? undefined : { deadline: options.deadline }
    const progress = {
      submitting: 0,
      submitted: 0,
      resumed: 0,
      pending: 0,
      done: 0,
      succeeded: 0,
      failed: 0,
      tokens: 0
    }
    const report = () => options.onProgress?.({ ...progress })

    const finish = (id: string, index: number, attempts: number, startMillis: number, outcome: Outcome) =>
      Effect.gen(function*() {
        const end = yield* Clock.currentTimeMillis
        progress.done++
        if (outcome._tag === "Success") {
          progress.succeeded++
          const tokens = tokensOf(outcome.meta)
          progress.tokens += tokens
          yield* Metric.incrementBy(metrics.tokens, tokens)
        } else {
          progress.failed++
          yield* Metric.increment(metrics.failed)
        }
        yield* Metric.increment(metrics.done)
        report()
        return { _tag: "Result", id, index, attempts, latencyMs: Math.max(0, end - startMillis), outcome } as const
      })

    const submit = ([item, index]: readonly [AsyncItem, number]): Effect.Effect<Submission> =>
      Effect.gen(function*() {
        const id = item.id ?? String(index)
        if (item.handle !== undefined) {
          progress.resumed++
          progress.pending++
          report()
          return { _tag: "Resumed", id, index, handle: item.handle } as const
        }
        const start = yield* Clock.currentTimeMillis
        progress.submitting++
        report()
        const submitted = yield* Effect.either(service.submit(item.prompt, item.generationKwargs)).pipe(
          Effect.ensuring(Effect.sync(() => progress.submitting--))
        )
        if (submitted._tag === "Left") {
          const event = yield* finish(id, index, 1, start, { _tag: "Failure", error: submitted.left })
          return { _tag: "Refused", event } as const
        }
        progress.submitted++
        progress.pending++
        report()
        return { _tag: "Accepted", event: { _tag: "Submitted", id, index, handle: submitted.right } } as const
      })

    const collect = (id: string, index: number, attempts: number, handle: SagemakerAsync.Handle) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // A resumed item was submitted earlier: its latency counts from then (a handle that is
        // not one, with no date, fails in awaitResult and counts from now).
        const submittedAt = handle.submittedAt instanceof Date ? handle.submittedAt.getTime() : Number.NaN
        const outcome = yield* service.awaitResult(handle, awaitOptions).pipe(
          Effect.match({
            onFailure: (error): Outcome => ({ _tag: "Failure", error }),
            onSuccess: (result): Outcome => ({ _tag: "Success", replies: result.replies, meta: result.meta })
          })
        )
        progress.pending--
        return yield* finish(id, index, attempts, Number.isFinite(submittedAt) ? submittedAt : now, outcome)
      })

    return items.pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(submit, {
        concurrency: options.submitConcurrency ?? DEFAULT_SUBMIT_CONCURRENCY,
        unordered: true
      }),
      // Every awaited result at once: the service's one poll loop serves them all.
      Stream.flatMap((submission): Stream.Stream<AsyncEvent> => {
        switch (submission._tag) {
          case "Refused":
            return Stream.make(submission.event)
          case "Resumed":
            return Stream.fromEffect(collect(submission.id, submission.index, 0, submission.handle))
          case "Accepted": {
            const { handle, id, index } = submission.event
            return Stream.concat(Stream.make(submission.event), Stream.fromEffect(collect(id, index, 1, handle)))
          }
        }
      }, { concurrency: "unbounded" })
    )
  }))
