/**
 * The HTTP transport (`transport: "http"`) against the SDK transport: its event-stream decoder
 * against `@smithy/eventstream-codec`, the requests it sends against those the SDK sends for the
 * same inputs, its signatures against the emulator's SigV4 check, its credentials, region and
 * endpoint from the SDK's providers, its stream-open semantics, and the `transport` option itself
 * (validation, toDict/fromDict). The conformance suites (errorMapping, interruption, haystack,
 * generatorEmulator, faultMatrix, resources) run both transports through the same tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStreamCodec } from "@smithy/eventstream-codec"
import { fromUtf8, toUtf8 } from "@smithy/util-utf8"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { vi } from "vitest"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { classifyStreamFailure, type StreamFailure } from "../src/internal/client/errorTable.js"
import { EventStreamDecoder } from "../src/internal/client/http/eventStream.js"
import * as Routing from "../src/internal/client/routing.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import { testEnv } from "./helpers/generator.js"
import * as Loopback from "./helpers/loopbackServer.js"
import { transports } from "./helpers/transports.js"

const codec = new EventStreamCodec(toUtf8, fromUtf8)
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const payloadPart = (payload: string | Uint8Array) =>
  codec.encode({
    headers: {
      ":event-type": { type: "string", value: "PayloadPart" },
      ":content-type": { type: "string", value: "application/octet-stream" },
      ":message-type": { type: "string", value: "event" }
    },
    body: typeof payload === "string" ? fromUtf8(payload) : payload
  })

const exceptionFrame = (type: string, body: string) =>
  codec.encode({
    headers: {
      ":exception-type": { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" }
    },
    body: fromUtf8(body)
  })

const concat = (chunks: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** Feeds `pieces` to a fresh decoder, then ends it; every payload and the failure, if any. */
const decodeAll = (pieces: ReadonlyArray<Uint8Array>) => {
  const decoder = new EventStreamDecoder()
  const parts: Array<string> = []
  let failure: StreamFailure | undefined
  for (const piece of pieces) {
    const decoded = decoder.push(piece)
    parts.push(...decoded.parts.map(text))
    failure ??= decoded.failure
  }
  failure ??= decoder.end()
  return { parts, failure }
}

/** What `EventStreamCodec.decode` (the SDK's per-message decoder) throws for one whole frame. */
const codecError = (frame: Uint8Array): string => {
  try {
    codec.decode(frame)
  } catch (error) {
    return (error as Error).message
  }
  return "no error"
}

