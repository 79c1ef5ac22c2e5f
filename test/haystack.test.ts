/**
 * Haystack's twelve unit tests (amazon-sagemaker-haystack v1.1.0, tests/test_sagemaker.py), ported
 * with exact assertions, and the extra cases of docs/haystack.md §1.11. Where Haystack mocks boto3, these
 * run a real transport against a loopback server, once per transport of test/helpers/transports.ts
 * (the AWS SDK client, the HTTP transport); each departure is asserted as docs/design.md decides.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { sdkConfig } from "../src/internal/client/sdk/sdkTransport.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import { haystackEnv, withGenerator, withHaystackEnv } from "./helpers/generator.js"
import * as Loopback from "./helpers/loopbackServer.js"
import { transports } from "./helpers/transports.js"

const PROMPT = "What's Natural Language Processing?"

const HAYSTACK_DICT: SagemakerGenerator.SerializedGenerator = {
  type: "haystack_integrations.components.generators.amazon_sagemaker.sagemaker.SagemakerGenerator",
  init_parameters: {
    model: "model",
    aws_access_key_id: { type: "env_var", env_vars: ["AWS_ACCESS_KEY_ID"], strict: false },
    aws_secret_access_key: { type: "env_var", env_vars: ["AWS_SECRET_ACCESS_KEY"], strict: false },
    aws_session_token: { type: "env_var", env_vars: ["AWS_SESSION_TOKEN"], strict: false },
    aws_region_name: { type: "env_var", env_vars: ["AWS_DEFAULT_REGION"], strict: false },
    aws_profile_name: { type: "env_var", env_vars: ["AWS_PROFILE"], strict: false },
    aws_custom_attributes: { accept_eula: true },
    generation_kwargs: { max_new_tokens: 10 }
  }
}

type TransportOptions = Partial<SagemakerGenerator.Options>

/** Registers a test that goes over the wire once per transport; the test gets its options. */
const wire = (name: string, test: (transport: TransportOptions) => Effect.Effect<void, unknown, Scope.Scope>) => {
  for (const transport of transports) {
    it.scopedLive(`${name} (${transport.name} transport)`, () => test(transport.options))
  }
}

