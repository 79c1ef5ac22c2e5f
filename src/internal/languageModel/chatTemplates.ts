/**
 * Chat templates for the `text-generation` dialect: a conversation rendered into the one prompt
 * string of an `{inputs, parameters}` container, in the model family's own format, ending where the
 * assistant's next turn begins. The built-ins follow the Hugging Face chat templates of each family.
 *
 * @since 0.1.0
 * @internal
 */

/** One turn of a conversation, as a template sees it. */
export interface TemplateMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** Your own template: the conversation in, the prompt out. */
export type ChatTemplateFunction = (messages: ReadonlyArray<TemplateMessage>) => string

export type BuiltInChatTemplate = "llama3" | "llama2" | "mistral" | "chatml"

export type ChatTemplate = BuiltInChatTemplate | ChatTemplateFunction

export const builtInChatTemplates: ReadonlyArray<BuiltInChatTemplate> = ["llama3", "llama2", "mistral", "chatml"]

/** Meta Llama 3: header tokens around each role, `<|eot_id|>` after each turn. */
const llama3: ChatTemplateFunction = (messages) => {
  let out = "<|begin_of_text|>"
  for (const m of messages) out += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`
  return out + "<|start_header_id|>assistant<|end_header_id|>\n\n"
}

/** The system turn(s), and the rest of the conversation. */
const splitSystem = (messages: ReadonlyArray<TemplateMessage>) => {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content.trim()).join("\n\n")
  return { system, turns: messages.filter((m) => m.role !== "system") }
}

/**
 * Llama 2 chat: `<s>[INST] … [/INST] answer </s>` per exchange; the system prompt sits in
 * `<<SYS>>` inside the first instruction.
 */
const llama2: ChatTemplateFunction = (messages) => {
  const { system, turns } = splitSystem(messages)
  let out = ""
  let first = true
  for (const m of turns) {
    if (m.role === "user") {
      const content = first && system.length > 0
        ? `<<SYS>>\n${system}\n<</SYS>>\n\n${m.content.trim()}`
        : m.content.trim()
      out += `<s>[INST] ${content} [/INST]`
      first = false
    } else {
      out += ` ${m.content.trim()} </s>`
    }
  }
  if (first) out += system.length > 0 ? `<s>[INST] <<SYS>>\n${system}\n<</SYS>>\n\n [/INST]` : "<s>[INST]  [/INST]"
  return out
}

/**
 * Mistral Instruct: `<s>[INST] … [/INST]answer</s>`. The format has no system role: the system
 * prompt leads the first instruction.
 */
const mistral: ChatTemplateFunction = (messages) => {
  const { system, turns } = splitSystem(messages)
  let out = "<s>"
  let first = true
  for (const m of turns) {
    if (m.role === "user") {
      out += `[INST] ${first && system.length > 0 ? `${system}\n\n${m.content}` : m.content} [/INST]`
      first = false
    } else {
      out += `${m.content}</s>`
    }
  }
  if (first && system.length > 0) out += `[INST] ${system} [/INST]`
  return out
}

/** ChatML (Qwen, many fine-tunes): `<|im_start|>role\n…<|im_end|>` per turn. */
const chatml: ChatTemplateFunction = (messages) => {
  let out = ""
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`
  return out + "<|im_start|>assistant\n"
}

const builtIns: { readonly [T in BuiltInChatTemplate]: ChatTemplateFunction } = { llama3, llama2, mistral, chatml }

export const isChatTemplate = (u: unknown): u is ChatTemplate =>
  typeof u === "function" ||
  (typeof u === "string" && (builtInChatTemplates as ReadonlyArray<string>).includes(u))

/** The template's function; the options were checked with {@link isChatTemplate}. */
export const resolve = (template: ChatTemplate): ChatTemplateFunction =>
  typeof template === "function" ? template : builtIns[template]
