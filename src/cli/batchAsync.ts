/**
 * The run of `effect-sagemaker batch --async`, once its command line, input and output were
 * checked: the items the output holds no result for go through `SagemakerBatch.runAsync`. Each
 * submission SageMaker accepts is appended to the output as a line of its own
 * (`{"id", "submitted": <handle>}`) before anything else is done with it; each result is appended
 * as `batch` appends them. The items the output holds a submission for are awaited from their
 * handle, never submitted again.
 *
 * @since 0.1.0
 * @internal
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../emulator/SagemakerEmulator.js"
import * as SagemakerAsync from "../SagemakerAsync.js"
import * as SagemakerBatch from "../SagemakerBatch.js"
import * as SagemakerClient from "../SagemakerClient.js"
import type { SagemakerError } from "../SagemakerError.js"
import * as SagemakerGenerator from "../SagemakerGenerator.js"
import * as Secret from "../Secret.js"
import { type UsageError, usageError } from "./args.js"
import type { AsyncSettings, ItemsFailed, Plan, Settings } from "./batch.js"
import * as BatchInput from "./batchInput.js"
import { allRead, countOutcome, drawProgress, plural, resultLine, start } from "./batchRun.js"
import type * as Checkpoint from "./checkpoint.js"
import { connectClient, EMULATOR_ENDPOINT } from "./connect.js"
import * as Progress from "./progress.js"

/** `SagemakerAsync`'s first wait before a look at a result; `--poll-interval` may shorten it. */
const FIRST_POLL = Duration.seconds(1)

/** The line that records a submission: the handle, as `Schema.encode(SagemakerAsync.Handle)` makes it. */
const submittedLine = (event: SagemakerBatch.Submitted): string =>
  JSON.stringify({ id: event.id, submitted: Schema.encodeSync(SagemakerAsync.Handle)(event.handle) })

/** The client, the endpoint and the S3 endpoint of the run: the configured ones, or the embedded emulator's. */
interface Connection {
  readonly client: SagemakerClient.Service
  readonly model: string
  readonly s3EndpointUrl: string | undefined
}

/**
 * The embedded emulator with its endpoint deployed for async inference, and a client on it (as
 * `connect.ts` makes one for the real-time route: static keys, which the emulator does not check).
 */
const embedded = (
  settings: Settings
): Effect.Effect<Connection, SagemakerError | SagemakerEmulator.EmulatorServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const emulator = yield* SagemakerEmulator.make({ asyncEndpoints: [EMULATOR_ENDPOINT] })
    yield* Console.error(
      `No endpoint configured (--endpoint or SAGEMAKER_ENDPOINT_NAME): submitting to the embedded SageMaker ` +
        `emulator's async endpoint at ${emulator.url} (its S3 at ${emulator.s3Url})`
    )
    const options = yield* SagemakerGenerator.clientOptions({
      model: EMULATOR_ENDPOINT,
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken("EMULATOR"),
      awsSecretAccessKey: Secret.fromToken("emulator-secret"),
      awsSessionToken: null,
      awsRegionName: Secret.fromToken("us-east-1"),
      awsProfileName: null
    })
    const client = yield* SagemakerClient.makeTransport(settings.transport, options)
    return { client, model: EMULATOR_ENDPOINT, s3EndpointUrl: emulator.s3Url }
  })

/** The handles of this run's items that the output holds a submission for, decoded. */
const resumable = (
  settings: Settings,
  scanned: BatchInput.Scanned,
  checkpoint: Checkpoint.Checkpoint
): Effect.Effect<ReadonlyMap<string, SagemakerAsync.Handle>, UsageError> =>
  Effect.gen(function*() {
    const handles = new Map<string, SagemakerAsync.Handle>()
    const undecodable: Array<string> = []
    for (const [id, encoded] of checkpoint.submitted) {
      if (!scanned.ids.has(id) || !BatchInput.inShard(settings.shard, id)) continue
      const decoded = Schema.decodeUnknownEither(SagemakerAsync.Handle)(encoded)
      if (Either.isLeft(decoded)) undecodable.push(id)
      else handles.set(id, decoded.right)
    }
    if (undecodable.length > 0) {
      return yield* usageError(
        `--output ${settings.output} holds ${plural(undecodable.length, "submission")} that ` +
          `${undecodable.length === 1 ? "is" : "are"} no SagemakerAsync handle (the first: the id ` +
          `"${undecodable[0]}"): give another --output`
      )
    }
    // The embedded emulator of an earlier run ended with it, and its S3 with it: nothing to collect.
    if (settings.endpoint === undefined && handles.size > 0) {
      return yield* usageError(
        `--output ${settings.output} holds ${plural(handles.size, "submission")} to the embedded emulator of ` +
          `an earlier run, whose results ended with it: give another --output, or an --endpoint`
      )
    }
    return handles
  })

