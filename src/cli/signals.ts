/**
 * SIGINT and SIGTERM as an Effect: the command races it, so that a signal interrupts the command
 * (its finalizers abort the request and close the emulator) and the CLI exits with the signal's
 * code. Once the first signal arrived the handlers are gone: a second one ends the process at once.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"

export type Signal = "SIGINT" | "SIGTERM"

/** 128 + the signal number, as shells report a process a signal ended. */
export const exitCode: Readonly<Record<Signal, number>> = { SIGINT: 130, SIGTERM: 143 }

export const awaitSignal: Effect.Effect<Signal> = Effect.async<Signal>((resume) => {
  const onInt = () => {
    process.off("SIGTERM", onTerm)
    resume(Effect.succeed("SIGINT"))
  }
  const onTerm = () => {
    process.off("SIGINT", onInt)
    resume(Effect.succeed("SIGTERM"))
  }
  process.once("SIGINT", onInt)
  process.once("SIGTERM", onTerm)
  return Effect.sync(() => {
    process.off("SIGINT", onInt)
    process.off("SIGTERM", onTerm)
  })
})
