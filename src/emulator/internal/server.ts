/**
 * The emulator's HTTP server: a node `http.Server` (so connections can be counted) served by
 * `@effect/platform-node`, one request handler doing routing, size limit, SigV4, validation, faults,
 * the model call and the response envelope of each operation.
 *
 * @since 0.1.0
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Headers from "@effect/platform/Headers"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type {
  EndpointOptions,
  Fault,
  FaultKind,
  ModelRequest,
  ModelResponse,
  Operation,
  Options,
  Personality,
  RecordedRequest,
  Responder,
  Service,
  SplitStrategy
} from "../SagemakerEmulator.js"
import * as Errors from "./errors.js"
import * as EventStream from "./eventStream.js"
import * as Personalities from "./personalities.js"
import * as SigV4 from "./sigv4.js"
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

interface EndpointConfig {
  readonly known: boolean
  readonly personality: Personality
  readonly faults: ReadonlyArray<Fault>
  readonly responder: Responder | undefined
  readonly split: SplitStrategy
  readonly partDelayMillis: number
}

type Reply =
  | { readonly _tag: "Respond"; readonly response: HttpServerResponse.HttpServerResponse; readonly fault?: FaultKind }
  | { readonly _tag: "Reset"; readonly fault: FaultKind }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const toArray = <A>(x: A | ReadonlyArray<A> | undefined): ReadonlyArray<A> =>
  x === undefined ? [] : Array.isArray(x) ? x as ReadonlyArray<A> : [x as A]

const toBytes = (chunk: string | Uint8Array): Uint8Array => typeof chunk === "string" ? encoder.encode(chunk) : chunk

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

const isoSeconds = (millis: number): string => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

const flattenHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v
  }
  return out
}

const parseJson = (text: string): unknown => {
  if (text.trim().length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

const errorResponse = (spec: Errors.ErrorSpec, requestId: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(spec.body, {
    status: spec.status,
    contentType: spec.contentType,
    headers: spec.type === undefined
      ? { "x-amzn-RequestId": requestId }
      : { "x-amzn-RequestId": requestId, "X-Amzn-ErrorType": spec.type }
  })

/** Which faults act before the model runs, per operation; the rest need the model's output. */
const preFaults: Record<Operation, ReadonlySet<FaultKind>> = {
  invoke: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "model-error",
    "stream-error",
    "service-unavailable",
    "internal-failure",
    "internal-stream-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500",
    "reset",
    "stall"
  ]),
  stream: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "model-error",
    "service-unavailable",
    "internal-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500"
  ]),
  async: new Set<FaultKind>([
    "not-ready",
    "throttle",
    "throttle-429",
    "service-unavailable",
    "internal-failure",
    "dependency-failure",
    "access-denied",
    "html-500",
    "empty-500",
    "reset"
  ]),
  unknown: new Set<FaultKind>()
}

const postFaults: Record<Operation, ReadonlySet<FaultKind>> = {
  invoke: new Set<FaultKind>(["malformed", "truncate"]),
  stream: new Set<FaultKind>([
    "malformed",
    "truncate",
    "stream-error",
    "internal-stream-failure",
    "stall",
    "bad-crc",
    "reset"
  ]),
  async: new Set<FaultKind>(),
  unknown: new Set<FaultKind>()
}

const malformedBody = "This is not a valid model response: the container wrote plain text instead of JSON.\n"

const defaultModelErrorMessage = JSON.stringify({
  error: "Input validation error: this ModelError was injected by the emulator (fault model-error)",
  error_type: "validation"
})

/**
 * Starts the server; `onServeError` maps a listen failure.
 *
 * @internal
 */
