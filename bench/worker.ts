/**
 * One contender in a process of its own, driven over IPC by `bench/run.ts`: it builds its client,
 * says `ready`, then runs each load slice it is asked for (so many requests in flight for so many
 * milliseconds) and answers with the slice's figures. The orchestrator interleaves short slices of
 * every contender, round-robin, so that the noise of a shared machine falls on all of them alike.
 *
 * The server runs in another process, so `process.cpuUsage()` here is the client's work alone.
 */
import {
  makeStreaming,
  makeUnary,
  type StreamContender,
  streamContenders,
  type Streaming,
  type Unary,
  type UnaryContender,
  unaryContenders
} from "./contenders.js"
import { abortCheck, experimentCaller, isVariant } from "./experiments.js"
import { chatContenders, peerStreamContenders, peerUnaryContenders } from "./names.js"
import {
  argValue,
  CHAT_ENDPOINT,
  chatStreamEndpoint,
  ENDPOINT,
  SHORT_STREAM_TOKENS,
  STREAM_TOKENS,
  streamEndpoint
} from "./shared.js"

/** What the orchestrator asks for: a slice of load on one workload. */
export interface SliceRequest {
  readonly type: "slice"
  /** `unary`, or a stream of `long` (100 events) or `short` (20 events). */
  readonly workload: "unary" | "long" | "short"
  readonly inflight: number
  readonly durationMs: number
}

export interface SliceResult {
  readonly type: "slice"
  readonly completed: number
  readonly errors: number
  readonly firstError: string | undefined
  readonly elapsedMs: number
  readonly cpuUs: number
  /** Events received (streams), else requests. */
  readonly units: number
  readonly latencies: ReadonlyArray<number>
  /** Streams: from the call to the first token. */
  readonly ttfts: ReadonlyArray<number>
}

/** Asks an experiments worker whether the proposed SDK fix still aborts. */
export interface AbortCheckRequest {
  readonly type: "abortCheck"
}

export interface AbortCheckResult {
  readonly type: "abortCheck"
  readonly ms: number
}

export interface FinalReport {
  readonly type: "final"
  readonly maxRssMb: number
}

/** At most this many latencies per slice go back (a uniform sample of the slice's). */
const MAX_SAMPLES = 2000

const sample = (values: Array<number>): Array<number> => {
  if (values.length <= MAX_SAMPLES) return values
  const step = values.length / MAX_SAMPLES
  return Array.from({ length: MAX_SAMPLES }, (_, i) => values[Math.floor(i * step)]!)
}

/**
 * Keeps `inflight` calls going until `durationMs` passed, then waits for the ones in flight.
 */
const load = async (
  call: () => Promise<{ readonly units: number; readonly firstTokenAt?: number }>,
  inflight: number,
  durationMs: number
): Promise<SliceResult> => {
  const latencies: Array<number> = []
  const ttfts: Array<number> = []
  let completed = 0
  let units = 0
  let errors = 0
  let firstError: string | undefined
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + durationMs
  const lane = async () => {
    while (performance.now() < deadline) {
      const startedAt = performance.now()
      try {
        const result = await call()
        latencies.push(performance.now() - startedAt)
        if (result.firstTokenAt !== undefined) ttfts.push(result.firstTokenAt - startedAt)
        completed++
        units += result.units
      } catch (error) {
        errors++
        firstError ??= String(error instanceof Error && error.stack !== undefined ? error.stack : error)
        // A broken contender must not spin: slow its lane down.
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane))
  const elapsedMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return {
    type: "slice",
    completed,
    errors,
    firstError,
    elapsedMs,
    cpuUs: cpu.user + cpu.system,
    units,
    latencies: sample(latencies),
    ttfts: sample(ttfts)
  }
}

/** The peers' contenders, each from its own module, imported only in its worker. */
const peerUnary = async (contender: string, url: string): Promise<Unary | undefined> => {
  if (!(peerUnaryContenders as ReadonlyArray<string>).includes(contender)) return undefined
  return contender === "langchain"
    ? (await import("./langchain.js")).langchainUnary({ url })
    : (await import("./languageModel.js")).languageModelUnary({ url })
}

const peerStreaming = async (contender: string, url: string): Promise<Streaming | undefined> => {
  if (!(peerStreamContenders as ReadonlyArray<string>).includes(contender)) return undefined
  return contender === "stream-langchain"
    ? (await import("./langchain.js")).langchainStream({ url })
    : (await import("./languageModel.js")).languageModelStream({ url })
}

const caller = async (contender: string, url: string, transport: string | undefined) => {
  const chat = chatContenders.includes(contender)
  const unary = (unaryContenders as ReadonlyArray<string>).includes(contender)
    ? makeUnary(contender as UnaryContender, { url, transport })
    : await peerUnary(contender, url)
  if (unary !== undefined) {
    const endpoint = chat ? CHAT_ENDPOINT : ENDPOINT
    const call = () => unary.call(endpoint).then(() => ({ units: 1 }))
    return { call: (_workload: SliceRequest["workload"]) => call, close: unary.close }
  }
  const client = (streamContenders as ReadonlyArray<string>).includes(contender)
    ? makeStreaming(contender as StreamContender, { url, transport })
    : await peerStreaming(contender, url)
  if (client !== undefined) {
    const stream = (tokens: number) => {
      const endpoint = chat ? chatStreamEndpoint(tokens) : streamEndpoint(tokens)
      return () =>
        client.call(endpoint).then((result) => {
          if (result.events !== tokens) throw new Error(`expected ${tokens} events, got ${result.events}`)
          return { units: result.events, firstTokenAt: result.firstTokenAt }
        })
    }
    const long = stream(STREAM_TOKENS)
    const short = stream(SHORT_STREAM_TOKENS)
    return { call: (workload: SliceRequest["workload"]) => workload === "short" ? short : long, close: client.close }
  }
  if (isVariant(contender)) {
    const call = experimentCaller(contender, url)
    return { call: (_workload: SliceRequest["workload"]) => call, close: () => Promise.resolve() }
  }
  throw new Error(`unknown contender ${contender}`)
}

const main = async () => {
  const argv = process.argv.slice(2)
  const contender = argValue(argv, "--contender") ?? ""
  const url = argValue(argv, "--url")
  const transport = argValue(argv, "--transport")
  if (url === undefined || process.send === undefined) throw new Error("run by bench/run.ts (IPC and --url)")
  const send = (message: SliceResult | FinalReport | AbortCheckResult | { readonly type: "ready" }) =>
    process.send!(message)
  // Never outlive the orchestrator.
  process.on("disconnect", () => setTimeout(() => process.exit(0), 100).unref())
  setTimeout(() => process.exit(2), 10 * 60_000).unref()
  const client = await caller(contender, url, transport)
  // Work is serialized: one slice at a time, in the order asked.
  let queue = Promise.resolve()
  process.on("message", (message: SliceRequest | AbortCheckRequest | { readonly type: "finish" }) => {
    queue = queue.then(async () => {
      if (message.type === "slice") {
        send(await load(client.call(message.workload), message.inflight, message.durationMs))
      } else if (message.type === "abortCheck") {
        send({ type: "abortCheck", ms: await abortCheck(url) })
      } else {
        await client.close()
        send({ type: "final", maxRssMb: process.resourceUsage().maxRSS / 1024 })
        process.disconnect()
        setTimeout(() => process.exit(0), 100).unref()
      }
    })
  })
  send({ type: "ready" })
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
