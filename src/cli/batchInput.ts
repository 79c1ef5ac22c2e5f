/**
 * The input of `effect-sagemaker batch`: JSON lines `{"id"?, "prompt", "generation_kwargs"?}`, or
 * one prompt per line with `--text`. The whole input is checked before any request is sent (bad
 * lines and duplicate ids are reported with their line numbers); the run then reads a file a
 * second time, line by line, so that only the ids stay in memory. Standard input cannot be read
 * twice: it is kept in memory.
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { type UsageError, usageError } from "./args.js"
import { MAX_PROMPT_BYTES } from "./input.js"
import { type Line, lines } from "./lines.js"

/** The input could not be read again during the run, or it changed since it was checked (exit code 1). */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

export type InputSource = { readonly _tag: "File"; readonly path: string } | { readonly _tag: "Stdin" }

/** `--shard I/N`: the items whose id hashes to `I - 1` modulo `N`. */
export interface Shard {
  readonly index: number
  readonly count: number
}

export interface BatchItem {
  readonly id: string
  readonly line: number
  readonly prompt: string
  readonly generationKwargs?: Readonly<Record<string, unknown>> | undefined
}

type Parsed =
  | { readonly _tag: "Item"; readonly item: BatchItem }
  | { readonly _tag: "Blank" }
  | { readonly _tag: "Invalid"; readonly reason: string }

/** No prompt this long can be sent: its request body would pass SageMaker's limit. */
const MAX_LINE_BYTES = MAX_PROMPT_BYTES

const FIELDS = ["id", "prompt", "generation_kwargs"]

/** How many bad lines an error message lists. */
const SHOWN = 5

const describeType = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "an array"
    : typeof value === "object"
    ? "an object"
    : `a ${typeof value}`

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** One line of the input: an item, a blank line (skipped), or the reason it is refused. */
const parseLine = (line: Line, text: boolean): Parsed => {
  const invalid = (reason: string): Parsed => ({ _tag: "Invalid", reason })
  if (line.bytes === undefined) return invalid(`longer than ${MAX_LINE_BYTES} bytes (6 MiB, SageMaker's request limit)`)
  let decoded: string
  try {
    decoded = utf8.decode(line.bytes)
  } catch {
    return invalid("not UTF-8 text")
  }
  if (line.number === 1 && decoded.startsWith("\uFEFF")) decoded = decoded.slice(1)
  if (decoded.endsWith("\r")) decoded = decoded.slice(0, -1)
  if (decoded.trim().length === 0) return { _tag: "Blank" }
  if (text) return { _tag: "Item", item: { id: String(line.number), line: line.number, prompt: decoded } }
  let json: unknown
  try {
    json = JSON.parse(decoded)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return invalid(`not JSON (${reason.replace(/\s+/g, " ").slice(0, 120)})`)
  }
  if (!Predicate.isRecord(json) || Array.isArray(json)) {
    return invalid(`not a JSON object (got ${describeType(json)}; --text reads plain text lines)`)
  }
  const unknown = Object.keys(json).find((key) => !FIELDS.includes(key))
  if (unknown !== undefined) return invalid(`unknown field "${unknown}" (the fields are ${FIELDS.join(", ")})`)
  const { generation_kwargs: kwargs, id, prompt } = json
  if (prompt === undefined) return invalid(`"prompt" is missing`)
  if (typeof prompt !== "string") return invalid(`"prompt" must be a string, got ${describeType(prompt)}`)
  if (id !== undefined && (typeof id !== "string" || id.length === 0)) {
    return invalid(`"id" must be a non-empty string, got ${typeof id === "string" ? "\"\"" : describeType(id)}`)
  }
  if (kwargs !== undefined && (!Predicate.isRecord(kwargs) || Array.isArray(kwargs))) {
    return invalid(`"generation_kwargs" must be a JSON object, got ${describeType(kwargs)}`)
  }
  return {
    _tag: "Item",
    item: {
      id: id ?? String(line.number),
      line: line.number,
      prompt,
      ...(kwargs === undefined ? {} : { generationKwargs: kwargs as Record<string, unknown> })
    }
  }
}

