/**
 * Conformance of the SageMaker Runtime emulator with the real SDK client: the docs/protocol.md §4.2 error
 * catalogue, validation (§3), SigV4 verification, routes, headers and connection tracking.
 */
import {
  InternalDependencyException,
  InternalFailure,
  InvokeEndpointAsyncCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError
} from "@aws-sdk/client-sagemaker-runtime"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { client, credentials, invoke, invokeError, type SdkError, stream } from "./helpers/emulator.js"

const body = JSON.stringify({ inputs: "What is deep learning?", parameters: { max_new_tokens: 5 } })
const call = { EndpointName: "ep", ContentType: "application/json", Body: body }

const errorFor = (fault: SagemakerEmulator.Fault) =>
  Effect.gen(function*() {
    const emulator = yield* SagemakerEmulator.make({ faults: { ep: fault } })
    const c = yield* client(emulator)
    const error = yield* invokeError(c, call)
    const requests = yield* emulator.requests
    return { error, requests }
  })

describe("SagemakerEmulator errors (PROTOCOL §4.2)", () => {
  it.scopedLive("ModelError: 424 with OriginalStatusCode, OriginalMessage, LogStreamArn, ErrorCode", () =>
    Effect.gen(function*() {
      const { error, requests } = yield* errorFor({ kind: "model-error" })
      assert.instanceOf(error, ModelError)
      assert.strictEqual(error.name, "ModelError")
      assert.strictEqual(error.$fault, "client")
      assert.strictEqual(error.$metadata?.httpStatusCode, 424)
      assert.strictEqual(error["OriginalStatusCode"], 400)
      assert.strictEqual(error["ErrorCode"], "CLIENT_ERROR_FROM_MODEL")
      assert.strictEqual(
        error["LogStreamArn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/ep"
      )
      const original = error["OriginalMessage"]
      assert.isString(original)
      assert.deepStrictEqual(JSON.parse(original as string).error_type, "validation")
      assert.isTrue(
        error.message.startsWith(`Received client error (400) from primary with message "${original}". See `)
      )
      assert.isTrue(error.message.endsWith("in account 123456789012 for more information."))
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.status, 424)
      assert.strictEqual(requests[0]!.fault, "model-error")
    }))

  it.scopedLive("ModelError with a server status from the container", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "model-error", originalStatusCode: 503, originalMessage: "overloaded" })
      assert.instanceOf(error, ModelError)
      assert.strictEqual(error["OriginalStatusCode"], 503)
      assert.strictEqual(error["OriginalMessage"], "overloaded")
      assert.strictEqual(error["ErrorCode"], "INTERNAL_FAILURE_FROM_MODEL")
      assert.isTrue(error.message.startsWith(`Received server error (503) from primary with message "overloaded".`))
    }))

  it.scopedLive("ModelNotReadyException: 429", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "not-ready" })
      assert.instanceOf(error, ModelNotReadyException)
      assert.strictEqual(error.name, "ModelNotReadyException")
      assert.strictEqual(error.$metadata?.httpStatusCode, 429)
      assert.isTrue(error.message.includes("Wait and try your request again."))
    }))

  it.scopedLive("InternalFailure: 500, server fault", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "internal-failure" })
      assert.instanceOf(error, InternalFailure)
      assert.strictEqual(error.$metadata?.httpStatusCode, 500)
      assert.strictEqual(error.$fault, "server")
      assert.strictEqual(error.message, "An internal failure occurred.")
    }))

  it.scopedLive("ServiceUnavailable: 503", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "service-unavailable" })
      assert.instanceOf(error, ServiceUnavailable)
      assert.strictEqual(error.$metadata?.httpStatusCode, 503)
      assert.strictEqual(error.$fault, "server")
    }))

  it.scopedLive("InternalDependencyException: 530", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "dependency-failure" })
      assert.instanceOf(error, InternalDependencyException)
      assert.strictEqual(error.$metadata?.httpStatusCode, 530)
      assert.strictEqual(error.$fault, "server")
    }))

  it.scopedLive("ThrottlingException: 400 with {\"message\":null}, unmodeled", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "throttle" })
      assert.instanceOf(error, SageMakerRuntimeServiceException)
      assert.strictEqual(error.constructor, SageMakerRuntimeServiceException)
      assert.strictEqual(error.name, "ThrottlingException")
      assert.strictEqual(error.message, "UnknownError")
      assert.strictEqual(error.$metadata?.httpStatusCode, 400)
      assert.strictEqual(error.$fault, "client")
    }))

  it.scopedLive("ThrottlingException: 429 Rate exceeded", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "throttle-429" })
      assert.strictEqual(error.name, "ThrottlingException")
      assert.strictEqual(error.message, "Rate exceeded")
      assert.strictEqual(error.$metadata?.httpStatusCode, 429)
    }))

  it.scopedLive("AccessDeniedException: 403, base class", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "access-denied" })
      assert.strictEqual(error.constructor, SageMakerRuntimeServiceException)
      assert.strictEqual(error.name, "AccessDeniedException")
      assert.strictEqual(error.$metadata?.httpStatusCode, 403)
      assert.isTrue(error.message.includes("is not authorized to perform: sagemaker:InvokeEndpoint"))
    }))

  it.scopedLive("empty 500: name Unknown, message UnknownError, server fault", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "empty-500" })
      assert.strictEqual(error.name, "Unknown")
      assert.strictEqual(error.message, "UnknownError")
      assert.strictEqual(error.$fault, "server")
      assert.strictEqual(error.$metadata?.httpStatusCode, 500)
    }))

  it.scopedLive("HTML 500: a SyntaxError carrying the status", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "html-500" })
      assert.instanceOf(error, SyntaxError)
      assert.notInstanceOf(error, SageMakerRuntimeServiceException)
      assert.strictEqual(error.$metadata?.httpStatusCode, 500)
    }))

  it.scopedLive("stream-error on InvokeEndpoint is a ModelError with a 500 from the container", () =>
    Effect.gen(function*() {
      const { error } = yield* errorFor({ kind: "stream-error" })
      assert.instanceOf(error, ModelError)
      assert.strictEqual(error["OriginalStatusCode"], 500)
    }))

  it.scopedLive("malformed: 200 whose body is not JSON", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { ep: { kind: "malformed" } } })
      const c = yield* client(emulator)
      const r = yield* invoke(c, call)
      assert.isTrue(Either.isRight(r))
      const text = Either.getOrThrow(r).Body!.transformToString()
      assert.throws(() => JSON.parse(text))
      assert.strictEqual(Either.getOrThrow(r).ContentType, "application/json")
    }))

  it.scopedLive("truncate: InvokeEndpoint returns the first half of the body", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ endpoints: { ok: {}, cut: { faults: { kind: "truncate" } } } })
      const c = yield* client(emulator)
      const whole = Either.getOrThrow(yield* invoke(c, { ...call, EndpointName: "ok" })).Body!
      const cut = Either.getOrThrow(yield* invoke(c, { ...call, EndpointName: "cut" })).Body!
      assert.strictEqual(cut.length, Math.floor(whole.length / 2))
      assert.deepStrictEqual([...cut], [...whole.subarray(0, cut.length)])
    }))

  it.scopedLive("reset: the socket is destroyed without an answer", () =>
    Effect.gen(function*() {
      const { error, requests } = yield* errorFor({ kind: "reset" })
      assert.notInstanceOf(error, SageMakerRuntimeServiceException)
      assert.strictEqual(error["code"], "ECONNRESET")
      assert.isUndefined(error.$metadata?.httpStatusCode)
      assert.strictEqual(requests[0]!.status, 0)
      assert.strictEqual(requests[0]!.fault, "reset")
      assert.strictEqual(requests[0]!.aborted, false)
    }))

  it.scopedLive("every error carries x-amzn-RequestId, JSON content type and the Coral error type", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { ep: { kind: "model-error" } } })
      const res = yield* Effect.promise(() =>
        fetch(`${emulator.url}/endpoints/ep/invocations`, { method: "POST", body: "{}" })
      )
      assert.strictEqual(res.status, 424)
      assert.strictEqual(res.headers.get("content-type"), "application/json")
      assert.strictEqual(
        res.headers.get("x-amzn-errortype"),
        "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/"
      )
      assert.match(res.headers.get("x-amzn-requestid") ?? "", /^[0-9a-f-]{36}$/)
      const json = yield* Effect.promise(() => res.json() as Promise<Record<string, unknown>>)
      assert.deepStrictEqual(Object.keys(json).sort(), [
        "ErrorCode",
        "LogStreamArn",
        "Message",
        "OriginalMessage",
        "OriginalStatusCode"
      ])
      assert.strictEqual(typeof json["OriginalStatusCode"], "number")
    }))
})

