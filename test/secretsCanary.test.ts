/**
 * Secrets canary (issue 5): known canary values for the five AWS secrets (access key id, secret
 * key, session token, region, profile), given as environment-variable secrets (through the
 * ConfigProvider) and as token secrets, through every error path we can reach, `toDict`, logs
 * (a captured Logger at the most verbose level, the failures logged with their causes) and spans
 * (a recording tracer): no canary may appear in any error's message, `String`, `JSON.stringify`,
 * inspection, stack, encoded form or cause chain, in any log line, or in any span attribute,
 * event or exit.
 *
 * One exception, by design: the region is part of some of SageMaker's own error texts (a
 * ModelError's CloudWatch link, an AccessDenied resource ARN), which the library passes on
 * verbatim in `text`. The region canary is checked everywhere else.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as util from "node:util"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { SagemakerError } from "../src/SagemakerError.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import { makeRecordingTracer } from "./helpers/tracer.js"
import { transports } from "./helpers/transports.js"

const CANARY = {
  accessKeyId: "AKIACANARY7Q4XJ2ZD",
  secretAccessKey: "canarySecret/9z8y7x6w+Vq",
  sessionToken: "canarySessionToken+5v4u3t2s",
  region: "ap-canary-7",
  profile: "canary-profile-q1w2e3"
} as const

/** A region the SDK refuses (an underscore): the layer fails, and must not repeat it. */
const BAD_REGION = "canary_bad_region_8k"
/** A strict environment variable that is not set. */
const MISSING_VAR = "CANARY_MISSING_VARIABLE"

const secretValues = [CANARY.accessKeyId, CANARY.secretAccessKey, CANARY.sessionToken, CANARY.profile, BAD_REGION]

const env = new Map([
  ["AWS_ACCESS_KEY_ID", CANARY.accessKeyId],
  ["AWS_SECRET_ACCESS_KEY", CANARY.secretAccessKey],
  ["AWS_SESSION_TOKEN", CANARY.sessionToken],
  ["AWS_DEFAULT_REGION", CANARY.region],
  ["AWS_PROFILE", CANARY.profile]
])

type Secrets = Pick<
  SagemakerGenerator.Options,
  "awsAccessKeyId" | "awsSecretAccessKey" | "awsSessionToken" | "awsRegionName" | "awsProfileName"
>

const secretModes: ReadonlyArray<{ readonly name: string; readonly secrets: Secrets }> = [
  // The defaults: Secret.fromEnvVar("AWS_...", { strict: false }) through the ConfigProvider.
  { name: "env-var secrets", secrets: {} },
  {
    name: "token secrets",
    secrets: {
      awsAccessKeyId: Secret.fromToken(CANARY.accessKeyId),
      awsSecretAccessKey: Secret.fromToken(CANARY.secretAccessKey),
      awsSessionToken: Secret.fromToken(CANARY.sessionToken),
      awsRegionName: Secret.fromToken(CANARY.region),
      awsProfileName: Secret.fromToken(CANARY.profile)
    }
  }
]

/** Everything a user could print of an error, its cause chain included. */
const renderError = (error: unknown, depth = 0): Array<string> => {
  if (depth > 5 || error === undefined || error === null) return []
  const out = [String(error), util.inspect(error, { depth: 10 }), JSON.stringify(error) ?? ""]
  if (error instanceof Error) out.push(error.message, error.stack ?? "")
  try {
    out.push(JSON.stringify(Schema.encodeUnknownSync(SagemakerError)(error)))
  } catch {
    // Not one of ours (a cause).
  }
  if (typeof error === "object" && "cause" in error) out.push(...renderError(error.cause, depth + 1))
  return out
}

interface Path {
  readonly name: string
  readonly tag: string
  readonly effect: (emulators: Emulators) => Effect.Effect<unknown, unknown>
}

interface Emulators {
  /** Checks signatures with the canary keys; every fault on its own endpoint; a small body limit. */
  readonly main: SagemakerEmulator.Service
  /** Knows the canary access key with another secret: InvalidSignatureException. */
  readonly wrongSecret: SagemakerEmulator.Service
  /** Knows another access key only: UnrecognizedClientException. */
  readonly unknownKey: SagemakerEmulator.Service
}

const PROMPT = "What's Natural Language Processing?"
const run = (model: string, prompt: string = PROMPT) => (e: Emulators) =>
  Effect.provide(SagemakerGenerator.run(prompt), generatorFor(e.main, model))
const stream = (model: string) => (e: Emulators) =>
  Effect.provide(Stream.runDrain(SagemakerGenerator.stream(PROMPT)), generatorFor(e.main, model))

