/**
 * Embeddings with `@effect/ai`'s `EmbeddingModel` on a SageMaker endpoint: the nearest of three
 * sentences to a question, by cosine similarity.
 *
 * Against the emulator's embeddings personality (TEI's body) by default:
 *   npx tsx examples/embeddings.ts
 * Against a real endpoint (a TEI container; region and credentials from the environment):
 *   AWS_REGION=us-east-1 npx tsx examples/embeddings.ts my-embeddings-endpoint
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SagemakerClient, SagemakerEmulator } from "effect-sagemaker"
import * as SagemakerEmbeddingModel from "effect-sagemaker/SagemakerEmbeddingModel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const sentences = ["The cat sat on the mat.", "Stocks fell sharply today.", "A kitten naps on a rug."]

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

const program = Effect.gen(function*() {
  const model = yield* EmbeddingModel.EmbeddingModel
  const vectors = yield* model.embedMany(sentences)
  const question = yield* model.embed(sentences[0]!)
  const scores = vectors.map((vector, i) => ({ sentence: sentences[i]!, score: cosine(question, vector) }))
  for (const { score, sentence } of scores) yield* Console.log(`${score.toFixed(3)}  ${sentence}`)
  yield* Console.log(`[${vectors.length} vectors of ${vectors[0]!.length} numbers]`)
})

const endpointName = process.argv[2]

const ClientLive = endpointName === undefined
  ? Layer.unwrapEffect(
    Effect.map(SagemakerEmulator.SagemakerEmulator, (emulator) =>
      SagemakerClient.layer({
        endpointUrl: emulator.url,
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDEXAMPLE"), secretAccessKey: Redacted.make("example-secret") }
      }))
  ).pipe(Layer.provide(SagemakerEmulator.layer({ personality: "embeddings" })))
  : SagemakerClient.layer({})

const EmbeddingsLive = SagemakerEmbeddingModel.layer({ endpointName: endpointName ?? "my-embeddings-endpoint" }).pipe(
  Layer.provide(ClientLive)
)

program.pipe(Effect.provide(EmbeddingsLive), NodeRuntime.runMain)
