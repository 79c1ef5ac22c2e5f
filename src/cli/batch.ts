/**
 * `effect-sagemaker batch --input prompts.jsonl --output results.jsonl`: many prompts through
 * `SagemakerBatch.run`, resumable from its own output. Its options and their checks, the input
 * check and the checkpoint all run before the AWS SDK is loaded and before anything is sent
 * (`batchRun.ts` does the sending).
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import type { EmulatorServeError } from "../emulator/SagemakerEmulator.js"
import type { SagemakerError } from "../SagemakerError.js"
import { type CommandSpec, type ParsedArgs, type UsageError, usageError } from "./args.js"
import * as BatchInput from "./batchInput.js"
import * as Checkpoint from "./checkpoint.js"
import { connectionOptions, type EndpointSettings, endpointSettings, optional, options } from "./endpointOptions.js"
import { nonEmpty, parseDuration, parseWholeNumber } from "./parse.js"

/** `SagemakerBatch`'s defaults (written out: help does not load the library). */
const DEFAULT_CONCURRENCY = 16
const DEFAULT_MAX_CONCURRENCY = 256
/** The generator's socket pool holds this many requests in flight. */
const CONCURRENCY_CEILING = 1024

export const spec: CommandSpec = {
  name: "batch",
  summary: "Run every prompt of a JSON lines file, resumable, as fast as the endpoint allows",
  operands: "",
  details: [
    `Each input line is {"id"?, "prompt", "generation_kwargs"?} (an item without "id" takes its line ` +
    `number), or with --text a prompt as it stands; blank lines are skipped. The whole input is checked ` +
    `before anything is sent: a bad line or an id on two lines is refused with its line number.`,
    `Each result is appended to --output as one line as soon as it arrives: {"id", "replies", "meta"} ` +
    `or {"id", "error": {"tag", "message", "detail"}}. The output is the checkpoint: the same command ` +
    `again skips the ids it holds (--retry-failed redoes its failures), and a torn last line left by ` +
    `a crash is cut off and done again.`,
    `Concurrency adapts to the endpoint: it starts at --concurrency, grows while requests succeed, ` +
    `and shrinks when SageMaker throttles or the model is not ready or overloaded (such requests wait ` +
    `and go again, outside --retries). Without an endpoint the embedded SageMaker emulator answers.`,
    `Exit codes: 0 every item succeeded, 2 some failed (their errors are in the output) or a usage ` +
    `error (nothing was sent), 1 an error that stopped the run, 130 SIGINT and 143 SIGTERM (requests ` +
    `in flight are aborted; every result received is in the output).`
  ],
  options: [
    {
      name: "input",
      short: "i",
      kind: "value",
      placeholder: "PATH",
      description: "The prompts, one JSON object a line (- for stdin, which is kept in memory)",
      default: "stdin when it is a pipe"
    },
    {
      name: "output",
      short: "o",
      kind: "value",
      placeholder: "PATH",
      description: "The results, one JSON line per item, appended; also the checkpoint (required)"
    },
    { name: "text", kind: "flag", description: "Each input line is a prompt as it stands; its id is its line number" },
    {
      name: "skip-invalid",
      kind: "flag",
      description: "Skip invalid input lines (named on stderr) instead of refusing"
    },
    { name: "retry-failed", kind: "flag", description: "Redo the items whose failures the output holds" },
    {
      name: "shard",
      kind: "value",
      placeholder: "I/N",
      description: "Only the items whose id hashes (32-bit FNV-1a of its UTF-8) to I-1 modulo N, 1 ≤ I ≤ N: " +
        "N processes with 1/N to N/N split the input, and their outputs concatenate",
      default: "every item"
    },
    {
      name: "concurrency",
      short: "c",
      kind: "value",
      placeholder: "N",
      description: "Requests in flight to start with",
      default: String(DEFAULT_CONCURRENCY)
    },
    {
      name: "max-concurrency",
      kind: "value",
      placeholder: "N",
      description: `Requests in flight never grow past this (at most ${CONCURRENCY_CEILING})`,
      default: String(DEFAULT_MAX_CONCURRENCY)
    },
    { name: "ordered", kind: "flag", description: "Write the results in input order rather than as they finish" },
    options.endpoint,
    {
      ...options.param,
      description: options.param.description + "; an item's generation_kwargs win over them"
    },
    options.customAttribute,
    options.timeout,
    { ...options.retries, description: `${options.retries.description}; capacity retries do not count` },
    ...connectionOptions,
    { name: "quiet", short: "q", kind: "flag", description: "No progress, notes or summary: only the error line" },
    {
      name: "progress-interval",
      kind: "value",
      placeholder: "DURATION",
      description: "How often the progress line is drawn",
      default: "250ms on a terminal, else 5s"
    }
  ],
  maxOperands: 0,
  operandHint: "batch reads its prompts from --input (or stdin), one per line",
  instead: {
    "prompt-file": "--input PATH, with --text for plain text lines",
    "resume": "the same command again, which skips the ids already in --output",
    "verbose": "effect-sagemaker generate -v to follow one prompt's attempts",
    "version": "effect-sagemaker --version"
  }
}

