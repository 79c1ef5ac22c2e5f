/**
 * `npm run bench`: the library against the raw AWS SDK and the physical floor, side by side in one
 * run, on loopback.
 *
 *   npm run bench                   # the benchmark (~5 minutes)
 *   npm run bench -- --quick        # a short one (~2 minutes)
 *   npm run bench -- --rounds 12    # more slices per phase (default 8, quick 3)
 *   npm run bench -- --report       # re-render the tables from bench/results/latest.json
 *   npm run bench -- --profile      # CPU profiles of run/stream and the raw SDK, summarized by package
 *                                   # (--contenders a,b: other contenders or experiment variants)
 *   npm run bench -- --experiments  # A/B variants isolating each cost the profiles found
 *   npm run bench -- --gap-timeout  # the stream timeout per pull: Stream.timeoutFail against gapTimeout
 *   npm run bench -- --batch        # 10,000 prompts at an endpoint of capacity 64: adaptive vs fixed
 *   npm run bench -- --cold         # the cold starts alone, unbundled and bundled (--cold-runs n)
 *
 * Steps: compile `src/` and `bench/` to `node_modules/.cache/effect-sagemaker-bench/` (plain node
 * runs them, as users run the published package: no loader hook); start the bench server in a
 * process of its own; start one worker process per contender, all at once, idle; then measure them
 * in short slices taken in turn (a round = one slice of each, the order rotated every round), so
 * that load from elsewhere on a shared machine falls on all contenders alike and every round
 * yields a ratio. Cold starts run in fresh processes, interleaved; then the 1,000-in-flight
 * scenario, in rounds of fresh processes. LangChain JS, the peer, comes from `bench/peers`
 * (`npm ci` there when it is not installed). Prints markdown and writes
 * `bench/results/latest.json` and `latest.md`.
 */
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type * as SagemakerClient from "../src/SagemakerClient.js"
import { build } from "./build.js"
import { bundledContenders, bundleHandlers, type BundleInfo } from "./bundle.js"
import type { ColdReport } from "./cold.js"
import type { ConcurrencyReport } from "./concurrency.js"
import {
  type PeerStreamContender,
  type PeerUnaryContender,
  type StreamContender,
  transportOf,
  type UnaryContender
} from "./names.js"
import type { ProfileReport } from "./profile.js"
import { type CpuProfile, type ProfileSummary, summarize } from "./profileSummary.js"
import {
  collect,
  fmt,
  type GroupSummary,
  type Meta,
  ratio,
  render,
  renderCold,
  type Series,
  streamMetrics,
  type Summary,
  table,
  unaryMetrics
} from "./report.js"
import { argValue, PEERS_DIR_ENV } from "./shared.js"
import type { AbortCheckResult, FinalReport, SliceRequest, SliceResult } from "./worker.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
/** Outside the linted tree: ESLint and tsc ignore node_modules. */
const out = join(root, "node_modules", ".cache", "effect-sagemaker-bench")
const resultsDir = join(root, "bench", "results")
/** The peers the bench compares against (LangChain JS), pinned in bench/peers/package.json. */
const peersDir = join(root, "bench", "peers")
const script = (name: string) => join(out, "bench", `${name}.js`)

const argv = process.argv.slice(2)
const quick = argv.includes("--quick")
const rounds = Number(argValue(argv, "--rounds") ?? (quick ? "3" : "8"))
const coldRuns = Number(argValue(argv, "--cold-runs") ?? (quick ? "2" : "5"))
const INFLIGHT = 1000
const DELAY_MS = 1000
/** Rounds of the 1,000-in-flight scenario: every contender once per round, in a fresh process. */
const concurrencyRounds = Number(argValue(argv, "--concurrency-rounds") ?? (quick ? "1" : "3"))
const sdkDefaultCount = quick ? 250 : INFLIGHT

const log = (line: string) => process.stderr.write(`${line}\n`)

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/** The children's environment: no AWS settings of the machine, no loader hooks. */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("AWS_") || key === "NODE_OPTIONS") continue
    env[key] = value
  }
  env.AWS_EC2_METADATA_DISABLED = "true"
  env[PEERS_DIR_ENV] = peersDir
  return env
}

const children = new Set<ChildProcess>()
const stopAll = () => {
  for (const child of children) child.kill("SIGKILL")
}
process.on("exit", stopAll)
process.on("SIGINT", () => {
  stopAll()
  process.exit(130)
})

