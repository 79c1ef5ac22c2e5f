/**
 * The fault matrix of issue 5 as data: for each fault the emulator can inject, what `run` or
 * `stream` of a generator (real transport, fast retry policy) ends with, whether it was retried,
 * how many requests the emulator saw, and the time it may take. `test/faultMatrix.test.ts` asserts
 * every row for every transport; `test/reliability/faultMatrixTable.ts` prints the measured table.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as SagemakerEmulator from "../../src/emulator/SagemakerEmulator.js"
import type { SagemakerError } from "../../src/SagemakerError.js"
import * as SagemakerGenerator from "../../src/SagemakerGenerator.js"
import * as Secret from "../../src/Secret.js"
import type { TransportVariant } from "./transports.js"

/** The emulator checks signatures against this key pair (so that the 403s of SigV4 are real). */
export const matrixCredentials = { accessKeyId: "AKIDMATRIX", secretAccessKey: "matrix-secret" }

/** The emulator's body limit in the matrix: small, so that a real 413 needs no 6 MiB body. */
export const MATRIX_MAX_BODY_BYTES = 65_536

/** The retry policy of the matrix: the default one (3 attempts, jittered backoff), 1 ms apart. */
export const FAST_RETRY = { baseDelay: "1 millis" } as const

export interface Expectation {
  /** The error's `_tag`, or `reply` for a success. */
  readonly outcome: string
  /** Fields of the error (exact values). */
  readonly fields?: Readonly<Record<string, unknown>>
  /** Requests the emulator saw for the call. */
  readonly requests: number
  /** Requests the client abandoned (the emulator saw their connection close before the answer). */
  readonly aborted?: number
  /** Stream chunks delivered before the failure. */
  readonly chunks?: number
  /** The call takes at least this long (timeouts). */
  readonly minMillis?: number
  /** The call ends within this long. */
  readonly maxMillis: number
}

export interface MatrixRow {
  /** The fault as the table names it. */
  readonly fault: string
  /** The emulator fault (its `--fault` spelling) or how the row is produced. */
  readonly injected: string
  readonly operation: "run" | "stream"
  readonly endpoint: SagemakerEmulator.EndpointOptions
  readonly generator?: Partial<SagemakerGenerator.Options>
  readonly prompt?: string
  readonly expect: Expectation
}

const FAST = 1_000
const TIMEOUT = "100 millis"

const row = (
  fault: string,
  injected: string,
  operation: "run" | "stream",
  endpoint: SagemakerEmulator.EndpointOptions,
  expect: Expectation,
  extra: { readonly generator?: Partial<SagemakerGenerator.Options>; readonly prompt?: string } = {}
): MatrixRow => ({ fault, injected, operation, endpoint, expect, ...extra })

const fault = (f: SagemakerEmulator.Fault): SagemakerEmulator.EndpointOptions => ({ faults: f })

const inference = (statusCode: number | undefined, errorCode: string, retryable: boolean) => ({
  ...(statusCode === undefined ? {} : { statusCode }),
  errorCode,
  retryable
})

