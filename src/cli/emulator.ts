/**
 * `effect-sagemaker emulator`: serves the SageMaker Runtime emulator until SIGINT or SIGTERM.
 *
 * @since 0.1.0
 * @internal
 */
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import { type CommandSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import { nonEmpty, parseList, parseWholeNumber } from "./parse.js"

export const spec: CommandSpec = {
  name: "emulator",
  summary: "Serve a local SageMaker Runtime emulator",
  operands: "",
  details: [
    "Serves InvokeEndpoint and InvokeEndpointWithResponseStream until SIGINT (Ctrl-C) or SIGTERM, logging " +
    "one line per request on stdout. Point the AWS SDK or effect-sagemaker generate at the URL it prints, " +
    "e.g. AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:8080.",
    "Also serves a small S3 endpoint (path-style PutObject, GetObject, HeadObject, DeleteObject, " +
    "ListObjectsV2) on a port of its own, where async inference results go; it prints that URL too."
  ],
  options: [
    {
      name: "port",
      kind: "value",
      placeholder: "N",
      description: "The port, 0 to 65535 (0: a free port the system picks)",
      default: "8080"
    },
    { name: "host", kind: "value", placeholder: "ADDRESS", description: "Address to listen on", default: "127.0.0.1" },
    {
      name: "personality",
      kind: "value",
      placeholder: "NAME",
      description: `The model container every endpoint imitates: ${SagemakerEmulator.personalities.join(", ")}`,
      default: "default"
    },
    {
      name: "endpoints",
      kind: "value",
      placeholder: "A,B",
      description: "Serve only these endpoint names; others are not found",
      default: "every name"
    },
    {
      name: "async-endpoints",
      kind: "value",
      placeholder: "A,B",
      description: "Endpoints deployed for async inference: they take only InvokeEndpointAsync and write " +
        "their results to the S3 endpoint",
      default: "none"
    },
    {
      name: "fault",
      kind: "repeated",
      placeholder: "ENDPOINT:KIND[:ARG]",
      description: `A fault, e.g. ep-nr:not-ready:2 (ENDPOINT * for all). Kinds: ${
        SagemakerEmulator.faultKinds.join(", ")
      }`,
      default: "none"
    },
    {
      name: "split",
      kind: "value",
      placeholder: "HOW",
      description: "How stream payloads are cut: whole, fixed:N, inside-lines, inside-utf8, bytes",
      default: "whole"
    },
    {
      name: "verify-signatures",
      kind: "flag",
      description: "Check SigV4 signatures against AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
    },
    {
      name: "s3-port",
      kind: "value",
      placeholder: "N",
      description: "The S3 endpoint's port, 0 to 65535 (0: a free port the system picks)",
      default: "0"
    },
    {
      name: "no-list-bucket",
      kind: "flag",
      description: "S3 callers lack s3:ListBucket: a missing object is 403 AccessDenied, listing is refused"
    }
  ],
  maxOperands: 0,
  operandHint: "emulator takes options only",
  instead: { "version": "effect-sagemaker --version" }
}

/** `ENDPOINT:KIND[:ARG]` → endpoint and fault. */
const parseFaultOption = (spec: string): Either.Either<readonly [string, SagemakerEmulator.Fault], UsageError> => {
  const at = spec.indexOf(":")
  if (at <= 0) return Either.left(usageError(`--fault expects ENDPOINT:KIND[:ARG], got "${spec}"`))
  return Either.map(
    Either.mapLeft(SagemakerEmulator.parseFault(spec.slice(at + 1)), (rule) => usageError(`--fault: ${rule}`)),
    (fault) => [spec.slice(0, at), fault] as const
  )
}

/** The emulator's options from the command line, checked. */
const options = (args: ParsedArgs): Effect.Effect<SagemakerEmulator.Options, UsageError> =>
  Effect.gen(function*() {
    const text = (name: string) => args.values.get(name)
    const port = yield* parseWholeNumber("--port", text("port") ?? "8080", 0, 65535)
    const host = yield* nonEmpty("--host", text("host") ?? "127.0.0.1")
    const s3Port = yield* parseWholeNumber("--s3-port", text("s3-port") ?? "0", 0, 65535)
    const personality = text("personality") ?? "default"
    if (!SagemakerEmulator.isPersonality(personality)) {
      return yield* usageError(
        `--personality must be one of ${SagemakerEmulator.personalities.join(", ")}, got "${personality}"`
      )
    }
    const endpointsText = text("endpoints")
    const endpoints = endpointsText === undefined ? undefined : parseList(endpointsText)
    if (endpoints !== undefined && endpoints.length === 0) {
      return yield* usageError(`--endpoints must list endpoint names (A,B), got "${endpointsText}"`)
    }
    const asyncText = text("async-endpoints")
    const asyncEndpoints = asyncText === undefined ? undefined : parseList(asyncText)
    if (asyncEndpoints !== undefined && asyncEndpoints.length === 0) {
      return yield* usageError(`--async-endpoints must list endpoint names (A,B), got "${asyncText}"`)
    }
    const faults: Record<string, Array<SagemakerEmulator.Fault>> = {}
    for (const spec of args.repeated.get("fault") ?? []) {
      const [endpoint, fault] = yield* parseFaultOption(spec)
      ;(faults[endpoint] ??= []).push(fault)
    }
    const splitText = text("split")
    const split = splitText === undefined
      ? undefined
      : yield* Either.mapLeft(SagemakerEmulator.parseSplit(splitText), (rule) => usageError(`--split: ${rule}`))
    let credentials: SagemakerEmulator.Options["credentials"]
    if (args.flags.has("verify-signatures")) {
      const keys = yield* Effect.orDie(Config.all({
        accessKeyId: Config.option(Config.string("AWS_ACCESS_KEY_ID")),
        secretAccessKey: Config.option(Config.redacted("AWS_SECRET_ACCESS_KEY"))
      }))
      if (Option.isNone(keys.accessKeyId) || Option.isNone(keys.secretAccessKey)) {
        return yield* usageError("--verify-signatures needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to be set")
      }
      credentials = [{
        accessKeyId: keys.accessKeyId.value,
        // The emulator checks signatures with it, as SageMaker would: it is never printed.
        secretAccessKey: Redacted.value(keys.secretAccessKey.value)
      }]
    }
    return {
      port,
      host,
      personality,
      faults,
      ...(endpoints === undefined ? {} : { endpoints }),
      ...(asyncEndpoints === undefined ? {} : { asyncEndpoints }),
      ...(split === undefined ? {} : { split }),
      ...(credentials === undefined ? {} : { credentials }),
      s3: { port: s3Port, listBucket: !args.flags.has("no-list-bucket") },
      log: (line) => Console.log(line)
    }
  })

/** Serves until interrupted (a signal): closing the scope closes the server and its connections. */
export const run = (
  args: ParsedArgs
): Effect.Effect<never, UsageError | SagemakerEmulator.EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* options(args)
    const emulator = yield* SagemakerEmulator.make(checked)
    yield* Console.error(
      `SageMaker Runtime emulator listening on ${emulator.url} (personality ${checked.personality}` +
        `${checked.credentials === undefined ? "" : ", checking signatures"}). Ctrl-C or SIGTERM stops it.\n` +
        `Point the SDK or the CLI at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=${emulator.url}\n` +
        `S3 endpoint at ${emulator.s3Url} (path-style only: give the S3 client forcePathStyle: true` +
        `${checked.s3?.listBucket === false ? "; callers lack s3:ListBucket" : ""})` +
        (checked.asyncEndpoints === undefined ? "" : `\nAsync endpoints: ${checked.asyncEndpoints.join(", ")}`)
    )
    return yield* Effect.never
  })
