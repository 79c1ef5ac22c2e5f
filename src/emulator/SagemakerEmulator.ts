/**
 * A local SageMaker Runtime emulator: a node `http` server that the real
 * `@aws-sdk/client-sagemaker-runtime` cannot tell from SageMaker (see `docs/protocol.md`).
 *
 * It serves `POST [prefix]/endpoints/{name}/invocations`, `/invocations-response-stream` and
 * `/async-invocations`, validates requests as SageMaker does, answers errors in SageMaker's wire
 * format, streams AWS event-stream frames, can verify SigV4 signatures, injects faults per endpoint
 * and runs a small deterministic text model speaking several container dialects ("personalities").
 *
 * Streaming is decided by the model container, as on SageMaker: `tgi`, `lmi` and `vllm` stream
 * only when the request body has `"stream": true` (on either route: InvokeEndpoint then returns the
 * whole event text as one body); without it the stream route carries the ordinary JSON body as
 * PayloadParts. The `default` personality is lenient: on the stream route it streams unless the body
 * says `"stream": false`. `llama2` and `llama2-chat` never stream, whatever the body says: the
 * original JumpStart Llama 2 containers they copy cannot, and SageMaker does not refuse the stream
 * route for such a container, it relays its whole JSON answer (`[{"generation": …}]`) as PayloadParts.
 *
 * What each personality follows upstream, rule by rule, is in `docs/emulator.md`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { SagemakerEmulator } from "effect-sagemaker"
 *
 * const program = Effect.gen(function*() {
 *   const emulator = yield* SagemakerEmulator.make({ personality: "tgi", faults: { flaky: { kind: "not-ready", count: 1 } } })
 *   // point the SDK at emulator.url
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internalPersonality from "./internal/personalities.js"

/**
 * The container dialects the built-in model speaks (`docs/emulator.md` has every rule and the
 * upstream file each one follows).
 *
 * - `tgi`: Hugging Face TGI ≥ 2.4 — `/invocations` routes by body shape: `inputs` → generate
 *   (`[{"generated_text"}]`, `data:` SSE without a space), `messages` → chat completions, `prompt` →
 *   legacy completions (both `data:` SSE ending `data:[DONE]`).
 * - `lmi`: DJL Serving LMI with rolling batch — `{"generated_text"}`, JSON lines (or `sse`) streams;
 *   `messages` bodies get chat completions as JSON lines; its errors are 424 `{"code", "error"}`.
 * - `vllm`: vLLM's OpenAI server behind SageMaker's `/invocations` — chat (`messages`) or completions
 *   (`prompt`) only; an `inputs` body is refused with 400 "Cannot find suitable handler".
 * - `messages`: the former name of `vllm`, still accepted.
 * - `llama2` / `llama2-chat`: JumpStart Llama 2 — `[{"generation"}]`; require `accept_eula=true`;
 *   never stream (the stream route carries that JSON body).
 * - `embeddings`: an embeddings container (TEI `{inputs}`, vLLM `{input}`, JumpStart `{text_inputs}`):
 *   the same text always gives the same vector.
 * - `default`: TGI's dialect made lenient (any content type, the stream route streams by default,
 *   `return_full_text` off, stream details always sent, stop sequences cut out).
 *
 * @since 0.1.0
 * @category models
 */
export type Personality = "default" | "tgi" | "lmi" | "vllm" | "llama2" | "llama2-chat" | "messages" | "embeddings"

/**
 * Every personality, in documentation order.
 *
 * @since 0.1.0
 * @category models
 */
export const personalities: ReadonlyArray<Personality> = [
  "default",
  "tgi",
  "lmi",
  "vllm",
  "llama2",
  "llama2-chat",
  "messages",
  "embeddings"
]

