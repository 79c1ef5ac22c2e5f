/**
 * The contenders: one request (or one token stream) made each way, behind one interface, so that
 * the load loop is the same for all of them.
 *
 * Every contender does the whole job a user's code does: build the body, sign, send, read the
 * answer and parse it (the reply text, or every token of the stream).
 */
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig
} from "@aws-sdk/client-sagemaker-runtime"
import { EventStreamCodec } from "@smithy/eventstream-codec"
import { SignatureV4 } from "@smithy/signature-v4"
import { fromUtf8, toUtf8 } from "@smithy/util-utf8"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import * as Secret from "../src/Secret.js"
import { type StreamContender, transportOf, type UnaryContender } from "./names.js"
import { CREDENTIALS, ENDPOINT, PROMPT, REGION, requestBody, Sha256, streamRequestBody } from "./shared.js"

export { labels, type StreamContender, streamContenders, type UnaryContender, unaryContenders } from "./names.js"

export interface Unary {
  /** One request, the reply parsed. */
  readonly call: (endpoint?: string) => Promise<void>
  readonly close: () => Promise<void>
}

export interface StreamResult {
  /** `performance.now()` when the first token's text was in hand. */
  readonly firstTokenAt: number
  readonly events: number
}

export interface Streaming {
  readonly call: (endpoint: string) => Promise<StreamResult>
  readonly close: () => Promise<void>
}

/**
 * Setup options: the server, the socket pool, and the transport option of the generator (our
 * contenders set it themselves, from `transportOf`).
 */
export interface Setup {
  readonly url: string
  readonly maxSockets?: number | undefined
  readonly transport?: string | undefined
}

const utf8 = new TextDecoder()

// ---------------------------------------------------------------------------------------------
// The floor: node:http with a keep-alive agent, SigV4 signed by @smithy/signature-v4
// ---------------------------------------------------------------------------------------------

interface Floor {
  readonly send: (
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    onResponse: (res: http.IncomingMessage) => void,
    onError: (error: Error) => void
  ) => Promise<void>
  readonly close: () => Promise<void>
}

const makeFloor = (setup: Setup): Floor => {
  const target = new URL(setup.url)
  const port = Number(target.port)
  const host = `${target.hostname}:${port}`
  // Every socket kept when idle (node keeps 256): the floor never reconnects between bursts.
  const maxSockets = setup.maxSockets ?? 1024
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })
  const signer = new SignatureV4({ service: "sagemaker", region: REGION, credentials: CREDENTIALS, sha256: Sha256 })
  return {
    send: async (path, headers, body, onResponse, onError) => {
      const signed = await signer.sign({
        method: "POST",
        protocol: "http:",
        hostname: target.hostname,
        port,
        path,
        query: {},
        headers: { ...headers, host, "content-length": String(body.byteLength) },
        body
      })
      const req = http.request({
        host: target.hostname,
        port,
        method: "POST",
        path,
        headers: signed.headers,
        agent
      }, onResponse)
      req.on("error", onError)
      req.end(body)
    },
    close: () => Promise.resolve(agent.destroy())
  }
}

