/**
 * Every error row of docs/protocol.md §4.2, served by a loopback server and read by each transport (the
 * real AWS SDK client, and the HTTP transport that parses the same responses by docs/protocol.md §4.1):
 * the tag, status, fields and retryability of what `run` fails with, and how many requests the
 * server saw under the default policy (3 attempts for the retryable ones, 1 for the rest). Both
 * transports must give the same answer for every row.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { withGenerator } from "./helpers/generator.js"
import * as Loopback from "./helpers/loopbackServer.js"
import { transports } from "./helpers/transports.js"

const CORAL = ":http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/"

const MODEL_ERROR_BODY = {
  ErrorCode: "CLIENT_ERROR_FROM_MODEL",
  LogStreamArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/my-ep",
  Message: "Received client error (400) from primary with message \"{\"error\":\"Input validation error\"}\".",
  OriginalMessage: "{\"error\":\"Input validation error\"}",
  OriginalStatusCode: 400
}

interface Row {
  readonly name: string
  readonly reply: Loopback.Reply
  readonly tag: string
  readonly fields: Record<string, unknown>
  readonly message?: string
  readonly attempts: number
}

const rows: ReadonlyArray<Row> = [
  {
    name: "ValidationError with the Coral type header",
    reply: Loopback.serviceError(400, `ValidationError${CORAL}`, {
      Message: "Endpoint x of account 123456789012 not found."
    }),
    tag: "SagemakerValidationError",
    fields: { field: "request", rule: "Endpoint x of account 123456789012 not found.", statusCode: 400 },
    message: "Invalid request: Endpoint x of account 123456789012 not found.",
    attempts: 1
  },
  {
    name: "ValidationError as __type in the body",
    reply: Loopback.serviceError(400, undefined, { __type: "ValidationError", message: "bad input" }),
    tag: "SagemakerValidationError",
    fields: { rule: "bad input", retryable: false },
    attempts: 1
  },
  {
    name: "ValidationError as code in the body",
    reply: Loopback.serviceError(400, undefined, { code: "ValidationError", Message: "bad input" }),
    tag: "SagemakerValidationError",
    fields: { rule: "bad input" },
    attempts: 1
  },
  {
    name: "ValidationError as a namespaced __type",
    reply: Loopback.serviceError(400, undefined, {
      __type: "com.amazonaws.sagemakerruntime#ValidationError",
      message: "bad input"
    }),
    tag: "SagemakerValidationError",
    fields: { rule: "bad input" },
    attempts: 1
  },
  {
    name: "ModelError 424 with the container's status and message",
    reply: Loopback.serviceError(424, `ModelError${CORAL}`, MODEL_ERROR_BODY),
    tag: "SagemakerInferenceError",
    fields: {
      statusCode: 424,
      errorCode: "ModelError",
      text: MODEL_ERROR_BODY.Message,
      originalStatusCode: 400,
      originalMessage: MODEL_ERROR_BODY.OriginalMessage,
      logStreamArn: MODEL_ERROR_BODY.LogStreamArn,
      requestId: "req-1234",
      retryable: false
    },
    message: `SageMaker Inference returned an error. Status code: 424. Response body: ${MODEL_ERROR_BODY.Message}`,
    attempts: 1
  },
  ...([429, 503] as const).map((status): Row => ({
    name: `ModelError 424 relaying an overloaded container's ${status} is retried`,
    reply: Loopback.serviceError(424, `ModelError${CORAL}`, {
      ...MODEL_ERROR_BODY,
      OriginalStatusCode: status,
      OriginalMessage: "{\"error\":\"Model is overloaded\",\"error_type\":\"overloaded\"}"
    }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 424, errorCode: "ModelError", originalStatusCode: status, retryable: true },
    attempts: 3
  })),
  {
    name: "ModelNotReadyException 429",
    reply: Loopback.serviceError(429, "ModelNotReadyException", { Message: "model is loading" }),
    tag: "SagemakerNotReadyError",
    fields: { statusCode: 429, text: "model is loading", retryable: true },
    message: "Sagemaker model not ready: model is loading",
    attempts: 3
  },
  {
    name: "InternalFailure 500",
    reply: Loopback.serviceError(500, "InternalFailure", { Message: "An internal failure occurred." }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 500, errorCode: "InternalFailure", retryable: true },
    attempts: 3
  },
  {
    name: "ServiceUnavailable 503",
    reply: Loopback.serviceError(503, "ServiceUnavailable", { Message: "try later" }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 503, errorCode: "ServiceUnavailable", text: "try later", retryable: true },
    attempts: 3
  },
  {
    name: "InternalDependencyException 530 (not retried, as the SDK does not)",
    reply: Loopback.serviceError(530, "InternalDependencyException", { Message: "dependency down" }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 530, errorCode: "InternalDependencyException", retryable: false },
    attempts: 1
  },
  {
    name: "ThrottlingException as SageMaker sends it: 400 with {\"message\": null}",
    reply: Loopback.serviceError(400, "ThrottlingException", { message: null }),
    tag: "SagemakerThrottlingError",
    fields: { statusCode: 400, text: "UnknownError", retryable: true },
    attempts: 3
  },
  {
    name: "ThrottlingException 429 with a Retry-After hint",
    reply: Loopback.serviceError(429, "ThrottlingException", { message: "Rate exceeded" }, { "retry-after": "0" }),
    tag: "SagemakerThrottlingError",
    fields: { statusCode: 429, text: "Rate exceeded", retryAfterMillis: 0 },
    attempts: 3
  },
  {
    name: "a 429 with no error type is throttling",
    reply: Loopback.serviceError(429, undefined, { message: "slow down" }),
    tag: "SagemakerThrottlingError",
    fields: { statusCode: 429 },
    attempts: 3
  },
  {
    name: "AccessDeniedException 403",
    reply: Loopback.serviceError(403, "AccessDeniedException", {
      Message: "User: arn:aws:iam::123456789012:user/x is not authorized to perform: sagemaker:InvokeEndpoint"
    }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 403, errorCode: "AccessDeniedException", retryable: false },
    attempts: 1
  },
  {
    name: "UnrecognizedClientException 403",
    reply: Loopback.serviceError(403, "UnrecognizedClientException", {
      message: "The security token included in the request is invalid."
    }),
    tag: "SagemakerInferenceError",
    fields: {
      statusCode: 403,
      errorCode: "UnrecognizedClientException",
      text: "The security token included in the request is invalid."
    },
    attempts: 1
  },
  {
    name: "InvalidSignatureException 403",
    reply: Loopback.serviceError(403, "InvalidSignatureException", {
      message: "The request signature we calculated does not match the signature you provided."
    }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 403, errorCode: "InvalidSignatureException", retryable: false },
    attempts: 1
  },
  {
    name: "413 without an error type (real-time oversize)",
    reply: Loopback.serviceError(413, undefined, { message: "HTTP content length exceeded 6291456 bytes." }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 413, errorCode: "Unknown", text: "HTTP content length exceeded 6291456 bytes." },
    attempts: 1
  },
  {
    name: "400 with no error type anywhere",
    reply: Loopback.serviceError(400, undefined, { Message: "something" }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 400, errorCode: "Unknown", retryable: false },
    attempts: 1
  },
  ...[500, 502, 504].map((status): Row => ({
    name: `an empty ${status}`,
    reply: { status, body: "" },
    tag: "SagemakerInferenceError",
    fields: { statusCode: status, errorCode: "Unknown", text: "UnknownError", retryable: true },
    attempts: 3
  })),
  {
    name: "an HTML 500 (the SDK throws a SyntaxError)",
    reply: { status: 500, headers: { "content-type": "text/html" }, body: "<html><body>Oops</body></html>" },
    tag: "SagemakerInferenceError",
    fields: { statusCode: 500, errorCode: "Unknown", retryable: true },
    attempts: 3
  },
  {
    name: "an unknown error type with status 500",
    reply: Loopback.serviceError(500, "SomethingNew", { Message: "new failure" }),
    tag: "SagemakerInferenceError",
    fields: { statusCode: 500, errorCode: "SomethingNew", text: "new failure", retryable: true },
    attempts: 3
  }
]

for (const transport of transports) {
  describe(`service errors become tagged errors (docs/protocol.md §4.2, ${transport.name} transport)`, () => {
    for (const row of rows) {
      it.scopedLive(`${row.name} → ${row.tag}, ${row.attempts} request(s)`, () =>
        Effect.gen(function*() {
          const server = yield* Loopback.start(() => row.reply)
          const error = yield* SagemakerGenerator.run("prompt").pipe(
            withGenerator(server, { ...transport.options, retry: { baseDelay: "1 millis" } }),
            Effect.flip
          )
          assert.strictEqual(error._tag, row.tag)
          for (const [key, value] of Object.entries(row.fields)) {
            assert.deepStrictEqual((error as unknown as Record<string, unknown>)[key], value, key)
          }
          if (row.message !== undefined) assert.strictEqual(error.message, row.message)
          assert.strictEqual(server.requests.length, row.attempts)
          // The transport itself never retries: each request is its first attempt of one (the HTTP
          // transport sends the SDK's header too, for servers that count attempts).
          for (const request of server.requests) {
            assert.strictEqual(request.headers["amz-sdk-request"], "attempt=1; max=1")
          }
        }))
    }

    it.scopedLive("no credentials anywhere (the SDK's default chain finds none) is AWSConfigurationError at call time", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, "[]"))
        const error = yield* SagemakerGenerator.run("prompt").pipe(
          withGenerator(server, {
            ...transport.options,
            awsAccessKeyId: null,
            awsSecretAccessKey: null,
            awsProfileName: null
          }),
          Effect.flip
        )
        assert.strictEqual(error._tag, "AWSConfigurationError")
        if (error._tag !== "AWSConfigurationError") return
        assert.match(error.description, /^No AWS credentials could be resolved/)
        assert.strictEqual(server.requests.length, 0)
      }))

    it.scopedLive("a refused connection is a retryable transport error without a status", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, "[]"))
        const url = server.url
        const error = yield* SagemakerGenerator.run("prompt").pipe(
          withGenerator({ ...server, url: url.replace(/:\d+$/, ":1") }, { ...transport.options, retry: false }),
          Effect.flip
        )
        assert.strictEqual(error._tag, "SagemakerInferenceError")
        if (error._tag !== "SagemakerInferenceError") return
        assert.strictEqual(error.errorCode, "Transport")
        assert.isUndefined(error.statusCode)
        assert.isTrue(error.retryable)
        assert.match(error.text, /ECONNREFUSED/)
      }))

    for (const chunked of [false, true]) {
      it.scopedLive(`a 200 body over SageMaker's 6 MiB response limit is refused (${chunked ? "chunked" : "announced"})`, () =>
        Effect.gen(function*() {
          const body = `[{"generated_text":"${"x".repeat(6_291_456)}"}]`
          const server = yield* Loopback.start(() => ({ ...Loopback.json(200, body), chunked }))
          const error = yield* SagemakerGenerator.run("prompt").pipe(
            withGenerator(server, { ...transport.options, retry: false }),
            Effect.flip
          )
          assert.strictEqual(error._tag, "SagemakerResponseError")
          assert.match(
            error.message,
            /^Unexpected model response body: .* over SageMaker's response limit of 6291456 bytes$/
          )
        }))
    }
  })
}

/**
 * Corner cases of docs/protocol.md §4.1 beyond the §4.2 rows, where the transports must agree field for
 * field: where the error type is found and how it is cut, which message wins, odd bodies and
 * statuses, `Retry-After` forms.
 */