/** A deterministic PRNG (mulberry32), for reproducible random splits. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("EventStreamDecoder (the HTTP transport's event-stream framing)", () => {
  it("decodes docs/protocol.md §6.2's literal PayloadPart frame", () => {
    const literal = Buffer.from(
      "0000006c000000592b57ac750b3a6576656e742d7479706507000b5061796c6f6164506172740d3a636f6e74656e742d747970650700186170706c69636174696f6e2f6f637465742d73747265616d0d3a6d6573736167652d747970650700056576656e7468690a1afd11e3",
      "hex"
    )
    assert.deepStrictEqual(decodeAll([literal]), { parts: ["hi\n"], failure: undefined })
  })

  it("every split point of a three-frame stream gives the same payloads, in order", () => {
    const bytes = concat([payloadPart("data:{\"a\":1}\n\n"), payloadPart("é😀"), payloadPart("")])
    const expected = ["data:{\"a\":1}\n\n", "é😀", ""]
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepStrictEqual(decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]).parts, expected, `cut ${cut}`)
    }
    assert.deepStrictEqual(decodeAll(Array.from(bytes, (b) => Uint8Array.of(b))).parts, expected)
  })

  it("random frames cut at random places decode as the SDK's codec decodes each frame", () => {
    const next = random(42)
    for (let round = 0; round < 50; round++) {
      const payloads = Array.from({ length: 1 + Math.floor(next() * 20) }, () => {
        const size = next() < 0.05 ? 70_000 + Math.floor(next() * 1000) : Math.floor(next() * 300)
        return Uint8Array.from({ length: size }, () => Math.floor(next() * 256))
      })
      const frames = payloads.map(payloadPart)
      const bytes = concat(frames)
      const pieces: Array<Uint8Array> = []
      for (let at = 0; at < bytes.length;) {
        const size = 1 + Math.floor(next() * (next() < 0.5 ? 16 : 4096))
        pieces.push(bytes.subarray(at, at + size))
        at += size
      }
      const decoder = new EventStreamDecoder()
      const parts = pieces.flatMap((piece) => decoder.push(piece).parts)
      assert.isUndefined(decoder.end())
      assert.deepStrictEqual(
        parts.map((p) => Buffer.from(p).toString("hex")),
        frames.map((f) => Buffer.from(codec.decode(f).body).toString("hex")),
        `round ${round}`
      )
    }
  })

  it("a corrupted message CRC or prelude CRC fails with the SDK decoder's message", () => {
    const good = payloadPart("one")
    const badMessage = Uint8Array.from(payloadPart("two"))
    badMessage[badMessage.length - 1]! ^= 0xff
    const a = decodeAll([concat([good, badMessage, payloadPart("three")])])
    assert.deepStrictEqual(a.parts, ["one"])
    assert.deepStrictEqual(a.failure, { name: "Error", message: codecError(badMessage) })
    assert.match(a.failure!.message, /^The message checksum \(\d+\) did not match the expected value of \d+$/)

    const badPrelude = Uint8Array.from(payloadPart("two"))
    badPrelude[8]! ^= 0xff
    const b = decodeAll([good, badPrelude])
    assert.deepStrictEqual(b.failure, { name: "Error", message: codecError(badPrelude) })
    assert.match(b.failure!.message, /^The prelude checksum specified in the message/)
    assert.strictEqual(classifyStreamFailure("m", b.failure!).errorCode, "ChecksumMismatch")
  })

  it("a frame cut short is a truncated stream, with the SDK's message", () => {
    const frame = payloadPart("whole")
    for (const cut of [1, 3, 4, 11, 12, frame.length - 1]) {
      const { failure, parts } = decodeAll([payloadPart("first"), frame.subarray(0, cut)])
      assert.deepStrictEqual(parts, ["first"])
      assert.deepStrictEqual(failure, { name: "Error", message: "Truncated event message received." }, `cut ${cut}`)
      assert.strictEqual(classifyStreamFailure("m", failure!).errorCode, "TruncatedStream")
    }
    assert.deepStrictEqual(decodeAll([]), { parts: [], failure: undefined })
  })

  it("exception frames end the stream after the parts before them, read as the SDK reads them", () => {
    const modelStreamError = exceptionFrame(
      "ModelStreamError",
      JSON.stringify({ Message: "too slow", ErrorCode: "ModelInvocationTimeExceeded" })
    )
    const a = decodeAll([concat([payloadPart("a"), payloadPart("b"), modelStreamError, payloadPart("never")])])
    assert.deepStrictEqual(a, {
      parts: ["a", "b"],
      failure: { name: "ModelStreamError", message: "too slow", detail: "ModelInvocationTimeExceeded" }
    })
    assert.deepStrictEqual(
      { ...classifyStreamFailure("m", a.failure!) },
      {
        _tag: "SagemakerStreamError",
        endpointName: "m",
        errorCode: "ModelStreamError",
        text: "too slow (ModelInvocationTimeExceeded)",
        retryable: false
      }
    )
    // InternalStreamFailure has no ErrorCode member; a body without `Message` reads "Unknown".
    assert.deepStrictEqual(
      decodeAll([exceptionFrame("InternalStreamFailure", JSON.stringify({ Message: "x", ErrorCode: "E" }))]).failure,
      { name: "InternalStreamFailure", message: "x", detail: undefined }
    )
    assert.deepStrictEqual(
      decodeAll([exceptionFrame("ModelStreamError", "")]).failure,
      { name: "ModelStreamError", message: "Unknown", detail: undefined }
    )
    // An exception type SageMaker does not model: its name, and the raw payload as the message.
    const unknown = decodeAll([exceptionFrame("SomethingElse", "raw text")]).failure!
    assert.deepStrictEqual(unknown, { name: "SomethingElse", message: "raw text" })
    assert.strictEqual(classifyStreamFailure("m", unknown).errorCode, "SomethingElse")
  })

  it("error frames fail with their code; unknown event types are skipped; unknown message types fail", () => {
    const errorFrame = codec.encode({
      headers: {
        ":message-type": { type: "string", value: "error" },
        ":error-code": { type: "string", value: "InternalError" },
        ":error-message": { type: "string", value: "broken" }
      },
      body: new Uint8Array(0)
    })
    assert.deepStrictEqual(decodeAll([errorFrame]).failure, { name: "InternalError", message: "broken" })
    const otherEvent = codec.encode({
      headers: {
        ":event-type": { type: "string", value: "Heartbeat" },
        ":message-type": { type: "string", value: "event" },
        // Every header type is stepped over correctly.
        flag: { type: "boolean", value: true },
        count: { type: "integer", value: 7 },
        stamp: { type: "timestamp", value: new Date(0) },
        blob: { type: "binary", value: Uint8Array.of(1, 2, 3) },
        id: { type: "uuid", value: "0f0e0d0c-0b0a-0908-0706-050403020100" }
      },
      body: fromUtf8("ignored")
    })
    assert.deepStrictEqual(decodeAll([otherEvent, payloadPart("kept")]), { parts: ["kept"], failure: undefined })
    const odd = codec.encode({
      headers: { ":message-type": { type: "string", value: "odd" }, ":event-type": { type: "string", value: "X" } },
      body: new Uint8Array(0)
    })
    assert.deepStrictEqual(decodeAll([odd]).failure, { name: "Error", message: "Unrecognizable event type: X" })
  })

  it("after a failure it decodes nothing more", () => {
    const decoder = new EventStreamDecoder()
    const bad = Uint8Array.from(payloadPart("x"))
    bad[bad.length - 1]! ^= 1
    assert.isDefined(decoder.push(bad).failure)
    assert.deepStrictEqual(decoder.push(payloadPart("y")), { parts: [], failure: undefined })
    assert.isUndefined(decoder.end())
  })
})

/** The headers that legitimately differ: the SDK's identity and per-call ids, and the signature. */
const VARYING = new Set(["user-agent", "x-amz-user-agent", "amz-sdk-invocation-id", "x-amz-date", "authorization"])

