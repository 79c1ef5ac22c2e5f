/**
 * The output of `effect-sagemaker batch` is its checkpoint. Each result is one line, appended
 * with one write as soon as it arrives, so that a crash leaves at most one torn line, always the
 * last: on the next run that line is cut off and its item done again. The ids already in the
 * file are not sent again; with `--retry-failed` this run's failed lines are first taken out (the file
 * is rewritten through a temporary file and a rename), so that the file never holds an id twice.
 * A lock file next to the output keeps a second run from appending to it at the same time.
 *
 * With `--async` the output also records each submission, as a line of its own
 * (`{"id", "submitted": <handle>}`) appended before the item's result: an id with a submitted
 * line and no result line is awaited from its handle on the next run, never submitted again.
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { type UsageError, usageError } from "./args.js"
import { type Line, lines } from "./lines.js"

/** Writing a result failed (disk full, file removed): the run stops (exit code 1). */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly message: string }> {}

export interface Checkpoint {
  /** The ids the output holds a success for. */
  readonly succeeded: ReadonlySet<string>
  /** The ids the output holds a failure for, and its error's tag (less those `--retry-failed` took out). */
  readonly failed: ReadonlyMap<string, string>
  /** Whether a torn last line was cut off. */
  readonly tornLine: boolean
  /** Failures taken out of the output to be done again (`--retry-failed`). */
  readonly retrying: number
  /**
   * The ids the output holds a submission for and no result, and the handle as the line holds it
   * (`Schema.encode(SagemakerAsync.Handle)`; decoded by the run, which loads the library).
   */
  readonly submitted: ReadonlyMap<string, unknown>
  /** Appends one line (without its newline) in one write. */
  readonly append: (line: string) => Effect.Effect<void, OutputError>
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** No bound that matters: a result line holds a reply, which the container bounds. */
const MAX_RESULT_LINE_BYTES = 1024 * 1024 * 1024

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return Predicate.hasProperty(error, "code") && error.code === "EPERM"
  }
}

/** Takes `path.lock`, or fails naming the live process that holds it; a lock whose process died is taken over. */
const lock = (path: string): Effect.Effect<void, UsageError, Scope.Scope> => {
  const lockPath = `${path}.lock`
  const take = (): UsageError | undefined => {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" })
        return undefined
      } catch (error) {
        if (!Predicate.hasProperty(error, "code") || error.code !== "EEXIST") {
          return usageError(`--output ${path} cannot be locked: ${messageOf(error)}`)
        }
      }
      let holder = Number.NaN
      try {
        holder = Number.parseInt(fs.readFileSync(lockPath, "utf8"), 10)
      } catch {
        // Removed in between: try again.
      }
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        return usageError(
          `another effect-sagemaker batch (pid ${holder}) is writing ${path}; ` +
            `if it is gone, remove ${lockPath}`
        )
      }
      fs.rmSync(lockPath, { force: true })
    }
    return usageError(`--output ${path} cannot be locked: ${lockPath} keeps coming back`)
  }
  return Effect.acquireRelease(
    Effect.suspend(() => {
      const problem = take()
      return problem === undefined ? Effect.void : Effect.fail(problem)
    }),
    () => Effect.sync(() => fs.rmSync(lockPath, { force: true }))
  )
}

const readLines = (path: string): Stream.Stream<Line, UsageError> =>
  Stream.fromAsyncIterable(
    lines(fs.createReadStream(path), MAX_RESULT_LINE_BYTES),
    (error) => usageError(`--output ${path} could not be read: ${messageOf(error)}`)
  )

/** A line of the output: a result (with the tag of its error), or a submission (`--async`). */
type Parsed =
  | { readonly _tag: "Result"; readonly id: string; readonly failed: string | undefined }
  | { readonly _tag: "Submitted"; readonly id: string; readonly handle: unknown }

/** What a line of the output is, or why it is neither a result nor a submission. */
const parseLine = (line: Line): Parsed | string => {
  let json: unknown
  try {
    json = JSON.parse(line.bytes?.toString("utf8") ?? "")
  } catch {
    return "it is not JSON"
  }
  if (!Predicate.isRecord(json) || typeof json.id !== "string") return "it has no \"id\""
  if (Array.isArray(json.replies)) return { _tag: "Result", id: json.id, failed: undefined }
  if (Predicate.isRecord(json.error) && typeof json.error.tag === "string") {
    return { _tag: "Result", id: json.id, failed: json.error.tag }
  }
  if (Predicate.isRecord(json.submitted)) return { _tag: "Submitted", id: json.id, handle: json.submitted }
  return "it has neither \"replies\" nor \"error\" nor \"submitted\""
}

