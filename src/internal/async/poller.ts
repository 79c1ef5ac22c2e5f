/**
 * One poll loop per async service, shared by every awaited result: each result is an entry with
 * its own backoff (from the first delay, doubling, up to the last), the loop asks S3 only about
 * the entries that are due, a bounded number at a time, and awaiting the same result twice joins
 * the one entry. Many awaited handles make one loop and at most `concurrency` S3 requests at once,
 * never one loop each.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { Client, Location, S3Failure } from "./s3.js"
import { formatLocation } from "./s3.js"

/** What appeared first: the result, or the failure object. */
export type Outcome =
  | { readonly _tag: "Output"; readonly location: Location }
  | { readonly _tag: "Failure"; readonly location: Location }

export interface Target {
  readonly output: Location
  readonly failure: Location | undefined
}

export interface Options {
  readonly firstDelay: Duration.Duration
  readonly lastDelay: Duration.Duration
  /** S3 requests in flight at once, across every entry. */
  readonly concurrency: number
}

export interface Poller {
  /** Waits until the target's output or failure object exists; interrupting it leaves the loop. */
  readonly await: (target: Target) => Effect.Effect<Outcome, S3Failure>
  /** Entries being polled now (for tests and metrics). */
  readonly pending: Effect.Effect<number>
}

interface Entry {
  readonly key: string
  readonly target: Target
  readonly done: Deferred.Deferred<Outcome, S3Failure>
  waiters: number
  delayMillis: number
  dueAt: number
}

export const make = (client: Client, options: Options): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.gen(function*() {
    const entries = new Map<string, Entry>()
    const wake = yield* Queue.sliding<void>(1)
    const firstMillis = Duration.toMillis(options.firstDelay)
    const lastMillis = Duration.toMillis(options.lastDelay)

    const settle = (entry: Entry, exit: Effect.Effect<Outcome, S3Failure>) =>
      Effect.zipRight(Effect.sync(() => entries.delete(entry.key)), Deferred.complete(entry.done, exit))

    const notYet = (entry: Entry) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entry.dueAt = now + entry.delayMillis
        entry.delayMillis = Math.min(entry.delayMillis * 2, lastMillis)
      })

    /** HEAD the output, then the failure object; a transient S3 failure is polled again later. */
    const check = (entry: Entry): Effect.Effect<void> =>
      Effect.gen(function*() {
        const { failure, output } = entry.target
        if ((yield* client.head(output)) !== undefined) {
          return yield* settle(entry, Effect.succeed({ _tag: "Output", location: output }))
        }
        if (failure !== undefined && (yield* client.head(failure)) !== undefined) {
          return yield* settle(entry, Effect.succeed({ _tag: "Failure", location: failure }))
        }
        yield* notYet(entry)
      }).pipe(
        Effect.catchAll((error) =>
          error._tag === "SagemakerInferenceError" && error.retryable
            ? notYet(entry)
            : settle(entry, Effect.fail(error))
        )
      )

    const loop = Effect.gen(function*() {
      while (true) {
        if (entries.size === 0) {
          yield* Queue.take(wake)
          continue
        }
        const now = yield* Clock.currentTimeMillis
        const due: Array<Entry> = []
        let next = Number.POSITIVE_INFINITY
        for (const entry of entries.values()) {
          if (entry.dueAt <= now) due.push(entry)
          else next = Math.min(next, entry.dueAt)
        }
        if (due.length === 0) {
          yield* Effect.raceFirst(Effect.sleep(Duration.millis(next - now)), Queue.take(wake))
          continue
        }
        yield* Effect.forEach(due, check, { concurrency: options.concurrency, discard: true })
      }
    })
    yield* Effect.forkScoped(loop)
    // Whoever still waits when the service closes is interrupted, not left hanging.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(entries.values(), (entry) => Deferred.interrupt(entry.done), { discard: true })
    )

    const join = (target: Target) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          const key = formatLocation(target.output)
          const existing = entries.get(key)
          if (existing !== undefined) {
            existing.waiters++
            return Effect.succeed(existing)
          }
          return Effect.map(Deferred.make<Outcome, S3Failure>(), (done) => {
            const entry: Entry = { key, target, done, waiters: 1, delayMillis: firstMillis, dueAt: now }
            entries.set(key, entry)
            return entry
          }).pipe(Effect.tap(() => Queue.offer(wake, undefined)))
        }))

    const leave = (entry: Entry) =>
      Effect.sync(() => {
        entry.waiters--
        if (entry.waiters === 0 && entries.get(entry.key) === entry) entries.delete(entry.key)
      })

    return {
      await: (target) => Effect.acquireUseRelease(join(target), (entry) => Deferred.await(entry.done), leave),
      pending: Effect.sync(() => entries.size)
    }
  })
