/**
 * LangChain JS as a contender: `SageMakerEndpoint`, the text LLM class of
 * `@langchain/community/llms/sagemaker_endpoint`, loaded from `bench/peers` (pinned there and
 * installed on demand by `npm run bench`, not a dependency of the library). `run` is
 * `.invoke(prompt)`; `stream` is `.stream(prompt)` with `streaming: true`.
 *
 * The content handlers are written as LangChain's docs write them: the prompt and `modelKwargs` as
 * a `{inputs, parameters}` JSON body, TGI's `[{generated_text}]` parsed back. For streams the class
 * hands the bytes of each PayloadPart to `transformOutput` on their own and yields what it returns
 * (`_streamResponseChunks` in `@langchain/community` 1.1.29, `dist/llms/sagemaker_endpoint.js`):
 * nothing is buffered across parts, so the handler must find whole units
 * in every part. The bench server sends one TGI server-sent event (`data:{...}\n\n`) per part, so
 * the handler reads one event per part; SageMaker does not promise that alignment.
 */
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Setup, Streaming, StreamResult, Unary } from "./contenders.js"
import { CREDENTIALS, ENDPOINT, PARAMETERS, PEERS_DIR_ENV, PROMPT, REGION } from "./shared.js"

/** LangChain's `SageMakerLLMContentHandler`, as far as the bench uses it. */
interface ContentHandler {
  readonly contentType: string
  readonly accepts: string
  readonly transformInput: (prompt: string, modelKwargs: Record<string, unknown>) => Promise<Uint8Array>
  readonly transformOutput: (output: Uint8Array) => Promise<string>
}

interface SageMakerEndpointInput {
  readonly endpointName: string
  readonly contentHandler: ContentHandler
  readonly modelKwargs?: Record<string, unknown>
  readonly streaming?: boolean
  readonly clientOptions: Record<string, unknown>
}

interface SageMakerEndpoint {
  readonly invoke: (prompt: string) => Promise<string>
  readonly stream: (prompt: string) => Promise<AsyncIterable<string>>
  readonly client: { readonly destroy: () => void }
}

type SageMakerEndpointClass = new(fields: SageMakerEndpointInput) => SageMakerEndpoint

/** The class, from `bench/peers/langchain.mjs` (so that it resolves in `bench/peers/node_modules`). */
const load = async (): Promise<SageMakerEndpointClass> => {
  const dir = process.env[PEERS_DIR_ENV]
  if (dir === undefined) throw new Error(`${PEERS_DIR_ENV} is not set: run by bench/run.ts`)
  const module = (await import(pathToFileURL(join(dir, "langchain.mjs")).href)) as {
    readonly SageMakerEndpoint: SageMakerEndpointClass
  }
  return module.SageMakerEndpoint
}

/** A TGI container's handler, as LangChain's docs show one. */
class TgiContentHandler implements ContentHandler {
  readonly contentType = "application/json"
  readonly accepts = "application/json"
  async transformInput(prompt: string, modelKwargs: Record<string, unknown>) {
    return Buffer.from(JSON.stringify({ inputs: prompt, parameters: modelKwargs }))
  }
  async transformOutput(output: Uint8Array) {
    const responseJson = JSON.parse(Buffer.from(output).toString("utf-8")) as Array<{ generated_text: string }>
    return responseJson[0]!.generated_text
  }
}

/** The same for TGI's stream: `stream: true` in the body, one server-sent event per PayloadPart. */
class TgiStreamContentHandler implements ContentHandler {
  readonly contentType = "application/json"
  readonly accepts = "application/jsonlines"
  async transformInput(prompt: string, modelKwargs: Record<string, unknown>) {
    return Buffer.from(JSON.stringify({ inputs: prompt, parameters: modelKwargs, stream: true }))
  }
  async transformOutput(output: Uint8Array) {
    const event = Buffer.from(output).toString("utf-8").trim()
    if (!event.startsWith("data:")) return ""
    return (JSON.parse(event.slice(5)) as { token: { text: string } }).token.text
  }
}

/** The client options a LangChain user passes: region, endpoint, credentials (and a bigger pool if asked). */
const clientOptions = (setup: Setup): Record<string, unknown> => ({
  region: REGION,
  endpoint: setup.url,
  credentials: CREDENTIALS,
  ...(setup.maxSockets === undefined ? {} : {
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: setup.maxSockets },
      httpsAgent: { keepAlive: true, maxSockets: setup.maxSockets }
    }
  })
})

/** One `SageMakerEndpoint` per endpoint name (the class takes one), built on first use. */
const instances = (make: (endpointName: string) => SageMakerEndpoint) => {
  const made = new Map<string, SageMakerEndpoint>()
  return {
    get: (endpointName: string) => {
      let llm = made.get(endpointName)
      if (llm === undefined) {
        llm = make(endpointName)
        made.set(endpointName, llm)
      }
      return llm
    },
    close: () => {
      for (const llm of made.values()) llm.client.destroy()
      return Promise.resolve()
    }
  }
}

/** `SageMakerEndpoint.invoke(prompt)`. */
export const langchainUnary = async (setup: Setup): Promise<Unary> => {
  const SageMakerEndpoint = await load()
  const llms = instances((endpointName) =>
    new SageMakerEndpoint({
      endpointName,
      contentHandler: new TgiContentHandler(),
      modelKwargs: { ...PARAMETERS },
      clientOptions: clientOptions(setup)
    })
  )
  return {
    call: async (endpoint = ENDPOINT) => {
      const text = await llms.get(endpoint).invoke(PROMPT)
      if (typeof text !== "string" || text.length === 0) throw new Error("no generated_text")
    },
    close: llms.close
  }
}

/** `SageMakerEndpoint.stream(prompt)`, `streaming: true`. */
export const langchainStream = async (setup: Setup): Promise<Streaming> => {
  const SageMakerEndpoint = await load()
  const llms = instances((endpointName) =>
    new SageMakerEndpoint({
      endpointName,
      contentHandler: new TgiStreamContentHandler(),
      modelKwargs: { ...PARAMETERS },
      streaming: true,
      clientOptions: clientOptions(setup)
    })
  )
  return {
    call: async (endpoint): Promise<StreamResult> => {
      let events = 0
      let firstTokenAt = 0
      for await (const text of await llms.get(endpoint).stream(PROMPT)) {
        if (events++ === 0) firstTokenAt = performance.now()
        if (typeof text !== "string") throw new Error("not a text chunk")
      }
      return { firstTokenAt, events }
    },
    close: llms.close
  }
}
