/**
 * The run of `effect-sagemaker batch`, once its command line, input and output were checked: the
 * items the output does not hold yet go through `SagemakerBatch.run`, each result is appended to
 * the output as it arrives, progress is drawn on stderr, and a summary ends it.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import * as SagemakerBatch from "../SagemakerBatch.js"
import { SagemakerError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import { ItemsFailed, type Plan, type Settings } from "./batch.js"
import * as BatchInput from "./batchInput.js"
import type * as Checkpoint from "./checkpoint.js"
import { connect } from "./connect.js"
import * as Progress from "./progress.js"

const TTY_INTERVAL = Duration.millis(250)
const PLAIN_INTERVAL = Duration.seconds(5)

/** The output line of a result: its replies and meta, or its error with the error's Schema encoding. */
export const resultLine = (result: SagemakerBatch.Result): string => {
  const outcome = result.outcome
  if (outcome._tag === "Success") {
    return JSON.stringify({
      id: result.id,
      replies: outcome.replies,
      meta: outcome.meta,
      attempts: result.attempts,
      latency_ms: result.latencyMs
    })
  }
  const detail = Schema.encodeEither(SagemakerError)(outcome.error)
  return JSON.stringify({
    id: result.id,
    error: {
      tag: outcome.error._tag,
      message: outcome.error.message,
      ...(Either.isRight(detail) ? { detail: detail.right } : {})
    },
    attempts: result.attempts,
    latency_ms: result.latencyMs
  })
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const writeStderr = (text: string) => Effect.sync(() => void process.stderr.write(text))

/** A run under way: how it writes notes, and what it ends with. */
export interface Started {
  readonly note: (text: string) => Effect.Effect<void>
  /** Fails with `ItemsFailed` when this run's or an earlier run's items failed. */
  readonly outcome: (failedNow: number) => Effect.Effect<void, ItemsFailed>
}

/**
 * The notes of the run's start (skipped lines, a torn line, the failures retried); `undefined`
 * when nothing is left to do (said so, and failed with `ItemsFailed` when earlier items failed).
 */
export const start = (
  settings: Settings,
  scanned: BatchInput.Scanned,
  checkpoint: Checkpoint.Checkpoint,
  plan: Plan
): Effect.Effect<Started | undefined, ItemsFailed> =>
  Effect.gen(function*() {
    const note = (text: string) => settings.quiet ? Effect.void : writeStderr(`${text}\n`)
    const output = settings.output
    if (scanned.invalid > 0) yield* note(BatchInput.describeSkipped(scanned))
    if (checkpoint.tornLine) {
      yield* note(`${output} ended with a torn line (a write a crash cut short): cut off, its item is done again`)
    }
    if (checkpoint.retrying > 0) yield* note(`retrying ${plural(checkpoint.retrying, "failed item")} of ${output}`)

    const earlierFailed = [...plan.earlierFailedByTag.values()].reduce((sum, n) => sum + n, 0)
    const inShard = plan.todo + plan.earlierSucceeded + earlierFailed
    const outcome = (failedNow: number): Effect.Effect<void, ItemsFailed> => {
      const failed = failedNow + earlierFailed
      return failed === 0 ? Effect.void : new ItemsFailed({
        message: `${failed} of ${plural(inShard, "item")} failed: their errors are in ${output} ` +
          `(--retry-failed redoes them)`
      })
    }
    if (inShard === 0) {
      yield* note(
        `nothing to do: no item of ${scanned.name} is in shard ${settings.shard?.index}/${settings.shard?.count}`
      )
      return undefined
    }
    if (plan.todo === 0) {
      yield* note(`nothing to do: ${output} holds a result for each of the ${plural(inShard, "item")}`)
      yield* outcome(0)
      return undefined
    }
    return { note, outcome } satisfies Started
  })

/** An item's outcome, in the tally. */
export const countOutcome = (
  tally: { succeeded: number; failed: number; readonly failedByTag: Map<string, number> },
  outcome: SagemakerBatch.Outcome
): void => {
  if (outcome._tag === "Success") {
    tally.succeeded++
  } else {
    tally.failed++
    tally.failedByTag.set(outcome.error._tag, (tally.failedByTag.get(outcome.error._tag) ?? 0) + 1)
  }
}

/** Every item planned was read: otherwise the input changed under the run. */
export const allRead = (name: string, todo: number, sent: number): Effect.Effect<void, BatchInput.InputError> =>
  sent === todo ? Effect.void : Effect.fail(
    new BatchInput.InputError({
      message: `${name} changed during the run: ${todo} items were to be sent, ${sent} were read; ` +
        `the same command again finishes the rest`
    })
  )

/**
 * Draws `tally` on stderr every interval while the run goes (unless `--quiet`); `finish` stops
 * that and writes the summary.
 */
export const drawProgress = (
  settings: Settings,
  plan: Plan,
  tally: Progress.Tally,
  stderrIsTTY: boolean
): Effect.Effect<{ readonly finish: (stopped: boolean) => Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const write = writeStderr
    const startMillis = yield* Clock.currentTimeMillis
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - startMillis)
    // A terminal that does not say its width (0) gets a line of 120 at most.
    const columns = () => (process.stderr.columns ?? 0) > 20 ? process.stderr.columns - 1 : 120
    const draw = Effect.flatMap(elapsed, (millis) => {
      const line = Progress.progressLine(tally, millis)
      return stderrIsTTY ? write(`\r\u001b[2K${line.slice(0, columns())}`) : write(`progress: ${line}\n`)
    })
    const interval = settings.progressInterval ?? (stderrIsTTY ? TTY_INTERVAL : PLAIN_INTERVAL)
    const progress = settings.quiet
      ? undefined
      : yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(interval), draw)))
    return {
      finish: (stopped: boolean) =>
        Effect.gen(function*() {
          if (progress !== undefined) yield* Fiber.interrupt(progress)
          if (settings.quiet) return
          if (stderrIsTTY) yield* write("\r\u001b[2K")
          yield* write(Progress.summary(tally, yield* elapsed, {
            succeeded: plan.earlierSucceeded,
            failedByTag: plan.earlierFailedByTag,
            output: settings.output
          }, stopped))
        })
    }
  })

