/**
 * The `effect-sagemaker` command line: `generate` and `emulator`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as SagemakerError from "../SagemakerError.js"
import * as emulator from "./emulator.js"
import * as generate from "./generate.js"

const root = Command.make("effect-sagemaker").pipe(
  Command.withDescription("Text generation on Amazon SageMaker endpoints, and a local SageMaker Runtime emulator"),
  Command.withSubcommands([generate.command, emulator.command])
)

const cli = Command.run(root, { name: "effect-sagemaker", version: "0.1.0" })

/** One clear line for a tagged error; @effect/cli reports its own usage errors. */
const report = (error: unknown) => {
  if (SagemakerError.isSagemakerError(error) || Predicate.isTagged(error, "EmulatorServeError")) {
    const tagged = error as { readonly _tag: string; readonly message: string }
    return Console.error(`error: ${tagged._tag}: ${tagged.message}`)
  }
  if (Predicate.hasProperty(error, "_tag") && String(error._tag).endsWith("ConfigError")) {
    return Console.error(`error: ConfigError: ${String(error)}`)
  }
  return Effect.void
}

export const main = (argv: ReadonlyArray<string>) => cli(argv).pipe(Effect.tapError(report))
