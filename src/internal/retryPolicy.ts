/**
 * The one retry and timeout policy of the library: a per-attempt timeout inside, a Schedule of
 * retries for the retryable errors outside. The SDK itself runs with `maxAttempts: 1`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type SagemakerError, SagemakerTimeoutError } from "../SagemakerError.js"

/**
 * Options of the default policy.
 *
 * @since 0.1.0
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 3. */
  readonly attempts?: number | undefined
  /** The first backoff delay; each next one doubles, with jitter. Default 200 millis. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** No single delay is longer, even when `Retry-After` asks for more. Default 20 seconds. */
  readonly maxDelay?: Duration.DurationInput | undefined
}

/**
 * `false` turns retries off; a `Schedule` replaces the policy (it still only sees retryable errors).
 *
 * @since 0.1.0
 */
export type RetryOption = false | RetryPolicy | Schedule.Schedule<unknown, SagemakerError>

export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BASE_DELAY = Duration.millis(200)
export const DEFAULT_MAX_DELAY = Duration.seconds(20)

const retryAfter = (error: SagemakerError): Duration.Duration | undefined =>
  "retryAfterMillis" in error && error.retryAfterMillis !== undefined
    ? Duration.millis(error.retryAfterMillis)
    : undefined

/**
 * Exponential backoff with jitter, at most `attempts - 1` retries, each delay at least the
 * server's `Retry-After` hint and at most `maxDelay`.
 */
export const defaultSchedule = (policy: RetryPolicy = {}): Schedule.Schedule<unknown, SagemakerError> => {
  const attempts = policy.attempts ?? DEFAULT_ATTEMPTS
  const maxDelay = Duration.decode(policy.maxDelay ?? DEFAULT_MAX_DELAY)
  return Schedule.exponential(policy.baseDelay ?? DEFAULT_BASE_DELAY, 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(Math.max(0, attempts - 1))),
    Schedule.intersect(Schedule.identity<SagemakerError>()),
    Schedule.modifyDelay(([, error], delay) => {
      const hint = retryAfter(error)
      return Duration.min(hint === undefined ? delay : Duration.max(delay, hint), maxDelay)
    })
  )
}

/** Checks the policy's numbers; returns a rule that is broken, if any. */
export const checkRetryOption = (option: RetryOption | undefined): string | undefined => {
  if (option === undefined || option === false || Schedule.isSchedule(option)) return undefined
  const attempts = option.attempts
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) {
    return `attempts must be a whole number of at least 1, got ${attempts}`
  }
  return undefined
}

/** Applies the per-attempt timeout and the retry policy to one attempt. */
export const withPolicy = (options: {
  readonly endpointName: string
  readonly timeout: Duration.Duration | undefined
  readonly retry: RetryOption | undefined
}) => {
  const schedule = options.retry === false
    ? undefined
    : Schedule.isSchedule(options.retry)
    ? options.retry
    : defaultSchedule(options.retry)
  const timeout = options.timeout
  return <A, E extends SagemakerError, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<
    A,
    E | SagemakerTimeoutError,
    R
  > => {
    const bounded = timeout === undefined ? attempt : attempt.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new SagemakerTimeoutError({ endpointName: options.endpointName, timeoutMillis: Duration.toMillis(timeout) })
      })
    )
    return schedule === undefined ? bounded : Effect.retry(bounded, { schedule, while: (error) => error.retryable })
  }
}