describe("SagemakerEmulator retries as the SDK sees them (default maxAttempts)", () => {
  const attempts = (fault: SagemakerEmulator.Fault) =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { ep: fault } })
      const c = yield* client(emulator, { maxAttempts: undefined })
      const result = yield* invoke(c, call)
      const requests = yield* emulator.requests
      return { result, requests }
    })

  it.scopedLive("InternalFailure is retried 3 times, with attempt numbers recorded", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* attempts({ kind: "internal-failure" })
      assert.isTrue(Either.isLeft(result))
      assert.deepStrictEqual(requests.map((r) => r.attempt), [1, 2, 3])
      assert.strictEqual(Either.flip(result).pipe(Either.getOrThrow).$metadata?.attempts, 3)
    }))

  it.scopedLive("InternalDependencyException (530) and ModelError are not retried", () =>
    Effect.gen(function*() {
      const a = yield* attempts({ kind: "dependency-failure" })
      assert.strictEqual(a.requests.length, 1)
      const b = yield* attempts({ kind: "model-error" })
      assert.strictEqual(b.requests.length, 1)
    }))

  it.scopedLive("not-ready:1 fails the first call only; the SDK's retry then succeeds", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* attempts({ kind: "not-ready", count: 1 })
      assert.isTrue(Either.isRight(result))
      assert.deepStrictEqual(requests.map((r) => [r.attempt, r.status]), [[1, 429], [2, 200]])
    }))
})

