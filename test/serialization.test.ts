/** toDict / fromDict beyond Haystack's own tests: our extra options, round trips, bad input. */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"

describe("toDict / fromDict", () => {
  it("options beyond Haystack follow Haystack's keys, only when set, timeout in milliseconds", () => {
    const dict = SagemakerGenerator.toDict({
      model: "m",
      awsSessionToken: null,
      endpointUrl: "http://127.0.0.1:9999",
      inferenceComponentName: "ic-1",
      sessionId: "NEW_SESSION",
      timeout: "30 seconds"
    })
    assert.deepStrictEqual(Object.keys(dict.init_parameters), [
      "model",
      "aws_access_key_id",
      "aws_secret_access_key",
      "aws_session_token",
      "aws_region_name",
      "aws_profile_name",
      "aws_custom_attributes",
      "generation_kwargs",
      "endpoint_url",
      "inference_component_name",
      "session_id",
      "timeout"
    ])
    assert.strictEqual(dict.init_parameters.aws_session_token, null)
    assert.strictEqual(dict.init_parameters.timeout, 30_000)
  })

  it("round trip", () => {
    const options: SagemakerGenerator.Options = {
      model: "m",
      awsAccessKeyId: Secret.fromEnvVar(["MY_KEY", "AWS_ACCESS_KEY_ID"]),
      awsProfileName: null,
      awsCustomAttributes: { accept_eula: true },
      generationKwargs: { max_new_tokens: 5, stop: ["</s>"] },
      targetVariant: "v1",
      targetModel: "a.tar.gz",
      targetContainerHostname: "c1",
      inferenceId: "id-1",
      timeout: Duration.seconds(2)
    }
    const dict = SagemakerGenerator.toDict(options)
    const back = Either.getOrThrow(SagemakerGenerator.optionsFromDict(JSON.parse(JSON.stringify(dict))))
    assert.deepStrictEqual(SagemakerGenerator.toDict(back), dict)
    assert.deepStrictEqual(back.awsAccessKeyId, options.awsAccessKeyId)
    assert.strictEqual(back.awsProfileName, null)
  })

  it("fromDict does not mutate its input (Haystack's does)", () => {
    const dict = JSON.parse(JSON.stringify(SagemakerGenerator.toDict({ model: "m" })))
    const before = JSON.stringify(dict)
    SagemakerGenerator.optionsFromDict(dict)
    assert.strictEqual(JSON.stringify(dict), before)
  })

  for (
    const [data, message] of [
      [null, "Serialization data must be an object"],
      [
        { type: SagemakerGeneratorType(), init_parameters: {} },
        "Missing 'model' in init_parameters (the endpoint name)"
      ],
      [
        { type: SagemakerGeneratorType(), init_parameters: { model: "m", aws_access_key_id: { type: "token" } } },
        "Cannot deserialize token-based secret. Use an alternative secret type like environment variables."
      ],
      [
        { type: SagemakerGeneratorType(), init_parameters: { model: "m", generation_kwargs: [1] } },
        "'generation_kwargs' must be an object"
      ],
      [
        { type: SagemakerGeneratorType(), init_parameters: { model: "m", timeout: "soon" } },
        "'timeout' must be a positive number of milliseconds"
      ]
    ] as const
  ) {
    it(`refuses: ${message}`, () => {
      const result = SagemakerGenerator.optionsFromDict(data)
      assert.deepStrictEqual(
        Either.map(Either.flip(result), (e) => [e._tag, e.message]),
        Either.right([
          "SagemakerDeserializationError",
          message
        ])
      )
    })
  }
})

function SagemakerGeneratorType() {
  return SagemakerGenerator.toDict({ model: "m" }).type
}
