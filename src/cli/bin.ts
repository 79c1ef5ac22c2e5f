#!/usr/bin/env node
/**
 * The `effect-sagemaker` executable.
 *
 * @since 0.1.0
 * @internal
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { main } from "./main.js"

// The AWS SDK warns on every start under Node 20 about its releases after January 2027; the
// lock file keeps a release that supports Node 20, so keep the CLI's output to what was asked.
const printWarnings = process.listeners("warning")
process.removeAllListeners("warning")
process.on("warning", (warning) => {
  if (!warning.message.includes("NodeVersionSupportWarning")) { for (const print of printWarnings) print(warning) }
})

// Errors were already printed as one line each; exit non-zero without a stack dump.
NodeRuntime.runMain(main(process.argv).pipe(Effect.provide(NodeContext.layer)), { disableErrorReporting: true })
