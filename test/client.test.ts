/**
 * `SagemakerClient` as the one foundation layer: services on one client share its socket pool and
 * its credential resolution, one client serves many endpoints (each error names the endpoint of
 * its call), and the client's options come from `Config` or are refused with a clear reason.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { vi } from "vitest"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import * as Loopback from "./helpers/loopbackServer.js"

const credentials: SagemakerClient.Credentials = {
  accessKeyId: Redacted.make("AKIDTEST"),
  secretAccessKey: Redacted.make("client-test-secret")
}

const layers = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp } as const

class Chat extends Effect.Tag("test/Chat")<Chat, SagemakerGenerator.Service>() {}
class Summary extends Effect.Tag("test/Summary")<Summary, SagemakerGenerator.Service>() {}

/** Two generators for two endpoints, both on the client layer given. */
const twoGenerators = <E>(client: Layer.Layer<SagemakerClient.SagemakerClient, E>) =>
  Layer.mergeAll(
    Layer.effect(Chat, SagemakerGenerator.make({ model: "chat-endpoint" })),
    Layer.effect(Summary, SagemakerGenerator.make({ model: "summary-endpoint" }))
  ).pipe(Layer.provide(client))

/** Sets environment variables for the scope (the SDK's providers read `process.env`). */
const stubEnv = (vars: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value)
    }),
    () => Effect.sync(() => vi.unstubAllEnvs())
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-sagemaker-client-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("services on one client share it", () => {
  for (const [transport, layerOf] of Object.entries(layers)) {
    it.scopedLive(`${transport}: two generators on one client use one socket; two complete layers use two`, () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))
        const alternate = Effect.gen(function*() {
          for (let i = 0; i < 4; i++) {
            yield* Chat.run("hello")
            yield* Summary.run("hello")
          }
        })

        yield* alternate.pipe(
          Effect.provide(twoGenerators(layerOf({ region: "us-east-1", credentials, endpointUrl: server.url })))
        )
        assert.strictEqual(server.requests.length, 8)
        assert.deepStrictEqual(
          [...new Set(server.requests.map((request) => request.path))],
          ["/endpoints/chat-endpoint/invocations", "/endpoints/summary-endpoint/invocations"]
        )
        assert.strictEqual(server.connections(), 1)

        // The same calls on two complete layers: each builds its own client, so its own pool.
        const complete = (model: string) =>
          Layer.build(SagemakerGenerator.layer({
            model,
            transport: transport as SagemakerClient.Transport,
            endpointUrl: server.url,
            awsAccessKeyId: Secret.fromToken("AKIDTEST"),
            awsSecretAccessKey: Secret.fromToken("client-test-secret"),
            awsRegionName: Secret.fromToken("us-east-1")
          }))
        const chat = yield* complete("chat-endpoint")
        const summary = yield* complete("summary-endpoint")
        const before = server.connections()
        for (let i = 0; i < 4; i++) {
          yield* SagemakerGenerator.run("hello").pipe(Effect.provide(chat))
          yield* SagemakerGenerator.run("hello").pipe(Effect.provide(summary))
        }
        assert.strictEqual(server.connections() - before, 2)
      }))

    it.scopedLive(`${transport}: two generators on one client resolve the credentials once`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        // A credential process that counts its runs: the SDK's own provider runs it when it resolves.
        const counter = join(dir, "runs")
        writeFileSync(counter, "")
        const script = join(dir, "credentials.mjs")
        writeFileSync(
          script,
          `import { appendFileSync } from "node:fs"\n` +
            `appendFileSync(${JSON.stringify(counter)}, "x")\n` +
            `console.log(JSON.stringify({ Version: 1, AccessKeyId: "AKIDPROCESS", SecretAccessKey: "process-secret" }))\n`
        )
        writeFileSync(
          join(dir, "config"),
          `[profile counted]\nregion = eu-west-1\ncredential_process = ${process.execPath} ${script}\n`
        )
        writeFileSync(join(dir, "credentials"), "")
        yield* stubEnv({ AWS_CONFIG_FILE: join(dir, "config"), AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials") })
        const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))

        yield* Effect.gen(function*() {
          yield* Chat.run("hello")
          yield* Summary.run("hello")
          yield* Chat.run("again")
        }).pipe(Effect.provide(twoGenerators(layerOf({ profile: "counted", endpointUrl: server.url }))))

        assert.strictEqual(readFileSync(counter, "utf8").length, 1)
        for (const request of server.requests) {
          assert.match(request.headers.authorization!, /Credential=AKIDPROCESS\/\d{8}\/eu-west-1\/sagemaker\//)
        }
      }))
  }

  it.scopedLive("an error names the endpoint of the call that failed, not another on the same client", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start((request) =>
        request.path.includes("summary-endpoint")
          ? Loopback.serviceError(400, "ValidationError", { message: "Endpoint summary-endpoint not found." })
          : Loopback.json(200, [{ generated_text: "ok" }])
      )
      for (const layerOf of Object.values(layers)) {
        const [chat, summary] = yield* Effect.all([Chat.run("hello"), Effect.flip(Summary.run("hello"))]).pipe(
          Effect.provide(twoGenerators(layerOf({ region: "us-east-1", credentials, endpointUrl: server.url })))
        )
        assert.deepStrictEqual(chat.replies, ["ok"])
        assert.strictEqual(summary._tag, "SagemakerValidationError")
        assert.strictEqual((summary as { endpointName?: string }).endpointName, "summary-endpoint")
      }
    }))
})

