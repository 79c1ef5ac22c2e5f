/**
 * The lean transport's wire: one HTTP exchange on node's `http`/`https` with a keep-alive agent,
 * as Effects; a call is one `Effect.async` (sign, send, response, body), a stream one per wait for
 * bytes, because `@effect/platform`'s client costs several times more CPU per request
 * (bench/README.md, "Why the internals look as they do"). Interruption destroys the request.
 *
 * @since 0.1.0
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import * as https from "node:https"
import type { ResponseHeaders } from "../errorTable.js"

/** A keep-alive agent for one protocol, and the `request` function that goes with it. */
export interface Agent {
  readonly agent: http.Agent
  readonly request: typeof http.request
}

const poolOptions = (maxSockets: number): http.AgentOptions => ({
  keepAlive: true,
  maxSockets,
  maxFreeSockets: maxSockets
})

/**
 * A keep-alive agent with at most `maxSockets` sockets per host, for `http:` or `https:`, that
 * keeps all of them when idle (node keeps 256 and closes the rest: a burst past that would
 * reconnect, a TLS handshake each, on the next one); destroyed (its sockets closed) when the
 * scope closes.
 */
export const makeAgent = (protocol: string, maxSockets: number): Effect.Effect<Agent, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync((): Agent =>
      protocol === "https:"
        ? { agent: new https.Agent(poolOptions(maxSockets)), request: https.request }
        : { agent: new http.Agent(poolOptions(maxSockets)), request: http.request }
    ),
    ({ agent }) => Effect.sync(() => agent.destroy())
  )

/** The caller's own agent for `protocol` (its owner closes it). */
export const agentOf = (protocol: string, agent: http.Agent): Agent => ({
  agent,
  request: protocol === "https:" ? https.request : http.request
})

/** A request, headers in the order they go on the wire. */
export interface Request {
  readonly method: string
  readonly hostname: string
  readonly port: number | undefined
  /** Path and query. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** Why a body could not be read: the socket failed (reset, cut short), or it was too large. */
export type BodyFailure =
  | { readonly _tag: "Broken"; readonly cause: Error }
  | { readonly _tag: "TooLarge"; readonly bytes: string }

/**
 * Why an exchange failed: the request could not be prepared (its signing failed: the cause is the
 * preparer's), no response (refused, reset, DNS: node's error), or a response whose body could
 * not be read.
 */
export type ExchangeFailure =
  | { readonly _tag: "NotPrepared"; readonly cause: unknown }
  | { readonly _tag: "NoResponse"; readonly cause: Error }
  | {
    readonly _tag: "BodyFailed"
    readonly status: number
    readonly headers: ResponseHeaders
    readonly failure: BodyFailure
  }

export interface Response {
  readonly status: number
  readonly headers: ResponseHeaders
  readonly body: Uint8Array
}

/** A response whose body is read as it arrives. */
export interface StreamingResponse {
  readonly status: number
  readonly headers: ResponseHeaders
  /** The bytes read since the last pull, as one chunk (never empty); `None` at the end. */
  readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<BodyFailure>>
  /** The rest of the body, at most `maxBytes` (an error response's). */
  readonly rest: (maxBytes: number) => Effect.Effect<Uint8Array, BodyFailure>
  /** Destroys the body if it did not end (as closing the scope does): its socket is not reused. */
  readonly close: () => void
}

/**
 * Node joins repeated headers with ", ", except `set-cookie`, which it keeps as an array: joined
 * here too, so every value is a string.
 */
const headersOf = (response: http.IncomingMessage): ResponseHeaders => {
  const headers = response.headers
  if (headers["set-cookie"] === undefined) return headers as ResponseHeaders
  return { ...headers, "set-cookie": headers["set-cookie"].join(", ") }
}

/** The socket closed before the body ended, without an error of its own. */
const cutShort = (): Error => Object.assign(new Error("aborted"), { code: "ECONNRESET" })

/** Held bytes above which a streaming body stops reading from its socket until pulled. */
const HIGH_WATER_BYTES = 256 * 1024

/**
 * Reads one response body in flowing mode: chunks are held until taken; the socket is paused
 * while more than {@link HIGH_WATER_BYTES} are held, and a body over `maxBytes` (announced or
 * read) fails and is destroyed. A failure comes after the chunks held before it. `onChange` runs
 * after every change a reader may wait for.
 */
class BodyReader {
  private held: Array<Buffer> = []
  private heldBytes = 0
  private total = 0
  private paused = false
  ended = false
  failure: BodyFailure | undefined = undefined
  onChange: (() => void) | undefined = undefined

