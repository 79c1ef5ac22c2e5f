/**
 * The lean transport's wire (`nodeHttp.ts`) against real node servers on loopback: what the
 * transport tests above it cannot see, such as a streaming body that is not pulled holding its
 * socket back, a rejected header failing as a response-less exchange, and the agent reusing its
 * socket.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttp from "../src/internal/client/http/nodeHttp.js"

interface Server {
  readonly port: number
  /** Sockets the server accepted. */
  readonly connections: () => number
  /** Requests whose socket closed before the server ended its answer. */
  readonly aborted: () => number
}

/** A node server on 127.0.0.1 answering with `handler`, closed with the scope. */
const serve = (
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; state: Server }>((resume) => {
      let connections = 0
      let aborted = 0
      const server = http.createServer((req, res) => {
        res.on("close", () => {
          if (!res.writableFinished) aborted++
        })
        req.resume()
        req.on("end", () => handler(req, res))
      })
      server.on("connection", () => connections++)
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          state: {
            port: (server.address() as AddressInfo).port,
            connections: () => connections,
            aborted: () => aborted
          }
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

const request = (port: number, headers: Record<string, string> = {}): NodeHttp.Request => ({
  method: "POST",
  hostname: "127.0.0.1",
  port,
  path: "/endpoints/e/invocations",
  headers: { "content-type": "application/json", ...headers },
  body: new TextEncoder().encode("{}")
})

/** The preparer of a request that needs no signing. */
const post = (port: number, headers: Record<string, string> = {}) => () => Promise.resolve(request(port, headers))

const agent = NodeHttp.makeAgent("http:", 4)

const waitFor = (condition: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10))
  })

describe("nodeHttp.exchange", () => {
  it.scopedLive("reads the whole body, and the agent reuses its keep-alive socket", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.end(JSON.stringify({ ok: true })))
      const pool = yield* agent
      for (let i = 0; i < 3; i++) {
        const response = yield* NodeHttp.exchange(pool, post(server.port), 1024)
        assert.strictEqual(response.status, 200)
        assert.strictEqual(new TextDecoder().decode(response.body), `{"ok":true}`)
      }
      assert.strictEqual(server.connections(), 1)
    }))

  it.scopedLive("repeated set-cookie headers are joined like any other repeated header", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => {
        res.setHeader("set-cookie", ["a=1", "b=2"])
        res.setHeader("x-amzn-requestid", "r-1")
        res.end()
      })
      const response = yield* NodeHttp.exchange(yield* agent, post(server.port), 1024)
      assert.strictEqual(response.headers["set-cookie"], "a=1, b=2")
      assert.strictEqual(response.headers["x-amzn-requestid"], "r-1")
    }))

  it.scopedLive("a header node refuses fails the exchange as one without a response, not as a defect", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.end())
      const exit = yield* Effect.exit(
        NodeHttp.exchange(yield* agent, post(server.port, { "x-amzn-sagemaker-custom-attributes": "a\nb" }), 1024)
      )
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail")
      const failure = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.strictEqual(failure?._tag, "NoResponse")
      assert.match(failure?._tag === "NoResponse" ? failure.cause.message : "", /Invalid character in header/)
    }))

  it.scopedLive("a body over the limit fails without being held, announced or chunked", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        const body = Buffer.alloc(5000, 0x61)
        if (req.headers["x-chunked"] === "1") {
          res.write(body.subarray(0, 2500))
          res.end(body.subarray(2500))
        } else res.end(body)
      })
      const pool = yield* agent
      for (const chunked of ["0", "1"]) {
        const exit = yield* Effect.exit(NodeHttp.exchange(pool, post(server.port, { "x-chunked": chunked }), 4096))
        assert.deepStrictEqual(
          Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined,
          {
            _tag: "BodyFailed",
            status: 200,
            headers: (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "BodyFailed")
              ? exit.cause.error.headers
              : {},
            failure: { _tag: "TooLarge", bytes: chunked === "0" ? "5000" : "more than 4096" }
          }
        )
      }
    }))

  it.scopedLive("a body cut short is a broken body with node's ECONNRESET", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => {
        res.writeHead(200, { "content-length": "100" })
        res.write("partial", () => res.socket?.destroy())
      })
      const exit = yield* Effect.exit(NodeHttp.exchange(yield* agent, post(server.port), 1024))
      const failure = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.strictEqual(failure?._tag, "BodyFailed")
      const body = failure?._tag === "BodyFailed" ? failure.failure : undefined
      assert.strictEqual(body?._tag, "Broken")
      assert.strictEqual(body?._tag === "Broken" ? (body.cause as { code?: string }).code : "", "ECONNRESET")
    }))

  it.scopedLive("interrupting it destroys the request: the server sees its socket close", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {}) // never answers
      const fiber = yield* Effect.fork(NodeHttp.exchange(yield* agent, post(server.port), 1024))
      yield* waitFor(() => server.connections() === 1)
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      yield* waitFor(() => server.aborted() === 1)
      assert.strictEqual(server.aborted(), 1)
    }))
})

