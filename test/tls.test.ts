/**
 * The lean transport over HTTPS, the only scheme real SageMaker endpoints speak: node's `https`
 * agent, certificate checks on, through a TLS proxy in front of the emulator. In a child process,
 * because node reads `NODE_EXTRA_CA_CERTS` (here: the test certificate) only when it starts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { runTsx } from "./helpers/childProcess.js"

const FIXTURE = path.join(import.meta.dirname, "fixtures", "leanOverTls.ts")

const runFixture = (env: Record<string, string>) => runTsx(FIXTURE, [], env)

describe("the lean transport over HTTPS", () => {
  it.live("run and stream go through TLS with the certificate checked, signed as over HTTP", () =>
    Effect.gen(function*() {
      const result = yield* runFixture({
        NODE_EXTRA_CA_CERTS: path.join(import.meta.dirname, "fixtures", "tls", "cert.pem")
      })
      assert.strictEqual(result.code, 0, result.stderr)
      const output = JSON.parse(result.stdout) as {
        replies: Array<string>
        streamed: string
        statuses: Array<number>
      }
      assert.strictEqual(output.replies.length, 1)
      assert.isAbove(output.replies[0]!.length, 0)
      assert.isAbove(output.streamed.length, 0)
      // Both requests passed the emulator's SigV4 check.
      assert.deepStrictEqual(output.statuses, [200, 200])
    }))

  it.live("an untrusted certificate fails the call as a transport error, not a defect", () =>
    Effect.gen(function*() {
      const result = yield* runFixture({ NODE_EXTRA_CA_CERTS: "" })
      assert.strictEqual(result.code, 1)
      assert.match(result.stderr, /SagemakerInferenceError/)
      assert.match(result.stderr, /self[- ]signed certificate/i)
    }))
})
