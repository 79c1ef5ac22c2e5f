/**
 * The benchmark's results as data (`bench/results/latest.json`) and as markdown tables (printed,
 * `bench/results/latest.md`, and the README's Performance section). `npm run bench -- --report`
 * renders the markdown again from the JSON.
 */
import type { ColdReport } from "./cold.js"
import type { ConcurrencyReport } from "./concurrency.js"
import { labels } from "./names.js"
import {
  CHAT_RESPONSE,
  chatEvents,
  median,
  quantile,
  SHORT_STREAM_TOKENS,
  STREAM_TOKENS,
  tgiEvents,
  UNARY_RESPONSE
} from "./shared.js"
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
  /** The library's `defaultTransport` at the run's commit. */
  readonly libraryDefaultTransport?: string | undefined
  /** The peers' versions (bench/peers), as installed. */
  readonly peers?: Record<string, string> | undefined
  readonly inflight: number
  readonly delayMs: number
}

/** The cold starts: one record per run (contender → its report), and the bundles' sizes. */
export interface ColdSummary {
  readonly contenders: ReadonlyArray<string>
  readonly runs: ReadonlyArray<Record<string, ColdReport>>
  /** Bundled contender → its bundle's bytes (absent in runs before the bundled rows). */
  readonly bundleBytes?: Readonly<Record<string, number>> | undefined
}

