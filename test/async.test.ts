/**
 * Async inference end to end: `SagemakerAsync` on a real `SagemakerClient` (both transports) and the
 * real `@aws-sdk/client-s3`, against the emulator's async endpoints and its S3 endpoint. Submitting
 * inline and through S3, results and failure objects, expiry, deadlines, late outputs, a handle
 * awaited by another process, and one poll loop however many times a handle is awaited.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerAsync from "../src/SagemakerAsync.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { runTsx } from "./helpers/childProcess.js"
import { credentials, region } from "./helpers/fixtures.js"
import { transports } from "./helpers/transports.js"

const ASYNC = "async-ep"
const layers = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp } as const

/** The emulator with async endpoints, and an S3 request log to count polls by. */
const startEmulator = (options: SagemakerEmulator.Options = {}) =>
  Effect.gen(function*() {
    const s3Lines: Array<string> = []
    const emulator = yield* SagemakerEmulator.make({
      asyncEndpoints: [ASYNC, "slow", "failing", "expiring", "lost", "late", "busy"],
      faults: {
        failing: { kind: "async-failure", message: "CUDA out of memory" },
        expiring: { kind: "async-expired" },
        lost: { kind: "async-lost" },
        late: { kind: "async-late", millis: 300 },
        busy: { kind: "service-unavailable", count: 1 }
      },
      log: (line) => Effect.sync(() => line.startsWith("S3 ") && s3Lines.push(line)),
      ...options
    })
    return { emulator, s3Lines }
  })

const asyncLayer = (
  transport: SagemakerClient.Transport,
  emulator: SagemakerEmulator.Service,
  options: Partial<SagemakerAsync.Options> = {}
) =>
  SagemakerAsync.layer({
    model: ASYNC,
    s3EndpointUrl: emulator.s3Url,
    poll: { firstDelay: 20, lastDelay: 200 },
    retry: { baseDelay: 10 },
    ...options
  }).pipe(Layer.provide(layers[transport]({ region, credentials, endpointUrl: emulator.url })))

const transportNames = transports.map((t) => t.options.transport ?? SagemakerClient.defaultTransport)