/** Runs `node <file> ...args` and parses the last line of its output as JSON. Killed after `timeoutMs`. */
const runNode = <A>(file: string, args: ReadonlyArray<string>, timeoutMs: number) =>
  new Promise<A>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      const last = stdout.trim().split("\n").pop() ?? ""
      if (code === 0 && last.startsWith("{")) return resolvePromise(JSON.parse(last) as A)
      reject(new Error(`${file} ${args.join(" ")}: exit ${code ?? signal}\n${stderr.slice(-2000)}`))
    })
  })

const startServer = () =>
  new Promise<{ url: string; stop: () => void }>((resolvePromise, reject) => {
    const child = fork(script("server"), [], {
      execArgv: [],
      env: childEnv(),
      stdio: ["ignore", "ignore", "inherit", "ipc"]
    })
    children.add(child)
    const timer = setTimeout(() => reject(new Error("the bench server did not start")), 15_000)
    child.once("message", (message: { port: number }) => {
      clearTimeout(timer)
      resolvePromise({
        url: `http://127.0.0.1:${message.port}`,
        stop: () => {
          if (child.connected) child.disconnect()
          children.delete(child)
        }
      })
    })
    child.once("error", reject)
  })

const serverStats = async (url: string, reset: boolean) =>
  (await (await fetch(`${url}/__stats${reset ? "?reset=1" : ""}`)).json()) as {
    requests: number
    sdkRequests: number
  }

interface Worker {
  readonly contender: string
  readonly slice: (request: Omit<SliceRequest, "type">) => Promise<SliceResult>
  readonly abortCheck: () => Promise<number>
  readonly finish: () => Promise<FinalReport>
}

/** A contender's worker process, ready for slices. */
const startWorker = (contender: string, url: string, transport: string | undefined) =>
  new Promise<Worker>((resolvePromise, reject) => {
    const child = fork(
      script("worker"),
      ["--contender", contender, "--url", url, ...(transport === undefined ? [] : ["--transport", transport])],
      { execArgv: [], env: childEnv(), stdio: ["ignore", "ignore", "pipe", "ipc"] }
    )
    children.add(child)
    let stderr = ""
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    let pending: { resolve: (message: never) => void; reject: (error: Error) => void } | undefined
    const died = (why: string) => {
      const error = new Error(`${contender}: ${why}\n${stderr}`)
      pending?.reject(error)
      pending = undefined
      reject(error)
    }
    child.on("exit", (code, signal) => {
      children.delete(child)
      if (code !== 0 || pending !== undefined) died(`worker exited (${code ?? signal})`)
    })
    const ask = <A>(message: object, timeoutMs: number) =>
      new Promise<A>((resolveAsk, rejectAsk) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          rejectAsk(new Error(`${contender}: no answer in ${timeoutMs} ms`))
        }, timeoutMs)
        pending = {
          resolve: (answer: never) => {
            clearTimeout(timer)
            resolveAsk(answer)
          },
          reject: (error) => {
            clearTimeout(timer)
            rejectAsk(error)
          }
        }
        child.send(message)
      })
    child.on("message", (message: { type: string }) => {
      if (message.type === "ready") {
        resolvePromise({
          contender,
          slice: (request) => ask<SliceResult>({ type: "slice", ...request }, request.durationMs + 30_000),
          abortCheck: () => ask<AbortCheckResult>({ type: "abortCheck" }, 30_000).then((r) => r.ms),
          finish: () => ask<FinalReport>({ type: "finish" }, 30_000)
        })
        return
      }
      const waiting = pending
      pending = undefined
      waiting?.resolve(message as never)
    })
  })

// ---------------------------------------------------------------------------------------------
// Interleaved slices
// ---------------------------------------------------------------------------------------------

interface Phase {
  readonly name: string
  readonly workload: SliceRequest["workload"]
  readonly inflight: number
  readonly ms: number
}

interface GroupRun {
  readonly contenders: ReadonlyArray<string>
  readonly slices: Record<string, Record<string, Array<SliceResult>>>
  readonly maxRssMb: Record<string, number>
  readonly problems: Array<string>
  readonly workers: ReadonlyArray<Worker>
}

/**
 * Starts a worker per contender, then for each phase: a warm-up slice of each, and `count`
 * rounds of one slice of each, the order rotated every round. `during` runs before the workers
 * finish (for checks that need them).
 */
