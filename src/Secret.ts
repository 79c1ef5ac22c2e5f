/**
 * Haystack's `Secret`: a reference to environment variables (serializable) or a token held in
 * memory (not serializable). Environment-variable secrets resolve through Effect `Config`, so the
 * current `ConfigProvider` decides where values come from, and values stay `Redacted`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"

/**
 * A secret read from the first of `envVars` that is set (an empty value counts as set, as in
 * Haystack). With `strict`, none being set is an error; otherwise the secret resolves to nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface EnvVarSecret {
  readonly _tag: "EnvVarSecret"
  readonly envVars: ReadonlyArray<string>
  readonly strict: boolean
}

/**
 * A secret value held in memory. It cannot be serialized.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenSecret {
  readonly _tag: "TokenSecret"
  readonly value: Redacted.Redacted<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Secret = EnvVarSecret | TokenSecret

/**
 * Haystack's serialized form of an environment-variable secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface SerializedSecret {
  readonly type: "env_var"
  readonly env_vars: ReadonlyArray<string>
  readonly strict: boolean
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const fromEnvVar = (
  names: string | ReadonlyArray<string>,
  options?: { readonly strict?: boolean | undefined }
): EnvVarSecret => {
  const envVars = typeof names === "string" ? [names] : [...names]
  if (envVars.length === 0) {
    throw new Error("One or more environment variables must be provided for the secret.")
  }
  return { _tag: "EnvVarSecret", envVars, strict: options?.strict ?? true }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const fromToken = (value: string | Redacted.Redacted<string>): TokenSecret => {
  const redacted = Redacted.isRedacted(value) ? value : Redacted.make(value)
  if (Redacted.value(redacted).length === 0) {
    throw new Error("Authentication token cannot be empty.")
  }
  return { _tag: "TokenSecret", value: redacted }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isSecret = (u: unknown): u is Secret =>
  Predicate.isTagged(u, "EnvVarSecret") || Predicate.isTagged(u, "TokenSecret")

const pythonTuple = (names: ReadonlyArray<string>): string =>
  names.length === 1 ? `('${names[0]}',)` : `(${names.map((name) => `'${name}'`).join(", ")})`

/**
 * The secret as a `Config`: the first environment variable that is set, read through the current
 * `ConfigProvider`.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (secret: Secret): Config.Config<Option.Option<Redacted.Redacted<string>>> => {
  if (secret._tag === "TokenSecret") {
    return Config.succeed(Option.some(secret.value))
  }
  return Config.all(secret.envVars.map((name) => Config.option(Config.redacted(name)))).pipe(
    Config.mapOrFail((values) => {
      const found = Option.firstSomeOf(values)
      return Option.isNone(found) && secret.strict
        ? Either.left(ConfigError.MissingData(
          [],
          `None of the following authentication environment variables are set: ${pythonTuple(secret.envVars)}`
        ))
        : Either.right(found)
    })
  )
}

/**
 * Resolves a secret (or `null`, which resolves to nothing).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (
  secret: Secret | null | undefined
): Effect.Effect<Option.Option<Redacted.Redacted<string>>, ConfigError.ConfigError> =>
  secret == null ? Effect.succeedNone : config(secret)

/**
 * Haystack's `Secret.to_dict`. A token secret cannot be serialized: that throws, as Haystack
 * raises.
 *
 * @since 0.1.0
 * @category serialization
 */
export const toDict = (secret: Secret): SerializedSecret => {
  if (secret._tag === "TokenSecret") {
    throw new Error("Cannot serialize token-based secret. Use an alternative secret type like environment variables.")
  }
  return { type: "env_var", env_vars: [...secret.envVars], strict: secret.strict }
}

/**
 * Haystack's `Secret.from_dict`, with Haystack's messages on the left.
 *
 * @since 0.1.0
 * @category serialization
 */
export const fromDict = (data: unknown): Either.Either<Secret, string> => {
  if (!Predicate.isRecord(data)) {
    return Either.left(`A secret must be an object, got ${data === null ? "null" : typeof data}`)
  }
  switch (data.type) {
    case "env_var": {
      const envVars = data.env_vars
      if (!Array.isArray(envVars) || !envVars.every(Predicate.isString)) {
        return Either.left("A secret's 'env_vars' must be a list of environment variable names.")
      }
      if (envVars.length === 0) {
        return Either.left("One or more environment variables must be provided for the secret.")
      }
      if (data.strict !== undefined && !Predicate.isBoolean(data.strict)) {
        return Either.left("A secret's 'strict' must be a boolean.")
      }
      return Either.right(fromEnvVar(envVars, { strict: data.strict ?? true }))
    }
    case "token":
      return Either.left(
        "Cannot deserialize token-based secret. Use an alternative secret type like environment variables."
      )
    default:
      return Either.left(`Unknown secret type '${String(data.type)}'`)
  }
}
