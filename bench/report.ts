/**
 * The benchmark's results as data (`bench/results/latest.json`) and as markdown tables (printed,
 * `bench/results/latest.md`, and the README's Performance section). `npm run bench -- --report`
 * renders the markdown again from the JSON.
 */
import type { ColdReport } from "./cold.js"
import type { ConcurrencyReport } from "./concurrency.js"
import { labels } from "./names.js"
import { median, quantile, SHORT_STREAM_TOKENS, STREAM_TOKENS } from "./shared.js"
import type { SliceResult } from "./worker.js"

/** One figure: over all slices together, and per slice (one value per round). */
export interface Series {
  readonly pooled: number
  readonly slices: ReadonlyArray<number>
}

export interface GroupSummary {
  readonly contenders: ReadonlyArray<string>
  /** metric → contender → series. */
  readonly metrics: Record<string, Record<string, Series>>
  readonly maxRssMb: Record<string, number>
  /** Slices run per phase, and their length. */
  readonly slices: Record<string, { readonly count: number; readonly ms: number; readonly inflight: number }>
}

export interface Meta {
  readonly startedAt: string
  readonly seconds: number
  readonly machine: {
    readonly nproc: number
    readonly cpu: string
    readonly memoryGb: number
    readonly node: string
    readonly platform: string
    readonly loadAverage: ReadonlyArray<number>
  }
  readonly loadAverageAfter: ReadonlyArray<number>
  readonly git: string
  readonly quick: boolean
  readonly transport: { readonly value: string | undefined; readonly note: string }
  readonly inflight: number
  readonly delayMs: number
}

export interface Summary {
  readonly meta: Meta
  readonly unary: GroupSummary
  readonly streams: GroupSummary
  readonly cold: {
    readonly contenders: ReadonlyArray<string>
    readonly runs: ReadonlyArray<Record<string, ColdReport>>
  }
  readonly concurrency: ReadonlyArray<ConcurrencyReport>
  readonly problems: ReadonlyArray<string>
  readonly leanCheck: ReadonlyArray<
    { readonly contender: string; readonly requests: number; readonly sdkRequests: number }
  >
}

// ---------------------------------------------------------------------------------------------
// From slices to series
// ---------------------------------------------------------------------------------------------

type Slices = Record<string, ReadonlyArray<SliceResult>>

const sum = (slices: ReadonlyArray<SliceResult>, pick: (s: SliceResult) => number) =>
  slices.reduce((n, s) => n + pick(s), 0)

const rateOf = (slices: ReadonlyArray<SliceResult>) =>
  sum(slices, (s) => s.units) / (sum(slices, (s) => s.elapsedMs) / 1000)
const requestRateOf = (slices: ReadonlyArray<SliceResult>) =>
  sum(slices, (s) => s.completed) / (sum(slices, (s) => s.elapsedMs) / 1000)
const cpuPerUnit = (slices: ReadonlyArray<SliceResult>) => sum(slices, (s) => s.cpuUs) / sum(slices, (s) => s.units)
const cpuPerCall = (slices: ReadonlyArray<SliceResult>) => sum(slices, (s) => s.cpuUs) / sum(slices, (s) => s.completed)

/** A metric over the slices of one phase: pooled over all of them, and slice by slice. */
const over = (
  slices: ReadonlyArray<SliceResult> | undefined,
  pooled: (all: ReadonlyArray<SliceResult>) => number
): Series | undefined =>
  slices === undefined || slices.length === 0
    ? undefined
    : { pooled: pooled(slices), slices: slices.map((slice) => pooled([slice])) }

const latency = (q: number, pick: (s: SliceResult) => ReadonlyArray<number>) => (all: ReadonlyArray<SliceResult>) =>
  quantile(all.flatMap(pick), q)

/** The unary metrics of one contender from its slices per phase. */
export const unaryMetrics = (phases: Slices): Record<string, Series | undefined> => ({
  p50: over(phases.serial, latency(0.5, (s) => s.latencies)),
  p99: over(phases.serial, latency(0.99, (s) => s.latencies)),
  rps64: over(phases.c64, requestRateOf),
  rps512: over(phases.c512, requestRateOf),
  cpu64: over(phases.c64, cpuPerUnit),
  cpu512: over(phases.c512, cpuPerUnit)
})

