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
import { type SagemakerError, SagemakerTimeoutError } from "../../SagemakerError.js"

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
 * server's `Retry-After` hint and at most `maxDelay`. (`deadline` is applied by the generator
 * around the whole call, not by this Schedule.)
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
  const timedOut = (after: Duration.Duration) => () =>
    new SagemakerTimeoutError({ endpointName: options.endpointName, timeoutMillis: Duration.toMillis(after) })
  const isRetryable = (error: SagemakerError) => error.retryable

  return <A, E extends SagemakerError, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<
    A,
    E | SagemakerTimeoutError,
    R
  > => {
    const bounded = timeout === undefined
      ? attempt
      : attempt.pipe(Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(timeout) }))
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
    }).pipe(Effect.timeoutFail({ duration: deadline, onTimeout: timedOut(deadline) }))
  }
}
