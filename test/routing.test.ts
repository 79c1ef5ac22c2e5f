/**
 * The routing table (src/internal/client/routing.ts): each member's rule on each operation, as the
 * SageMaker Runtime API reference states it (docs/protocol.md §2.1, §2.2); its SDK members and
 * headers as the real SDK writes them; the order the Haystack dict writes its keys in; and `pick`.
 */
import {
  InvokeEndpointAsyncCommand,
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient
} from "@aws-sdk/client-sagemaker-runtime"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Routing from "../src/internal/client/routing.js"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"

const RESOURCE_NAME = "must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
const COMPONENT_NAME = "must match ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
const PRINTABLE = "must be printable ASCII, not starting with a space"
const SESSION_INVOKE = "must be NEW_SESSION or match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
const SESSION_STREAM = "must be an existing session's id (a stream cannot open a session: NEW_SESSION needs run)"
const NOT_A_MEMBER = {
  invoke: "is not a member of InvokeEndpoint",
  stream: "is not a member of the stream route",
  async: "is not a member of InvokeEndpointAsync"
} as const

interface RuleCase {
  readonly maxLength: number
  readonly valid: ReadonlyArray<string>
  /** Values that break the pattern, and the reason given. */
  readonly invalid: ReadonlyArray<string>
  readonly reason: string
}

const resourceName: RuleCase = {
  maxLength: 63,
  valid: ["variant-1", "a--b", "A9", "x"],
  invalid: ["v_1", "-v", "v-", "v 1", "vé"],
  reason: RESOURCE_NAME
}
const printable = (maxLength: number): RuleCase => ({
  maxLength,
  valid: ["model.tar.gz", "inf 1", "~!{}", "a "],
  invalid: [" leading", "\ttab", "é", "line\nbreak"],
  reason: PRINTABLE
})

/** Each member's rule per operation, from the API reference; `undefined`: the operation has no such member. */
const expected: { readonly [K in Routing.Name]: { readonly [O in Routing.Operation]: RuleCase | undefined } } = {
  targetModel: { invoke: printable(1024), stream: undefined, async: undefined },
  targetVariant: { invoke: resourceName, stream: resourceName, async: undefined },
  targetContainerHostname: { invoke: resourceName, stream: resourceName, async: undefined },
  inferenceId: { invoke: printable(64), stream: printable(64), async: printable(64) },
  inferenceComponentName: {
    invoke: {
      maxLength: 63,
      valid: ["ic-1", "a--b", "a"],
      invalid: ["ic-", "-ic", "ic_1", "ic.1"],
      reason: COMPONENT_NAME
    },
    stream: {
      maxLength: 63,
      valid: ["ic-1", "a--b", "a"],
      invalid: ["ic-", "-ic", "ic_1", "ic.1"],
      reason: COMPONENT_NAME
    },
    async: undefined
  },
  sessionId: {
    invoke: {
      maxLength: 256,
      valid: ["NEW_SESSION", "sess-1", "a--b"],
      invalid: ["new_session", "NEW_SESSION-1", "s_1", "-s"],
      reason: SESSION_INVOKE
    },
    stream: {
      maxLength: 256,
      valid: ["sess-1", "a--b"],
      invalid: ["NEW_SESSION", "s_1", "-s"],
      reason: SESSION_STREAM
    },
    async: undefined
  },
  prefixAwareId: { invoke: printable(64), stream: printable(64), async: undefined }
}

describe("each member's rule, per operation", () => {
  for (const name of Object.keys(expected) as Array<Routing.Name>) {
    for (const operation of ["invoke", "stream", "async"] as const) {
      const rule = expected[name][operation]
      if (rule === undefined) {
        it(`${name} on ${operation}: not a member`, () => {
          for (const value of ["x", "", 1]) {
            assert.strictEqual(Routing.problem(name, operation, value), NOT_A_MEMBER[operation])
          }
        })
        continue
      }
      it(`${name} on ${operation}: ${rule.reason}, at most ${rule.maxLength} characters`, () => {
        for (const value of rule.valid) assert.isUndefined(Routing.problem(name, operation, value), value)
        for (const value of rule.invalid) {
          assert.strictEqual(Routing.problem(name, operation, value), rule.reason, value)
        }
        assert.isUndefined(Routing.problem(name, operation, "a".repeat(rule.maxLength)))
        assert.strictEqual(
          Routing.problem(name, operation, "a".repeat(rule.maxLength + 1)),
          `must be at most ${rule.maxLength} characters, got ${rule.maxLength + 1}`
        )
        assert.strictEqual(Routing.problem(name, operation, ""), "must not be empty")
        assert.strictEqual(Routing.problem(name, operation, null), "must be a string, got null")
        assert.strictEqual(Routing.problem(name, operation, 7), "must be a string, got number")
      })
    }
  }

  it("the table has exactly these members", () => {
    assert.deepStrictEqual(Object.keys(Routing.members).sort(), Object.keys(expected).sort())
  })
})