describe("SagemakerClient.layerConfig", () => {
  it.scopedLive("reads the client's options from the ConfigProvider", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "from config" }]))
      const client = SagemakerClient.layerConfig({
        region: Config.string("REGION"),
        endpointUrl: Config.string("ENDPOINT_URL"),
        maxConcurrency: Config.integer("MAX_CONCURRENCY"),
        credentials: Config.all({
          accessKeyId: Config.redacted("KEY_ID"),
          secretAccessKey: Config.redacted("SECRET_KEY")
        })
      })
      const result = yield* SagemakerGenerator.run("hello").pipe(
        Effect.provide(SagemakerGenerator.layerWithClient({ model: "ep" }).pipe(Layer.provide(client))),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["REGION", "ap-south-1"],
            ["ENDPOINT_URL", server.url],
            ["MAX_CONCURRENCY", "8"],
            ["KEY_ID", "AKIDCONFIG"],
            ["SECRET_KEY", "config-secret-value"]
          ])
        ))
      )
      assert.deepStrictEqual(result.replies, ["from config"])
      assert.match(server.requests[0]!.headers.authorization!, /Credential=AKIDCONFIG\/\d{8}\/ap-south-1\//)
    }))

  it.effect("a setting that cannot be read fails the layer, naming its path and never its value", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(SagemakerClient.layerConfig({
        region: Config.string("REGION"),
        maxConcurrency: Config.integer("MAX_CONCURRENCY"),
        credentials: Config.all({
          accessKeyId: Config.redacted("KEY_ID"),
          secretAccessKey: Config.redacted("SECRET_KEY")
        })
      })).pipe(
        Effect.scoped,
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["MAX_CONCURRENCY", "many-secret-9"], ["KEY_ID", "AKIDCONFIG"], ["SECRET_KEY", "config-secret"]])
        ))
      )
      assert.strictEqual(error._tag, "AWSConfigurationError")
      assert.include(error.description, "REGION is missing")
      assert.include(error.description, "MAX_CONCURRENCY is invalid")
      assert.notInclude(JSON.stringify(error), "many-secret-9")
      assert.notInclude(error.message + error.description, "config-secret")
    }))
})

describe("the client's options are checked when it is built", () => {
  const refused = (options: SagemakerClient.Options, reason: RegExp) =>
    it.effect(`refuses ${JSON.stringify(options)}`, () =>
      Effect.gen(function*() {
        for (const layerOf of Object.values(layers)) {
          const error = yield* Layer.build(layerOf({ region: "us-east-1", ...options })).pipe(
            Effect.scoped,
            Effect.flip
          )
          assert.strictEqual(error._tag, "AWSConfigurationError")
          assert.match(error.description, reason)
          assert.match(error.message, /SageMaker Runtime client/)
        }
      }))
  refused({ endpointUrl: "not a url" }, /endpointUrl must be an http:\/\/ or https:\/\/ URL, got "not a url"/)
  refused({ endpointUrl: "ftp://127.0.0.1:9" }, /endpointUrl must be an http:\/\/ or https:\/\/ URL/)
  refused({ maxConcurrency: 0 }, /maxConcurrency must be a whole number of at least 1, got 0/)
  refused({ region: "us east 1" }, /no valid AWS region is configured/)

  it.effect("an unknown transport name is refused, naming the ones there are", () =>
    Effect.gen(function*() {
      const error = yield* SagemakerClient.makeTransport("carrier-pigeon" as SagemakerClient.Transport, {}).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.include(error.description, `unknown transport "carrier-pigeon" (expected http or sdk)`)
    }))
})
