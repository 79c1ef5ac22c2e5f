/**
 * Cold start in a fresh process: the imports a user's program needs, building the client, and the
 * first call, timed from the first line of this module (Node's own boot, the same for everyone, is
 * reported apart). Everything is imported dynamically, after the clock starts.
 *
 *   node node_modules/.cache/effect-sagemaker-bench/bench/cold.js --contender run --url http://127.0.0.1:PORT [--transport http]
 *
 * Contenders: `floor`, `sdk`, `sdk-effect` (the raw SDK called from an Effect program: what an
 * Effect application pays without this library), `sdk-effect-schema` (the same program importing
 * `effect/Schema` too: what any library with Schema-based errors pays), `run` (the package entry,
 * as users import it, on the sdk transport), `run-http` (the entry, on `--transport`, the http
 * one), `run-module` (only the generator's own module, on `--transport`: what the entry would cost
 * without the rest it re-exports).
 *
 * Bundled contenders (`--bundle <file>`, `--contender bundle-...`): a handler of `bench/bundled/`
 * bundled by esbuild (bench/bundle.ts); the import is the whole bundle's load, the first call its
 * `handler(url, transport)`, whose reply is checked against the server's.
 */
const t0 = performance.now()
const cpu0 = process.cpuUsage()
/** CPU of this process since its first line, all threads: steadier than the wall clock on a busy machine. */
const cpuMs = () => {
  const { system, user } = process.cpuUsage(cpu0)
  return (user + system) / 1000
}

const arg = (name: string): string | undefined => {
  const index = process.argv.indexOf(name)
  return index >= 0 ? process.argv[index + 1] : undefined
}

export interface ColdReport {
  readonly contender: string
  /** Node's boot until this module's first line. */
  readonly bootMs: number
  readonly importMs: number
  /** Building the client and the first call, after the imports. */
  readonly firstCallMs: number
  /** Imports plus first call: the cold-start figure. */
  readonly coldMs: number
  readonly rssMb: number
  /** CPU ms of the process from its first line to the first reply. */
  readonly cpuMs?: number | undefined
  /** The transport a bundled `run` handler ran on when none was named (its `defaultTransport`). */
  readonly defaultTransport?: string | undefined
}

/** What a bundled handler of `bench/bundled/` exports. */
interface BundledHandler {
  readonly handler: (url: string, transport?: string) => Promise<string>
  readonly defaultTransport?: string
}