const runGroup = async (
  name: string,
  contenders: ReadonlyArray<string>,
  phases: ReadonlyArray<Phase>,
  count: number,
  url: string,
  transport: string | undefined,
  hooks: {
    readonly beforeWarmup?: (contender: string) => Promise<void>
    readonly afterWarmup?: (contender: string, warmup: SliceResult | undefined) => Promise<void>
    readonly during?: (workers: ReadonlyArray<Worker>) => Promise<void>
  } = {}
): Promise<GroupRun> => {
  const problems: Array<string> = []
  const started = await Promise.allSettled(contenders.map((c) => startWorker(c, url, transport)))
  let workers: Array<Worker> = []
  started.forEach((result, i) => {
    if (result.status === "fulfilled") workers.push(result.value)
    else problems.push(`${contenders[i]}: ${String(result.reason)}`)
  })
  const slices: Record<string, Record<string, Array<SliceResult>>> = {}
  const attempt = async (worker: Worker, request: Omit<SliceRequest, "type">) => {
    try {
      const result = await worker.slice(request)
      if (result.errors > 0 && result.completed === 0) throw new Error(result.firstError ?? "every call failed")
      if (result.errors > 0) problems.push(`${worker.contender}: ${result.errors} errors: ${result.firstError}`)
      return result
    } catch (error) {
      problems.push(`${worker.contender}: ${String(error)}`)
      log(`  ${worker.contender} FAILED: ${String(error).split("\n")[0]}`)
      workers = workers.filter((w) => w !== worker)
      return undefined
    }
  }
  for (const phase of phases) {
    const request = { workload: phase.workload, inflight: phase.inflight, durationMs: phase.ms }
    log(`${name}: ${phase.name} (${phase.inflight} in flight), warm-up then ${count} rounds of ${phase.ms} ms slices`)
    for (const worker of [...workers]) {
      await hooks.beforeWarmup?.(worker.contender)
      const warmup = await attempt(worker, { ...request, durationMs: 400 })
      await hooks.afterWarmup?.(worker.contender, warmup)
    }
    for (let round = 0; round < count; round++) {
      const order = workers.map((_, i) => workers[(i + round) % workers.length]!)
      for (const worker of order) {
        const result = await attempt(worker, request)
        if (result !== undefined) ((slices[worker.contender] ??= {})[phase.name] ??= []).push(result)
      }
    }
  }
  await hooks.during?.(workers)
  const maxRssMb: Record<string, number> = {}
  for (const worker of workers) {
    try {
      maxRssMb[worker.contender] = (await worker.finish()).maxRssMb
    } catch (error) {
      problems.push(`${worker.contender}: ${String(error)}`)
    }
  }
  return { contenders: contenders.filter((c) => slices[c] !== undefined), slices, maxRssMb, problems, workers }
}

const groupSummary = (
  run: GroupRun,
  phases: ReadonlyArray<Phase>,
  count: number,
  metrics: typeof unaryMetrics
): GroupSummary => ({
  contenders: run.contenders,
  metrics: collect(run.contenders, run.slices, metrics),
  maxRssMb: run.maxRssMb,
  slices: Object.fromEntries(phases.map((p) => [p.name, { count, ms: p.ms, inflight: p.inflight }]))
})

// ---------------------------------------------------------------------------------------------
// Transports and peers
// ---------------------------------------------------------------------------------------------

/**
 * The default rows' transport (typed, so a renamed option fails the typecheck). Each contender
 * names its own (`transportOf` in names.ts); `--transport` still reaches the cold-start probe.
 */
const defaultRowsTransport: SagemakerClient.Transport = "http"
/** As the report records it. */
const transport = {
  value: defaultRowsTransport,
  note: `the default rows pass \`transport: "${defaultRowsTransport}"\`, the sdk rows \`transport: "sdk"\`, ` +
    "each explicitly"
} as const

/** The library's own `defaultTransport` at this commit, from the compiled module (for the report only). */
const libraryDefaultTransport = async (): Promise<string> => {
  try {
    const module = (await import(pathToFileURL(join(out, "src", "SagemakerClient.js")).href)) as {
      readonly defaultTransport?: string
    }
    return module.defaultTransport ?? "unknown"
  } catch {
    return "unknown"
  }
}

/**
 * LangChain JS and its peers, installed from bench/peers/package-lock.json when bench/peers has no
 * node_modules (the library's own dependencies stay lean). Returns the problem, if any.
 */
const ensurePeers = (): string | undefined => {
  if (existsSync(join(peersDir, "node_modules", "@langchain", "community", "package.json"))) return undefined
  log("installing the peers: npm ci --prefix bench/peers")
  const result = spawnSync(
    process.platform === "win32" ? "npm.cmd" : "npm",
    ["ci", "--prefix", peersDir, "--no-audit", "--no-fund", "--legacy-peer-deps"],
    { stdio: ["ignore", 2, 2], timeout: 300_000 }
  )
  return result.status === 0
    ? undefined
    : `npm ci --prefix bench/peers failed (${result.error?.message ?? result.signal ?? `exit ${result.status}`})`
}

