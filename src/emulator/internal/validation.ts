/**
 * Routing and request validation (docs/protocol.md §2–3). The SDK validates nothing client-side, so the
 * emulator applies the service model's constraints and reports them in the Coral
 * `N validation error(s) detected: …` format. It keeps its own copy of the constraints, apart
 * from the client's routing table: the emulator is the oracle the client is tested against.
 *
 * @since 0.1.0
 * @internal
 */
import type { Operation } from "../SagemakerEmulator.js"

/** @internal */
export interface Route {
  readonly operation: Operation
  /** Decoded path label; undefined when the path matched no route. */
  readonly endpointName: string | undefined
}

const routePattern = /^(?:.*)\/endpoints\/([^/]*)\/(invocations|invocations-response-stream|async-invocations)$/

/** Matches `POST [prefix]/endpoints/{name}/<operation>`. @internal */
export const parseRoute = (method: string, path: string): Route => {
  const m = routePattern.exec(path)
  if (m === null || method !== "POST") return { operation: "unknown", endpointName: undefined }
  const raw = m[1] ?? ""
  let endpointName: string
  try {
    endpointName = decodeURIComponent(raw)
  } catch {
    // A malformed escape is still a name; the pattern check rejects it.
    endpointName = raw
  }
  const operation: Operation = m[2] === "invocations"
    ? "invoke"
    : m[2] === "invocations-response-stream"
    ? "stream"
    : "async"
  return { operation, endpointName }
}

interface Pattern {
  readonly regex: RegExp
  /** As printed by the service (Java regex syntax). */
  readonly text: string
}

interface Constraint {
  readonly member: string
  readonly header: string
  readonly min?: number
  readonly max?: number
  readonly pattern?: Pattern
  readonly sensitive?: boolean
  readonly range?: readonly [number, number]
}

const ascii: Pattern = { regex: /^\p{ASCII}*$/u, text: "\\p{ASCII}*" }
// Documented as "visible US-ASCII"; spaces inside a field value are allowed by RFC 7230.
const visibleAscii: Pattern = { regex: /^[\x20-\x7e]*$/, text: "\\p{ASCII}*" }
const printable: Pattern = { regex: /^\S[\x20-\x7e]*$/, text: "\\A\\S[\\p{Print}]*\\z" }
const name: Pattern = { regex: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, text: "^[a-zA-Z0-9](-*[a-zA-Z0-9])*" }
const componentName: Pattern = {
  regex: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
  text: "^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$"
}
const invokeSession: Pattern = {
  regex: /^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
  text: "^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
}
const streamSession: Pattern = { regex: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, text: "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$" }
const anything: Pattern = { regex: /^.*$/s, text: ".*" }

const customAttributes: Constraint = {
  member: "customAttributes",
  header: "x-amzn-sagemaker-custom-attributes",
  max: 1024,
  pattern: visibleAscii,
  sensitive: true
}
const inferenceId: Constraint = {
  member: "inferenceId",
  header: "x-amzn-sagemaker-inference-id",
  min: 1,
  max: 64,
  pattern: printable
}
const targetVariant: Constraint = {
  member: "targetVariant",
  header: "x-amzn-sagemaker-target-variant",
  max: 63,
  pattern: name
}
const targetContainerHostname: Constraint = {
  member: "targetContainerHostname",
  header: "x-amzn-sagemaker-target-container-hostname",
  max: 63,
  pattern: name
}
const inferenceComponentName: Constraint = {
  member: "inferenceComponentName",
  header: "x-amzn-sagemaker-inference-component",
  max: 63,
  pattern: componentName
}
const prefixAwareId: Constraint = {
  member: "prefixAwareId",
  header: "x-amzn-sagemaker-prefix-aware-id",
  min: 1,
  max: 64,
  pattern: printable
}