/** Runs `run(prompt, kwargs)` against a server that answers every request with `body`. */
const runWithBody = (
  transport: TransportOptions,
  body: string,
  options: Partial<SagemakerGenerator.Options> = {},
  prompt = PROMPT,
  kwargs?: Record<string, unknown>
) =>
  Effect.gen(function*() {
    const server = yield* Loopback.start(() => Loopback.json(200, body))
    const exit = yield* SagemakerGenerator.run(prompt, kwargs).pipe(
      withGenerator(server, { ...transport, ...options }),
      Effect.exit
    )
    return { exit, server }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  assert.isTrue(Option.isSome(failure), "expected a typed failure, not a defect")
  return Option.getOrThrow(failure)
}

describe("Haystack's unit tests", () => {
  it("1. test_to_dict: equals Haystack's to_dict byte for byte", () => {
    const dict = SagemakerGenerator.toDict({
      model: "model",
      generationKwargs: { max_new_tokens: 10 },
      awsCustomAttributes: { accept_eula: true }
    })
    assert.deepStrictEqual(dict, HAYSTACK_DICT)
    assert.strictEqual(JSON.stringify(dict), JSON.stringify(HAYSTACK_DICT))
  })

  it("2. test_from_dict: model and env-var secrets come back", () => {
    const options = Either.getOrThrow(SagemakerGenerator.optionsFromDict(HAYSTACK_DICT))
    assert.strictEqual(options.model, "model")
    assert.deepStrictEqual(options.awsAccessKeyId, Secret.fromEnvVar("AWS_ACCESS_KEY_ID", { strict: false }))
    assert.strictEqual(options.awsAccessKeyId?._tag, "EnvVarSecret")
    assert.deepStrictEqual(options.generationKwargs, { max_new_tokens: 10 })
    assert.deepStrictEqual(options.awsCustomAttributes, { accept_eula: true })
  })

  wire("2b. from_dict builds a working layer", (transport) =>
    Effect.gen(function*() {
      const generator = yield* SagemakerGenerator.SagemakerGenerator.pipe(
        Effect.provide(SagemakerGenerator.fromDict({
          ...HAYSTACK_DICT,
          init_parameters: { ...HAYSTACK_DICT.init_parameters, ...transport }
        })),
        withHaystackEnv
      )
      assert.strictEqual(generator.model, "model")
      assert.deepStrictEqual(generator.generationKwargs, { max_new_tokens: 10 })
    }))

  it.effect("3. test_default_constructor: defaults, and the client gets exactly the env fixture's values", () =>
    Effect.gen(function*() {
      const options = { model: "test-model" }
      const clientOptions = yield* SagemakerGenerator.clientOptions(options).pipe(withHaystackEnv)
      assert.strictEqual(clientOptions.region, "fake-region")
      assert.strictEqual(clientOptions.profile, "some_fake_profile")
      const credentials = clientOptions.credentials!
      assert.strictEqual(Redacted.value(credentials.accessKeyId), "some_fake_id")
      assert.strictEqual(Redacted.value(credentials.secretAccessKey), "some_fake_key")
      assert.strictEqual(Redacted.value(credentials.sessionToken!), "some_fake_token")

      const sdk = sdkConfig(clientOptions)
      assert.strictEqual(sdk.region, "fake-region")
      assert.strictEqual(sdk.profile, "some_fake_profile")
      assert.strictEqual(sdk.maxAttempts, 1)
      const resolved = yield* Effect.promise(() => (sdk.credentials as () => Promise<unknown>)())
      assert.deepStrictEqual(resolved, {
        accessKeyId: "some_fake_id",
        secretAccessKey: "some_fake_key",
        sessionToken: "some_fake_token"
      })

      const generator = yield* SagemakerGenerator.SagemakerGenerator.pipe(
        Effect.provide(SagemakerGenerator.layer(options)),
        withHaystackEnv
      )
      assert.strictEqual(generator.model, "test-model")
      assert.deepStrictEqual(generator.generationKwargs, { max_new_tokens: 1024 })
    }))

  wire("3b. the fixture's credentials and region sign the real request", (transport) =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() => Loopback.json(200, [{ generated_text: "ok" }]))
      yield* SagemakerGenerator.run(PROMPT).pipe(
        Effect.provide(SagemakerGenerator.layer({ ...transport, model: "test-model", endpointUrl: server.url })),
        withHaystackEnv
      )
      const headers = server.requests[0]!.headers
      assert.match(headers.authorization!, /Credential=some_fake_id\/\d{8}\/fake-region\/sagemaker\/aws4_request/)
      assert.strictEqual(headers["x-amz-security-token"], "some_fake_token")
    }))

  wire(
    "4. test_init_raises_boto_error: a failing client set-up is AWSConfigurationError with Haystack's message",
    (transport) =>
      Effect.gen(function*() {
        // No region anywhere: the client cannot be set up (Haystack's boto3.Session failing).
        const error = yield* SagemakerGenerator.SagemakerGenerator.pipe(
          Effect.provide(
            SagemakerGenerator.layer({ ...transport, model: "test-model", awsProfileName: null, awsRegionName: null })
          ),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
          Effect.flip
        )
        assert.strictEqual(error._tag, "AWSConfigurationError")
        assert.strictEqual(
          error.message,
          "Could not connect to SageMaker Inference Endpoint 'test-model'.Make sure the Endpoint exists and AWS environment is configured."
        )
      })
  )

  wire(
    "4b. Haystack's own fixture region, fake_region, is refused when the layer is built",
    (transport) =>
      Effect.gen(function*() {
        const error = yield* SagemakerGenerator.SagemakerGenerator.pipe(
          Effect.provide(SagemakerGenerator.layer({ ...transport, model: "test-model" })),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([...haystackEnv, ["AWS_DEFAULT_REGION", "fake_region"]]))
          ),
          Effect.flip
        )
        assert.strictEqual(error._tag, "AWSConfigurationError")
        if (error._tag !== "AWSConfigurationError") return
        assert.match(error.description, /no valid AWS region is configured/)
        assert.notInclude(JSON.stringify(error), "fake_region")
      })
  )

  wire("5. test_run_with_list_of_dictionaries", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `[{"generated_text": "test-reply", "other": "metadata"}]`)
      assert.deepStrictEqual(exit, Exit.succeed({ replies: ["test-reply"], meta: [{ other: "metadata" }] }))
    }))

  wire("6. test_run_with_single_dictionary", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `{"generation": "test-reply", "other": "metadata"}`)
      assert.deepStrictEqual(exit, Exit.succeed({ replies: ["test-reply"], meta: [{ other: "metadata" }] }))
    }))

  wire("7. test_run_raises_on_unexpected_response_type", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `"just-a-string"`)
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "SagemakerResponseError")
      assert.match(error.message, /^Unexpected model response type: string/)
    }))

  wire(
    "8. test_run_with_unknown_generation_key: departure, a typed error naming the keys seen",
    (transport) =>
      Effect.gen(function*() {
        // Haystack returns replies [None]; docs/design.md makes it a SagemakerResponseError.
        const { exit } = yield* runWithBody(transport, `{"unknown_key": "value"}`)
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "SagemakerResponseError")
        assert.strictEqual(
          error.message,
          `Unexpected model response without a "generated_text" or "generation" key (keys: unknown_key)`
        )
      })
  )

  wire("9. test_run_raises_not_ready_error_on_429", (transport) =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() =>
        Loopback.serviceError(429, "ModelNotReadyException", { Message: "model is loading" })
      )
      const error = yield* SagemakerGenerator.run(PROMPT).pipe(
        withGenerator(server, { ...transport, retry: false }),
        Effect.flip
      )
      assert.strictEqual(error._tag, "SagemakerNotReadyError")
      assert.strictEqual(error.message, "Sagemaker model not ready: model is loading")
    }))

  wire("10. test_run_raises_inference_error_on_other_http_error", (transport) =>
    Effect.gen(function*() {
      const server = yield* Loopback.start(() =>
        Loopback.serviceError(500, "InternalFailure", { Message: "internal server error" })
      )
      const error = yield* SagemakerGenerator.run(PROMPT).pipe(
        withGenerator(server, { ...transport, retry: false }),
        Effect.flip
      )
      assert.strictEqual(error._tag, "SagemakerInferenceError")
      assert.strictEqual(
        error.message,
        "SageMaker Inference returned an error. Status code: 500. Response body: internal server error"
      )
    }))

  wire(
    "11. test_run_with_generation_kwargs: run-time kwargs merge per key over the init ones",
    (transport) =>
      Effect.gen(function*() {
        const { server } = yield* runWithBody(
          transport,
          `{"generated_text": "ok"}`,
          { generationKwargs: { max_new_tokens: 100, temperature: 0.5 } },
          "prompt",
          { temperature: 0.9 }
        )
        const body = server.requests[0]!.json() as { parameters: unknown }
        assert.deepStrictEqual(body.parameters, { max_new_tokens: 100, temperature: 0.9 })
      })
  )

  wire("12. test_run_passes_custom_attributes_and_generation_kwargs", (transport) =>
    Effect.gen(function*() {
      const { server } = yield* runWithBody(
        transport,
        `{"generated_text": "ok"}`,
        { awsCustomAttributes: { accept_eula: true, max_retries: 3 } },
        "prompt",
        { max_new_tokens: 5 }
      )
      const request = server.requests[0]!
      assert.strictEqual(request.path, "/endpoints/test-model/invocations")
      assert.strictEqual(request.headers["x-amzn-sagemaker-custom-attributes"], "accept_eula=true;max_retries=3")
      assert.deepStrictEqual(request.json(), { inputs: "prompt", parameters: { max_new_tokens: 5 } })
      assert.strictEqual(request.headers["content-type"], "application/json")
      assert.strictEqual(request.headers.accept, "application/json")
    }))
})

