/**
 * Clock-skew correction on the lean transport, as the SDK does it: a request refused because its
 * signature's date is too far from the service's clock is signed again once with the offset read
 * from the response's `Date`, and later calls keep the corrected clock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as SagemakerClient from "../src/SagemakerClient.js"
import { utf8 } from "./helpers/generator.js"
import * as Loopback from "./helpers/loopbackServer.js"

/** The service's clock runs an hour ahead of ours. */
const SKEW = 3_600_000

const amzDate = (value: string | undefined) =>
  value === undefined
    ? Number.NaN
    : Date.parse(value.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"))

/** Refuses a signature more than 5 minutes from its clock, as SigV4 services do. */
const skewedService = () =>
  Loopback.start((request) => {
    const serverNow = Date.now() + SKEW
    const headers = { date: new Date(serverNow).toUTCString() }
    const signedAt = amzDate(request.headers["x-amz-date"] as string | undefined)
    if (Math.abs(serverNow - signedAt) > 300_000) {
      return Loopback.serviceError(403, "InvalidSignatureException", {
        message: "Signature expired: the request's date is too far from the service's"
      }, headers)
    }
    return Loopback.json(200, [{ generated_text: "in time" }], headers)
  })

const request = (endpointName: string): SagemakerClient.InvokeRequest => ({
  endpointName,
  body: utf8(JSON.stringify({ inputs: "hi" })),
  contentType: "application/json",
  accept: "application/json"
})

describe("the http transport corrects a skewed clock", () => {
  it.scopedLive("a request refused for skew is signed again once, and the next calls use the offset", () =>
    Effect.gen(function*() {
      const server = yield* skewedService()
      const client = yield* SagemakerClient.makeHttp({
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDTEST"), secretAccessKey: Redacted.make("skew-secret") },
        endpointUrl: server.url
      })
      const first = yield* client.invokeEndpoint(request("ep"))
      assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(first.body)), [{ generated_text: "in time" }])
      assert.strictEqual(server.requests.length, 2)
      yield* client.invokeEndpoint(request("ep"))
      assert.strictEqual(server.requests.length, 3)
      // The stream route is signed with the corrected clock at once (its JSON answer is no event
      // stream, which is all that fails here).
      yield* Effect.either(Effect.scoped(client.invokeEndpointWithResponseStream(request("ep"))))
      assert.strictEqual(server.requests.length, 4)
      for (const seen of server.requests.slice(1)) {
        assert.isAtMost(Math.abs(amzDate(seen.headers["x-amz-date"] as string) - (Date.now() + SKEW)), 60_000)
      }
    }))

  it.scopedLive("a refusal that the server's clock does not explain is not retried", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() =>
        Loopback.serviceError(403, "InvalidSignatureException", { message: "The signature does not match" }, {
          date: new Date().toUTCString()
        })
      )
      const client = yield* SagemakerClient.makeHttp({
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDTEST"), secretAccessKey: Redacted.make("skew-secret") },
        endpointUrl: server.url
      })
      const error = yield* Effect.flip(client.invokeEndpoint(request("ep")))
      assert.strictEqual(error._tag, "SagemakerInferenceError")
      assert.strictEqual(server.requests.length, 1)
    }))
})
