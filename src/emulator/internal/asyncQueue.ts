/**
 * Asynchronous inference in the emulator: an accepted InvokeEndpointAsync request waits in its
 * endpoint's queue, runs on one of the endpoint's instances (a bounded number at a time), reads
 * its input (inline, or from the emulator's S3), runs the personality's model, and writes the
 * container's answer to the output location, or its error to the failure location, in the
 * emulator's S3 store. Where results land follows SageMaker's naming: `<inference id>.out` under
 * the output path, `<inference id>-error.out` under the failure path, after any
 * `S3OutputPathExtension`; `Filename` names the output object.
 *
 * The failure objects' wording is the emulator's own (SageMaker documents that the file holds the
 * error, not its exact text); a model error carries the container's status and body as the
 * real-time route's ModelError does.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Fault, ModelResponse } from "../SagemakerEmulator.js"
import * as S3Store from "./s3Store.js"

/** Where the queue's results go, and how it runs. */
export interface Settings {
  /** `s3://bucket/prefix` of results; `{endpoint}` and `{region}` stand for the request's. */
  readonly outputPath: string
  readonly failurePath: string
  /** How long a request waits in the queue before an instance takes it. */
  readonly delayMillis: number
  /** Requests an endpoint runs at once (its instances). */
  readonly concurrency: number
}

/** One accepted request. */
export interface Job {
  readonly endpointName: string
  /** The region the request was signed for. */
  readonly region: string
  readonly inferenceId: string
  readonly headers: Readonly<Record<string, string>>
  /** The inline body; empty when the request named an input location. */
  readonly body: Uint8Array
  /** The fault that decides the job's fate, if any (an `async-*` or `malformed` one). */
  readonly fault: Fault | undefined
}

/** Where a job's result and failure land. */
export interface Locations {
  readonly output: S3Store.S3Location
  readonly failure: S3Store.S3Location
}

export interface Queue {
  /** Where `job` will write; `Left` when the configured paths are no S3 URIs. */
  readonly locations: (job: Job) => Either.Either<Locations, string>
  /** Runs the job in the background; `model` is the container's answer to the input bytes. */
  readonly enqueue: (
    job: Job,
    locations: Locations,
    model: (input: Uint8Array, contentType: string | undefined) => Effect.Effect<ModelResponse>
  ) => void
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const join = (base: S3Store.S3Location, ...parts: ReadonlyArray<string | undefined>): S3Store.S3Location => ({
  bucket: base.bucket,
  key: [base.key.replace(/\/+$/, ""), ...parts].filter((part) => part !== undefined && part !== "").join("/")
})

const bodyBytes = (body: ModelResponse["body"]): Uint8Array => {
  if (typeof body === "string") return encoder.encode(body)
  if (body instanceof Uint8Array) return body
  const chunks = body.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk)
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

export const make = (
  store: S3Store.S3Store,
  settings: Settings,
  background: (effect: Effect.Effect<void>) => void
): Queue => {
  const instances = new Map<string, Effect.Semaphore>()
  const instancesOf = (endpointName: string) => {
    let semaphore = instances.get(endpointName)
    if (semaphore === undefined) {
      semaphore = Effect.unsafeMakeSemaphore(settings.concurrency)
      instances.set(endpointName, semaphore)
    }
    return semaphore
  }

  const locations: Queue["locations"] = (job) =>
    Either.gen(function*() {
      const path = (template: string) =>
        S3Store.parseUri(template.replaceAll("{endpoint}", job.endpointName).replaceAll("{region}", job.region), {
          keyRequired: false
        })
      const output = yield* path(settings.outputPath)
      const failure = yield* path(settings.failurePath)
      const extension = job.headers["x-amzn-sagemaker-s3outputpathextension"]
      const filename = job.headers["x-amzn-sagemaker-filename"] ?? `${job.inferenceId}.out`
      return {
        output: join(output, extension, filename),
        failure: join(failure, extension, `${job.inferenceId}-error.out`)
      }
    })

  const fail = (where: Locations, text: string) =>
    Effect.sync(() => {
      store.put(where.failure.bucket, where.failure.key, encoder.encode(text), "text/plain")
    })

  /** The input bytes: the inline body, or the object at the input location. */
  const input = (job: Job): Either.Either<Uint8Array, string> => {
    const location = job.headers["x-amzn-sagemaker-inputlocation"]
    if (location === undefined) return Either.right(job.body)
    return Either.flatMap(S3Store.parseUri(location), (at) => {
      const object = store.get(at.bucket, at.key)
      return object === undefined
        ? Either.left(`Failed to download the input from ${location}: the object does not exist (NoSuchKey).`)
        : Either.right(object.body)
    })
  }

  const run = (
    job: Job,
    where: Locations,
    model: (input: Uint8Array, contentType: string | undefined) => Effect.Effect<ModelResponse>
  ): Effect.Effect<void> =>
    Effect.gen(function*() {
      const fault = job.fault
      switch (fault?.kind) {
        case "async-lost":
          return
        case "async-expired":
          return yield* fail(
            where,
            `Request ${job.inferenceId} expired: it waited in the queue longer than its RequestTTLSeconds.`
          )
        case "async-failure":
          return yield* fail(where, fault.message ?? "Received server error (500) from the model container.")
      }
      const bytes = input(job)
      if (Either.isLeft(bytes)) return yield* fail(where, bytes.left)
      const answer = yield* model(bytes.right, job.headers["x-amzn-sagemaker-content-type"])
      const status = answer.status ?? 200
      const body = bodyBytes(answer.body)
      if (status >= 400) {
        return yield* fail(
          where,
          `Received client error (${status}) from the model container with message "${decoder.decode(body)}".`
        )
      }
      if (fault?.kind === "async-late") yield* Effect.sleep(Duration.millis(fault.millis))
      const written = fault?.kind === "malformed"
        ? encoder.encode("This is not a valid model response: the container wrote plain text instead of JSON.\n")
        : body
      store.put(where.output.bucket, where.output.key, written, answer.contentType ?? "application/json")
    })

  return {
    locations,
    enqueue: (job, where, model) =>
      background(
        Effect.sleep(Duration.millis(settings.delayMillis)).pipe(
          Effect.zipRight(instancesOf(job.endpointName).withPermits(1)(run(job, where, model)))
        )
      )
  }
}
