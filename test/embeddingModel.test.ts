/**
 * `SagemakerEmbeddingModel` with `@effect/ai`'s real `EmbeddingModel` against the emulator's
 * embeddings personality, on both transports and in every dialect: the same text gives the same
 * vector, inputs are batched up to `maxBatchSize` and split under the 6 MiB limit, errors are
 * `AiError`s.
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerEmbeddingModel from "../src/SagemakerEmbeddingModel.js"

const clients = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp } as const
const credentials = { accessKeyId: Redacted.make("AKIDTEST"), secretAccessKey: Redacted.make("embeddings-secret") }

const embeddingsOn = (
  emulator: SagemakerEmulator.Service,
  transport: keyof typeof clients,
  options: Partial<SagemakerEmbeddingModel.Options> = {}
) =>
  SagemakerEmbeddingModel.layer({ endpointName: "ep", ...options }).pipe(
    Layer.provide(clients[transport]({ region: "us-east-1", credentials, endpointUrl: emulator.url }))
  )

describe("SagemakerEmbeddingModel", () => {
  for (const transport of Object.keys(clients) as Array<keyof typeof clients>) {
    for (const dialect of SagemakerEmbeddingModel.dialects) {
      it.scopedLive(`${transport}, ${dialect}: the same text, the same vector; different texts, different vectors`, () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ personality: "embeddings" })
          const { many, one } = yield* Effect.gen(function*() {
            const model = yield* EmbeddingModel.EmbeddingModel
            const many = yield* model.embedMany(["a cat", "a dog", "a cat"])
            const one = yield* model.embed("a dog")
            return { many, one }
          }).pipe(Effect.provide(embeddingsOn(emulator, transport, { dialect })))
          assert.strictEqual(many.length, 3)
          assert.deepStrictEqual(many[0], many[2])
          assert.notDeepEqual(many[0], many[1])
          assert.deepStrictEqual(one, many[1])
          const bodies = (yield* emulator.requests).map((r) => JSON.parse(new TextDecoder().decode(r.body)))
          const key = { tei: "inputs", openai: "input", jumpstart: "text_inputs" }[dialect]
          assert.isTrue(bodies.every((body) => Array.isArray(body[key])), JSON.stringify(bodies))
        }))
    }
  }

  it.scopedLive("batches of at most maxBatchSize, and a batch over 6 MiB is split in two", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "embeddings" })
      const texts = Array.from({ length: 7 }, (_, i) => `text ${i}`)
      const vectors = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(texts)),
        Effect.provide(embeddingsOn(emulator, "http", { maxBatchSize: 3 }))
      )
      assert.strictEqual(vectors.length, 7)
      const sizes = (yield* emulator.requests).map((r) => JSON.parse(new TextDecoder().decode(r.body)).inputs.length)
      assert.deepStrictEqual([...sizes].sort(), [1, 3, 3])

      const big = yield* SagemakerEmulator.make({ personality: "embeddings", maxBodyBytes: 8_000_000 })
      const large = ["x".repeat(2_500_000), "y".repeat(2_500_000), "z".repeat(2_500_000)]
      const split = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(large)),
        Effect.provide(embeddingsOn(big, "http"))
      )
      assert.strictEqual(split.length, 3)
      const requests = yield* big.requests
      assert.isAtLeast(requests.length, 2)
      assert.isTrue(requests.every((r) => r.body.length <= 6_291_456))
    }))

  it.scopedLive("errors are AiErrors: a container failure, a body of another dialect, an input too large", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        endpoints: {
          ep: { personality: "embeddings" },
          odd: { responder: () => ({ status: 200, contentType: "application/json", body: "{\"vectors\": []}" }) }
        },
        faults: { ep: { kind: "model-error", count: 1 } }
      })
      const failure = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embed("a cat")),
        Effect.flip,
        Effect.provide(embeddingsOn(emulator, "sdk", { retry: false }))
      )
      assert.strictEqual(failure._tag, "HttpResponseError")
      const wrongDialect = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embed("a cat")),
        Effect.flip,
        Effect.provide(embeddingsOn(emulator, "sdk", { dialect: "openai", endpointName: "odd" }))
      )
      assert.strictEqual(wrongDialect._tag, "MalformedOutput")
      assert.match(wrongDialect.message, /not an embeddings response of the openai dialect/)
      const tooLarge = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embed("x".repeat(7_000_000))),
        Effect.flip,
        Effect.provide(embeddingsOn(emulator, "http"))
      )
      assert.strictEqual(tooLarge._tag, "MalformedInput")
    }))

  it.effect("invalid options fail the layer with SagemakerValidationError", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(
        SagemakerEmbeddingModel.layer({ endpointName: "ep", maxBatchSize: 0 }).pipe(
          Layer.provide(SagemakerClient.layerSdk({ region: "us-east-1", credentials }))
        )
      ).pipe(Effect.scoped, Effect.flip)
      assert.strictEqual(error._tag, "SagemakerValidationError")
    }))
})