/** The peers' pinned versions, as installed. */
const peerVersions = (): Record<string, string> => {
  const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>
  const pinned = (read(join(peersDir, "package.json")).dependencies ?? {}) as Record<string, string>
  return Object.fromEntries(
    Object.keys(pinned).map((name) => {
      const file = join(peersDir, "node_modules", name, "package.json")
      return [name, existsSync(file) ? String(read(file).version) : `${pinned[name]} (not installed)`]
    })
  )
}

const git = (): string => {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "src"], { cwd: root }).toString().trim() !== ""
    return `${head}${dirty ? " + uncommitted src/ changes" : ""}`
  } catch {
    return "unknown commit"
  }
}

const machine = () => ({
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100)
})

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

const unaryPhases: ReadonlyArray<Phase> = [
  { name: "serial", workload: "unary", inflight: 1, ms: 250 },
  { name: "c64", workload: "unary", inflight: 64, ms: 300 },
  { name: "c512", workload: "unary", inflight: 512, ms: 300 }
]
const streamPhases: ReadonlyArray<Phase> = [
  { name: "serial", workload: "long", inflight: 1, ms: 250 },
  { name: "c64", workload: "long", inflight: 64, ms: 300 },
  { name: "short", workload: "short", inflight: 64, ms: 250 }
]

const bench = async () => {
  const startedAt = new Date()
  const machineBefore = machine()
  const commit = git()
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  const bundles = await bundleColdHandlers()
  const libraryDefault = await libraryDefaultTransport()
  log(`transports: ${transport.note}; the library's defaultTransport: ${libraryDefault}`)
  const problems: Array<string> = []
  const peersProblem = ensurePeers()
  if (peersProblem !== undefined) problems.push(`LangChain JS rows left out: ${peersProblem}`)
  const langchain = peersProblem === undefined
  const server = await startServer()
  log(`bench server at ${server.url}`)
  const unary: Array<UnaryContender | PeerUnaryContender> = [
    "floor",
    "sdk",
    "sdk-cached",
    "run",
    "run-http",
    ...(langchain ? ["langchain" as const] : []),
    "lm"
  ]
  const streams: Array<StreamContender | PeerStreamContender> = [
    "stream-floor",
    "stream-floor-effect",
    "stream-sdk",
    "stream-run",
    "stream-run-http",
    ...(langchain ? ["stream-langchain" as const] : []),
    "stream-lm"
  ]
  const leanCheck: Array<Summary["leanCheck"][number]> = []
  // Which transport carried a contender's warm-up (the SDK sends `amz-sdk-invocation-id`), and
  // whether every call reached the server (no cache answered in its place).
  const hooks = {
    beforeWarmup: async () => {
      await serverStats(server.url, true)
    },
    afterWarmup: async (contender: string, warmup: SliceResult | undefined) => {
      if (leanCheck.some((c) => c.contender === contender)) return
      leanCheck.push({
        contender,
        transport: transportOf[contender],
        completed: warmup?.completed,
        ...(await serverStats(server.url, false))
      })
    }
  }

  const unaryRun = await runGroup("unary", unary, unaryPhases, rounds, server.url, transport.value, hooks)
  problems.push(...unaryRun.problems)
  const streamRun = await runGroup("streams", streams, streamPhases, rounds, server.url, transport.value, hooks)
  problems.push(...streamRun.problems)

  const coldSummary = await coldStarts(server.url, bundles, problems)

  // The LLM scenario: 1,000 slow generations at once, each contender in a fresh process, in
  // rounds (the order rotated) so that its ratios are per round like the others.
  const concurrency: Array<ConcurrencyReport> = []
  const scenario = ["floor", "run-http", "run", "sdk-1024", ...(langchain ? ["langchain-1024"] : [])]
  const runScenario = async (contender: string, count: number, round: number) => {
    log(`${count} in flight, ${DELAY_MS} ms each: ${contender} (round ${round + 1})`)
    try {
      concurrency.push(
        await runNode<ConcurrencyReport>(script("concurrency"), [
          "--contender",
          contender,
          "--url",
          server.url,
          "--count",
          String(count),
          "--delay",
          String(DELAY_MS),
          "--round",
          String(round),
          // 20 s for one batch through 50 sockets is enough to make the point.
          ...(contender === "sdk-default" ? ["--once"] : [])
        ], 90_000)
      )
    } catch (error) {
      problems.push(`concurrency ${contender}: ${String(error)}`)
    }
  }
  for (let round = 0; round < concurrencyRounds; round++) {
    for (let i = 0; i < scenario.length; i++) {
      await runScenario(scenario[(i + round) % scenario.length]!, INFLIGHT, round)
    }
  }
  await runScenario("sdk-default", sdkDefaultCount, 0)
  server.stop()

  const meta: Meta = {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: machineBefore,
    loadAverageAfter: machine().loadAverage,
    git: commit,
    quick,
    transport,
    libraryDefaultTransport: libraryDefault,
    peers: langchain ? peerVersions() : {},
    inflight: INFLIGHT,
    delayMs: DELAY_MS
  }
  const summary: Summary = {
    meta,
    unary: groupSummary(unaryRun, unaryPhases, rounds, unaryMetrics),
    streams: groupSummary(streamRun, streamPhases, rounds, streamMetrics),
    cold: coldSummary,
    concurrency,
    problems,
    leanCheck
  }
  const markdown = render(summary)
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join(resultsDir, "latest.md"), `${markdown}\n`)
  process.stdout.write(`${markdown}\n`)
  log(`\nwritten: bench/results/latest.json, bench/results/latest.md (${meta.seconds} s)`)
}

