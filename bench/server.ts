/**
 * The bench server: a minimal `node:http` SageMaker Runtime on 127.0.0.1 that answers at once with
 * fixed, pre-built bodies, so that what the bench measures is the client. It runs in its own
 * process (its CPU is not the client's) and stops when its parent goes away, or after a bound.
 *
 * - `POST /endpoints/{name}/invocations` → 200, a TGI body (`[{"generated_text": ...}]`).
 * - `POST /endpoints/{name}/invocations-response-stream` → 200, an event stream of one PayloadPart
 *   frame per TGI server-sent event (100 tokens, or `-tokens-<n>` in the name). The headers and
 *   the first frame go out at once, the other frames right after in one write.
 * - `-chat` in the name: a chat container (vLLM's OpenAI server): a body with `messages` gets a
 *   chat completion, or for streams one PayloadPart per chat-completion chunk (a role chunk, one
 *   chunk per token, the finish and usage chunks, `[DONE]`); a body without `messages` gets 400.
 * - `-delay-<millis>` in the endpoint name holds the answer back (the slow-model scenario).
 * - `-capacity-<n>` serves n requests at once on that endpoint and throttles the rest as SageMaker
 *   does (400 `ThrottlingException`), counted in `throttled` (the batch scenario).
 * - `GET /__stats[?reset=1]` → request counts, and how many carried the SDK's
 *   `amz-sdk-invocation-id` header (tells the SDK transport from a lean one).
 *
 * Started by `bench/run.ts` with `child_process.fork`; reports `{ port }` over IPC.
 */
import { EventStreamCodec } from "@smithy/eventstream-codec"
import { fromUtf8, toUtf8 } from "@smithy/util-utf8"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { CHAT_RESPONSE, chatEvents, STREAM_TOKENS, tgiEvents, UNARY_RESPONSE } from "./shared.js"

/** The server never outlives this, whatever happens to its parent. */
const MAX_LIFETIME_MS = 15 * 60_000

const codec = new EventStreamCodec(toUtf8, fromUtf8)
const payloadPart = (text: string): Buffer =>
  Buffer.from(codec.encode({
    headers: {
      ":event-type": { type: "string", value: "PayloadPart" },
      ":content-type": { type: "string", value: "application/octet-stream" },
      ":message-type": { type: "string", value: "event" }
    },
    body: fromUtf8(text)
  }))

/**
 * Pre-encoded streams by dialect and token count: [the frames up to the first token's, all the
 * others]. The chat stream's first frame carries only the role, so its head is two frames: the
 * first token leaves at once in both.
 */
const streams = new Map<string, readonly [Buffer, Buffer]>()
const streamFrames = (tokens: number, chat: boolean): readonly [Buffer, Buffer] => {
  const key = `${chat ? "chat" : "tgi"}-${tokens}`
  let frames = streams.get(key)
  if (frames === undefined) {
    const encoded = (chat ? chatEvents(tokens) : tgiEvents(tokens)).map(payloadPart)
    const head = chat ? 2 : 1
    frames = [Buffer.concat(encoded.slice(0, head)), Buffer.concat(encoded.slice(head))]
    streams.set(key, frames)
  }
  return frames
}

const jsonHeaders = (body: Buffer) => ({
  "Content-Type": "application/json",
  "Content-Length": String(body.length),
  "x-Amzn-Invoked-Production-Variant": "AllTraffic",
  "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000"
})
const unaryBody = Buffer.from(UNARY_RESPONSE)
const unaryHeaders = jsonHeaders(unaryBody)
const chatBody = Buffer.from(CHAT_RESPONSE)
const chatHeaders = jsonHeaders(chatBody)

/** Whether a request body is a Messages API one (what a chat container answers). */
const hasMessages = (body: Buffer): boolean => {
  try {
    return Array.isArray((JSON.parse(body.toString("utf8")) as { messages?: unknown }).messages)
  } catch {
    return false
  }
}
const streamHeaders = {
  "Content-Type": "application/vnd.amazon.eventstream",
  "X-Amzn-SageMaker-Content-Type": "text/event-stream",
  "x-Amzn-Invoked-Production-Variant": "AllTraffic",
  "x-amzn-RequestId": "00000000-0000-4000-8000-000000000001"
}

const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/
const stats = { requests: 0, sdkRequests: 0, streams: 0, throttled: 0, chatRequests: 0 }
/** Requests in flight per endpoint with a capacity. */
const inFlight = new Map<string, number>()

const respond = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void => {
  const url = req.url ?? ""
  if (req.method === "GET" && url.startsWith("/__stats")) {
    const body = JSON.stringify(stats)
    if (url.includes("reset=1")) {
      stats.requests = 0
      stats.sdkRequests = 0
      stats.streams = 0
      stats.throttled = 0
      stats.chatRequests = 0
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(body)
    return
  }
  const match = ROUTE.exec(url)
  if (req.method !== "POST" || match === null) {
    res.writeHead(404, { "Content-Type": "application/json", "x-amzn-ErrorType": "UnknownOperationException" })
      .end("{\"message\":\"not a bench route\"}")
    return
  }
  stats.requests++
  if (req.headers["amz-sdk-invocation-id"] !== undefined) stats.sdkRequests++
  const name = match[1]!
  const chat = name.includes("-chat")
  if (chat) {
    stats.chatRequests++
    if (body === undefined || !hasMessages(body)) {
      res.writeHead(400, { "Content-Type": "application/json", "x-amzn-ErrorType": "ValidationError" })
        .end("{\"message\":\"a chat endpoint of the bench wants a messages body\"}")
      return
    }
  }
  const delay = /-delay-(\d+)/.exec(name)
  const capacity = /-capacity-(\d+)/.exec(name)
  if (capacity !== null) {
    const busy = inFlight.get(name) ?? 0
    if (busy >= Number(capacity[1])) {
      stats.throttled++
      res.writeHead(400, { "Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException" })
        .end("{\"message\":\"Rate exceeded\"}")
      return
    }
    inFlight.set(name, busy + 1)
    res.on("close", () => inFlight.set(name, (inFlight.get(name) ?? 1) - 1))
  }
  const answer = () => {
    if (match[2] === "invocations") {
      if (chat) res.writeHead(200, chatHeaders).end(chatBody)
      else res.writeHead(200, unaryHeaders).end(unaryBody)
      return
    }
    stats.streams++
    const tokens = /-tokens-(\d+)/.exec(name)
    const [first, rest] = streamFrames(tokens === null ? STREAM_TOKENS : Number(tokens[1]), chat)
    res.writeHead(200, streamHeaders)
    res.write(first)
    setImmediate(() => res.end(rest))
  }
  if (delay === null) answer()
  else setTimeout(answer, Number(delay[1]))
}

const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  // Read the request to its end before answering, as SageMaker does; keep it only for a chat container.
  const chunks: Array<Buffer> | undefined = req.url?.includes("-chat") ? [] : undefined
  req.on("data", (chunk: Buffer) => chunks?.push(chunk))
  req.on("end", () => respond(req, res, chunks === undefined ? undefined : Buffer.concat(chunks)))
  req.on("error", () => res.destroy())
})
server.headersTimeout = 66_000

const stop = () => {
  server.close()
  server.closeAllConnections()
  process.exit(0)
}
setTimeout(stop, MAX_LIFETIME_MS).unref()
process.on("disconnect", stop)
process.on("SIGTERM", stop)

// A backlog above the 1,000 simultaneous connects of the concurrency scenario.
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  const port = (server.address() as AddressInfo).port
  if (process.send !== undefined) process.send({ port })
  else console.log(JSON.stringify({ port }))
})
