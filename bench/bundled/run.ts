/**
 * Bundled cold start: `SagemakerGenerator.run` from the package entry, as a user's handler
 * imports it, on the default transport (or the one named: the same bundle serves both rows).
 */
import { SagemakerClient, SagemakerGenerator, Secret } from "effect-sagemaker"
import * as Effect from "effect/Effect"
import { CREDENTIALS, ENDPOINT, PROMPT, REGION } from "../shared.js"

/** Which transport the rows without one run on, for the report. */
export const defaultTransport: SagemakerClient.Transport = SagemakerClient.defaultTransport

export const handler = async (url: string, transport?: SagemakerClient.Transport): Promise<string> => {
  const result = await Effect.runPromise(
    SagemakerGenerator.run(PROMPT).pipe(
      Effect.provide(SagemakerGenerator.layer({
        model: ENDPOINT,
        endpointUrl: url,
        awsAccessKeyId: Secret.fromToken(CREDENTIALS.accessKeyId),
        awsSecretAccessKey: Secret.fromToken(CREDENTIALS.secretAccessKey),
        awsSessionToken: null,
        awsProfileName: null,
        awsRegionName: Secret.fromToken(REGION),
        ...(transport === undefined ? {} : { transport })
      }))
    )
  )
  return result.replies[0]!
}
