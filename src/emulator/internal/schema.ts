/**
 * JSON Schema → one JSON instance, deterministically: what the emulator's model writes for tool
 * arguments and structured output. The rules are documented in docs/emulator.md ("Chat features"):
 * `const` and `enum` take their (first) value, objects carry their properties (every required one,
 * optional ones while the nesting is shallow), strings are short words (or a valid `format`),
 * numbers sit within `minimum`/`maximum`, arrays have `minItems` items (at least one).
 *
 * @since 0.1.0
 * @internal
 */
import * as Model from "./model.js"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Beyond this depth only required properties are written, so recursive schemas end. */
const optionalDepth = 3
/** Beyond this depth `$ref`s are not followed any more. */
const maxDepth = 12

const formats: Readonly<Record<string, string>> = {
  "date-time": "2024-01-01T00:00:00Z",
  date: "2024-01-01",
  time: "00:00:00Z",
  email: "user@example.com",
  uri: "https://example.com",
  url: "https://example.com",
  uuid: "00000000-0000-4000-8000-000000000000",
  ipv4: "192.0.2.1",
  ipv6: "2001:db8::1",
  hostname: "example.com"
}

const resolveRef = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#")) return {}
  let node: unknown = root
  for (const raw of ref.slice(1).split("/").filter((s) => s.length > 0)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    node = isRecord(node) ? node[key] : undefined
  }
  return node ?? {}
}

const typeOf = (schema: Record<string, unknown>): string | undefined => {
  const t = schema["type"]
  if (typeof t === "string") return t
  if (Array.isArray(t)) return t.find((x): x is string => typeof x === "string" && x !== "null") ?? "null"
  if (isRecord(schema["properties"])) return "object"
  if (schema["items"] !== undefined || schema["prefixItems"] !== undefined) return "array"
  return undefined
}

const num = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

const numberIn = (schema: Record<string, unknown>, integer: boolean): number => {
  const step = integer ? 1 : 0.5
  let low = num(schema["minimum"])
  const exclusiveLow = num(schema["exclusiveMinimum"])
  if (exclusiveLow !== undefined) low = Math.max(low ?? -Infinity, exclusiveLow + step)
  else if (schema["exclusiveMinimum"] === true && low !== undefined) low += step
  let high = num(schema["maximum"])
  const exclusiveHigh = num(schema["exclusiveMaximum"])
  if (exclusiveHigh !== undefined) high = Math.min(high ?? Infinity, exclusiveHigh - step)
  else if (schema["exclusiveMaximum"] === true && high !== undefined) high -= step
  let value = integer ? 1 : 1.5
  if (low !== undefined && value < low) value = integer ? Math.ceil(low) : low
  if (high !== undefined && value > high) value = integer ? Math.floor(high) : high
  const multiple = num(schema["multipleOf"])
  if (multiple !== undefined && multiple > 0) {
    const snapped = Math.ceil(value / multiple) * multiple
    value = high !== undefined && snapped > high ? Math.floor(value / multiple) * multiple : snapped
  }
  return value
}

const stringFor = (schema: Record<string, unknown>, path: string): string => {
  const format = schema["format"]
  let s = typeof format === "string" && formats[format] !== undefined ? formats[format]! : Model.wordFor(path)
  const min = num(schema["minLength"])
  const max = num(schema["maxLength"])
  while (min !== undefined && s.length < min) s += Model.wordFor(`${path}/${s.length}`)
  if (max !== undefined && s.length > max) s = s.slice(0, Math.max(0, max))
  return s
}

const merge = (parts: ReadonlyArray<unknown>): Record<string, unknown> => {
  const properties: Record<string, unknown> = {}
  const required: Array<unknown> = []
  const out: Record<string, unknown> = {}
  for (const p of parts) {
    if (!isRecord(p)) continue
    Object.assign(out, p)
    if (isRecord(p["properties"])) Object.assign(properties, p["properties"])
    if (Array.isArray(p["required"])) required.push(...p["required"])
  }
  delete out["allOf"]
  if (Object.keys(properties).length > 0) out["properties"] = properties
  if (required.length > 0) out["required"] = required
  return out
}

const instance = (schema: unknown, root: unknown, path: string, depth: number): Json => {
  if (schema === true || !isRecord(schema)) return Model.wordFor(path)
  if (typeof schema["$ref"] === "string") {
    return depth >= maxDepth ? null : instance(resolveRef(root, schema["$ref"]), root, path, depth + 1)
  }
  if ("const" in schema) return schema["const"] as Json
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][0] as Json
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key]
    if (Array.isArray(options) && options.length > 0) {
      const chosen = options.find((o) => !(isRecord(o) && o["type"] === "null")) ?? options[0]
      return instance(chosen, root, path, depth + 1)
    }
  }
  if (Array.isArray(schema["allOf"])) return instance(merge([schema, ...schema["allOf"]]), root, path, depth + 1)
  switch (typeOf(schema)) {
    case "object": {
      const properties = isRecord(schema["properties"]) ? schema["properties"] : {}
      const required = new Set(
        Array.isArray(schema["required"]) ? schema["required"].filter((r) => typeof r === "string") : []
      )
      const out: Record<string, Json> = {}
      for (const [key, sub] of Object.entries(properties)) {
        if (required.has(key) || depth < optionalDepth) out[key] = instance(sub, root, `${path}/${key}`, depth + 1)
      }
      for (const key of required) {
        if (!(key in out)) out[key] = Model.wordFor(`${path}/${key}`)
      }
      return out
    }
    case "array": {
      const tuple = Array.isArray(schema["prefixItems"]) ?
        schema["prefixItems"] :
        Array.isArray(schema["items"]) ?
        schema["items"] :
        undefined
      if (tuple !== undefined) return tuple.map((s, i) => instance(s, root, `${path}/${i}`, depth + 1))
      const min = num(schema["minItems"]) ?? 1
      const max = num(schema["maxItems"])
      const count = Math.max(0, max === undefined ? Math.max(1, min) : Math.min(Math.max(1, min), max))
      return Array.from({ length: count }, (_, i) => instance(schema["items"] ?? {}, root, `${path}/${i}`, depth + 1))
    }
    case "integer":
      return numberIn(schema, true)
    case "number":
      return numberIn(schema, false)
    case "boolean":
      return true
    case "null":
      return null
    default:
      return stringFor(schema, path)
  }
}

/**
 * A JSON instance of `schema` (an empty schema gives a short word).
 *
 * @internal
 */
export const instanceOf = (schema: unknown): unknown => instance(schema, schema, "", 0)