export const run = (
  settings: Settings,
  scanned: BatchInput.Scanned,
  checkpoint: Checkpoint.Checkpoint,
  plan: Plan,
  stderrIsTTY: boolean
): Effect.Effect<
  void,
  ItemsFailed | BatchInput.InputError | Checkpoint.OutputError | SagemakerError | SagemakerEmulator.EmulatorServeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const started = yield* start(settings, scanned, checkpoint, plan)
    if (started === undefined) return

    const generator = yield* connect(settings, { retry: false, logAttempts: false })
    const tally = {
      ...Progress.emptyTally(plan.todo),
      limit: settings.concurrency,
      failedByTag: new Map<string, number>()
    }
    const { finish } = yield* drawProgress(settings, plan, tally, stderrIsTTY)

    // `SagemakerBatch.run` takes an infallible stream: a read error ends the items and is failed with after.
    let readError: BatchInput.InputError | undefined
    let sent = 0
    const items = scanned.items.pipe(
      Stream.filter((item) =>
        BatchInput.inShard(settings.shard, item.id) && !checkpoint.succeeded.has(item.id) &&
        !checkpoint.failed.has(item.id)
      ),
      Stream.tap(() => Effect.sync(() => sent++)),
      Stream.catchAll((error) => {
        readError = error
        return Stream.empty
      })
    )
    const results = SagemakerBatch.run(items, {
      concurrency: settings.concurrency,
      maxConcurrency: settings.maxConcurrency,
      ordered: settings.ordered,
      attempts: settings.retries + 1,
      onProgress: (snapshot) => {
        tally.limit = snapshot.limit
        tally.inFlight = snapshot.inFlight
        tally.throttled = snapshot.throttled
        tally.tokens = snapshot.tokens
      }
    })
    yield* results.pipe(
      // Uninterruptible: a result the output holds is one the summary counts.
      Stream.runForEach((result) =>
        Effect.uninterruptible(Effect.gen(function*() {
          const outcome = result.outcome
          // No credentials or no region: every item would fail alike; this one is done again next time.
          if (outcome._tag === "Failure" && outcome.error._tag === "AWSConfigurationError") {
            return yield* outcome.error
          }
          yield* checkpoint.append(resultLine(result))
          tally.done++
          // Requests sent again, counted from the results: every one of them was sent.
          tally.retried += result.attempts - 1
          countOutcome(tally, outcome)
        }))
      ),
      Effect.provideService(SagemakerGenerator.SagemakerGenerator, generator),
      Effect.onExit((exit) => finish(Exit.isFailure(exit)))
    )
    if (readError !== undefined) return yield* readError
    yield* allRead(scanned.name, plan.todo, sent)
    return yield* started.outcome(tally.failed)
  })
