/**
 * The request settings (src/internal/policy/settings.ts): what `fromOptions` makes of a layer's
 * options, and how `forCall` merges a call's request options over them. The generator-level cases
 * (member-by-member and key-by-key merging, each field's error, a layer's NEW_SESSION on a stream)
 * are in requestOptions.test.ts and generator.test.ts; these are the rules below them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as Settings from "../src/internal/policy/settings.js"

const settings = (options: Settings.RequestOptions) => Either.getOrThrow(Settings.fromOptions(options))

/** The field and rule of a refusal, or the settings when there is none. */
const refusal = <A>(result: Either.Either<A, { readonly field: string; readonly rule: string }>) =>
  Either.match(result, { onLeft: (error) => [error.field, error.rule] as const, onRight: () => "accepted" as const })

describe("fromOptions", () => {
  it("no options: no routing, no attributes and no header, no timeout, the default retry", () => {
    assert.deepStrictEqual(settings({}), {
      routing: {},
      customAttributes: {},
      customAttributesHeader: undefined,
      timeout: undefined,
      retry: undefined
    })
    assert.strictEqual(settings({ awsCustomAttributes: null }).customAttributesHeader, undefined)
  })

  it("keeps only the routing members, and encodes the custom attributes header once", () => {
    const retry = { attempts: 5 }
    const result = settings({
      targetVariant: "blue",
      inferenceId: undefined,
      awsCustomAttributes: { accept_eula: true, n: 1, tenant: "acme" },
      timeout: "2 seconds",
      retry,
      ...{ model: "m", generationKwargs: { max_new_tokens: 3 } }
    } as Settings.RequestOptions)
    assert.deepStrictEqual(result.routing, { targetVariant: "blue" })
    assert.deepStrictEqual(result.customAttributes, { accept_eula: true, n: 1, tenant: "acme" })
    assert.strictEqual(result.customAttributesHeader, "accept_eula=true;n=1;tenant=acme")
    assert.isTrue(Duration.equals(result.timeout!, Duration.seconds(2)))
    assert.strictEqual(result.retry, retry)
  })

  it("checks routing by InvokeEndpoint's rules: NEW_SESSION and targetModel are a layer's to set", () => {
    const result = settings({ sessionId: "NEW_SESSION", targetModel: "model.tar.gz" })
    assert.deepStrictEqual(result.routing, { targetModel: "model.tar.gz", sessionId: "NEW_SESSION" })
  })

  it("a timeout must be a positive duration", () => {
    const timeouts: ReadonlyArray<Duration.DurationInput> = [
      "0 millis",
      Duration.zero,
      "soon" as Duration.DurationInput
    ]
    for (const timeout of timeouts) {
      assert.deepStrictEqual(refusal(Settings.fromOptions({ timeout })), ["timeout", "must be a positive duration"])
    }
    assert.isTrue(Duration.equals(settings({ timeout: 1500 }).timeout!, Duration.millis(1500)))
  })
})

describe("forCall", () => {
  const base = settings({
    targetVariant: "blue",
    inferenceId: "layer-id",
    awsCustomAttributes: { tenant: "acme" },
    timeout: "5 seconds",
    retry: { attempts: 2 }
  })

  it("no request options: the layer's settings themselves, so the layer's retry policy is reused", () => {
    for (const request of [undefined, null]) {
      assert.strictEqual(Either.getOrThrow(Settings.forCall(base, request, "invoke")), base)
      assert.strictEqual(Either.getOrThrow(Settings.forCall(base, request, "stream")), base)
    }
  })

  it("a member set to undefined keeps the layer's: a call cannot unset it", () => {
    const call = Either.getOrThrow(Settings.forCall(base, { targetVariant: undefined, prefixAwareId: "p-1" }, "invoke"))
    assert.deepStrictEqual(call.routing, { targetVariant: "blue", inferenceId: "layer-id", prefixAwareId: "p-1" })
  })

  it("timeout and retry replace the layer's when given, and are kept when not", () => {
    const schedule = Schedule.recurs(1)
    const replaced = Either.getOrThrow(Settings.forCall(base, { timeout: "250 millis", retry: false }, "invoke"))
    assert.isTrue(Duration.equals(replaced.timeout!, Duration.millis(250)))
    assert.strictEqual(replaced.retry, false)
    assert.strictEqual(Either.getOrThrow(Settings.forCall(base, { retry: schedule }, "invoke")).retry, schedule)
    const kept = Either.getOrThrow(Settings.forCall(base, { targetVariant: "green" }, "invoke"))
    assert.strictEqual(kept.timeout, base.timeout)
    assert.strictEqual(kept.retry, base.retry)
    assert.deepStrictEqual(
      refusal(Settings.forCall(base, { timeout: "0 millis" }, "invoke")),
      ["timeout", "must be a positive duration"]
    )
  })

  it("custom attributes null or absent keep the layer's header; given ones are merged and encoded again", () => {
    for (const request of [{ awsCustomAttributes: null }, { inferenceId: "call-id" }]) {
      const call = Either.getOrThrow(Settings.forCall(base, request, "invoke"))
      assert.strictEqual(call.customAttributes, base.customAttributes)
      assert.strictEqual(call.customAttributesHeader, "tenant=acme")
    }
    const merged = Either.getOrThrow(Settings.forCall(base, { awsCustomAttributes: { trace: false } }, "invoke"))
    assert.strictEqual(merged.customAttributesHeader, "tenant=acme;trace=false")
    assert.deepStrictEqual(base.customAttributes, { tenant: "acme" })
  })

  it("request options that are not an object are refused, saying what they are", () => {
    for (
      const [request, got] of [[[], "an array"], [7, "number"], [true, "boolean"]] as const
    ) {
      assert.deepStrictEqual(refusal(Settings.forCall(base, request, "invoke")), [
        "request",
        `must be an object of request options, got ${got}`
      ])
    }
  })

  describe("on the stream route", () => {
    const session = settings({ sessionId: "NEW_SESSION" })

    it("a call's session id replaces the layer's NEW_SESSION, and the stream is accepted", () => {
      const call = Either.getOrThrow(Settings.forCall(session, { sessionId: "0f3a-77c1" }, "stream"))
      assert.deepStrictEqual(call.routing, { sessionId: "0f3a-77c1" })
    })

    it("the layer's NEW_SESSION under other call options is still refused", () => {
      assert.deepStrictEqual(refusal(Settings.forCall(session, { inferenceId: "call-id" }, "stream")), [
        "sessionId",
        "must be an existing session's id (a stream cannot open a session: NEW_SESSION needs run)"
      ])
    })

    it("a layer's targetModel does not refuse a stream (the generator leaves it off the stream request)", () => {
      const model = settings({ targetModel: "model.tar.gz" })
      const call = Either.getOrThrow(Settings.forCall(model, { inferenceId: "call-id" }, "stream"))
      assert.deepStrictEqual(call.routing, { targetModel: "model.tar.gz", inferenceId: "call-id" })
      assert.strictEqual(Either.getOrThrow(Settings.forCall(model, undefined, "stream")), model)
    })
  })
})
