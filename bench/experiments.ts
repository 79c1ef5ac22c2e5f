/**
 * A/B experiments behind the profile findings: each variant isolates one cost of `run` or
 * `stream`, or prototypes a fix, so the expected gain of a change to `src/` is measured before
 * anyone makes it. One variant per process, 64 in flight; prints one JSON line.
 *
 *   node node_modules/.cache/effect-sagemaker-bench/bench/experiments.js --variant sdk-cached-signal --url URL [--seconds 1.5]
 *
 * Unary variants (CPU µs per request):
 * - `sdk-cached`: the raw SDK, `cacheMiddleware: true`, `send(command)`.
 * - `sdk-cached-signal`: the same with `send(command, { abortSignal })`, as `SagemakerClient` called
 *   it before the fix. The SDK uses its handler cache only when `send` gets no options: with any options object it
 *   rebuilds the middleware stack on every call.
 * - `sdk-cached-abortable`: the fix (`src/internal/abortableSend.ts`): `send(command)` without
 *   options (cache kept), the abort signal handed to the HTTP handler by a middleware at the end of
 *   the stack.
 * - `sdk-cached-1024`: `sdk-cached` with a pool of 1,024 sockets (ours) instead of 50.
 * - `effect-send`: `Effect.tryPromise` around `sdk-cached-abortable`, run by `runPromise`.
 * - `effect-send-span`: plus `Effect.withSpan` (captures a stack trace per call).
 * - `effect-send-span-nostack`: with `captureStackTrace: false`.
 * - `run`: `SagemakerGenerator.run`, for reference.
 *
 * Stream variants (CPU µs per event, 100-event streams):
 * - `stream-sdk`: the raw SDK, `for await` over the events, token lines parsed.
 * - `client-parts`: `SagemakerClient.invokeEndpointWithResponseStream`, parts drained, no decoding.
 * - `client-parts-push`: the same events through `Stream.asyncPush` (the proposed source).
 * - `client-flatmap`: parts → `StreamDecoder` the way `SagemakerGenerator.stream` does it now
 *   (`Stream.flatMap` of a small stream per part).
 * - `client-channel`: parts → `StreamDecoder` in one channel, a chunk at a time (what `stream` does now).
 * - `client-channel-span`: `client-channel` wrapped as `SagemakerGenerator.stream` wraps its stream
 *   (`Stream.unwrapScoped`, `Stream.tapError` annotating the span, `Stream.withSpan`).
 * - `push-channel`: both proposals together.
 * - `stream-run`: `SagemakerGenerator.stream`, for reference.
 * - `lean-parts`, `lean-channel-span`: the same as `client-parts` and `client-channel-span` over the
 *   lean transport (`SagemakerClient` with `transport: "http"`), which reads many frames per
 *   socket read; `stream-run-http` and `stream-floor` for reference.
 */
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient
} from "@aws-sdk/client-sagemaker-runtime"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { abortableSend } from "../src/internal/client/sdk/abortableSend.js"
import * as StreamDecoder from "../src/internal/container/streamDecoder.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import { makeStreaming, makeUnary } from "./contenders.js"
import {
  CREDENTIALS,
  delayedEndpoint,
  ENDPOINT,
  REGION,
  requestBody,
  STREAM_TOKENS,
  streamEndpoint,
  streamRequestBody
} from "./shared.js"

export const unaryVariants = [
  "sdk-cached",
  "sdk-cached-signal",
  "sdk-cached-abortable",
  "sdk-cached-1024",
  "effect-send",
  "effect-send-span",
  "effect-send-span-nostack",
  "run"
] as const

export const streamVariants = [
  "stream-floor",
  "stream-sdk",
  "client-parts",
  "client-parts-push",
  "client-flatmap",
  "client-channel",
  "client-channel-span",
  "push-channel",
  "stream-run",
  "lean-parts",
  "lean-channel-span",
  "stream-run-http"
] as const

