/**
 * `effect-sagemaker batch --input prompts.jsonl --output results.jsonl`: many prompts through
 * `SagemakerBatch.run` (or, with `--async`, `SagemakerBatch.runAsync`), resumable from its own
 * output. Its options and their checks, the input check and the checkpoint all run before the AWS
 * SDK is loaded and before anything is sent (`batchRun.ts` and `batchAsync.ts` do the sending).
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
import { nonEmpty, parseDuration, parseHttpUrl, parseWholeNumber } from "./parse.js"

/** `SagemakerBatch`'s defaults (written out: help does not load the library). */
const DEFAULT_CONCURRENCY = 16
const DEFAULT_MAX_CONCURRENCY = 256
/** The generator's socket pool holds this many requests in flight. */
const CONCURRENCY_CEILING = 1024
/** `SagemakerAsync`'s longest wait between two looks at a result (written out, as above). */
const DEFAULT_POLL_INTERVAL = "30s"

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
    `With --async each item goes to the endpoint's async inference queue (InvokeEndpointAsync) and its ` +
    `result is collected from S3: each submission is recorded in --output as {"id", "submitted"} before ` +
    `its result, and the same command again awaits the recorded submissions instead of sending them again.`,
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
    {
      name: "async",
      kind: "flag",
      description: "Submit to the endpoint's async inference queue and collect the results from S3; " +
        "--concurrency is then the submissions in flight"
    },
    {
      name: "input-location",
      kind: "value",
      placeholder: "S3URI",
      description: "With --async: an S3 prefix (s3://bucket/inputs/) where request bodies over the 128,000 bytes " +
        "SageMaker takes inline are uploaded",
      default: "none: such an item fails"
    },
    {
      name: "s3-endpoint-url",
      kind: "value",
      placeholder: "URL",
      description: "With --async: another S3 endpoint, path-style (e.g. a separately started emulator's)",
      default: "AWS_ENDPOINT_URL_S3, else S3's"
    },
    {
      name: "poll-interval",
      kind: "value",
      placeholder: "DURATION",
      description: "With --async: the longest wait between two looks at a result in S3 (the first is after 1s " +
        "or this, whichever is shorter, then the wait doubles)",
      default: DEFAULT_POLL_INTERVAL
    },
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

/** `--async` and its options, checked. */
export interface AsyncSettings {
  readonly inputLocation: string | undefined
  readonly s3EndpointUrl: string | undefined
  readonly pollInterval: Duration.Duration | undefined
}

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
  /** `--async`: submit, then collect from S3. */
  readonly async: AsyncSettings | undefined
}

const parseShard = (option: string, text: string): Either.Either<BatchInput.Shard, UsageError> => {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  return match !== null && Number.isSafeInteger(count) && count >= 1 && index >= 1 && index <= count
    ? Either.right({ index, count })
    : Either.left(usageError(`${option} must be I/N with 1 ≤ I ≤ N, e.g. 1/4, got "${text}"`))
}

const parseS3Prefix = (option: string, text: string): Either.Either<string, UsageError> =>
  /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(text)
    ? Either.right(text)
    : Either.left(usageError(`${option} must be an S3 prefix such as s3://my-bucket/inputs/, got "${text}"`))

/** `--async` and the options only it takes; the options it has no use for are refused. */
const asyncSettings = (args: ParsedArgs): Effect.Effect<AsyncSettings | undefined, UsageError> =>
  Effect.gen(function*() {
    const only = ["input-location", "s3-endpoint-url", "poll-interval"]
    if (!args.flags.has("async")) {
      const given = only.find((name) => args.values.has(name))
      return given === undefined ? undefined : yield* usageError(`--${given} needs --async`)
    }
    if (args.flags.has("ordered")) {
      return yield* usageError("--ordered does not go with --async: results are written as they are collected")
    }
    if (args.values.has("max-concurrency")) {
      return yield* usageError(
        "--max-concurrency does not go with --async: submissions do not adapt, --concurrency sets how many are in flight"
      )
    }
    return {
      inputLocation: yield* optional(args, "input-location", parseS3Prefix),
      s3EndpointUrl: yield* optional(args, "s3-endpoint-url", parseHttpUrl),
      pollInterval: yield* optional(args, "poll-interval", parseDuration)
    }
  })

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
    const async = yield* asyncSettings(args)
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
    if (async?.s3EndpointUrl !== undefined && endpoint.endpoint === undefined) {
      return yield* usageError(
        "--s3-endpoint-url needs an endpoint name (--endpoint or SAGEMAKER_ENDPOINT_NAME): " +
          "the embedded emulator has its own S3"
      )
    }
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
      progressInterval,
      async
    }
  })

/** What the output already held of this run's items. */
export interface Plan {
  /** Items of the input (in the shard) whose result is not in the output: this run's. */
  readonly todo: number
  /** Of those, the items submitted by an earlier `--async` run: awaited, not submitted again. */
  readonly resumable: number
  readonly earlierSucceeded: number
  readonly earlierFailedByTag: ReadonlyMap<string, number>
}

const plan = (settings: Settings, scanned: BatchInput.Scanned, checkpoint: Checkpoint.Checkpoint): Plan => {
  let todo = 0
  let resumable = 0
  let earlierSucceeded = 0
  const earlierFailedByTag = new Map<string, number>()
  for (const id of scanned.ids.keys()) {
    if (!BatchInput.inShard(settings.shard, id)) continue
    const failed = checkpoint.failed.get(id)
    if (checkpoint.succeeded.has(id)) earlierSucceeded++
    else if (failed !== undefined) earlierFailedByTag.set(failed, (earlierFailedByTag.get(failed) ?? 0) + 1)
    else {
      todo++
      if (checkpoint.submitted.has(id)) resumable++
    }
  }
  return { todo, resumable, earlierSucceeded, earlierFailedByTag }
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
    const planned = plan(checked, scanned, checkpoint)
    if (checked.async !== undefined) {
      const BatchAsync = yield* Effect.promise(() => import("./batchAsync.js"))
      return yield* BatchAsync.run(checked, checked.async, scanned, checkpoint, planned, stderrIsTTY)
    }
    // Sending them again through the real-time route would run them twice (and an async endpoint refuses it).
    if (planned.resumable > 0) {
      return yield* usageError(
        `--output ${checked.output} holds ${planned.resumable} async submission${
          planned.resumable === 1 ? "" : "s"
        } without a result: run with --async to collect them`
      )
    }
    const BatchRun = yield* Effect.promise(() => import("./batchRun.js"))
    return yield* BatchRun.run(checked, scanned, checkpoint, planned, stderrIsTTY)
  })