// In the service model's member order, which is the order violations are listed in.
const constraints: Record<"invoke" | "stream" | "async", ReadonlyArray<Constraint>> = {
  invoke: [
    { member: "contentType", header: "content-type", max: 1024, pattern: ascii },
    { member: "accept", header: "accept", max: 1024, pattern: ascii },
    customAttributes,
    { member: "targetModel", header: "x-amzn-sagemaker-target-model", min: 1, max: 1024, pattern: printable },
    targetVariant,
    targetContainerHostname,
    inferenceId,
    {
      member: "enableExplanations",
      header: "x-amzn-sagemaker-enable-explanations",
      min: 1,
      max: 64,
      pattern: anything
    },
    inferenceComponentName,
    { member: "sessionId", header: "x-amzn-sagemaker-session-id", max: 256, pattern: invokeSession },
    prefixAwareId
  ],
  stream: [
    { member: "contentType", header: "content-type", max: 1024, pattern: ascii },
    { member: "accept", header: "x-amzn-sagemaker-accept", max: 1024, pattern: ascii },
    customAttributes,
    targetVariant,
    targetContainerHostname,
    inferenceId,
    inferenceComponentName,
    { member: "sessionId", header: "x-amzn-sagemaker-session-id", max: 256, pattern: streamSession },
    prefixAwareId
  ],
  async: [
    { member: "contentType", header: "x-amzn-sagemaker-content-type", max: 1024, pattern: ascii },
    { member: "accept", header: "x-amzn-sagemaker-accept", max: 1024, pattern: ascii },
    customAttributes,
    inferenceId,
    {
      member: "inputLocation",
      header: "x-amzn-sagemaker-inputlocation",
      min: 1,
      max: 1024,
      pattern: { regex: /^(https|s3):\/\/([^/]+)\/?(.*)$/, text: "^(https|s3)://([^/]+)/?(.*)$" }
    },
    {
      member: "s3OutputPathExtension",
      header: "x-amzn-sagemaker-s3outputpathextension",
      min: 1,
      max: 512,
      pattern: { regex: /^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$/, text: "^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$" }
    },
    {
      member: "filename",
      header: "x-amzn-sagemaker-filename",
      min: 1,
      max: 32,
      pattern: {
        regex: /^(?!.*\..*\.)[a-zA-Z0-9][a-zA-Z0-9-_.]*$/,
        text: "^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$"
      }
    },
    { member: "requestTTLSeconds", header: "x-amzn-sagemaker-requestttlseconds", range: [60, 21600] },
    { member: "invocationTimeoutSeconds", header: "x-amzn-sagemaker-invocationtimeoutseconds", range: [1, 3600] }
  ]
}

const violation = (member: string, value: string, sensitive: boolean, constraint: string): string =>
  sensitive
    ? `Value at '${member}' failed to satisfy constraint: ${constraint}`
    : `Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`

const check = (c: Constraint, value: string, out: Array<string>): void => {
  const sensitive = c.sensitive === true
  if (c.range !== undefined) {
    const n = Number(value)
    if (!/^-?\d+$/.test(value)) {
      out.push(violation(c.member, value, sensitive, "Member must be an integer"))
    } else if (n < c.range[0]) {
      out.push(violation(c.member, value, sensitive, `Member must have value greater than or equal to ${c.range[0]}`))
    } else if (n > c.range[1]) {
      out.push(violation(c.member, value, sensitive, `Member must have value less than or equal to ${c.range[1]}`))
    }
    return
  }
  if (c.pattern !== undefined && !c.pattern.regex.test(value)) {
    out.push(violation(c.member, value, sensitive, `Member must satisfy regular expression pattern: ${c.pattern.text}`))
  }
  if (c.min !== undefined && value.length < c.min) {
    out.push(violation(c.member, value, sensitive, `Member must have length greater than or equal to ${c.min}`))
  }
  if (c.max !== undefined && value.length > c.max) {
    out.push(violation(c.member, value, sensitive, `Member must have length less than or equal to ${c.max}`))
  }
}

/** Coral's summary line. @internal */
export const formatViolations = (violations: ReadonlyArray<string>): string =>
  `${violations.length} validation error${violations.length === 1 ? "" : "s"} detected: ${violations.join("; ")}`

/**
 * Returns the Coral message for every constraint the request breaks, or undefined.
 *
 * @internal
 */
export const validate = (
  operation: "invoke" | "stream" | "async",
  endpointName: string,
  headers: Readonly<Record<string, string>>,
  bodyLength: number
): string | undefined => {
  const out: Array<string> = []
  if (!name.regex.test(endpointName)) {
    out.push(
      violation("endpointName", endpointName, false, `Member must satisfy regular expression pattern: ${name.text}`)
    )
  }
  if (endpointName.length > 63) {
    out.push(violation("endpointName", endpointName, false, "Member must have length less than or equal to 63"))
  }
  for (const c of constraints[operation]) {
    const value = headers[c.header]
    if (value !== undefined) check(c, value, out)
  }
  if (operation === "async") {
    const hasLocation = headers["x-amzn-sagemaker-inputlocation"] !== undefined
    if (bodyLength > 128_000) {
      out.push("Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 128000")
    }
    if (hasLocation && bodyLength > 0) {
      out.push("Value at 'body' failed to satisfy constraint: Exactly one of Body or InputLocation must be provided")
    } else if (!hasLocation && bodyLength === 0) {
      out.push(
        "Value null at 'inputLocation' failed to satisfy constraint: Exactly one of Body or InputLocation must be provided"
      )
    }
  }
  return out.length === 0 ? undefined : formatViolations(out)
}
