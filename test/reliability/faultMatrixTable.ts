/**
 * Prints the fault matrix as a Markdown table (for the README's Reliability section), measured
 * against the emulator with one transport of `transports` (the first unless `--transport NAME`):
 *
 *   npx tsx test/reliability/faultMatrixTable.ts [--transport sdk|http]
 */
import "./env.js"
import * as Effect from "effect/Effect"
import { formatTable, rows, runRow } from "../helpers/faultMatrix.js"
import { transports } from "../helpers/transports.js"

const main = Effect.gen(function*() {
  const i = process.argv.indexOf("--transport")
  const variant = i === -1 ? transports[0]! : transports.find((t) => t.name === process.argv[i + 1])
  if (variant === undefined) return yield* Effect.die(`unknown transport ${process.argv[i + 1]}`)
  const results = []
  for (const row of rows) results.push({ row, outcome: yield* runRow(row, variant) })
  const mismatches = results.filter(({ outcome, row }) =>
    outcome.outcome !== row.expect.outcome || outcome.requests !== row.expect.requests
  )
  console.log(formatTable(results))
  if (mismatches.length > 0) {
    console.error(
      `${mismatches.length} row(s) did not end as expected: ${mismatches.map((m) => m.row.fault).join("; ")}`
    )
    process.exitCode = 1
  }
})

Effect.runPromise(main)
