/**
 * The client side of bench/async.ts, in its own process so that its CPU is its own: N
 * `SagemakerAsync.run` calls at once (submit, then await on the service's one poll loop).
 *
 *   node asyncClient.js SAGEMAKER_URL S3_URL N
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SagemakerAsync from "../src/SagemakerAsync.js"
import * as SagemakerClient from "../src/SagemakerClient.js"

const [url, s3Url, count] = process.argv.slice(2)
const items = Number(count)

const Async = SagemakerAsync.layer({ model: "bench-async", s3EndpointUrl: s3Url! }).pipe(
  Layer.provide(SagemakerClient.layer({
    region: "us-east-1",
    credentials: { accessKeyId: Redacted.make("AKIDBENCH"), secretAccessKey: Redacted.make("bench-secret") },
    endpointUrl: url!
  }))
)

const program = Effect.gen(function*() {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const outcomes = yield* Effect.forEach(
    Array.from({ length: items }, (_, i) => `prompt ${i}`),
    (prompt) => Effect.either(SagemakerAsync.run(prompt, { max_new_tokens: 8 })),
    { concurrency: "unbounded" }
  )
  const used = process.cpuUsage(cpu)
  return {
    wallMs: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    failures: outcomes.filter((o) => o._tag === "Left").length
  }
})

const report = await Effect.runPromise(program.pipe(Effect.provide(Async)))
process.stdout.write(`${JSON.stringify(report)}\n`)
