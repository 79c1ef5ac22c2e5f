/**
 * Where the prompt of `generate` comes from: its argument, standard input or a file. Input is
 * read up to SageMaker's request body limit and refused past it, without reading the rest.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { type UsageError, usageError } from "./args.js"

/** SageMaker's InvokeEndpoint request body limit, 6 MiB: no longer prompt can be sent. */
export const MAX_PROMPT_BYTES = 6 * 1024 * 1024

export type PromptSource =
  | { readonly _tag: "Argument"; readonly text: string }
  | { readonly _tag: "Stdin" }
  | { readonly _tag: "File"; readonly path: string }

const describe = (source: PromptSource) =>
  source._tag === "File" ? `--prompt-file ${source.path}` : source._tag === "Stdin" ? "stdin" : "the argument"

/** Reads `stream` to its end, failing as soon as it passes `limit` bytes. */
const readAll = (
  stream: NodeJS.ReadableStream & { readonly destroy?: () => void },
  what: string,
  limit: number
): Effect.Effect<Uint8Array, UsageError> =>
  Effect.async<Uint8Array, UsageError>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      stream.off("data", onData)
      stream.off("end", onEnd)
      stream.off("error", onError)
      stream.pause()
    }
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      size += bytes.byteLength
      if (size > limit) {
        stop()
        stream.destroy?.()
        resume(Effect.fail(usageError(
          `the prompt from ${what} is larger than ${limit} bytes (6 MiB), SageMaker's request body limit`
        )))
      } else {
        chunks.push(bytes)
      }
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks)))
    }
    const onError = (error: Error) => {
      stop()
      resume(Effect.fail(usageError(`the prompt from ${what} could not be read: ${error.message}`)))
    }
    stream.on("data", onData)
    stream.on("end", onEnd)
    stream.on("error", onError)
    return Effect.sync(() => {
      stop()
      stream.destroy?.()
    })
  })

/** The prompt as text; stdin and files must hold UTF-8 text, and not nothing. */
export const readPrompt = (source: PromptSource): Effect.Effect<string, UsageError> => {
  if (source._tag === "Argument") return Effect.succeed(source.text)
  const what = describe(source)
  const bytes = source._tag === "Stdin"
    ? readAll(process.stdin, what, MAX_PROMPT_BYTES)
    : Effect.suspend(() => readAll(fs.createReadStream(source.path), what, MAX_PROMPT_BYTES))
  return Effect.flatMap(bytes, (bytes) => {
    if (bytes.byteLength === 0) return Effect.fail(usageError(`the prompt from ${what} is empty`))
    try {
      return Effect.succeed(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
    } catch {
      return Effect.fail(usageError(`the prompt from ${what} is not UTF-8 text`))
    }
  })
}
