/**
 * The bytes of a request in the generator's request format, checked: a custom format's body must
 * be JSON, the kwargs must not overwrite what the format writes itself, and the body must fit
 * SageMaker's limit. Every problem is a `SagemakerValidationError` before any request.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import * as Payload from "../../Payload.js"
import { SagemakerValidationError } from "../../SagemakerError.js"
import * as Validation from "../policy/validation.js"

const encoder = new TextEncoder()

/** The fields each named format writes from the prompt and the call: a kwarg of that name is refused. */
const ownFields: Record<Exclude<Payload.RequestFormat, Payload.RequestFormatFunction>, ReadonlyArray<string>> = {
  haystack: [],
  chat: ["messages", "stream"],
  completions: ["prompt", "stream"]
}

/** Why `format` is not a request format, or `undefined`. */
export const checkFormat = (format: unknown): string | undefined =>
  format === undefined || typeof format === "function" ||
    (typeof format === "string" && (Payload.requestFormats as ReadonlyArray<string>).includes(format))
    ? undefined
    : `must be one of ${Payload.requestFormats.join(", ")} or a function, got ${JSON.stringify(format)}`

const fail = (field: string, rule: string) => Either.left(new SagemakerValidationError({ field, rule }))

export const encode = (
  format: Payload.RequestFormat,
  prompt: string,
  parameters: Readonly<Record<string, unknown>>,
  stream: boolean,
  maxBytes?: number
): Either.Either<Uint8Array, SagemakerValidationError> => {
  let bytes: Uint8Array
  if (typeof format === "function") {
    let value: unknown
    try {
      value = format(prompt, parameters, stream)
    } catch (error) {
      return fail(
        "requestFormat",
        `the request format function threw: ${error instanceof Error ? error.message : String(error)}`
      )
    }
    if (value === undefined) {
      return fail("requestFormat", "the request format function returned undefined, not a JSON body")
    }
    const notJson = Validation.checkJson("requestFormat(...)", value)
    if (Either.isLeft(notJson)) return fail("requestFormat", `the body it built: ${notJson.left.rule}`)
    bytes = encoder.encode(JSON.stringify(value))
  } else {
    for (const field of ownFields[format]) {
      if (parameters[field] !== undefined) {
        return fail(
          `generationKwargs.${field}`,
          `the ${format} request format writes "${field}" itself` +
            (field === "stream" ? " (use stream() to stream)" : " (from the prompt)")
        )
      }
    }
    bytes = Payload.encodeRequest(prompt, parameters, { stream, format })
  }
  const tooLarge = Validation.checkBodySize(bytes, maxBytes)
  return Either.isLeft(tooLarge) ? Either.left(tooLarge.left) : Either.right(bytes)
}
