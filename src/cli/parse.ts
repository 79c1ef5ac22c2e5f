/**
 * Parsing of the CLI's option values: the repeatable `key=value` options, durations, whole
 * numbers, URLs and lists.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { type UsageError, usageError } from "./args.js"

/** A value the user meant as JSON: it must parse, or the mistake would be sent as a string. */
const LOOKS_LIKE_JSON = /^\s*(?:[{["\d-]|true|false|null)/

/**
 * `key=value` pairs in order, each key once. With `values: "json"`, a value that looks like JSON
 * (it starts with `{`, `[`, `"`, a digit, `-`, `true`, `false` or `null`) must be valid JSON and is
 * sent as that JSON value; any other value is the text as written (`--param stop=none` is the string
 * `none`). With `values: "text"`, every value is the text as written.
 */
export const parseKeyValues = (
  option: string,
  entries: ReadonlyArray<string>,
  values: "json" | "text"
): Either.Either<Record<string, unknown>, UsageError> => {
  const result: Record<string, unknown> = {}
  for (const entry of entries) {
    const at = entry.indexOf("=")
    if (at <= 0) return Either.left(usageError(`${option} expects KEY=VALUE, got "${entry}"`))
    const key = entry.slice(0, at)
    const raw = entry.slice(at + 1)
    if (Object.hasOwn(result, key)) return Either.left(usageError(`${option} ${key} is given more than once`))
    let value: unknown = raw
    if (values === "json" && LOOKS_LIKE_JSON.test(raw)) {
      try {
        value = JSON.parse(raw)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return Either.left(
          usageError(
            `${option} ${entry} is not valid JSON (${reason}): ` +
              `a value that starts with {, [, ", a digit, -, true, false or null must be JSON ` +
              `(write a string as ${key}='"text"')`
          )
        )
      }
    }
    result[key] = value
  }
  return Either.right(result)
}

/** A comma-separated list, blanks dropped. */
export const parseList = (text: string): Array<string> =>
  text.split(",").map((item) => item.trim()).filter((item) => item.length > 0)

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A positive duration: `500ms`, `30s`, `2m`, `1h`, a bare number of seconds, or Effect's
 * `"30 seconds"` form.
 */
export const parseDuration = (option: string, text: string): Either.Either<Duration.Duration, UsageError> => {
  const refused = usageError(`${option} must be a positive duration such as 30s, 500ms or 2m, got "${text}"`)
  const short = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  const decoded = short !== null
    ? Option.some(Duration.millis(Number(short[1]) * UNITS[short[2] ?? "s"]!))
    : Duration.decodeUnknown(text.trim())
  if (Option.isNone(decoded)) return Either.left(refused)
  const duration = decoded.value
  if (!Duration.isFinite(duration) || !Duration.greaterThan(duration, Duration.zero)) return Either.left(refused)
  return Either.right(duration)
}

/** A whole number from `min` to `max`. */
export const parseWholeNumber = (
  option: string,
  text: string,
  min: number,
  max: number
): Either.Either<number, UsageError> => {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? Either.right(value)
    : Either.left(usageError(`${option} must be a whole number from ${min} to ${max}, got "${text}"`))
}

/**
 * An absolute `http://` or `https://` URL. A URL with another scheme is named by its scheme only:
 * the rest of it may hold a password.
 */
export const parseHttpUrl = (option: string, text: string): Either.Either<string, UsageError> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left(usageError(`${option} must be an http:// or https:// URL, got "${text}"`))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(usageError(`${option} must be an http:// or https:// URL, got a ${url.protocol} URL`))
  }
  return Either.right(text)
}

/** A value that must not be empty or blank. */
export const nonEmpty = (option: string, text: string): Either.Either<string, UsageError> =>
  text.trim().length === 0 ? Either.left(usageError(`${option} must not be empty`)) : Either.right(text)