/** `--report`: the markdown again, from the JSON of the last run. */
const reportOnly = () => {
  const file = join(resultsDir, "latest.json")
  if (!existsSync(file)) throw new Error("no bench/results/latest.json: run `npm run bench` first")
  process.stdout.write(`${render(JSON.parse(readFileSync(file, "utf8")) as Summary)}\n`)
  return Promise.resolve()
}

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

const profiles = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  const server = await startServer()
  const dir = join(resultsDir, "profiles")
  mkdirSync(dir, { recursive: true })
  const seconds = quick ? "2" : "4"
  const contenders = argValue(argv, "--contenders")?.split(",") ?? [
    "sdk-cached",
    "run",
    "run-http",
    "stream-sdk",
    "stream-run",
    "stream-run-http"
  ]
  const summaries: Array<{ contender: string; report: ProfileReport; summary: ProfileSummary }> = []
  for (const contender of contenders) {
    log(`profiling ${contender} (${seconds} s at 64 in flight)`)
    const file = join(dir, `${contender}.cpuprofile`)
    const report = await runNode<ProfileReport>(script("profile"), [
      "--contender",
      contender,
      "--url",
      server.url,
      "--out",
      file,
      "--seconds",
      seconds,
      "--transport",
      transport.value
    ], 60_000)
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
    summaries.push({ contender, report, summary: summarize(profile, report.units, 25) })
  }
  server.stop()

  const lines: Array<string> = []
  lines.push(`## CPU profiles at 64 in flight (${new Date().toISOString().slice(0, 16)} UTC, ${git()})`)
  lines.push("")
  lines.push(
    "V8 sampling profiler (100 µs) over the steady state of one process per contender. Native frames " +
      "(`JSON.parse`, `TextDecoder`, …) are charged to their caller's package. µs per request (unary) or per " +
      "event (streams, 100 events each); the sampled total is below the process CPU (other threads, sampling)."
  )
  lines.push("")
  const streaming = (s: { readonly report: ProfileReport }) => s.report.units !== s.report.completed
  for (const wantStreams of [false, true]) {
    const present = summaries.filter((s) => streaming(s) === wantStreams)
    if (present.length === 0) continue
    const unit = wantStreams ? "event" : "request"
    const categories = [...new Set(present.flatMap((s) => s.summary.categories.map((c) => c.category)))]
    const value = (s: (typeof present)[number], category: string) =>
      s.summary.categories.find((c) => c.category === category)?.usPerUnit ?? 0
    categories.sort((a, b) =>
      Math.max(...present.map((s) => value(s, b))) - Math.max(...present.map((s) => value(s, a)))
    )
    lines.push(`### Busy µs per ${unit}, by package`)
    lines.push("")
    lines.push(table(
      ["package", ...present.map((s) => `${s.contender} µs/${unit}`)],
      [
        ...categories.filter((category) => present.some((s) => value(s, category) >= 0.05)).map((category) => [
          category,
          ...present.map((s) => fmt(value(s, category)))
        ]),
        ["**total (sampled)**", ...present.map((s) => `**${fmt(s.summary.busyUs / s.summary.units)}**`)],
        ["process CPU (cpuUsage)", ...present.map((s) => fmt(s.report.cpuUs / s.report.units))],
        [`${unit}s profiled`, ...present.map((s) => String(s.report.units))]
      ]
    ))
    lines.push("")
  }
  const detailed = argValue(argv, "--contenders") === undefined
    ? summaries.filter((s) => s.contender.includes("run"))
    : summaries
  for (const { contender, summary } of detailed) {
    lines.push(`### ${contender}: top functions by self time`)
    lines.push("")
    lines.push(table(
      ["function", "package", "µs/unit", "share"],
      summary.topSelf.map((f) => [`\`${f.name}\``, f.category, fmt(f.usPerUnit), `${fmt(f.share * 100, 1)}%`])
    ))
    lines.push("")
    lines.push(`### ${contender}: top functions of the largest packages`)
    lines.push("")
    lines.push(table(
      ["package", "function", "µs/unit"],
      summary.categories.slice(0, 8).flatMap((c) =>
        (summary.topByCategory[c.category] ?? []).slice(0, 5).map((
          f
        ) => [c.category, `\`${f.name}\``, fmt(f.usPerUnit)])
      )
    ))
    lines.push("")
    lines.push(`### ${contender}: our functions by inclusive time (with what they call)`)
    lines.push("")
    lines.push(table(
      ["function", "µs/unit", "share"],
      summary.topInclusive.map((f) => [`\`${f.name}\``, fmt(f.usPerUnit), `${fmt(f.share * 100, 1)}%`])
    ))
    lines.push("")
  }
  lines.push(`Raw profiles: bench/results/profiles/*.cpuprofile (git-ignored; open in Chrome DevTools or speedscope).`)
  const markdown = lines.join("\n")
  writeFileSync(join(resultsDir, "profile.md"), `${markdown}\n`)
  writeFileSync(
    join(resultsDir, "profile.json"),
    `${JSON.stringify(summaries.map(({ contender, report, summary }) => ({ contender, report, summary })), null, 2)}\n`
  )
  process.stdout.write(`${markdown}\n`)
  log("\nwritten: bench/results/profile.md, bench/results/profile.json")
}

