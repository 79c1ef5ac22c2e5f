/**
 * The language model's request side, without the network: every `@effect/ai` prompt part as each
 * dialect sends it, the chat templates of the text-generation dialect, the tool-choice mapping,
 * the structured-output strategies, the sampling parameters, the finish-reason mapping and the
 * option checks of `SagemakerLanguageModel.make`.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as ChatTemplates from "../src/internal/languageModel/chatTemplates.js"
import * as Dialects from "../src/internal/languageModel/dialects.js"
import { finishReason } from "../src/internal/languageModel/finish.js"
import * as PromptTranslation from "../src/internal/languageModel/prompt.js"
import * as RequestBody from "../src/internal/languageModel/requestBody.js"
import * as Tools from "../src/internal/languageModel/tools.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import * as SagemakerLanguageModel from "../src/SagemakerLanguageModel.js"

const chatMessages = (input: Prompt.RawInput, dialect: Dialects.Dialect = "openai") =>
  PromptTranslation.toChatMessages("generateText", Prompt.make(input), Dialects.facts[dialect])

const messagesOf = (input: Prompt.RawInput, dialect: Dialects.Dialect = "openai") =>
  Either.getOrThrowWith(chatMessages(input, dialect), (error) => new Error(error.message))

interface Refused {
  readonly _tag: string
  readonly description?: string | undefined
}

/** The error a translation was refused with; its `description` says why. */
const refusal = <A>(result: Either.Either<A, Refused>): { readonly _tag: string; readonly description: string } => {
  assert.isTrue(Either.isLeft(result), "expected a refusal")
  const error = (result as Either.Left<Refused, A>).left
  return { _tag: error._tag, description: error.description ?? "" }
}

const toolCall = { type: "tool-call", id: "call-1", name: "get_weather", params: { city: "Paris" } } as const
const toolResult = (result: unknown, isFailure = false) =>
  ({
    role: "tool",
    content: [{ type: "tool-result", id: "call-1", name: "get_weather", result, isFailure, providerExecuted: false }]
  }) as const

