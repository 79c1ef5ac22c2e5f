/**
 * Async inference: submit three prompts to an async endpoint's queue, keep their handles as JSON
 * (what you would write to a file or a queue), then decode them and collect the results from S3.
 *
 * Against the emulator's async endpoint and its S3 endpoint by default:
 *   npx tsx examples/async.ts
 * Against a real async endpoint (region and credentials from the environment; bodies over 128,000
 * bytes would be uploaded to the prefix):
 *   AWS_REGION=us-east-1 npx tsx examples/async.ts my-async-endpoint s3://my-bucket/inputs/
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerAsync, SagemakerClient, SagemakerEmulator } from "effect-sagemaker"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

const prompts = ["What is a river delta?", "Why is the sea salty?", "How do glaciers move?"]
const HandleJson = Schema.parseJson(SagemakerAsync.Handle)

const program = Effect.gen(function*() {
  const saved: Array<string> = []
  for (const prompt of prompts) {
    const handle = yield* SagemakerAsync.submit(prompt, { max_new_tokens: 12 })
    saved.push(yield* Schema.encode(HandleJson)(handle))
  }
  yield* Console.log(`submitted ${saved.length}; first handle: ${saved[0]!.slice(0, 60)}...`)
  const results = yield* Effect.forEach(
    saved,
    (json) => Effect.flatMap(Schema.decode(HandleJson)(json), (handle) => SagemakerAsync.awaitResult(handle)),
    { concurrency: "unbounded" }
  )
  for (const [i, result] of results.entries()) yield* Console.log(`${prompts[i]} -> ${result.replies[0]}`)
})

const [endpointName, inputLocation] = process.argv.slice(2)

const AsyncLive = endpointName === undefined
  ? Layer.unwrapEffect(
    Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
      SagemakerAsync.layer({
        model: "my-async-endpoint",
        s3EndpointUrl: emulator.s3Url,
        poll: { firstDelay: "50 millis" }
      }).pipe(Layer.provide(SagemakerClient.layer({
        endpointUrl: emulator.url,
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDEXAMPLE"), secretAccessKey: Redacted.make("example-secret") }
      }))))
  ).pipe(Layer.provide(SagemakerEmulator.layer({
    asyncEndpoints: ["my-async-endpoint"],
    personality: "tgi",
    async: { delayMillis: 200 }
  })))
  : SagemakerAsync.layer({ model: endpointName, inputLocation }).pipe(Layer.provide(SagemakerClient.layer({})))

program.pipe(Effect.provide(AsyncLive), NodeRuntime.runMain)
