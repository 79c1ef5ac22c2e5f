/**
 * One poll loop per async service, shared by every awaited result. Awaiting the same result twice
 * joins its one entry. Each pass asks S3 only about the entries that are due:
 *
 * - where several results wait in one folder (SageMaker writes an endpoint's results side by
 *   side), one ListObjectsV2 of the folder answers for all of them, and the folder of their
 *   failures likewise: a result then costs its GET and a share of the lists;
 * - otherwise, or where listing is denied (no `s3:ListBucket`), or the folder holds more keys than
 *   is worth listing, a HEAD of the output and then of the failure object, per entry.
 *
 * Backoff runs from the first delay, doubling up to the last: per entry for HEADs, per folder for
 * lists (back to the first delay whenever the folder gave a result). At most `concurrency` S3
 * requests are in flight at once, however many results are awaited.
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
  /** When to look first (a result cannot be there before its request was taken). */
  readonly firstLookAt: number
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
  /** Entries being polled now. */
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

/** Fewer results than this waiting in a folder are cheaper to HEAD than to list. */
const LIST_FROM = 4
/** A folder with more keys than this is not listed again (its entries are HEADed). */
const MAX_LISTED_KEYS = 10_000

const folderOf = (location: Location) => {
  const slash = location.key.lastIndexOf("/")
  return { bucket: location.bucket, prefix: slash < 0 ? "" : location.key.slice(0, slash + 1) }
}
const folderKey = (location: Location) => {
  const { bucket, prefix } = folderOf(location)
  return `${bucket}/${prefix}`
}

export const make = (client: Client, options: Options): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.gen(function*() {
    const entries = new Map<string, Entry>()
    const wake = yield* Queue.sliding<void>(1)
    const firstMillis = Duration.toMillis(options.firstDelay)
    const lastMillis = Duration.toMillis(options.lastDelay)
    /** Per folder listed: its current delay. */
    const folderDelays = new Map<string, number>()
    /** Folders not to list: listing was denied, or they hold too many keys. */
    const unlisted = new Set<string>()
    const requests = Effect.unsafeMakeSemaphore(options.concurrency)
    const s3 = <A, E>(effect: Effect.Effect<A, E>) => requests.withPermits(1)(effect)

    const settle = (entry: Entry, exit: Effect.Effect<Outcome, S3Failure>) =>
      Effect.zipRight(Effect.sync(() => entries.delete(entry.key)), Deferred.complete(entry.done, exit))

    const notYet = (entry: Entry, now: number) =>
      Effect.sync(() => {
        entry.dueAt = now + entry.delayMillis
        entry.delayMillis = Math.min(entry.delayMillis * 2, lastMillis)
      })

    /** A failure that ends the entry, or (transient) one that is polled again later. */
    const onFailure = (entry: Entry, now: number) => (error: S3Failure) =>
      error._tag === "SagemakerInferenceError" && error.retryable
        ? notYet(entry, now)
        : settle(entry, Effect.fail(error))

    /** HEAD the output, then the failure object. */
    const head = (entry: Entry, now: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        const { failure, output } = entry.target
        if ((yield* s3(client.head(output))) !== undefined) {
          return yield* settle(entry, Effect.succeed({ _tag: "Output", location: output }))
        }
        if (failure !== undefined && (yield* s3(client.head(failure))) !== undefined) {
          return yield* settle(entry, Effect.succeed({ _tag: "Failure", location: failure }))
        }
        yield* notYet(entry, now)
      }).pipe(Effect.catchAll(onFailure(entry, now)))

    /** The keys of the folder of `location`, or `undefined` when it is not to be listed. */
    const listFolder = (location: Location) =>
      Effect.gen(function*() {
        const folder = folderKey(location)
        if (unlisted.has(folder)) return undefined
        const { bucket, prefix } = folderOf(location)
        const keys = yield* s3(client.list(bucket, prefix, MAX_LISTED_KEYS))
        if (keys === "denied" || keys === "too-many") {
          unlisted.add(folder)
          return undefined
        }
        return keys
      })

    /** One list of the outputs' folder (and of their failures'), for entries waiting side by side. */
    const listed = (folder: string, group: ReadonlyArray<Entry>, now: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        const outputs = yield* listFolder(group[0]!.target.output)
        if (outputs === undefined) {
          return yield* Effect.forEach(group, (entry) => head(entry, now), { concurrency: "unbounded", discard: true })
        }
        let found = 0
        const waiting: Array<Entry> = []
        for (const entry of group) {
          if (outputs.has(entry.target.output.key)) {
            found++
            yield* settle(entry, Effect.succeed({ _tag: "Output", location: entry.target.output }))
          } else {
            waiting.push(entry)
          }
        }
        const byFailureFolder = new Map<string, Array<Entry>>()
        for (const entry of waiting) {
          const failure = entry.target.failure
          if (failure === undefined) continue
          const key = folderKey(failure)
          byFailureFolder.set(key, [...(byFailureFolder.get(key) ?? []), entry])
        }
        for (const sharing of byFailureFolder.values()) {
          const failures = yield* listFolder(sharing[0]!.target.failure!)
          for (const entry of sharing) {
            if (
              failures === undefined
                ? (yield* s3(client.head(entry.target.failure!))) !== undefined
                : failures.has(entry.target.failure!.key)
            ) {
              found++
              yield* settle(entry, Effect.succeed({ _tag: "Failure", location: entry.target.failure! }))
            }
          }
        }
        const delay = found > 0 ? firstMillis : Math.min((folderDelays.get(folder) ?? firstMillis) * 2, lastMillis)
        folderDelays.set(folder, delay)
        for (const entry of waiting) if (entries.get(entry.key) === entry) entry.dueAt = now + delay
      }).pipe(
        Effect.catchAll((error) => Effect.forEach(group, (entry) => onFailure(entry, now)(error), { discard: true }))
      )

    const pass = (now: number, due: ReadonlyArray<Entry>) => {
      const byFolder = new Map<string, Array<Entry>>()
      for (const entry of due) {
        const key = folderKey(entry.target.output)
        byFolder.set(key, [...(byFolder.get(key) ?? []), entry])
      }
      return Effect.forEach(
        byFolder,
        ([folder, group]) =>
          group.length >= LIST_FROM && !unlisted.has(folder)
            ? listed(folder, group, now)
            : Effect.forEach(group, (entry) => head(entry, now), { concurrency: "unbounded", discard: true }),
        { concurrency: "unbounded", discard: true }
      )
    }

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
        yield* pass(now, due)
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
            const entry: Entry = {
              key,
              target,
              done,
              waiters: 1,
              delayMillis: firstMillis,
              dueAt: Math.max(now, target.firstLookAt)
            }
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
