/**
 * Client-side validation (the SDK does none, docs/protocol.md §2.4): the rules of the SageMaker API
 * reference for the endpoint name, custom attributes, kwargs and the body, each failing with a
 * `SagemakerValidationError` that names the field. The routing members' rules are in the routing
 * table.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import { SagemakerValidationError } from "../../SagemakerError.js"
import {
  MAX_BODY_BYTES,
  MAX_CUSTOM_ATTRIBUTES_LENGTH,
  MAX_RESOURCE_NAME_LENGTH,
  RESOURCE_NAME_PATTERN
} from "../limits.js"

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
      MAX_RESOURCE_NAME_LENGTH,
      RESOURCE_NAME_PATTERN,
      `'${value}' must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ (letters, digits and single hyphens inside)`
    )

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
  return header.length > MAX_CUSTOM_ATTRIBUTES_LENGTH
    ? Either.left(
      new SagemakerValidationError({
        field: "awsCustomAttributes",
        rule: `the encoded header must be at most ${MAX_CUSTOM_ATTRIBUTES_LENGTH} characters, got ${header.length}`
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

/** InvokeEndpoint refuses bodies over 6 MiB (async inference over 1 GB); say so before sending them. */
export const checkBodySize = (bytes: Uint8Array, maxBytes: number = MAX_BODY_BYTES): Check =>
  bytes.byteLength > maxBytes
    ? fail("body", `the request body is ${bytes.byteLength} bytes; SageMaker accepts at most ${maxBytes}`)
    : ok