describe("nodeHttp.exchange: the request is prepared when the effect runs", () => {
  it.scopedLive("each run prepares its own request (a retry is signed anew)", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => res.end(req.headers["x-run"]))
      let runs = 0
      const exchange = NodeHttp.exchange(
        yield* agent,
        () => Promise.resolve(request(server.port, { "x-run": String(++runs) })),
        1024
      )
      assert.strictEqual(runs, 0)
      const first = yield* exchange
      const second = yield* exchange
      assert.deepStrictEqual(
        [new TextDecoder().decode(first.body), new TextDecoder().decode(second.body)],
        ["1", "2"]
      )
    }))

  it.scopedLive("a preparer that rejects or throws fails as NotPrepared with its cause, and nothing is sent", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.end())
      const pool = yield* agent
      const cause = new Error("no credentials")
      const rejected = () => Promise.reject(cause)
      const thrown = () => {
        throw cause
      }
      for (const prepare of [rejected, thrown]) {
        const exit = yield* Effect.exit(NodeHttp.exchange(pool, prepare, 1024))
        assert.deepStrictEqual(
          Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined,
          { _tag: "NotPrepared", cause }
        )
      }
      assert.strictEqual(server.connections(), 0)
    }))

  it.scopedLive("interrupted while the request is prepared, it is never sent", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.end())
      let release: (request: NodeHttp.Request) => void = () => {}
      const pending = new Promise<NodeHttp.Request>((resolve) => release = resolve)
      const fiber = yield* Effect.fork(NodeHttp.exchange(yield* agent, () => pending, 1024))
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      release(request(server.port))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(server.connections(), 0)
    }))
})

describe("nodeHttp.open", () => {
  it.scopedLive("a body that is not pulled stops its socket; pulled, it arrives whole and in order", () =>
    Effect.gen(function*() {
      const total = 32 * 1024 * 1024
      const piece = Buffer.alloc(64 * 1024)
      const sent = createHash("sha256")
      let accepted = 0
      const server = yield* serve((_, res) => {
        let i = 0
        const write = () => {
          while (accepted < total) {
            piece.fill(i++ % 251)
            sent.update(piece)
            accepted += piece.length
            if (!res.write(piece)) return void res.once("drain", write)
          }
          res.end()
        }
        write()
      })
      const scope = yield* Scope.make()
      const response = yield* Scope.extend(NodeHttp.open(yield* agent, post(server.port)), scope)
      assert.strictEqual(response.status, 200)
      yield* Effect.sleep("300 millis")
      // Socket buffers hold a few MiB on loopback; without the pause the client would take it all.
      assert.isBelow(accepted, total / 2)
      const received = createHash("sha256")
      let bytes = 0
      for (;;) {
        const next = yield* Effect.either(response.pull)
        if (next._tag === "Left") {
          assert.isTrue(Option.isNone(next.left))
          break
        }
        assert.isAbove(next.right.length, 0)
        for (const chunk of Chunk.toReadonlyArray(next.right)) {
          bytes += chunk.length
          received.update(chunk)
        }
      }
      assert.strictEqual(bytes, total)
      assert.strictEqual(received.digest("hex"), sent.digest("hex"))
      yield* Scope.close(scope, Exit.void)
    }))

  it.scopedLive("bytes that arrived before the socket broke are pulled before the failure", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => {
        res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" })
        res.write("first", () => res.write("second", () => setTimeout(() => res.socket?.destroy(), 10)))
      })
      const response = yield* NodeHttp.open(yield* agent, post(server.port))
      // Not pulled until the data and the reset have both arrived.
      yield* Effect.sleep("150 millis")
      const bytes = Chunk.toReadonlyArray(yield* response.pull).map((chunk) => new TextDecoder().decode(chunk))
      assert.strictEqual(bytes.join(""), "firstsecond")
      const failure = yield* Effect.flip(response.pull)
      assert.isTrue(Option.isSome(failure))
      const broken = Option.getOrUndefined(failure)
      assert.strictEqual(broken?._tag === "Broken" ? (broken.cause as { code?: string }).code : "", "ECONNRESET")
    }))

  it.scopedLive("closing its scope before the body ended destroys the socket", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.write("first")) // never ends
      const scope = yield* Scope.make()
      const response = yield* Scope.extend(NodeHttp.open(yield* agent, post(server.port)), scope)
      const first = yield* response.pull
      assert.strictEqual(new TextDecoder().decode(Chunk.unsafeGet(first, 0)), "first")
      yield* Scope.close(scope, Exit.void)
      yield* waitFor(() => server.aborted() === 1)
      assert.strictEqual(server.aborted(), 1)
    }))

  it.scopedLive("rest reads an error response's whole body, up to a limit", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => {
        res.writeHead(400, { "x-amzn-errortype": "ValidationError" })
        res.write(`{"message":`)
        setTimeout(() => res.end(`"bad"}`), 20)
      })
      const pool = yield* agent
      const response = yield* NodeHttp.open(pool, post(server.port))
      assert.strictEqual(response.status, 400)
      assert.strictEqual(new TextDecoder().decode(yield* response.rest(1024)), `{"message":"bad"}`)
      const small = yield* NodeHttp.open(pool, post(server.port))
      assert.deepStrictEqual(yield* Effect.flip(small.rest(4)), { _tag: "TooLarge", bytes: "more than 4" })
    }))
})
