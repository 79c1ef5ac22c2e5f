/**
 * What `effect-sagemaker batch` says on stderr while it runs and when it ends: a progress line
 * (redrawn in place on a terminal, printed every few seconds otherwise) and the summary.
 *
 * @since 0.1.0
 * @internal
 */

/** What an `--async` run counts besides: submissions accepted, resumed, awaited and collected. */
export interface AsyncTally {
  /** Items SageMaker accepted in this run. */
  readonly submitted: number
  /** Items submitted by an earlier run, awaited from the handles the output holds. */
  readonly resumed: number
  /** Items being awaited now. */
  readonly pending: number
  /** Results read back from S3 (an output or a failure object), or given up on past their deadline. */
  readonly collected: number
}

/** Where the run stands, as the CLI counts it. */
export interface Tally {
  /** Items of this run: the input's (in the shard) minus those the output already held. */
  readonly total: number
  readonly done: number
  readonly succeeded: number
  readonly failed: number
  readonly failedByTag: ReadonlyMap<string, number>
  readonly retried: number
  readonly throttled: number
  readonly tokens: number
  readonly limit: number
  readonly inFlight: number
  /** `--async` runs only. */
  readonly async?: AsyncTally | undefined
}

export const emptyTally = (total: number): Tally => ({
  total,
  done: 0,
  succeeded: 0,
  failed: 0,
  failedByTag: new Map(),
  retried: 0,
  throttled: 0,
  tokens: 0,
  limit: 0,
  inFlight: 0
})

/** `850ms`, `12.4s`, `3m05s`, `2h07m`. */
export const formatDuration = (millis: number): string => {
  if (millis < 1000) return `${Math.round(millis)}ms`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)}s`
  const seconds = Math.round(millis / 1000)
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
  const minutes = Math.round(seconds / 60)
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`
}

const rate = (done: number, elapsedMillis: number) => elapsedMillis <= 0 ? 0 : (done * 1000) / elapsedMillis

const formatRate = (perSecond: number) => `${perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(1)}/s`

/**
 * `412/1000 (41%), 38.2/s, ETA 15.4s, 3 failed, 7 retried, limit 24, 24 in flight`; with `--async`,
 * `412/1000 (41%), 38.2/s, ETA 15.4s, 3 failed, 900 submitted, 100 resumed, 588 pending`.
 */
export const progressLine = (tally: Tally, elapsedMillis: number): string => {
  const perSecond = rate(tally.done, elapsedMillis)
  const percent = tally.total === 0 ? 100 : Math.floor((tally.done * 100) / tally.total)
  const eta = perSecond > 0 ? formatDuration(((tally.total - tally.done) / perSecond) * 1000) : "?"
  const head = `${tally.done}/${tally.total} (${percent}%), ${
    formatRate(perSecond)
  }, ETA ${eta}, ${tally.failed} failed`
  const async = tally.async
  return async === undefined
    ? `${head}, ${tally.retried} retried, limit ${tally.limit}, ${tally.inFlight} in flight`
    : `${head}, ${async.submitted} submitted, ${async.resumed} resumed, ${async.pending} pending`
}

const byTag = (counts: ReadonlyMap<string, number>) =>
  [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([tag, n]) => `${tag} ${n}`).join(", ")

/** The summary, several lines: what this run did, and what the output held already. */
export const summary = (
  tally: Tally,
  elapsedMillis: number,
  earlier: { readonly succeeded: number; readonly failedByTag: ReadonlyMap<string, number>; readonly output: string },
  stopped: boolean
): string => {
  const earlierFailed = [...earlier.failedByTag.values()].reduce((sum, n) => sum + n, 0)
  const lines = [
    `batch ${stopped ? "stopped" : "done"}: ${tally.done} of ${tally.total} items in ${
      formatDuration(elapsedMillis)
    } ` +
    `(${formatRate(rate(tally.done, elapsedMillis))})`,
    `  succeeded  ${tally.succeeded}`,
    `  failed     ${tally.failed}${tally.failed > 0 ? ` (${byTag(tally.failedByTag)})` : ""}`,
    ...(tally.async === undefined
      ? [
        `  retried    ${tally.retried} requests${
          tally.throttled > 0 ? ` (${tally.throttled} on a capacity signal)` : ""
        }`
      ]
      : [
        `  submitted  ${tally.async.submitted} (async inference)`,
        `  resumed    ${tally.async.resumed} (submitted by an earlier run, awaited from ${earlier.output})`,
        `  collected  ${tally.async.collected} results from S3`
      ])
  ]
  if (tally.tokens > 0) lines.push(`  tokens     ${tally.tokens} (input and output, as the container reported them)`)
  if (earlier.succeeded + earlierFailed > 0) {
    lines.push(
      `  earlier    ${earlier.succeeded + earlierFailed} already in ${earlier.output}: ${earlier.succeeded} succeeded` +
        (earlierFailed > 0
          ? `, ${earlierFailed} failed (${byTag(earlier.failedByTag)}; --retry-failed redoes them)`
          : "")
    )
  }
  return `${lines.join("\n")}\n`
}