const writeAll = (fd: number, bytes: Buffer) => {
  let written = 0
  while (written < bytes.byteLength) written += fs.writeSync(fd, bytes, written)
}

/**
 * Copies the output without the failed results, and without their submissions (a failure that an
 * earlier handle would give again), through a temporary file, renamed over it.
 */
const withoutFailures = (path: string, failed: ReadonlyMap<string, string>): Effect.Effect<void, UsageError> =>
  Effect.gen(function*() {
    const temporary = `${path}.${process.pid}.tmp`
    const refused = (error: unknown) => usageError(`--output ${path} cannot be rewritten: ${messageOf(error)}`)
    const fd = yield* Effect.try({ try: () => fs.openSync(temporary, "w"), catch: refused })
    yield* readLines(path).pipe(
      Stream.runForEach((line) =>
        Effect.try({
          try: () => {
            const parsed = line.terminated ? parseLine(line) : "torn"
            if (typeof parsed !== "string" && !failed.has(parsed.id)) {
              writeAll(fd, Buffer.concat([line.bytes!, Buffer.from("\n")]))
            }
          },
          catch: refused
        })
      ),
      Effect.zipRight(Effect.try({ try: () => fs.fsyncSync(fd), catch: refused })),
      Effect.ensuring(Effect.sync(() => fs.closeSync(fd))),
      Effect.zipRight(Effect.try({ try: () => fs.renameSync(temporary, path), catch: refused })),
      Effect.tapError(() => Effect.sync(() => fs.rmSync(temporary, { force: true })))
    )
  })

/**
 * Locks the output, reads what it holds, cuts off a torn last line, takes the failures out with
 * `retryFailed`, and opens it for appending; the scope closes it and frees the lock.
 */
export const open = (
  path: string,
  options: {
    /** `--retry-failed`: which failed ids to take out and do again (this run's, not another shard's). */
    readonly retryFailed: ((id: string) => boolean) | undefined
  }
): Effect.Effect<Checkpoint, UsageError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* lock(path)
    const succeeded = new Set<string>()
    const failed = new Map<string, string>()
    const submitted = new Map<string, unknown>()
    let tornLine = false
    let wholeBytes = 0
    if (fs.existsSync(path)) {
      // An id has at most one line of each kind: one submission, one result.
      const seen = { Result: new Map<string, number>(), Submitted: new Map<string, number>() }
      yield* Stream.runForEach(readLines(path), (line) => {
        if (!line.terminated) {
          // The one line a crash can leave: the write of its last bytes never happened.
          tornLine = true
          return Effect.void
        }
        wholeBytes = line.end
        if (line.bytes !== undefined && line.bytes.toString("utf8").trim().length === 0) return Effect.void
        const parsed = parseLine(line)
        if (typeof parsed === "string") {
          return usageError(
            `--output ${path} line ${line.number} is not a result of effect-sagemaker batch (${parsed}): ` +
              "give another --output"
          )
        }
        const first = seen[parsed._tag].get(parsed.id)
        if (first !== undefined) {
          return usageError(
            `--output ${path} has the id "${parsed.id}" twice, on lines ${first} and ${line.number}` +
              (parsed._tag === "Submitted" ? " (two submissions)" : "")
          )
        }
        seen[parsed._tag].set(parsed.id, line.number)
        if (parsed._tag === "Submitted") submitted.set(parsed.id, parsed.handle)
        else if (parsed.failed === undefined) succeeded.add(parsed.id)
        else failed.set(parsed.id, parsed.failed)
        return Effect.void
      })
    }
    const refused = (error: unknown) => usageError(`--output ${path} cannot be written: ${messageOf(error)}`)
    if (tornLine) yield* Effect.try({ try: () => fs.truncateSync(path, wholeBytes), catch: refused })
    const redo = options.retryFailed
    const retried = new Map(redo === undefined ? [] : [...failed].filter(([id]) => redo(id)))
    if (retried.size > 0) {
      yield* withoutFailures(path, retried)
      for (const id of retried.keys()) {
        failed.delete(id)
        submitted.delete(id)
      }
    }
    // A submission whose result is in the output is done: only the others are awaited.
    for (const id of [...submitted.keys()]) {
      if (succeeded.has(id) || failed.has(id)) submitted.delete(id)
    }
    const fd = yield* Effect.acquireRelease(
      Effect.try({ try: () => fs.openSync(path, "a"), catch: refused }),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
    return {
      succeeded,
      failed,
      tornLine,
      retrying: retried.size,
      submitted,
      append: (line) =>
        Effect.try({
          try: () => writeAll(fd, Buffer.from(`${line}\n`, "utf8")),
          catch: (error) => new OutputError({ message: `writing to ${path} failed: ${messageOf(error)}` })
        })
    }
  })