describe("prompt translation: chat dialects", () => {
  it("a system message is a system message", () => {
    assert.deepStrictEqual(messagesOf([{ role: "system", content: "Be brief." }]), [
      { role: "system", content: "Be brief." }
    ])
  })

  it("a user message of one text part has a string content; several parts stay parts", () => {
    assert.deepStrictEqual(messagesOf("Hello"), [{ role: "user", content: "Hello" }])
    assert.deepStrictEqual(
      messagesOf([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]),
      [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]
    )
  })

  it("user images are image_url parts: bytes as a data URL, a URL as it is", () => {
    const bytes = new Uint8Array([137, 80, 78, 71])
    assert.deepStrictEqual(
      messagesOf([{
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "file", mediaType: "image/png", data: bytes },
          { type: "file", mediaType: "image/*", data: new URL("https://example.com/cat.jpg") }
        ]
      }]),
      [{
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw==" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
        ]
      }]
    )
  })

  it("a user text file is sent as its text; a file of another kind is refused, by name", () => {
    const notes = new TextEncoder().encode("line one\nline two")
    assert.deepStrictEqual(
      messagesOf([{
        role: "user",
        content: [{ type: "text", text: "Summarize:" }, { type: "file", mediaType: "text/plain", data: notes }]
      }]),
      [{
        role: "user",
        content: [{ type: "text", text: "Summarize:" }, { type: "text", text: "line one\nline two" }]
      }]
    )
    const error = refusal(chatMessages([{
      role: "user",
      content: [{ type: "file", mediaType: "application/pdf", fileName: "report.pdf", data: new Uint8Array([1]) }]
    }]))
    assert.strictEqual(error._tag, "MalformedInput")
    assert.include(error.description, "'report.pdf' (application/pdf)")
  })

  it("assistant text is the content; reasoning goes back as reasoning_content, except to TGI", () => {
    const input = [{
      role: "assistant",
      content: [{ type: "reasoning", text: "Think." }, { type: "text", text: "Hi " }, { type: "text", text: "there" }]
    }] as const
    assert.deepStrictEqual(messagesOf(input), [{ role: "assistant", content: "Hi there", reasoning_content: "Think." }])
    assert.deepStrictEqual(messagesOf(input, "lmi"), [
      { role: "assistant", content: "Hi there", reasoning_content: "Think." }
    ])
    assert.deepStrictEqual(messagesOf(input, "tgi"), [{ role: "assistant", content: "Hi there" }])
  })

  it("assistant tool calls: arguments as JSON text, content null when there is no text", () => {
    assert.deepStrictEqual(messagesOf([{ role: "assistant", content: [toolCall] }]), [{
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "call-1",
        type: "function",
        function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" }
      }]
    }])
  })

  it("TGI: tool-call arguments as an object, and text apart from the calls (its message is one or the other)", () => {
    assert.deepStrictEqual(
      messagesOf([{ role: "assistant", content: [{ type: "text", text: "Let me look." }, toolCall] }], "tgi"),
      [
        { role: "assistant", content: "Let me look." },
        {
          role: "assistant",
          tool_calls: [{
            id: "call-1",
            type: "function",
            function: { name: "get_weather", arguments: { city: "Paris" } }
          }]
        }
      ]
    )
  })

  it("provider-executed tool calls are left out", () => {
    assert.deepStrictEqual(
      messagesOf([{
        role: "assistant",
        content: [{ type: "text", text: "ok" }, { ...toolCall, providerExecuted: true }]
      }]),
      [{ role: "assistant", content: "ok" }]
    )
  })

  it("tool results: a string as it is, anything else as JSON, a failure as {error}", () => {
    assert.deepStrictEqual(messagesOf([toolResult("Sunny")]), [
      { role: "tool", tool_call_id: "call-1", content: "Sunny" }
    ])
    assert.deepStrictEqual(messagesOf([toolResult({ celsius: 21 })]), [
      { role: "tool", tool_call_id: "call-1", content: "{\"celsius\":21}" }
    ])
    assert.deepStrictEqual(messagesOf([toolResult("city unknown", true)]), [
      { role: "tool", tool_call_id: "call-1", content: "{\"error\":\"city unknown\"}" }
    ])
  })

  it("an assistant file cannot be sent back", () => {
    const error = refusal(chatMessages([{
      role: "assistant",
      content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }]
    }]))
    assert.strictEqual(error._tag, "MalformedInput")
    assert.include(error.description, "assistant message holds the file")
  })
})

describe("prompt translation: text-generation", () => {
  const turnsOf = (input: Prompt.RawInput) => PromptTranslation.toTemplateMessages("generateText", Prompt.make(input))

  it("system, user and assistant turns; text files inline", () => {
    assert.deepStrictEqual(
      Either.getOrThrow(turnsOf([
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [{ type: "text", text: "Read:" }, {
            type: "file",
            mediaType: "text/markdown",
            data: new TextEncoder().encode("# Title")
          }]
        },
        { role: "assistant", content: [{ type: "reasoning", text: "hidden" }, { type: "text", text: "Done." }] }
      ])),
      [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Read:\n# Title" },
        { role: "assistant", content: "Done." }
      ]
    )
  })

  it("tool calls, tool results and images are refused", () => {
    assert.include(refusal(turnsOf([{ role: "assistant", content: [toolCall] }])).description, "no tools")
    assert.include(refusal(turnsOf([toolResult("x")])).description, "no tools")
    assert.include(
      refusal(turnsOf([{ role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array() }] }]))
        .description,
      "text only"
    )
  })
})