const comparable = (request: Loopback.SeenRequest) => ({
  method: request.method,
  path: request.path,
  headers: Object.entries(request.headers).filter(([name]) => !VARYING.has(name)),
  body: request.text
})

const signedHeaders = (request: Loopback.SeenRequest) =>
  /SignedHeaders=([^,]+)/.exec(request.headers.authorization ?? "")?.[1]?.split(";") ?? []

const staticCredentials: SagemakerClient.Credentials = {
  accessKeyId: Redacted.make("AKIDTEST"),
  secretAccessKey: Redacted.make("test-secret-value"),
  sessionToken: Redacted.make("session-token-value")
}

const everyMember: SagemakerClient.InvokeRequest = {
  endpointName: "a b/c(!)",
  body: fromUtf8(JSON.stringify({ inputs: "héllo", parameters: { max_new_tokens: 5 } })),
  contentType: "application/json",
  accept: "application/json",
  customAttributes: "accept_eula=true;n=1",
  targetModel: "model.tar.gz",
  targetVariant: "variant-1",
  targetContainerHostname: "container-1",
  inferenceComponentName: "ic-1",
  inferenceId: "inf-1",
  sessionId: "NEW_SESSION",
  prefixAwareId: "app-1"
}

describe("the HTTP transport sends what the SDK sends", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly prefix: string
    readonly request: SagemakerClient.InvokeRequest
    readonly stream: boolean
  }> = [
    { name: "InvokeEndpoint with every member", prefix: "", request: everyMember, stream: false },
    { name: "InvokeEndpoint, minimal", prefix: "", request: { ...minimal(), endpointName: "ep" }, stream: false },
    { name: "the stream route with every member", prefix: "", request: everyMember, stream: true },
    { name: "under an endpoint path prefix", prefix: "/some/prefix", request: everyMember, stream: false },
    { name: "under a prefix with a trailing slash", prefix: "/pre/", request: everyMember, stream: true },
    { name: "an endpoint URL of just /", prefix: "/", request: everyMember, stream: false }
  ]

  for (const c of cases) {
    it.scopedLive(c.name, () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))
        for (const transport of ["sdk", "http"] as const) {
          const client = yield* SagemakerClient.makeTransport(transport, {
            region: "us-east-1",
            credentials: staticCredentials,
            endpointUrl: server.url + c.prefix
          })
          if (c.stream) {
            // A JSON body is no event stream: only the request matters here.
            yield* client.invokeEndpointWithResponseStream(c.request).pipe(Effect.scoped, Effect.either)
          } else {
            yield* client.invokeEndpoint(c.request)
          }
        }
        const [sdk, http] = server.requests
        assert.deepStrictEqual(comparable(http!), comparable(sdk!))
        if (c.request === everyMember) {
          // Every routing member of the table is on the wire, the stream route's own members only.
          const expected: Array<string> = Object.entries(Routing.members).filter(([, member]) =>
            (member.rules as Record<string, unknown>)[c.stream ? "stream" : "invoke"] !== undefined
          ).map(([, member]) => member.header)
          assert.deepStrictEqual(
            Object.keys(http!.headers).filter((name) => expected.includes(name) || name.endsWith("target-model")),
            expected
          )
        }
        assert.strictEqual(http!.headers["x-amz-security-token"], "session-token-value")
        assert.match(
          http!.headers.authorization!,
          /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/sagemaker\/aws4_request, /
        )
        // The SDK signs its own two extra headers too; everything else is signed alike.
        assert.deepStrictEqual(
          signedHeaders(http!),
          signedHeaders(sdk!).filter((name) => name !== "amz-sdk-invocation-id" && name !== "x-amz-user-agent")
        )
      }))
  }

  function minimal(): SagemakerClient.InvokeRequest {
    return { endpointName: "ep", body: fromUtf8("{}"), contentType: "application/json", accept: "application/json" }
  }

  it.scopedLive("success metadata: content type, variant, custom attributes, session ids, request id", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() =>
        Loopback.json(200, "{}", {
          "x-amzn-invoked-production-variant": "AllTraffic",
          "x-amzn-sagemaker-custom-attributes": "k=v",
          "x-amzn-sagemaker-new-session-id": "s-1; Expires=2030-01-01T00:00:00Z",
          "x-amzn-sagemaker-closed-session-id": "s-0"
        })
      )
      const responses = []
      for (const transport of ["sdk", "http"] as const) {
        const client = yield* SagemakerClient.makeTransport(transport, {
          region: "us-east-1",
          credentials: staticCredentials,
          endpointUrl: server.url
        })
        responses.push(yield* client.invokeEndpoint(minimal()))
      }
      assert.deepStrictEqual(responses[1], responses[0])
      assert.deepStrictEqual({ ...responses[1], body: text(responses[1]!.body) }, {
        body: "{}",
        contentType: "application/json",
        invokedProductionVariant: "AllTraffic",
        customAttributes: "k=v",
        newSessionId: "s-1; Expires=2030-01-01T00:00:00Z",
        closedSessionId: "s-0",
        requestId: "req-1234"
      })
    }))
})