describe("SagemakerEmulator validation (PROTOCOL §3)", () => {
  it.scopedLive("a name breaking the pattern", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const error = yield* invokeError(c, { ...call, EndpointName: "bad_name" })
      assert.instanceOf(error, ValidationError)
      assert.strictEqual(error.$metadata?.httpStatusCode, 400)
      assert.strictEqual(
        error.message,
        "1 validation error detected: Value 'bad_name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"
      )
    }))

  it.scopedLive("a 64-character name; an encoded label is decoded", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const long = "a".repeat(64)
      const e1 = yield* invokeError(c, { ...call, EndpointName: long })
      assert.strictEqual(
        e1.message,
        `1 validation error detected: Value '${long}' at 'endpointName' failed to satisfy constraint: Member must have length less than or equal to 63`
      )
      const e2 = yield* invokeError(c, { ...call, EndpointName: "a b/c" })
      assert.isTrue(e2.message.startsWith("1 validation error detected: Value 'a b/c' at 'endpointName'"))
      const requests = yield* emulator.requests
      assert.strictEqual(requests[1]!.path, "/endpoints/a%20b%2Fc/invocations")
      assert.strictEqual(requests[1]!.endpointName, "a b/c")
    }))

  it.scopedLive("custom attributes: too long, or not ASCII (value withheld: sensitive)", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const e1 = yield* invokeError(c, { ...call, CustomAttributes: "x".repeat(1025) })
      assert.instanceOf(e1, ValidationError)
      assert.strictEqual(
        e1.message,
        "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024"
      )
      const e2 = yield* invokeError(c, { ...call, CustomAttributes: "héllo" })
      assert.strictEqual(
        e2.message,
        "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*"
      )
      const ok = yield* invoke(c, { ...call, CustomAttributes: "x".repeat(1024) })
      assert.isTrue(Either.isRight(ok))
    }))

  it.scopedLive("several violations are listed together", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const e = yield* invokeError(c, { ...call, TargetVariant: "-x", InferenceId: "" })
      assert.strictEqual(
        e.message,
        "3 validation errors detected: Value '-x' at 'targetVariant' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*; Value '' at 'inferenceId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z; Value '' at 'inferenceId' failed to satisfy constraint: Member must have length greater than or equal to 1"
      )
    }))

  it.scopedLive("oversize body: 413 with no error type (name Unknown)", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ maxBodyBytes: 1024 })
      const c = yield* client(emulator)
      const e = yield* invokeError(c, { ...call, Body: "x".repeat(1025) })
      assert.strictEqual(e.constructor, SageMakerRuntimeServiceException)
      assert.strictEqual(e.name, "Unknown")
      assert.strictEqual(e.$metadata?.httpStatusCode, 413)
      assert.strictEqual(e.message, "HTTP content length exceeded 1024 bytes.")
      const ok = yield* invoke(c, { ...call, Body: JSON.stringify({ inputs: "x".repeat(1000) }) })
      assert.isTrue(Either.isRight(ok))
    }))

  it.scopedLive("the default 6 MiB limit: 7 MiB is refused", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const e = yield* invokeError(c, { ...call, Body: new Uint8Array(7 * 1024 * 1024) })
      assert.strictEqual(e.$metadata?.httpStatusCode, 413)
      assert.strictEqual(e.message, "HTTP content length exceeded 6291456 bytes.")
    }))

  it.scopedLive("unknown endpoint when a list is configured (both routes)", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ endpoints: ["known"], accountId: "111122223333" })
      const c = yield* client(emulator)
      const e = yield* invokeError(c, { ...call, EndpointName: "nope" })
      assert.instanceOf(e, ValidationError)
      assert.strictEqual(e.message, "Endpoint nope of account 111122223333 not found.")
      const s = yield* stream(c, { ...call, EndpointName: "nope" })
      assert.instanceOf(Either.flip(s).pipe(Either.getOrThrow), ValidationError)
      assert.isTrue(Either.isRight(yield* invoke(c, { ...call, EndpointName: "known" })))
    }))

  it.scopedLive("sessions: NEW_SESSION opens one on InvokeEndpoint and is refused on the stream route", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const r = Either.getOrThrow(yield* invoke(c, { ...call, SessionId: "NEW_SESSION" }))
      assert.match(r.NewSessionId ?? "", /^[a-zA-Z0-9](-*[a-zA-Z0-9])*;\sExpires=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      const plain = Either.getOrThrow(yield* invoke(c, call))
      assert.isUndefined(plain.NewSessionId)
      const s = yield* stream(c, { ...call, SessionId: "NEW_SESSION" })
      const e = Either.flip(s).pipe(Either.getOrThrow)
      assert.instanceOf(e, ValidationError)
      assert.isTrue(e.message.includes("at 'sessionId'"))
    }))
})