describe("chat templates", () => {
  const conversation: ReadonlyArray<ChatTemplates.TemplateMessage> = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "Weather?" }
  ]
  const render = (template: SagemakerLanguageModel.ChatTemplate) =>
    SagemakerLanguageModel.renderChatTemplate(template, conversation)

  it("llama3: headers and <|eot_id|> per turn, ending in the assistant's header", () => {
    assert.strictEqual(
      render("llama3"),
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
  })

  it("llama2: the system prompt in <<SYS>> inside the first [INST]", () => {
    assert.strictEqual(
      render("llama2"),
      "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Weather? [/INST]"
    )
  })

  it("mistral: no system role, the system prompt leads the first instruction", () => {
    assert.strictEqual(render("mistral"), "<s>[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Weather? [/INST]")
  })

  it("chatml: <|im_start|>role … <|im_end|> per turn", () => {
    assert.strictEqual(
      render("chatml"),
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"
    )
  })

  it("a function is the template", () => {
    assert.strictEqual(
      render((turns) => turns.map((t) => `${t.role}: ${t.content}`).join("|")),
      [
        "system: Be brief.",
        "user: Hi",
        "assistant: Hello!",
        "user: Weather?"
      ].join("|")
    )
  })
})

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.String
})
const GetTime = Tool.make("get_time", { parameters: { zone: Schema.String }, success: Schema.String })
const weatherDefinition = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      required: ["city"],
      properties: { city: { type: "string" } },
      additionalProperties: false
    }
  }
}

describe("tool choice", () => {
  const prepare = (
    toolChoice: Parameters<typeof Tools.prepareTools>[1]["toolChoice"],
    dialect: Dialects.Dialect = "openai",
    tools: ReadonlyArray<Tool.Any> = [GetWeather, GetTime]
  ) => Tools.prepareTools("generateText", { tools, toolChoice }, Dialects.facts[dialect])

  it("none omits the tools altogether", () => {
    assert.deepStrictEqual(Either.getOrThrow(prepare("none")), { tools: undefined, toolChoice: undefined })
  })

  it("auto and required pass through, with every tool's JSON Schema", () => {
    const auto = Either.getOrThrow(prepare("auto"))
    assert.strictEqual(auto.toolChoice, "auto")
    assert.deepStrictEqual(auto.tools?.[0], weatherDefinition)
    assert.deepStrictEqual(auto.tools?.map((t) => (t.function as { name: string }).name), ["get_weather", "get_time"])
    assert.strictEqual(Either.getOrThrow(prepare("required")).toolChoice, "required")
  })

  it("a named tool is a function choice; oneOf keeps only those tools", () => {
    assert.deepStrictEqual(Either.getOrThrow(prepare({ tool: "get_time" })).toolChoice, {
      type: "function",
      function: { name: "get_time" }
    })
    const oneOf = Either.getOrThrow(prepare({ oneOf: ["get_weather"], mode: "required" }))
    assert.deepStrictEqual(oneOf, { tools: [weatherDefinition], toolChoice: "required" })
  })

  it("LMI: required with one tool names it; with several it is refused", () => {
    assert.deepStrictEqual(Either.getOrThrow(prepare("required", "lmi", [GetWeather])).toolChoice, {
      type: "function",
      function: { name: "get_weather" }
    })
    assert.include(refusal(prepare("required", "lmi")).description, "LMI refuses tool_choice \"required\"")
  })
})

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
const personSchema = {
  type: "object",
  required: ["name", "age"],
  properties: { name: { type: "string" }, age: { type: "number" } },
  additionalProperties: false
}

const settingsOf = (
  dialect: Dialects.Dialect,
  overrides: Partial<RequestBody.RequestSettings> = {}
): RequestBody.RequestSettings => ({
  dialect,
  facts: Dialects.facts[dialect],
  chatTemplate: dialect === "text-generation" ? ChatTemplates.resolve("chatml") : undefined,
  structuredOutput: Dialects.facts[dialect].structuredOutputs[0]!,
  ...overrides
})