describe("InvokeEndpointAsync: the HTTP transport sends what the SDK sends, and reads the 202 alike", () => {
  const answer = () =>
    Loopback.json(202, JSON.stringify({ InferenceId: "inf-9" }), {
      "x-amzn-sagemaker-outputlocation": "s3://bucket/out/inf-9.out",
      "x-amzn-sagemaker-failurelocation": "s3://bucket/failures/inf-9-error.out"
    })
  const cases: ReadonlyArray<{ readonly name: string; readonly request: SagemakerClient.AsyncRequest }> = [
    {
      name: "an inline body with every member",
      request: {
        endpointName: "a b/c(!)",
        body: fromUtf8(JSON.stringify({ inputs: "héllo" })),
        contentType: "application/json",
        accept: "application/json",
        customAttributes: "accept_eula=true",
        inferenceId: "inf-9",
        s3OutputPathExtension: "runs/1",
        filename: "out.json",
        requestTtlSeconds: 600,
        invocationTimeoutSeconds: 60
      }
    },
    { name: "an S3 input location, no body", request: { endpointName: "ep", inputLocation: "s3://bucket/in/1.json" } }
  ]
  for (const c of cases) {
    it.scopedLive(c.name, () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(answer)
        const responses = []
        for (const transport of ["sdk", "http"] as const) {
          const client = yield* SagemakerClient.makeTransport(transport, {
            region: "us-east-1",
            credentials: staticCredentials,
            endpointUrl: server.url
          })
          responses.push(yield* client.invokeEndpointAsync(c.request))
        }
        const [sdk, http] = server.requests
        assert.deepStrictEqual(comparable(http!), comparable(sdk!))
        assert.strictEqual(http!.path.endsWith("/async-invocations"), true)
        assert.deepStrictEqual(
          signedHeaders(http!),
          signedHeaders(sdk!).filter((name) => name !== "amz-sdk-invocation-id" && name !== "x-amz-user-agent")
        )
        assert.deepStrictEqual(responses[1], responses[0])
        assert.deepStrictEqual(responses[1], {
          inferenceId: "inf-9",
          outputLocation: "s3://bucket/out/inf-9.out",
          failureLocation: "s3://bucket/failures/inf-9-error.out",
          requestId: "req-1234"
        })
      }))
  }

  it.scopedLive("a refusal is the same tagged error on both transports", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() =>
        Loopback.json(400, JSON.stringify({ message: "Endpoint ep is not an async endpoint." }), {
          "x-amzn-errortype": "ValidationError:http://internal.amazon.com/coral/com.amazon.sagemaker/"
        })
      )
      const errors = []
      for (const transport of ["sdk", "http"] as const) {
        const client = yield* SagemakerClient.makeTransport(transport, {
          region: "us-east-1",
          credentials: staticCredentials,
          endpointUrl: server.url
        })
        errors.push(yield* Effect.flip(client.invokeEndpointAsync({ endpointName: "ep", body: fromUtf8("{}") })))
      }
      assert.strictEqual(errors[0]!._tag, "SagemakerValidationError")
      assert.strictEqual(errors[1]!._tag, errors[0]!._tag)
      assert.strictEqual(errors[1]!.message, errors[0]!.message)
    }))
})

