/**
 * The emulator's embeddings personality through the real SDK client: TEI, vLLM and JumpStart
 * bodies, the same text always the same unit vector, different texts different vectors.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { client, invokeJson } from "./helpers/emulator.js"

const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const norm = (vector: ReadonlyArray<number>) => Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0))

describe("emulator: the embeddings personality", () => {
  it.scopedLive("TEI, vLLM and JumpStart bodies, one deterministic unit vector per text", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "embeddings" })
      const c = yield* client(emulator)
      const tei =
        (yield* invokeJson(c, { EndpointName: "ep", Body: body({ inputs: ["a cat", "a dog", "a cat"] }) })) as Array<
          Array<number>
        >
      assert.strictEqual(tei.length, 3)
      assert.deepStrictEqual(tei[0], tei[2])
      assert.notDeepEqual(tei[0], tei[1])
      for (const vector of tei) assert.closeTo(norm(vector), 1, 1e-5)

      const vllm = (yield* invokeJson(c, { EndpointName: "ep", Body: body({ input: ["a dog"], model: "m" }) })) as {
        data: Array<{ index: number; embedding: Array<number> }>
        usage: { prompt_tokens: number }
      }
      assert.deepStrictEqual(vllm.data.map((d) => d.index), [0])
      assert.deepStrictEqual(vllm.data[0]!.embedding, tei[1])
      assert.strictEqual(vllm.usage.prompt_tokens, 2)

      const jumpstart = (yield* invokeJson(c, { EndpointName: "ep", Body: body({ text_inputs: "a cat" }) })) as {
        embedding: Array<number>
      }
      assert.deepStrictEqual(jumpstart.embedding, tei[0])
    }))
})
