/**
 * The one retry and timeout policy of the library: a per-attempt timeout inside, a Schedule of
 * retries for the retryable errors around it, and an optional deadline around the whole call. The
 * SDK itself runs with `maxAttempts: 1`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { defaultSchedule } from "../../RetryPolicy.js"
import type { SagemakerError, SagemakerTimeoutError } from "../../SagemakerError.js"
import { timedOut } from "../client/errorTable.js"

import type { RetryOption } from "../../RetryPolicy.js"

const describeInput = (u: unknown): string => typeof u === "string" ? `"${u}"` : String(u)

/** A duration option, or why it is not one. */
const checkDuration = (
  name: string,
  input: Duration.DurationInput | undefined,
  rule: { readonly positive: boolean; readonly finite: boolean }
): string | undefined => {
  if (input === undefined) return undefined
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return `${name} must be a duration, got ${describeInput(input)}`
  if (rule.finite && !Duration.isFinite(decoded.value)) {
    return `${name} must be a finite duration, got ${describeInput(input)}`
  }
  if (rule.positive && !Duration.greaterThan(decoded.value, Duration.zero)) {
    return `${name} must be a positive duration, got ${describeInput(input)}`
  }
  return undefined
}

/** Checks the policy's numbers; returns a rule that is broken, if any. */
export const checkRetryOption = (option: RetryOption | undefined): string | undefined => {
  if (option === undefined || option === false || Schedule.isSchedule(option)) return undefined
  const attempts = option.attempts
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) {
    return `attempts must be a whole number of at least 1, got ${attempts}`
  }
  return checkDuration("baseDelay", option.baseDelay, { positive: false, finite: true }) ??
    checkDuration("maxDelay", option.maxDelay, { positive: false, finite: false }) ??
    checkDuration("deadline", option.deadline, { positive: true, finite: false })
}

/**
 * `Effect.retry(attempt, { schedule, while })`, with the retry machinery (a schedule driver and
 * its state) set up only once an attempt failed with a retryable error: most calls succeed at
 * once, and building it up front costs more than the rest of the Effect around a call. The
 * schedule sees the same failures, in the same order, as under `Effect.retry`.
 */
const retryAfterFirstFailure = <A, E, R>(
  attempt: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<unknown, E>,
  isRetryable: (error: E) => boolean
): Effect.Effect<A, E, R> =>
  Effect.catchIf(attempt, isRetryable, (first) => {
    // Replays the first failure to the schedule, then runs the attempt again.
    let replay: Option.Option<E> = Option.some(first)
    const again = Effect.suspend(() => {
      if (Option.isNone(replay)) return attempt
      const error = replay.value
      replay = Option.none()
      return Effect.fail(error)
    })
    return Effect.retry(again, { schedule, while: isRetryable })
  })

/**
 * Applies the per-attempt timeout, the retry policy and the deadline to one call. The options must
 * have passed {@link checkRetryOption}.
 */
export const withPolicy = (options: {
  readonly endpointName: string
  readonly timeout: Duration.Duration | undefined
  readonly retry: RetryOption | undefined
}) => {
  const retry = options.retry
  const schedule = retry === false ? undefined : Schedule.isSchedule(retry) ? retry : defaultSchedule(retry)
  const deadline = retry === false || retry === undefined || Schedule.isSchedule(retry) || retry.deadline === undefined
    ? undefined
    : Duration.decode(retry.deadline)
  const timeout = options.timeout
  const onTimeout = (after: Duration.Duration) => () => timedOut(options.endpointName, Duration.toMillis(after))
  const isRetryable = (error: SagemakerError) => error.retryable

  return <A, E extends SagemakerError, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<
    A,
    E | SagemakerTimeoutError,
    R
  > => {
    const bounded = timeout === undefined
      ? attempt
      : attempt.pipe(Effect.timeoutFail({ duration: timeout, onTimeout: onTimeout(timeout) }))
    if (schedule === undefined) return bounded
    if (deadline === undefined) return retryAfterFirstFailure(bounded, schedule, isRetryable)
    return Effect.flatMap(Clock.currentTimeMillis, (start) => {
      const end = start + Duration.toMillis(deadline)
      // Retry only when the next attempt can start before the deadline.
      const withinDeadline = Schedule.delays(schedule).pipe(
        Schedule.checkEffect((_, delay) =>
          Effect.map(Clock.currentTimeMillis, (now) => now + Duration.toMillis(delay) < end)
        )
      )
      return retryAfterFirstFailure(bounded, withinDeadline, isRetryable)
    }).pipe(Effect.timeoutFail({ duration: deadline, onTimeout: onTimeout(deadline) }))
  }
}

/**
 * Whether a failure says the endpoint is at capacity: SageMaker throttled, the model is not ready,
 * the service is unavailable, or the container relayed its own 429 or 503. A batch shrinks its
 * concurrency on these instead of spending an item's retries.
 */
export const isCapacitySignal = (error: SagemakerError): boolean => {
  switch (error._tag) {
    case "SagemakerThrottlingError":
    case "SagemakerNotReadyError":
      return true
    case "SagemakerInferenceError":
      return error.statusCode === 503 ||
        (error.errorCode === "ModelError" && (error.originalStatusCode === 429 || error.originalStatusCode === 503))
    default:
      return false
  }
}

/**
 * The policy of each call of a service: the layer's, built once, unless the call brings its own
 * timeout or retry (then one of its own).
 */
export const policyPerCall = (
  endpointName: string,
  layer: { readonly timeout: Duration.Duration | undefined; readonly retry: RetryOption | undefined }
) => {
  const layerPolicy = withPolicy({ endpointName, timeout: layer.timeout, retry: layer.retry })
  return (call: { readonly timeout: Duration.Duration | undefined; readonly retry: RetryOption | undefined }) =>
    call === layer || (call.timeout === layer.timeout && call.retry === layer.retry)
      ? layerPolicy
      : withPolicy({ endpointName, timeout: call.timeout, retry: call.retry })
}