describe("bodies of every size and framing read alike", () => {
  const reply = (generated: string, chunked: boolean): Loopback.Reply => {
    const body = JSON.stringify([{ generated_text: generated }])
    // The loopback server sends a Content-Length; without one node sends the body chunked.
    return chunked
      ? { status: 200, headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, body }
      : Loopback.json(200, body)
  }
  for (
    const [name, size, chunked] of [
      ["a small body", 10, false],
      ["a 3 MiB body (read piece by piece)", 3 * 1024 * 1024, false],
      ["a chunked body without a length", 200_000, true]
    ] as const
  ) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const generated = "x".repeat(size)
        const server = yield* Loopback.start(() => reply(generated, chunked))
        for (const transport of transports) {
          const result = yield* SagemakerGenerator.run("p").pipe(
            Effect.provide(SagemakerGenerator.layer({ ...transport.options, model: "ep", endpointUrl: server.url })),
            Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
          )
          assert.strictEqual(result.replies[0]!.length, size, transport.name)
          assert.isTrue(result.replies[0] === generated, transport.name)
        }
      }))
  }
})

describe("the HTTP transport's signatures pass the emulator's SigV4 check", () => {
  const key = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "emulator-secret" }
  const withKey =
    (emulator: SagemakerEmulator.Service, secret: string, endpointUrl = emulator.url) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.provide(SagemakerGenerator.layer({
          model: "ep",
          endpointUrl,
          transport: "http",
          awsAccessKeyId: Secret.fromToken(key.accessKeyId),
          awsSecretAccessKey: Secret.fromToken(secret),
          awsSessionToken: null,
          awsRegionName: Secret.fromToken("eu-west-1"),
          awsProfileName: null
        }))
      )

  it.scopedLive("run and stream, also under a path prefix, are accepted", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ credentials: [key], personality: "tgi" })
      yield* SagemakerGenerator.run("hello").pipe(withKey(emulator, key.secretAccessKey))
      yield* SagemakerGenerator.stream("hello").pipe(Stream.runDrain, withKey(emulator, key.secretAccessKey))
      yield* SagemakerGenerator.run("hello").pipe(withKey(emulator, key.secretAccessKey, `${emulator.url}/a/prefix`))
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.operation, r.status]), [["invoke", 200], ["stream", 200], [
        "invoke",
        200
      ]])
      assert.match(requests[0]!.headers.authorization!, /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/sagemaker\//)
    }))

  it.scopedLive("a wrong secret is refused: 403 InvalidSignatureException, as on the SDK transport", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ credentials: [key] })
      const error = yield* SagemakerGenerator.run("hello").pipe(withKey(emulator, "wrong"), Effect.flip)
      assert.strictEqual(error._tag, "SagemakerInferenceError")
      if (error._tag !== "SagemakerInferenceError") return
      assert.strictEqual(error.statusCode, 403)
      assert.strictEqual(error.errorCode, "InvalidSignatureException")
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

