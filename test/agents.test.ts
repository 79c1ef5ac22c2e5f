/**
 * The connection seam of both transports: an agent of the caller's (a proxy agent, a custom CA)
 * carries every request instead of the client's own pool, and the endpoint a request goes to when
 * none is given (FIPS, dual-stack) is the one the AWS SDK resolves.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import type * as stream from "node:stream"
import { vi } from "vitest"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { credentials, region } from "./helpers/fixtures.js"

const layers = { sdk: SagemakerClient.layerSdk, http: SagemakerClient.layerHttp } as const

/** An agent that sends every connection to one loopback port, whatever host was asked for: a proxy's seam. */
class LoopbackAgent extends http.Agent {
  readonly hosts: Array<string> = []
  constructor(readonly port: number) {
    super({ keepAlive: true })
  }
  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, stream: stream.Duplex) => void
  ) {
    this.hosts.push(`${options.host}:${options.port}`)
    return super.createConnection({ ...options, host: "127.0.0.1", port: this.port }, callback)
  }
}

/** An https agent that only notes the host a connection was for, then refuses it (nothing leaves loopback). */
class RecordingAgent extends https.Agent {
  readonly hosts: Array<string> = []
  override createConnection(options: http.ClientRequestArgs): net.Socket {
    this.hosts.push(String(options.host))
    throw new Error("refused by the test agent")
  }
}

const reply = (client: Layer.Layer<SagemakerClient.SagemakerClient, unknown>) =>
  SagemakerGenerator.run("hello").pipe(
    Effect.provide(SagemakerGenerator.layerWithClient({ model: "ep", retry: false }).pipe(Layer.provide(client)))
  )

describe("an agent of the caller's", () => {
  for (const [transport, layerOf] of Object.entries(layers)) {
    it.scoped(`${transport}: carries every request, and stays the caller's when the client closes`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make()
        const agent = new LoopbackAgent(emulator.port)
        yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
        // A host that does not resolve: only the agent's connection reaches the emulator.
        const options = { region, credentials, endpointUrl: "http://sagemaker.proxy.invalid:8080", httpAgent: agent }

        const first = yield* reply(layerOf(options))
        const second = yield* reply(layerOf(options))

        assert.strictEqual(first.replies.length, 1)
        assert.deepStrictEqual(second.replies, first.replies)
        assert.isAtLeast(agent.hosts.length, 1)
        assert.isTrue(agent.hosts.every((host) => host === "sagemaker.proxy.invalid:8080"))
        const requests = yield* emulator.requests
        assert.strictEqual(requests.length, 2)
        assert.strictEqual(requests[0]!.headers["host"], "sagemaker.proxy.invalid:8080")
      }))
  }

  it.effect("is refused with maxConcurrency, which sizes only the client's own pool", () =>
    Effect.gen(function*() {
      const agent = new http.Agent()
      const exit = yield* Effect.exit(
        Layer.build(SagemakerClient.layer({ region, credentials, httpAgent: agent, maxConcurrency: 8 })).pipe(
          Effect.scoped
        )
      )
      agent.destroy()
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(error?._tag, "AWSConfigurationError")
        assert.include(error?.message, "set maxSockets on your agent instead")
      }
    }))

  it.effect("that is not an agent is refused when the layer is built", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(
          SagemakerClient.layer({ region, credentials, httpsAgent: { keepAlive: true } as unknown as https.Agent })
        ).pipe(Effect.scoped)
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.include(exit.cause.error.message, "httpsAgent must be a node http.Agent (or https.Agent), got object")
      }
    }))
})

/** Sets environment variables for the scope (the SDK's providers read `process.env`). */
const stubEnv = (vars: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value)
    }),
    () => Effect.sync(() => vi.unstubAllEnvs())
  )

describe("the endpoint, when none is given, is the one the SDK resolves", () => {
  const cases = [
    { env: { AWS_USE_FIPS_ENDPOINT: "true" }, host: "runtime-fips.sagemaker.us-east-1.amazonaws.com" },
    { env: { AWS_USE_DUALSTACK_ENDPOINT: "true" }, host: "runtime.sagemaker.us-east-1.api.aws" },
    {
      env: { AWS_USE_FIPS_ENDPOINT: "true", AWS_USE_DUALSTACK_ENDPOINT: "true" },
      host: "runtime.sagemaker-fips.us-east-1.api.aws"
    },
    { env: {}, host: "runtime.sagemaker.us-east-1.amazonaws.com" }
  ]
  for (const { env, host } of cases) {
    const name = Object.keys(env).join(" and ") || "neither FIPS nor dual-stack"
    it.scoped(`${name}: ${host}, on both transports`, () =>
      Effect.gen(function*() {
        yield* stubEnv({ ...env, AWS_ENDPOINT_URL: "", AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: "" })
        for (const [transport, layerOf] of Object.entries(layers)) {
          const agent = new RecordingAgent()
          const exit = yield* Effect.exit(
            reply(layerOf({ region, credentials, httpsAgent: agent }))
          )
          agent.destroy()
          assert.isTrue(Exit.isFailure(exit), transport)
          assert.deepStrictEqual(agent.hosts, [host], transport)
        }
      }))
  }
})
