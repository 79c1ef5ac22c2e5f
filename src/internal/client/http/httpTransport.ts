/**
 * The lean transport behind the `SagemakerClient` seam: node's `http`/`https` with a keep-alive
 * agent (`nodeHttp.ts`), SigV4 from `@smithy/signature-v4`, errors read by docs/protocol.md §4.1 and
 * streams decoded from the event-stream framing — what the AWS SDK does for these two operations,
 * without its middleware stack.
 *
 * Credentials, region and endpoint still come from the SDK's own providers: the caller hands over
 * the resolved configuration of an SDK client built from the same options, so the default
 * credential chain, profiles, SSO, `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` and FIPS/dual-stack
 * endpoints keep working exactly as on the SDK transport.
 *
 * Requests are those the SDK sends (docs/protocol.md §2.4): same method, path, headers and body, minus
 * the SDK's user agent and invocation id. Failures are stated as facts and classified by the one
 * error table in `sdkErrors.ts`, so both transports fail with the same tags and fields.
 *
 * @since 0.1.0
 * @internal
 */
import type { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime"
import { SignatureV4 } from "@smithy/signature-v4"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as http from "node:http"
import type * as https from "node:https"
import type {
  AsyncRequest,
  AsyncResponse,
  InvokeError,
  InvokeRequest,
  InvokeResponse,
  Service,
  StreamRequest,
  StreamResponse
} from "../../../SagemakerClient.js"
import { AWSConfigurationError, type SagemakerStreamError } from "../../../SagemakerError.js"
import { isStreamException, MAX_BODY_BYTES } from "../../limits.js"
import { fromPull, type Pull } from "../../stream/pullStream.js"
import {
  classify,
  classifyStreamFailure,
  describeStreamFailure,
  type RequestFailure,
  type ResponseHeaders,
  responseTooLarge,
  type StreamFailure
} from "../errorTable.js"
import * as Routing from "../routing.js"
import { fromSdkError } from "../sdk/sdkErrors.js"
import { EventStreamDecoder } from "./eventStream.js"
import { errorResponse, requestIdOf, unreadableResponse } from "./httpErrors.js"
import * as NodeHttp from "./nodeHttp.js"
import { Sha256 } from "./sha256.js"

/** What the transport needs from the SDK transport's set-up. */
export interface Options {
  /** The resolved configuration of an SDK client built from the same options (its providers). */
  readonly config: SageMakerRuntimeClient["config"]
  /** The region, already resolved (and checked) by `config.region()`. */
  readonly region: string
  /** `Options.endpointUrl`; otherwise the SDK's configured endpoint or its endpoint rules. */
  readonly endpointUrl: string | undefined
  /** The size of the socket pool. */
  readonly maxConcurrency: number
  /** The caller's agents, used instead of the pool (and not destroyed with it). */
  readonly httpAgent: http.Agent | undefined
  readonly httpsAgent: https.Agent | undefined
}

/** The SDK's path-label encoding: `encodeURIComponent` plus `!'()*`. */
const encodeLabel = (label: string): string =>
  encodeURIComponent(label).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** Where requests go: the SDK's own endpoint resolution, run once when the layer is built. */
const resolveEndpoint = (options: Options): Effect.Effect<URL, AWSConfigurationError> =>
  Effect.tryPromise({
    try: async () => {
      const config = options.config
      let custom = options.endpointUrl
      if (custom === undefined && !config.isCustomEndpoint && !config.ignoreConfiguredEndpointUrls) {
        custom = await config.serviceConfiguredEndpoint?.()
      }
      return config.endpointProvider({
        Region: options.region,
        UseFIPS: await config.useFipsEndpoint(),
        UseDualStack: await config.useDualstackEndpoint(),
        ...(custom === undefined ? {} : { Endpoint: custom })
      }).url
    },
    catch: (cause) => {
      const reason = cause instanceof Error ? cause.message : String(cause)
      return new AWSConfigurationError({
        model: "",
        // The region came from a Secret: keep it out of the description.
        description: "the SageMaker Runtime endpoint could not be resolved" +
          (reason.includes(options.region) ? "" : `: ${reason}`)
      })
    }
  })

/** Optional request members → headers, in the order the SDK writes them. */
const optionalHeaders = (
  headers: Record<string, string>,
  request: Routing.Routing & { readonly customAttributes?: string | undefined },
  operation: Routing.Operation
): void => {
  if (request.customAttributes !== undefined) headers["x-amzn-sagemaker-custom-attributes"] = request.customAttributes
  for (const [name, member] of Routing.rows) {
    const value = (request as Routing.Routing)[name]
    if (value !== undefined && member.rules[operation] !== undefined) headers[member.header] = value
  }
}

/** The error codes by which a service refuses a request signed with a skewed clock (the SDK's list). */
const CLOCK_SKEW_ERROR_CODES: ReadonlySet<string> = new Set([
  "AccessDeniedException",
  "AuthFailure",
  "InvalidSignatureException",
  "RequestExpired",
  "RequestInTheFuture",
  "RequestTimeTooSkewed",
  "SignatureDoesNotMatch"
])

/** A correction below this is no skew: the SDK's threshold. */
const CLOCK_SKEW_THRESHOLD_MILLIS = 240_000

/** A socket failure (reset, cut short), as the facts of a broken stream. */
const socketFailure = (cause: Error): StreamFailure => {
  const code = (cause as { readonly code?: unknown }).code
  return { name: cause.name, message: cause.message, code: typeof code === "string" ? code : undefined }
}

/** A body that could not be read, as the facts of a broken stream (a stream's body has no limit). */
const bodyFailure = (failure: NodeHttp.BodyFailure): StreamFailure =>
  failure._tag === "Broken"
    ? socketFailure(failure.cause)
    : { name: "Error", message: `the body is over its limit: ${failure.bytes} bytes` }

/**
 * The payloads of one event stream, read from its body: every pull decodes what was read since the
 * last one (never giving an empty chunk) or hands out a payload held back, and fails, after the
 * payloads before it, with the first failing frame or the body's own failure.
 */
class FrameReader {
  private readonly decoder = new EventStreamDecoder()
  private failure: StreamFailure | undefined = undefined
  /** Payloads decoded but held back for the next pulls, a chunk per pull. */
  private held: Array<Chunk.Chunk<Uint8Array>> = []

  constructor(private readonly body: NodeHttp.StreamingResponse["pull"]) {}

  /** Holds `chunks` back: the next pulls give them, in order, before reading on. */
  hold(...chunks: Array<Chunk.Chunk<Uint8Array>>): void {
    for (const chunk of chunks) this.held.push(chunk)
  }

  /** A pull of the payloads whose failures are `failed(failure)`: one step per socket read. */
  pull<E>(failed: (failure: StreamFailure) => E): Pull<Uint8Array, E> {
    const decode = (input: Chunk.Chunk<Uint8Array>): Pull<Uint8Array, E> => {
      let parts: Array<Uint8Array> | undefined
      for (let i = 0; i < input.length && this.failure === undefined; i++) {
        const decoded = this.decoder.push(Chunk.unsafeGet(input, i))
        this.failure = decoded.failure
        if (decoded.parts.length > 0) {
          if (parts === undefined) parts = decoded.parts
          else for (const part of decoded.parts) parts.push(part)
        }
      }
      if (parts !== undefined) return Effect.succeed(Chunk.unsafeFromArray(parts))
      return this.failure === undefined ? pull : Effect.fail(Option.some(failed(this.failure)))
    }
    const onFailure = (error: Option.Option<NodeHttp.BodyFailure>): Pull<Uint8Array, E> => {
      if (Option.isSome(error)) return Effect.fail(Option.some(failed(bodyFailure(error.value))))
      const truncated = this.decoder.end()
      return Effect.fail(truncated === undefined ? Option.none() : Option.some(failed(truncated)))
    }
    const pull: Pull<Uint8Array, E> = Effect.suspend(() => {
      const held = this.held.shift()
      if (held !== undefined) return Effect.succeed(held)
      return this.failure === undefined
        ? Effect.matchEffect(this.body, { onFailure, onSuccess: decode })
        : Effect.fail(Option.some(failed(this.failure)))
    })
    return pull
  }
}

/**
 * Builds the transport: the caller's agent, or a keep-alive agent sized like the SDK's (closed
 * with the scope, which closes its sockets), the signer and the endpoint.
 */
export const make = (options: Options): Effect.Effect<Service, AWSConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoint = yield* resolveEndpoint(options)
    const own = endpoint.protocol === "https:" ? options.httpsAgent : options.httpAgent
    const agent = own === undefined
      ? yield* NodeHttp.makeAgent(endpoint.protocol, options.maxConcurrency)
      : NodeHttp.agentOf(endpoint.protocol, own)
    const config = options.config
    const signer = new SignatureV4({
      service: "sagemaker",
      region: options.region,
      // The SDK's memoized, refreshing credential chain; node's hash, each used once (sha256.ts).
      credentials: config.credentials,
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: true
    })
    // As the SDK joins them: an endpoint path of "/" adds nothing, any other is a prefix.
    const basePath = endpoint.pathname === "/" ? "" : endpoint.pathname
    const search = endpoint.search
    const query = Object.fromEntries(endpoint.searchParams)
    const port = endpoint.port === "" ? undefined : Number(endpoint.port)

    /**
     * The offset of the service's clock from ours, shared with the SDK client's configuration:
     * corrected from the server's `Date` when a request is refused for clock skew, as the SDK does.
     */
    const clock = { offset: config.systemClockOffset ?? 0 }
    const correctClock = (failure: RequestFailure, headers: ResponseHeaders): boolean => {
      if (failure._tag !== "ErrorResponse" || !CLOCK_SKEW_ERROR_CODES.has(failure.code)) return false
      const date = headers.date
      const serverTime = date === undefined ? Number.NaN : Date.parse(date)
      if (Number.isNaN(serverTime)) return false
      const offset = serverTime - Date.now()
      if (Math.abs(offset - clock.offset) < CLOCK_SKEW_THRESHOLD_MILLIS) return false
      clock.offset = offset
      config.systemClockOffset = offset
      return true
    }

    /** The preparer of one request: signs it (headers in wire order) each time it is called. */
    const signing = (
      endpointName: string,
      operation: "invocations" | "invocations-response-stream" | "async-invocations",
      headers: Record<string, string>,
      body: Uint8Array
    ) =>
    async (): Promise<NodeHttp.Request> => {
      const signed = await signer.sign({
        method: "POST",
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        ...(port === undefined ? {} : { port }),
        path: `${basePath}/endpoints/${encodeLabel(endpointName)}/${operation}`,
        query,
        headers,
        body
      }, clock.offset === 0 ? undefined : { signingDate: new Date(Date.now() + clock.offset) })
      return {
        method: "POST",
        hostname: endpoint.hostname,
        port,
        path: `${signed.path}${search}`,
        headers: signed.headers,
        body
      }
    }

    /**
     * A failed exchange as its tagged error: no response is a transport failure; a body cut short
     * is a response that could not be read; a body over SageMaker's response limit is refused
     * without holding it (announced: unread; otherwise read up to the limit).
     */
    const exchangeFailure = (endpointName: string, failure: NodeHttp.ExchangeFailure): InvokeError => {
      // The credential chain is the SDK's: its failures read as on the SDK transport.
      if (failure._tag === "NotPrepared") return fromSdkError(endpointName, failure.cause)
      if (failure._tag === "NoResponse") return classify(endpointName, { _tag: "Transport", cause: failure.cause })
      const body = failure.failure
      return body._tag === "TooLarge"
        ? responseTooLarge(endpointName, body.bytes, "")
        : classify(
          endpointName,
          unreadableResponse(failure.status, failure.headers, describeStreamFailure(socketFailure(body.cause)))
        )
    }

    const baseHeaders = (
      request: StreamRequest,
      accept: Record<string, string>,
      operation: Routing.Operation
    ): Record<string, string> => {
      const headers: Record<string, string> = { "content-type": request.contentType, ...accept }
      optionalHeaders(headers, request, operation)
      headers["content-length"] = String(request.body.length)
      // Unsigned, like the SDK's: it names the client, not the request.
      headers["user-agent"] = "effect-sagemaker"
      headers.host = endpoint.host
      // One attempt per request, as the SDK transport reports with `maxAttempts: 1`: our Schedule
      // retries; servers (and the emulator) read attempt numbers from this header.
      headers["amz-sdk-request"] = "attempt=1; max=1"
      return headers
    }

    /**
     * One signed exchange with its whole answer, read by `answer` when it succeeded; a refusal for
     * clock skew is signed again, once. One step after the wait: this runs on every call.
     */
    const exchange = <A>(
      name: string,
      operation: "invocations" | "async-invocations",
      headers: Record<string, string>,
      body: Uint8Array,
      answer: (response: NodeHttp.Response) => Effect.Effect<A, InvokeError>,
      skewRetried = false
    ): Effect.Effect<A, InvokeError> =>
      Effect.matchEffect(NodeHttp.exchange(agent, signing(name, operation, headers, body), MAX_BODY_BYTES), {
        onFailure: (failure) => Effect.fail(exchangeFailure(name, failure)),
        onSuccess: (response) => {
          if (response.status < 300) return answer(response)
          const failure = errorResponse(response.status, response.headers, response.body)
          if (!skewRetried && correctClock(failure, response.headers)) {
            return exchange(name, operation, headers, body, answer, true)
          }
          return Effect.fail(classify(name, failure))
        }
      })

    const invokeAnswer = (response: NodeHttp.Response): Effect.Effect<InvokeResponse> => {
      const headers = response.headers
      return Effect.succeed({
        body: response.body,
        contentType: headers["content-type"],
        invokedProductionVariant: headers["x-amzn-invoked-production-variant"],
        customAttributes: headers["x-amzn-sagemaker-custom-attributes"],
        newSessionId: headers["x-amzn-sagemaker-new-session-id"],
        closedSessionId: headers["x-amzn-sagemaker-closed-session-id"],
        requestId: requestIdOf(headers)
      })
    }

    const invokeEndpoint = (request: InvokeRequest): Effect.Effect<InvokeResponse, InvokeError> =>
      exchange(
        request.endpointName,
        "invocations",
        baseHeaders(request, { accept: request.accept }, "invoke"),
        request.body,
        invokeAnswer
      )

    const invokeEndpointAsync = (request: AsyncRequest): Effect.Effect<AsyncResponse, InvokeError> => {
      const name = request.endpointName
      const body = request.body ?? EMPTY
      return exchange(name, "async-invocations", asyncHeaders(request, endpoint.host), body, (response) => {
        const headers = response.headers
        const inferenceId = inferenceIdOf(response.body)
        return inferenceId === null
          ? Effect.fail(classify(
            name,
            unreadableResponse(response.status, headers, "the InvokeEndpointAsync answer is not JSON")
          ))
          : Effect.succeed({
            inferenceId,
            outputLocation: headers["x-amzn-sagemaker-outputlocation"],
            failureLocation: headers["x-amzn-sagemaker-failurelocation"],
            requestId: requestIdOf(headers)
          })
      })
    }

    /**
     * Opens the stream and waits for its first event, as the SDK does: a failure in the first frame
     * fails the call (an exception frame with its stream error; a broken frame as a response that
     * could not be read), so it follows the retry policy like any failed call. The body is closed
     * with the caller's scope; an attempt that fails or is interrupted after the head arrived (a
     * timeout, a retry) lets go of its socket at once.
     */
    const open = (
      request: StreamRequest,
      skewRetried = false
    ): Effect.Effect<StreamResponse, InvokeError, Scope.Scope> => {
      const name = request.endpointName
      const prepare = signing(
        name,
        "invocations-response-stream",
        baseHeaders(request, { "x-amzn-sagemaker-accept": request.accept }, "stream"),
        request.body
      )
      return Effect.matchEffect(NodeHttp.open(agent, prepare), {
        onFailure: (failure) => Effect.fail(exchangeFailure(name, failure)),
        onSuccess: (response) =>
          Effect.onError(
            response.status >= 300 ? refused(request, response, skewRetried) : firstEvent(name, response),
            () => Effect.sync(() => response.close())
          )
      })
    }

    /** An error response: its body read, then the error (signed again once for clock skew). */
    const refused = (
      request: StreamRequest,
      response: NodeHttp.StreamingResponse,
      skewRetried: boolean
    ): Effect.Effect<StreamResponse, InvokeError, Scope.Scope> => {
      const name = request.endpointName
      const headers = response.headers
      return Effect.matchEffect(response.rest(MAX_BODY_BYTES), {
        onFailure: (failure) =>
          Effect.fail(exchangeFailure(name, { _tag: "BodyFailed", status: response.status, headers, failure })),
        onSuccess: (body) => {
          const failure = errorResponse(response.status, headers, body)
          return !skewRetried && correctClock(failure, headers)
            ? open(request, true)
            : Effect.fail(classify(name, failure))
        }
      })
    }

    /**
     * Waits for the stream's first payload. The first payload then goes alone (so that the first
     * token does not wait until every other payload of the first read was decoded downstream),
     * the rest of the first chunk next, then one pull per socket read, no stream stage in between.
     */
    const firstEvent = (
      name: string,
      response: NodeHttp.StreamingResponse
    ): Effect.Effect<StreamResponse, InvokeError> => {
      const headers = response.headers
      const frames = new FrameReader(response.pull)
      const respond = (parts: Pull<Uint8Array, SagemakerStreamError>): StreamResponse => ({
        contentType: headers["x-amzn-sagemaker-content-type"],
        customAttributes: headers["x-amzn-sagemaker-custom-attributes"],
        invokedProductionVariant: headers["x-amzn-invoked-production-variant"],
        requestId: requestIdOf(headers),
        parts: fromPull(parts)
      })
      // A failure in the first frame fails the call; a later one is the stream's.
      const first = frames.pull((failure): InvokeError =>
        classify(
          name,
          isStreamException(failure.name)
            ? { _tag: "StreamException", failure }
            : unreadableResponse(response.status, headers, describeStreamFailure(failure))
        )
      )
      const rest = frames.pull((failure) => classifyStreamFailure(name, failure))
      return Effect.matchEffect(first, {
        onSuccess: (payloads) => {
          // The first payload alone, so that the first token does not wait until every other
          // payload of the first read was decoded downstream; the rest of them at the next pull.
          if (payloads.length === 1) frames.hold(payloads)
          else frames.hold(Chunk.take(payloads, 1), Chunk.drop(payloads, 1))
          return Effect.succeed(respond(rest))
        },
        onFailure: (error) =>
          Option.isNone(error) ? Effect.succeed(respond(Effect.fail(Option.none()))) : Effect.fail(error.value)
      })
    }

    const invokeEndpointWithResponseStream = (request: StreamRequest) => open(request)

    return {
      region: options.region,
      invokeEndpoint,
      invokeEndpointWithResponseStream,
      invokeEndpointAsync,
      identity: { region: options.region, credentials: config.credentials }
    }
  })