  constructor(private readonly response: http.IncomingMessage, private maxBytes: number) {
    const announced = Number(response.headers["content-length"] ?? Number.NaN)
    if (announced > maxBytes) {
      this.fail({ _tag: "TooLarge", bytes: String(announced) })
      return
    }
    response.on("data", (chunk: Buffer) => {
      if (this.failure !== undefined) return
      this.total += chunk.length
      if (this.total > this.maxBytes) {
        // Nothing of a body over the limit is kept.
        this.held = []
        return this.fail({ _tag: "TooLarge", bytes: `more than ${this.maxBytes}` })
      }
      this.held.push(chunk)
      this.heldBytes += chunk.length
      if (this.heldBytes > HIGH_WATER_BYTES && this.maxBytes === Infinity) {
        this.paused = true
        response.pause()
      }
      this.onChange?.()
    })
    response.on("end", () => {
      this.ended = true
      this.onChange?.()
    })
    response.on("error", (cause) => this.fail({ _tag: "Broken", cause }))
    response.on("close", () => {
      if (!this.ended) this.fail({ _tag: "Broken", cause: cutShort() })
    })
  }

  /** Whether a pull would get something: chunks held, a failure or the end. */
  get ready(): boolean {
    return this.held.length > 0 || this.failure !== undefined || this.ended
  }

  /** Everything held, and reading resumed. */
  take(): Array<Buffer> {
    const chunks = this.held
    this.held = []
    this.heldBytes = 0
    if (this.paused) {
      this.paused = false
      this.response.resume()
    }
    return chunks
  }

  /** From now on, the body may hold at most `maxBytes` in all, and nothing pauses it. */
  limit(maxBytes: number): void {
    this.maxBytes = maxBytes
    if (this.total > maxBytes) {
      this.held = []
      this.fail({ _tag: "TooLarge", bytes: `more than ${maxBytes}` })
    } else if (this.paused) {
      this.paused = false
      this.response.resume()
    }
  }

  /** Fails the body and destroys it; what was held stays to be taken first (no byte is lost). */
  fail(failure: BodyFailure): void {
    if (this.failure !== undefined || this.ended) return
    this.failure = failure
    this.response.destroy()
    this.onChange?.()
  }

  /** Calls `onBody` with the whole body once it ended, or `onFailure` once it failed. */
  whenWhole(onBody: (body: Uint8Array) => void, onFailure: (failure: BodyFailure) => void): void {
    const settle = () => {
      if (this.failure !== undefined) {
        this.onChange = undefined
        onFailure(this.failure)
      } else if (this.ended) {
        this.onChange = undefined
        const chunks = this.take()
        onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
      }
    }
    this.onChange = settle
    settle()
  }

