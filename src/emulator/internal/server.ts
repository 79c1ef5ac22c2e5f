/**
 * The emulator's node `http.Server`: listening, connection counting, one fiber per request (body in,
 * envelope out), recorded requests, client-abort detection and shutdown with the scope.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"
import type { FaultKind, Operation, Options, RecordedRequest, Service } from "../SagemakerEmulator.js"
import type * as Envelopes from "./envelopes.js"
import * as Handler from "./handler.js"
import * as S3Handler from "./s3Handler.js"
import * as S3Store from "./s3Store.js"
import * as Validation from "./validation.js"

interface MutableRecord {
  requestId: string
  method: string
  path: string
  endpointName: string | undefined
  operation: Operation
  headers: Record<string, string>
  body: Uint8Array
  status: number
  attempt: number | undefined
  fault: FaultKind | undefined
  aborted: boolean
  /** Closed by a `reset` fault: not a client abort. */
  resetByServer: boolean
}

const decoder = new TextDecoder()

const flattenHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v
  }
  return out
}

/** Request headers whose values never reach a span: SigV4's credentials and the caller's own data. */
const redactedHeaders = new Set([
  "authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-amz-security-token",
  "x-amzn-sagemaker-custom-attributes"
])

/** A W3C `traceparent` makes the server span a child of the caller's. */
const parentSpan = (traceparent: string | undefined): Tracer.ExternalSpan | undefined => {
  const m = traceparent === undefined
    ? null
    : /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent)
  return m === null ? undefined : Tracer.externalSpan({
    traceId: m[1]!,
    spanId: m[2]!,
    sampled: (parseInt(m[3]!, 16) & 1) === 1
  })
}

/**
 * Reads the whole body; beyond `limit` bytes it is drained, not kept, so the client can still read
 * the 413.
 */
const readBody = (
  request: Http.IncomingMessage,
  limit: number
): Effect.Effect<{ readonly size: number; readonly bytes: Uint8Array }, Error> =>
  Effect.async((resume) => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      if (size > limit) return resume(Effect.succeed({ size, bytes: new Uint8Array(0) }))
      // A plain copy: recorded and model-facing bodies are `Uint8Array`s, not node `Buffer`s.
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const c of chunks) {
        bytes.set(c, offset)
        offset += c.length
      }
      resume(Effect.succeed({ size, bytes }))
    }
    const onError = (cause: Error) => {
      cleanup()
      resume(Effect.fail(cause))
    }
    const onClose = () => onError(new Error("The request closed before its body ended."))
    const cleanup = () => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
      request.off("close", onClose)
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
    request.on("close", onClose)
    return Effect.sync(cleanup)
  })

const drained = (response: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async((resume) => {
    const onDrain = () => resume(Effect.void)
    response.once("drain", onDrain)
    return Effect.sync(() => {
      response.off("drain", onDrain)
    })
  })

/** Waits until the socket has handed every written byte to the kernel (bounded). */
const flushed = (socket: Net.Socket) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && socket.writableLength > 0; i++) yield* Effect.sleep(Duration.millis(5))
    yield* Effect.sleep(Duration.millis(5))
  })