const EMPTY = new Uint8Array(0)

/**
 * The headers of an async request, in the order the SDK writes them: the body's own content type
 * and accept as SageMaker headers, the members, then the payload's (a blob: octet-stream).
 */
const asyncHeaders = (request: AsyncRequest, host: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  if (request.contentType !== undefined) headers["x-amzn-sagemaker-content-type"] = request.contentType
  if (request.accept !== undefined) headers["x-amzn-sagemaker-accept"] = request.accept
  optionalHeaders(headers, request, "async")
  for (const [name, member] of Routing.asyncRows) {
    const value = request[name]
    if (value !== undefined) headers[member.header] = String(value)
  }
  headers["content-type"] = "application/octet-stream"
  // Without a body the SDK sends no length; node then writes `Content-Length: 0`, unsigned.
  if (request.body !== undefined) headers["content-length"] = String(request.body.length)
  headers["user-agent"] = "effect-sagemaker"
  headers.host = host
  headers["amz-sdk-request"] = "attempt=1; max=1"
  return headers
}

/** The `InferenceId` of an async answer's JSON body (`undefined` when absent), or `null` when it is no JSON object. */
const inferenceIdOf = (body: Uint8Array): string | undefined | null => {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(body))
    if (typeof json !== "object" || json === null) return null
    const id = (json as { readonly InferenceId?: unknown }).InferenceId
    return typeof id === "string" ? id : undefined
  } catch {
    return null
  }
}
