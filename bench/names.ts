/**
 * The contenders' names and labels (no imports: the orchestrator reads them without loading the
 * SDK or the library).
 */
export const unaryContenders = ["floor", "sdk", "sdk-cached", "run", "run-http"] as const
export type UnaryContender = typeof unaryContenders[number]
export const streamContenders = ["stream-floor", "stream-sdk", "stream-run", "stream-run-http"] as const
export type StreamContender = typeof streamContenders[number]

export const labels: Record<UnaryContender | StreamContender, string> = {
  floor: "floor: node:http + SigV4",
  sdk: "raw SDK send()",
  "sdk-cached": "raw SDK, cacheMiddleware",
  run: "SagemakerGenerator.run (sdk)",
  "run-http": "SagemakerGenerator.run (lean)",
  "stream-floor": "floor: node:http + SigV4 + EventStreamCodec",
  "stream-sdk": "raw SDK stream (cacheMiddleware)",
  "stream-run": "SagemakerGenerator.stream (sdk)",
  "stream-run-http": "SagemakerGenerator.stream (lean)"
}
