/**
 * The request handler: size limit, SigV4, routing and validation, the endpoint's settings, faults,
 * the model call and the envelope of the answer, in the order SageMaker applies them.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type {
  ContainerOptions,
  EndpointOptions,
  Fault,
  FaultKind,
  ModelRequest,
  ModelResponse,
  Options,
  Personality,
  Responder,
  SplitStrategy
} from "../SagemakerEmulator.js"
import * as AsyncQueue from "./asyncQueue.js"
import * as Envelopes from "./envelopes.js"
import * as Errors from "./errors.js"
import * as EventStream from "./eventStream.js"
import * as Faults from "./faults.js"
import * as Personalities from "./personalities.js"
import type * as S3Store from "./s3Store.js"
import * as SigV4 from "./sigv4.js"
import * as Validation from "./validation.js"

/** A request as received: raw path and query, lower-cased headers. @internal */
export interface Incoming {
  readonly requestId: string
  readonly method: string
  readonly path: string
  readonly query: string
  readonly route: Validation.Route
  readonly headers: Readonly<Record<string, string>>
  /** The size received and, within the limit, the bytes; `undefined` when the body could not be read. */
  readonly body: { readonly size: number; readonly bytes: Uint8Array } | undefined
}

/** @internal */
export type Reply =
  | { readonly _tag: "Respond"; readonly envelope: Envelopes.Envelope; readonly fault: FaultKind | undefined }
  /** Destroy the socket without answering. */
  | { readonly _tag: "Reset"; readonly fault: FaultKind }

/** @internal */
export interface Handler {
  /** Bodies beyond this get 413; the server keeps no more of them than that. */
  readonly maxBodyBytes: number
  /** Never fails; a `stall` fault never completes (until interrupted). */
  readonly handle: (request: Incoming) => Effect.Effect<Reply>
  /** Forgets the per-endpoint call counts that `count` faults use. */
  readonly resetCounters: () => void
}

interface EndpointConfig {
  readonly known: boolean
  readonly personality: Personality
  readonly faults: ReadonlyArray<Fault>
  readonly responder: Responder | undefined
  readonly split: SplitStrategy
  readonly partDelayMillis: number
  readonly container: ContainerOptions
}

const toArray = <A>(x: A | ReadonlyArray<A> | undefined): ReadonlyArray<A> =>
  x === undefined ? [] : Array.isArray(x) ? x as ReadonlyArray<A> : [x as A]

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const toBytes = (chunk: string | Uint8Array): Uint8Array => typeof chunk === "string" ? encoder.encode(chunk) : chunk

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
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

const respond = (envelope: Envelopes.Envelope, fault?: Fault | undefined): Reply => ({
  _tag: "Respond",
  envelope,
  fault: fault?.kind
})

