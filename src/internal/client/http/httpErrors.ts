/**
 * The HTTP transport's adapter to the error table: reads a raw SageMaker Runtime error response by
 * the rules the AWS SDK applies (docs/protocol.md §4.1) and states it as a `RequestFailure` for
 * `sdkErrors.classify`, which decides the tag. Also the response metadata the SDK reports
 * (`$metadata.requestId`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Predicate from "effect/Predicate"
import type { RequestFailure, ResponseHeaders } from "../errorTable.js"

const utf8 = new TextDecoder()

/** Header names are lower case here (platform `Headers`, node's `IncomingMessage.headers`). */
const header = (headers: ResponseHeaders, name: string): string | undefined => headers[name]

/** The SDK's `$metadata.requestId` of a response it parsed. */
export const requestIdOf = (headers: ResponseHeaders): string | undefined =>
  header(headers, "x-amzn-requestid") ?? header(headers, "x-amzn-request-id") ?? header(headers, "x-amz-request-id")

/** The SDK's `$metadata.requestId` of a response it could not parse: the first `x-…-request-id` header. */
const unreadableRequestId = (headers: ResponseHeaders): string | undefined =>
  Object.entries(headers).find(([name]) => /^x-[\w-]+-request-?id$/.test(name))?.[1]

/** `ModelError:http://…`, `a,b`, `ns#ModelError` → `ModelError` (cut at `,`, then `:`, then after `#`). */
export const sanitizeErrorCode = (raw: string): string => {
  let value = raw
  if (value.includes(",")) value = value.split(",")[0]!
  if (value.includes(":")) value = value.split(":")[0]!
  if (value.includes("#")) value = value.split("#")[1]!
  return value
}

/**
 * A code value as the SDK reads it: a string, or a number it prints. Any other value (`null`, an
 * object) makes the SDK's sanitizer throw, so the response counts as unreadable (`{ unreadable }`).
 */
const codeValue = (u: unknown): string | { readonly unreadable: string } =>
  typeof u === "string"
    ? sanitizeErrorCode(u)
    : typeof u === "number"
    ? String(u)
    : { unreadable: `its error code is ${u === null ? "null" : typeof u}, not a string` }

/** The error type: header `x-amzn-errortype`, else body `code` (any case), else `__type`. */
const errorCode = (
  headers: ResponseHeaders,
  body: Readonly<Record<string, unknown>>
): string | { readonly unreadable: string } | undefined => {
  const fromHeader = header(headers, "x-amzn-errortype")
  if (fromHeader !== undefined) return sanitizeErrorCode(fromHeader)
  const codeKey = Object.keys(body).find((key) => key.toLowerCase() === "code")
  if (codeKey !== undefined && body[codeKey] !== undefined) return codeValue(body[codeKey])
  return body.__type === undefined ? undefined : codeValue(body.__type)
}

const stringMember = (body: Readonly<Record<string, unknown>>, key: string): string | undefined =>
  typeof body[key] === "string" ? body[key] : undefined

const numberMember = (body: Readonly<Record<string, unknown>>, key: string): number | undefined => {
  const value = body[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/** A response that arrived but could not be read, e.g. its body was cut short. */
export const unreadableResponse = (
  statusCode: number,
  headers: ResponseHeaders,
  description: string
): RequestFailure => ({
  _tag: "UnreadableResponse",
  statusCode,
  requestId: unreadableRequestId(headers),
  headers,
  description
})

/**
 * An error response (status ≥ 300) as the SDK reads it: the whole body parsed as JSON (an empty
 * body is `{}`; a body that is not JSON is unreadable, as the SDK's `SyntaxError` is), the error
 * type found by docs/protocol.md §4.1, the message from `message` ?? `Message` ?? `"UnknownError"`,
 * and the ModelError members by their exact names.
 */
export const errorResponse = (statusCode: number, headers: ResponseHeaders, body: Uint8Array): RequestFailure => {
  let parsed: unknown = {}
  if (body.length > 0) {
    try {
      parsed = JSON.parse(utf8.decode(body))
    } catch (error) {
      return unreadableResponse(statusCode, headers, error instanceof Error ? error.message : String(error))
    }
  }
  // JSON that is not an object (`null`, `"text"`, `[]`, `42`) carries no members: read as `{}`.
  const record: Readonly<Record<string, unknown>> = Predicate.isRecord(parsed) ? parsed : {}
  const code = errorCode(headers, record) ?? "Unknown"
  if (typeof code !== "string") return unreadableResponse(statusCode, headers, code.unreadable)
  const message = record.message ?? record.Message
  return {
    _tag: "ErrorResponse",
    code,
    message: message === undefined || message === null ? "UnknownError" : String(message),
    statusCode,
    requestId: requestIdOf(headers),
    headers,
    originalStatusCode: numberMember(record, "OriginalStatusCode"),
    originalMessage: stringMember(record, "OriginalMessage"),
    logStreamArn: stringMember(record, "LogStreamArn"),
    detail: stringMember(record, "ErrorCode")
  }
}