export const run = (
  settings: Settings,
  asyncSettings: AsyncSettings,
  scanned: BatchInput.Scanned,
  checkpoint: Checkpoint.Checkpoint,
  plan: Plan,
  stderrIsTTY: boolean
): Effect.Effect<
  void,
  | UsageError
  | ItemsFailed
  | BatchInput.InputError
  | Checkpoint.OutputError
  | SagemakerError
  | SagemakerEmulator.EmulatorServeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const started = yield* start(settings, scanned, checkpoint, plan)
    if (started === undefined) return
    const handles = yield* resumable(settings, scanned, checkpoint)
    if (handles.size > 0) {
      yield* started.note(
        `resuming ${plural(handles.size, "submission")} of ${settings.output}: awaited, not sent again`
      )
    }

    const connection: Connection = settings.endpoint === undefined
      ? yield* embedded(settings)
      : yield* Effect.map(connectClient(settings, { retry: false, logAttempts: false }), ({ client, generator }) => ({
        client,
        model: generator.model,
        s3EndpointUrl: asyncSettings.s3EndpointUrl
      }))
    const poll = asyncSettings.pollInterval
    const service = yield* SagemakerAsync.make({
      model: connection.model,
      // No --param: the library's default, as for the real-time route.
      generationKwargs: Object.keys(settings.generationKwargs).length === 0 ? undefined : settings.generationKwargs,
      requestFormat: settings.requestFormat,
      awsCustomAttributes: settings.customAttributes,
      timeout: settings.timeout,
      retry: settings.retries === 0 ? false : { attempts: settings.retries + 1 },
      inputLocation: asyncSettings.inputLocation,
      s3EndpointUrl: connection.s3EndpointUrl,
      poll: poll === undefined ? undefined : { firstDelay: Duration.min(FIRST_POLL, poll), lastDelay: poll }
    }).pipe(Effect.provideService(SagemakerClient.SagemakerClient, connection.client))

    const tally = {
      ...Progress.emptyTally(plan.todo),
      failedByTag: new Map<string, number>(),
      async: { submitted: 0, resumed: 0, pending: 0, collected: 0 }
    }
    const { finish } = yield* drawProgress(settings, plan, tally, stderrIsTTY)

    /** The ids submitted by this run whose result is not written yet. */
    const awaiting = new Set<string>()
    // `runAsync` takes an infallible stream: a read error ends the items and is failed with after.
    let readError: BatchInput.InputError | undefined
    let sent = 0
    const items = scanned.items.pipe(
      Stream.filter((item) =>
        BatchInput.inShard(settings.shard, item.id) && !checkpoint.succeeded.has(item.id) &&
        !checkpoint.failed.has(item.id)
      ),
      Stream.map((item): SagemakerBatch.AsyncItem => {
        sent++
        const handle = handles.get(item.id)
        return handle === undefined ? item : { ...item, handle }
      }),
      Stream.catchAll((error) => {
        readError = error
        return Stream.empty
      })
    )
    const events = SagemakerBatch.runAsync(items, {
      submitConcurrency: settings.concurrency,
      onProgress: (snapshot) => {
        tally.async.pending = snapshot.pending
        tally.async.resumed = snapshot.resumed
        tally.tokens = snapshot.tokens
      }
    })
    yield* events.pipe(
      // Uninterruptible: a line the output holds is one the summary counts.
      Stream.runForEach((event) =>
        Effect.uninterruptible(Effect.gen(function*() {
          if (event._tag === "Submitted") {
            yield* checkpoint.append(submittedLine(event))
            awaiting.add(event.id)
            tally.async.submitted++
            return
          }
          const outcome = event.outcome
          // No credentials or no region: every item would fail alike; this one is done again next time.
          if (outcome._tag === "Failure" && outcome.error._tag === "AWSConfigurationError") {
            return yield* outcome.error
          }
          yield* checkpoint.append(resultLine(event))
          tally.done++
          // A submission that failed has no handle: nothing was collected for it.
          if (awaiting.delete(event.id) || handles.has(event.id)) tally.async.collected++
          countOutcome(tally, outcome)
        }))
      ),
      Effect.provideService(SagemakerAsync.SagemakerAsync, service),
      Effect.onExit((exit) => finish(Exit.isFailure(exit)))
    )
    if (readError !== undefined) return yield* readError
    yield* allRead(scanned.name, plan.todo, sent)
    return yield* started.outcome(tally.failed)
  })
