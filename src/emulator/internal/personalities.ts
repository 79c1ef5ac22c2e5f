/**
 * The model container dialects over the deterministic generator (docs/emulator.md): each personality
 * is answered by the module that follows its server — TGI (`tgi.ts`, also the lenient `default`),
 * DJL LMI (`lmi.ts`), vLLM (`vllm.ts`, also `messages`, its former name) and JumpStart Llama 2
 * (`jumpstart.ts`); `embeddings` answers TEI, vLLM and JumpStart embeddings bodies (`embeddings.ts`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ModelRequest, ModelResponse, Personality, Responder } from "../SagemakerEmulator.js"
import * as D from "./dialect.js"
import * as Embeddings from "./embeddings.js"
import * as JumpStart from "./jumpstart.js"
import * as Lmi from "./lmi.js"
import * as Tgi from "./tgi.js"
import * as Vllm from "./vllm.js"

/**
 * Answers `request` as the container behind `personality` would.
 *
 * @internal
 */
export const respond = (personality: Personality, request: ModelRequest, nowMillis: number): ModelResponse => {
  const ctx = D.context(request, nowMillis)
  switch (personality) {
    case "llama2":
    case "llama2-chat":
      return JumpStart.respond(personality, request)
    case "lmi":
      return Lmi.respond(ctx)
    case "vllm":
    case "messages":
      return Vllm.respond(ctx)
    case "tgi":
      return Tgi.respond(ctx, false)
    case "default":
      return Tgi.respond(ctx, true)
    case "embeddings":
      return Embeddings.respond(request)
  }
}

/**
 * The built-in model as a `Responder`.
 *
 * @internal
 */
export const responder = (personality: Personality): Responder => (request) =>
  Effect.map(Clock.currentTimeMillis, (now) => respond(personality, request, now))
