/**
 * `effect-sagemaker emulator`: serves the SageMaker Runtime emulator until Ctrl-C.
 *
 * @since 0.1.0
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import { SagemakerValidationError } from "../SagemakerError.js"
import { parseList } from "./parse.js"

const port = Options.integer("port").pipe(
  Options.withDefault(8080),
  Options.withDescription("Port (0: a free port the system picks)")
)
const host = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Address to listen on")
)
const personality = Options.choice("personality", SagemakerEmulator.personalities).pipe(
  Options.withDefault("default" as const),
  Options.withDescription("The model container every endpoint imitates")
)
const endpoints = Options.text("endpoints").pipe(
  Options.optional,
  Options.withDescription("Serve only these endpoint names (comma-separated); others are not found")
)
const faults = Options.text("fault").pipe(
  Options.repeated,
  Options.withDescription(
    `ENDPOINT:KIND[:ARG], e.g. ep-nr:not-ready:1000 (ENDPOINT * for all). Kinds: ${
      SagemakerEmulator.faultKinds.join(", ")
    }`
  )
)
const split = Options.text("split").pipe(
  Options.optional,
  Options.withDescription("How stream payloads are cut: whole, fixed:N, inside-lines, inside-utf8, bytes")
)
const verifySignatures = Options.boolean("verify-signatures").pipe(
  Options.withDescription("Check SigV4 signatures against AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
)

const usageError = (field: string, rule: string) => new SagemakerValidationError({ field, rule })

/** `ENDPOINT:KIND[:ARG]` → endpoint and fault. */
const parseFaultOption = (spec: string) => {
  const at = spec.indexOf(":")
  if (at <= 0) return Either.left(`--fault expects ENDPOINT:KIND[:ARG], got "${spec}"`)
  return Either.map(SagemakerEmulator.parseFault(spec.slice(at + 1)), (fault) => [spec.slice(0, at), fault] as const)
}

export const command = Command.make(
  "emulator",
  { port, host, personality, endpoints, faults, split, verifySignatures },
  (input) =>
    Effect.gen(function*() {
      const faultMap: Record<string, Array<SagemakerEmulator.Fault>> = {}
      for (const spec of input.faults) {
        const [endpoint, fault] = yield* Either.mapLeft(parseFaultOption(spec), (rule) => usageError("--fault", rule))
        ;(faultMap[endpoint] ??= []).push(fault)
      }
      const splitStrategy = Option.isNone(input.split)
        ? undefined
        : yield* Either.mapLeft(SagemakerEmulator.parseSplit(input.split.value), (rule) => usageError("--split", rule))
      const credentials = input.verifySignatures
        ? [
          yield* Config.all({
            accessKeyId: Config.string("AWS_ACCESS_KEY_ID"),
            secretAccessKey: Config.redacted("AWS_SECRET_ACCESS_KEY")
          }).pipe(
            Effect.map((c) => ({ accessKeyId: c.accessKeyId, secretAccessKey: Redacted.value(c.secretAccessKey) }))
          )
        ]
        : undefined
      const emulator = yield* SagemakerEmulator.make({
        port: input.port,
        host: input.host,
        personality: input.personality,
        ...(Option.isSome(input.endpoints) ? { endpoints: parseList(input.endpoints.value) } : {}),
        faults: faultMap,
        ...(splitStrategy === undefined ? {} : { split: splitStrategy }),
        ...(credentials === undefined ? {} : { credentials }),
        log: (line) => Console.log(line)
      })
      yield* Console.error(
        `SageMaker Runtime emulator listening on ${emulator.url} (personality ${input.personality}` +
          `${input.verifySignatures ? ", checking signatures" : ""}). Ctrl-C stops it.\n` +
          `Point the SDK or the CLI at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=${emulator.url}`
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve a local SageMaker Runtime emulator"))