describe("targetModel and NEW_SESSION on the stream route", () => {
  it("targetModel is absent from the stream route's members", () => {
    const streamNames: ReadonlyArray<Routing.StreamName> = [
      "targetVariant",
      "targetContainerHostname",
      "inferenceId",
      "inferenceComponentName",
      "sessionId",
      "prefixAwareId"
    ]
    // @ts-expect-error the stream route has no targetModel
    const targetModel: Routing.StreamName = "targetModel"
    assert.deepStrictEqual<ReadonlyArray<string>>(
      Routing.rows.filter(([, member]) => member.rules.stream !== undefined).map(([name]) => name),
      streamNames
    )
    assert.notInclude(streamNames, targetModel)
    assert.strictEqual(Routing.problem("targetModel", "stream", "a.tar.gz"), NOT_A_MEMBER.stream)
    assert.isUndefined(Routing.problem("targetModel", "invoke", "a.tar.gz"))
  })

  it("NEW_SESSION opens a session on InvokeEndpoint and is refused on the stream route", () => {
    assert.isUndefined(Routing.problem("sessionId", "invoke", "NEW_SESSION"))
    assert.strictEqual(Routing.problem("sessionId", "stream", "NEW_SESSION"), SESSION_STREAM)
    assert.isUndefined(Routing.problem("sessionId", "stream", "0f3a-77c1"))
  })
})

/** The headers the SDK sends for `input`, caught before they leave the process. */
const sentHeaders = (operation: Routing.Operation, input: Record<string, string | number>) =>
  Effect.gen(function*() {
    const sent: Array<Record<string, string>> = []
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new SageMakerRuntimeClient({
          region: "us-east-1",
          credentials: { accessKeyId: "AKIDROUTING", secretAccessKey: "routing-secret" },
          maxAttempts: 1,
          requestHandler: {
            handle: (request: { readonly headers: Record<string, string> }) => {
              sent.push(request.headers)
              return Promise.reject(new Error("caught before the network"))
            }
          } as never
        })
      ),
      (client) => Effect.sync(() => client.destroy())
    )
    const command = { EndpointName: "ep", Body: new Uint8Array([123, 125]), ...input } as never
    yield* Effect.tryPromise((signal): Promise<unknown> =>
      operation === "invoke"
        ? client.send(new InvokeEndpointCommand(command), { abortSignal: signal })
        : operation === "stream"
        ? client.send(new InvokeEndpointWithResponseStreamCommand(command), { abortSignal: signal })
        : client.send(new InvokeEndpointAsyncCommand(command), { abortSignal: signal })
    ).pipe(Effect.flip)
    assert.strictEqual(sent.length, 1)
    return sent[0]!
  }).pipe(Effect.scoped)

describe("the real SDK writes each member as the table's header", () => {
  for (const [name, member] of Routing.rows) {
    it.live(`${name}: ${member.sdkMember} → ${member.header}, on ${Object.keys(member.rules).join(" and ")}`, () =>
      Effect.gen(function*() {
        for (const operation of ["invoke", "stream", "async"] as const) {
          const headers = yield* sentHeaders(operation, { [member.sdkMember]: "value-1" })
          // A member the table leaves off an operation is one the SDK's model of it does not have.
          const carried = member.rules[operation] !== undefined
          assert.strictEqual(headers[member.header], carried ? "value-1" : undefined, `${name} on ${operation}`)
          assert.deepStrictEqual(
            Object.keys(headers).filter((header) => header.startsWith("x-amzn-sagemaker-")),
            carried ? [member.header] : [],
            `${name} on ${operation}`
          )
        }
      }))
  }

  it.live("with every member set, the SDK writes them in the table's order", () =>
    Effect.gen(function*() {
      const input = Object.fromEntries(Routing.rows.map(([, member]) => [member.sdkMember, "value-1"]))
      const headers = yield* sentHeaders("invoke", input)
      assert.deepStrictEqual(
        Object.keys(headers).filter((header) => header.startsWith("x-amzn-sagemaker-")),
        Routing.rows.map(([, member]) => member.header)
      )
    }))
})

