/**
 * Test helpers: the real SageMaker Runtime SDK client as a scoped resource pointed at an emulator,
 * and small wrappers that return SDK errors as values.
 */
import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandInput,
  type InvokeEndpointCommandOutput,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandInput,
  type InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig
} from "@aws-sdk/client-sagemaker-runtime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type * as SagemakerEmulator from "../../src/emulator/SagemakerEmulator.js"

export const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "emulator-secret" }

/** A client with `maxAttempts: 1` unless overridden; an override set to `undefined` restores the SDK default. */
export const client = (
  emulator: SagemakerEmulator.Service,
  config: { readonly [K in keyof SageMakerRuntimeClientConfig]?: SageMakerRuntimeClientConfig[K] | undefined } = {}
): Effect.Effect<SageMakerRuntimeClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const merged: Record<string, unknown> = {
        endpoint: emulator.url,
        region: "us-east-1",
        credentials,
        maxAttempts: 1
      }
      for (const [k, v] of Object.entries(config)) {
        if (v === undefined) delete merged[k]
        else merged[k] = v
      }
      return new SageMakerRuntimeClient(merged as SageMakerRuntimeClientConfig)
    }),
    (c) => Effect.sync(() => c.destroy())
  )

/** The SDK's thrown value, typed loosely for assertions on its fields. */
export interface SdkError {
  readonly name: string
  readonly message: string
  readonly $fault?: string
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number }
  readonly [key: string]: unknown
}

export const invoke = (
  c: SageMakerRuntimeClient,
  input: InvokeEndpointCommandInput
): Effect.Effect<Either.Either<InvokeEndpointCommandOutput, SdkError>> =>
  Effect.tryPromise({
    try: (signal) => c.send(new InvokeEndpointCommand(input), { abortSignal: signal }),
    catch: (e) => e as SdkError
  }).pipe(Effect.either)

export const invokeError = (c: SageMakerRuntimeClient, input: InvokeEndpointCommandInput): Effect.Effect<SdkError> =>
  Effect.flatMap(
    invoke(c, input),
    Either.match({ onLeft: Effect.succeed, onRight: () => Effect.die("expected the call to fail") })
  )

export const invokeJson = (c: SageMakerRuntimeClient, input: InvokeEndpointCommandInput): Effect.Effect<unknown> =>
  Effect.flatMap(
    invoke(c, { ContentType: "application/json", ...input }),
    Either.match({
      onLeft: (e) => Effect.die(e),
      onRight: (r) => Effect.sync(() => JSON.parse(r.Body!.transformToString()) as unknown)
    })
  )

export interface StreamResult {
  readonly response: InvokeEndpointWithResponseStreamCommandOutput
  readonly parts: ReadonlyArray<Uint8Array>
  readonly error: SdkError | undefined
}

/** Opens the stream and reads it to the end; an error thrown mid-stream is returned with the parts before it. */
export const stream = (
  c: SageMakerRuntimeClient,
  input: InvokeEndpointWithResponseStreamCommandInput
): Effect.Effect<Either.Either<StreamResult, SdkError>> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await c.send(new InvokeEndpointWithResponseStreamCommand(input), { abortSignal: signal })
      const parts: Array<Uint8Array> = []
      try {
        for await (const event of response.Body!) {
          if (event.PayloadPart?.Bytes !== undefined) parts.push(event.PayloadPart.Bytes)
        }
      } catch (error) {
        return { response, parts, error: error as SdkError }
      }
      return { response, parts, error: undefined }
    },
    catch: (e) => e as SdkError
  }).pipe(Effect.either)

export const streamOk = (
  c: SageMakerRuntimeClient,
  input: InvokeEndpointWithResponseStreamCommandInput
): Effect.Effect<StreamResult> =>
  Effect.flatMap(
    stream(c, { ContentType: "application/json", ...input }),
    Either.match({ onLeft: (e) => Effect.die(e), onRight: Effect.succeed })
  )

export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export const utf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