export interface Summary {
  readonly meta: Meta
  readonly unary: GroupSummary
  readonly streams: GroupSummary
  readonly cold: ColdSummary
  readonly concurrency: ReadonlyArray<ConcurrencyReport>
  readonly problems: ReadonlyArray<string>
  /** Per contender, its warm-up as the server saw it: requests, and how many carried the SDK's header. */
  readonly leanCheck: ReadonlyArray<
    {
      readonly contender: string
      readonly requests: number
      readonly sdkRequests: number
      /** The transport it names (ours only). */
      readonly transport?: string | undefined
      /** Calls completed in the warm-up. */
      readonly completed?: number | undefined
    }
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
  // A stream's own cost beyond its events: a short stream's CPU less its events' marginal cost.
  const fixed = marginal === undefined ? undefined : {
    pooled: cpuPerCall(short!) - SHORT_STREAM_TOKENS * marginal.pooled,
    slices: marginal.slices.map((m, i) => cpuPerCall([short![i]!]) - SHORT_STREAM_TOKENS * m)
  }
  return {
    ttft: over(phases.serial, latency(0.5, (s) => s.ttfts)),
    ttft99: over(phases.serial, latency(0.99, (s) => s.ttfts)),
    stream: over(phases.serial, latency(0.5, (s) => s.latencies)),
    ttft64: over(long, latency(0.5, (s) => s.ttfts)),
    eps: over(long, rateOf),
    cpuEvent: over(long, cpuPerUnit),
    marginal,
    fixed
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
  "sdk-effect-schema": "… the same, importing effect/Schema too",
  run: "SagemakerGenerator.run (package entry, sdk transport)",
  "run-module": "SagemakerGenerator.run (its module only, http)",
  "run-http": "SagemakerGenerator.run (package entry, http)",
  "bundle-sdk": "raw SDK, bundled",
  "bundle-sdk-effect": "raw SDK in an Effect program, bundled",
  "bundle-run": "SagemakerGenerator.run from the entry, bundled, default transport",
  "bundle-run-sdk": "SagemakerGenerator.run from the entry, bundled, sdk transport"
}

/** The bundled rows, reported in a table of their own against the raw SDK bundled the same way. */
const isBundled = (contender: string) => contender.startsWith("bundle-")

const concurrencyLabels: Record<string, string> = {
  floor: "floor: node:http + SigV4, 1,024 sockets kept",
  "run-http": "SagemakerGenerator.run, default (http, default maxConcurrency 1024)",
  run: "SagemakerGenerator.run (sdk, default maxConcurrency 1024)",
  "sdk-1024": "raw SDK, maxSockets 1024",
  "langchain-1024": "LangChain JS SageMakerEndpoint.invoke, SDK client with maxSockets 1024",
  "sdk-default": "raw SDK, default client (50 sockets)"
}

/**
 * The 1,000-in-flight runs as a group, one "slice" per round (a run's `round`, 0 when it has
 * none), so that their ratios are per round like the others'. Cells: median of the rounds.
 */
const concurrencyGroup = (reports: ReadonlyArray<ConcurrencyReport>): GroupSummary => {
  const rounds = Math.max(1, ...reports.map((r) => (r.round ?? 0) + 1))
  const contenders = [...new Set(reports.map((r) => r.contender))]
  const metric = (pick: (r: ConcurrencyReport) => number | undefined) =>
    Object.fromEntries(contenders.map((c) => {
      const values = Array.from({ length: rounds }, () => Number.NaN)
      for (const r of reports) if (r.contender === c) values[r.round ?? 0] = pick(r) ?? Number.NaN
      return [c, { pooled: median(values), slices: values }]
    }))
  return {
    contenders,
    metrics: {
      wall: metric((r) => r.wallMs),
      warm: metric((r) => r.warmWallMs),
      cpu: metric((r) => r.cpuMs),
      rss: metric((r) => r.maxRssMb),
      heap: metric((r) => r.peakHeapMb),
      heapBefore: metric((r) => r.heapBeforeMb)
    },
    maxRssMb: {},
    slices: {}
  }
}

/** The fixed CPU per stream of the run before issue 16 (bench/results/latest.json, 2026-11-27, b3491ee). */
export const FIXED_CPU_BEFORE_US: Readonly<Record<string, number>> = { "stream-run-http": 984, "stream-run": 1648 }

/** One row of a targets table. */
interface TargetRow {
  readonly row: string
  readonly measured: Spread | undefined
  readonly target: string
  /** Absent for rows shown for reference. */
  readonly ok?: ((median: number) => boolean) | undefined
  /** Shown after the ratio (absolute figures). */
  readonly detail?: string | undefined
}

const targetTable = (rows: ReadonlyArray<TargetRow>): string =>
  table(
    ["row", "measured", "target", "result", "figures"],
    rows.map((r) => [
      r.row,
      ratioCell(r.measured),
      r.target,
      r.ok === undefined ? "" : r.measured === undefined ? "n/a" : r.ok(r.measured.median) ? "met" : "**missed**",
      r.detail ?? ""
    ])
  )

/** A constant reference as a series, for ratios to a figure of another run. */
const constantRatio = (series: Series | undefined, reference: number): Spread | undefined =>
  series === undefined ? undefined : spreadOf(series.slices.map((v) => v / reference))

/**
 * The cold-start rows of issue 16 (the default entry against the raw SDK, and the rest), which
 * the cold-start section of this report measures; they join the targets table here.
 */
const issue16ColdRows = (summary: Pick<Summary, "cold">): ReadonlyArray<TargetRow> => {
  const cold = coldGroup(summary.cold)
  const both = (metric: string, a: string, b: string) => sides(cold, metric, a, b, "ms", 0)
  return [
    {
      row: "cold start, bundled: `run` (default transport) / raw SDK bundled",
      measured: ratio(cold, "cold", "bundle-run", "bundle-sdk"),
      target: "≤ 1.3×",
      ok: atMost(1.3),
      detail: both("cold", "bundle-run", "bundle-sdk")
    },
    {
      row: "cold start, unbundled: `run` (http) / raw SDK in an Effect program",
      measured: ratio(cold, "cold", "run-http", "sdk-effect"),
      target: "≤ 1.3×",
      ok: atMost(1.3),
      detail: both("cold", "run-http", "sdk-effect")
    },
    {
      row: "(for reference) the same two, in process CPU: bundled",
      measured: ratio(cold, "cpu", "bundle-run", "bundle-sdk"),
      target: "≤ 1.3×",
      detail: both("cpu", "bundle-run", "bundle-sdk")
    },
    {
      row: "(for reference) … unbundled",
      measured: ratio(cold, "cpu", "run-http", "sdk-effect"),
      target: "≤ 1.3×",
      detail: both("cpu", "run-http", "sdk-effect")
    },
    {
      row: "(for reference) cold start, bundled: raw SDK in an Effect program / raw SDK bundled",
      measured: ratio(cold, "cold", "bundle-sdk-effect", "bundle-sdk"),
      target: "",
      detail: both("cold", "bundle-sdk-effect", "bundle-sdk")
    },
    {
      row: "(for reference) cold start, unbundled: raw SDK in an Effect program with effect/Schema / without",
      measured: ratio(cold, "cold", "sdk-effect-schema", "sdk-effect"),
      target: "",
      detail: both("cold", "sdk-effect-schema", "sdk-effect")
    }
  ]
}

/**
 * The cold-start section: the unbundled contenders against the raw SDK, the bare Effect program
 * and the floor; the bundled ones against the raw SDK bundled the same way.
 */
export const coldSection = (summary: Pick<Summary, "cold">): Array<string> => {
  const cold = coldGroup(summary.cold)
  const lines: Array<string> = []
  const cpuCell = (c: string) => seriesCell(cold.metrics.cpu?.[c], 0)
  lines.push(`### Cold start (import + first call, fresh process, ${summary.cold.runs.length} runs each)`)
  lines.push("")
  lines.push(table(
    [
      "contender",
      "import ms",
      "first call ms",
      "cold ms",
      "CPU ms",
      "× raw SDK",
      "× SDK in Effect",
      "× floor",
      "RSS MB"
    ],
    cold.contenders.filter((c) => !isBundled(c)).map((c) => [
      coldLabels[c] ?? c,
      seriesCell(cold.metrics.import?.[c], 0),
      seriesCell(cold.metrics.first?.[c], 0),
      seriesCell(cold.metrics.cold?.[c], 0),
      cpuCell(c),
      c === "sdk" ? "1×" : ratioCell(ratio(cold, "cold", c, "sdk")),
      c === "sdk-effect" ? "1×" : ratioCell(ratio(cold, "cold", c, "sdk-effect")),
      c === "floor" ? "1×" : ratioCell(ratio(cold, "cold", c, "floor")),
      seriesCell(cold.metrics.rss?.[c], 0)
    ])
  ))
  lines.push("")
  const bundled = cold.contenders.filter(isBundled)
  if (bundled.length > 0) {
    const defaults = [...new Set(summary.cold.runs.flatMap((run) => run["bundle-run"]?.defaultTransport ?? []))]
    lines.push(table(
      [
        "bundled (esbuild)",
        "bundle KB",
        "import ms",
        "first call ms",
        "cold ms",
        "CPU ms",
        "× raw SDK bundled",
        "RSS MB"
      ],
      bundled.map((c) => [
        (coldLabels[c] ?? c) + (c === "bundle-run" && defaults.length > 0 ? ` (${defaults.join(", ")})` : ""),
        fmt((summary.cold.bundleBytes?.[c] ?? Number.NaN) / 1024, 0),
        seriesCell(cold.metrics.import?.[c], 0),
        seriesCell(cold.metrics.first?.[c], 0),
        seriesCell(cold.metrics.cold?.[c], 0),
        cpuCell(c),
        c === "bundle-sdk" ? "1×" : ratioCell(ratio(cold, "cold", c, "bundle-sdk")),
        seriesCell(cold.metrics.rss?.[c], 0)
      ])
    ))
    lines.push("")
  }
  lines.push(
    "Cells: median of the runs (range). Timed from the program's first line (every import is dynamic; a bundle is " +
      "one dynamic import); Node's own boot before it, the same for all, is not included (median " +
      `${fmt(median(Object.values(cold.metrics.boot ?? {}).flatMap((s) => s.slices)), 0)} ms). CPU: the process's, ` +
      "all threads, from its first line to the reply (steadier than the wall clock on a shared machine). Bundles: " +
      "`esbuild --bundle --platform=node --format=esm` with a `createRequire` banner (bench/bundle.ts), one handler " +
      "making one call (bench/bundled/)."
  )
  lines.push("")
  return lines
}

/** `npm run bench -- --cold`: the cold-start section and its targets alone. */
export const renderCold = (summary: Pick<Summary, "cold">, heading: string): string =>
  [heading, "", ...coldSection(summary), "Targets (issue 16, cold start):", "", targetTable(issue16ColdRows(summary))]
    .join("\n")

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
      cpu: metric((r) => r.cpuMs ?? Number.NaN),
      rss: metric((r) => r.rssMb),
      boot: metric((r) => r.bootMs)
    },
    maxRssMb: {},
    slices: {}
  }
}

