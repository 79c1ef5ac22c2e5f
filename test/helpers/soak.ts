/**
 * A bounded soak: many `run` and `stream` calls at high concurrency against one emulator whose
 * endpoints each carry a fault (or none), a seeded PRNG choosing the endpoint of every call. It
 * stops by itself (a call count and a time limit) and reports what every call ended with, the
 * requests the emulator saw, memory and sockets before and after. Used by `test/soak.test.ts`
 * (short) and `test/reliability/soak.ts` (`npm run soak`, long).
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as SagemakerEmulator from "../../src/emulator/SagemakerEmulator.js"
import { isSagemakerError } from "../../src/SagemakerError.js"
import * as SagemakerGenerator from "../../src/SagemakerGenerator.js"
import * as Secret from "../../src/Secret.js"
import { activeResources, type ResourceCounts, settle } from "./resources.js"
import type { TransportVariant } from "./transports.js"

/** One kind of call of the mix: an endpoint with its fault, the operation, what it may end with. */
export interface SoakEndpoint {
  readonly name: string
  readonly weight: number
  readonly operation: "run" | "stream"
  readonly endpoint: SagemakerEmulator.EndpointOptions
  readonly generator?: Partial<SagemakerGenerator.Options>
  /** Outcomes allowed (`reply` or an error tag). */
  readonly expect: ReadonlyArray<string>
}

const fault = (f: SagemakerEmulator.Fault): SagemakerEmulator.EndpointOptions => ({ faults: f })
const TIMEOUT = { timeout: "100 millis" } as const

/** The mix: about 60% of calls go to healthy endpoints, 40% meet a fault. */
export const mix: ReadonlyArray<SoakEndpoint> = [
  { name: "ok-tgi", weight: 28, operation: "run", endpoint: { personality: "tgi" }, expect: ["reply"] },
  { name: "ok-lmi", weight: 12, operation: "run", endpoint: { personality: "lmi" }, expect: ["reply"] },
  { name: "ok-stream", weight: 20, operation: "stream", endpoint: { personality: "tgi" }, expect: ["reply"] },
  {
    name: "flaky",
    weight: 4,
    operation: "run",
    endpoint: fault({ kind: "not-ready", count: 30 }),
    expect: ["reply", "SagemakerNotReadyError"]
  },
  {
    name: "not-ready",
    weight: 4,
    operation: "run",
    endpoint: fault({ kind: "not-ready" }),
    expect: ["SagemakerNotReadyError"]
  },
  {
    name: "throttle",
    weight: 4,
    operation: "run",
    endpoint: fault({ kind: "throttle" }),
    expect: ["SagemakerThrottlingError"]
  },
  {
    name: "model-error",
    weight: 4,
    operation: "run",
    endpoint: fault({ kind: "model-error" }),
    expect: ["SagemakerInferenceError"]
  },
  {
    name: "internal-failure",
    weight: 3,
    operation: "run",
    endpoint: fault({ kind: "internal-failure" }),
    expect: ["SagemakerInferenceError"]
  },
  {
    name: "html-500",
    weight: 2,
    operation: "run",
    endpoint: fault({ kind: "html-500" }),
    expect: ["SagemakerInferenceError"]
  },
  {
    name: "reset",
    weight: 3,
    operation: "run",
    endpoint: fault({ kind: "reset" }),
    expect: ["SagemakerInferenceError"]
  },
  {
    name: "malformed",
    weight: 3,
    operation: "run",
    endpoint: fault({ kind: "malformed" }),
    expect: ["SagemakerResponseError"]
  },
  {
    name: "slow",
    weight: 2,
    operation: "run",
    endpoint: fault({ kind: "latency", millis: 1_000 }),
    generator: TIMEOUT,
    expect: ["SagemakerTimeoutError"]
  },
  {
    name: "stream-error",
    weight: 4,
    operation: "stream",
    endpoint: fault({ kind: "stream-error", afterParts: 2 }),
    expect: ["SagemakerStreamError"]
  },
  {
    name: "stream-truncate",
    weight: 3,
    operation: "stream",
    endpoint: fault({ kind: "truncate" }),
    expect: ["SagemakerStreamError"]
  },
  {
    name: "stream-reset",
    weight: 2,
    operation: "stream",
    endpoint: fault({ kind: "reset", afterParts: 1 }),
    expect: ["SagemakerStreamError"]
  },
  {
    name: "stream-stall",
    weight: 2,
    operation: "stream",
    endpoint: fault({ kind: "stall", afterParts: 1 }),
    generator: TIMEOUT,
    expect: ["SagemakerTimeoutError"]
  }
]