export const make = <E>(
  options: Options,
  onServeError: (cause: unknown) => E
): Effect.Effect<Service, E, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const accountId = options.accountId ?? "123456789012"
    const defaultRegion = options.region ?? "us-east-1"
    const maxBodyBytes = options.maxBodyBytes ?? 6_291_456
    const recordLimit = Math.max(1, options.recordLimit ?? 1000)
    const frames = EventStream.makeEncoder()

    // Per-server state, mutated from node callbacks as well as from handler fibers.
    let records: Array<MutableRecord> = []
    const calls = new Map<string, number>()
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

    const nodeServer = Http.createServer()
    nodeServer.on("connection", (socket) => {
      open++
      total++
      socket.once("close", () => {
        open--
      })
    })

    const server = yield* NodeHttpServer.make(() => nodeServer, { port: options.port ?? 0, host }).pipe(
      Effect.mapError((e) => onServeError(e.cause))
    )
    // Runs before the platform's close: in-flight and keep-alive sockets would otherwise keep
    // `server.close()` waiting; destroying them also interrupts their handler fibers.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        nodeServer.close(() => resume(Effect.void))
        nodeServer.closeAllConnections()
      })
    )

    const endpointConfig = (name: string): EndpointConfig => {
      let known = options.endpoints === undefined
      let own: EndpointOptions = {}
      if (Array.isArray(options.endpoints)) {
        known = (options.endpoints as ReadonlyArray<string>).includes(name)
      } else if (options.endpoints !== undefined) {
        const table = options.endpoints as Readonly<Record<string, EndpointOptions>>
        known = Object.prototype.hasOwnProperty.call(table, name)
        if (known) own = table[name] ?? {}
      }
      return {
        known,
        personality: own.personality ?? options.personality ?? "default",
        faults: [...toArray(options.faults?.["*"]), ...toArray(options.faults?.[name]), ...toArray(own.faults)],
        responder: own.responder ?? options.responder,
        split: own.split ?? options.split ?? { kind: "whole" },
        partDelayMillis: own.partDelayMillis ?? options.partDelayMillis ?? 0
      }
    }

    const readBody = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.suspend(() => {
        const chunks: Array<Uint8Array> = []
        let size = 0
        return Stream.runForEach(request.stream, (chunk) =>
          Effect.sync(() => {
            size += chunk.length
            // Oversize bodies are drained, not kept, so the client can still read the 413.
            if (size <= maxBodyBytes) chunks.push(chunk)
          })).pipe(Effect.map(() => ({ size, body: size <= maxBodyBytes ? concat(chunks) : new Uint8Array(0) })))
      })

    /** Waits until the socket has handed every written byte to the kernel (bounded). */
    const flushed = (socket: NodeJS.WritableStream & { writableLength: number }) =>
      Effect.gen(function*() {
        for (let i = 0; i < 100 && socket.writableLength > 0; i++) yield* Effect.sleep(Duration.millis(5))
        yield* Effect.sleep(Duration.millis(5))
      })

    const handle = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const nodeRequest = NodeHttpServerRequest.toIncomingMessage(request)
        const nodeResponse = NodeHttpServerRequest.toServerResponse(request)
        const requestId = randomUUID()
        const url = request.url
        const q = url.indexOf("?")
        const path = q >= 0 ? url.slice(0, q) : url
        const query = q >= 0 ? url.slice(q + 1) : ""
        const headers = flattenHeaders(nodeRequest.headers)
        const route = Validation.parseRoute(request.method, path)
        const attempt = /attempt=(\d+)/.exec(headers["amz-sdk-request"] ?? "")
        const record: MutableRecord = {
          requestId,
          method: request.method,
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
        nodeResponse.once("close", () => {
          if (!nodeResponse.writableFinished && !record.resetByServer) {
            record.aborted = true
            closed++
            notify()
          }
        })

        const log = (status: string) =>
          options.log === undefined ? Effect.void : Effect.flatMap(
            Clock.currentTimeMillis,
            (now) =>
              options.log!(
                `${request.method} ${path} ${status} ${now - started}ms${
                  record.fault === undefined ? "" : ` fault=${record.fault}`
                }`
              )
          )

        const reply = yield* decide(request, record, route, path, query, headers, requestId).pipe(
          Effect.onInterrupt(() => log("aborted"))
        )
        record.fault = reply.fault
        if (reply._tag === "Reset") {
          record.resetByServer = true
          nodeRequest.socket.destroy()
          yield* log("reset")
          // Nothing may be written any more; the platform interrupts this body when the socket closes.
          return HttpServerResponse.stream(Stream.never)
        }
        record.status = reply.response.status
        yield* log(String(reply.response.status))
        return reply.response
      })

    const decide = (
      request: HttpServerRequest.HttpServerRequest,
      record: MutableRecord,
      route: Validation.Route,
      path: string,
      query: string,
      headers: Record<string, string>,
      requestId: string
    ): Effect.Effect<Reply> =>
      Effect.gen(function*() {
        const fail = (spec: Errors.ErrorSpec, fault?: FaultKind): Reply =>
          fault === undefined
            ? { _tag: "Respond", response: errorResponse(spec, requestId) }
            : { _tag: "Respond", response: errorResponse(spec, requestId), fault }

        const read = yield* Effect.either(readBody(request))
        if (read._tag === "Left") return fail(Errors.validation("Could not read the request body."))
        if (read.right.size > maxBodyBytes) return fail(Errors.payloadTooLarge(maxBodyBytes))
        const body = read.right.body
        record.body = body

        if (options.credentials !== undefined) {
          const denied = yield* SigV4.verify(
            { method: request.method, path, query, headers, body },
            options.credentials
          )
          if (denied !== undefined) return fail(denied)
        }
        const region = SigV4.parseAuthorization(headers["authorization"])?.region ?? defaultRegion

        if (route.operation === "unknown" || route.endpointName === undefined) {
          return fail(Errors.unknownOperation(request.method, path))
        }
        const operation = route.operation
        const endpointName = route.endpointName
        const invalid = Validation.validate(operation, endpointName, headers, body.length)
        if (invalid !== undefined) return fail(Errors.validation(invalid))
        const config = endpointConfig(endpointName)
        if (!config.known) return fail(Errors.endpointNotFound(endpointName, accountId))

        // Faults: every matching latency applies; the first other matching fault decides.
        const call = (calls.get(endpointName) ?? 0) + 1
        calls.set(endpointName, call)
        const active = config.faults.filter((f) => f.count === undefined || call <= f.count)
        const latency = active.reduce((ms, f) => f.kind === "latency" ? ms + f.millis : ms, 0)
        if (latency > 0) yield* Effect.sleep(Duration.millis(latency))
        const fault = active.find((f) => preFaults[operation].has(f.kind) || postFaults[operation].has(f.kind))
        const ctx = { endpointName, region, accountId }

        if (fault !== undefined && preFaults[operation].has(fault.kind)) {
          switch (fault.kind) {
            case "not-ready":
              return fail(Errors.modelNotReady(), fault.kind)
            case "throttle":
              return fail(Errors.throttling(), fault.kind)
            case "throttle-429":
              return fail(Errors.throttling429(), fault.kind)
            case "model-error":
              return fail(
                Errors.modelError({
                  ...ctx,
                  originalStatusCode: fault.originalStatusCode ?? 400,
                  originalMessage: fault.originalMessage ?? defaultModelErrorMessage
                }),
                fault.kind
              )
            case "stream-error":
              return fail(
                Errors.modelError({
                  ...ctx,
                  originalStatusCode: 500,
                  originalMessage: JSON.stringify({
                    error: "Incomplete generation",
                    error_type: "incomplete_generation"
                  })
                }),
                fault.kind
              )
            case "service-unavailable":
              return fail(Errors.serviceUnavailable(), fault.kind)
            case "internal-failure":
            case "internal-stream-failure":
              return fail(Errors.internalFailure(), fault.kind)
            case "dependency-failure":
              return fail(Errors.internalDependency(), fault.kind)
            case "access-denied":
              return fail(Errors.accessDenied(ctx), fault.kind)
            case "html-500":
              return fail(Errors.html500(), fault.kind)
            case "empty-500":
              return fail(Errors.empty500(), fault.kind)
            case "reset":
              if (operation !== "stream" || fault.afterParts === undefined) return { _tag: "Reset", fault: fault.kind }
              break
            case "stall":
              return yield* Effect.never
          }
        }

        if (operation === "async") {
          const inferenceId = headers["x-amzn-sagemaker-inference-id"] ?? randomUUID()
          const bucket = `s3://sagemaker-${region}-${accountId}`
          const key = randomUUID()
          return {
            _tag: "Respond",
            response: HttpServerResponse.text(JSON.stringify({ InferenceId: inferenceId }), {
              status: 202,
              contentType: "application/json",
              headers: {
                "x-amzn-RequestId": requestId,
                "X-Amzn-SageMaker-OutputLocation": `${bucket}/async-endpoint-outputs/${endpointName}/${key}.out`,
                "X-Amzn-SageMaker-FailureLocation": `${bucket}/async-endpoint-failures/${endpointName}/${key}-error.out`
              }
            })
          }
        }

        const text = decoder.decode(body)
        const modelRequest: ModelRequest = {
          endpointName,
          operation,
          personality: config.personality,
          body,
          text,
          json: parseJson(text),
          contentType: headers["content-type"],
          accept: operation === "invoke" ? headers["accept"] : headers["x-amzn-sagemaker-accept"],
          customAttributes: headers["x-amzn-sagemaker-custom-attributes"],
          sessionId: headers["x-amzn-sagemaker-session-id"],
          headers
        }
        const responder = config.responder ?? Personalities.responder(config.personality)
        const answer: ModelResponse = yield* Effect.suspend(() => {
          const r = responder(modelRequest)
          return Effect.isEffect(r) ? r : Effect.succeed(r)
        }).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.succeed<ModelResponse>({
              status: 500,
              contentType: "text/plain",
              body: `Internal Server Error: ${defect instanceof Error ? defect.message : String(defect)}`
            })
          )
        )
        const chunks = (typeof answer.body === "string" || answer.body instanceof Uint8Array
          ? [answer.body]
          : answer.body).map(toBytes)
        const status = answer.status ?? 200
        if (status < 200 || status > 299) {
          return fail(
            Errors.modelError({ ...ctx, originalStatusCode: status, originalMessage: decoder.decode(concat(chunks)) })
          )
        }
        const contentType = answer.contentType ?? "application/json"
        const post = fault !== undefined && postFaults[operation].has(fault.kind) ? fault : undefined
        const common: Record<string, string> = {
          "x-amzn-RequestId": requestId,
          "x-Amzn-Invoked-Production-Variant": headers["x-amzn-sagemaker-target-variant"] ?? "AllTraffic"
        }
        if (answer.customAttributes !== undefined) {
          common["X-Amzn-SageMaker-Custom-Attributes"] = answer.customAttributes
        }

        if (operation === "invoke") {
          const now = yield* Clock.currentTimeMillis
          if (headers["x-amzn-sagemaker-session-id"] === "NEW_SESSION") {
            common["X-Amzn-SageMaker-New-Session-Id"] = `${randomUUID()}; Expires=${isoSeconds(now + 20 * 60_000)}`
          }
          if (answer.closedSessionId !== undefined) {
            common["X-Amzn-SageMaker-Closed-Session-Id"] = answer.closedSessionId
          }
          let bytes = post?.kind === "malformed" ? encoder.encode(malformedBody) : concat(chunks)
          if (post?.kind === "truncate") bytes = bytes.subarray(0, Math.floor(bytes.length / 2))
          const response = HttpServerResponse.uint8Array(bytes, { status: 200, contentType, headers: common })
          return post === undefined ? { _tag: "Respond", response } : { _tag: "Respond", response, fault: post.kind }
        }

        // InvokeEndpointWithResponseStream
        const parts = EventStream.split(
          post?.kind === "malformed" ? [encoder.encode(malformedBody)] : chunks,
          config.split
        )
        let out = parts.map(frames.payloadPart)
        let tail: Stream.Stream<Uint8Array> = Stream.empty
        if (post !== undefined) {
          switch (post.kind) {
            case "stream-error":
              out = [
                ...out.slice(0, post.afterParts ?? 1),
                frames.exception("ModelStreamError", {
                  Message: post.message ??
                    "Your model primary did not complete sending the inference response in the allotted time.",
                  ErrorCode: post.errorCode ?? "ModelInvocationTimeExceeded"
                })
              ]
              break
            case "internal-stream-failure":
              out = [
                ...out.slice(0, post.afterParts ?? 1),
                frames.exception("InternalStreamFailure", {
                  Message: "An internal failure occurred while streaming the response."
                })
              ]
              break
            case "truncate":
              if (out.length > 0) out[out.length - 1] = EventStream.truncateFrame(out[out.length - 1]!)
              break
            case "bad-crc": {
              const at = Math.min(post.afterParts ?? 1, out.length - 1)
              if (at >= 0) out[at] = EventStream.corruptCrc(out[at]!)
              break
            }
            case "stall":
              out = out.slice(0, post.afterParts ?? 1)
              tail = Stream.never
              break
            case "reset": {
              out = out.slice(0, post.afterParts ?? 0)
              const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
              tail = Stream.fromEffect(
                flushed(socket).pipe(
                  Effect.zipRight(Effect.sync(() => {
                    record.resetByServer = true
                    socket.destroy()
                  }))
                )
              ).pipe(Stream.drain, Stream.concat(Stream.never))
              break
            }
          }
        }
        let body$: Stream.Stream<Uint8Array> = Stream.fromIterable(out)
        if (config.partDelayMillis > 0) {
          body$ = Stream.mapEffect(
            body$,
            (frame) => Effect.as(Effect.sleep(Duration.millis(config.partDelayMillis)), frame)
          )
        }
        const response = HttpServerResponse.stream(Stream.concat(body$, tail), {
          status: 200,
          contentType: "application/vnd.amazon.eventstream",
          headers: { ...common, "X-Amzn-SageMaker-Content-Type": contentType }
        })
        return post === undefined ? { _tag: "Respond", response } : { _tag: "Respond", response, fault: post.kind }
      })

    // The handler runs on the real clock even when the emulator is started under TestClock:
    // its clients (the AWS SDK) live in real time. Interruptible so a client abort stops latency.
    const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, handle).pipe(
      Effect.interruptible,
      Effect.withClock(Clock.make())
    )
    // The server's spans record request headers: redact the credentials SigV4 sends besides
    // `authorization` (the platform's defaults cover only that and cookies).
    const redacted = yield* FiberRef.get(Headers.currentRedactedNames)
    yield* HttpServer.serveEffect(app).pipe(
      Effect.provideService(HttpServer.HttpServer, server),
      Effect.locally(Headers.currentRedactedNames, [
        ...redacted,
        "x-amz-security-token",
        "x-amzn-sagemaker-custom-attributes"
      ])
    )

    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host

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
        calls.clear()
        closed = 0
      })
    } satisfies Service
  })
