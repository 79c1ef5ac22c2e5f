/**
 * The `effect-sagemaker` command line: `generate`, `batch` and `emulator`. Every outcome is an exit
 * code: 0 done, 1 an error, 2 a usage error (for `batch`, also: some items failed), 130 and 143 a
 * signal; every failure is one line on stderr, `error: <tag>: <message>`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as SagemakerError from "../SagemakerError.js"
import { type CommandSpec, parse, type ParsedArgs, UsageError, usageError } from "./args.js"
import * as Batch from "./batch.js"
import * as Emulator from "./emulator.js"
import * as Generate from "./generate.js"
import { commandHelp, rootHelp, useColor } from "./help.js"
import * as Output from "./output.js"
import { awaitSignal, exitCode, type Signal } from "./signals.js"

interface Command {
  readonly spec: CommandSpec
  readonly run: (args: ParsedArgs, stdout: Output.Output) => Effect.Effect<void, unknown, Scope.Scope>
  /** The line on stderr when a signal stopped it. */
  readonly stopped: (signal: Signal) => string
}

const commands: ReadonlyArray<Command> = [
  {
    spec: Generate.spec,
    run: (args, stdout) => Generate.run(args, stdout, process.stdin.isTTY === true),
    stopped: (signal) => `error: Interrupted: stopped by ${signal}`
  },
  {
    spec: Batch.spec,
    run: (args) => Batch.run(args, process.stdin.isTTY === true, process.stderr.isTTY === true),
    stopped: (signal) =>
      `error: Interrupted: stopped by ${signal}; every result received is in the output, the same command resumes`
  },
  {
    spec: Emulator.spec,
    run: (args) => Emulator.run(args),
    stopped: (signal) => `SageMaker Runtime emulator stopped by ${signal}`
  }
]

/** The version of the installed package: `package.json` sits two folders up, from `src/cli` or `dist/cli`. */
const version = Effect.try(() => {
  const text = fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")
  return String((JSON.parse(text) as { version: unknown }).version)
})

/** A message on one line: the error line must stay one line whatever the service answered. */
const oneLine = (text: string) => text.replace(/\s*\r?\n\s*/g, " ").trim()

/** The error line for a failure, and its exit code. */
const describeFailure = (error: unknown): { readonly line: string; readonly code: number } => {
  if (error instanceof UsageError) return { line: `error: UsageError: ${oneLine(error.message)}`, code: 2 }
  // The batch went through but some of its items failed: 2, as the batch's exit codes promise.
  if (error instanceof Batch.ItemsFailed) return { line: `error: ItemsFailed: ${oneLine(error.message)}`, code: 2 }
  if (error instanceof SagemakerError.AWSConfigurationError) {
    // For a generator the message is Haystack's, the same for every cause: the description says which.
    const message = error.message.includes(error.description)
      ? error.message
      : `${error.message} Reason: ${error.description}`
    return { line: `error: ${error._tag}: ${oneLine(message)}`, code: 1 }
  }
  if (ConfigError.isConfigError(error)) {
    return { line: `error: ConfigError: ${oneLine(String(error))}`, code: 1 }
  }
  if (Predicate.hasProperty(error, "_tag") && Predicate.hasProperty(error, "message")) {
    return { line: `error: ${String(error._tag)}: ${oneLine(String(error.message))}`, code: 1 }
  }
  if (error instanceof Error) return { line: `error: ${error.name}: ${oneLine(error.message)}`, code: 1 }
  return { line: `error: Error: ${oneLine(String(error))}`, code: 1 }
}

const fail = (stdout: Output.Output, error: unknown) => {
  const { code, line } = describeFailure(error)
  return stdout.endLine.pipe(Effect.zipRight(Console.error(line)), Effect.as(code))
}

/** Runs a command until it ends or a signal stops it; the exit code. */
const runCommand = (command: Command, args: ParsedArgs, stdout: Output.Output): Effect.Effect<number> =>
  Effect.raceFirst(
    Effect.map(Effect.exit(Effect.scoped(command.run(args, stdout))), (exit) => ({ _tag: "Ended", exit }) as const),
    Effect.map(awaitSignal, (signal) => ({ _tag: "Signal", signal }) as const)
  ).pipe(Effect.flatMap((outcome) => {
    if (outcome._tag === "Signal") {
      // The command was interrupted: its request aborted, its emulator closed.
      return stdout.endLine.pipe(
        Effect.zipRight(Console.error(command.stopped(outcome.signal))),
        Effect.as(exitCode[outcome.signal])
      )
    }
    return Exit.match(outcome.exit, {
      onSuccess: () => Effect.succeed(0),
      onFailure: (cause) => fail(stdout, Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause)))
    })
  }))

/** The program: `argv` is the arguments after `effect-sagemaker`; the result is the exit code. */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> => {
  const stdout = Output.make(process.stdout)
  return Effect.gen(function*() {
    const noColor = Option.getOrUndefined(yield* Effect.orDie(Config.option(Config.string("NO_COLOR"))))
    const color = useColor(process.stdout.isTTY === true, noColor)
    const all = commands.map((command) => command.spec.name)
    const names = `${all.slice(0, -1).join(", ")} or ${all.at(-1)}`
    const [first, ...rest] = argv
    if (first === "--help" || first === "-h") {
      return yield* stdout.write(rootHelp(commands.map((c) => c.spec), yield* version, color)).pipe(Effect.as(0))
    }
    if (first === "--version") return yield* stdout.write(`${yield* version}\n`).pipe(Effect.as(0))
    if (first === undefined) {
      return yield* fail(stdout, usageError(`no command given: expected ${names} (effect-sagemaker --help)`))
    }
    if (first.startsWith("-")) {
      return yield* fail(
        stdout,
        usageError(`unknown option ${first} before the command: options go after ${names}, or --help, --version`)
      )
    }
    const command = commands.find((command) => command.spec.name === first)
    if (command === undefined) {
      return yield* fail(stdout, usageError(`unknown command "${first}": expected ${names}`))
    }
    const args = parse(command.spec, rest)
    if (Either.isLeft(args)) return yield* fail(stdout, args.left)
    if (args.right.help) return yield* stdout.write(commandHelp(command.spec, color)).pipe(Effect.as(0))
    return yield* runCommand(command, args.right, stdout)
  }).pipe(
    Effect.catchAllCause((cause) => fail(stdout, Cause.squash(cause))),
    // Logs (`--verbose`) go to stderr, one logfmt line each: stdout is the generated text.
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
  )
}
