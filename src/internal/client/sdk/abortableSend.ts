/**
 * `send` with a per-call abort signal that keeps the SDK's cached middleware stack: an options
 * object on `send` makes the SDK rebuild the stack on that call, so the signal travels beside the
 * command (a WeakMap keyed by its input) to a middleware at the innermost position of the stack.
 *
 * @since 0.1.0
 * @internal
 */
import type {
  InvokeEndpointAsyncCommand,
  InvokeEndpointAsyncCommandOutput,
  InvokeEndpointCommand,
  InvokeEndpointCommandOutput,
  InvokeEndpointWithResponseStreamCommand,
  InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient
} from "@aws-sdk/client-sagemaker-runtime"

interface RequestHandler {
  readonly handle: (
    request: unknown,
    options: { readonly abortSignal: AbortSignal; readonly isEventStream?: boolean }
  ) => Promise<unknown>
}

export interface AbortableSend {
  (command: InvokeEndpointCommand, abortSignal: AbortSignal): Promise<InvokeEndpointCommandOutput>
  (
    command: InvokeEndpointWithResponseStreamCommand,
    abortSignal: AbortSignal
  ): Promise<InvokeEndpointWithResponseStreamCommandOutput>
  (command: InvokeEndpointAsyncCommand, abortSignal: AbortSignal): Promise<InvokeEndpointAsyncCommandOutput>
}

const MIDDLEWARE_NAME = "effectSagemakerAbortSignal"

/**
 * Installs the middleware on `client` and returns its `send`. The client's `requestHandler` must
 * be the SDK's own (it is unless the caller replaced it).
 */
export const abortableSend = (client: SageMakerRuntimeClient): AbortableSend => {
  const signals = new WeakMap<object, AbortSignal>()
  client.middlewareStack.add(
    (next, context) => (args) => {
      const abortSignal = signals.get(args.input as object)
      if (abortSignal === undefined) return next(args)
      signals.delete(args.input as object)
      const handler = client.config.requestHandler as unknown as RequestHandler
      // The terminal handler passes `isEventStream` for event-stream operations; so do we.
      const isEventStream = context.commandName === "InvokeEndpointWithResponseStreamCommand"
      return handler.handle(
        args.request,
        isEventStream ? { abortSignal, isEventStream } : { abortSignal }
      ) as ReturnType<
        typeof next
      >
    },
    { step: "deserialize", priority: "low", name: MIDDLEWARE_NAME, override: true }
  )
  return ((command: InvokeEndpointCommand, abortSignal: AbortSignal) => {
    signals.set(command.input, abortSignal)
    return client.send(command)
  }) as AbortableSend
}