const atMost = (bound: number) => (v: number) => v <= bound
const atLeast = (bound: number) => (v: number) => v >= bound

/** Both pooled figures of a ratio's two sides, with their unit. */
const sides = (group: GroupSummary, metric: string, a: string, b: string, unit: string, digits?: number) => {
  const x = group.metrics[metric]?.[a]
  const y = group.metrics[metric]?.[b]
  return x === undefined || y === undefined
    ? ""
    : `${fmt(x.pooled, digits)} vs ${fmt(y.pooled, digits)} ${unit}`
}

/** The targets of issue 16: the default rows (`run-http`, `stream-run-http`) against the raw SDK, the floor and LangChain JS. */
const issue16 = (summary: Summary, inflight: GroupSummary): Array<string> => {
  const { unary, streams } = summary
  const seconds = (metric: string, a: string, b: string) => {
    const x = inflight.metrics[metric]?.[a]
    const y = inflight.metrics[metric]?.[b]
    return x === undefined || y === undefined ? "" : `${fmt(x.pooled / 1000, 2)} vs ${fmt(y.pooled / 1000, 2)} s`
  }
  const fixed = streams.metrics.fixed?.["stream-run-http"]
  const before = FIXED_CPU_BEFORE_US["stream-run-http"]!
  const rows: Array<TargetRow> = [
    {
      row: "default `run` p50 / raw SDK `send()`",
      measured: ratio(unary, "p50", "run-http", "sdk"),
      target: "≤ 0.6×",
      ok: atMost(0.6),
      detail: sides(unary, "p50", "run-http", "sdk", "ms", 3)
    },
    {
      row: "default `run` req/s @64 / raw SDK `send()`",
      measured: ratio(unary, "rps64", "run-http", "sdk"),
      target: "≥ 1.8×",
      ok: atLeast(1.8),
      detail: sides(unary, "rps64", "run-http", "sdk", "req/s", 0)
    },
    {
      row: "default `run` CPU/req @64 / floor",
      measured: ratio(unary, "cpu64", "run-http", "floor"),
      target: "≤ 1.6×",
      ok: atMost(1.6),
      detail: sides(unary, "cpu64", "run-http", "floor", "µs", 0)
    },
    {
      row: "1,000 one-second generations in flight, wall / floor's (first batch)",
      measured: ratio(inflight, "wall", "run-http", "floor"),
      target: "≤ 1.15×",
      ok: atMost(1.15),
      detail: seconds("wall", "run-http", "floor")
    },
    {
      row: "… the same batch again, warm",
      measured: ratio(inflight, "warm", "run-http", "floor"),
      target: "≤ 1.15×",
      ok: atMost(1.15),
      detail: seconds("warm", "run-http", "floor")
    },
    {
      row: "default `stream` TTFT p50 / raw SDK stream",
      measured: ratio(streams, "ttft", "stream-run-http", "stream-sdk"),
      target: "≤ 1.0×",
      ok: atMost(1),
      detail: sides(streams, "ttft", "stream-run-http", "stream-sdk", "ms", 3)
    },
    {
      row: "peak RSS at 1,000 in flight / raw SDK's (1,024 sockets)",
      measured: ratio(inflight, "rss", "run-http", "sdk-1024"),
      target: "≤ 1.2×",
      ok: atMost(1.2),
      detail: sides(inflight, "rss", "run-http", "sdk-1024", "MB", 0)
    },
    {
      row: "default `stream` marginal CPU/event / floor",
      measured: ratio(streams, "marginal", "stream-run-http", "stream-floor"),
      target: "≤ 1.2×",
      ok: atMost(1.2),
      detail: sides(streams, "marginal", "stream-run-http", "stream-floor", "µs", 1)
    },
    {
      row: `default \`stream\` fixed CPU per stream / before issue 16 (${fmt(before, 0)} µs)`,
      measured: constantRatio(fixed, before),
      target: "≤ 0.5×",
      ok: atMost(0.5),
      detail: fixed === undefined
        ? ""
        : `${fmt(fixed.pooled, 0)} µs now; floor ${
          fmt(streams.metrics.fixed?.["stream-floor"]?.pooled ?? Number.NaN, 0)
        } µs; the floor as an Effect Stream ${
          fmt(streams.metrics.fixed?.["stream-floor-effect"]?.pooled ?? Number.NaN, 0)
        } µs`
    },
    {
      row: "(for reference) default `stream` fixed CPU / the floor's stream as an Effect Stream",
      measured: ratio(streams, "fixed", "stream-run-http", "stream-floor-effect"),
      target: "–",
      detail: sides(streams, "fixed", "stream-run-http", "stream-floor-effect", "µs", 0)
    },
    ...issue16ColdRows(summary)
  ]
  const ahead = (
    row: string,
    group: GroupSummary,
    metric: string,
    ours: string,
    theirs: string,
    higherIsBetter: boolean
  ): TargetRow => ({
    row: `vs LangChain JS: ${row}`,
    measured: ratio(group, metric, ours, theirs),
    target: higherIsBetter ? "ahead (> 1×)" : "ahead (< 1×)",
    ok: higherIsBetter ? (v) => v > 1 : (v) => v < 1
  })
  rows.push(
    ahead("default `run` p50", unary, "p50", "run-http", "langchain", false),
    ahead("default `run` req/s @64", unary, "rps64", "run-http", "langchain", true),
    ahead("default `run` CPU/req @64", unary, "cpu64", "run-http", "langchain", false),
    ahead("1,000 in flight, wall (first batch)", inflight, "wall", "run-http", "langchain-1024", false),
    ahead("1,000 in flight, wall (warm)", inflight, "warm", "run-http", "langchain-1024", false),
    ahead("1,000 in flight, peak RSS", inflight, "rss", "run-http", "langchain-1024", false),
    ahead("default `stream` TTFT p50", streams, "ttft", "stream-run-http", "stream-langchain", false),
    ahead("default `stream` CPU/event @64", streams, "cpuEvent", "stream-run-http", "stream-langchain", false),
    ahead("default `stream` marginal CPU/event", streams, "marginal", "stream-run-http", "stream-langchain", false),
    ahead("default `stream` fixed CPU/stream", streams, "fixed", "stream-run-http", "stream-langchain", false)
  )
  return [
    "### Targets of issue 16 (the default rows, `transport: \"http\"`; medians of the per-round ratios)",
    "",
    targetTable(rows),
    "",
    "Ratios: per round (the 1,000-in-flight rows: per round of fresh processes), median (range); figures: pooled. " +
    `Fixed CPU per stream before issue 16: the http transport's in the run of 2026-11-27 (b3491ee); the sdk ` +
    `transport's was ${fmt(FIXED_CPU_BEFORE_US["stream-run"]!, 0)} µs. LangChain JS's 1,000-in-flight run gives ` +
    "its SDK client 1,024 sockets, as the raw SDK's does.",
    ""
  ]
}

