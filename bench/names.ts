/**
 * The contenders' names, labels and transports (type imports only: the orchestrator reads them
 * without loading the SDK or the library).
 */
import type { Transport } from "../src/SagemakerClient.js"

export const unaryContenders = ["floor", "sdk", "sdk-cached", "run", "run-http"] as const
export type UnaryContender = typeof unaryContenders[number]
export const streamContenders = [
  "stream-floor",
  "stream-floor-effect",
  "stream-sdk",
  "stream-run",
  "stream-run-http"
] as const
export type StreamContender = typeof streamContenders[number]

/**
 * Contenders built asynchronously from modules of their own, loaded only in their worker: LangChain
 * JS (from `bench/peers`) and `@effect/ai`'s `LanguageModel` through `SagemakerLanguageModel`.
 */
export const peerUnaryContenders = ["langchain", "lm"] as const
export type PeerUnaryContender = typeof peerUnaryContenders[number]
export const peerStreamContenders = ["stream-langchain", "stream-lm"] as const
export type PeerStreamContender = typeof peerStreamContenders[number]

/** The language model's contenders: they talk to the bench server's chat endpoints. */
export const chatContenders: ReadonlyArray<string> = ["lm", "stream-lm"]

/**
 * The transport of each of our contenders, passed explicitly: which row is which never depends on
 * the library's `defaultTransport`. The `http` rows are the default ones (issue 16).
 */
export const transportOf: Readonly<Record<string, Transport>> = {
  run: "sdk",
  "run-http": "http",
  "stream-run": "sdk",
  "stream-run-http": "http",
  lm: "http",
  "stream-lm": "http"
}

export const labels: Record<UnaryContender | StreamContender | PeerUnaryContender | PeerStreamContender, string> = {
  floor: "floor: node:http + SigV4",
  sdk: "raw SDK send()",
  "sdk-cached": "raw SDK, cacheMiddleware",
  run: "SagemakerGenerator.run (sdk)",
  "run-http": "SagemakerGenerator.run, default (http)",
  langchain: "LangChain JS SageMakerEndpoint.invoke",
  lm: "LanguageModel.generateText (SagemakerLanguageModel, http)",
  "stream-floor": "floor: node:http + SigV4 + EventStreamCodec",
  "stream-floor-effect": "the floor's stream as an Effect Stream (runForEachChunk)",
  "stream-sdk": "raw SDK stream (cacheMiddleware)",
  "stream-run": "SagemakerGenerator.stream (sdk)",
  "stream-run-http": "SagemakerGenerator.stream, default (http)",
  "stream-langchain": "LangChain JS SageMakerEndpoint.stream",
  "stream-lm": "LanguageModel.streamText (SagemakerLanguageModel, http)"
}
