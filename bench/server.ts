/**
 * The bench server: a minimal `node:http` SageMaker Runtime on 127.0.0.1 that answers at once with
 * fixed, pre-built bodies, so that what the bench measures is the client. It runs in its own
 * process (its CPU is not the client's) and stops when its parent goes away, or after a bound.
 *
 * - `POST /endpoints/{name}/invocations` → 200, a TGI body (`[{"generated_text": ...}]`).
 * - `POST /endpoints/{name}/invocations-response-stream` → 200, an event stream of one PayloadPart
 *   frame per TGI server-sent event (100 tokens, or `-tokens-<n>` in the name). The headers and
 *   the first frame go out at once, the other frames right after in one write.
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
import { STREAM_TOKENS, tgiEvents, UNARY_RESPONSE } from "./shared.js"

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

/** Pre-encoded streams by token count: [first frame, all the others]. */
const streams = new Map<number, readonly [Buffer, Buffer]>()
const streamFrames = (tokens: number): readonly [Buffer, Buffer] => {
  let frames = streams.get(tokens)
  if (frames === undefined) {
    const encoded = tgiEvents(tokens).map(payloadPart)
    frames = [encoded[0]!, Buffer.concat(encoded.slice(1))]
    streams.set(tokens, frames)
  }
  return frames
}

const unaryBody = Buffer.from(UNARY_RESPONSE)
const unaryHeaders = {
  "Content-Type": "application/json",
  "Content-Length": String(unaryBody.length),
  "x-Amzn-Invoked-Production-Variant": "AllTraffic",
  "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000"
}
const streamHeaders = {
  "Content-Type": "application/vnd.amazon.eventstream",
  "X-Amzn-SageMaker-Content-Type": "text/event-stream",
  "x-Amzn-Invoked-Production-Variant": "AllTraffic",
  "x-amzn-RequestId": "00000000-0000-4000-8000-000000000001"
}

const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/
const stats = { requests: 0, sdkRequests: 0, streams: 0, throttled: 0 }
/** Requests in flight per endpoint with a capacity. */
const inFlight = new Map<string, number>()

const respond = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const url = req.url ?? ""
  if (req.method === "GET" && url.startsWith("/__stats")) {
    const body = JSON.stringify(stats)
    if (url.includes("reset=1")) {
      stats.requests = 0
      stats.sdkRequests = 0
      stats.streams = 0
      stats.throttled = 0
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
      res.writeHead(200, unaryHeaders).end(unaryBody)
      return
    }
    stats.streams++
    const tokens = /-tokens-(\d+)/.exec(name)
    const [first, rest] = streamFrames(tokens === null ? STREAM_TOKENS : Number(tokens[1]))
    res.writeHead(200, streamHeaders)
    res.write(first)
    setImmediate(() => res.end(rest))
  }
  if (delay === null) answer()
  else setTimeout(answer, Number(delay[1]))
}

const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  // Read the request to its end before answering, as SageMaker does.
  req.on("data", () => {})
  req.on("end", () => respond(req, res))
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