/** Issue 13: `@effect/ai`'s `LanguageModel` through `SagemakerLanguageModel` against the generator, both on http. */
const issue13 = (summary: Summary): Array<string> => {
  const { unary, streams } = summary
  if (!unary.contenders.includes("lm") && !streams.contenders.includes("stream-lm")) return []
  const rows: Array<TargetRow> = [
    {
      row: "`generateText` CPU/call @64 / `SagemakerGenerator.run`",
      measured: ratio(unary, "cpu64", "lm", "run-http"),
      target: "≤ 1.10×",
      ok: atMost(1.1),
      detail: sides(unary, "cpu64", "lm", "run-http", "µs", 0)
    },
    {
      row: "`streamText` CPU/stream @64 / `SagemakerGenerator.stream`",
      measured: ratio(streams, "cpuEvent", "stream-lm", "stream-run-http"),
      target: "≤ 1.10×",
      ok: atMost(1.1),
      detail: (() => {
        const a = streams.metrics.cpuEvent?.["stream-lm"]
        const b = streams.metrics.cpuEvent?.["stream-run-http"]
        return a === undefined || b === undefined
          ? ""
          : `${fmt(a.pooled * STREAM_TOKENS, 0)} vs ${fmt(b.pooled * STREAM_TOKENS, 0)} µs`
      })()
    },
    {
      row: "`streamText` TTFT p50 / `SagemakerGenerator.stream`",
      measured: ratio(streams, "ttft", "stream-lm", "stream-run-http"),
      target: "≤ 1.10×",
      ok: atMost(1.1),
      detail: sides(streams, "ttft", "stream-lm", "stream-run-http", "ms", 3)
    },
    {
      row: "(for reference) `generateText` p50 / `run`",
      measured: ratio(unary, "p50", "lm", "run-http"),
      target: "–",
      detail: sides(unary, "p50", "lm", "run-http", "ms", 3)
    },
    {
      row: "(for reference) `streamText` TTFT p50 @64 / `stream`",
      measured: ratio(streams, "ttft64", "stream-lm", "stream-run-http"),
      target: "–",
      detail: sides(streams, "ttft64", "stream-lm", "stream-run-http", "ms", 1)
    },
    {
      row: "(for reference) `streamText` marginal CPU/event / `stream`",
      measured: ratio(streams, "marginal", "stream-lm", "stream-run-http"),
      target: "–",
      detail: sides(streams, "marginal", "stream-lm", "stream-run-http", "µs", 1)
    },
    {
      row: "(for reference) `streamText` fixed CPU/stream / `stream`",
      measured: ratio(streams, "fixed", "stream-lm", "stream-run-http"),
      target: "–",
      detail: sides(streams, "fixed", "stream-lm", "stream-run-http", "µs", 0)
    }
  ]
  const bytes = (events: ReadonlyArray<string>) => events.reduce((n, e) => n + Buffer.byteLength(e), 0)
  return [
    "### `@effect/ai` LanguageModel against the generator (issue 13; both on the http transport, medians of the per-round ratios)",
    "",
    targetTable(rows),
    "",
    "`LanguageModel.generateText`/`streamText` through `SagemakerLanguageModel` (the `openai` dialect) against the " +
    "bench server's chat endpoints, which answer as vLLM does: a chat completion " +
    `(${Buffer.byteLength(CHAT_RESPONSE)} bytes against TGI's ${Buffer.byteLength(UNARY_RESPONSE)}), and for ` +
    `streams ${STREAM_TOKENS} one-token chat-completion chunks between a role chunk and the finish, usage and ` +
    `\`[DONE]\` events (${chatEvents(STREAM_TOKENS).length} PayloadPart frames, ${bytes(chatEvents(STREAM_TOKENS))} ` +
    `bytes, against TGI's ${STREAM_TOKENS} frames, ${bytes(tgiEvents(STREAM_TOKENS))} bytes). CPU per stream: ` +
    `CPU per event × ${STREAM_TOKENS} (text deltas for the language model).`,
    ""
  ]
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
  lines.push(
    `Transports: ${meta.transport.note}; the library's \`defaultTransport\` at this commit: ` +
      `${meta.libraryDefaultTransport ?? "not recorded"}.` +
      (meta.peers === undefined || Object.keys(meta.peers).length === 0
        ? ""
        : ` Peers (bench/peers): ${Object.entries(meta.peers).map(([name, v]) => `${name} ${v}`).join(", ")}.`)
  )
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
  for (const reference of ["sdk", "sdk-cached", "floor", "langchain"]) {
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
      "fixed µs/stream",
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
      seriesCell(streams.metrics.fixed?.[c], 0),
      fmt(streams.maxRssMb[c] ?? Number.NaN, 0)
    ])
  ))
  lines.push("")
  lines.push(
    "TTFT: from the call to the first token's text in hand, one stream at a time (and at 64 streams in flight). " +
      "CPU µs/event: client CPU at 64 streams in flight / tokens received (the per-request work included). " +
      `Marginal: (CPU per ${STREAM_TOKENS}-token stream − CPU per ${SHORT_STREAM_TOKENS}-token stream) / ` +
      `${STREAM_TOKENS - SHORT_STREAM_TOKENS}, one event's own cost. Fixed: CPU per ${SHORT_STREAM_TOKENS}-token ` +
      `stream − ${SHORT_STREAM_TOKENS} × marginal, a stream's own cost beyond its events.`
  )
  lines.push("")
  for (const reference of ["stream-sdk", "stream-floor", "stream-langchain"]) {
    if (!streams.contenders.includes(reference)) continue
    lines.push(`Ratios to ${label(reference)}:`)
    lines.push("")
    lines.push(table(
      [
        "contender",
        "TTFT p50",
        "stream p50",
        "TTFT p50 @64",
        "events/s @64",
        "CPU/event @64",
        "marginal CPU/event",
        "fixed CPU/stream"
      ],
      streams.contenders.filter((c) => c !== reference).map((c) => [
        label(c),
        ...["ttft", "stream", "ttft64", "eps", "cpuEvent", "marginal", "fixed"].map((k) =>
          ratioCell(ratio(streams, k, c, reference))
        )
      ])
    ))
    lines.push("")
  }

  // Cold start
  const cold = coldGroup(summary.cold)
  lines.push(...coldSection(summary))

  // Concurrency
  const inflight = concurrencyGroup(summary.concurrency)
  const inflightRounds = Math.max(0, ...Object.values(inflight.metrics.wall ?? {}).map((s) => s.slices.length))
  const seconds = (s: Series | undefined): Series | undefined =>
    s === undefined ? undefined : { pooled: s.pooled / 1000, slices: s.slices.map((v) => v / 1000) }
  lines.push(
    `### ${meta.inflight} generations in flight, the endpoint taking ${meta.delayMs} ms each (${inflightRounds} ` +
      `round${inflightRounds === 1 ? "" : "s"}, a fresh process per contender and round)`
  )
  lines.push("")
  lines.push(table(
    [
      "contender",
      "requests",
      "wall s, first batch",
      "wall s, again (warm)",
      "errors",
      "client CPU ms",
      "peak RSS MB",
      "peak heap MB",
      "heap at rest MB"
    ],
    inflight.contenders.map((c) => {
      const runs = summary.concurrency.filter((r) => r.contender === c)
      return [
        concurrencyLabels[c] ?? c,
        String(runs[0]?.count ?? 0),
        seriesCell(seconds(inflight.metrics.wall?.[c]), 2),
        seriesCell(seconds(inflight.metrics.warm?.[c]), 2),
        String(runs.reduce((n, r) => n + r.errors, 0)),
        seriesCell(inflight.metrics.cpu?.[c], 0),
        seriesCell(inflight.metrics.rss?.[c], 0),
        seriesCell(inflight.metrics.heap?.[c], 0),
        seriesCell(inflight.metrics.heapBefore?.[c], 0)
      ]
    })
  ))
  lines.push("")
  lines.push(
    "Cells: median of the rounds (range). Client CPU covers setup and both batches. Peak RSS: the process's " +
      "(`resourceUsage().maxRSS`); heap: `heapUsed` sampled every 10 ms during the batches, and once before them. " +
      "Without a socket per request the batch waits for sockets: the default SDK client's 50 sockets serve 1,000 " +
      "one-second requests in 20 rounds."
  )
  lines.push("")
  if (inflight.contenders.includes("sdk-1024")) {
    lines.push("Ratios to raw SDK, maxSockets 1024 (per round):")
    lines.push("")
    lines.push(table(
      ["contender", "wall, first batch", "wall, warm", "client CPU", "peak RSS", "peak heap"],
      inflight.contenders.filter((c) => c !== "sdk-1024" && c !== "sdk-default").map((c) => [
        concurrencyLabels[c] ?? c,
        ...["wall", "warm", "cpu", "rss", "heap"].map((k) => ratioCell(ratio(inflight, k, c, "sdk-1024")))
      ])
    ))
    lines.push("")
  }

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
    lines.push(`- run, default (http) CPU/request / floor: n/a (${meta.transport.note})`)
    lines.push(
      `- stream, default (http) CPU/event / plain decoder: n/a; for reference stream (sdk) / plain decoder: ${
        ratioCell(ratio(streams, "cpuEvent", "stream-run", "stream-floor"))
      }`
    )
  } else {
    lines.push(
      target(
        "run, default (http) CPU/req @64 / floor",
        ratio(unary, "cpu64", "run-http", "floor"),
        (v) => v <= 1.5,
        "≤ 1.5×"
      )
    )
    lines.push(
      target(
        "stream, default (http) CPU/event @64 / plain decoder",
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
  // The medians of the rounds, as one run of each.
  const scenario = (name: string): ConcurrencyReport | undefined => {
    const first = summary.concurrency.find((r) => r.contender === name)
    const at = (k: string) => inflight.metrics[k]?.[name]?.pooled
    return first === undefined ? undefined : {
      ...first,
      wallMs: at("wall") ?? first.wallMs,
      warmWallMs: first.warmWallMs === undefined ? undefined : at("warm"),
      errors: summary.concurrency.filter((r) => r.contender === name).reduce((n, r) => n + r.errors, 0)
    }
  }
  const ours = scenario("run")
  if (ours !== undefined) {
    const wide = scenario("sdk-1024")
    const pooled = scenario("sdk-default")
    const floor = scenario("floor")
    const warm = ours.warmWallMs ?? ours.wallMs
    lines.push(
      `- ${ours.count} in flight × ${ours.delayMs} ms: run (sdk) took ${
        fmt(ours.wallMs / 1000, 2)
      } s (new sockets, cold ` +
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
  lines.push(...issue16(summary, inflight))
  lines.push(...issue13(summary))
  for (const check of summary.leanCheck) {
    if (
      (check.transport ?? (check.contender.endsWith("-http") ? "http" : undefined)) === "http" && check.sdkRequests > 0
    ) {
      lines.push(
        `Warning: ${check.contender} sent ${check.sdkRequests} of ${check.requests} requests with the SDK's ` +
          "`amz-sdk-invocation-id` header: the http transport option did not take effect.",
        ""
      )
    }
    if (check.transport === "sdk" && check.sdkRequests < check.requests) {
      lines.push(
        `Warning: ${check.contender} sent ${check.requests - check.sdkRequests} of ${check.requests} requests ` +
          "without the SDK's `amz-sdk-invocation-id` header: it is not on the sdk transport.",
        ""
      )
    }
    if (check.completed !== undefined && check.requests < check.completed) {
      lines.push(
        `Warning: ${check.contender} completed ${check.completed} calls in its warm-up with ${check.requests} ` +
          "requests to the server: something answered in its place (a cache).",
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
    "Rerun: `npm run bench` (about 5 minutes; `-- --quick` about 2; `-- --profile` for CPU profiles, " +
      "`-- --experiments` for the A/B variants, `-- --report` to re-render this from `bench/results/latest.json`)."
  )
  return lines.join("\n")
}
