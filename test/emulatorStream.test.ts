/**
 * Conformance of the emulator's InvokeEndpointWithResponseStream with the real SDK client (docs/protocol.md
 * §6): PayloadParts for every split strategy, exception frames, broken streams, framing on the wire.
 */
import {
  InternalStreamFailure,
  ModelError,
  ModelNotReadyException,
  ModelStreamError
} from "@aws-sdk/client-sagemaker-runtime"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { client, concatBytes, invoke, stream, streamOk, utf8 } from "./helpers/emulator.js"

const streamBody = JSON.stringify({
  inputs: "Explain Natural Language Processing",
  parameters: { max_new_tokens: 12, seed: 7 },
  stream: true
})
const call = { EndpointName: "ep", ContentType: "application/json", Body: streamBody }

/** The same request on InvokeEndpoint returns the whole event text: the reference for the stream. */
const expectedText = (emulator: SagemakerEmulator.Service, endpointName = "ep") =>
  Effect.gen(function*() {
    const c = yield* client(emulator)
    const r = Either.getOrThrow(yield* invoke(c, { ...call, EndpointName: endpointName }))
    assert.strictEqual(r.ContentType, "text/event-stream")
    return r.Body!.transformToString()
  })

const fatalDecodes = (bytes: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

describe("SagemakerEmulator streams: split strategies", () => {
  it.scopedLive("whole: one part per token event, in order", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
      const expected = yield* expectedText(emulator)
      const c = yield* client(emulator)
      const { parts, response } = yield* streamOk(c, call)
      assert.strictEqual(response.ContentType, "text/event-stream")
      assert.strictEqual(response.InvokedProductionVariant, "AllTraffic")
      assert.strictEqual(response.$metadata.httpStatusCode, 200)
      assert.strictEqual(parts.length, 12)
      assert.deepStrictEqual(parts.map(utf8), expected.split(/(?<=\n\n)/))
      assert.isTrue(parts.every((p) => utf8(p).startsWith("data:{") && utf8(p).endsWith("}\n\n")))
    }))

  const strategies: ReadonlyArray<SagemakerEmulator.SplitStrategy> = [
    { kind: "whole" },
    { kind: "fixed", size: 7 },
    { kind: "inside-lines" },
    { kind: "inside-utf8" },
    { kind: "bytes" }
  ]
  for (const split of strategies) {
    it.scopedLive(`${split.kind}: concatenated parts equal the model output`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "tgi", split })
        const expected = yield* expectedText(emulator)
        const c = yield* client(emulator)
        const { parts, error } = yield* streamOk(c, call)
        assert.isUndefined(error)
        assert.strictEqual(utf8(concatBytes(parts)), expected)
        assert.isTrue(parts.every((p) => p.length > 0))
        const bytes = new TextEncoder().encode(expected)
        const events = expected.split(/(?<=\n\n)/).length
        switch (split.kind) {
          case "fixed":
            assert.strictEqual(parts.length, Math.ceil(bytes.length / 7))
            assert.isTrue(parts.slice(0, -1).every((p) => p.length === 7))
            break
          case "bytes":
            assert.strictEqual(parts.length, bytes.length)
            break
          case "inside-lines": {
            const lines = expected.split("\n").filter((l) => l.length > 0).length
            assert.strictEqual(parts.length, lines + 1)
            assert.isTrue(parts.slice(0, -1).every((p) => !utf8(p).endsWith("\n")))
            break
          }
          case "inside-utf8": {
            const multiByte = [...expected].filter((ch) => new TextEncoder().encode(ch).length > 1).length
            assert.isAbove(multiByte, 0)
            assert.strictEqual(parts.length, events + multiByte)
            // Every multi-byte character is cut after its lead byte, so no such part decodes on its own.
            assert.strictEqual(parts.filter((p) => p[p.length - 1]! >= 0xc0).length, multiByte)
            assert.strictEqual(parts.filter((p) => p[0]! >= 0x80 && p[0]! < 0xc0).length, multiByte)
            assert.isTrue(parts.filter((p) => p[p.length - 1]! >= 0xc0).every((p) => !fatalDecodes(p)))
            break
          }
          case "whole":
            assert.strictEqual(parts.length, events)
        }
      }))
  }

  it.scopedLive("per-endpoint split and JSON lines (lmi) content type", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        endpoints: { ep: { personality: "lmi", split: { kind: "fixed", size: 5 } } }
      })
      const c = yield* client(emulator)
      const { parts, response } = yield* streamOk(c, call)
      assert.strictEqual(response.ContentType, "application/jsonlines")
      assert.isTrue(parts.slice(0, -1).every((p) => p.length === 5))
      const lines = utf8(concatBytes(parts)).trimEnd().split("\n")
      assert.strictEqual(lines.length, 12)
    }))
})

