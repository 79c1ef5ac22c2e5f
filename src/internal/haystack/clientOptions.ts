/**
 * Haystack's five AWS secrets → the client's options, resolved through the current
 * `ConfigProvider`. Explicit keys become static credentials; without them the SDK's default chain
 * (and the profile) applies, as boto3's does for Haystack.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Record from "effect/Record"
import * as Redacted from "effect/Redacted"
import type * as SagemakerClient from "../../SagemakerClient.js"
import { AWSConfigurationError } from "../../SagemakerError.js"
import * as Secret from "../../Secret.js"
import * as HaystackDefaults from "./defaults.js"

/** What the client options are read from: the secrets, and the client options beyond Haystack. */
export type SecretOptions =
  & { readonly [K in HaystackDefaults.AwsSecretOption]?: Secret.Secret | null | undefined }
  & Pick<SagemakerClient.Options, "endpointUrl" | "maxConcurrency">

export const resolve = (
  model: string,
  options: SecretOptions
): Effect.Effect<SagemakerClient.Options, AWSConfigurationError> =>
  Effect.gen(function*() {
    const resolveOne = (name: HaystackDefaults.AwsSecretOption, secret: Secret.Secret | null) =>
      Secret.resolve(secret).pipe(
        Effect.map(Option.getOrUndefined),
        Effect.mapError((cause) =>
          new AWSConfigurationError({ model, description: `${name} could not be resolved: ${cause.message}`, cause })
        )
      )
    const {
      awsAccessKeyId: accessKeyId,
      awsProfileName: profile,
      awsRegionName: region,
      awsSecretAccessKey: secretAccessKey,
      awsSessionToken: sessionToken
    } = yield* Effect.all(
      Record.map(HaystackDefaults.awsSecrets(options), (secret, name) => resolveOne(name, secret))
    )
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      return yield* new AWSConfigurationError({
        model,
        description: accessKeyId === undefined
          ? "awsSecretAccessKey is set but awsAccessKeyId is not: give both or neither"
          : "awsAccessKeyId is set but awsSecretAccessKey is not: give both or neither"
      })
    }
    return {
      ...(accessKeyId === undefined || secretAccessKey === undefined
        ? {}
        : { credentials: { accessKeyId, secretAccessKey, sessionToken } }),
      // Region and profile name the client's configuration; they are not credentials.
      ...(region === undefined ? {} : { region: Redacted.value(region) }),
      ...(profile === undefined ? {} : { profile: Redacted.value(profile) }),
      ...(options.endpointUrl === undefined ? {} : { endpointUrl: options.endpointUrl }),
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency })
    }
  })