/** mulberry32: a small seeded PRNG, so that a soak's call sequence can be replayed. */
export const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` endpoints of `endpoints`, drawn by weight. */
export const draw = (endpoints: ReadonlyArray<SoakEndpoint>, count: number, seed: number): Array<SoakEndpoint> => {
  const random = prng(seed)
  const total = endpoints.reduce((n, e) => n + e.weight, 0)
  return Array.from({ length: count }, () => {
    let x = random() * total
    for (const e of endpoints) {
      x -= e.weight
      if (x < 0) return e
    }
    return endpoints[endpoints.length - 1]!
  })
}

/** A forced garbage collection (V8's `gc`, exposed at run time), so that heap figures mean something. */
const gc: () => void = (() => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

export interface Memory {
  readonly rss: number
  readonly heapUsed: number
  /** What V8 holds for its heap (part of the RSS), used or not. */
  readonly heapTotal: number
  /** Memory of C++ objects bound to JavaScript ones (buffers, sockets). */
  readonly external: number
}

const memory = (): Memory => {
  gc()
  const { external, heapTotal, heapUsed, rss } = process.memoryUsage()
  return { rss, heapUsed, heapTotal, external }
}

export interface SoakOptions {
  readonly calls: number
  readonly concurrency: number
  readonly seed: number
  /** Calls not started by then are skipped; calls still running this long after are reported as hung. */
  readonly maxMillis: number
  readonly transport: TransportVariant
  /** Calls run first, outside the figures, so that memory is measured on a warm process. */
  readonly warmup?: number
}

export interface SoakFigures {
  readonly transport: string
  readonly calls: number
  readonly completed: number
  readonly skipped: number
  /** Calls still running when the time limit (plus grace) ran out. */
  readonly hung: number
  readonly concurrency: number
  readonly seed: number
  readonly millis: number
  /** Requests the emulator answered or saw aborted (retries included). */
  readonly requests: number
  /** Share of calls sent to an endpoint with a fault. */
  readonly faultRate: number
  /** Share of calls that ended in an error. */
  readonly errorRate: number
  /** Calls by outcome: `reply` or the error's tag. */
  readonly outcomes: Readonly<Record<string, number>>
  /** Calls whose outcome their endpoint does not allow, e.g. `slow: SagemakerInferenceError`. */
  readonly unexpected: ReadonlyArray<string>
  /** Failures that are not typed errors (defects, interruptions), pretty-printed. */
  readonly defects: ReadonlyArray<string>
  readonly unhandledRejections: number
  readonly memoryStart: Memory
  readonly memoryBefore: Memory
  readonly memoryAfter: Memory
  /** The highest RSS sampled (every 100 ms) during the measured calls. */
  readonly peakRss: number
  /** Connections open at the emulator once the generators' layers were closed. */
  readonly openConnectionsAfter: number
  readonly resourcesStart: ResourceCounts
  /** Resources above the start once everything was closed (empty when nothing leaked). */
  readonly resourcesLeft: Readonly<Record<string, number>>
}

const credentials = { accessKeyId: "AKIDSOAK", secretAccessKey: "soak-secret" }

export const runSoak = (options: SoakOptions): Effect.Effect<SoakFigures> =>
  Effect.gen(function*() {
    const resourcesStart = activeResources()
    const memoryStart = memory()
    let unhandledRejections = 0
    const onUnhandled = () => {
      unhandledRejections++
    }
    process.on("unhandledRejection", onUnhandled)
    yield* Effect.addFinalizer(() => Effect.sync(() => process.off("unhandledRejection", onUnhandled)))

    // Two scopes closed in order at the end (and on any failure): the generators, then the emulator.
    const emulatorScope = yield* Scope.make()
    const generatorsScope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(emulatorScope, Exit.void))
    yield* Effect.addFinalizer(() => Scope.close(generatorsScope, Exit.void))

    let requests = 0
    const emulator = yield* SagemakerEmulator.make({
      endpoints: Object.fromEntries(mix.map((e) => [e.name, e.endpoint])),
      recordLimit: 1,
      log: () =>
        Effect.sync(() => {
          requests++
        })
    }).pipe(Scope.extend(emulatorScope), Effect.orDie)

    // One generator (one client) per endpoint, as an application would hold them.
    const contexts = new Map<string, Context.Context<SagemakerGenerator.SagemakerGenerator>>()
    for (const e of mix) {
      const layer = SagemakerGenerator.layer({
        model: e.name,
        endpointUrl: emulator.url,
        awsAccessKeyId: Secret.fromToken(credentials.accessKeyId),
        awsSecretAccessKey: Secret.fromToken(credentials.secretAccessKey),
        awsSessionToken: null,
        awsRegionName: Secret.fromToken("us-east-1"),
        awsProfileName: null,
        retry: { baseDelay: "1 millis", maxDelay: "10 millis" },
        ...options.transport.options,
        ...e.generator
      })
      contexts.set(e.name, yield* Layer.buildWithScope(layer, generatorsScope).pipe(Effect.orDie))
    }

    const outcomes: Record<string, number> = {}
    const unexpected: Array<string> = []
    const defects: Array<string> = []
    let completed = 0
    let skipped = 0
    let started = 0
    const prompt = "What's Natural Language Processing?"
    const call = (e: SoakEndpoint): Effect.Effect<void, unknown> => {
      const effect = e.operation === "run"
        ? Effect.asVoid(SagemakerGenerator.run(prompt, { max_new_tokens: 8 }))
        : Stream.runDrain(SagemakerGenerator.stream(prompt, { max_new_tokens: 8 }))
      return Effect.provide(effect, contexts.get(e.name)!)
    }
    const record = (e: SoakEndpoint, exit: Exit.Exit<void, unknown>) => {
      let outcome: string
      if (Exit.isSuccess(exit)) outcome = "reply"
      else {
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && isSagemakerError(failure.value)) outcome = failure.value._tag
        else {
          outcome = "defect"
          if (defects.length < 10) defects.push(`${e.name}: ${Cause.pretty(exit.cause)}`)
        }
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      if (!e.expect.includes(outcome) && unexpected.length < 20) unexpected.push(`${e.name}: ${outcome}`)
      completed++
    }
    const runCalls = (picks: ReadonlyArray<SoakEndpoint>, until: number, counted: boolean) =>
      Effect.forEach(picks, (e) =>
        Effect.suspend(() => {
          if (Date.now() > until) {
            if (counted) skipped++
            return Effect.void
          }
          if (counted) started++
          return Effect.flatMap(Effect.exit(call(e)), (exit) => Effect.sync(() => counted && record(e, exit)))
        }), { concurrency: options.concurrency, discard: true })

    const warmup = options.warmup ?? 0
    if (warmup > 0) yield* runCalls(draw(mix, warmup, options.seed + 1), Number.POSITIVE_INFINITY, false)
    const requestsBefore = requests
    const memoryBefore = memory()

    const picks = draw(mix, options.calls, options.seed)
    let peakRss = memoryBefore.rss
    const sampler = yield* Effect.fork(
      Effect.sync(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss())
      }).pipe(Effect.zipRight(Effect.sleep("100 millis")), Effect.forever)
    )
    const t0 = Date.now()
    const timedOut = yield* runCalls(picks, t0 + options.maxMillis, true).pipe(
      Effect.timeoutFail({ duration: options.maxMillis + 10_000, onTimeout: () => "hung" }),
      Effect.as(false),
      Effect.catchAll(() => Effect.succeed(true))
    )
    const millis = Date.now() - t0
    yield* Fiber.interrupt(sampler)
    const requestsSeen = requests - requestsBefore

    // Close every generator (their clients and keep-alive sockets), then the emulator.
    yield* Scope.close(generatorsScope, Exit.void)
    for (let i = 0; i < 300 && (yield* emulator.openConnections) > 0; i++) yield* Effect.sleep("10 millis")
    const openConnectionsAfter = yield* emulator.openConnections
    yield* Scope.close(emulatorScope, Exit.void)
    const resourcesLeft = yield* settle(resourcesStart)
    const memoryAfter = memory()

    const faulty = picks.filter((e) => !e.name.startsWith("ok-")).length
    const errors = completed - (outcomes.reply ?? 0)
    return {
      transport: options.transport.name,
      calls: options.calls,
      completed,
      skipped,
      hung: timedOut ? started - completed : 0,
      concurrency: options.concurrency,
      seed: options.seed,
      millis,
      requests: requestsSeen,
      faultRate: faulty / picks.length,
      errorRate: completed === 0 ? 0 : errors / completed,
      outcomes,
      unexpected,
      defects,
      unhandledRejections,
      memoryStart,
      memoryBefore,
      memoryAfter,
      peakRss,
      openConnectionsAfter,
      resourcesStart,
      resourcesLeft
    } satisfies SoakFigures
  }).pipe(Effect.scoped)

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`