const bodyOf = (
  settings: RequestBody.RequestSettings,
  call: Partial<RequestBody.CallOptions> = {},
  config: SagemakerLanguageModel.Config.Service = {},
  stream = false
) =>
  RequestBody.build(
    "generateText",
    settings,
    {
      prompt: Prompt.make("Tell me about a person"),
      tools: [],
      toolChoice: "none",
      responseFormat: { type: "text" },
      ...call
    },
    config,
    stream
  ).pipe(
    Either.map((prepared) => ({ ...prepared, json: JSON.parse(new TextDecoder().decode(prepared.body)) }))
  )

const asJson = { responseFormat: { type: "json", objectName: "person", schema: Person } } as const

describe("request bodies", () => {
  it("openai: the sampling configuration as top-level fields; a stream asks for the usage chunk", () => {
    const { json } = Either.getOrThrow(
      bodyOf(settingsOf("openai"), {}, { temperature: 0.2, max_tokens: 64, stop: ["\n\n"], seed: 7 }, true)
    )
    assert.deepStrictEqual(json, {
      messages: [{ role: "user", content: "Tell me about a person" }],
      temperature: 0.2,
      max_tokens: 64,
      stop: ["\n\n"],
      seed: 7,
      stream: true,
      stream_options: { include_usage: true }
    })
  })

  it("extraBody adds fields the container knows; it cannot replace the provider's own", () => {
    const { json } = Either.getOrThrow(bodyOf(settingsOf("openai"), {}, { extraBody: { top_k: 20 } }))
    assert.strictEqual(json.top_k, 20)
    assert.deepStrictEqual(
      SagemakerLanguageModel.make({ endpointName: "chat", config: { extraBody: { messages: [] } } }).pipe(
        Effect.flip,
        Effect.map((error) => error.message),
        Effect.provide(Layer.succeed(SagemakerClient.SagemakerClient, {} as SagemakerClient.Service)),
        Effect.runSync
      ),
      "Invalid config.extraBody.messages: the provider writes \"messages\" itself"
    )
  })

  it("a body over SageMaker's 6 MiB limit is refused before the request", () => {
    const huge = bodyOf(settingsOf("openai"), { prompt: Prompt.make("x".repeat(6_300_000)) })
    assert.include(refusal(huge).description, "SageMaker accepts at most 6291456")
  })

  it("structured output on openai: a json_schema response format", () => {
    const prepared = Either.getOrThrow(bodyOf(settingsOf("openai"), asJson))
    assert.deepStrictEqual(prepared.json.response_format, {
      type: "json_schema",
      json_schema: { name: "person", description: "Respond with a JSON object", schema: personSchema }
    })
    assert.isUndefined(prepared.responseTool)
  })

  it("structured output on tgi: its grammar; with tools it is refused before the request", () => {
    assert.deepStrictEqual(Either.getOrThrow(bodyOf(settingsOf("tgi"), asJson)).json.response_format, {
      type: "json",
      value: personSchema
    })
    const error = refusal(bodyOf(settingsOf("tgi"), { ...asJson, tools: [GetWeather], toolChoice: "auto" }))
    assert.strictEqual(error._tag, "MalformedInput")
    assert.include(error.description, "TGI refuses a response format together with tools")
  })

  it("structured output by a forced tool: the object's tool, named in tool_choice", () => {
    const prepared = Either.getOrThrow(bodyOf(settingsOf("lmi", { structuredOutput: "tool" }), asJson))
    assert.deepStrictEqual(prepared.json.tools, [{
      type: "function",
      function: { name: "person", description: "Respond with a JSON object", parameters: personSchema }
    }])
    assert.deepStrictEqual(prepared.json.tool_choice, { type: "function", function: { name: "person" } })
    assert.strictEqual(prepared.responseTool, "person")
  })

  it("structured output by instruction: a system message with the schema", () => {
    const prepared = Either.getOrThrow(bodyOf(settingsOf("openai", { structuredOutput: "prompt" }), asJson))
    assert.strictEqual(prepared.json.messages[0].role, "system")
    assert.include(prepared.json.messages[0].content, JSON.stringify(personSchema))
    assert.isTrue(prepared.instructed)
  })

  it("text-generation: the rendered template as inputs, temperature 0 as do_sample false", () => {
    const { json, renderedPrompt } = Either.getOrThrow(
      bodyOf(settingsOf("text-generation"), {}, { temperature: 0, max_tokens: 32, top_p: 1, stop: "###" }, true)
    )
    assert.deepStrictEqual(json, {
      inputs: "<|im_start|>user\nTell me about a person<|im_end|>\n<|im_start|>assistant\n",
      parameters: { max_new_tokens: 32, do_sample: false, stop: ["###"], return_full_text: false, details: true },
      stream: true
    })
    assert.strictEqual(renderedPrompt, json.inputs)
  })

  it("text-generation: tools are refused; JSON by instruction, or TGI's grammar parameter", () => {
    assert.include(
      refusal(bodyOf(settingsOf("text-generation"), { tools: [GetWeather], toolChoice: "auto" })).description,
      "no tools"
    )
    assert.include(Either.getOrThrow(bodyOf(settingsOf("text-generation"), asJson)).json.inputs, "JSON Schema")
    assert.deepStrictEqual(
      Either.getOrThrow(bodyOf(settingsOf("text-generation", { structuredOutput: "grammar" }), asJson)).json.parameters
        .grammar,
      { type: "json", value: personSchema }
    )
  })
})

