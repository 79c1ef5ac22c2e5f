/**
 * `@effect/ai`'s `LanguageModel` as a contender (issue 13): `LanguageModel.generateText` and
 * `streamText` through `SagemakerLanguageModel` (the `openai` dialect, its default) on a
 * `SagemakerClient` of the transport `transportOf` names, against the bench server's chat
 * endpoints (vLLM's chat completion, and its chat-completion chunks one token each). Loaded only
 * in the language model's workers: no other contender carries `@effect/ai`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"
import type { Setup, Streaming, StreamResult, Unary } from "./contenders.js"
import { transportOf } from "./names.js"
import { CHAT_ENDPOINT, CREDENTIALS, PARAMETERS, PROMPT, REGION } from "./shared.js"

type ModelRuntime = ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, unknown>

/**
 * One language model (one layer, one client) per endpoint name, built on first use, as the
 * generator's contenders do.
 */
const models = (setup: Setup, transport: SagemakerClient.Transport) => {
  const runtimes = new Map<string, ModelRuntime>()
  const client = Layer.scoped(
    SagemakerClient.SagemakerClient,
    SagemakerClient.makeTransport(transport, {
      region: REGION,
      credentials: {
        accessKeyId: Redacted.make(CREDENTIALS.accessKeyId),
        secretAccessKey: Redacted.make(CREDENTIALS.secretAccessKey)
      },
      endpointUrl: setup.url,
      ...(setup.maxSockets === undefined ? {} : { maxConcurrency: setup.maxSockets })
    })
  )
  return {
    get: (endpointName: string): ModelRuntime => {
      let runtime = runtimes.get(endpointName)
      if (runtime === undefined) {
        // The generator's `max_new_tokens`, by its Messages API name.
        const model = SagemakerLanguageModel.layer({ endpointName, config: { max_tokens: PARAMETERS.max_new_tokens } })
        runtime = ManagedRuntime.make(model.pipe(Layer.provide(client)))
        runtimes.set(endpointName, runtime)
      }
      return runtime
    },
    close: async () => {
      for (const runtime of runtimes.values()) await runtime.dispose()
    }
  }
}

/** `LanguageModel.generateText({ prompt })`. */
export const languageModelUnary = (setup: Setup): Promise<Unary> => {
  const runtimes = models(setup, transportOf.lm!)
  return Promise.resolve({
    call: async (endpoint = CHAT_ENDPOINT) => {
      const response = await runtimes.get(endpoint).runPromise(LanguageModel.generateText({ prompt: PROMPT }))
      if (response.text.length === 0) throw new Error("no text")
    },
    close: runtimes.close
  })
}

/** `LanguageModel.streamText({ prompt })`, read a chunk at a time as the generator's contender reads. */
export const languageModelStream = (setup: Setup): Promise<Streaming> => {
  const runtimes = models(setup, transportOf["stream-lm"]!)
  return Promise.resolve({
    call: async (endpoint): Promise<StreamResult> => {
      let events = 0
      let firstTokenAt = 0
      await runtimes.get(endpoint).runPromise(
        Stream.runForEachChunk(LanguageModel.streamText({ prompt: PROMPT }), (chunk) =>
          Effect.sync(() => {
            for (const part of chunk) {
              if (part.type !== "text-delta") continue
              if (events++ === 0) firstTokenAt = performance.now()
            }
          }))
      )
      return { firstTokenAt, events }
    },
    close: runtimes.close
  })
}
