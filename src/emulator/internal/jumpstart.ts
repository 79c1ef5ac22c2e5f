/**
 * JumpStart's first Llama 2 containers (`llama2`, `llama2-chat`): `[{"generation"}]` bodies, the
 * `accept_eula=true` custom attribute, and no streaming.
 *
 * @since 0.1.0
 * @internal
 */
import type { ModelRequest, ModelResponse } from "../SagemakerEmulator.js"
import * as Chat from "./chat.js"
import * as D from "./dialect.js"
import * as Model from "./model.js"

type Llama = "llama2" | "llama2-chat"

/** A parameter problem, in the container's own error shape. */
const invalid = (message: string): ModelResponse => D.json(400, { code: 400, type: "InternalServerException", message })

// These containers never stream: SageMaker relays their JSON body on the stream route
// (docs/emulator.md, "llama2, llama2-chat", gives the sources).

const eulaMessage =
  "Need to pass custom_attributes='accept_eula=true' as part of header. This means you have read and accept the end-user-license-agreement (EULA) of the model. EULA can be found in model card description or from https://ai.meta.com/resources/models-and-libraries/llama-downloads/."

const eulaAccepted = (customAttributes: string | undefined): boolean =>
  (customAttributes ?? "").split(/[;,]/).some((kv) => {
    const [k, v] = kv.split("=").map((s) => s.trim())
    return k === "accept_eula" && v !== undefined && v.toLowerCase() === "true"
  })

const rules: D.ParamRules = {
  maxKey: "max_new_tokens",
  inputTokens: 0,
  maxStop: undefined,
  positiveTemperature: true,
  openTopP: false
}

const llama = (personality: Llama, body: Record<string, unknown>): ModelResponse => {
  const parameters = D.isRecord(body["parameters"]) ? body["parameters"] : {}
  const inputs = body["inputs"]
  if (personality === "llama2") {
    const prompts = typeof inputs === "string"
      ? [inputs]
      : Array.isArray(inputs) && inputs.length > 0 && inputs.every((s) => typeof s === "string")
      ? inputs as ReadonlyArray<string>
      : undefined
    if (prompts === undefined) return invalid("`inputs` must be a string or a list of strings")
    const out: Array<unknown> = []
    for (const prompt of prompts) {
      const params = D.readParams(parameters, { ...rules, inputTokens: Model.countWords(prompt) })
      if (typeof params === "string") return invalid(params)
      const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
      const generated = Model.textOf(Model.cutAtStop(g))
      out.push({ generation: params.returnFullText === true ? prompt + generated : generated })
    }
    return D.json(200, out)
  }
  let dialogs: ReadonlyArray<unknown>
  if (typeof inputs === "string") dialogs = [[{ role: "user", content: inputs }]]
  else if (Array.isArray(inputs) && inputs.length > 0 && inputs.every(Array.isArray)) dialogs = inputs
  else if (Array.isArray(inputs) && inputs.length > 0) dialogs = [inputs]
  else return invalid("`inputs` must be a list of dialogs ([[{role, content}]]) or a string")
  const out: Array<unknown> = []
  for (const dialog of dialogs) {
    const messages = Chat.readMessages(dialog)
    if (typeof messages === "string") return invalid(messages)
    if (messages[messages.length - 1]!.role !== "user") {
      return invalid(
        "Model should only support 'system', 'user' and 'assistant' roles, starting with 'system', then 'user' and alternating (u/a/u/a/u...), ending with 'user'"
      )
    }
    const prompt = [...messages].reverse().find((m) => m.role === "user")?.content ??
      messages[messages.length - 1]!.content
    const params = D.readParams(parameters, { ...rules, inputTokens: Model.countWords(prompt) })
    if (typeof params === "string") return invalid(params)
    const g = Model.generate({ prompt, maxNewTokens: params.maxNewTokens, stop: params.stop, seed: params.seed })
    out.push({ generation: { role: "assistant", content: Model.textOf(Model.cutAtStop(g)).trimStart() } })
  }
  return D.json(200, out)
}

const notJson = (request: ModelRequest): ModelResponse =>
  invalid(
    `Invalid JSON body: ${
      request.text.trim().length === 0 ?
        "EOF while parsing a value at line 1 column 0" :
        "expected value at line 1 column 1"
    }`
  )

/** @internal */
export const respond = (personality: Llama, request: ModelRequest): ModelResponse => {
  if (!eulaAccepted(request.customAttributes)) return invalid(eulaMessage)
  if (!D.isRecord(request.json)) {
    return request.json === undefined ? notJson(request) : invalid("Missing required field `inputs`")
  }
  return llama(personality, request.json)
}
