/** A TypeScript file run in a child `node` process (through tsx), as a user would run it. */
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `script` with `args` and `env` over the current environment; interrupting kills it. */
export const runTsx = (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<Run>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    return Effect.sync(() => child.kill())
  })