describe("credentials, region and endpoint come from the SDK's providers on both transports", () => {
  it.scopedLive("a profile of the shared config files gives the key and the region", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-sagemaker-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      writeFileSync(
        join(dir, "credentials"),
        "[team]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
      )
      writeFileSync(join(dir, "config"), "[profile team]\nregion = ap-southeast-2\n")
      yield* stubEnv({
        AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
        AWS_CONFIG_FILE: join(dir, "config")
      })
      const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))
      for (const transport of transports) {
        yield* SagemakerGenerator.run("p").pipe(
          Effect.provide(SagemakerGenerator.layer({
            ...transport.options,
            model: "ep",
            endpointUrl: server.url,
            awsAccessKeyId: null,
            awsSecretAccessKey: null,
            awsSessionToken: null,
            awsRegionName: null,
            awsProfileName: Secret.fromToken("team")
          })),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      }
      assert.strictEqual(server.requests.length, transports.length)
      for (const request of server.requests) {
        assert.match(request.headers.authorization!, /Credential=AKIDPROFILE\/\d{8}\/ap-southeast-2\/sagemaker\//)
      }
    }))

  it.scopedLive("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME is where requests go when no endpointUrl is given", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))
      yield* stubEnv({ AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: `${server.url}/configured` })
      for (const transport of transports) {
        yield* SagemakerGenerator.run("p").pipe(
          Effect.provide(SagemakerGenerator.layer({ ...transport.options, model: "ep" })),
          Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
        )
      }
      assert.deepStrictEqual(
        server.requests.map((r) => r.path),
        transports.map(() => "/configured/endpoints/ep/invocations")
      )
    }))
})

