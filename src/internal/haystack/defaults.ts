/**
 * Haystack's defaults, in one place: the five AWS secrets (each read from its environment
 * variable, not strict) and the generation kwargs.
 *
 * @since 0.1.0
 * @internal
 */
import * as Secret from "../../Secret.js"

/** The AWS secrets: our option, Haystack's `init_parameters` key, the default variable. */
export const AWS_SECRETS = [
  { option: "awsAccessKeyId", key: "aws_access_key_id", envVar: "AWS_ACCESS_KEY_ID" },
  { option: "awsSecretAccessKey", key: "aws_secret_access_key", envVar: "AWS_SECRET_ACCESS_KEY" },
  { option: "awsSessionToken", key: "aws_session_token", envVar: "AWS_SESSION_TOKEN" },
  // Haystack reads AWS_DEFAULT_REGION, not AWS_REGION.
  { option: "awsRegionName", key: "aws_region_name", envVar: "AWS_DEFAULT_REGION" },
  { option: "awsProfileName", key: "aws_profile_name", envVar: "AWS_PROFILE" }
] as const

export type AwsSecretOption = (typeof AWS_SECRETS)[number]["option"]

export type AwsSecrets = { readonly [K in AwsSecretOption]: Secret.Secret | null }

/** The secrets with defaults applied: `undefined` gives the env-var default, `null` stays none. */
export const awsSecrets = (
  options: { readonly [K in AwsSecretOption]?: Secret.Secret | null | undefined }
): AwsSecrets => {
  const secrets: Partial<Record<AwsSecretOption, Secret.Secret | null>> = {}
  for (const { envVar, option } of AWS_SECRETS) {
    const given = options[option]
    secrets[option] = given === undefined ? Secret.fromEnvVar(envVar, { strict: false }) : given
  }
  return secrets as AwsSecrets
}

export const DEFAULT_GENERATION_KWARGS: Readonly<Record<string, unknown>> = { max_new_tokens: 1024 }

/** Haystack's `x or {...}`: no kwargs, and also `{}`, give the default. */
export const generationKwargs = (
  kwargs: Readonly<Record<string, unknown>> | null | undefined
): Readonly<Record<string, unknown>> =>
  kwargs == null || Object.keys(kwargs).length === 0 ? DEFAULT_GENERATION_KWARGS : kwargs