describe("SagemakerAsync", () => {
  for (const transport of transportNames) {
    it.scopedLive(`${transport}: an inline submission's result is decoded as run's, and its handle round-trips`, () =>
      Effect.gen(function*() {
        const { emulator } = yield* startEmulator({ personality: "tgi" })
        const result = yield* Effect.gen(function*() {
          const handle = yield* SagemakerAsync.submit("Tell me about rivers", { max_new_tokens: 5 })
          assert.match(
            handle.outputLocation,
            /^s3:\/\/sagemaker-us-east-1-123456789012\/async-endpoint-outputs\/async-ep\//
          )
          assert.isTrue(handle.outputLocation.endsWith(`/${handle.inferenceId}.out`))
          assert.isTrue(handle.expiresAt.getTime() > handle.submittedAt.getTime())
          const encoded = yield* Schema.encode(SagemakerAsync.Handle)(handle)
          assert.isString(encoded.submittedAt)
          const decoded = yield* Schema.decodeUnknown(SagemakerAsync.Handle)(JSON.parse(JSON.stringify(encoded)))
          return yield* SagemakerAsync.awaitResult(decoded)
        }).pipe(Effect.provide(asyncLayer(transport, emulator)))
        assert.strictEqual(result.replies.length, 1)
        assert.isTrue(result.replies[0]!.startsWith("Tell me about rivers"), result.replies[0])
        const submitted = (yield* emulator.requests).filter((r) => r.operation === "async")
        assert.strictEqual(submitted.length, 1)
        assert.deepStrictEqual(JSON.parse(submitted[0]!.bodyText), {
          inputs: "Tell me about rivers",
          parameters: { max_new_tokens: 5 }
        })
        assert.isUndefined(submitted[0]!.headers["x-amzn-sagemaker-inputlocation"])
      }))

    it.scopedLive(`${transport}: a body over 128,000 bytes is uploaded to inputLocation and submitted by reference`, () =>
      Effect.gen(function*() {
        const { emulator, s3Lines } = yield* startEmulator()
        // Over the inline limit in bytes, few tokens for the model.
        const prompt = "x".repeat(130_000)
        const result = yield* SagemakerAsync.run(prompt).pipe(
          Effect.provide(asyncLayer(transport, emulator, { inputLocation: "s3://my-inputs/prompts" }))
        )
        assert.strictEqual(result.replies.length, 1)
        const submitted = (yield* emulator.requests).filter((r) => r.operation === "async")
        const location = submitted[0]!.headers["x-amzn-sagemaker-inputlocation"]
        assert.match(location ?? "", /^s3:\/\/my-inputs\/prompts\/[0-9a-f-]{36}\.json$/)
        assert.strictEqual(submitted[0]!.body.length, 0)
        assert.isTrue(s3Lines.some((line) => line.startsWith("S3 PUT /my-inputs/prompts/")), s3Lines.join("\n"))
        // Without a prefix to upload to, the same prompt is refused before any request.
        const refused = yield* SagemakerAsync.submit(prompt).pipe(
          Effect.provide(asyncLayer(transport, emulator)),
          Effect.flip
        )
        assert.strictEqual(refused._tag, "SagemakerValidationError")
        assert.include(refused.message, "inputLocation")
        assert.strictEqual((yield* emulator.requests).filter((r) => r.operation === "async").length, 1)
      }))

    it.scopedLive(`${transport}: a failure object is a SagemakerInferenceError with its text; expiry too`, () =>
      Effect.gen(function*() {
        const { emulator } = yield* startEmulator()
        for (const [model, text] of [["failing", "CUDA out of memory"], ["expiring", "expired"]] as const) {
          const error = yield* SagemakerAsync.run("hi").pipe(
            Effect.provide(asyncLayer(transport, emulator, { model })),
            Effect.flip
          )
          assert.strictEqual(error._tag, "SagemakerInferenceError", model)
          if (error._tag === "SagemakerInferenceError") {
            assert.strictEqual(error.errorCode, "AsyncInferenceFailure")
            assert.include(error.text, text)
            assert.isFalse(error.retryable)
            assert.strictEqual(error.message, `SageMaker async inference failed: ${error.text}`)
          }
        }
      }))

    it.scopedLive(`${transport}: a result that never comes ends at the deadline; a late one is waited for`, () =>
      Effect.gen(function*() {
        const { emulator } = yield* startEmulator()
        const lost = yield* SagemakerAsync.run("hi", null, { deadline: "300 millis" }).pipe(
          Effect.provide(asyncLayer(transport, emulator, { model: "lost" })),
          Effect.flip
        )
        assert.strictEqual(lost._tag, "SagemakerTimeoutError")
        const late = yield* SagemakerAsync.run("hi", null, { deadline: "5 seconds" }).pipe(
          Effect.provide(asyncLayer(transport, emulator, { model: "late" }))
        )
        assert.strictEqual(late.replies.length, 1)
      }))

    it.scopedLive(`${transport}: a 503 on submit is retried by the policy`, () =>
      Effect.gen(function*() {
        const { emulator } = yield* startEmulator()
        const result = yield* SagemakerAsync.run("hi").pipe(
          Effect.provide(asyncLayer(transport, emulator, { model: "busy" }))
        )
        assert.strictEqual(result.replies.length, 1)
        const statuses = (yield* emulator.requests).filter((r) => r.operation === "async").map((r) => r.status)
        assert.deepStrictEqual(statuses, [503, 202])
      }))

    it.scopedLive(`${transport}: a handle is awaited by another process`, () =>
      Effect.gen(function*() {
        const { emulator } = yield* startEmulator({ async: { delayMillis: 200 } })
        const handle = yield* SagemakerAsync.submit("from another process").pipe(
          Effect.provide(asyncLayer(transport, emulator))
        )
        const encoded = JSON.stringify(yield* Schema.encode(SagemakerAsync.Handle)(handle))
        const child = yield* runTsx("test/fixtures/awaitHandle.ts", [emulator.url, emulator.s3Url, encoded, transport])
        assert.strictEqual(child.code, 0, child.stderr)
        const replies = JSON.parse(child.stdout) as Array<string>
        assert.strictEqual(replies.length, 1)
        // The other process only polled S3: one submission in all.
        assert.strictEqual((yield* emulator.requests).filter((r) => r.operation === "async").length, 1)
      }))
  }

  it.scopedLive("a handle awaited twenty times at once is polled by one loop", () =>
    Effect.gen(function*() {
      const { emulator, s3Lines } = yield* startEmulator({ async: { delayMillis: 250 } })
      const results = yield* Effect.gen(function*() {
        const handle = yield* SagemakerAsync.submit("shared")
        return yield* Effect.all(Array.from({ length: 20 }, () => SagemakerAsync.awaitResult(handle)), {
          concurrency: "unbounded"
        })
      }).pipe(Effect.provide(asyncLayer("http", emulator, { poll: { firstDelay: 50, lastDelay: 50 } })))
      assert.strictEqual(results.length, 20)
      assert.isTrue(results.every((r) => r.replies[0] === results[0]!.replies[0]))
      // One entry polled every 50 ms for about 250 ms: a handful of HEADs of the output and the
      // failure object, where twenty loops would make twenty times as many.
      const heads = s3Lines.filter((line) => line.startsWith("S3 HEAD")).length
      assert.isAtLeast(heads, 2)
      assert.isBelow(heads, 20, s3Lines.join("\n"))
    }))

  for (const listBucket of [true, false]) {
    it.scopedLive(
      `many results in one folder: ${
        listBucket ? "one list of the folder answers for all of them" : "without s3:ListBucket, a HEAD each"
      }`,
      () =>
        Effect.gen(function*() {
          const { emulator, s3Lines } = yield* startEmulator({
            async: { delayMillis: 150, concurrency: 50 },
            s3: { listBucket }
          })
          const results = yield* Effect.forEach(
            Array.from({ length: 30 }, (_, i) => `prompt ${i}`),
            (prompt) => SagemakerAsync.run(prompt, { max_new_tokens: 3 }),
            { concurrency: "unbounded" }
          ).pipe(Effect.provide(asyncLayer("http", emulator, { poll: { firstDelay: 50, lastDelay: 50 } })))
          assert.strictEqual(results.length, 30)
          // The log shows paths without their query: a list is a GET of the bucket itself.
          const lists = s3Lines.filter((line) => /^S3 GET \/[^/ ]+\/ /.test(line))
          const perResult = s3Lines.length / 30
          if (listBucket) {
            assert.isAbove(lists.length, 0, s3Lines.join("\n"))
            assert.isAtMost(perResult, 3, s3Lines.join("\n"))
          } else {
            // One refused list, then HEADs: the results still come.
            assert.isTrue(s3Lines.some((line) => line.startsWith("S3 HEAD")))
          }
        })
    )
  }

  it.scopedLive("bad options and handles are refused before any request; routing members the route lacks too", () =>
    Effect.gen(function*() {
      const { emulator } = yield* startEmulator()
      const build = (options: Partial<SagemakerAsync.Options>) =>
        Effect.exit(Layer.build(asyncLayer("http", emulator, options)).pipe(Effect.scoped))
      for (
        const [options, field] of [
          [{ targetVariant: "v1" }, "targetVariant"],
          [{ inputLocation: "/tmp/inputs" }, "inputLocation"],
          [{ requestTtl: "10 seconds" }, "requestTtl"],
          [{ invocationTimeout: "2 hours" }, "invocationTimeout"],
          [{ maxResultBytes: 2_000_000_000 }, "maxResultBytes"],
          [{ upload: "always" }, "inputLocation"]
        ] as const
      ) {
        const exit = yield* build(options as Partial<SagemakerAsync.Options>)
        assert.isTrue(Exit.isFailure(exit), field)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error._tag, "SagemakerValidationError", field)
          assert.include(exit.cause.error.message, field)
        }
      }
      const notAHandle = yield* SagemakerAsync.awaitResult({ outputLocation: "x" } as never).pipe(
        Effect.provide(asyncLayer("http", emulator)),
        Effect.flip
      )
      assert.strictEqual(notAHandle._tag, "SagemakerValidationError")
      assert.strictEqual((yield* emulator.requests).length, 0)
    }))

  it.scopedLive("an async endpoint refuses real-time calls, and a real-time one refuses async calls", () =>
    Effect.gen(function*() {
      const { emulator } = yield* startEmulator()
      const client = SagemakerClient.layer({ region, credentials, endpointUrl: emulator.url })
      const realtime = yield* SagemakerGenerator.run("hi").pipe(
        Effect.provide(SagemakerGenerator.layerWithClient({ model: ASYNC, retry: false }).pipe(Layer.provide(client))),
        Effect.flip
      )
      assert.strictEqual(realtime._tag, "SagemakerValidationError")
      assert.include(realtime.message, "configured for asynchronous inference: use InvokeEndpointAsync")
      const asyncCall = yield* SagemakerAsync.submit("hi").pipe(
        Effect.provide(asyncLayer("http", emulator, { model: "realtime-ep", retry: false })),
        Effect.flip
      )
      assert.strictEqual(asyncCall._tag, "SagemakerValidationError")
      assert.include(asyncCall.message, "not configured for asynchronous inference")
    }))
})