const floorUnary = (setup: Setup): Unary => {
  const floor = makeFloor(setup)
  return {
    call: (endpoint = ENDPOINT) =>
      new Promise<void>((resolve, reject) => {
        floor.send(
          `/endpoints/${endpoint}/invocations`,
          { "content-type": "application/json", accept: "application/json" },
          requestBody(),
          (res) => {
            const chunks: Array<Buffer> = []
            res.on("data", (chunk: Buffer) => chunks.push(chunk))
            res.on("error", reject)
            res.on("end", () => {
              if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`))
              const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Array<{ generated_text: string }>
              if (typeof parsed[0]?.generated_text !== "string") return reject(new Error("no generated_text"))
              resolve()
            })
          },
          reject
        ).catch(reject)
      }),
    close: floor.close
  }
}

/**
 * The minimal consumer of a TGI token stream: streaming UTF-8, lines, `data:` JSON, the token
 * text. The floor and the raw SDK contender use it, so only the transport differs between them.
 */
const tokenLines = (onToken: (text: string) => void) => {
  const decoder = new TextDecoder("utf-8", { fatal: true })
  let pending = ""
  const line = (text: string) => {
    if (text.startsWith("data:")) {
      const event = JSON.parse(text.slice(5)) as { token?: { text?: string } }
      onToken(event.token?.text ?? "")
    }
  }
  return {
    push: (bytes: Uint8Array) => {
      const text = pending + decoder.decode(bytes, { stream: true })
      let start = 0
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        if (nl > start) line(text.slice(start, nl))
        start = nl + 1
      }
      pending = text.slice(start)
    },
    end: () => {
      const rest = pending + decoder.decode()
      if (rest.length > 0) line(rest)
    }
  }
}

/**
 * The floor's stream: sign, send, check both CRCs of every frame and parse its token line; `onToken`
 * gets each token's text, `onRead` runs after every socket read, `onEnd` at the end.
 */
const floorStreamRequest = (
  floor: Floor,
  codec: EventStreamCodec,
  endpoint: string,
  handlers: { onToken: (text: string) => void; onRead: () => void; onEnd: () => void; onError: (e: Error) => void }
) => {
  const tokens = tokenLines(handlers.onToken)
  floor.send(
    `/endpoints/${endpoint}/invocations-response-stream`,
    { "content-type": "application/json", "x-amzn-sagemaker-accept": "application/jsonlines" },
    streamRequestBody(),
    (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return handlers.onError(new Error(`status ${res.statusCode}`))
      }
      // Frames: 4-byte total length first; the codec checks both CRCs and parses headers.
      let buffered: Buffer | undefined
      res.on("data", (chunk: Buffer) => {
        let data = buffered === undefined ? chunk : Buffer.concat([buffered, chunk])
        while (data.length >= 4) {
          const total = data.readUInt32BE(0)
          if (data.length < total) break
          const message = codec.decode(data.subarray(0, total))
          const type = message.headers[":message-type"]?.value
          if (type !== "event") return res.destroy(new Error(`${String(type)} frame`))
          if (message.headers[":event-type"]?.value === "PayloadPart") tokens.push(message.body)
          data = data.subarray(total)
        }
        buffered = data.length === 0 ? undefined : data
        handlers.onRead()
      })
      res.on("error", handlers.onError)
      res.on("end", () => {
        if (buffered !== undefined) return handlers.onError(new Error("truncated frame"))
        tokens.end()
        handlers.onEnd()
      })
    },
    handlers.onError
  ).catch(handlers.onError)
}

const floorStream = (setup: Setup): Streaming => {
  const floor = makeFloor(setup)
  const codec = new EventStreamCodec(toUtf8, fromUtf8)
  return {
    call: (endpoint) =>
      new Promise<StreamResult>((resolve, reject) => {
        let events = 0
        let firstTokenAt = 0
        floorStreamRequest(floor, codec, endpoint, {
          onToken: () => {
            if (events++ === 0) firstTokenAt = performance.now()
          },
          onRead: () => {},
          onEnd: () => resolve({ firstTokenAt, events }),
          onError: reject
        })
      }),
    close: floor.close
  }
}

/**
 * The floor's stream read as an Effect `Stream`, one chunk per socket read, through
 * `Stream.runForEachChunk` (as `runStream` reads ours): what running any Effect stream costs.
 */
const floorEffectStream = (setup: Setup): Streaming => {
  const floor = makeFloor(setup)
  const codec = new EventStreamCodec(toUtf8, fromUtf8)
  const runtime = ManagedRuntime.make(Layer.empty)
  const tokens = (endpoint: string) =>
    Stream.suspend(() => {
      let held: Array<string> = []
      let ended = false
      let failure: Error | undefined
      let wake: (() => void) | undefined
      let started = false
      const changed = () => wake?.()
      const pull: Effect.Effect<Chunk.Chunk<string>, Option.Option<Error>> = Effect.suspend(() => {
        if (!started) {
          started = true
          floorStreamRequest(floor, codec, endpoint, {
            onToken: (text) => held.push(text),
            onRead: changed,
            onEnd: () => {
              ended = true
              changed()
            },
            onError: (error) => {
              failure = error
              changed()
            }
          })
        }
        if (held.length > 0) {
          const chunk = Chunk.unsafeFromArray(held)
          held = []
          return Effect.succeed(chunk)
        }
        if (failure !== undefined) return Effect.fail(Option.some(failure))
        if (ended) return Effect.fail(Option.none())
        return Effect.async<Chunk.Chunk<string>, Option.Option<Error>>((resume) => {
          wake = () => {
            wake = undefined
            resume(pull)
          }
        })
      })
      return Stream.repeatEffectChunkOption(pull)
    })
  return {
    call: async (endpoint) => {
      let events = 0
      let firstTokenAt = 0
      await runtime.runPromise(Stream.runForEachChunk(tokens(endpoint), (chunk) =>
        Effect.sync(() => {
          if (events === 0 && chunk.length > 0) firstTokenAt = performance.now()
          events += chunk.length
        })))
      return { firstTokenAt, events }
    },
    close: async () => {
      await runtime.dispose()
      await floor.close()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The raw AWS SDK
// ---------------------------------------------------------------------------------------------

const sdkClient = (setup: Setup, cacheMiddleware: boolean): SageMakerRuntimeClient => {
  const config: SageMakerRuntimeClientConfig = {
    region: REGION,
    endpoint: setup.url,
    credentials: CREDENTIALS,
    ...(cacheMiddleware ? { cacheMiddleware: true } : {}),
    ...(setup.maxSockets === undefined ? {} : {
      requestHandler: {
        httpAgent: { keepAlive: true, maxSockets: setup.maxSockets },
        httpsAgent: { keepAlive: true, maxSockets: setup.maxSockets }
      }
    })
  }
  return new SageMakerRuntimeClient(config)
}

const sdkUnary = (setup: Setup, cacheMiddleware: boolean): Unary => {
  const client = sdkClient(setup, cacheMiddleware)
  return {
    call: async (endpoint = ENDPOINT) => {
      const output = await client.send(
        new InvokeEndpointCommand({
          EndpointName: endpoint,
          Body: requestBody(),
          ContentType: "application/json",
          Accept: "application/json"
        })
      )
      const parsed = JSON.parse(utf8.decode(output.Body)) as Array<{ generated_text: string }>
      if (typeof parsed[0]?.generated_text !== "string") throw new Error("no generated_text")
    },
    close: () => Promise.resolve(client.destroy())
  }
}

const sdkStream = (setup: Setup): Streaming => {
  const client = sdkClient(setup, true)
  return {
    call: async (endpoint) => {
      const output = await client.send(
        new InvokeEndpointWithResponseStreamCommand({
          EndpointName: endpoint,
          Body: streamRequestBody(),
          ContentType: "application/json",
          Accept: "application/jsonlines"
        })
      )
      let events = 0
      let firstTokenAt = 0
      const tokens = tokenLines(() => {
        if (events++ === 0) firstTokenAt = performance.now()
      })
      for await (const event of output.Body ?? []) {
        const bytes = event.PayloadPart?.Bytes
        if (bytes !== undefined) tokens.push(bytes)
      }
      tokens.end()
      return { firstTokenAt, events }
    },
    close: () => Promise.resolve(client.destroy())
  }
}

// ---------------------------------------------------------------------------------------------
// Ours
// ---------------------------------------------------------------------------------------------

/** The generator's options for the bench server; `transport` only when one is asked for. */
export const generatorOptions = (setup: Setup, endpoint: string = ENDPOINT): SagemakerGenerator.Options =>
  ({
    model: endpoint,
    endpointUrl: setup.url,
    awsAccessKeyId: Secret.fromToken(CREDENTIALS.accessKeyId),
    awsSecretAccessKey: Secret.fromToken(CREDENTIALS.secretAccessKey),
    awsSessionToken: null,
    awsProfileName: null,
    awsRegionName: Secret.fromToken(REGION),
    ...(setup.maxSockets === undefined ? {} : { maxConcurrency: setup.maxSockets }),
    // Typed loosely: callers (profiles, experiments) pass it from the command line.
    ...(setup.transport === undefined ? {} : { transport: setup.transport })
  }) as SagemakerGenerator.Options

type GeneratorRuntime = ManagedRuntime.ManagedRuntime<SagemakerGenerator.SagemakerGenerator, unknown>

/** One generator (one layer, one client) per endpoint name, built on first use. */
const generators = (setup: Setup) => {
  const runtimes = new Map<string, GeneratorRuntime>()
  return {
    get: (endpoint: string): GeneratorRuntime => {
      let runtime = runtimes.get(endpoint)
      if (runtime === undefined) {
        runtime = ManagedRuntime.make(SagemakerGenerator.layer(generatorOptions(setup, endpoint)))
        runtimes.set(endpoint, runtime)
      }
      return runtime
    },
    close: async () => {
      for (const runtime of runtimes.values()) await runtime.dispose()
    }
  }
}

const runUnary = (setup: Setup): Unary => {
  const runtimes = generators(setup)
  return {
    call: async (endpoint = ENDPOINT) => {
      const result = await runtimes.get(endpoint).runPromise(SagemakerGenerator.run(PROMPT))
      if (typeof result.replies[0] !== "string") throw new Error("no reply")
    },
    close: runtimes.close
  }
}

const runStream = (setup: Setup): Streaming => {
  const runtimes = generators(setup)
  return {
    call: async (endpoint) => {
      let events = 0
      let firstTokenAt = 0
      // A chunk at a time, as an efficient consumer does (`runForEach` would run an Effect per token).
      await runtimes.get(endpoint).runPromise(
        Stream.runForEachChunk(SagemakerGenerator.stream(PROMPT), (chunk) =>
          Effect.sync(() => {
            if (events === 0 && chunk.length > 0) firstTokenAt = performance.now()
            events += chunk.length
          }))
      )
      return { firstTokenAt, events }
    },
    close: runtimes.close
  }
}

export const makeUnary = (name: UnaryContender, setup: Setup): Unary => {
  switch (name) {
    case "floor":
      return floorUnary(setup)
    case "sdk":
      return sdkUnary(setup, false)
    case "sdk-cached":
      return sdkUnary(setup, true)
    case "run":
    case "run-http":
      return runUnary({ ...setup, transport: transportOf[name] })
  }
}

export const makeStreaming = (name: StreamContender, setup: Setup): Streaming => {
  switch (name) {
    case "stream-floor":
      return floorStream(setup)
    case "stream-floor-effect":
      return floorEffectStream(setup)
    case "stream-sdk":
      return sdkStream(setup)
    case "stream-run":
    case "stream-run-http":
      return runStream({ ...setup, transport: transportOf[name] })
  }
}