// Filled per test with the secrets mode and transport.
let currentOptions: Partial<SagemakerGenerator.Options> = {}
const generatorFor = (
  emulator: SagemakerEmulator.Service,
  model: string,
  extra: Partial<SagemakerGenerator.Options> = {}
) =>
  SagemakerGenerator.layer({
    model,
    endpointUrl: emulator.url,
    retry: { attempts: 2, baseDelay: "1 millis" },
    ...currentOptions,
    ...extra
  })

const paths: ReadonlyArray<Path> = [
  { name: "a reply (run)", tag: "reply", effect: run("ok") },
  { name: "a reply (stream)", tag: "reply", effect: stream("ok") },
  { name: "not ready", tag: "SagemakerNotReadyError", effect: run("not-ready") },
  { name: "throttled", tag: "SagemakerThrottlingError", effect: run("throttle") },
  { name: "model error", tag: "SagemakerInferenceError", effect: run("model-error") },
  { name: "500", tag: "SagemakerInferenceError", effect: run("internal-failure") },
  { name: "530", tag: "SagemakerInferenceError", effect: run("dependency-failure") },
  { name: "HTML 500", tag: "SagemakerInferenceError", effect: run("html-500") },
  { name: "access denied", tag: "SagemakerInferenceError", effect: run("access-denied") },
  { name: "connection reset", tag: "SagemakerInferenceError", effect: run("reset") },
  { name: "413", tag: "SagemakerInferenceError", effect: run("ok", "x".repeat(70_000)) },
  {
    name: "invalid signature (403)",
    tag: "SagemakerInferenceError",
    effect: (e) => Effect.provide(SagemakerGenerator.run(PROMPT), generatorFor(e.wrongSecret, "ok"))
  },
  {
    name: "unrecognized client (403)",
    tag: "SagemakerInferenceError",
    effect: (e) => Effect.provide(SagemakerGenerator.run(PROMPT), generatorFor(e.unknownKey, "ok"))
  },
  { name: "unknown endpoint (400 ValidationError)", tag: "SagemakerValidationError", effect: run("nowhere") },
  {
    name: "kwargs that are not JSON (client-side validation)",
    tag: "SagemakerValidationError",
    effect: (e) => Effect.provide(SagemakerGenerator.run(PROMPT, { seed: 1n }), generatorFor(e.main, "ok"))
  },
  { name: "malformed body", tag: "SagemakerResponseError", effect: run("malformed") },
  {
    name: "timeout",
    tag: "SagemakerTimeoutError",
    effect: (e) =>
      Effect.provide(SagemakerGenerator.run(PROMPT), generatorFor(e.main, "slow", { timeout: "50 millis" }))
  },
  { name: "mid-stream error", tag: "SagemakerStreamError", effect: stream("stream-error") },
  { name: "truncated stream", tag: "SagemakerStreamError", effect: stream("truncate") },
  {
    name: "a strict variable that is not set",
    tag: "AWSConfigurationError",
    effect: (e) =>
      Effect.provide(
        SagemakerGenerator.run(PROMPT),
        generatorFor(e.main, "ok", { awsSessionToken: Secret.fromEnvVar(MISSING_VAR) })
      )
  },
  {
    name: "an access key without its secret",
    tag: "AWSConfigurationError",
    effect: (e) =>
      Effect.provide(SagemakerGenerator.run(PROMPT), generatorFor(e.main, "ok", { awsSecretAccessKey: null }))
  },
  {
    name: "an invalid region",
    tag: "AWSConfigurationError",
    effect: (e) =>
      Effect.provide(
        SagemakerGenerator.run(PROMPT),
        generatorFor(e.main, "ok", { awsRegionName: Secret.fromToken(BAD_REGION) })
      )
  },
  {
    name: "no credentials for the profile",
    tag: "AWSConfigurationError",
    effect: (e) =>
      Effect.provide(
        SagemakerGenerator.run(PROMPT),
        generatorFor(e.main, "ok", { awsAccessKeyId: null, awsSecretAccessKey: null, awsSessionToken: null })
      )
  },
  {
    name: "a serialized generator with a token secret",
    tag: "SagemakerDeserializationError",
    effect: () =>
      Effect.provide(
        SagemakerGenerator.run(PROMPT),
        SagemakerGenerator.fromDict({
          type: "haystack_integrations.components.generators.amazon_sagemaker.sagemaker.SagemakerGenerator",
          init_parameters: { model: "ok", aws_secret_access_key: { type: "token", token: CANARY.secretAccessKey } }
        })
      )
  },
  {
    name: "a serialized generator with a raw secret value",
    tag: "SagemakerDeserializationError",
    effect: () =>
      Effect.provide(
        SagemakerGenerator.run(PROMPT),
        SagemakerGenerator.fromDict({
          type: "haystack_integrations.components.generators.amazon_sagemaker.sagemaker.SagemakerGenerator",
          init_parameters: { model: "ok", aws_secret_access_key: CANARY.secretAccessKey }
        })
      )
  }
]