describe("SagemakerEmulator streams: what is streamed", () => {
  it.scopedLive("tgi without \"stream\": true sends its JSON body as PayloadParts", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
      const c = yield* client(emulator)
      const { parts, response } = yield* streamOk(c, { ...call, Body: JSON.stringify({ inputs: "hello there" }) })
      assert.strictEqual(response.ContentType, "application/json")
      assert.strictEqual(parts.length, 1)
      assert.isString((JSON.parse(utf8(parts[0]!)) as Array<{ generated_text: string }>)[0]!.generated_text)
    }))

  it.scopedLive("default personality streams on the stream route unless \"stream\": false", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const a = yield* streamOk(c, { ...call, Body: JSON.stringify({ inputs: "hello there" }) })
      assert.strictEqual(a.response.ContentType, "text/event-stream")
      assert.isAbove(a.parts.length, 1)
      const b = yield* streamOk(c, { ...call, Body: JSON.stringify({ inputs: "hello there", stream: false }) })
      assert.strictEqual(b.response.ContentType, "application/json")
      assert.strictEqual(b.parts.length, 1)
    }))
})

describe("SagemakerEmulator streams: containers that do not stream", () => {
  // The original JumpStart Llama 2 containers answer with one JSON body, and SageMaker relays it on the
  // stream route rather than refusing the call.
  const llamaCalls = [
    { EndpointName: "text", Body: JSON.stringify({ inputs: "hello there", parameters: { max_new_tokens: 6 } }) },
    {
      EndpointName: "chat",
      Body: JSON.stringify({ inputs: [[{ role: "user", content: "hello there" }]], parameters: { max_new_tokens: 6 } })
    }
  ]

  it.scopedLive("llama2 and llama2-chat answer the stream route with their whole JSON body, even for \"stream\": true", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        endpoints: { text: { personality: "llama2" }, chat: { personality: "llama2-chat" } }
      })
      const c = yield* client(emulator)
      const bodies: Array<unknown> = []
      for (const call of llamaCalls) {
        const input = { ...call, ContentType: "application/json", CustomAttributes: "accept_eula=true" }
        const whole = Either.getOrThrow(yield* invoke(c, input)).Body!.transformToString()
        for (const streamFlag of [false, true]) {
          const body = JSON.stringify({ ...JSON.parse(call.Body) as object, ...(streamFlag ? { stream: true } : {}) })
          const { error, parts, response } = yield* streamOk(c, { ...input, Body: body })
          assert.isUndefined(error)
          assert.strictEqual(response.$metadata.httpStatusCode, 200)
          assert.strictEqual(response.ContentType, "application/json")
          assert.strictEqual(parts.length, 1)
          assert.strictEqual(utf8(parts[0]!), whole)
        }
        bodies.push(JSON.parse(whole))
      }
      const [text, chat] = bodies as [Array<{ generation: string }>, Array<{ generation: { role: string } }>]
      assert.strictEqual(text.length, 1)
      assert.isString(text[0]!.generation)
      assert.strictEqual(chat.length, 1)
      assert.strictEqual(chat[0]!.generation.role, "assistant")
    }))

  it.scopedLive("without accept_eula=true the stream route fails as InvokeEndpoint does: a 424 ModelError", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "llama2" })
      const c = yield* client(emulator)
      const result = yield* stream(c, { ...llamaCalls[0]!, EndpointName: "ep", ContentType: "application/json" })
      const error = yield* Either.match(result, {
        onLeft: Effect.succeed,
        onRight: () => Effect.die("expected the stream to be refused")
      })
      assert.instanceOf(error, ModelError)
      assert.strictEqual(error.$metadata?.httpStatusCode, 424)
      assert.include(error.message, "accept_eula=true")
    }))
})