// ---------------------------------------------------------------------------------------------
// Experiments
// ---------------------------------------------------------------------------------------------

const unaryVariantLabels: Record<string, string> = {
  "sdk-cached": "raw SDK, cacheMiddleware, `send(command)`",
  "sdk-cached-signal": "the same, `send(command, { abortSignal })`, as SagemakerClient called it before",
  "sdk-cached-abortable": "`send(command)` + the signal handed over by a middleware (as SagemakerClient sends now)",
  "sdk-cached-1024": "raw SDK, cacheMiddleware, 1,024 sockets",
  "effect-send": "`Effect.tryPromise`(that send) + `runPromise`",
  "effect-send-span": "… + `Effect.withSpan`",
  "effect-send-span-nostack": "… + `Effect.withSpan({ captureStackTrace: false })`",
  run: "SagemakerGenerator.run (sdk)"
}
const streamVariantLabels: Record<string, string> = {
  "stream-floor": "floor: node:http + SigV4 + EventStreamCodec, token lines parsed",
  "stream-sdk": "raw SDK, `for await`, token lines parsed",
  "client-parts": "SagemakerClient parts (`fromAbortableIterable`), not decoded",
  "client-parts-push": "proposed source: `for await` → `Stream.asyncPush`, not decoded",
  "client-flatmap": "SagemakerClient parts → decoder, `Stream.flatMap` per part (before the fix)",
  "client-channel": "SagemakerClient parts → decoder in one channel (as `stream` does now)",
  "client-channel-span": "… + `Stream.tapError` + `Stream.withSpan`, as `stream` wraps it",
  "push-channel": "`asyncPush` source + channel decoder (both proposals)",
  "stream-run": "SagemakerGenerator.stream (sdk)",
  "lean-parts": "lean transport parts (a chunk per socket read), not decoded",
  "lean-channel-span": "lean parts → decoder in one channel + `tapError` + `withSpan` (proposed)",
  "stream-run-http": "SagemakerGenerator.stream (http)"
}

