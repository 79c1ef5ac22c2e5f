/**
 * Haystack's `to_dict` / `from_dict` for the generator: the type string, snake_case
 * `init_parameters` in Haystack's order, env-var secrets as references, and our extra options
 * after Haystack's keys, only when set.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Payload from "../../Payload.js"
import { SagemakerDeserializationError } from "../../SagemakerError.js"
import type { Options } from "../../SagemakerGenerator.js"
import * as Secret from "../../Secret.js"
import * as Routing from "../client/routing.js"
import * as HaystackDefaults from "./defaults.js"

export const TYPE = "haystack_integrations.components.generators.amazon_sagemaker.sagemaker.SagemakerGenerator"

export interface SerializedGenerator {
  readonly type: typeof TYPE
  readonly init_parameters: {
    readonly model: string
    readonly aws_access_key_id: Secret.SerializedSecret | null
    readonly aws_secret_access_key: Secret.SerializedSecret | null
    readonly aws_session_token: Secret.SerializedSecret | null
    readonly aws_region_name: Secret.SerializedSecret | null
    readonly aws_profile_name: Secret.SerializedSecret | null
    readonly aws_custom_attributes: Readonly<Record<string, unknown>>
    readonly generation_kwargs: Readonly<Record<string, unknown>>
    readonly endpoint_url?: string
    /** Milliseconds. */
    readonly timeout?: number
    readonly transport?: "sdk" | "http"
    readonly request_format?: "haystack" | "chat" | "completions"
  } & RoutingKeys
}

/** The routing members' dict keys, from the routing table. */
type RoutingKeys = { readonly [K in Routing.Name as (typeof Routing.members)[K]["dictKey"]]?: string }

/** Our string options beyond Haystack's, in the order they are written: the endpoint URL, then routing. */
const extraKeys: ReadonlyArray<readonly [string, "endpointUrl" | Routing.Name]> = [
  ["endpoint_url", "endpointUrl"],
  ...Routing.dictRows.map(([name, member]) => [member.dictKey, name] as const)
]

export const toDict = (options: Options): SerializedGenerator => {
  const secrets = HaystackDefaults.awsSecrets(options)
  const init: Record<string, unknown> = { model: options.model }
  for (const { key, option } of HaystackDefaults.AWS_SECRETS) {
    const secret = secrets[option]
    init[key] = secret === null ? null : Secret.toDict(secret)
  }
  init.aws_custom_attributes = options.awsCustomAttributes ?? {}
  init.generation_kwargs = HaystackDefaults.generationKwargs(options.generationKwargs)
  for (const [key, option] of extraKeys) {
    const value = options[option]
    if (value !== undefined) init[key] = value
  }
  if (options.timeout !== undefined) init.timeout = Duration.toMillis(Duration.decode(options.timeout))
  if (options.transport !== undefined) init.transport = options.transport
  if (typeof options.requestFormat === "function") {
    // As a token secret: a function cannot be written down, and dropping it would load another generator.
    throw new Error(
      `Cannot serialize a requestFormat function. Use one of ${Payload.requestFormats.join(", ")}.`
    )
  }
  if (options.requestFormat !== undefined) init.request_format = options.requestFormat
  return { type: TYPE, init_parameters: init as SerializedGenerator["init_parameters"] }
}

export const deserializationError = (text: string) => new SagemakerDeserializationError({ text })

export const fromDict = (data: unknown): Either.Either<Options, SagemakerDeserializationError> => {
  const fail = (text: string) => Either.left(deserializationError(text))
  if (!Predicate.isRecord(data)) return fail("Serialization data must be an object")
  if (!("type" in data)) return fail("Missing 'type' in serialization data")
  if (data.type !== TYPE) return fail(`Class '${String(data.type)}' can't be deserialized as 'SagemakerGenerator'`)
  const init = data.init_parameters ?? {}
  if (!Predicate.isRecord(init)) return fail("'init_parameters' must be an object")
  if (typeof init.model !== "string") return fail("Missing 'model' in init_parameters (the endpoint name)")
  const options: Record<string, unknown> = { model: init.model }
  for (const { key, option } of HaystackDefaults.AWS_SECRETS) {
    const value = init[key]
    if (value === undefined) continue
    if (value === null) {
      options[option] = null
      continue
    }
    const secret = Secret.fromDict(value)
    if (Either.isLeft(secret)) return fail(secret.left)
    options[option] = secret.right
  }
  for (
    const [key, option] of [["aws_custom_attributes", "awsCustomAttributes"], ["generation_kwargs", "generationKwargs"]]
  ) {
    const value = init[key]
    if (value === undefined || value === null) continue
    if (!Predicate.isRecord(value) || Array.isArray(value)) return fail(`'${key}' must be an object`)
    options[option] = value
  }
  for (const [key, option] of extraKeys) {
    const value = init[key]
    if (value === undefined || value === null) continue
    if (typeof value !== "string") return fail(`'${key}' must be a string`)
    options[option] = value
  }
  if (init.timeout !== undefined && init.timeout !== null) {
    if (typeof init.timeout !== "number" || !(init.timeout > 0)) {
      return fail("'timeout' must be a positive number of milliseconds")
    }
    options.timeout = Duration.millis(init.timeout)
  }
  if (init.transport !== undefined && init.transport !== null) {
    if (init.transport !== "sdk" && init.transport !== "http") return fail(`'transport' must be "sdk" or "http"`)
    options.transport = init.transport
  }
  if (init.request_format !== undefined && init.request_format !== null) {
    if (!(Payload.requestFormats as ReadonlyArray<unknown>).includes(init.request_format)) {
      return fail(`'request_format' must be one of ${Payload.requestFormats.map((f) => `"${f}"`).join(", ")}`)
    }
    options.requestFormat = init.request_format
  }
  return Either.right(options as unknown as Options)
}