/**
 * How the endpoint's container is configured, where the real servers have a switch for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerOptions {
  /**
   * `vllm` and `lmi`: a reasoning parser is configured (vLLM's `--reasoning-parser`), so every chat
   * answer starts with reasoning, returned apart from the content. `true` names the field
   * `reasoning_content` (vLLM's earlier name, and LMI's); `"reasoning"` uses vLLM's later name.
   */
  readonly reasoning?: boolean | "reasoning_content" | "reasoning" | undefined
  /**
   * `tgi` (and `default`): SSE keep-alive comments (`:`) written before the first event, as axum
   * writes one for every 15 s without an event (a long queue before the first token).
   */
  readonly keepAliveComments?: number | undefined
  /**
   * `tgi`: non-streamed tool calls carry `function.arguments` as a JSON object, as TGI 2.4 to 3.1
   * did; TGI 3.2 and later (the default here) send a JSON string.
   */
  readonly toolArgumentsAsObject?: boolean | undefined
  /**
   * `lmi`: the framing of streamed chat answers: `jsonlines` (`jsonlines_chat`, the default) or
   * `sse` (`sse_chat`, which LMI's vLLM chat path uses since djl-serving commit 76158f2a).
   */
  readonly lmiChatStream?: "jsonlines" | "sse" | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isPersonality = (u: unknown): u is Personality =>
  typeof u === "string" && (personalities as ReadonlyArray<string>).includes(u)

/**
 * The SageMaker operation a request was routed to.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = "invoke" | "stream" | "async" | "unknown"

/**
 * Faults injected per endpoint. `count` restricts any fault to the endpoint's first `count` calls
 * (counted per endpoint since start or the last `reset`); without it the fault applies to every call.
 * When several faults match, every `latency` is applied and the first other fault wins.
 *
 * | kind | effect |
 * |---|---|
 * | `not-ready` | 429 `ModelNotReadyException` |
 * | `throttle` | 400 `ThrottlingException`, body `{"message":null}` (as real SageMaker) |
 * | `throttle-429` | 429 `ThrottlingException`, `{"message":"Rate exceeded"}` |
 * | `model-error` | 424 `ModelError` (`OriginalStatusCode` default 400); stream route too |
 * | `service-unavailable` | 503 `ServiceUnavailable` |
 * | `internal-failure` | 500 `InternalFailure` |
 * | `dependency-failure` | 530 `InternalDependencyException` |
 * | `access-denied` | 403 `AccessDeniedException` |
 * | `html-500` | 500 with an HTML body (the SDK throws a `SyntaxError`) |
 * | `empty-500` | 500 with an empty body (SDK name `Unknown`) |
 * | `latency` | waits `millis` before answering |
 * | `malformed` | 200 whose body is not a valid model response (plain text) |
 * | `reset` | destroys the socket without answering (stream: after `afterParts` parts if given) |
 * | `stream-error` | stream: `ModelStreamError` exception frame after `afterParts` (default 1) parts; invoke: 424 `ModelError` |
 * | `internal-stream-failure` | stream: `InternalStreamFailure` exception frame after `afterParts` (default 1); invoke: 500 `InternalFailure` |
 * | `stall` | stream: sends `afterParts` (default 1) parts then never finishes; invoke: never answers |
 * | `bad-crc` | stream: frame number `afterParts + 1` (default 2nd) has a corrupted message CRC; invoke: no effect |
 * | `truncate` | stream: the last frame is cut in the middle and the response ends; invoke: the body is cut in half |
 * | `generation-error` | the model container fails while generating, after `afterTokens` (default 0) streamed tokens, and says so in its own dialect (docs/emulator.md) |
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly kind: "not-ready"; readonly count?: number | undefined }
  | { readonly kind: "throttle"; readonly count?: number | undefined }
  | { readonly kind: "throttle-429"; readonly count?: number | undefined }
  | {
    readonly kind: "model-error"
    readonly count?: number | undefined
    readonly originalStatusCode?: number | undefined
    readonly originalMessage?: string | undefined
  }
  | { readonly kind: "service-unavailable"; readonly count?: number | undefined }
  | { readonly kind: "internal-failure"; readonly count?: number | undefined }
  | { readonly kind: "dependency-failure"; readonly count?: number | undefined }
  | { readonly kind: "access-denied"; readonly count?: number | undefined }
  | { readonly kind: "html-500"; readonly count?: number | undefined }
  | { readonly kind: "empty-500"; readonly count?: number | undefined }
  | { readonly kind: "latency"; readonly millis: number; readonly count?: number | undefined }
  | {
    /**
     * The endpoint serves `limit` requests at once; past that SageMaker refuses the rest, taking
     * turns between a 400 `ThrottlingException` and a 424 `ModelError` relaying the container's
     * 429. Combines with `latency` (the time each request holds its place).
     */
    readonly kind: "capacity"
    readonly limit: number
  }
  | { readonly kind: "malformed"; readonly count?: number | undefined }
  | { readonly kind: "reset"; readonly afterParts?: number | undefined; readonly count?: number | undefined }
  | {
    readonly kind: "stream-error"
    readonly afterParts?: number | undefined
    readonly errorCode?: string | undefined
    readonly message?: string | undefined
    readonly count?: number | undefined
  }
  | {
    readonly kind: "internal-stream-failure"
    readonly afterParts?: number | undefined
    readonly count?: number | undefined
  }
  | { readonly kind: "stall"; readonly afterParts?: number | undefined; readonly count?: number | undefined }
  | { readonly kind: "bad-crc"; readonly afterParts?: number | undefined; readonly count?: number | undefined }
  | { readonly kind: "truncate"; readonly count?: number | undefined }
  /** Async: the request expires in the queue (its failure object says so). */
  | { readonly kind: "async-expired"; readonly count?: number | undefined }
  /** Async: the request is never completed: neither object is ever written. */
  | { readonly kind: "async-lost"; readonly count?: number | undefined }
  /** Async: the model fails; the failure object holds `message`. */
  | { readonly kind: "async-failure"; readonly message?: string | undefined; readonly count?: number | undefined }
  /** Async: the output is written `millis` after the model answered. */
  | { readonly kind: "async-late"; readonly millis: number; readonly count?: number | undefined }
  | {
    readonly kind: "generation-error"
    /** Tokens the container sends before it fails (streams). Default 0. */
    readonly afterTokens?: number | undefined
    /** The container's error text; each personality has its own default. */
    readonly message?: string | undefined
    /**
     * How an `lmi` container reports it: `http-424` (LMI ≥ 0.29: 424 `{"code": 424, "error"}`, the
     * default), `empty-text` (LMI ≤ 0.28: 200 with `details.finish_reason: "error"`) or `null-text`
     * (200 `{"generated_text": null, "error", "code": 400}`).
     */
    readonly lmi?: "http-424" | "empty-text" | "null-text" | undefined
    readonly count?: number | undefined
  }