describe("stream open semantics are the SDK's on both transports", () => {
  const endpoints: Record<string, SagemakerEmulator.EndpointOptions> = {
    "exception-first": { personality: "tgi", faults: { kind: "stream-error", afterParts: 0 } },
    "internal-first": { personality: "tgi", faults: { kind: "internal-stream-failure", afterParts: 0 } },
    "bad-crc-first": { personality: "tgi", faults: { kind: "bad-crc", afterParts: 0 } },
    "reset-first": { personality: "tgi", faults: { kind: "reset", afterParts: 0 } },
    "truncated-only": {
      responder: () => ({ contentType: "text/event-stream", body: ["data:{\"token\":{\"text\":\"a\"}}\n\n"] }),
      faults: { kind: "truncate" }
    },
    "empty": { responder: () => ({ contentType: "text/event-stream", body: [] }) },
    "exception-later": { personality: "tgi", faults: { kind: "stream-error", afterParts: 2 } }
  }

  it.scopedLive("a failure in the first frame fails the call (and follows the retry policy) alike", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ endpoints })
      const outcomes: Record<string, Array<unknown>> = {}
      for (const transport of transports) {
        for (const name of Object.keys(endpoints)) {
          const result = yield* SagemakerGenerator.stream("hello there").pipe(
            Stream.either,
            Stream.runCollect,
            Effect.map(Chunk.toArray),
            Effect.either,
            Effect.provide(SagemakerGenerator.layer({
              ...transport.options,
              model: name,
              endpointUrl: emulator.url,
              retry: { baseDelay: "1 millis" }
            })),
            Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
          )
          const requests = (yield* emulator.requests).filter((r) => r.endpointName === name).length
          yield* emulator.reset
          // The emulator's request ids are random: compare everything else.
          const plain = (u: unknown) => ({ ...JSON.parse(JSON.stringify(u)), requestId: undefined })
          const chunks = Either.getOrThrow(result).map((r) => Either.isRight(r) ? r.right.text : plain(r.left))
          ;(outcomes[name] ??= []).push({ chunks, requests })
        }
      }
      for (const [name, [sdk, ...others]] of Object.entries(outcomes)) {
        for (const other of others) assert.deepStrictEqual(other, sdk, name)
      }
      // The SDK's own semantics, which the HTTP transport shares: an exception frame first is the
      // stream error; a broken first frame is a response that could not be read; a reset before
      // the first event is a transport failure, retried.
      const first = (name: string) =>
        outcomes[name]![0] as {
          readonly chunks: ReadonlyArray<string | { _tag: string; statusCode?: number; errorCode?: string }>
          readonly requests: number
        }
      assert.deepInclude(first("exception-first").chunks[0], { _tag: "SagemakerStreamError" })
      assert.deepInclude(first("bad-crc-first").chunks[0], { _tag: "SagemakerInferenceError", statusCode: 200 })
      assert.deepInclude(first("reset-first").chunks[0], { _tag: "SagemakerInferenceError", errorCode: "Transport" })
      assert.strictEqual(first("reset-first").requests, 3)
      assert.strictEqual(first("exception-later").chunks.length, 3)
      assert.deepStrictEqual(outcomes.empty![0], { chunks: [], requests: 1 })
    }))

  for (const transport of transports) {
    it.scopedLive(`a timeout while waiting for the first event aborts the request (${transport.name})`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({
          personality: "tgi",
          faults: { ep: { kind: "stall", afterParts: 0 } }
        })
        const error = yield* SagemakerGenerator.stream("hello").pipe(
          Stream.runDrain,
          Effect.provide(SagemakerGenerator.layer({
            ...transport.options,
            model: "ep",
            endpointUrl: emulator.url,
            timeout: "150 millis",
            retry: false
          })),
          Effect.withConfigProvider(ConfigProvider.fromMap(testEnv)),
          Effect.flip
        )
        assert.strictEqual(error._tag, "SagemakerTimeoutError")
        yield* emulator.awaitClosedRequests(1).pipe(Effect.timeout("2 seconds"))
      }))

    it.scopedLive(`streams and runs reuse one keep-alive connection (${transport.name})`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make({ personality: "tgi" })
        yield* Effect.gen(function*() {
          for (let i = 0; i < 3; i++) yield* SagemakerGenerator.stream("hello").pipe(Stream.runDrain)
          for (let i = 0; i < 3; i++) yield* SagemakerGenerator.run("hello")
        }).pipe(
          Effect.provide(SagemakerGenerator.layer({ ...transport.options, model: "ep", endpointUrl: emulator.url })),
          Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
        )
        assert.strictEqual(yield* emulator.totalConnections, 1)
        assert.strictEqual(yield* emulator.closedRequests, 0)
      }))
  }
})