const main = async () => {
  const contender = arg("--contender") ?? ""
  const url = arg("--url") ?? ""
  const transport = arg("--transport")
  const bundle = arg("--bundle")
  if (bundle !== undefined) {
    const { pathToFileURL } = await import("node:url")
    const { defaultTransport, handler } = (await import(pathToFileURL(bundle).href)) as BundledHandler
    const importedAt = performance.now()
    const reply = await handler(url, transport)
    const done = performance.now()
    const report: ColdReport = {
      contender,
      bootMs: t0,
      importMs: importedAt - t0,
      firstCallMs: done - importedAt,
      coldMs: done - t0,
      rssMb: process.memoryUsage.rss() / 1048576,
      cpuMs: cpuMs(),
      ...(defaultTransport === undefined || transport !== undefined ? {} : { defaultTransport })
    }
    // After the clock: a bundle that answers anything but the server's reply measured nothing.
    const { UNARY_RESPONSE } = await import("./shared.js")
    const expected = (JSON.parse(UNARY_RESPONSE) as ReadonlyArray<{ generated_text: string }>)[0]!.generated_text
    if (reply !== expected) throw new Error(`${contender}: unexpected reply ${JSON.stringify(reply).slice(0, 200)}`)
    return report
  }
  const shared = await import("./shared.js")
  let importedAt: number
  switch (contender) {
    case "floor": {
      const http = await import("node:http")
      const { SignatureV4 } = await import("@smithy/signature-v4")
      importedAt = performance.now()
      const target = new URL(url)
      const signer = new SignatureV4({
        service: "sagemaker",
        region: shared.REGION,
        credentials: shared.CREDENTIALS,
        sha256: shared.Sha256
      })
      const body = shared.requestBody()
      const path = `/endpoints/${shared.ENDPOINT}/invocations`
      const signed = await signer.sign({
        method: "POST",
        protocol: "http:",
        hostname: target.hostname,
        port: Number(target.port),
        path,
        query: {},
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          host: target.host,
          "content-length": String(body.byteLength)
        },
        body
      })
      const text = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: target.hostname, port: Number(target.port), method: "POST", path, headers: signed.headers },
          (res) => {
            const chunks: Array<Buffer> = []
            res.on("data", (chunk: Buffer) => chunks.push(chunk))
            res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
            res.on("error", reject)
          }
        )
        req.on("error", reject)
        req.end(body)
      })
      JSON.parse(text)
      break
    }
    case "sdk": {
      const { InvokeEndpointCommand, SageMakerRuntimeClient } = await import("@aws-sdk/client-sagemaker-runtime")
      importedAt = performance.now()
      const client = new SageMakerRuntimeClient({
        region: shared.REGION,
        endpoint: url,
        credentials: shared.CREDENTIALS
      })
      const output = await client.send(
        new InvokeEndpointCommand({
          EndpointName: shared.ENDPOINT,
          Body: shared.requestBody(),
          ContentType: "application/json",
          Accept: "application/json"
        })
      )
      JSON.parse(new TextDecoder().decode(output.Body))
      client.destroy()
      break
    }
    case "sdk-effect":
    case "sdk-effect-schema": {
      const Effect = await import("effect/Effect")
      if (contender === "sdk-effect-schema") await import("effect/Schema")
      const { InvokeEndpointCommand, SageMakerRuntimeClient } = await import("@aws-sdk/client-sagemaker-runtime")
      importedAt = performance.now()
      const client = new SageMakerRuntimeClient({
        region: shared.REGION,
        endpoint: url,
        credentials: shared.CREDENTIALS
      })
      const output = await Effect.runPromise(Effect.tryPromise({
        try: (signal) =>
          client.send(
            new InvokeEndpointCommand({
              EndpointName: shared.ENDPOINT,
              Body: shared.requestBody(),
              ContentType: "application/json",
              Accept: "application/json"
            }),
            { abortSignal: signal }
          ),
        catch: (error) => error
      }))
      JSON.parse(new TextDecoder().decode(output.Body))
      client.destroy()
      break
    }
    case "run":
    case "run-http":
    case "run-module": {
      const Effect = await import("effect/Effect")
      const { SagemakerGenerator, Secret } = contender === "run-module"
        ? {
          SagemakerGenerator: await import("../src/SagemakerGenerator.js"),
          Secret: await import("../src/Secret.js")
        }
        : await import("../src/index.js")
      importedAt = performance.now()
      const options = {
        model: shared.ENDPOINT,
        endpointUrl: url,
        awsAccessKeyId: Secret.fromToken(shared.CREDENTIALS.accessKeyId),
        awsSecretAccessKey: Secret.fromToken(shared.CREDENTIALS.secretAccessKey),
        awsSessionToken: null,
        awsProfileName: null,
        awsRegionName: Secret.fromToken(shared.REGION),
        // `run` keeps the sdk transport named, whatever the default; the others take `--transport`.
        ...(contender === "run" ? { transport: "sdk" } : transport === undefined ? {} : { transport })
      }
      await Effect.runPromise(
        SagemakerGenerator.run(shared.PROMPT).pipe(
          Effect.provide(SagemakerGenerator.layer(options as Parameters<typeof SagemakerGenerator.layer>[0]))
        )
      )
      break
    }
    default:
      throw new Error(`unknown contender ${contender}`)
  }
  const done = performance.now()
  const report: ColdReport = {
    contender,
    bootMs: t0,
    importMs: importedAt - t0,
    firstCallMs: done - importedAt,
    coldMs: done - t0,
    rssMb: process.memoryUsage.rss() / 1048576,
    cpuMs: cpuMs()
  }
  return report
}

// Not shared.ts's runReport: nothing is imported before the clock starts.
main().then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
