/**
 * The request settings of a service: its options checked once when the layer is built, and each
 * call's own request options checked and merged over them. Everything fails with
 * `SagemakerValidationError` naming the field, before any request.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { RetryOption } from "../../RetryPolicy.js"
import { SagemakerValidationError } from "../../SagemakerError.js"
import * as Routing from "../client/routing.js"
import { checkRetryOption } from "./retryPolicy.js"
import * as Validation from "./validation.js"

/** Custom attributes as given: Haystack's `{ key: value }`. */
export type CustomAttributes = Readonly<Record<string, string | number | boolean>>

/** The request options every service takes, on the layer and per call. */
export interface RequestOptions extends Routing.Routing {
  readonly awsCustomAttributes?: CustomAttributes | null | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: RetryOption | undefined
}

/** Request options, checked. */
export interface RequestSettings {
  readonly routing: Routing.Routing
  readonly customAttributes: CustomAttributes
  /** The header, `k=v;k2=v2`; `undefined` when there are no attributes (no header is sent). */
  readonly customAttributesHeader: string | undefined
  readonly timeout: Duration.Duration | undefined
  readonly retry: RetryOption | undefined
}

const fail = (field: string, rule: string) => Either.left(new SagemakerValidationError({ field, rule }))

const checkTimeout = (
  input: Duration.DurationInput | undefined
): Either.Either<Duration.Duration | undefined, SagemakerValidationError> => {
  if (input === undefined) return Either.right(undefined)
  const decoded = Duration.decodeUnknown(input)
  return Option.isNone(decoded) || Duration.toMillis(decoded.value) <= 0
    ? fail("timeout", "must be a positive duration")
    : Either.right(decoded.value)
}

const checkRouting = (
  routing: Routing.Routing,
  operation: Routing.Operation
): Either.Either<void, SagemakerValidationError> => {
  for (const [name] of Routing.rows) {
    const value = routing[name]
    if (value === undefined) continue
    const problem = Routing.problem(name, operation, value)
    if (problem !== undefined) return fail(name, problem)
  }
  return Either.void
}

/**
 * A layer's request options. Routing is checked by InvokeEndpoint's rules (the generator's: members
 * the stream route does not carry, `targetModel`, are left out of streams), or by `operation`'s.
 */
export const fromOptions = (
  options: RequestOptions,
  operation: Routing.Operation = "invoke"
): Either.Either<RequestSettings, SagemakerValidationError> =>
  Either.gen(function*() {
    const routing = Routing.pick(options)
    yield* checkRouting(routing, operation)
    const customAttributes = options.awsCustomAttributes ?? {}
    const customAttributesHeader = yield* Validation.encodeCustomAttributes(customAttributes)
    const timeout = yield* checkTimeout(options.timeout)
    const retryProblem = checkRetryOption(options.retry)
    if (retryProblem !== undefined) return yield* fail("retry", retryProblem)
    return { routing, customAttributes, customAttributesHeader, timeout, retry: options.retry }
  })

const describe = (value: unknown) => value === null ? "null" : Array.isArray(value) ? "an array" : typeof value

/**
 * A call's request options over the layer's: each routing member and each custom attribute given
 * replaces the layer's, `timeout` and `retry` replace the layer's. The routing is checked by the
 * operation's own rules (a stream cannot open a session, nor name a `targetModel`).
 */
export const forCall = (
  base: RequestSettings,
  request: unknown,
  operation: Routing.Operation
): Either.Either<RequestSettings, SagemakerValidationError> => {
  // Most calls bring no options: no generator for them, this runs on every call.
  if (request == null) {
    return operation === "stream"
      ? Either.map(checkRouting({ sessionId: base.routing.sessionId }, "stream"), () => base)
      : Either.right(base)
  }
  return Either.gen(function*() {
    if (typeof request !== "object" || Array.isArray(request)) {
      return yield* fail("request", `must be an object of request options, got ${describe(request)}`)
    }
    const given = request as RequestOptions
    const own = Routing.pick(given)
    yield* checkRouting(own, operation)
    const routing = { ...base.routing, ...own }
    if (operation === "stream") yield* checkRouting({ sessionId: routing.sessionId }, "stream")
    let customAttributes = base.customAttributes
    let customAttributesHeader = base.customAttributesHeader
    if (given.awsCustomAttributes != null) {
      customAttributes = { ...base.customAttributes, ...given.awsCustomAttributes }
      customAttributesHeader = yield* Validation.encodeCustomAttributes(customAttributes)
    }
    const timeout = given.timeout === undefined ? base.timeout : yield* checkTimeout(given.timeout)
    const retryProblem = checkRetryOption(given.retry)
    if (retryProblem !== undefined) return yield* fail("retry", retryProblem)
    return {
      routing,
      customAttributes,
      customAttributesHeader,
      timeout,
      retry: given.retry === undefined ? base.retry : given.retry
    }
  })
}