describe("finish reasons", () => {
  it("the containers' reasons in @effect/ai's vocabulary", () => {
    const table: ReadonlyArray<readonly [string | undefined, boolean, string]> = [
      ["stop", false, "stop"],
      ["eos_token", false, "stop"],
      ["stop_sequence", false, "stop"],
      ["length", false, "length"],
      ["tool_calls", true, "tool-calls"],
      ["content_filter", false, "content-filter"],
      ["error", false, "error"],
      // TGI says stop for a tool call, and nothing at the end of a streamed one.
      ["stop", true, "tool-calls"],
      [undefined, true, "tool-calls"],
      [undefined, false, "unknown"],
      ["abort", false, "unknown"]
    ]
    for (const [raw, calls, expected] of table) assert.strictEqual(finishReason(raw, calls), expected, String(raw))
  })
})

describe("options", () => {
  const failure = (options: SagemakerLanguageModel.Options) =>
    SagemakerLanguageModel.make(options).pipe(
      Effect.flip,
      Effect.map((error) => `${error._tag}: ${error.message}`),
      Effect.provide(Layer.succeed(SagemakerClient.SagemakerClient, {} as SagemakerClient.Service)),
      Effect.runSync
    )

  it("each option is checked when the service is made, naming the field", () => {
    assert.strictEqual(
      failure({ endpointName: "bad name" }),
      "SagemakerValidationError: Invalid endpointName: 'bad name' must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ (letters, digits and single hyphens inside)"
    )
    assert.include(failure({ endpointName: "chat", dialect: "bedrock" as never }), "Invalid dialect")
    assert.include(failure({ endpointName: "chat", dialect: "text-generation" }), "Invalid chatTemplate")
    assert.include(failure({ endpointName: "chat", chatTemplate: "llama3" }), "applies its own chat template")
    assert.include(failure({ endpointName: "chat", structuredOutput: "grammar" }), "Invalid structuredOutput")
    assert.include(failure({ endpointName: "chat", config: { temperature: Number.NaN } }), "config.temperature")
    assert.include(failure({ endpointName: "chat", timeout: -1 }), "Invalid timeout")
    assert.include(failure({ endpointName: "chat", inferenceComponentName: "" }), "inferenceComponentName")
  })
})
