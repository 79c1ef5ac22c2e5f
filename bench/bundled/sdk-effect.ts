/**
 * Bundled cold start: the raw SDK in an Effect program, a bare `Effect.runPromise` around one
 * `send` (what an Effect application pays without this library).
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import * as Effect from "effect/Effect"
import { CREDENTIALS, ENDPOINT, REGION, requestBody } from "../shared.js"

export const handler = async (url: string): Promise<string> => {
  const client = new SageMakerRuntimeClient({ region: REGION, endpoint: url, credentials: CREDENTIALS })
  const output = await Effect.runPromise(Effect.tryPromise({
    try: (signal) =>
      client.send(
        new InvokeEndpointCommand({
          EndpointName: ENDPOINT,
          Body: requestBody(),
          ContentType: "application/json",
          Accept: "application/json"
        }),
        { abortSignal: signal }
      ),
    catch: (error) => error
  }))
  const reply = JSON.parse(new TextDecoder().decode(output.Body)) as ReadonlyArray<{ generated_text: string }>
  client.destroy()
  return reply[0]!.generated_text
}