/** The stream metrics of one contender from its slices per phase. */
export const streamMetrics = (phases: Slices): Record<string, Series | undefined> => {
  const long = phases.c64
  const short = phases.short
  const events = STREAM_TOKENS - SHORT_STREAM_TOKENS
  const marginal = long === undefined || short === undefined || long.length === 0 || short.length === 0
    ? undefined
    : {
      pooled: (cpuPerCall(long) - cpuPerCall(short)) / events,
      slices: Array.from(
        { length: Math.min(long.length, short.length) },
        (_, i) => (cpuPerCall([long[i]!]) - cpuPerCall([short[i]!])) / events
      )
    }
  return {
    ttft: over(phases.serial, latency(0.5, (s) => s.ttfts)),
    ttft99: over(phases.serial, latency(0.99, (s) => s.ttfts)),
    stream: over(phases.serial, latency(0.5, (s) => s.latencies)),
    ttft64: over(long, latency(0.5, (s) => s.ttfts)),
    eps: over(long, rateOf),
    cpuEvent: over(long, cpuPerUnit),
    marginal
  }
}

/** Series by metric, then contender. */
export const collect = (
  contenders: ReadonlyArray<string>,
  slices: Record<string, Slices>,
  metrics: (phases: Slices) => Record<string, Series | undefined>
): Record<string, Record<string, Series>> => {
  const out: Record<string, Record<string, Series>> = {}
  for (const contender of contenders) {
    for (const [metric, series] of Object.entries(metrics(slices[contender] ?? {}))) {
      if (series !== undefined) (out[metric] ??= {})[contender] = series
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

const spreadOf = (values: ReadonlyArray<number>): Spread | undefined => {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0
    ? undefined
    : { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length }
}

/** Slice-by-slice ratios (same round) of one contender to a reference: their median and range. */
export const ratio = (group: GroupSummary, metric: string, contender: string, reference: string) => {
  const a = group.metrics[metric]?.[contender]
  const b = group.metrics[metric]?.[reference]
  if (a === undefined || b === undefined) return undefined
  const n = Math.min(a.slices.length, b.slices.length)
  return spreadOf(Array.from({ length: n }, (_, i) => a.slices[i]! / b.slices[i]!))
}

export const fmt = (n: number, digits?: number): string => {
  if (!Number.isFinite(n)) return "–"
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2)
  return n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
}

/** The pooled value, and the range of the slices' values. */
const seriesCell = (s: Series | undefined, digits?: number): string => {
  if (s === undefined) return "–"
  const range = spreadOf(s.slices)
  return range === undefined || range.n <= 1
    ? fmt(s.pooled, digits)
    : `${fmt(s.pooled, digits)} (${fmt(range.min, digits)}–${fmt(range.max, digits)})`
}

const ratioCell = (s: Spread | undefined): string =>
  s === undefined ? "–" : s.n <= 1 ? `${fmt(s.median, 2)}×` : `${fmt(s.median, 2)}× (${fmt(s.min, 2)}–${fmt(s.max, 2)})`

export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")

const label = (contender: string) => labels[contender as keyof typeof labels] ?? contender

const coldLabels: Record<string, string> = {
  floor: "floor: node:http + SigV4",
  sdk: "raw SDK",
  "sdk-effect": "raw SDK in an Effect program (effect/Effect + Effect.tryPromise)",
  run: "SagemakerGenerator.run (package entry)",
  "run-module": "SagemakerGenerator.run (its module only)",
  "run-http": "SagemakerGenerator.run (entry, lean)"
}

const concurrencyLabels: Record<string, string> = {
  floor: "floor: node:http + SigV4, 1,024 sockets kept",
  run: "SagemakerGenerator.run (sdk, default maxConcurrency 1024)",
  "run-http": "SagemakerGenerator.run (lean, default maxConcurrency)",
  "sdk-1024": "raw SDK, maxSockets 1024",
  "sdk-default": "raw SDK, default client (50 sockets)"
}

/** Cold starts as a group (one "slice" per run) so they share the ratio code. */
const coldGroup = (cold: Summary["cold"]): GroupSummary => {
  const metric = (pick: (r: ColdReport) => number) =>
    Object.fromEntries(cold.contenders.map((c) => {
      const values = cold.runs.map((run) => (run[c] === undefined ? Number.NaN : pick(run[c])))
      return [c, { pooled: median(values), slices: values }]
    }))
  return {
    contenders: cold.contenders,
    metrics: {
      import: metric((r) => r.importMs),
      first: metric((r) => r.firstCallMs),
      cold: metric((r) => r.coldMs),
      rss: metric((r) => r.rssMb),
      boot: metric((r) => r.bootMs)
    },
    maxRssMb: {},
    slices: {}
  }
}

export const render = (summary: Summary): string => {
  const { meta, unary, streams } = summary
  const m = meta.machine
  const lines: Array<string> = []
  const slices = (group: GroupSummary) =>
    Object.entries(group.slices).map(([phase, s]) => `${phase} ${s.count} × ${s.ms} ms at ${s.inflight}`).join(", ")
  lines.push(`## Benchmark (${meta.startedAt.slice(0, 16).replace("T", " ")} UTC, ${meta.git})`)
  lines.push("")
  lines.push(
    `Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGb} GB, ${m.platform}, Node ${m.node}; load average ` +
      `${m.loadAverage.join(" ")} before and ${meta.loadAverageAfter.join(" ")} after (shared with other work). ` +
      `${meta.seconds} s in all${meta.quick ? " (quick)" : ""}.`
  )
  lines.push("")
  lines.push(
    "Method: a `node:http` server on 127.0.0.1 in its own process answers at once with fixed bodies (a TGI " +
      "`generated_text`; for streams 100 PayloadPart frames of TGI server-sent events). Every contender runs in its " +
      "own process and does the whole job (build the body, sign, send, parse the reply or every token). The " +
      "contenders are measured in short slices taken in turn (a round = one slice of each, the order rotated every " +
      "round), so load from elsewhere falls on all alike. Cells: all slices pooled (range of the slices). Ratios: " +
      `slice by slice within a round, median (range). Slices: unary ${slices(unary)}; streams ${slices(streams)}.`
  )
  lines.push("")
  lines.push(`Lean transport: ${meta.transport.note}.`)
  lines.push("")

  // Unary
  lines.push("### InvokeEndpoint (`run`)")
  lines.push("")
  lines.push(table(
    ["contender", "p50 ms", "p99 ms", "req/s @64", "req/s @512", "CPU µs/req @64", "CPU µs/req @512", "RSS MB"],
    unary.contenders.map((c) => [
      label(c),
      seriesCell(unary.metrics.p50?.[c], 3),
      seriesCell(unary.metrics.p99?.[c], 2),
      seriesCell(unary.metrics.rps64?.[c], 0),
      seriesCell(unary.metrics.rps512?.[c], 0),
      seriesCell(unary.metrics.cpu64?.[c], 0),
      seriesCell(unary.metrics.cpu512?.[c], 0),
      fmt(unary.maxRssMb[c] ?? Number.NaN, 0)
    ])
  ))
  lines.push("")
  lines.push(
    "p50/p99: one request at a time. req/s and CPU (client process only): 64 or 512 requests in flight. RSS: peak."
  )
  lines.push("")
  const unaryRatios = (reference: string) =>
    table(
      ["contender", "p50", "p99", "req/s @64", "req/s @512", "CPU/req @64", "CPU/req @512"],
      unary.contenders.filter((c) => c !== reference).map((c) => [
        label(c),
        ...["p50", "p99", "rps64", "rps512", "cpu64", "cpu512"].map((k) => ratioCell(ratio(unary, k, c, reference)))
      ])
    )
  for (const reference of ["sdk", "sdk-cached", "floor"]) {
    if (!unary.contenders.includes(reference)) continue
    lines.push(`Ratios to ${label(reference)}:`)
    lines.push("")
    lines.push(unaryRatios(reference))
    lines.push("")
  }

  // Streams
  lines.push(`### InvokeEndpointWithResponseStream (\`stream\`), ${STREAM_TOKENS} tokens per stream`)
  lines.push("")
  lines.push(table(
    [
      "contender",
      "TTFT p50 ms",
      "TTFT p99 ms",
      "stream p50 ms",
      "TTFT p50 @64 ms",
      "events/s @64",
      "CPU µs/event @64",
      "marginal µs/event",
      "RSS MB"
    ],
    streams.contenders.map((c) => [
      label(c),
      seriesCell(streams.metrics.ttft?.[c], 3),
      seriesCell(streams.metrics.ttft99?.[c], 2),
      seriesCell(streams.metrics.stream?.[c], 2),
      seriesCell(streams.metrics.ttft64?.[c], 1),
      seriesCell(streams.metrics.eps?.[c], 0),
      seriesCell(streams.metrics.cpuEvent?.[c], 1),
      seriesCell(streams.metrics.marginal?.[c], 1),
      fmt(streams.maxRssMb[c] ?? Number.NaN, 0)
    ])
  ))
  lines.push("")
  lines.push(
    "TTFT: from the call to the first token's text in hand, one stream at a time (and at 64 streams in flight). " +
      "CPU µs/event: client CPU at 64 streams in flight / tokens received (the per-request work included). " +
      `Marginal: (CPU per ${STREAM_TOKENS}-token stream − CPU per ${SHORT_STREAM_TOKENS}-token stream) / ` +
      `${STREAM_TOKENS - SHORT_STREAM_TOKENS}, one event's own cost.`
  )
  lines.push("")
  for (const reference of ["stream-sdk", "stream-floor"]) {
    if (!streams.contenders.includes(reference)) continue
    lines.push(`Ratios to ${label(reference)}:`)
    lines.push("")
    lines.push(table(
      ["contender", "TTFT p50", "stream p50", "TTFT p50 @64", "events/s @64", "CPU/event @64", "marginal CPU/event"],
      streams.contenders.filter((c) => c !== reference).map((c) => [
        label(c),
        ...["ttft", "stream", "ttft64", "eps", "cpuEvent", "marginal"].map((k) =>
          ratioCell(ratio(streams, k, c, reference))
        )
      ])
    ))
    lines.push("")
  }

  // Cold start
  const cold = coldGroup(summary.cold)
  lines.push(`### Cold start (import + first call, fresh process, ${summary.cold.runs.length} runs each)`)
  lines.push("")
  lines.push(table(
    ["contender", "import ms", "first call ms", "cold ms", "× raw SDK", "× SDK in Effect", "× floor", "RSS MB"],
    cold.contenders.map((c) => [
      coldLabels[c] ?? c,
      seriesCell(cold.metrics.import?.[c], 0),
      seriesCell(cold.metrics.first?.[c], 0),
      seriesCell(cold.metrics.cold?.[c], 0),
      c === "sdk" ? "1×" : ratioCell(ratio(cold, "cold", c, "sdk")),
      c === "sdk-effect" ? "1×" : ratioCell(ratio(cold, "cold", c, "sdk-effect")),
      c === "floor" ? "1×" : ratioCell(ratio(cold, "cold", c, "floor")),
      seriesCell(cold.metrics.rss?.[c], 0)
    ])
  ))
  lines.push("")
  lines.push(
    "Cells: median of the runs (range). Timed from the program's first line (every import is dynamic); Node's own " +
      `boot before it, the same for all, is not included (median ${
        fmt(median(Object.values(cold.metrics.boot ?? {}).flatMap((s) => s.slices)), 0)
      } ms).`
  )
  lines.push("")

  // Concurrency
  lines.push(`### ${meta.inflight} generations in flight, the endpoint taking ${meta.delayMs} ms each`)
  lines.push("")
  lines.push(table(
    ["contender", "requests", "wall s, first batch", "wall s, again (warm)", "errors", "client CPU ms", "RSS MB"],
    summary.concurrency.map((r) => [
      concurrencyLabels[r.contender] ?? r.contender,
      String(r.count),
      fmt(r.wallMs / 1000, 2),
      r.warmWallMs == null ? "–" : fmt(r.warmWallMs / 1000, 2),
      String(r.errors),
      fmt(r.cpuMs, 0),
      fmt(r.maxRssMb, 0)
    ])
  ))
  lines.push("")
  lines.push(
    "Client CPU covers both batches. Without a socket per request the batch waits for sockets: the default SDK " +
      "client's 50 sockets serve 1,000 one-second requests in 20 rounds."
  )
  lines.push("")

  // Targets
  const target = (name: string, s: Spread | undefined, ok: (v: number) => boolean, bound: string) =>
    s === undefined
      ? `- ${name}: n/a`
      : `- ${name}: ${ratioCell(s)}, target ${bound}: ${ok(s.median) ? "met" : "**missed**"}`
  lines.push("### Targets of issue 6 (medians of the per-round ratios)")
  lines.push("")
  for (const reference of ["sdk", "sdk-cached"]) {
    const by = label(reference)
    lines.push(target(`run (sdk) p50 / ${by}`, ratio(unary, "p50", "run", reference), (v) => v <= 1.05, "≤ 1.05×"))
    lines.push(
      target(`run (sdk) req/s @64 / ${by}`, ratio(unary, "rps64", "run", reference), (v) => v >= 0.95, "≥ 0.95×")
    )
    lines.push(
      target(`run (sdk) req/s @512 / ${by}`, ratio(unary, "rps512", "run", reference), (v) => v >= 0.95, "≥ 0.95×")
    )
  }
  if (meta.transport.value === undefined) {
    lines.push(`- run (lean) CPU/request / floor: n/a (${meta.transport.note})`)
    lines.push(
      `- stream (lean) CPU/event / plain decoder: n/a; for reference stream (sdk) / plain decoder: ${
        ratioCell(ratio(streams, "cpuEvent", "stream-run", "stream-floor"))
      }`
    )
  } else {
    lines.push(
      target("run (lean) CPU/req @64 / floor", ratio(unary, "cpu64", "run-http", "floor"), (v) => v <= 1.5, "≤ 1.5×")
    )
    lines.push(
      target(
        "stream (lean) CPU/event @64 / plain decoder",
        ratio(streams, "cpuEvent", "stream-run-http", "stream-floor"),
        (v) => v <= 1.5,
        "≤ 1.5×"
      )
    )
  }
  lines.push(
    target("cold start, run (package entry) / raw SDK", ratio(cold, "cold", "run", "sdk"), (v) => v <= 1.3, "≤ 1.3×")
  )
  lines.push(
    target(
      "(for reference) cold start, run (package entry) / raw SDK in an Effect program",
      ratio(cold, "cold", "run", "sdk-effect"),
      (v) => v <= 1.3,
      "≤ 1.3×"
    )
  )
  const scenario = (name: string) => summary.concurrency.find((r) => r.contender === name)
  const ours = scenario("run")
  if (ours !== undefined) {
    const wide = scenario("sdk-1024")
    const pooled = scenario("sdk-default")
    const floor = scenario("floor")
    const warm = ours.warmWallMs ?? ours.wallMs
    lines.push(
      `- ${ours.count} in flight × ${ours.delayMs} ms: run took ${fmt(ours.wallMs / 1000, 2)} s (new sockets, cold ` +
        `code), ${fmt(warm / 1000, 2)} s warm, ${ours.errors} errors; about one second: ${
          ours.errors === 0 && warm <= 1.5 * ours.delayMs ? "met" : "**missed**"
        }` +
        (wide === undefined ?
          "" :
          `; the raw SDK with 1,024 sockets takes ${fmt((wide.warmWallMs ?? wide.wallMs) / 1000, 2)} s here (run ${
            fmt(warm / (wide.warmWallMs ?? wide.wallMs), 2)
          }× that)`) +
        (floor === undefined ?
          "" :
          `, the floor ${fmt(floor.wallMs / 1000, 2)} s / ${fmt((floor.warmWallMs ?? floor.wallMs) / 1000, 2)} s`) +
        (pooled === undefined ?
          "" :
          `, the default 50-socket pool ${
            fmt(pooled.wallMs / 1000, 2)
          } s for ${pooled.count}: not held by a socket pool, bound by client CPU per request`)
    )
  }
  lines.push("")
  for (const check of summary.leanCheck) {
    if (check.sdkRequests > 0) {
      lines.push(
        `Warning: ${check.contender} sent ${check.sdkRequests} of ${check.requests} requests with the SDK's ` +
          "`amz-sdk-invocation-id` header: the lean transport option did not take effect.",
        ""
      )
    }
  }
  if (summary.problems.length > 0) {
    lines.push("Problems:")
    for (const problem of summary.problems) lines.push(`- ${problem.split("\n").slice(0, 4).join(" / ")}`)
    lines.push("")
  }
  lines.push(
    "Rerun: `npm run bench` (about 3 minutes; `-- --quick` about 1; `-- --profile` for CPU profiles, " +
      "`-- --experiments` for the A/B variants, `-- --report` to re-render this from `bench/results/latest.json`)."
  )
  return lines.join("\n")
}