describe("InvokeEndpointAsync's own members", () => {
  it.live("the real SDK writes each as the table's header, in the table's order, after inferenceId", () =>
    Effect.gen(function*() {
      const values = {
        inputLocation: "s3://bucket/in.json",
        s3OutputPathExtension: "run-1",
        filename: "out.json",
        requestTtlSeconds: 600,
        invocationTimeoutSeconds: 60
      } satisfies Required<Routing.AsyncMembers>
      const input: Record<string, string | number> = { InferenceId: "id-1" }
      for (const [name, member] of Routing.asyncRows) input[member.sdkMember] = values[name]
      // The SDK takes either a body or an input location: only the headers matter here.
      const headers = yield* sentHeaders("async", input)
      assert.deepStrictEqual(
        Object.keys(headers).filter((header) => header.startsWith("x-amzn-sagemaker-")),
        ["x-amzn-sagemaker-inference-id", ...Routing.asyncRows.map(([, member]) => member.header)]
      )
      for (const [name, member] of Routing.asyncRows) assert.strictEqual(headers[member.header], String(values[name]))
    }))

  it("each rule is the API reference's", () => {
    assert.isUndefined(Routing.asyncProblem("inputLocation", "s3://b/k/in.json"))
    assert.isUndefined(Routing.asyncProblem("inputLocation", "https://b.s3.amazonaws.com/k"))
    assert.strictEqual(Routing.asyncProblem("inputLocation", "/tmp/in.json"), "must be an s3:// or https:// URI")
    assert.strictEqual(
      Routing.asyncProblem("s3OutputPathExtension", "s3://x"),
      "must match ^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$"
    )
    assert.isUndefined(Routing.asyncProblem("s3OutputPathExtension", "runs/2026-12-02"))
    assert.isUndefined(Routing.asyncProblem("filename", "out.json"))
    assert.isString(Routing.asyncProblem("filename", "out.tar.gz"))
    assert.strictEqual(Routing.asyncProblem("filename", "a".repeat(33)), "must be at most 32 characters, got 33")
    assert.isUndefined(Routing.asyncProblem("requestTtlSeconds", 60))
    assert.strictEqual(Routing.asyncProblem("requestTtlSeconds", 59), "must be from 60 to 21600 seconds, got 59")
    assert.strictEqual(
      Routing.asyncProblem("invocationTimeoutSeconds", 3601),
      "must be from 1 to 3600 seconds, got 3601"
    )
    assert.strictEqual(Routing.asyncProblem("invocationTimeoutSeconds", 1.5), "must be a whole number of seconds")
  })
})

describe("dictRows", () => {
  // The order earlier releases wrote the routing keys in, prefix_aware_id added last.
  const dictOrder = [
    "target_variant",
    "target_model",
    "target_container_hostname",
    "inference_component_name",
    "inference_id",
    "session_id",
    "prefix_aware_id"
  ]

  it("follow the order the Haystack dict writes the routing keys in", () => {
    assert.deepStrictEqual(Routing.dictRows.map(([, member]) => member.dictKey), dictOrder)
    // Set in wire order, written in dict order.
    const options = Object.fromEntries(Routing.rows.map(([name]) => [name, `${name}-1`]))
    const dict = SagemakerGenerator.toDict({ model: "m", endpointUrl: "http://127.0.0.1:1", ...options })
    const keys = Object.keys(dict.init_parameters)
    // After Haystack's own keys: the endpoint URL, then the routing keys.
    assert.deepStrictEqual(keys.slice(keys.indexOf("generation_kwargs") + 1), ["endpoint_url", ...dictOrder])
    for (const [name, member] of Routing.dictRows) {
      assert.strictEqual((dict.init_parameters as Record<string, unknown>)[member.dictKey], `${name}-1`)
    }
  })
})

describe("pick", () => {
  it("keeps the routing members that are set, in wire order, and nothing else", () => {
    const picked = Routing.pick({
      sessionId: "s-1",
      targetVariant: "blue",
      inferenceId: undefined,
      ...{ model: "m", awsCustomAttributes: { a: 1 }, timeout: "1 second" }
    } as Routing.Routing)
    assert.deepStrictEqual(picked, { targetVariant: "blue", sessionId: "s-1" })
    assert.deepStrictEqual(Object.keys(picked), ["targetVariant", "sessionId"])
  })

  it("nothing set: an empty object", () => {
    assert.deepStrictEqual(Routing.pick({}), {})
    assert.deepStrictEqual(Routing.pick({ targetModel: undefined }), {})
  })

  it("keeps values that break a rule, for the check to name them", () => {
    const picked = Routing.pick({ targetVariant: "", inferenceId: null } as unknown as Routing.Routing)
    assert.deepStrictEqual(picked, { targetVariant: "", inferenceId: null } as unknown as Routing.Routing)
  })

  it("returns a new object, not its argument", () => {
    const routing: Routing.Routing = { targetVariant: "blue" }
    const picked = Routing.pick(routing)
    assert.notStrictEqual(picked, routing)
    assert.deepStrictEqual(picked, routing)
  })
})