describe("SagemakerEmulator SigV4 verification", () => {
  const verifying = SagemakerEmulator.make({ credentials: [credentials] })

  it.scopedLive("the right key pair passes, also under a path prefix and for streams", () =>
    Effect.gen(function*() {
      const emulator = yield* verifying
      const c = yield* client(emulator)
      assert.isTrue(Either.isRight(yield* invoke(c, call)))
      const prefixed = yield* client(emulator, { endpoint: `${emulator.url}/some/prefix` })
      assert.isTrue(Either.isRight(yield* invoke(prefixed, { ...call, EndpointName: "with-dash-1" })))
      assert.isTrue(Either.isRight(yield* stream(c, call)))
      const requests = yield* emulator.requests
      assert.deepStrictEqual(requests.map((r) => r.status), [200, 200, 200])
      assert.strictEqual(requests[1]!.path, "/some/prefix/endpoints/with-dash-1/invocations")
    }))

  it.scopedLive("a wrong secret: 403 InvalidSignatureException", () =>
    Effect.gen(function*() {
      const emulator = yield* verifying
      const c = yield* client(emulator, { credentials: { ...credentials, secretAccessKey: "wrong" } })
      const e = yield* invokeError(c, call)
      assert.strictEqual(e.name, "InvalidSignatureException")
      assert.strictEqual(e.$metadata?.httpStatusCode, 403)
      assert.strictEqual(
        e.message,
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
      )
    }))

  it.scopedLive("an unknown key: 403 UnrecognizedClientException", () =>
    Effect.gen(function*() {
      const emulator = yield* verifying
      const c = yield* client(emulator, { credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" } })
      const e = yield* invokeError(c, call)
      assert.strictEqual(e.name, "UnrecognizedClientException")
      assert.strictEqual(e.$metadata?.httpStatusCode, 403)
      assert.strictEqual(e.message, "The security token included in the request is invalid.")
    }))

  it.scopedLive("a tampered body or a missing signature is refused", () =>
    Effect.gen(function*() {
      const emulator = yield* verifying
      const c = yield* client(emulator)
      assert.isTrue(Either.isRight(yield* invoke(c, call)))
      const signed = (yield* emulator.requests)[0]!
      const replay = (b: string) =>
        Effect.promise(() =>
          fetch(`${emulator.url}${signed.path}`, {
            method: "POST",
            headers: Object.fromEntries(
              Object.entries(signed.headers).filter(([k]) => !["content-length", "connection"].includes(k))
            ),
            body: b
          })
        )
      assert.strictEqual((yield* replay(signed.bodyText)).status, 200)
      const tampered = yield* replay(signed.bodyText.replace("deep", "DEEP"))
      assert.strictEqual(tampered.status, 403)
      assert.strictEqual(tampered.headers.get("x-amzn-errortype")?.split(":")[0], "InvalidSignatureException")
      const unsigned = yield* Effect.promise(() =>
        fetch(`${emulator.url}/endpoints/ep/invocations`, { method: "POST", body: "{}" })
      )
      assert.strictEqual(unsigned.status, 403)
      assert.strictEqual(unsigned.headers.get("x-amzn-errortype")?.split(":")[0], "MissingAuthenticationTokenException")
    }))
})

describe("SagemakerEmulator routes and headers", () => {
  it.scopedLive("InvokeEndpoint success headers", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* client(emulator)
      const r = Either.getOrThrow(yield* invoke(c, call))
      assert.strictEqual(r.$metadata.httpStatusCode, 200)
      assert.strictEqual(r.ContentType, "application/json")
      assert.strictEqual(r.InvokedProductionVariant, "AllTraffic")
      assert.isUndefined(r.CustomAttributes)
      const recorded = (yield* emulator.requests)[0]!
      assert.strictEqual(r.$metadata.requestId, recorded.requestId)
      assert.strictEqual(recorded.operation, "invoke")
      assert.strictEqual(recorded.endpointName, "ep")
      assert.strictEqual(recorded.bodyText, body)
      assert.strictEqual(recorded.headers["content-type"], "application/json")
      const v = Either.getOrThrow(yield* invoke(c, { ...call, TargetVariant: "variant-2" }))
      assert.strictEqual(v.InvokedProductionVariant, "variant-2")
    }))

  it.scopedLive("InvokeEndpointAsync: 202 with InferenceId and S3 locations", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ asyncEndpoints: ["ep"] })
      const c = yield* client(emulator)
      const r = yield* Effect.promise(() =>
        c.send(
          new InvokeEndpointAsyncCommand({
            EndpointName: "ep",
            InputLocation: "s3://bucket/in.json",
            InferenceId: "inf-1"
          })
        )
      )
      assert.strictEqual(r.$metadata.httpStatusCode, 202)
      assert.strictEqual(r.InferenceId, "inf-1")
      assert.strictEqual(r.OutputLocation, "s3://sagemaker-us-east-1-123456789012/async-endpoint-outputs/ep/inf-1.out")
      assert.strictEqual(
        r.FailureLocation,
        "s3://sagemaker-us-east-1-123456789012/async-endpoint-failures/ep/inf-1-error.out"
      )
      const bad = yield* Effect.tryPromise({
        try: () => c.send(new InvokeEndpointAsyncCommand({ EndpointName: "ep" })),
        catch: (e) => e as SdkError
      }).pipe(Effect.flip)
      assert.instanceOf(bad, ValidationError)
      assert.strictEqual((yield* emulator.requests)[0]!.operation, "async")
    }))

  it.scopedLive("unknown routes: 404 JSON error", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const res = yield* Effect.promise(() => fetch(`${emulator.url}/ping`))
      assert.strictEqual(res.status, 404)
      assert.strictEqual(res.headers.get("x-amzn-errortype")?.split(":")[0], "UnknownOperationException")
      assert.strictEqual(res.headers.get("content-type"), "application/json")
      assert.strictEqual((yield* emulator.requests)[0]!.operation, "unknown")
    }))

  it.scopedLive("a custom responder: status, content type, custom attributes; a throwing one is a ModelError", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        endpoints: {
          echo: {
            responder: (req) => ({
              contentType: "text/plain",
              body: `${req.endpointName}:${req.operation}:${req.text}`,
              customAttributes: "trace=1"
            })
          },
          boom: {
            responder: () => {
              throw new Error("kaput")
            }
          },
          teapot: { responder: () => Effect.succeed({ status: 418, body: "short and stout" }) }
        }
      })
      const c = yield* client(emulator)
      const r = Either.getOrThrow(yield* invoke(c, { ...call, EndpointName: "echo", Body: "hi" }))
      assert.strictEqual(r.Body!.transformToString(), "echo:invoke:hi")
      assert.strictEqual(r.ContentType, "text/plain")
      assert.strictEqual(r.CustomAttributes, "trace=1")
      const boom = yield* invokeError(c, { ...call, EndpointName: "boom" })
      assert.instanceOf(boom, ModelError)
      assert.strictEqual(boom["OriginalStatusCode"], 500)
      assert.strictEqual(boom["OriginalMessage"], "Internal Server Error: kaput")
      const teapot = yield* invokeError(c, { ...call, EndpointName: "teapot" })
      assert.strictEqual(teapot["OriginalStatusCode"], 418)
      assert.strictEqual(teapot["OriginalMessage"], "short and stout")
    }))

  it.scopedLive("faults: '*' applies everywhere, count limits, reset clears counters and records", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({
        faults: {
          "*": { kind: "throttle", count: 1 },
          b: [{ kind: "latency", millis: 1 }, { kind: "internal-failure" }]
        }
      })
      const c = yield* client(emulator)
      assert.strictEqual((yield* invokeError(c, { ...call, EndpointName: "a" })).name, "ThrottlingException")
      assert.isTrue(Either.isRight(yield* invoke(c, { ...call, EndpointName: "a" })))
      assert.strictEqual((yield* invokeError(c, { ...call, EndpointName: "b" })).name, "ThrottlingException")
      assert.strictEqual((yield* invokeError(c, { ...call, EndpointName: "b" })).name, "InternalFailure")
      yield* emulator.reset
      assert.strictEqual((yield* emulator.requests).length, 0)
      assert.strictEqual((yield* invokeError(c, { ...call, EndpointName: "a" })).name, "ThrottlingException")
    }))

  it.scopedLive("log: one line per request", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const emulator = yield* SagemakerEmulator.make({
        faults: { bad: { kind: "not-ready" } },
        log: (line) => Effect.sync(() => lines.push(line))
      })
      const c = yield* client(emulator)
      yield* invoke(c, call)
      yield* invoke(c, { ...call, EndpointName: "bad" })
      assert.strictEqual(lines.length, 2)
      assert.match(lines[0]!, /^POST \/endpoints\/ep\/invocations 200 \d+ms$/)
      assert.match(lines[1]!, /^POST \/endpoints\/bad\/invocations 429 \d+ms fault=not-ready$/)
    }))
})