/** @internal */
export const make = (
  options: Options,
  store: S3Store.S3Store,
  background: (effect: Effect.Effect<void>) => void
): Handler => {
  const accountId = options.accountId ?? "123456789012"
  const defaultRegion = options.region ?? "us-east-1"
  const asyncEndpoints: ReadonlySet<string> = new Set(options.asyncEndpoints ?? [])
  const queue = AsyncQueue.make(store, {
    outputPath: options.async?.outputPath ?? `s3://sagemaker-{region}-${accountId}/async-endpoint-outputs/{endpoint}`,
    failurePath: options.async?.failurePath ??
      `s3://sagemaker-{region}-${accountId}/async-endpoint-failures/{endpoint}`,
    delayMillis: options.async?.delayMillis ?? 0,
    concurrency: options.async?.concurrency ?? 4
  }, background)
  const maxBodyBytes = options.maxBodyBytes ?? 6_291_456
  const frameEncoder = EventStream.makeEncoder()
  const calls = new Map<string, number>()
  /** Requests in flight per endpoint with a `capacity` fault, and how many were refused. */
  const busy = new Map<string, number>()
  const refused = new Map<string, number>()

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
      partDelayMillis: own.partDelayMillis ?? options.partDelayMillis ?? 0,
      container: own.container ?? options.container ?? {}
    }
  }

  /** The container's answer; a defect in a custom responder is the container's 500. */
  const callModel = (responder: Responder, request: ModelRequest): Effect.Effect<ModelResponse> =>
    Effect.suspend(() => {
      const r = responder(request)
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

  const handle = (request: Incoming): Effect.Effect<Reply> =>
    Effect.gen(function*() {
      const { headers, requestId, route } = request
      const fail = (spec: Errors.ErrorSpec, fault?: Fault): Reply => respond(Envelopes.error(spec, requestId), fault)

      if (request.body === undefined) return fail(Errors.validation("Could not read the request body."))
      if (request.body.size > maxBodyBytes) return fail(Errors.payloadTooLarge(maxBodyBytes))
      const body = request.body.bytes

      if (options.credentials !== undefined) {
        const denied = yield* SigV4.verify(
          { method: request.method, path: request.path, query: request.query, headers, body },
          options.credentials
        )
        if (denied !== undefined) return fail(denied)
      }
      const region = SigV4.parseAuthorization(headers["authorization"])?.region ?? defaultRegion

      if (route.operation === "unknown" || route.endpointName === undefined) {
        return fail(Errors.unknownOperation(request.method, request.path))
      }
      const operation = route.operation
      const endpointName = route.endpointName
      const invalid = Validation.validate(operation, endpointName, headers, body.length)
      if (invalid !== undefined) return fail(Errors.validation(invalid))
      const config = endpointConfig(endpointName)
      if (!config.known) return fail(Errors.endpointNotFound(endpointName, accountId))
      // An endpoint is deployed for one kind of inference; the other kind's calls are refused.
      if (asyncEndpoints.has(endpointName) !== (operation === "async")) {
        return fail(Errors.wrongInferenceKind(endpointName, accountId, operation === "async"))
      }

      const call = (calls.get(endpointName) ?? 0) + 1
      calls.set(endpointName, call)
      const ctx = { endpointName, region, accountId }
      const capacity = config.faults.find((f) => f.kind === "capacity")
      if (capacity !== undefined) {
        const inFlight = busy.get(endpointName) ?? 0
        if (inFlight >= capacity.limit) {
          const turn = (refused.get(endpointName) ?? 0) + 1
          refused.set(endpointName, turn)
          return fail(
            turn % 2 === 1 ? Errors.throttling() : Errors.modelError({
              ...ctx,
              originalStatusCode: 429,
              originalMessage: JSON.stringify({ error: "Model is overloaded", error_type: "overloaded" })
            }),
            capacity
          )
        }
        busy.set(endpointName, inFlight + 1)
        return yield* Effect.ensuring(
          serve(request, endpointName, operation, config, call, ctx),
          Effect.sync(() => busy.set(endpointName, (busy.get(endpointName) ?? 1) - 1))
        )
      }
      return yield* serve(request, endpointName, operation, config, call, ctx)
    })

  /** The accepted call: latency and faults, then the model and the envelope of its answer. */
  const serve = (
    request: Incoming,
    endpointName: string,
    operation: "invoke" | "stream" | "async",
    config: EndpointConfig,
    call: number,
    ctx: { readonly endpointName: string; readonly region: string; readonly accountId: string }
  ): Effect.Effect<Reply> =>
    Effect.gen(function*() {
      const { headers, requestId } = request
      const body = request.body!.bytes
      const region = ctx.region
      const fail = (spec: Errors.ErrorSpec, fault?: Fault): Reply => respond(Envelopes.error(spec, requestId), fault)
      const { fault, latencyMillis } = Faults.select(config.faults, call, operation)
      if (latencyMillis > 0) yield* Effect.sleep(Duration.millis(latencyMillis))
      const before = Faults.before(fault, operation, ctx)
      if (before !== undefined) {
        switch (before._tag) {
          case "Error":
            return fail(before.spec, fault)
          case "Reset":
            return { _tag: "Reset", fault: fault!.kind }
          case "Stall":
            return yield* Effect.never
        }
      }

      if (operation === "async") {
        const job: AsyncQueue.Job = {
          endpointName,
          region,
          inferenceId: headers["x-amzn-sagemaker-inference-id"] ?? randomUUID(),
          headers,
          body,
          fault: Faults.after(fault, operation)
        }
        const where = queue.locations(job)
        if (where._tag === "Left") return fail(Errors.internalFailure())
        const responder = config.responder ?? Personalities.responder(config.personality)
        queue.enqueue(job, where.right, (input, contentType) => {
          const text = decoder.decode(input)
          return callModel(responder, {
            endpointName,
            operation: "invoke",
            personality: config.personality,
            body: input,
            text,
            json: parseJson(text),
            contentType,
            accept: headers["x-amzn-sagemaker-accept"],
            customAttributes: headers["x-amzn-sagemaker-custom-attributes"],
            sessionId: undefined,
            headers,
            container: config.container,
            generationError: undefined
          })
        })
        return respond(Envelopes.async({ requestId, inferenceId: job.inferenceId, ...where.right }), job.fault)
      }

      const generationError = Faults.model(fault, operation)
      const text = decoder.decode(body)
      const answer = yield* callModel(config.responder ?? Personalities.responder(config.personality), {
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
        headers,
        container: config.container,
        generationError
      })
      const chunks = (typeof answer.body === "string" || answer.body instanceof Uint8Array
        ? [answer.body]
        : answer.body).map(toBytes)
      const status = answer.status ?? 200
      if (status < 200 || status > 299) {
        return fail(
          Errors.modelError({ ...ctx, originalStatusCode: status, originalMessage: decoder.decode(concat(chunks)) }),
          generationError
        )
      }
      const post = Faults.after(fault, operation)
      // The recorded fault: the one that altered the output, or the failure the container acted out.
      const decided = post ?? generationError
      const success: Envelopes.Success = {
        requestId,
        targetVariant: headers["x-amzn-sagemaker-target-variant"],
        customAttributes: answer.customAttributes,
        contentType: answer.contentType ?? "application/json"
      }

      if (operation === "invoke") {
        return respond(
          Envelopes.invoke({
            ...success,
            newSession: headers["x-amzn-sagemaker-session-id"] === "NEW_SESSION",
            closedSessionId: answer.closedSessionId,
            nowMillis: yield* Clock.currentTimeMillis,
            body: Faults.truncateBody(post, concat(Faults.output(post, chunks)))
          }),
          decided
        )
      }

      const parts = EventStream.split(Faults.output(post, chunks), config.split)
      const { ending, frames } = Faults.frames(post, parts.map(frameEncoder.payloadPart), frameEncoder)
      return respond(
        Envelopes.eventStream({ ...success, frames, ending, partDelayMillis: config.partDelayMillis }),
        decided
      )
    })

  return { maxBodyBytes, handle, resetCounters: () => calls.clear() }
}
