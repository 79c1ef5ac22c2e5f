/**
 * Bundled cold start: the raw SDK, one `send`. esbuild bundles this file alone (bench/bundle.ts);
 * `bench/cold.ts --bundle` imports the bundle and calls `handler` once.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import { CREDENTIALS, ENDPOINT, REGION, requestBody } from "../shared.js"

export const handler = async (url: string): Promise<string> => {
  const client = new SageMakerRuntimeClient({ region: REGION, endpoint: url, credentials: CREDENTIALS })
  const output = await client.send(
    new InvokeEndpointCommand({
      EndpointName: ENDPOINT,
      Body: requestBody(),
      ContentType: "application/json",
      Accept: "application/json"
    })
  )
  const reply = JSON.parse(new TextDecoder().decode(output.Body)) as ReadonlyArray<{ generated_text: string }>
  client.destroy()
  return reply[0]!.generated_text
}