/**
 * @since 0.1.0
 * @category models
 */
export type FaultKind = Fault["kind"]

/**
 * Every fault kind.
 *
 * @since 0.1.0
 * @category models
 */
export const faultKinds: ReadonlyArray<FaultKind> = [
  "not-ready",
  "throttle",
  "throttle-429",
  "model-error",
  "service-unavailable",
  "internal-failure",
  "dependency-failure",
  "access-denied",
  "html-500",
  "empty-500",
  "latency",
  "capacity",
  "malformed",
  "reset",
  "stream-error",
  "internal-stream-failure",
  "stall",
  "bad-crc",
  "truncate",
  "generation-error",
  "async-expired",
  "async-lost",
  "async-failure",
  "async-late"
]

const afterPartsKinds: ReadonlyArray<FaultKind> = [
  "reset",
  "stream-error",
  "internal-stream-failure",
  "stall",
  "bad-crc"
]

/**
 * Parses `KIND[:ARG]` as used by the CLI's `--fault ENDPOINT:KIND[:ARG]` (the endpoint part is the
 * caller's). `ARG` is a non-negative integer: milliseconds for `latency` (required), the number of
 * requests served at once for `capacity` (required), the number of
 * PayloadParts sent first for `reset`, `stream-error`, `internal-stream-failure`, `stall` and
 * `bad-crc`, the tokens streamed first for `generation-error`, and otherwise `count`, the number of
 * first calls affected (`not-ready:2`).
 * Returns `Right(fault)` or `Left(reason)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseFault = (spec: string): Either.Either<Fault, string> => {
  const parts = spec.trim().split(":")
  const kind = parts[0] ?? ""
  if (!(faultKinds as ReadonlyArray<string>).includes(kind)) {
    return Either.left(`unknown fault kind "${kind}" (expected one of: ${faultKinds.join(", ")})`)
  }
  if (parts.length > 2) return Either.left(`fault "${spec}" has too many ":" parts (expected KIND[:ARG])`)
  const raw = parts[1]
  let arg: number | undefined
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw)) return Either.left(`fault "${spec}": "${raw}" is not a non-negative integer`)
    arg = Number(raw)
  }
  const k = kind as FaultKind
  if (k === "latency") {
    return arg === undefined ? Either.left(`fault "latency" needs milliseconds, e.g. latency:250`) : Either.right({
      kind: "latency",
      millis: arg
    })
  }
  if (k === "async-late") {
    return arg === undefined ?
      Either.left(`fault "async-late" needs milliseconds, e.g. async-late:500`) :
      Either.right({
        kind: "async-late",
        millis: arg
      })
  }
  if (k === "capacity") {
    return arg === undefined || arg < 1
      ? Either.left(`fault "capacity" needs the requests served at once, e.g. capacity:64`)
      : Either.right({ kind: "capacity", limit: arg })
  }
  if (arg === undefined) return Either.right({ kind: k } as Fault)
  if (k === "generation-error") return Either.right({ kind: k, afterTokens: arg })
  if (afterPartsKinds.includes(k)) return Either.right({ kind: k, afterParts: arg } as Fault)
  return Either.right({ kind: k, count: arg } as Fault)
}

/**
 * How a model's output bytes are cut into PayloadPart frames on the stream route.
 *
 * - `whole` (default): one part per chunk the container wrote (one per token event).
 * - `fixed`: parts of `size` bytes over the concatenated output.
 * - `inside-lines`: every line is cut in its middle, so each line straddles two parts.
 * - `inside-utf8`: the container's chunks, further cut right after the first byte of every
 *   multi-byte UTF-8 character.
 * - `bytes`: one-byte parts.
 *
 * @since 0.1.0
 * @category models
 */