const experiments = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  const server = await startServer()
  const count = Number(argValue(argv, "--rounds") ?? (quick ? "3" : "6"))
  const unitCpu = (slices: Record<string, ReadonlyArray<SliceResult>>): Record<string, Series | undefined> => {
    const c64 = slices.c64
    if (c64 === undefined || c64.length === 0) return {}
    const cpu = (all: ReadonlyArray<SliceResult>) =>
      all.reduce((n, s) => n + s.cpuUs, 0) / all.reduce((n, s) => n + s.units, 0)
    const rate = (all: ReadonlyArray<SliceResult>) =>
      all.reduce((n, s) => n + s.completed, 0) / (all.reduce((n, s) => n + s.elapsedMs, 0) / 1000)
    return {
      cpu: { pooled: cpu(c64), slices: c64.map((s) => cpu([s])) },
      rate: { pooled: rate(c64), slices: c64.map((s) => rate([s])) }
    }
  }
  const phases: ReadonlyArray<Phase> = [{ name: "c64", workload: "unary", inflight: 64, ms: 400 }]
  const sections: Array<string> = []
  let abortMs = Number.NaN
  const problems: Array<string> = []
  for (
    const [labels, reference, unit] of [
      [unaryVariantLabels, "sdk-cached", "request"],
      [streamVariantLabels, "stream-sdk", "event"]
    ] as const
  ) {
    const run = await runGroup(`experiments (${unit})`, Object.keys(labels), phases, count, server.url, undefined, {
      during: async (workers) => {
        const worker = workers.find((w) => w.contender === "sdk-cached-abortable")
        if (worker !== undefined) abortMs = await worker.abortCheck()
      }
    })
    problems.push(...run.problems)
    const group = groupSummary(run, phases, count, unitCpu)
    sections.push(table(
      ["variant", `CPU µs/${unit} @64`, `× ${reference}`, `${unit === "request" ? "req" : "streams"}/s`],
      group.contenders.map((variant) => {
        const cpu = group.metrics.cpu?.[variant]
        const r = ratio(group, "cpu", variant, reference)
        return [
          `${labels[variant as keyof typeof labels]} (\`${variant}\`)`,
          cpu === undefined
            ? "–"
            : `${fmt(cpu.pooled)} (${fmt(Math.min(...cpu.slices))}–${fmt(Math.max(...cpu.slices))})`,
          r === undefined ? "–" : `${fmt(r.median, 2)}× (${fmt(r.min, 2)}–${fmt(r.max, 2)})`,
          fmt(group.metrics.rate?.[variant]?.pooled ?? Number.NaN, 0)
        ]
      })
    ))
  }
  server.stop()
  const lines = [
    `## Experiments (${new Date().toISOString().slice(0, 16)} UTC, ${git()})`,
    "",
    `Each variant in its own process, ${count} rounds of 400 ms slices at 64 in flight, taken in turn. CPU: pooled ` +
    `(range of the slices); ratio: per round, median (range).`,
    "",
    sections[0] ?? "",
    "",
    `Abort check of the SDK fix: a call to an endpoint answering after 2 s, aborted after 50 ms, rejected ` +
    `after ${fmt(abortMs, 0)} ms.`,
    "",
    sections[1] ?? "",
    ...(problems.length === 0 ? [] : ["", "Problems:", ...problems.map((p) => `- ${p.split("\n")[0]}`)])
  ]
  const markdown = lines.join("\n")
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, "experiments.md"), `${markdown}\n`)
  process.stdout.write(`${markdown}\n`)
  log("\nwritten: bench/results/experiments.md")
}

/** `--gap-timeout`: the in-memory microbench of the stream timeout, in plain node. */
const gapTimeoutBench = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  execFileSync(process.execPath, [join(out, "bench", "gapTimeout.js")], { stdio: "inherit" })
}

/** `--batch`: adaptive concurrency against fixed, at an endpoint of limited capacity (bench/batch.ts). */
const batchBench = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  const server = await startServer()
  try {
    execFileSync(process.execPath, [script("batch"), "--url", server.url, ...argv.filter((a) => a !== "--batch")], {
      stdio: "inherit"
    })
  } finally {
    server.stop()
  }
}

/** `--lm-floor`: the language model's CPU per call in memory, against @effect/ai's own (bench/languageModelFloor.ts). */
const lmFloorBench = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  execFileSync(process.execPath, [script("languageModelFloor"), ...argv.filter((a) => a !== "--lm-floor")], {
    stdio: ["ignore", "ignore", "inherit"]
  })
}

/** `--stream-floor`: the fixed CPU of one stream call in memory, against a bare Stream's (bench/streamFloor.ts). */
const streamFloorBench = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  execFileSync(process.execPath, [script("streamFloor"), ...argv.filter((a) => a !== "--stream-floor")], {
    stdio: ["ignore", "ignore", "inherit"]
  })
}

/** `--async`: 1,000 async requests through the emulator's queue and S3 (bench/async.ts). */
const asyncBench = async () => {
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  execFileSync(process.execPath, [script("async"), ...argv.filter((a) => a !== "--async")], {
    stdio: ["ignore", "ignore", "inherit"]
  })
}

