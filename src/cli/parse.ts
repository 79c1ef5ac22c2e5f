/**
 * Parsing of the CLI's repeatable `key=value` options.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"

/**
 * `key=value` pairs in order. Values are JSON when they parse as JSON (`5`, `true`, `["</s>"]`),
 * else the text as written (`--param stop=none` is the string `none`).
 */
export const parseKeyValues = (
  option: string,
  entries: ReadonlyArray<string>,
  values: "json" | "scalar"
): Either.Either<Record<string, unknown>, string> => {
  const result: Record<string, unknown> = {}
  for (const entry of entries) {
    const at = entry.indexOf("=")
    if (at <= 0) return Either.left(`${option} expects key=value, got "${entry}"`)
    const key = entry.slice(0, at)
    const raw = entry.slice(at + 1)
    let value: unknown = raw
    try {
      value = JSON.parse(raw)
    } catch {
      // Not JSON: keep the text.
    }
    if (values === "scalar" && typeof value === "object" && value !== null) value = raw
    result[key] = value
  }
  return Either.right(result)
}

/** A comma-separated list, blanks dropped. */
export const parseList = (text: string): Array<string> =>
  text.split(",").map((item) => item.trim()).filter((item) => item.length > 0)