const startEmulators = Effect.gen(function*() {
  const faults: Record<string, SagemakerEmulator.Fault> = {
    "not-ready": { kind: "not-ready" },
    "throttle": { kind: "throttle" },
    "model-error": { kind: "model-error" },
    "internal-failure": { kind: "internal-failure" },
    "dependency-failure": { kind: "dependency-failure" },
    "html-500": { kind: "html-500" },
    "access-denied": { kind: "access-denied" },
    "reset": { kind: "reset" },
    "malformed": { kind: "malformed" },
    "slow": { kind: "latency", millis: 2_000 },
    "stream-error": { kind: "stream-error", afterParts: 2 },
    "truncate": { kind: "truncate" }
  }
  const endpoints = Object.fromEntries([
    ["ok", {}],
    ...Object.entries(faults).map(([name, f]) => [name, { faults: f }])
  ])
  const main = yield* SagemakerEmulator.make({
    endpoints,
    maxBodyBytes: 65_536,
    credentials: [{ accessKeyId: CANARY.accessKeyId, secretAccessKey: CANARY.secretAccessKey }]
  })
  const wrongSecret = yield* SagemakerEmulator.make({
    credentials: [{ accessKeyId: CANARY.accessKeyId, secretAccessKey: "another-secret" }]
  })
  const unknownKey = yield* SagemakerEmulator.make({
    credentials: [{ accessKeyId: "AKIDSOMEONEELSE", secretAccessKey: "another-secret" }]
  })
  return { main, wrongSecret, unknownKey } satisfies Emulators
})

/** The texts SageMaker itself wrote, which the library passes on verbatim. */
const serverTexts = (error: unknown): Array<string> => {
  if (typeof error !== "object" || error === null) return []
  const record = error as Record<string, unknown>
  return ["text", "originalMessage", "logStreamArn", "rule"].flatMap((key) =>
    typeof record[key] === "string" && (record[key] as string).length > 0 ? [record[key] as string] : []
  )
}

const findCanaries = (text: string, allowedServerTexts: ReadonlyArray<string>): Array<string> => {
  const found = secretValues.filter((canary) => text.includes(canary))
  let withoutServerTexts = text
  for (const server of allowedServerTexts) withoutServerTexts = withoutServerTexts.split(server).join("<server text>")
  // JSON and inspection escape quotes inside server texts: blank the region's known carriers too.
  withoutServerTexts = withoutServerTexts
    .replace(/https:\/\/[a-z0-9-]+\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=[a-z0-9-]+/g, "<console url>")
    .replace(/arn:aws:[a-z]+:[a-z0-9-]+:\d{12}:[^\s"'\\]+/g, "<arn>")
  if (withoutServerTexts.includes(CANARY.region)) found.push(CANARY.region)
  return found
}

for (const transport of transports) {
  for (const mode of secretModes) {
    describe(`secrets canary (${transport.name} transport, ${mode.name})`, () => {
      it.live("no error, log line or span of any path contains a secret", () =>
        Effect.gen(function*() {
          // Started outside the recording tracer and logger: only the library's spans and logs count.
          const emulators = yield* startEmulators
          const logs: Array<string> = []
          const capture = Logger.make<unknown, void>((options) => {
            logs.push(Logger.logfmtLogger.log(options), Logger.jsonLogger.log(options))
          })
          const { spans, tracer } = makeRecordingTracer()
          yield* Effect.gen(function*() {
            currentOptions = { ...transport.options, ...mode.secrets }
            const serverTextsSeen: Array<string> = []
            for (const path of paths) {
              const exit = yield* path.effect(emulators).pipe(
                Effect.tapErrorCause((cause) => Effect.logError("call failed", cause)),
                Effect.tap(() => Effect.logDebug("call succeeded")),
                Effect.withSpan(`canary: ${path.name}`),
                Effect.exit
              )
              const failure = Exit.isFailure(exit)
                ? Either.getOrUndefined(Either.flip(Cause.failureOrCause(exit.cause)))
                : undefined
              const tag = Exit.isSuccess(exit)
                ? "reply"
                : typeof failure === "object" && failure !== null && "_tag" in failure
                ? String(failure._tag)
                : Cause.pretty(exit.cause)
              assert.strictEqual(tag, path.tag, path.name)
              if (Exit.isFailure(exit)) {
                serverTextsSeen.push(...serverTexts(failure))
                const texts = [...renderError(failure), Cause.pretty(exit.cause), util.inspect(exit, { depth: 10 })]
                assert.deepStrictEqual(
                  findCanaries(texts.join("\n"), serverTexts(failure)),
                  [],
                  `${path.name}: ${texts[0]}`
                )
              }
            }
            // Logs, at every level: the failures were logged with their causes.
            assert.isAtLeast(logs.length, 2 * paths.length)
            for (const line of logs) assert.deepStrictEqual(findCanaries(line, serverTextsSeen), [], line)
            // Spans: names, attributes, events, links and exits.
            assert.isAbove(spans.length, paths.length)
            for (const span of spans) {
              const rendered = [
                span.name,
                util.inspect([...span.attributes], { depth: 10 }),
                util.inspect(span.events, { depth: 10 }),
                util.inspect(span.links, { depth: 4 })
              ].join("\n")
              assert.deepStrictEqual(findCanaries(rendered, []), [], `span ${span.name}: ${rendered}`)
              if (span.exit !== undefined && Exit.isFailure(span.exit)) {
                const text = Cause.pretty(span.exit.cause)
                assert.deepStrictEqual(findCanaries(text, serverTextsSeen), [], `span exit ${span.name}: ${text}`)
              }
            }
          }).pipe(
            Effect.withTracer(tracer),
            Logger.withMinimumLogLevel(LogLevel.All),
            Effect.provide(Logger.replace(Logger.defaultLogger, capture))
          )
        }).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(env))))
    })
  }
}

