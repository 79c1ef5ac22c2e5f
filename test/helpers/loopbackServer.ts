/**
 * A scripted HTTP server on 127.0.0.1 for tests of the real SDK client: each request is answered by
 * a handler returning status, headers and body, and every request is recorded (headers, body) with
 * whether the client closed its socket before an answer.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  readonly text: string
  readonly json: () => unknown
}

export interface Reply {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array
  /** Never answer (the client must time out or abort). */
  readonly hang?: boolean
  /** Destroy the socket without answering. */
  readonly reset?: boolean
  /** Send the body in 64 KiB pieces with `Transfer-Encoding: chunked` (no Content-Length). */
  readonly chunked?: boolean
}

export interface LoopbackServer {
  readonly url: string
  readonly requests: Array<SeenRequest>
  /** Requests whose socket closed before the server answered. */
  readonly aborted: () => number
  readonly openSockets: () => number
  /** Connections accepted since the server started. */
  readonly connections: () => number
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", "x-amzn-requestid": "req-1234", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body)
})

export const serviceError = (
  status: number,
  errorType: string | undefined,
  body: unknown,
  headers: Record<string, string> = {}
): Reply => json(status, body, errorType === undefined ? headers : { "x-amzn-errortype": errorType, ...headers })

export const start = (
  handler: (request: SeenRequest, index: number) => Reply
): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; state: LoopbackServer }>((resume) => {
      const requests: Array<SeenRequest> = []
      const sockets = new Set<import("node:net").Socket>()
      let aborted = 0
      let connections = 0
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const body = Buffer.concat(chunks)
          const seen: SeenRequest = {
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            body,
            text: body.toString("utf8"),
            json: () => JSON.parse(body.toString("utf8"))
          }
          requests.push(seen)
          const reply = handler(seen, requests.length - 1)
          if (reply.reset) {
            req.socket.destroy()
            return
          }
          if (reply.hang) {
            res.on("close", () => {
              if (!res.writableEnded) aborted++
            })
            return
          }
          res.writeHead(reply.status ?? 200, reply.headers ?? {})
          if (reply.chunked) {
            const body = Buffer.from(reply.body ?? "")
            for (let at = 0; at < body.length; at += 65_536) res.write(body.subarray(at, at + 65_536))
            res.end()
            return
          }
          res.end(reply.body ?? "")
        })
      })
      server.on("connection", (socket) => {
        sockets.add(socket)
        connections++
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          server,
          state: {
            url: `http://127.0.0.1:${port}`,
            requests,
            aborted: () => aborted,
            openSockets: () => sockets.size,
            connections: () => connections
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))