  /** Destroys the body if it did not end: its socket is not reused. */
  close(): void {
    if (!this.ended) this.response.destroy()
  }
}

/**
 * Sends the request; `onResponse` gets the response, `onError` any error before it, including
 * node refusing the request outright (an invalid header value throws); `undefined` then.
 */
const send = (
  agent: Agent,
  request: Request,
  onResponse: (response: http.IncomingMessage) => void,
  onError: (cause: Error) => void
): http.ClientRequest | undefined => {
  let outgoing: http.ClientRequest
  try {
    outgoing = agent.request({
      method: request.method,
      hostname: request.hostname,
      port: request.port,
      path: request.path,
      headers: request.headers,
      agent: agent.agent
    })
  } catch (cause) {
    onError(cause instanceof Error ? cause : new Error(String(cause)))
    return undefined
  }
  let responded = false
  outgoing.on("response", (response) => {
    responded = true
    onResponse(response)
  })
  // After the response, socket errors reach the body reader through the response.
  outgoing.on("error", (cause) => {
    if (!responded) onError(cause)
  })
  outgoing.end(request.body)
  return outgoing
}

/**
 * Makes the request (a retry runs the effect again: it signs anew), then sends it; `onResponse`
 * gets the response, `onFailure` why there is none. One callback chain, no Effect in between:
 * signing and sending are one wait of the fiber. Returns `stop`: after it nothing more is sent or
 * reported, and it gives the request sent so far (to destroy on interruption).
 */
const prepareAndSend = (
  agent: Agent,
  prepare: () => Promise<Request>,
  onResponse: (response: http.IncomingMessage) => void,
  onFailure: (failure: ExchangeFailure) => void
): () => http.ClientRequest | undefined => {
  let stopped = false
  let outgoing: http.ClientRequest | undefined
  const stop = () => {
    stopped = true
    return outgoing
  }
  let preparing: Promise<Request>
  try {
    preparing = prepare()
  } catch (cause) {
    onFailure({ _tag: "NotPrepared", cause })
    return stop
  }
  preparing.then(
    (request) => {
      if (stopped) return
      outgoing = send(agent, request, onResponse, (cause) => onFailure({ _tag: "NoResponse", cause }))
    },
    (cause: unknown) => {
      if (!stopped) onFailure({ _tag: "NotPrepared", cause })
    }
  )
  return stop
}

/**
 * Prepares the request, sends it and reads the whole response, at most `maxBytes` of body.
 * Interruption destroys the request, or keeps one still being prepared from being sent.
 */
export const exchange = (
  agent: Agent,
  prepare: () => Promise<Request>,
  maxBytes: number
): Effect.Effect<Response, ExchangeFailure> =>
  Effect.async<Response, ExchangeFailure>((resume) => {
    let reader: BodyReader | undefined
    const fail = (failure: ExchangeFailure) => resume(Effect.fail(failure))
    const stop = prepareAndSend(agent, prepare, (response) => {
      reader = new BodyReader(response, maxBytes)
      const status = response.statusCode!
      reader.whenWhole(
        (body) => resume(Effect.succeed({ status, headers: headersOf(response), body })),
        (failure) => fail({ _tag: "BodyFailed", status, headers: headersOf(response), failure })
      )
    }, fail)
    return Effect.sync(() => {
      if (reader !== undefined) reader.onChange = undefined
      stop()?.destroy()
    })
  })

/**
 * Prepares the request, sends it and hands over the response as soon as its head arrived; its body
 * is read through `pull`. Closing the scope before the body ended destroys it.
 */
export const open = (
  agent: Agent,
  prepare: () => Promise<Request>
): Effect.Effect<StreamingResponse, ExchangeFailure, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) => {
    let reader: BodyReader | undefined
    // On the scope itself: `Effect.addFinalizer` would also carry the fiber's references over to
    // the finalizer, which costs more than the rest of the opening (bench/README.md).
    const closing = Scope.addFinalizer(scope, Effect.sync(() => reader?.close()))
    const opened = Effect.async<StreamingResponse, ExchangeFailure>((resume) => {
      const stop = prepareAndSend(agent, prepare, (response) => {
        reader = new BodyReader(response, Infinity)
        resume(Effect.succeed(streaming(response, reader)))
      }, (failure) => resume(Effect.fail(failure)))
      // Interrupted before the head arrived; once it has, the finalizer owns the body.
      return Effect.sync(() => {
        const outgoing = stop()
        if (reader === undefined) outgoing?.destroy()
      })
    })
    return Effect.zipRight(closing, opened)
  })

const streaming = (response: http.IncomingMessage, reader: BodyReader): StreamingResponse => {
  const now = (): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<BodyFailure>> | undefined => {
    const chunks = reader.take()
    if (chunks.length > 0) return Effect.succeed(Chunk.unsafeFromArray(chunks))
    if (reader.failure !== undefined) return Effect.fail(Option.some(reader.failure))
    if (reader.ended) return Effect.fail(Option.none())
    return undefined
  }
  // The wait takes nothing itself: it resumes the pull, which takes what came. An interrupted
  // wait's late resume is ignored by the fiber, and what came stays held for the next pull, so
  // the wait needs no canceler (a canceler costs an interruption handler per wait).
  const wait = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<BodyFailure>>((resume) => {
    reader.onChange = () => {
      if (!reader.ready) return
      reader.onChange = undefined
      resume(pull)
    }
  })
  const pull: StreamingResponse["pull"] = Effect.suspend(() => now() ?? wait)
  return {
    status: response.statusCode!,
    headers: headersOf(response),
    pull,
    rest: (maxBytes) =>
      Effect.async<Uint8Array, BodyFailure>((resume) => {
        reader.limit(maxBytes)
        reader.whenWhole((body) => resume(Effect.succeed(body)), (failure) => resume(Effect.fail(failure)))
        return Effect.sync(() => {
          reader.onChange = undefined
        })
      }),
    close: () => reader.close()
  }
}