/** 32-bit FNV-1a of the id's UTF-8 bytes: the same shard for an id on every machine and every run. */
export const fnv1a32 = (id: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(id, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash
}

export const inShard = (shard: Shard | undefined, id: string): boolean =>
  shard === undefined || fnv1a32(id) % shard.count === shard.index - 1

/** The input checked: every valid item's id and its line number. */
export interface Scanned {
  readonly name: string
  readonly ids: ReadonlyMap<string, number>
  /** Invalid lines (skipped with `--skip-invalid`), the first few of them described. */
  readonly invalid: number
  readonly invalidShown: ReadonlyArray<string>
  /** The items, read again (from the file, or from the kept standard input). */
  readonly items: Stream.Stream<BatchItem, InputError>
}

const nameOf = (source: InputSource) => source._tag === "Stdin" ? "stdin" : source.path

const unreadable = (name: string) => (error: unknown) =>
  usageError(`the input ${name} could not be read: ${error instanceof Error ? error.message : String(error)}`)

const readStdin: Effect.Effect<ReadonlyArray<Buffer>, UsageError> = Stream.fromAsyncIterable(
  process.stdin as AsyncIterable<Buffer>,
  unreadable("stdin")
).pipe(Stream.runCollect, Effect.map((chunks) => Array.from(chunks)))

const listed = (problems: ReadonlyArray<string>, count: number) =>
  problems.join("; ") + (count > problems.length ? `; and ${count - problems.length} more` : "")

/**
 * Reads the whole input and checks every line; fails, naming the lines, when a line is invalid
 * (unless `skipInvalid`), when an id is on two lines, or when there is no prompt at all.
 */
export const scan = (
  source: InputSource,
  options: { readonly text: boolean; readonly skipInvalid: boolean }
): Effect.Effect<Scanned, UsageError> =>
  Effect.gen(function*() {
    const name = nameOf(source)
    const kept = source._tag === "Stdin" ? yield* readStdin : undefined
    const read = (): Stream.Stream<Line, UsageError> =>
      Stream.fromAsyncIterable(
        lines(source._tag === "File" ? fs.createReadStream(source.path) : kept ?? [], MAX_LINE_BYTES),
        unreadable(name)
      )
    const ids = new Map<string, number>()
    // The first few problems of each kind, to name in the message in line order.
    const invalidShown: Array<readonly [number, string]> = []
    const duplicatesShown: Array<readonly [number, string]> = []
    let invalid = 0
    let duplicates = 0
    yield* Stream.runForEach(read(), (line) =>
      Effect.sync(() => {
        const parsed = parseLine(line, options.text)
        if (parsed._tag === "Invalid") {
          if (invalid++ < SHOWN) invalidShown.push([line.number, `line ${line.number}: ${parsed.reason}`])
        } else if (parsed._tag === "Item") {
          const first = ids.get(parsed.item.id)
          if (first === undefined) ids.set(parsed.item.id, line.number)
          else if (duplicates++ < SHOWN) {
            duplicatesShown.push([
              line.number,
              `line ${line.number}: the id "${parsed.item.id}" is already on line ${first}`
            ])
          }
        }
      }))
    const refusedInvalid = options.skipInvalid ? 0 : invalid
    if (duplicates > 0 || refusedInvalid > 0) {
      const count = duplicates + refusedInvalid
      const shown = [...(refusedInvalid > 0 ? invalidShown : []), ...duplicatesShown]
        .sort(([a], [b]) => a - b)
        .slice(0, SHOWN)
        .map(([, text]) => text)
      const hints = [
        ...(refusedInvalid > 0 ? ["--skip-invalid skips invalid lines"] : []),
        ...(duplicates > 0 ? ["ids must be unique"] : [])
      ]
      return yield* usageError(
        `${name} has ${count} bad line${count === 1 ? "" : "s"} (nothing was sent; ${hints.join("; ")}): ` +
          listed(shown, count)
      )
    }
    if (ids.size === 0) {
      return yield* usageError(
        invalid > 0
          ? `${name} has no valid prompt: all ${invalid} of its lines are invalid`
          : `${name} is empty: no prompt to send`
      )
    }
    const items = read().pipe(
      Stream.mapError((error) => new InputError({ message: error.message })),
      Stream.filterMap((line) => {
        const parsed = parseLine(line, options.text)
        // Only the line that held the id when it was checked: a file changed since cannot send an id twice.
        return parsed._tag === "Item" && ids.get(parsed.item.id) === line.number
          ? Option.some(parsed.item)
          : Option.none()
      })
    )
    return { name, ids, invalid, invalidShown: invalidShown.map(([, text]) => text), items }
  })

export const describeSkipped = (scanned: Scanned): string =>
  `skipped ${scanned.invalid} invalid line${scanned.invalid === 1 ? "" : "s"} of ${scanned.name}: ${
    listed(scanned.invalidShown, scanned.invalid)
  }`