export const isVariant = (name: string): boolean =>
  (unaryVariants as ReadonlyArray<string>).includes(name) || (streamVariants as ReadonlyArray<string>).includes(name)

// ---------------------------------------------------------------------------------------------
// The SDK fix (now src/internal/abortableSend.ts): keep the handler cache, still abort per call
// ---------------------------------------------------------------------------------------------

/** A cached-middleware client whose calls are aborted by a per-call signal, as `SagemakerClient` sends. */
export const abortableClient = (url: string, maxSockets?: number) => {
  const client = new SageMakerRuntimeClient({
    region: REGION,
    endpoint: url,
    credentials: CREDENTIALS,
    cacheMiddleware: true,
    maxAttempts: 1,
    ...(maxSockets === undefined ? {} : {
      requestHandler: { httpAgent: { keepAlive: true, maxSockets }, httpsAgent: { keepAlive: true, maxSockets } }
    })
  })
  return { client, send: abortableSend(client) }
}

const unaryCall = (variant: typeof unaryVariants[number], url: string): () => Promise<unknown> => {
  switch (variant) {
    case "sdk-cached":
      return ((c) => () => c.call(ENDPOINT))(makeUnary("sdk-cached", { url }))
    case "sdk-cached-1024":
      return ((c) => () => c.call(ENDPOINT))(makeUnary("sdk-cached", { url, maxSockets: 1024 }))
    case "run":
      return ((c) => () => c.call(ENDPOINT))(makeUnary("run", { url }))
    case "sdk-cached-signal": {
      const client = new SageMakerRuntimeClient({
        region: REGION,
        endpoint: url,
        credentials: CREDENTIALS,
        cacheMiddleware: true
      })
      return async () => {
        const output = await client.send(
          new InvokeEndpointCommand({
            EndpointName: ENDPOINT,
            Body: requestBody(),
            ContentType: "application/json",
            Accept: "application/json"
          }),
          { abortSignal: new AbortController().signal }
        )
        return JSON.parse(new TextDecoder().decode(output.Body))
      }
    }
    case "sdk-cached-abortable": {
      const { send } = abortableClient(url)
      return async () => {
        const output = await send(
          new InvokeEndpointCommand({
            EndpointName: ENDPOINT,
            Body: requestBody(),
            ContentType: "application/json",
            Accept: "application/json"
          }),
          new AbortController().signal
        )
        return JSON.parse(new TextDecoder().decode(output.Body))
      }
    }
    case "effect-send":
    case "effect-send-span":
    case "effect-send-span-nostack": {
      const { send } = abortableClient(url, 1024)
      const attempt = () =>
        Effect.tryPromise({
          try: (signal) =>
            send(
              new InvokeEndpointCommand({
                EndpointName: ENDPOINT,
                Body: requestBody(),
                ContentType: "application/json",
                Accept: "application/json"
              }),
              signal
            ),
          catch: (error) => error
        }).pipe(Effect.map((output) => JSON.parse(new TextDecoder().decode(output.Body)) as unknown))
      const options = { kind: "client", attributes: { "gen_ai.request.model": ENDPOINT } } as const
      const program = variant === "effect-send"
        ? attempt
        : variant === "effect-send-span"
        ? () => Effect.withSpan(attempt(), "SagemakerGenerator.run", options)
        : () => Effect.withSpan(attempt(), "SagemakerGenerator.run", { ...options, captureStackTrace: false })
      return () => Effect.runPromise(program())
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Stream variants
// ---------------------------------------------------------------------------------------------

/** `SagemakerGenerator.stream`'s decoding as it is now: a small stream per part. */
const decodeFlatMap = <E>(parts: Stream.Stream<Uint8Array, E>, decoder: StreamDecoder.StreamDecoder) => {
  const step = (decode: () => Array<StreamDecoder.DecodedEvent>): Stream.Stream<StreamDecoder.DecodedEvent, Error> => {
    try {
      return Stream.fromIterable(decode())
    } catch (error) {
      if (!(error instanceof StreamDecoder.StreamDecodeError)) throw error
      return Stream.concat(Stream.fromIterable(error.events), Stream.fail(new Error(error.message)))
    }
  }
  return parts.pipe(
    Stream.flatMap((bytes) => Stream.suspend(() => step(() => decoder.push(bytes)))),
    Stream.concat(Stream.suspend(() => step(() => decoder.end())))
  )
}

/**
 * The proposed decoding: one channel reads the parts a chunk at a time, decodes all of them, and
 * writes the events as one chunk; a decode failure writes the events decoded before it, then fails.
 */
export const decodeChannel = <E>(
  parts: Stream.Stream<Uint8Array, E>,
  decoder: StreamDecoder.StreamDecoder,
  toError: (error: StreamDecoder.StreamDecodeError) => Error
): Stream.Stream<StreamDecoder.DecodedEvent, E | Error> => {
  const emit = (
    events: Array<StreamDecoder.DecodedEvent>,
    then: Channel.Channel<
      Chunk.Chunk<StreamDecoder.DecodedEvent>,
      Chunk.Chunk<Uint8Array>,
      E | Error,
      E,
      unknown,
      unknown
    >
  ) => events.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(events)), then)
  const run = (decode: (events: Array<StreamDecoder.DecodedEvent>) => void, then: () => typeof loop) => {
    const events: Array<StreamDecoder.DecodedEvent> = []
    try {
      decode(events)
    } catch (error) {
      if (!(error instanceof StreamDecoder.StreamDecodeError)) throw error
      for (const event of error.events) events.push(event)
      return emit(events, Channel.fail(toError(error)))
    }
    return emit(events, then())
  }
  const loop: Channel.Channel<
    Chunk.Chunk<StreamDecoder.DecodedEvent>,
    Chunk.Chunk<Uint8Array>,
    E | Error,
    E,
    unknown,
    unknown
  > = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Uint8Array>) =>
      run((events) => {
        for (const bytes of input) for (const event of decoder.push(bytes)) events.push(event)
      }, () => loop),
    onFailure: (cause) => Channel.failCause(cause),
    onDone: () =>
      run((events) => {
        for (const event of decoder.end()) events.push(event)
      }, () => Channel.void)
  })
  return Stream.pipeThroughChannel(parts, loop)
}