describe("time to first token", () => {
  for (const transport of transports) {
    it.scopedLive(`the first token comes alone even when the whole stream is at hand (${transport.name})`, () =>
      Effect.gen(function*() {
        // Every frame in one write: batching them all before the first would delay the first token.
        const tokens = Array.from({ length: 50 }, (_, i) => ` t${i}`)
        const frames = concat(tokens.map((t) => payloadPart(`data:${JSON.stringify({ token: { text: t } })}\n\n`)))
        const server = yield* Loopback.start(() => ({
          headers: { "content-type": "application/vnd.amazon.eventstream" },
          body: frames
        }))
        const chunks = yield* SagemakerGenerator.stream("hello").pipe(
          Stream.mapChunks((chunk) => Chunk.of(Chunk.toArray(chunk).map((c) => c.text))),
          Stream.runCollect,
          Effect.provide(SagemakerGenerator.layer({ ...transport.options, model: "ep", endpointUrl: server.url })),
          Effect.withConfigProvider(ConfigProvider.fromMap(testEnv))
        )
        const sizes = Chunk.toArray(chunks).map((c) => c.length)
        assert.deepStrictEqual(Chunk.toArray(chunks).flat(), tokens)
        assert.strictEqual(sizes[0], 1)
        // The rest still comes in batches, not one chunk per token.
        assert.isBelow(sizes.length, 10, `chunk sizes ${sizes.join(",")}`)
      }))
  }
})

describe("the transport option", () => {
  it.effect("an unknown transport is a SagemakerValidationError naming the field", () =>
    Effect.gen(function*() {
      const error = yield* SagemakerGenerator.SagemakerGenerator.pipe(
        Effect.provide(SagemakerGenerator.layer({ model: "m", transport: "carrier-pigeon" as "http" })),
        Effect.withConfigProvider(ConfigProvider.fromMap(testEnv)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "SagemakerValidationError")
      if (error._tag !== "SagemakerValidationError") return
      assert.strictEqual(error.field, "transport")
    }))

  it("toDict writes it only when set, after the other extras; fromDict reads it back", () => {
    assert.notProperty(SagemakerGenerator.toDict({ model: "m" }).init_parameters, "transport")
    const dict = SagemakerGenerator.toDict({
      model: "m",
      endpointUrl: "http://x",
      timeout: "1 second",
      transport: "http"
    })
    assert.deepStrictEqual(Object.keys(dict.init_parameters).slice(-3), ["endpoint_url", "timeout", "transport"])
    assert.strictEqual(dict.init_parameters.transport, "http")
    const options = Either.getOrThrow(SagemakerGenerator.optionsFromDict(dict))
    assert.strictEqual(options.transport, "http")
    const bad = SagemakerGenerator.optionsFromDict({
      ...dict,
      init_parameters: { ...dict.init_parameters, transport: 1 }
    })
    assert.deepStrictEqual(
      Either.map(Either.flip(bad), (e) => e.message),
      Either.right(`'transport' must be "sdk" or "http"`)
    )
  })
})