describe("SagemakerEmulator connections", () => {
  it.scopedLive("a client aborting a latency request is seen as a closed request", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { slow: { kind: "latency", millis: 10_000 } } })
      const c = yield* client(emulator)
      const r = yield* invoke(c, { ...call, EndpointName: "slow" }).pipe(Effect.timeout("100 millis"), Effect.option)
      assert.isTrue(r._tag === "None")
      yield* emulator.awaitClosedRequests(1).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(yield* emulator.closedRequests, 1)
      const recorded = (yield* emulator.requests)[0]!
      assert.isTrue(recorded.aborted)
      assert.strictEqual(recorded.status, 0)
      // A completed request is not counted.
      assert.isTrue(Either.isRight(yield* invoke(c, call)))
      assert.strictEqual(yield* emulator.closedRequests, 1)
    }))

  it.scopedLive("open connections are counted and drop to zero when the client goes", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      assert.strictEqual(yield* emulator.openConnections, 0)
      const scope = yield* Scope.make()
      const c = yield* client(emulator).pipe(Scope.extend(scope))
      yield* invoke(c, call)
      assert.strictEqual(yield* emulator.openConnections, 1)
      yield* invoke(c, call)
      assert.strictEqual(yield* emulator.totalConnections, 1)
      yield* Scope.close(scope, Exit.void)
      let open = yield* emulator.openConnections
      for (let i = 0; i < 100 && open > 0; i++) {
        yield* Effect.sleep("10 millis")
        open = yield* emulator.openConnections
      }
      assert.strictEqual(open, 0)
    }))

  it.scopedLive("closing the emulator's scope ends in-flight requests promptly", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const emulator = yield* SagemakerEmulator.make({ faults: { ep: { kind: "stall" } } }).pipe(Scope.extend(scope))
      const c = yield* client(emulator)
      const fiber = yield* Effect.fork(invoke(c, call))
      yield* Effect.sleep("50 millis")
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "hung" }))
      const result = yield* Fiber.join(fiber).pipe(Effect.timeout("2 seconds"))
      assert.isTrue(Either.isLeft(result))
    }))

  it.scopedLive("a taken port fails with EmulatorServeError", () =>
    Effect.gen(function*() {
      const first = yield* SagemakerEmulator.make()
      const error = yield* SagemakerEmulator.make({ port: first.port }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "EmulatorServeError")
      assert.strictEqual(error.port, first.port)
      assert.isTrue(error.message.startsWith(`The SageMaker emulator cannot listen on 127.0.0.1:${first.port}`))
    }))

  it.scoped("started under TestClock, the server still lives in real time", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ faults: { ep: { kind: "latency", millis: 20 } } })
      const c = yield* client(emulator)
      const r = yield* invoke(c, call)
      assert.isTrue(Either.isRight(r))
    }))

  it.scopedLive("recordLimit keeps the latest requests", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ recordLimit: 2 })
      const c = yield* client(emulator)
      for (const name of ["a", "b", "c"]) yield* invoke(c, { ...call, EndpointName: name })
      assert.deepStrictEqual((yield* emulator.requests).map((r) => r.endpointName), ["b", "c"])
    }))

  it.scopedLive("layer provides the service", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.SagemakerEmulator
      assert.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual(emulator.url, `http://127.0.0.1:${emulator.port}`)
    }).pipe(Effect.provide(SagemakerEmulator.layer())))
})