/**
 * Some items failed: the run itself went through (exit code 2). Their errors are in the output.
 */
export class ItemsFailed extends Data.TaggedError("ItemsFailed")<{ readonly message: string }> {}

/** The command line of `batch`, checked. */
export interface Settings extends EndpointSettings {
  readonly input: BatchInput.InputSource
  readonly output: string
  readonly text: boolean
  readonly skipInvalid: boolean
  readonly retryFailed: boolean
  readonly shard: BatchInput.Shard | undefined
  readonly concurrency: number
  readonly maxConcurrency: number
  readonly ordered: boolean
  readonly quiet: boolean
  readonly progressInterval: Duration.Duration | undefined
}

const parseShard = (option: string, text: string): Either.Either<BatchInput.Shard, UsageError> => {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  return match !== null && Number.isSafeInteger(count) && count >= 1 && index >= 1 && index <= count
    ? Either.right({ index, count })
    : Either.left(usageError(`${option} must be I/N with 1 ≤ I ≤ N, e.g. 1/4, got "${text}"`))
}

/** Checks the command line; `stdinIsTTY` decides whether a missing `--input` means stdin. */
export const settings = (args: ParsedArgs, stdinIsTTY: boolean): Effect.Effect<Settings, UsageError> =>
  Effect.gen(function*() {
    const flag = (name: string) => args.flags.has(name)
    const inputPath = yield* optional(args, "input", nonEmpty)
    const input: BatchInput.InputSource = inputPath === "-" || (inputPath === undefined && !stdinIsTTY)
      ? { _tag: "Stdin" }
      : inputPath !== undefined
      ? { _tag: "File", path: inputPath }
      : yield* usageError("batch needs its prompts: --input PATH, or --input - (or a pipe) for stdin")
    const output = yield* optional(args, "output", nonEmpty)
    if (output === undefined) {
      return yield* usageError("batch needs --output PATH: the results file, which is also the checkpoint")
    }
    if (output === "-") return yield* usageError("--output must be a file (it is also the checkpoint), not -")
    if (input._tag === "File" && path.resolve(input.path) === path.resolve(output)) {
      return yield* usageError("--input and --output are the same file: the results would overwrite the prompts")
    }
    const shard = yield* optional(args, "shard", parseShard)
    const count = (option: string, text: string) => parseWholeNumber(option, text, 1, CONCURRENCY_CEILING)
    const concurrency = (yield* optional(args, "concurrency", count)) ?? DEFAULT_CONCURRENCY
    const maxConcurrency = (yield* optional(args, "max-concurrency", count)) ??
      Math.max(DEFAULT_MAX_CONCURRENCY, concurrency)
    if (concurrency > maxConcurrency) {
      return yield* usageError(
        `--concurrency ${concurrency} is above --max-concurrency ${maxConcurrency}: the limit never passes it`
      )
    }
    const progressInterval = yield* optional(args, "progress-interval", parseDuration)
    const endpoint = yield* endpointSettings(args)
    return {
      ...endpoint,
      input,
      output,
      text: flag("text"),
      skipInvalid: flag("skip-invalid"),
      retryFailed: flag("retry-failed"),
      shard,
      concurrency,
      maxConcurrency,
      ordered: flag("ordered"),
      quiet: flag("quiet"),
      progressInterval
    }
  })

/** What the output already held of this run's items. */
export interface Plan {
  /** Items of the input (in the shard) not in the output: this run's. */
  readonly todo: number
  readonly earlierSucceeded: number
  readonly earlierFailedByTag: ReadonlyMap<string, number>
}

const plan = (settings: Settings, scanned: BatchInput.Scanned, checkpoint: Checkpoint.Checkpoint): Plan => {
  let todo = 0
  let earlierSucceeded = 0
  const earlierFailedByTag = new Map<string, number>()
  for (const id of scanned.ids.keys()) {
    if (!BatchInput.inShard(settings.shard, id)) continue
    const failed = checkpoint.failed.get(id)
    if (checkpoint.succeeded.has(id)) earlierSucceeded++
    else if (failed !== undefined) earlierFailedByTag.set(failed, (earlierFailedByTag.get(failed) ?? 0) + 1)
    else todo++
  }
  return { todo, earlierSucceeded, earlierFailedByTag }
}

/** Checks the command line, the whole input and the output, then runs the batch. */
export const run = (
  args: ParsedArgs,
  stdinIsTTY: boolean,
  stderrIsTTY: boolean
): Effect.Effect<
  void,
  UsageError | ItemsFailed | BatchInput.InputError | Checkpoint.OutputError | SagemakerError | EmulatorServeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const checked = yield* settings(args, stdinIsTTY)
    const scanned = yield* BatchInput.scan(checked.input, { text: checked.text, skipInvalid: checked.skipInvalid })
    const checkpoint = yield* Checkpoint.open(checked.output, {
      retryFailed: checked.retryFailed
        ? (id) => scanned.ids.has(id) && BatchInput.inShard(checked.shard, id)
        : undefined
    })
    const BatchRun = yield* Effect.promise(() => import("./batchRun.js"))
    return yield* BatchRun.run(checked, scanned, checkpoint, plan(checked, scanned, checkpoint), stderrIsTTY)
  })