describe("docs/haystack.md §1.11 extra cases", () => {
  wire("1. no custom attributes: departure, no header at all", (transport) =>
    Effect.gen(function*() {
      const { server } = yield* runWithBody(transport, `[{"generated_text": "ok"}]`)
      assert.isFalse("x-amzn-sagemaker-custom-attributes" in server.requests[0]!.headers)
    }))

  wire("2. generated_text wins over generation", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `{"generated_text":"a","generation":"b"}`)
      assert.deepStrictEqual(exit, Exit.succeed({ replies: ["a"], meta: [{ generation: "b" }] }))
    }))

  wire("3. several elements: departure, one meta entry per reply", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `[{"generation":"a"},{"generation":"b"}]`)
      assert.deepStrictEqual(exit, Exit.succeed({ replies: ["a", "b"], meta: [{}, {}] }))
    }))

  wire("4. an element without a reply key: departure, a typed error", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `[{"generated_text":"a"},{"x":1}]`)
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "SagemakerResponseError")
      assert.strictEqual(
        error.message,
        `Unexpected model response in element 1: without a "generated_text" or "generation" key (keys: x)`
      )
    }))

  wire("5. an empty list: departure, a typed error instead of IndexError", (transport) =>
    Effect.gen(function*() {
      const { exit } = yield* runWithBody(transport, `[]`)
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "SagemakerResponseError")
      assert.match(error.message, /^Unexpected model response type: empty list/)
    }))

  for (
    const [body, expected] of [
      ["{}", `Unexpected model response without a "generated_text" or "generation" key (keys: none)`],
      ["null", "Unexpected model response type: null"],
      ["[1]", "Unexpected model response in element 0: type: number (expected an object)"],
      ["42", "Unexpected model response type: number"],
      ["4.2", "Unexpected model response type: number"],
      ["true", "Unexpected model response type: boolean"],
      ["not json", "Unexpected model response body: not JSON"]
    ] as const
  ) {
    wire(`6. body ${body} is refused: ${expected}`, (transport) =>
      Effect.gen(function*() {
        const { exit } = yield* runWithBody(transport, body)
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "SagemakerResponseError")
        assert.isTrue(error.message.startsWith(expected), error.message)
      }))
  }

  wire(
    "7. a failure with no response is a SagemakerInferenceError naming the cause",
    (transport) =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => ({ reset: true }))
        const error = yield* SagemakerGenerator.run(PROMPT).pipe(
          withGenerator(server, { ...transport, retry: false }),
          Effect.flip
        )
        assert.strictEqual(error._tag, "SagemakerInferenceError")
        if (error._tag !== "SagemakerInferenceError") return
        assert.isUndefined(error.statusCode)
        assert.strictEqual(error.errorCode, "Transport")
        assert.isTrue(error.retryable)
        assert.match(
          error.message,
          /^SageMaker Inference request failed without a response: .*(ECONNRESET|socket hang up)/
        )
      })
  )

  wire(
    "8. init kwargs {} give the default; run-time null or {} give the init kwargs",
    (transport) =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, `[{"generated_text":"ok"}]`))
        yield* Effect.gen(function*() {
          yield* SagemakerGenerator.run("p", null)
          yield* SagemakerGenerator.run("p", {})
        }).pipe(withGenerator(server, { ...transport, generationKwargs: {} }))
        for (const request of server.requests) {
          assert.deepStrictEqual(request.json(), { inputs: "p", parameters: { max_new_tokens: 1024 } })
        }
        assert.strictEqual(server.requests.length, 2)
      })
  )

  wire(
    "9. custom attribute values: booleans lowercase, numbers as JavaScript prints them",
    (transport) =>
      Effect.gen(function*() {
        const { server } = yield* runWithBody(transport, `[{"generated_text":"ok"}]`, {
          awsCustomAttributes: { a: false, b: 1.5, c: "x y", d: 1.0 }
        })
        // Python's str(1.0) is "1.0"; JavaScript's String(1.0) is "1" (docs/design.md).
        assert.strictEqual(server.requests[0]!.headers["x-amzn-sagemaker-custom-attributes"], "a=false;b=1.5;c=x y;d=1")
      })
  )

  it("10. to_dict of a default instance", () => {
    const dict = SagemakerGenerator.toDict({ model: "m" })
    assert.deepStrictEqual(dict.init_parameters.aws_custom_attributes, {})
    assert.deepStrictEqual(dict.init_parameters.generation_kwargs, { max_new_tokens: 1024 })
    assert.deepStrictEqual(Object.keys(dict.init_parameters), Object.keys(HAYSTACK_DICT.init_parameters))
  })

  it("11. from_dict with a wrong or missing type", () => {
    const wrong = SagemakerGenerator.optionsFromDict({ ...HAYSTACK_DICT, type: "some.Other" })
    assert.deepStrictEqual(
      Either.map(Either.flip(wrong), (e) => e.message),
      Either.right("Class 'some.Other' can't be deserialized as 'SagemakerGenerator'")
    )
    const missing = SagemakerGenerator.optionsFromDict({ init_parameters: HAYSTACK_DICT.init_parameters })
    assert.deepStrictEqual(
      Either.map(Either.flip(missing), (e) => [e._tag, e.message]),
      Either.right(["SagemakerDeserializationError", "Missing 'type' in serialization data"])
    )
  })

  it("12. serializing a token secret throws Haystack's error", () => {
    assert.throws(
      () => SagemakerGenerator.toDict({ model: "m", awsAccessKeyId: Secret.fromToken("AKIA-not-serializable") }),
      "Cannot serialize token-based secret. Use an alternative secret type like environment variables."
    )
  })

  it.effect("the env fixture resolves through Config, not process.env", () =>
    Effect.gen(function*() {
      const value = yield* Secret.resolve(Secret.fromEnvVar("AWS_PROFILE")).pipe(withHaystackEnv)
      assert.deepStrictEqual(Option.map(value, Redacted.value), Option.some(haystackEnv.get("AWS_PROFILE")!))
    }))
})