describe("SagemakerEmulator.parseFault / parseSplit", () => {
  it("parses fault specs", () => {
    assert.deepStrictEqual(
      SagemakerEmulator.parseFault("not-ready:1000"),
      Either.right({ kind: "not-ready", count: 1000 })
    )
    assert.deepStrictEqual(SagemakerEmulator.parseFault("latency:250"), Either.right({ kind: "latency", millis: 250 }))
    assert.deepStrictEqual(
      SagemakerEmulator.parseFault("stream-error:2"),
      Either.right({ kind: "stream-error", afterParts: 2 })
    )
    assert.deepStrictEqual(SagemakerEmulator.parseFault("model-error"), Either.right({ kind: "model-error" }))
    assert.deepStrictEqual(SagemakerEmulator.parseFault("throttle:3"), Either.right({ kind: "throttle", count: 3 }))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("latency")))
    assert.deepStrictEqual(SagemakerEmulator.parseFault("capacity:64"), Either.right({ kind: "capacity", limit: 64 }))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("capacity")))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("capacity:0")))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("nope")))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("throttle:x")))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("throttle:1:2")))
    assert.deepStrictEqual(
      SagemakerEmulator.parseFault("async-late:500"),
      Either.right({ kind: "async-late", millis: 500 })
    )
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseFault("async-late")))
    for (const kind of SagemakerEmulator.faultKinds) {
      if (kind !== "latency" && kind !== "capacity" && kind !== "async-late") {
        assert.isTrue(Either.isRight(SagemakerEmulator.parseFault(kind)), kind)
      }
    }
  })

  it("parses split specs", () => {
    assert.deepStrictEqual(SagemakerEmulator.parseSplit("fixed:7"), Either.right({ kind: "fixed", size: 7 }))
    assert.deepStrictEqual(SagemakerEmulator.parseSplit("inside-utf8"), Either.right({ kind: "inside-utf8" }))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseSplit("fixed:0")))
    assert.isTrue(Either.isLeft(SagemakerEmulator.parseSplit("halves")))
  })
})