export type SplitStrategy =
  | { readonly kind: "whole" }
  | { readonly kind: "fixed"; readonly size: number }
  | { readonly kind: "inside-lines" }
  | { readonly kind: "inside-utf8" }
  | { readonly kind: "bytes" }

/**
 * Parses `whole`, `fixed:N` (N ≥ 1), `inside-lines`, `inside-utf8` or `bytes`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseSplit = (spec: string): Either.Either<SplitStrategy, string> => {
  const s = spec.trim()
  switch (s) {
    case "whole":
    case "inside-lines":
    case "inside-utf8":
    case "bytes":
      return Either.right({ kind: s })
  }
  const m = /^fixed:(\d+)$/.exec(s)
  if (m !== null && Number(m[1]) >= 1) return Either.right({ kind: "fixed", size: Number(m[1]) })
  return Either.left(`unknown split "${spec}" (expected whole, fixed:N, inside-lines, inside-utf8 or bytes)`)
}

/**
 * What the model container receives. `json` is the parsed body, or `undefined` when the body is
 * not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelRequest {
  readonly endpointName: string
  readonly operation: "invoke" | "stream"
  readonly personality: Personality
  readonly body: Uint8Array
  readonly text: string
  readonly json: unknown
  readonly contentType: string | undefined
  readonly accept: string | undefined
  readonly customAttributes: string | undefined
  readonly sessionId: string | undefined
  /** Lower-cased request headers. */
  readonly headers: Readonly<Record<string, string>>
  /** The endpoint's container options. */
  readonly container?: ContainerOptions | undefined
  /** A `generation-error` fault the container is to act out on this call. */
  readonly generationError?: Extract<Fault, { readonly kind: "generation-error" }> | undefined
}

/**
 * What the model container answers. A `status` ≥ 400 becomes a 424 `ModelError` carrying it as
 * `OriginalStatusCode` and the body as `OriginalMessage`. `body` given as an array lists the chunks
 * the container writes (one PayloadPart each under the `whole` split); InvokeEndpoint concatenates
 * them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelResponse {
  readonly status?: number | undefined
  readonly contentType?: string | undefined
  readonly body: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** Returned as `X-Amzn-SageMaker-Custom-Attributes`. */
  readonly customAttributes?: string | undefined
  /** Returned as `X-Amzn-SageMaker-Closed-Session-Id` (InvokeEndpoint only). */
  readonly closedSessionId?: string | undefined
}

