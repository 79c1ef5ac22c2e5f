/**
 * An embeddings container: the same text always gives the same vector, different texts different
 * ones (a hash of the text seeds each vector, normalized to length 1). It speaks the body of the
 * common embeddings containers, told apart by body shape as the servers route:
 *
 * - TEI (`{"inputs": string | string[]}`) → `[[...], ...]`, one vector per input, as
 *   huggingface/text-embeddings-inference's `/embed` answers;
 * - vLLM's OpenAI embeddings (`{"input": string | string[]}`) → `{"object": "list", "data":
 *   [{"object": "embedding", "index", "embedding"}], "model", "usage"}`;
 * - JumpStart text embedding models (`{"text_inputs": string | string[]}`) → `{"embedding": [...]}`,
 *   a vector for a string, a list of vectors for a list.
 *
 * @since 0.1.0
 * @internal
 */
import { createHash } from "node:crypto"
import type { ModelRequest, ModelResponse } from "../SagemakerEmulator.js"
import * as D from "./dialect.js"

/** The length of every vector. */
export const DIMENSIONS = 32

/** A unit vector seeded by the text's SHA-256 (xorshift over the hash's words). */
export const vectorOf = (text: string): Array<number> => {
  const seed = createHash("sha256").update(text, "utf8").digest()
  let state = seed.readUInt32LE(0) || 1
  const values: Array<number> = []
  for (let i = 0; i < DIMENSIONS; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state ^= seed.readUInt32LE((i % 8) * 4)
    values.push(((state >>> 0) / 0xffffffff) * 2 - 1)
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1
  return values.map((v) => Math.round((v / norm) * 1e6) / 1e6)
}

const texts = (value: unknown): Array<string> | string | undefined =>
  typeof value === "string"
    ? value
    : Array.isArray(value) && value.length > 0 && value.every((t) => typeof t === "string")
    ? value as Array<string>
    : undefined

const wordsIn = (text: string) => text.split(/\s+/).filter((word) => word.length > 0).length

export const respond = (request: ModelRequest): ModelResponse => {
  const body = request.json
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return D.json(422, { error: "the body must be a JSON object", error_type: "Validation" })
  }
  const record = body as Record<string, unknown>
  if ("inputs" in record) {
    const inputs = texts(record.inputs)
    if (inputs === undefined) {
      return D.json(422, { error: "inputs must be a string or a non-empty list of strings", error_type: "Validation" })
    }
    return D.json(200, (typeof inputs === "string" ? [inputs] : inputs).map(vectorOf))
  }
  if ("input" in record) {
    const input = texts(record.input)
    if (input === undefined) {
      return D.json(400, {
        error: {
          message: "input must be a string or a list of strings",
          type: "BadRequestError",
          param: null,
          code: 400
        }
      })
    }
    const list = typeof input === "string" ? [input] : input
    const promptTokens = list.reduce((sum, text) => sum + wordsIn(text), 0)
    return D.json(200, {
      id: `embd-${list.length}`,
      object: "list",
      created: 0,
      model: typeof record.model === "string" ? record.model : "emulator-embeddings",
      data: list.map((text, index) => ({ index, object: "embedding", embedding: vectorOf(text) })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0 }
    })
  }
  if ("text_inputs" in record) {
    const inputs = texts(record.text_inputs)
    if (inputs === undefined) return D.json(400, { message: "text_inputs must be a string or a list of strings" })
    return D.json(200, { embedding: typeof inputs === "string" ? vectorOf(inputs) : inputs.map(vectorOf) })
  }
  return D.json(400, {
    message: `an embeddings body has "inputs", "input" or "text_inputs"; got ${
      Object.keys(record).join(", ") || "no keys"
    }`
  })
}
