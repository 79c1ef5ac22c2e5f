/**
 * Retry and timeout with Effect Schedules around `run`, against emulator endpoints with faults:
 * `warming-up` is not ready for its first 2 calls, `slow` answers after 2 seconds.
 *
 *   npx tsx examples/retry-and-timeout.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerEmulator, SagemakerGenerator, Secret } from "effect-sagemaker"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

const generatorFor = (model: string) =>
  Layer.unwrapEffect(
    Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
      SagemakerGenerator.layer({
        model,
        endpointUrl: emulator.url,
        awsAccessKeyId: Secret.fromToken("AKIDEXAMPLE"),
        awsSecretAccessKey: Secret.fromToken("example-secret"),
        awsRegionName: Secret.fromToken("us-east-1"),
        // Our own policy below replaces the built-in one.
        retry: false
      }))
  )

// Retry only what is worth retrying (the error says so), five times, exponential backoff from 50 ms.
const policy = Schedule.exponential("50 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))

const warmingUp = SagemakerGenerator.run("Hello", { max_new_tokens: 8 }).pipe(
  Effect.tapError((error) => Console.log(`attempt failed: ${error._tag} (retryable: ${error.retryable})`)),
  Effect.retry({ schedule: policy, while: (error) => error.retryable }),
  Effect.provide(generatorFor("warming-up"))
)

const slow = SagemakerGenerator.run("Hello", { max_new_tokens: 8 }).pipe(
  // Interrupting the call aborts the HTTP request.
  Effect.timeout("300 millis"),
  Effect.catchTag("TimeoutException", () => Effect.succeed({ replies: ["(gave up after 300 ms)"], meta: [] })),
  Effect.provide(generatorFor("slow"))
)

const main = Effect.gen(function*() {
  const first = yield* warmingUp
  yield* Console.log(`warming-up answered: ${first.replies[0]?.trim()}`)
  const second = yield* slow
  yield* Console.log(`slow: ${second.replies[0]}`)
}).pipe(
  Effect.provide(SagemakerEmulator.layer({
    faults: {
      "warming-up": { kind: "not-ready", count: 2 },
      "slow": { kind: "latency", millis: 2000 }
    }
  }))
)

main.pipe(NodeRuntime.runMain)