export const rows: ReadonlyArray<MatrixRow> = [
  // ---- InvokeEndpoint (`run`) ------------------------------------------------------------------
  row("none (baseline)", "-", "run", {}, { outcome: "reply", requests: 1, maxMillis: FAST }),
  row("not ready, then ready", "not-ready:2", "run", fault({ kind: "not-ready", count: 2 }), {
    outcome: "reply",
    requests: 3,
    maxMillis: FAST
  }),
  row("not ready (429 ModelNotReadyException)", "not-ready", "run", fault({ kind: "not-ready" }), {
    outcome: "SagemakerNotReadyError",
    fields: { statusCode: 429, retryable: true },
    requests: 3,
    maxMillis: FAST
  }),
  row("throttled, 400 ThrottlingException", "throttle", "run", fault({ kind: "throttle" }), {
    outcome: "SagemakerThrottlingError",
    fields: { statusCode: 400, retryable: true },
    requests: 3,
    maxMillis: FAST
  }),
  row("throttled, 429 ThrottlingException", "throttle-429", "run", fault({ kind: "throttle-429" }), {
    outcome: "SagemakerThrottlingError",
    fields: { statusCode: 429, retryable: true },
    requests: 3,
    maxMillis: FAST
  }),
  row("model error (424 ModelError)", "model-error", "run", fault({ kind: "model-error" }), {
    outcome: "SagemakerInferenceError",
    fields: { ...inference(424, "ModelError", false), originalStatusCode: 400 },
    requests: 1,
    maxMillis: FAST
  }),
  row("500 InternalFailure", "internal-failure", "run", fault({ kind: "internal-failure" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(500, "InternalFailure", true),
    requests: 3,
    maxMillis: FAST
  }),
  row("503 ServiceUnavailable", "service-unavailable", "run", fault({ kind: "service-unavailable" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(503, "ServiceUnavailable", true),
    requests: 3,
    maxMillis: FAST
  }),
  row("530 InternalDependencyException", "dependency-failure", "run", fault({ kind: "dependency-failure" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(530, "InternalDependencyException", false),
    requests: 1,
    maxMillis: FAST
  }),
  row("403 AccessDeniedException", "access-denied", "run", fault({ kind: "access-denied" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(403, "AccessDeniedException", false),
    requests: 1,
    maxMillis: FAST
  }),
  row(
    "403 InvalidSignatureException",
    "wrong secret key",
    "run",
    {},
    {
      outcome: "SagemakerInferenceError",
      fields: inference(403, "InvalidSignatureException", false),
      requests: 1,
      maxMillis: FAST
    },
    { generator: { awsSecretAccessKey: Secret.fromToken("not-the-matrix-secret") } }
  ),
  row(
    "403 UnrecognizedClientException",
    "unknown access key",
    "run",
    {},
    {
      outcome: "SagemakerInferenceError",
      fields: inference(403, "UnrecognizedClientException", false),
      requests: 1,
      maxMillis: FAST
    },
    { generator: { awsAccessKeyId: Secret.fromToken("AKIDUNKNOWN") } }
  ),
  row(
    "413 body over the limit",
    `body > maxBodyBytes (${MATRIX_MAX_BODY_BYTES})`,
    "run",
    {},
    {
      outcome: "SagemakerInferenceError",
      fields: inference(413, "Unknown", false),
      requests: 1,
      maxMillis: FAST
    },
    { prompt: "x".repeat(MATRIX_MAX_BODY_BYTES) }
  ),
  row("malformed body (200, plain text)", "malformed", "run", fault({ kind: "malformed" }), {
    outcome: "SagemakerResponseError",
    fields: { retryable: false },
    requests: 1,
    maxMillis: FAST
  }),
  row("empty body (200)", "responder: empty body", "run", { responder: () => ({ body: "" }) }, {
    outcome: "SagemakerResponseError",
    fields: { retryable: false },
    requests: 1,
    maxMillis: FAST
  }),
  row("truncated body (200, half)", "truncate", "run", fault({ kind: "truncate" }), {
    outcome: "SagemakerResponseError",
    fields: { retryable: false },
    requests: 1,
    maxMillis: FAST
  }),
  row("empty 500", "empty-500", "run", fault({ kind: "empty-500" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(500, "Unknown", true),
    requests: 3,
    maxMillis: FAST
  }),
  row("HTML 500", "html-500", "run", fault({ kind: "html-500" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(500, "Unknown", true),
    requests: 3,
    maxMillis: FAST
  }),
  row("connection reset", "reset", "run", fault({ kind: "reset" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(undefined, "Transport", true),
    requests: 3,
    maxMillis: FAST
  }),
  row(
    "latency past the timeout",
    "latency:5000, timeout 100 ms",
    "run",
    fault({ kind: "latency", millis: 5_000 }),
    {
      outcome: "SagemakerTimeoutError",
      fields: { timeoutMillis: 100, retryable: true },
      requests: 3,
      aborted: 3,
      minMillis: 300,
      maxMillis: 1_500
    },
    { generator: { timeout: TIMEOUT } }
  ),
  row(
    "no answer, deadline",
    "stall, deadline 250 ms",
    "run",
    fault({ kind: "stall" }),
    {
      outcome: "SagemakerTimeoutError",
      fields: { timeoutMillis: 250, retryable: true },
      requests: 1,
      aborted: 1,
      minMillis: 250,
      maxMillis: 1_000
    },
    { generator: { retry: { ...FAST_RETRY, deadline: "250 millis" } } }
  ),
  row(
    "slow, per-attempt timeout and deadline",
    "latency:5000, timeout 150 ms, deadline 400 ms",
    "run",
    fault({ kind: "latency", millis: 5_000 }),
    {
      // Attempts at ~0, ~151 and ~302 ms; the deadline cuts the third.
      outcome: "SagemakerTimeoutError",
      fields: { timeoutMillis: 400, retryable: true },
      requests: 3,
      aborted: 3,
      minMillis: 400,
      maxMillis: 1_500
    },
    { generator: { timeout: "150 millis", retry: { attempts: 10, ...FAST_RETRY, deadline: "400 millis" } } }
  ),
  // ---- InvokeEndpointWithResponseStream (`stream`) ---------------------------------------------
  row("none (baseline)", "-", "stream", {}, { outcome: "reply", requests: 1, maxMillis: FAST }),
  row("not ready (429)", "not-ready", "stream", fault({ kind: "not-ready" }), {
    outcome: "SagemakerNotReadyError",
    fields: { statusCode: 429, retryable: true },
    requests: 3,
    maxMillis: FAST
  }),
  row("throttled, 400", "throttle", "stream", fault({ kind: "throttle" }), {
    outcome: "SagemakerThrottlingError",
    fields: { statusCode: 400, retryable: true },
    requests: 3,
    maxMillis: FAST
  }),
  row("500 before the stream", "internal-failure", "stream", fault({ kind: "internal-failure" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(500, "InternalFailure", true),
    requests: 3,
    maxMillis: FAST
  }),
  row("model error before the stream", "model-error", "stream", fault({ kind: "model-error" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(424, "ModelError", false),
    requests: 1,
    maxMillis: FAST
  }),
  row("reset before the stream", "reset", "stream", fault({ kind: "reset" }), {
    outcome: "SagemakerInferenceError",
    fields: inference(undefined, "Transport", true),
    requests: 3,
    maxMillis: FAST
  }),
  row(
    "ModelStreamError in the first frame",
    "stream-error:0",
    "stream",
    fault({ kind: "stream-error", afterParts: 0 }),
    {
      outcome: "SagemakerStreamError",
      fields: { errorCode: "ModelStreamError", retryable: false },
      requests: 1,
      chunks: 0,
      maxMillis: FAST
    }
  ),
  row("mid-stream ModelStreamError", "stream-error:3", "stream", fault({ kind: "stream-error", afterParts: 3 }), {
    outcome: "SagemakerStreamError",
    fields: { errorCode: "ModelStreamError", retryable: false },
    requests: 1,
    chunks: 3,
    maxMillis: FAST
  }),
  row(
    "mid-stream InternalStreamFailure",
    "internal-stream-failure:3",
    "stream",
    fault({ kind: "internal-stream-failure", afterParts: 3 }),
    {
      outcome: "SagemakerStreamError",
      fields: { errorCode: "InternalStreamFailure", retryable: false },
      requests: 1,
      chunks: 3,
      maxMillis: FAST
    }
  ),
  row("truncated stream (last frame cut)", "truncate", "stream", fault({ kind: "truncate" }), {
    outcome: "SagemakerStreamError",
    fields: { errorCode: "TruncatedStream", retryable: false },
    requests: 1,
    maxMillis: FAST
  }),
  row("bad CRC in the 4th frame", "bad-crc:3", "stream", fault({ kind: "bad-crc", afterParts: 3 }), {
    outcome: "SagemakerStreamError",
    fields: { errorCode: "ChecksumMismatch", retryable: false },
    requests: 1,
    chunks: 3,
    maxMillis: FAST
  }),
  row("reset mid-stream", "reset:3", "stream", fault({ kind: "reset", afterParts: 3 }), {
    outcome: "SagemakerStreamError",
    fields: { retryable: false },
    requests: 1,
    chunks: 3,
    maxMillis: FAST
  }),
  row("malformed stream (plain text)", "malformed", "stream", fault({ kind: "malformed" }), {
    outcome: "SagemakerResponseError",
    fields: { retryable: false },
    requests: 1,
    chunks: 0,
    maxMillis: FAST
  }),
  row(
    "latency past the timeout",
    "latency:5000, timeout 100 ms",
    "stream",
    fault({ kind: "latency", millis: 5_000 }),
    {
      outcome: "SagemakerTimeoutError",
      fields: { timeoutMillis: 100, retryable: true },
      requests: 3,
      aborted: 3,
      minMillis: 300,
      maxMillis: 1_500
    },
    { generator: { timeout: TIMEOUT } }
  ),
  row(
    "stall mid-stream",
    "stall:3, timeout 100 ms",
    "stream",
    fault({ kind: "stall", afterParts: 3 }),
    {
      outcome: "SagemakerTimeoutError",
      fields: { timeoutMillis: 100, retryable: true },
      requests: 1,
      aborted: 1,
      chunks: 3,
      minMillis: 100,
      maxMillis: FAST
    },
    { generator: { timeout: TIMEOUT } }
  )
]

export interface Outcome {
  readonly outcome: string
  readonly error: SagemakerError | undefined
  readonly requests: number
  readonly aborted: number
  readonly chunks: number
  readonly millis: number
}

/** The endpoint every row calls (one emulator per row). */
const ENDPOINT = "matrix"

/** Runs one row against a fresh emulator with `variant`'s transport. */
export const runRow = (matrixRow: MatrixRow, variant: TransportVariant): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const emulator = yield* SagemakerEmulator.make({
      credentials: [matrixCredentials],
      maxBodyBytes: MATRIX_MAX_BODY_BYTES,
      endpoints: { [ENDPOINT]: matrixRow.endpoint }
    }).pipe(Effect.orDie)
    const layer = SagemakerGenerator.layer({
      model: ENDPOINT,
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken(matrixCredentials.accessKeyId),
      awsSecretAccessKey: Secret.fromToken(matrixCredentials.secretAccessKey),
      awsSessionToken: null,
      awsRegionName: Secret.fromToken("us-east-1"),
      awsProfileName: null,
      retry: FAST_RETRY,
      ...variant.options,
      ...matrixRow.generator
    })
    const prompt = matrixRow.prompt ?? "What's Natural Language Processing?"
    const kwargs = { max_new_tokens: 8 }
    // Built in this row's scope: the client lives until the row is done.
    const context = yield* Effect.orDie(Layer.build(layer))
    let chunks = 0
    const call = matrixRow.operation === "run"
      ? Effect.map(SagemakerGenerator.run(prompt, kwargs), (result) => result.replies.length)
      : Stream.runForEach(SagemakerGenerator.stream(prompt, kwargs), () =>
        Effect.sync(() => {
          chunks++
        }))
    const started = performance.now()
    const result = yield* Effect.either(Effect.provide(call, context))
    const millis = Math.round(performance.now() - started)
    // The emulator learns of an abandoned request when its socket closes, just after the call ends.
    const aborted = matrixRow.expect.aborted
    if (aborted !== undefined) {
      yield* emulator.awaitClosedRequests(aborted).pipe(Effect.timeout("2 seconds"), Effect.ignore)
    }
    const requests = (yield* emulator.requests).filter((r) => r.endpointName === ENDPOINT)
    return {
      outcome: Either.isRight(result) ? "reply" : result.left._tag,
      error: Either.isLeft(result) ? result.left : undefined,
      requests: requests.length,
      aborted: requests.filter((r) => r.aborted).length,
      chunks,
      millis
    }
  }).pipe(Effect.scoped)

/** The table for the README: one line per row, with the time measured for `outcomes`. */
export const formatTable = (
  results: ReadonlyArray<{ readonly row: MatrixRow; readonly outcome: Outcome }>
): string => {
  const lines = [
    "| operation | fault | injected | ends with | retried | requests | time (measured) | bound |",
    "|---|---|---|---|---|---|---|---|"
  ]
  for (const { outcome, row: r } of results) {
    const fields = r.expect.fields ?? {}
    const detail = [
      "statusCode" in fields ? String(fields.statusCode) : undefined,
      "errorCode" in fields ? String(fields.errorCode) : undefined,
      "timeoutMillis" in fields ? `${fields.timeoutMillis} ms` : undefined
    ].filter((x) => x !== undefined).join(", ")
    const ends = `\`${r.expect.outcome}\`${detail === "" ? "" : ` (${detail})`}` +
      (r.expect.chunks !== undefined && r.expect.chunks > 0 ? ` after ${r.expect.chunks} chunks` : "")
    const bound = `${r.expect.minMillis === undefined ? "" : `≥ ${r.expect.minMillis} ms, `}< ${r.expect.maxMillis} ms`
    lines.push(
      `| ${r.operation} | ${r.fault} | \`${r.injected}\` | ${ends} | ${
        r.expect.requests > 1 ? "yes" : "no"
      } | ${r.expect.requests} | ${outcome.millis} ms | ${bound} |`
    )
  }
  return lines.join("\n")
}