/** Listens for the scope's lifetime (closing every connection at its end); succeeds with the port. */
const listenScoped = <E>(
  server: Http.Server,
  port: number,
  host: string,
  onServeError: (cause: unknown) => E
): Effect.Effect<number, E, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<void, E>((resume) => {
      const onError = (cause: Error) => resume(Effect.fail(onServeError(cause)))
      server.once("error", onError)
      try {
        server.listen({ port, host }, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      } catch (cause) {
        server.off("error", onError)
        resume(Effect.fail(onServeError(cause)))
      }
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(() => {
    const address = server.address()
    return address !== null && typeof address === "object" ? address.port : 0
  }))

/**
 * Starts the server and its S3 endpoint; `onServeError` maps a listen failure (on `port`, when it
 * is the S3 endpoint's).
 *
 * @internal
 */
export const make = <E>(
  options: Options,
  onServeError: (cause: unknown, port?: number) => E
): Effect.Effect<Service, E, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const recordLimit = Math.max(1, options.recordLimit ?? 1000)
    // The S3 objects, shared by the S3 endpoint and the SageMaker handler (async inference writes
    // its results there), and the queued async requests run as fibers of the server (interrupted
    // when it closes).
    const s3Store = S3Store.make()
    const handler = Handler.make(options, s3Store, (effect) => {
      const fiber = runFork(effect)
      fibers.add(fiber)
      fiber.addObserver(() => {
        fibers.delete(fiber)
      })
    })

    // Per-server state, mutated from node callbacks as well as from request fibers.
    let records: Array<MutableRecord> = []
    let open = 0
    let total = 0
    let closed = 0
    const waiters = new Set<{ readonly n: number; readonly resume: () => void }>()
    const notify = () => {
      for (const w of waiters) {
        if (closed >= w.n) {
          waiters.delete(w)
          w.resume()
        }
      }
    }
    const fibers = new Set<Fiber.RuntimeFiber<void>>()

    // Request fibers run on the real clock even when the emulator is started under TestClock: its
    // clients (the AWS SDK) live in real time.
    const runFork = Runtime.runFork(yield* Effect.withClock(Effect.runtime<never>(), Clock.make()))

    const log = (record: MutableRecord, started: number, status: string) =>
      options.log === undefined ? Effect.void : Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          options.log!(
            `${record.method} ${record.path} ${status} ${now - started}ms${
              record.fault === undefined ? "" : ` fault=${record.fault}`
            }`
          )
      )

    const write = (
      request: Http.IncomingMessage,
      response: Http.ServerResponse,
      envelope: Envelopes.Envelope,
      record: MutableRecord
    ): Effect.Effect<void> => {
      if (envelope._tag === "Body") {
        response.writeHead(envelope.status, envelope.headers)
        response.end(envelope.body)
        return Effect.void
      }
      response.writeHead(envelope.status, envelope.headers)
      return Effect.gen(function*() {
        for (const frame of envelope.frames) {
          if (envelope.partDelayMillis > 0) yield* Effect.sleep(Duration.millis(envelope.partDelayMillis))
          if (!response.write(frame)) yield* drained(response)
        }
        switch (envelope.ending) {
          case "end":
            response.end()
            return
          case "stall":
            // A container that stalls before its first part has still sent its head, as SageMaker
            // relays it (node holds a head back until the first write).
            if (envelope.frames.length === 0) response.flushHeaders()
            return yield* Effect.never
          case "reset":
            yield* flushed(request.socket)
            record.resetByServer = true
            request.socket.destroy()
        }
      })
    }

    const serve = (request: Http.IncomingMessage, response: Http.ServerResponse, record: MutableRecord) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const url = request.url ?? "/"
        const q = url.indexOf("?")
        const reply = yield* readBody(request, handler.maxBodyBytes).pipe(
          Effect.option,
          Effect.flatMap((read) => {
            if (read._tag === "Some" && read.value.size <= handler.maxBodyBytes) record.body = read.value.bytes
            return handler.handle({
              requestId: record.requestId,
              method: record.method,
              path: record.path,
              query: q >= 0 ? url.slice(q + 1) : "",
              route: { operation: record.operation, endpointName: record.endpointName },
              headers: record.headers,
              body: read._tag === "Some" ? read.value : undefined
            })
          }),
          Effect.onInterrupt(() => log(record, started, "aborted"))
        )
        record.fault = reply.fault
        if (reply._tag === "Reset") {
          record.resetByServer = true
          request.socket.destroy()
          yield* log(record, started, "reset")
          return undefined
        }
        record.status = reply.envelope.status
        yield* log(record, started, String(reply.envelope.status))
        yield* write(request, response, reply.envelope, record)
        return reply.envelope
      })

    /** The span platform HTTP servers open per request, with credentials and caller data redacted. */
    const traced = (request: Http.IncomingMessage, record: MutableRecord, effect: ReturnType<typeof serve>) =>
      Effect.useSpan(
        `http.server ${record.method}`,
        { kind: "server", captureStackTrace: false, parent: parentSpan(record.headers["traceparent"]) },
        (span) => {
          const url = request.url ?? "/"
          const q = url.indexOf("?")
          span.attribute("http.request.method", record.method)
          span.attribute("url.full", `http://${record.headers["host"] ?? host}${url}`)
          span.attribute("url.path", record.path)
          if (q >= 0 && q < url.length - 1) span.attribute("url.query", url.slice(q + 1))
          span.attribute("url.scheme", "http")
          if (record.headers["user-agent"] !== undefined) {
            span.attribute("user_agent.original", record.headers["user-agent"])
          }
          for (const [name, value] of Object.entries(record.headers)) {
            span.attribute(`http.request.header.${name}`, redactedHeaders.has(name) ? "<redacted>" : value)
          }
          if (request.socket.remoteAddress !== undefined) {
            span.attribute("client.address", request.socket.remoteAddress)
          }
          return Effect.tap(effect, (envelope) => {
            if (envelope === undefined) return
            span.attribute("http.response.status_code", envelope.status)
            for (const [name, value] of Object.entries(envelope.headers)) {
              span.attribute(`http.response.header.${name}`, value)
            }
          })
        }
      )

    const onRequest = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      const url = request.url ?? "/"
      const q = url.indexOf("?")
      const path = q >= 0 ? url.slice(0, q) : url
      const method = request.method ?? "GET"
      const headers = flattenHeaders(request.headers)
      const route = Validation.parseRoute(method, path)
      const attempt = /attempt=(\d+)/.exec(headers["amz-sdk-request"] ?? "")
      const record: MutableRecord = {
        requestId: randomUUID(),
        method,
        path,
        endpointName: route.endpointName,
        operation: route.operation,
        headers,
        body: new Uint8Array(0),
        status: 0,
        attempt: attempt === null ? undefined : Number(attempt[1]),
        fault: undefined,
        aborted: false,
        resetByServer: false
      }
      records.push(record)
      if (records.length > recordLimit) records.splice(0, records.length - recordLimit)

      const fiber = runFork(
        traced(request, record, serve(request, response, record)).pipe(
          Effect.asVoid,
          // A defect in a custom `log` or in the emulator itself: the client gets a bare 500.
          Effect.catchAllDefect(() =>
            Effect.sync(() => {
              if (!response.headersSent) response.writeHead(500).end()
              else response.destroy()
            })
          ),
          Effect.interruptible
        )
      )
      fibers.add(fiber)
      fiber.addObserver(() => {
        fibers.delete(fiber)
      })
      response.once("close", () => {
        if (!response.writableFinished && !record.resetByServer) {
          record.aborted = true
          closed++
          notify()
        }
        // The client went away (or the server is closing): stop latency, stalls and writes.
        if (!response.writableEnded && !record.resetByServer) fiber.unsafeInterruptAsFork(FiberId.none)
      })
    }

    const nodeServer = Http.createServer(onRequest)
    nodeServer.on("connection", (socket) => {
      open++
      total++
      socket.once("close", () => {
        open--
      })
    })

    yield* Effect.acquireRelease(
      Effect.async<void, E>((resume) => {
        const onError = (cause: Error) => resume(Effect.fail(onServeError(cause)))
        nodeServer.once("error", onError)
        try {
          nodeServer.listen({ port: options.port ?? 0, host }, () => {
            nodeServer.off("error", onError)
            resume(Effect.void)
          })
        } catch (cause) {
          // node throws synchronously for an invalid port.
          nodeServer.off("error", onError)
          resume(Effect.fail(onServeError(cause)))
        }
      }),
      // In-flight and keep-alive sockets would keep `close()` waiting: destroy them, which also
      // interrupts their request fibers; then wait for every fiber, so no timer outlives the scope.
      () =>
        Effect.async<void>((resume) => {
          nodeServer.close(() => resume(Effect.void))
          nodeServer.closeAllConnections()
        }).pipe(Effect.zipRight(Effect.suspend(() => Fiber.interruptAll([...fibers]))))
    )

    const address = nodeServer.address()
    const port = address !== null && typeof address === "object" ? address.port : 0
    const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host

    const s3Server = Http.createServer(S3Handler.listener(
      {
        store: s3Store,
        credentials: options.credentials,
        listBucket: options.s3?.listBucket ?? true,
        region: options.region
      },
      options.log === undefined ? undefined : (line) => runFork(options.log!(line))
    ))
    const s3Port = yield* listenScoped(
      s3Server,
      options.s3?.port ?? 0,
      host,
      (cause) => onServeError(cause, options.s3?.port ?? 0)
    )

    const snapshot = (r: MutableRecord): RecordedRequest => ({
      requestId: r.requestId,
      method: r.method,
      path: r.path,
      endpointName: r.endpointName,
      operation: r.operation,
      headers: { ...r.headers },
      body: r.body,
      bodyText: decoder.decode(r.body),
      status: r.status,
      attempt: r.attempt,
      fault: r.fault,
      aborted: r.aborted
    })

    return {
      url: `http://${urlHost}:${port}`,
      port,
      s3Url: `http://${urlHost}:${s3Port}`,
      requests: Effect.sync(() => records.map(snapshot)),
      openConnections: Effect.sync(() => open),
      totalConnections: Effect.sync(() => total),
      closedRequests: Effect.sync(() => closed),
      awaitClosedRequests: (n: number) =>
        Effect.async<void>((resume) => {
          if (closed >= n) return resume(Effect.void)
          const waiter = { n, resume: () => resume(Effect.void) }
          waiters.add(waiter)
          return Effect.sync(() => {
            waiters.delete(waiter)
          })
        }),
      reset: Effect.sync(() => {
        records = []
        handler.resetCounters()
        closed = 0
      })
    } satisfies Service
  })
