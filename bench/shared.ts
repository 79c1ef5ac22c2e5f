/**
 * What every benchmark process shares: the request every contender sends, the fixed answers of
 * the bench server, static credentials, a SHA-256 for SigV4 and small statistics helpers.
 *
 * Kept free of third-party imports so that the cold-start probe can load it without skewing its
 * own measurement.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto"

/** The endpoint every unary and stream request goes to. */
export const ENDPOINT = "bench"
/** The endpoint whose answers the server holds back (`-delay-<millis>`). */
export const delayedEndpoint = (millis: number) => `bench-delay-${millis}`
/** A stream endpoint with `tokens` events (`-tokens-<n>`). */
export const streamEndpoint = (tokens: number) => `bench-tokens-${tokens}`
/** The endpoint of a chat container (`-chat`): OpenAI chat completions for `messages` bodies. */
export const CHAT_ENDPOINT = "bench-chat"
/** A chat stream endpoint: `tokens` chat-completion chunks of one token each. */
export const chatStreamEndpoint = (tokens: number) => `bench-chat-tokens-${tokens}`

/** Where the peers' packages are (`bench/peers`), set by the orchestrator for its children. */
export const PEERS_DIR_ENV = "EFFECT_SAGEMAKER_BENCH_PEERS"

export const REGION = "us-east-1"
export const CREDENTIALS = { accessKeyId: "AKIDBENCHMARK", secretAccessKey: "bench-secret-not-checked" } as const

export const PROMPT = "What's Natural Language Processing?"
/** Haystack's default generation kwargs: what `run(PROMPT)` sends. */
export const PARAMETERS = { max_new_tokens: 1024 } as const

const encoder = new TextEncoder()

/** The request body `run` sends, built per call by the baselines as a user would. */
export const requestBody = (): Uint8Array => encoder.encode(JSON.stringify({ inputs: PROMPT, parameters: PARAMETERS }))
/** The request body `stream` sends. */
export const streamRequestBody = (): Uint8Array =>
  encoder.encode(JSON.stringify({ inputs: PROMPT, parameters: PARAMETERS, stream: true }))

/** The answer's text, shared by the TGI body and the chat completion. */
const ANSWER = " Natural Language Processing (NLP) is a field of computer science and artificial intelligence " +
  "that studies how computers can understand, interpret and generate human language."

/** The answer of a TGI container to InvokeEndpoint. */
export const UNARY_RESPONSE = JSON.stringify([{ generated_text: ANSWER }])

/** Tokens per stream in the main stream measurement. */
export const STREAM_TOKENS = 100
/** Tokens per stream of the short stream, for the marginal cost of one event. */
export const SHORT_STREAM_TOKENS = 20

/** One TGI server-sent event per token, the last one with the details (docs/protocol.md §7.1). */
export const tgiEvents = (tokens: number): Array<string> =>
  Array.from({ length: tokens }, (_, i) => {
    const last = i === tokens - 1
    return `data:${
      JSON.stringify({
        index: i + 1,
        token: { id: 1000 + i, text: ` tok${i}`, logprob: -0.25, special: false },
        generated_text: last ? Array.from({ length: tokens }, (_, j) => ` tok${j}`).join("") : null,
        details: last ? { finish_reason: "length", generated_tokens: tokens, input_length: 8, seed: null } : null
      })
    }\n\n`
  })

const CHAT_ID = "chatcmpl-8f3a1c9e2b7d4e6f9a0b1c2d3e4f5a6b"
const CHAT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"

/**
 * vLLM's answer to a `messages` body on /invocations: `ChatCompletionResponse.model_dump()`,
 * every field as test/fixtures/containers/vllm.ts has it (the text and counts ours).
 */
export const CHAT_RESPONSE = JSON.stringify({
  id: CHAT_ID,
  object: "chat.completion",
  created: 1754317812,
  model: CHAT_MODEL,
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content: ANSWER,
      refusal: null,
      annotations: null,
      audio: null,
      function_call: null,
      tool_calls: [],
      reasoning_content: null
    },
    logprobs: null,
    finish_reason: "stop",
    stop_reason: null
  }],
  service_tier: null,
  system_fingerprint: null,
  usage: { prompt_tokens: 42, total_tokens: 70, completion_tokens: 28, prompt_tokens_details: null },
  prompt_logprobs: null,
  kv_transfer_params: null
})

/**
 * vLLM's chat stream with `include_usage` (test/fixtures/containers/vllm.ts): a role-only chunk,
 * one chunk per token, the finish chunk, the usage chunk, `[DONE]`; one server-sent event each.
 */
export const chatEvents = (tokens: number): Array<string> => {
  const chunk = (choices: ReadonlyArray<unknown>, usage?: unknown) =>
    `data: ${
      JSON.stringify({
        id: CHAT_ID,
        object: "chat.completion.chunk",
        created: 1754317900,
        model: CHAT_MODEL,
        choices,
        ...(usage === undefined ? {} : { usage })
      })
    }\n\n`
  const delta = (content: Record<string, string>, finish: string | null = null) => ({
    index: 0,
    delta: content,
    logprobs: null,
    finish_reason: finish,
    ...(finish === null ? {} : { stop_reason: null })
  })
  return [
    chunk([delta({ role: "assistant", content: "" })]),
    ...Array.from({ length: tokens }, (_, i) => chunk([delta({ content: ` tok${i}` })])),
    chunk([delta({ content: "" }, "stop")]),
    chunk([], { prompt_tokens: 42, total_tokens: 42 + tokens, completion_tokens: tokens }),
    "data: [DONE]\n\n"
  ]
}

/** `@smithy/signature-v4`'s checksum interface over node:crypto (HMAC when given a secret). */
export class Sha256 {
  private hash: Hash | Hmac
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.make()
  }
  private make(): Hash | Hmac {
    const secret = this.secret
    if (secret === undefined) return createHash("sha256")
    const key = typeof secret === "string"
      ? secret
      : ArrayBuffer.isView(secret)
      ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
      : Buffer.from(secret)
    return createHmac("sha256", key)
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data === "string") this.hash.update(data, "utf8")
    else if (ArrayBuffer.isView(data)) this.hash.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    else this.hash.update(Buffer.from(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()))
  }
  reset(): void {
    this.hash = this.make()
  }
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

export const median = (values: ReadonlyArray<number>): number => {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return Number.NaN
  const sorted = [...finite].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Reads a `--name value` argument. */
export const argValue = (argv: ReadonlyArray<string>, name: string): string | undefined => {
  const index = argv.indexOf(name)
  return index >= 0 ? argv[index + 1] : undefined
}

/**
 * Runs a bench script's `main` in a child process: prints its report as one JSON line and exits 0,
 * or prints the error and exits 1.
 */
export const runReport = (main: () => Promise<unknown>): void => {
  main().then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`)
      process.exit(0)
    },
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    }
  )
}

/**
 * CPU per call of each contender, in microseconds: a warm-up of each, then `rounds` interleaved
 * rounds of `calls / rounds` calls each, the median of the rounds (one process: noise falls on all).
 */
export const cpuPerCall = async (
  contenders: Readonly<Record<string, () => Promise<unknown>>>,
  calls: number,
  rounds: number
): Promise<Record<string, number>> => {
  const measure = async (call: () => Promise<unknown>, n: number) => {
    const cpu = process.cpuUsage()
    for (let i = 0; i < n; i++) await call()
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / n
  }
  for (const call of Object.values(contenders)) await measure(call, 2000)
  const samples: Record<string, Array<number>> = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, call] of Object.entries(contenders)) {
      ;(samples[name] ??= []).push(await measure(call, calls / rounds))
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}