describe("secrets canary: toDict", () => {
  it("env-var secrets are written as variable names, never values", () => {
    const dict = SagemakerGenerator.toDict({ model: "ok", awsCustomAttributes: { accept_eula: true } })
    const text = JSON.stringify(dict)
    assert.deepStrictEqual(findCanaries(text, []), [])
    assert.include(text, "\"env_vars\":[\"AWS_SECRET_ACCESS_KEY\"]")
  })

  it("a token secret throws, and the thrown error holds no secret", () => {
    for (const [option, value] of Object.entries(secretModes[1]!.secrets)) {
      let thrown: unknown
      try {
        SagemakerGenerator.toDict({ model: "ok", ...secretModes[0]!.secrets, [option]: value })
      } catch (error) {
        thrown = error
      }
      assert.instanceOf(thrown, Error, option)
      assert.strictEqual(
        (thrown as Error).message,
        "Cannot serialize token-based secret. Use an alternative secret type like environment variables."
      )
      assert.deepStrictEqual(findCanaries(renderError(thrown).join("\n"), []), [], option)
    }
  })

  it("a Secret and the options print redacted", () => {
    const options = { model: "ok", ...secretModes[1]!.secrets }
    const texts = [String(options.awsSecretAccessKey), JSON.stringify(options), util.inspect(options, { depth: 10 })]
    assert.deepStrictEqual(findCanaries(texts.join("\n"), []), [])
  })
})

describe("secrets canary (the emulator's own spans)", () => {
  it.scopedLive("the emulator's server spans redact the session token and custom attributes", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecordingTracer()
      yield* Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({})
        yield* SagemakerGenerator.run("hi", { max_new_tokens: 2 }).pipe(
          Effect.provide(SagemakerGenerator.layer({
            model: "ep",
            endpointUrl: emulator.url,
            awsAccessKeyId: Secret.fromToken("AKIDCANARY"),
            awsSecretAccessKey: Secret.fromToken(CANARY.secretAccessKey),
            awsSessionToken: Secret.fromToken(CANARY.sessionToken),
            awsRegionName: Secret.fromToken("us-east-1"),
            awsProfileName: null,
            awsCustomAttributes: { note: "custom-attribute-canary" }
          }))
        )
      }).pipe(Effect.withTracer(tracer), Effect.scoped)
      const server = spans.filter((span) => span.kind === "server")
      assert.isAbove(server.length, 0)
      const rendered = util.inspect(server.map((span) => [...span.attributes]), { depth: 10 })
      assert.include(rendered, "x-amz-security-token")
      assert.notInclude(rendered, CANARY.sessionToken)
      assert.notInclude(rendered, "custom-attribute-canary")
    }))
})
