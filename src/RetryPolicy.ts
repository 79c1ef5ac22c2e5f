/**
 * The retry policy of every service: which failures are tried again, and when. Only errors with
 * `retryable: true` are retried; the AWS SDK itself makes one attempt per call.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { SagemakerError } from "./SagemakerError.js"

/**
 * Options of the default policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 3. */
  readonly attempts?: number | undefined
  /** The first backoff delay; each next one doubles, with jitter. Default 200 millis. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** No single delay is longer, even when `Retry-After` asks for more. Default 20 seconds. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /**
   * Bounds the whole call: every attempt and every delay between attempts (each attempt is still
   * bounded by `timeout` as well). Default: none.
   *
   * - When it runs out during an attempt, the attempt is interrupted (its HTTP request aborted)
   *   and the call fails with `SagemakerTimeoutError`, whose `timeoutMillis` is the deadline.
   * - A retry whose backoff delay would end at or past the deadline is not waited for: the call
   *   fails at once with the last error (the more useful one) instead of sleeping into a timeout.
   * - For `stream`, it bounds opening the stream (the retried part, up to the first event); the
   *   gaps between later events are bounded by `timeout`.
   */
  readonly deadline?: Duration.DurationInput | undefined
}

/**
 * `false` turns retries off; a `Schedule` replaces the policy (it still only sees retryable errors).
 *
 * @since 0.1.0
 * @category models
 */
export type RetryOption = false | RetryPolicy | Schedule.Schedule<unknown, SagemakerError>

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_ATTEMPTS = 3

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BASE_DELAY: Duration.Duration = Duration.millis(200)

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_DELAY: Duration.Duration = Duration.seconds(20)

const retryAfter = (error: SagemakerError): Duration.Duration | undefined =>
  "retryAfterMillis" in error && error.retryAfterMillis !== undefined
    ? Duration.millis(error.retryAfterMillis)
    : undefined

/**
 * Exponential backoff with jitter, at most `attempts - 1` retries, each delay at least the
 * server's `Retry-After` hint and at most `maxDelay`. (`deadline` is applied by the services
 * around the whole call, not by this Schedule.)
 *
 * @since 0.1.0
 * @category constructors
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