/**
 * The proposed source: the SDK's event iterator pumped by a plain `for await` into
 * `Stream.asyncPush`, so events that arrive together reach the consumer as one chunk, with no
 * Effect per event. Closing the stream stops the pump (the owner aborts the request).
 */
export const pushParts = <E>(
  events: AsyncIterable<{ readonly PayloadPart?: { readonly Bytes?: Uint8Array | undefined } | undefined }>,
  onError: (error: unknown) => E
): Stream.Stream<Uint8Array, E> =>
  Stream.asyncPush<Uint8Array, E>((emit) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        let closed = false
        ;(async () => {
          try {
            for await (const event of events) {
              if (closed) return
              const bytes = event.PayloadPart?.Bytes
              if (bytes !== undefined) emit.single(bytes)
            }
            emit.end()
          } catch (error) {
            if (!closed) emit.fail(onError(error))
          }
        })()
        return () => {
          closed = true
        }
      }),
      (close) => Effect.sync(close)
    ), { bufferSize: "unbounded" })

const streamCall = (variant: typeof streamVariants[number], url: string): () => Promise<number> => {
  const endpoint = streamEndpoint(STREAM_TOKENS)
  if (variant === "stream-run-http") {
    const client = makeStreaming(variant, { url, transport: "http" })
    return () => client.call(endpoint).then((r) => r.events)
  }
  if (variant === "stream-sdk" || variant === "stream-run" || variant === "stream-floor") {
    const client = makeStreaming(variant, { url })
    return () => client.call(endpoint).then((r) => r.events)
  }
  if (variant === "client-parts-push" || variant === "push-channel") {
    // The raw SDK client (cached, abortable) as the source, through asyncPush.
    const { send } = abortableClient(url, 1024)
    const body = (signal: AbortSignal) =>
      send(
        new InvokeEndpointWithResponseStreamCommand({
          EndpointName: endpoint,
          Body: streamRequestBody(),
          ContentType: "application/json",
          Accept: "application/jsonlines"
        }),
        signal
      )
    const stream = Stream.unwrapScoped(Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      const output = yield* Effect.tryPromise(() => body(controller.signal))
      const parts = output.Body === undefined
        ? Stream.empty
        : pushParts(output.Body, (error) => new Error(String(error)))
      return variant === "push-channel"
        ? decodeChannel(parts, StreamDecoder.makeStreamDecoder(), (e) => new Error(e.message)) as Stream.Stream<unknown>
        : parts as Stream.Stream<unknown>
    }))
    return () => Effect.runPromise(Stream.runFold(stream, 0, (n) => n + 1))
  }
  const lean = variant.startsWith("lean-")
  const runtime = ManagedRuntime.make(
    SagemakerClient.layer({
      region: REGION,
      endpointUrl: url,
      endpointName: endpoint,
      credentials: {
        accessKeyId: Redacted.make(CREDENTIALS.accessKeyId),
        secretAccessKey: Redacted.make(CREDENTIALS.secretAccessKey)
      },
      // Loosely typed: the option belongs to the transport being built next door.
      ...(lean ? { transport: "http" } : {})
    } as SagemakerClient.Options).pipe(Layer.orDie)
  )
  const stream = Stream.unwrapScoped(Effect.gen(function*() {
    const client = yield* SagemakerClient.SagemakerClient
    const response = yield* client.invokeEndpointWithResponseStream({
      endpointName: endpoint,
      body: streamRequestBody(),
      contentType: "application/json",
      accept: "application/jsonlines"
    })
    const decoder = StreamDecoder.makeStreamDecoder()
    switch (variant) {
      case "client-parts":
      case "lean-parts":
        return response.parts as Stream.Stream<unknown, unknown>
      case "client-flatmap":
        return decodeFlatMap(response.parts, decoder) as Stream.Stream<unknown, unknown>
      case "client-channel":
      case "client-channel-span":
      case "lean-channel-span":
        return decodeChannel(response.parts, decoder, (e) => new Error(e.message)) as Stream.Stream<unknown, unknown>
    }
  }))
  const wrapped = variant !== "client-channel-span" && variant !== "lean-channel-span" ? stream : stream.pipe(
    Stream.tapError(() => Effect.annotateCurrentSpan("error.type", "x")),
    Stream.withSpan("SagemakerGenerator.stream", { kind: "client", attributes: { "gen_ai.request.model": endpoint } })
  )
  return () => runtime.runPromise(Stream.runFold(wrapped, 0, (n) => n + 1))
}

/** One call of a variant: its units are requests (unary) or events (streams). */
export const experimentCaller = (variant: string, url: string): () => Promise<{ readonly units: number }> => {
  if ((unaryVariants as ReadonlyArray<string>).includes(variant)) {
    const call = unaryCall(variant as typeof unaryVariants[number], url)
    return () => call().then(() => ({ units: 1 }))
  }
  const call = streamCall(variant as typeof streamVariants[number], url)
  return () =>
    call().then((events) => {
      if (events !== STREAM_TOKENS) throw new Error(`expected ${STREAM_TOKENS} events, got ${events}`)
      return { units: events }
    })
}

/**
 * The proposed SDK fix must still abort: a call to an endpoint answering after 2 s, aborted after
 * 50 ms. Returns the milliseconds until it rejected (NaN if it did not).
 */
export const abortCheck = async (url: string): Promise<number> => {
  const { client, send } = abortableClient(url)
  const controller = new AbortController()
  const started = performance.now()
  setTimeout(() => controller.abort(), 50)
  const ms = await send(
    new InvokeEndpointCommand({ EndpointName: delayedEndpoint(2000), Body: requestBody() }),
    controller.signal
  ).then(() => Number.NaN, () => performance.now() - started)
  client.destroy()
  return ms
}