describe("SagemakerEmulator streams: failures", () => {
  const failing = (fault: SagemakerEmulator.Fault) =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "tgi", faults: { ep: fault } })
      const expected = yield* expectedText(emulator, "reference")
      const c = yield* client(emulator)
      const result = yield* stream(c, call)
      const requests = yield* emulator.requests
      return { emulator, expected, result, requests }
    })

  it.scopedLive("ModelStreamError is thrown after the earlier parts", () =>
    Effect.gen(function*() {
      const { expected, requests, result } = yield* failing({ kind: "stream-error", afterParts: 2 })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 2)
      assert.deepStrictEqual(parts.map(utf8), expected.split(/(?<=\n\n)/).slice(0, 2))
      assert.instanceOf(error, ModelStreamError)
      assert.strictEqual(error!.name, "ModelStreamError")
      assert.strictEqual(error!["ErrorCode"], "ModelInvocationTimeExceeded")
      assert.strictEqual(
        error!.message,
        "Your model primary did not complete sending the inference response in the allotted time."
      )
      assert.strictEqual(error!.$fault, "client")
      assert.strictEqual(requests.at(-1)!.status, 200)
      assert.strictEqual(requests.at(-1)!.fault, "stream-error")
    }))

  it.scopedLive("ModelStreamError with a custom code after the default single part", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "stream-error", errorCode: "StreamBroken", message: "broken" })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 1)
      assert.instanceOf(error, ModelStreamError)
      assert.strictEqual(error!["ErrorCode"], "StreamBroken")
      assert.strictEqual(error!.message, "broken")
    }))

  it.scopedLive("InternalStreamFailure is thrown, server fault", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "internal-stream-failure", afterParts: 3 })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 3)
      assert.instanceOf(error, InternalStreamFailure)
      assert.strictEqual(error!.$fault, "server")
    }))

  it.scopedLive("truncate: the last frame is cut; the SDK reports a truncated message", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "truncate" })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 11)
      assert.instanceOf(error, Error)
      assert.strictEqual(error!.message, "Truncated event message received.")
    }))

  it.scopedLive("bad-crc: the checksum of the second frame fails", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "bad-crc" })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 1)
      assert.match(error!.message, /^The message checksum \(\d+\) did not match the expected value of \d+$/)
    }))

  it.scopedLive("reset mid-stream: parts first, then a connection error; not a client abort", () =>
    Effect.gen(function*() {
      const { emulator, result } = yield* failing({ kind: "reset", afterParts: 2 })
      const { error, parts } = Either.getOrThrow(result)
      assert.strictEqual(parts.length, 2)
      assert.isDefined(error)
      assert.strictEqual(error!["code"], "ECONNRESET")
      assert.notInstanceOf(error, ModelStreamError)
      assert.strictEqual(yield* emulator.closedRequests, 0)
    }))

  it.scopedLive("reset before the response: send() fails", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "reset" })
      assert.isTrue(Either.isLeft(result))
      const e = Either.flip(result).pipe(Either.getOrThrow)
      assert.strictEqual(e["code"], "ECONNRESET")
      assert.isUndefined(e.$metadata?.httpStatusCode)
    }))

  it.scopedLive("malformed: the parts are not a valid model stream", () =>
    Effect.gen(function*() {
      const { result } = yield* failing({ kind: "malformed" })
      const { error, parts } = Either.getOrThrow(result)
      assert.isUndefined(error)
      assert.strictEqual(utf8(concatBytes(parts)).startsWith("This is not a valid model response"), true)
    }))

  it.scopedLive("HTTP-level faults on the stream route are thrown by send()", () =>
    Effect.gen(function*() {
      const a = yield* failing({ kind: "model-error" })
      assert.instanceOf(Either.flip(a.result).pipe(Either.getOrThrow), ModelError)
      const b = yield* failing({ kind: "not-ready" })
      const e = Either.flip(b.result).pipe(Either.getOrThrow)
      assert.instanceOf(e, ModelNotReadyException)
      assert.strictEqual(e.$metadata?.httpStatusCode, 429)
    }))

  it.scopedLive("stall: a client giving up mid-stream is seen as a closed request", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        personality: "tgi",
        faults: { ep: { kind: "stall", afterParts: 2 } }
      })
      const c = yield* client(emulator)
      const r = yield* stream(c, call).pipe(Effect.timeout("150 millis"), Effect.option)
      assert.strictEqual(r._tag, "None")
      yield* emulator.awaitClosedRequests(1).pipe(Effect.timeout("2 seconds"))
      const recorded = (yield* emulator.requests)[0]!
      assert.isTrue(recorded.aborted)
      assert.strictEqual(recorded.status, 200)
    }))

  it.scopedLive("partDelayMillis spaces the frames out", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ personality: "tgi", partDelayMillis: 15 })
      const c = yield* client(emulator)
      const started = Date.now()
      const { parts } = yield* streamOk(c, call)
      assert.strictEqual(parts.length, 12)
      assert.isAtLeast(Date.now() - started, 12 * 15)
    }))
})

describe("SagemakerEmulator streams: wire format", () => {
  it.scopedLive("chunked eventstream with the literal PayloadPart frame of docs/protocol.md §6.2", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        responder: () => ({ contentType: "text/plain", body: ["hi\n", "there\n"] })
      })
      const res = yield* Effect.promise(() =>
        fetch(`${emulator.url}/endpoints/ep/invocations-response-stream`, { method: "POST", body: "{}" })
      )
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("content-type"), "application/vnd.amazon.eventstream")
      assert.strictEqual(res.headers.get("x-amzn-sagemaker-content-type"), "text/plain")
      assert.strictEqual(res.headers.get("x-amzn-invoked-production-variant"), "AllTraffic")
      assert.strictEqual(res.headers.get("transfer-encoding"), "chunked")
      const bytes = new Uint8Array(yield* Effect.promise(() => res.arrayBuffer()))
      const literal =
        "0000006c000000592b57ac750b3a6576656e742d7479706507000b5061796c6f6164506172740d3a636f6e74656e742d747970650700186170706c69636174696f6e2f6f637465742d73747265616d0d3a6d6573736167652d747970650700056576656e7468690a1afd11e3"
      assert.strictEqual(Buffer.from(bytes.subarray(0, 108)).toString("hex"), literal)
      assert.strictEqual(bytes.length, 108 + 111)
    }))
})