/** The figures as Markdown, for the README. */
export const formatFigures = (f: SoakFigures): string => {
  const byTag = Object.entries(f.outcomes).sort(([, a], [, b]) => b - a).map(([tag, n]) => `${tag} ${n}`).join(", ")
  return [
    `| figure | value |`,
    `|---|---|`,
    `| transport | ${f.transport} |`,
    `| calls (completed / skipped / hung) | ${f.calls} (${f.completed} / ${f.skipped} / ${f.hung}) |`,
    `| concurrency | ${f.concurrency} |`,
    `| seed | ${f.seed} |`,
    `| requests seen by the emulator (retries included) | ${f.requests} |`,
    `| calls to a faulty endpoint | ${(f.faultRate * 100).toFixed(1)}% |`,
    `| calls ending in an error | ${(f.errorRate * 100).toFixed(1)}% |`,
    `| outcomes | ${byTag} |`,
    `| unexpected outcomes / defects / unhandled rejections | ${f.unexpected.length} / ${f.defects.length} / ${f.unhandledRejections} |`,
    `| time | ${(f.millis / 1000).toFixed(1)} s (${Math.round(f.completed / (f.millis / 1000))} calls/s) |`,
    `| RSS at start / after warm-up / peak / after | ${mb(f.memoryStart.rss)} / ${mb(f.memoryBefore.rss)} / ${
      mb(f.peakRss)
    } / ${mb(f.memoryAfter.rss)} |`,
    `| V8 heap used (after GC) at start / after warm-up / after | ${mb(f.memoryStart.heapUsed)} / ${
      mb(f.memoryBefore.heapUsed)
    } / ${mb(f.memoryAfter.heapUsed)} |`,
    `| V8 heap reserved at start / after warm-up / after | ${mb(f.memoryStart.heapTotal)} / ${
      mb(f.memoryBefore.heapTotal)
    } / ${mb(f.memoryAfter.heapTotal)} |`,
    `| external memory at start / after warm-up / after | ${mb(f.memoryStart.external)} / ${
      mb(f.memoryBefore.external)
    } / ${mb(f.memoryAfter.external)} |`,
    `| emulator connections open after the layers closed | ${f.openConnectionsAfter} |`,
    `| sockets, servers, timers left above the start | ${JSON.stringify(f.resourcesLeft)} |`
  ].join("\n")
}
