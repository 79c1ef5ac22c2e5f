/**
 * Client-side validation (the SDK does none, PROTOCOL.md §2.4): every rule of the SageMaker API
 * reference that we can check before a request, each failing with a `SagemakerValidationError`
 * that names the field.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import { SagemakerValidationError } from "../../SagemakerError.js"

/** InvokeEndpoint's request (and response) body limit. */
export const MAX_BODY_BYTES = 6_291_456

const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/
const COMPONENT_PATTERN = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/
const SESSION_PATTERN = /^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/
/** `\A\S[\p{Print}]*\z`, read as: printable ASCII, not starting with a space. */
const PRINTABLE_ID_PATTERN = /^[\x21-\x7e][\x20-\x7e]*$/
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

type Check = Either.Either<void, SagemakerValidationError>

const fail = (field: string, rule: string): Check => Either.left(new SagemakerValidationError({ field, rule }))
const ok: Check = Either.void

const checkPattern = (field: string, value: string, maxLength: number, pattern: RegExp, rule: string): Check => {
  if (value.length === 0) return fail(field, "must not be empty")
  if (value.length > maxLength) return fail(field, `must be at most ${maxLength} characters, got ${value.length}`)
  return pattern.test(value) ? ok : fail(field, rule)
}

/** The endpoint name (Haystack's `model`): the SageMaker resource-name rule. */
export const checkEndpointName = (field: string, value: unknown): Check =>
  typeof value !== "string"
    ? fail(field, "must be a string (the SageMaker endpoint name)")
    : checkPattern(
      field,
      value,
      63,
      NAME_PATTERN,
      `'${value}' must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ (letters, digits and single hyphens inside)`
    )

/** The optional routing headers of InvokeEndpoint (PROTOCOL.md §2.1). */
export const checkRoutingOption = (
  field:
    | "targetModel"
    | "targetVariant"
    | "targetContainerHostname"
    | "inferenceComponentName"
    | "inferenceId"
    | "sessionId",
  value: string
): Check => {
  switch (field) {
    case "targetVariant":
    case "targetContainerHostname":
      return checkPattern(field, value, 63, NAME_PATTERN, "must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    case "inferenceComponentName":
      return checkPattern(field, value, 63, COMPONENT_PATTERN, "must match ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
    case "sessionId":
      return checkPattern(
        field,
        value,
        256,
        SESSION_PATTERN,
        "must be NEW_SESSION or match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
      )
    case "targetModel":
      return checkPattern(
        field,
        value,
        1024,
        PRINTABLE_ID_PATTERN,
        "must be printable ASCII, not starting with a space"
      )
    case "inferenceId":
      return checkPattern(field, value, 64, PRINTABLE_ID_PATTERN, "must be printable ASCII, not starting with a space")
  }
}

const describeType = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value

/**
 * Haystack's `k=v;k2=v2` custom-attributes header, validated. Booleans are `true`/`false`, numbers
 * JavaScript's `String(n)`; objects and arrays are refused (Haystack would send Python reprs).
 * Returns `undefined` when there are no attributes: no header is sent then.
 */
export const encodeCustomAttributes = (
  attributes: Readonly<Record<string, unknown>>
): Either.Either<string | undefined, SagemakerValidationError> => {
  const parts: Array<string> = []
  for (const [key, value] of Object.entries(attributes)) {
    const field = `awsCustomAttributes.${key}`
    if (key.length === 0) return Either.left(new SagemakerValidationError({ field, rule: "keys must not be empty" }))
    let encoded: string
    if (typeof value === "string") encoded = value
    else if (typeof value === "boolean") encoded = value ? "true" : "false"
    else if (typeof value === "number" && Number.isFinite(value)) encoded = String(value)
    else {
      return Either.left(
        new SagemakerValidationError({
          field,
          rule: `values must be strings, finite numbers or booleans, got ${describeType(value)}`
        })
      )
    }
    for (const [what, text] of [["key", key], ["value", encoded]] as const) {
      if (/[;=]/.test(text)) {
        return Either.left(new SagemakerValidationError({ field, rule: `the ${what} must not contain ';' or '='` }))
      }
      if (!PRINTABLE_ASCII.test(text)) {
        return Either.left(
          new SagemakerValidationError({ field, rule: `the ${what} must be printable US-ASCII` })
        )
      }
    }
    parts.push(`${key}=${encoded}`)
  }
  if (parts.length === 0) return Either.right(undefined)
  const header = parts.join(";")
  return header.length > 1024
    ? Either.left(
      new SagemakerValidationError({
        field: "awsCustomAttributes",
        rule: `the encoded header must be at most 1024 characters, got ${header.length}`
      })
    )
    : Either.right(header)
}

/**
 * Generation kwargs must be JSON: plain objects, arrays, strings, finite numbers, booleans and
 * null. `undefined` object properties are left out, as `JSON.stringify` does; anything else that
 * `JSON.stringify` would drop or mangle silently (functions, NaN, class instances, cycles) is an
 * error naming its path.
 */
export const checkJson = (field: string, value: unknown): Check => {
  const seen = new Set<object>()
  const visit = (path: string, node: unknown, inArray: boolean): string | undefined => {
    if (node === null || typeof node === "string" || typeof node === "boolean") return undefined
    if (typeof node === "number") return Number.isFinite(node) ? undefined : `${path} is ${node}, not a JSON number`
    if (node === undefined) return inArray ? `${path} is undefined, not JSON` : undefined
    if (typeof node !== "object") {
      return `${path} is ${typeof node === "bigint" ? "a bigint" : `a ${typeof node}`}, not JSON`
    }
    if (seen.has(node)) return `${path} refers back to itself (a cycle)`
    seen.add(node)
    try {
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const problem = visit(`${path}[${i}]`, node[i], true)
          if (problem !== undefined) return problem
        }
        return undefined
      }
      const proto = Object.getPrototypeOf(node)
      if (proto !== Object.prototype && proto !== null) {
        return `${path} is a ${node.constructor?.name ?? "class instance"}, not a plain JSON object`
      }
      for (const [key, child] of Object.entries(node)) {
        const problem = visit(`${path}.${key}`, child, false)
        if (problem !== undefined) return problem
      }
      return undefined
    } finally {
      seen.delete(node)
    }
  }
  const problem = visit(field, value, false)
  return problem === undefined ? ok : fail(field, problem)
}

/** Generation kwargs must be a JSON object. */
export const checkKwargs = (field: string, value: unknown): Check =>
  Predicate.isRecord(value) && !Array.isArray(value)
    ? checkJson(field, value)
    : fail(field, `must be an object, got ${describeType(value)}`)

/** InvokeEndpoint refuses bodies over 6 MiB; say so before sending them. */
export const checkBodySize = (bytes: Uint8Array): Check =>
  bytes.byteLength > MAX_BODY_BYTES
    ? fail("body", `the request body is ${bytes.byteLength} bytes; SageMaker accepts at most ${MAX_BODY_BYTES}`)
    : ok
