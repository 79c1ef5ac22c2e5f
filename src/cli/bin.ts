#!/usr/bin/env node
/**
 * The `effect-sagemaker` executable.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import { main } from "./main.js"

// The AWS SDK warns on every start under Node 20 about its releases after January 2027; the
// lock file keeps a release that supports Node 20, so keep the CLI's output to what was asked.
// Only this process is concerned: the library itself leaves the warning alone.
const printWarnings = process.listeners("warning")
process.removeAllListeners("warning")
process.on("warning", (warning) => {
  if (!warning.message.includes("NodeVersionSupportWarning")) { for (const print of printWarnings) print(warning) }
})

// A reader that went away (`| head`) ends the CLI as SIGPIPE ends other programs, without a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(141)
  throw error
})

Effect.runPromise(main(process.argv.slice(2))).then((code) => {
  process.exitCode = code
  // Output drains before the process ends; a socket or timer left behind must not keep it alive.
  setTimeout(() => process.exit(code), 1000).unref()
})