/**
 * A user-supplied model. A thrown error or defect becomes a 424 `ModelError` with
 * `OriginalStatusCode` 500.
 *
 * @since 0.1.0
 * @category models
 */
export type Responder = (request: ModelRequest) => ModelResponse | Effect.Effect<ModelResponse>

/**
 * The built-in deterministic model speaking `personality`; handy to wrap in a custom responder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const personalityResponder: (personality: Personality) => Responder = internalPersonality.responder

/**
 * Per-endpoint settings; they override the emulator-wide ones.
 *
 * @since 0.1.0
 * @category models
 */
export interface EndpointOptions {
  readonly personality?: Personality | undefined
  readonly faults?: Fault | ReadonlyArray<Fault> | undefined
  readonly responder?: Responder | undefined
  readonly split?: SplitStrategy | undefined
  /** Delay between PayloadPart frames on the stream route. */
  readonly partDelayMillis?: number | undefined
  readonly container?: ContainerOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** 0 (default) picks an ephemeral port. */
  readonly port?: number | undefined
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  readonly personality?: Personality | undefined
  /** How every endpoint's container is configured (an endpoint's own `container` replaces it). */
  readonly container?: ContainerOptions | undefined
  /** When given, other endpoint names get 400 `ValidationError` "Endpoint … not found." */
  readonly endpoints?: ReadonlyArray<string> | Readonly<Record<string, EndpointOptions>> | undefined
  /**
   * Endpoints deployed for asynchronous inference: they take InvokeEndpointAsync only, queue each
   * request, run the model and write its answer to the emulator's S3 (`s3Url`); the others refuse
   * it, as SageMaker refuses a call of the other kind.
   */
  readonly asyncEndpoints?: ReadonlyArray<string> | undefined
  /** How async endpoints run their queue. */
  readonly async?: AsyncOptions | undefined
  /** Faults per endpoint name; the key `"*"` applies to every endpoint. */
  readonly faults?: Readonly<Record<string, Fault | ReadonlyArray<Fault>>> | undefined
  /** When given, requests must carry a valid SigV4 signature from one of these key pairs. */
  readonly credentials?: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }> | undefined
  /** Default `123456789012`. */
  readonly accountId?: string | undefined
  /** Used in ARNs and messages when the request is not signed with a region. Default `us-east-1`. */
  readonly region?: string | undefined
  /** Default 6 291 456; larger bodies get 413 `HTTP content length exceeded N bytes.` */
  readonly maxBodyBytes?: number | undefined
  readonly split?: SplitStrategy | undefined
  readonly partDelayMillis?: number | undefined
  readonly responder?: Responder | undefined
  /** How many requests `requests` keeps (oldest dropped first). Default 1000. */
  readonly recordLimit?: number | undefined
  /** One line per request: `METHOD PATH STATUS MSms` (`S3 METHOD PATH STATUS MSms` on the S3 endpoint). */
  readonly log?: ((line: string) => Effect.Effect<void>) | undefined
  /**
   * The emulator's own S3 endpoint (where async inference writes its results), which always starts
   * with the emulator, on its own port. It serves path-style requests (`/bucket/key`) of PutObject,
   * GetObject, HeadObject, DeleteObject and ListObjectsV2 for the real `@aws-sdk/client-s3` (with
   * `forcePathStyle: true` and `endpoint: service.s3Url`); it checks SigV4 signatures (service
   * `s3`) when `credentials` is given. See `docs/emulator.md`.
   */
  readonly s3?: S3Options | undefined
}

/**
 * The S3 endpoint's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface S3Options {
  /** 0 (default) picks an ephemeral port. */
  readonly port?: number | undefined
  /**
   * Whether the caller may list the buckets (`s3:ListBucket`). Default `true`. With `false`, as S3
   * answers a caller without that permission, a missing object is 403 `AccessDenied` instead of 404
   * `NoSuchKey`, and ListObjectsV2 and HeadBucket are refused with 403.
   */
  readonly listBucket?: boolean | undefined
}