// ---------------------------------------------------------------------------------------------
// Cold starts
// ---------------------------------------------------------------------------------------------

/** The bundled contenders' handlers, bundled by esbuild into the cache directory (bench/bundle.ts). */
const bundleColdHandlers = async (): Promise<Record<string, BundleInfo>> => {
  const bundles = await bundleHandlers(root, out)
  log(`bundled: ${Object.entries(bundles).map(([name, b]) => `${name} ${fmt(b.bytes / 1024, 0)} KB`).join(", ")}`)
  return bundles
}

/** Unbundled, then bundled; the targets of issue 16 compare `run-http` and `bundle-run`. */
const coldContenders = [
  "floor",
  "sdk",
  "sdk-effect",
  "sdk-effect-schema",
  "run",
  "run-module",
  "run-http",
  ...Object.keys(bundledContenders)
]

/** Import plus first call, each in a fresh process, every contender once per run, the order rotated. */
const coldStarts = async (
  url: string,
  bundles: Record<string, BundleInfo>,
  problems: Array<string>
): Promise<Summary["cold"]> => {
  const runs: Array<Record<string, ColdReport>> = []
  const args = (contender: string): Array<string> => {
    const bundled = bundledContenders[contender]
    if (bundled === undefined) return ["--transport", transport.value]
    return [
      "--bundle",
      bundles[bundled.handler]!.file,
      ...(bundled.transport === undefined ? [] : ["--transport", bundled.transport])
    ]
  }
  for (let run = 0; run < coldRuns; run++) {
    log(`cold start ${run + 1}/${coldRuns}`)
    const results: Record<string, ColdReport> = {}
    for (let i = 0; i < coldContenders.length; i++) {
      const contender = coldContenders[(i + run) % coldContenders.length]!
      try {
        results[contender] = await runNode<ColdReport>(
          script("cold"),
          ["--contender", contender, "--url", url, ...args(contender)],
          30_000
        )
      } catch (error) {
        problems.push(`cold ${contender}: ${String(error)}`)
      }
    }
    runs.push(results)
  }
  const bundleBytes = Object.fromEntries(
    Object.entries(bundledContenders).map(([contender, b]) => [contender, bundles[b.handler]!.bytes])
  )
  return { contenders: coldContenders, runs, bundleBytes }
}

/** `--cold`: the cold starts alone (unbundled and bundled), into bench/results/cold.md and cold.json. */
const coldBench = async () => {
  const startedAt = new Date()
  const machineBefore = machine()
  log(`compiling src/ and bench/ ... ${build(root, out)} files`)
  const bundles = await bundleColdHandlers()
  const server = await startServer()
  const problems: Array<string> = []
  let cold: Summary["cold"]
  try {
    cold = await coldStarts(server.url, bundles, problems)
  } finally {
    server.stop()
  }
  const m = machineBefore
  const heading = `## Cold start (${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, ${git()})\n\n` +
    `Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}; load average ${m.loadAverage.join(" ")} before and ` +
    `${
      machine().loadAverage.join(" ")
    } after. \`npm run bench -- --cold\` (${coldRuns} runs; \`--cold-runs <n>\` for more).`
  const markdown = renderCold({ cold }, heading) +
    (problems.length === 0
      ? ""
      : `\n\nProblems:\n${problems.map((p) => `- ${p.split("\n").slice(0, 4).join(" / ")}`).join("\n")}`)
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(
    join(resultsDir, "cold.json"),
    `${JSON.stringify({ startedAt, machine: m, cold, problems }, null, 2)}\n`
  )
  writeFileSync(join(resultsDir, "cold.md"), `${markdown}\n`)
  process.stdout.write(`${markdown}\n`)
  log("\nwritten: bench/results/cold.md, bench/results/cold.json")
  if (problems.length > 0) throw new Error(`${problems.length} cold-start runs failed`)
}

const mode = argv.includes("--profile")
  ? profiles
  : argv.includes("--experiments")
  ? experiments
  : argv.includes("--report")
  ? reportOnly
  : argv.includes("--gap-timeout")
  ? gapTimeoutBench
  : argv.includes("--batch")
  ? batchBench
  : argv.includes("--async")
  ? asyncBench
  : argv.includes("--lm-floor")
  ? lmFloorBench
  : argv.includes("--stream-floor")
  ? streamFloorBench
  : argv.includes("--cold")
  ? coldBench
  : bench
mode().then(
  () => process.exit(0),
  (error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error))
    stopAll()
    process.exit(1)
  }
)