const cornerRows: ReadonlyArray<{ readonly name: string; readonly reply: Loopback.Reply }> = [
  {
    name: "`Code` in the body",
    reply: Loopback.serviceError(400, undefined, { Code: "ValidationError", message: "m" })
  },
  { name: "`CODE` in the body", reply: Loopback.serviceError(400, undefined, { CODE: "ThrottlingException" }) },
  {
    name: "`code` wins over `__type`",
    reply: Loopback.serviceError(400, undefined, { code: "ThrottlingException", __type: "ValidationError" })
  },
  {
    name: "the header wins over the body",
    reply: Loopback.serviceError(429, "ModelNotReadyException", { code: "ValidationError", Message: "m" })
  },
  { name: "a header cut at `,`", reply: Loopback.serviceError(503, "ServiceUnavailable,extra", { Message: "m" }) },
  {
    name: "a namespaced header",
    reply: Loopback.serviceError(424, "com.amazonaws.sagemakerruntime#ModelError", MODEL_ERROR_BODY)
  },
  { name: "a numeric `code`", reply: Loopback.serviceError(400, undefined, { code: 413, message: "m" }) },
  {
    name: "`message` wins over `Message`",
    reply: Loopback.serviceError(500, "InternalFailure", { message: "lower", Message: "upper" })
  },
  { name: "an empty 400", reply: { status: 400, body: "" } },
  { name: "an empty JSON object 503", reply: Loopback.json(503, {}) },
  { name: "a JSON array body", reply: Loopback.json(500, []) },
  { name: "a plain-text 400", reply: { status: 400, headers: { "content-type": "text/plain" }, body: "Bad Request" } },
  { name: "a 302", reply: { status: 302, headers: { location: "/elsewhere" }, body: "" } },
  {
    name: "x-amz-retry-after in milliseconds",
    reply: Loopback.serviceError(503, "ServiceUnavailable", { Message: "m" }, { "x-amz-retry-after": "2" })
  },
  {
    name: "Retry-After as a past HTTP date",
    reply: Loopback.serviceError(429, "ThrottlingException", {}, { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" })
  },
  {
    name: "x-amz-request-id instead of x-amzn-RequestId",
    reply: { status: 500, headers: { "content-type": "application/json", "x-amz-request-id": "r-2" }, body: "{}" }
  },
  {
    name: "ModelError with extra members and a string OriginalStatusCode",
    reply: Loopback.serviceError(424, "ModelError", { ...MODEL_ERROR_BODY, OriginalStatusCode: "400", Extra: 1 })
  }
]

describe("the transports agree field for field (docs/protocol.md §4.1 corner cases and the §4.2 rows)", () => {
  for (const row of [...rows, ...cornerRows]) {
    it.scopedLive(row.name, () =>
      Effect.gen(function*() {
        const seen: Array<{ readonly transport: string; readonly error: unknown; readonly attempts: number }> = []
        for (const transport of transports) {
          const server = yield* Loopback.start(() => row.reply)
          const error = yield* SagemakerGenerator.run("prompt").pipe(
            withGenerator(server, { ...transport.options, retry: { baseDelay: "1 millis" } }),
            Effect.flip
          )
          seen.push({
            transport: transport.name,
            error: JSON.parse(JSON.stringify(error)),
            attempts: server.requests.length
          })
        }
        for (const other of seen.slice(1)) {
          assert.deepStrictEqual(
            { error: other.error, attempts: other.attempts },
            { error: seen[0]!.error, attempts: seen[0]!.attempts },
            `${other.transport} vs ${seen[0]!.transport}`
          )
        }
      }))
  }
})