/**
 * How the async endpoints run.
 *
 * @since 0.1.0
 * @category models
 */
export interface AsyncOptions {
  /** How long a request waits in the queue before an instance takes it. Default 0. */
  readonly delayMillis?: number | undefined
  /** Requests an endpoint runs at once (its instances). Default 4. */
  readonly concurrency?: number | undefined
  /**
   * Where results go (`{endpoint}` and `{region}` stand for the request's endpoint and signing
   * region). Default `s3://sagemaker-{region}-ACCOUNT/async-endpoint-outputs/{endpoint}`.
   */
  readonly outputPath?: string | undefined
  /** Where failures go. Default `s3://sagemaker-{region}-ACCOUNT/async-endpoint-failures/{endpoint}`. */
  readonly failurePath?: string | undefined
}

/**
 * One request as the emulator saw it. `status` is 0 while no response was sent (in flight, reset
 * by a fault, or abandoned by the client).
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly requestId: string
  readonly method: string
  /** Raw request path as sent (percent-encoded, with any prefix), without the query. */
  readonly path: string
  /** Decoded `{EndpointName}` path label, if the path matched a route. */
  readonly endpointName: string | undefined
  readonly operation: Operation
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  readonly bodyText: string
  readonly status: number
  /** `N` of the SDK's `amz-sdk-request: attempt=N; max=M` header. */
  readonly attempt: number | undefined
  /** The fault that decided the response, if any (latency excluded). */
  readonly fault: FaultKind | undefined
  /** The client closed the connection before the response finished. */
  readonly aborted: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `http://127.0.0.1:PORT`, no trailing slash; pass it as the SDK's `endpoint`. */
  readonly url: string
  readonly port: number
  /**
   * The S3 endpoint, `http://127.0.0.1:PORT` with no trailing slash: the S3 client's `endpoint`
   * (with `forcePathStyle: true`).
   */
  readonly s3Url: string
  /** Every request seen, in arrival order (the last `recordLimit` of them). */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Sockets currently open. */
  readonly openConnections: Effect.Effect<number>
  /** Sockets accepted since start. */
  readonly totalConnections: Effect.Effect<number>
  /** Requests whose connection closed before their response finished (client aborts). */
  readonly closedRequests: Effect.Effect<number>
  /** Waits until `closedRequests` reaches `n`. */
  readonly awaitClosedRequests: (n: number) => Effect.Effect<void>
  /** Clears recorded requests, fault call counters and the closed-request count. */
  readonly reset: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SagemakerEmulator
  extends Context.Tag("effect-sagemaker/SagemakerEmulator")<SagemakerEmulator, Service>()
{}

/**
 * The server could not listen (for example the port is taken).
 *
 * @since 0.1.0
 * @category errors
 */
export class EmulatorServeError extends Schema.TaggedError<EmulatorServeError>("effect-sagemaker/EmulatorServeError")(
  "EmulatorServeError",
  { host: Schema.String, port: Schema.Number, cause: Schema.optional(Schema.Defect) }
) {
  override get message(): string {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `The SageMaker emulator cannot listen on ${this.host}:${this.port}: ${reason}`
  }
}

/**
 * Starts the emulator for the lifetime of the scope; closing the scope closes every connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, EmulatorServeError, Scope.Scope> => {
  // The S3 endpoint's listen failure names its own port.
  const serveError = (cause: unknown, port: number = options.port ?? 0) =>
    new EmulatorServeError({ host: options.host ?? "127.0.0.1", port, cause })
  // The server (node `http`, SigV4 checks, the event-stream encoder) is loaded when a server
  // starts, not when the package is imported: most importers never start one.
  return Effect.tryPromise({ try: () => import("./internal/server.js"), catch: serveError }).pipe(
    Effect.flatMap((internalServer) => internalServer.make(options, serveError))
  )
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<SagemakerEmulator, EmulatorServeError> =>
  Layer.scoped(SagemakerEmulator, make(options))
