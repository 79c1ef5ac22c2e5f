/**
 * The package bundled as a Lambda handler is: a small handler importing `effect-sagemaker` (this
 * repository's sources) is bundled by esbuild (`--bundle --platform=node --format=esm`) into a
 * temporary directory, run with plain `node` against the emulator, and must print the emulator's
 * reply, on both transports. Its metafile must leave out what the handler never uses: these are the
 * guards of the cold-start figures (bench/README.md, "Cold start").
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as esbuild from "esbuild"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"

const root = path.join(import.meta.dirname, "..")

/** One `run` on the transport named by the second argument (the default when it is empty), its replies as JSON. */
const HANDLER = `
import * as Effect from "effect/Effect"
import { SagemakerGenerator, Secret } from "effect-sagemaker"

const [url, transport] = process.argv.slice(2)
const result = await Effect.runPromise(
  SagemakerGenerator.run("What does a bundle hold?").pipe(
    Effect.provide(SagemakerGenerator.layer({
      model: "bundled-handler",
      endpointUrl: url,
      awsAccessKeyId: Secret.fromToken("AKIDBUNDLE"),
      awsSecretAccessKey: Secret.fromToken("bundle-secret"),
      awsSessionToken: null,
      awsProfileName: null,
      awsRegionName: Secret.fromToken("us-east-1"),
      ...(transport ? { transport } : {})
    }))
  )
)
process.stdout.write(JSON.stringify(result.replies) + "\\n")
`

// The SDK resolves to its CommonJS builds on platform node; an ESM bundle needs a `require` for
// the node built-ins they load (evanw/esbuild#1921). bench/bundle.ts bundles the same way.
const BANNER = "import { createRequire as __createRequire } from \"node:module\"; " +
  "const require = __createRequire(import.meta.url);"

let dir = ""
let bundle = ""
let contributing: ReadonlyArray<string> = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-bundle-"))
  bundle = path.join(dir, "handler.mjs")
  const result = await esbuild.build({
    stdin: { contents: HANDLER, resolveDir: root, sourcefile: "handler.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    banner: { js: BANNER },
    alias: { "effect-sagemaker": path.join(root, "src", "index.ts") },
    metafile: true,
    logLevel: "silent"
  })
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)!
  contributing = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([file]) => file)
}, 60_000)

afterAll(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true })
})

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The bundle under plain node, nothing but the bundle itself on its path. */
const runBundle = (args: ReadonlyArray<string>) =>
  Effect.async<Run>((resume) => {
    const child = execFile(
      process.execPath,
      [bundle, ...args],
      { cwd: dir, env: { ...process.env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
          stdout,
          stderr
        }))
    )
    return Effect.sync(() => child.kill())
  })

/** The emulator's answer: the prompt it was sent, so that a reply proves the whole round trip. */
const echo: SagemakerEmulator.Responder = (request) => ({
  contentType: "application/json",
  body: JSON.stringify([{ generated_text: `bundled: ${(request.json as { inputs: string }).inputs}` }])
})

describe("bundled with esbuild", () => {
  for (const transport of ["", "http", "sdk"] as const) {
    it.scoped(
      `runs one call with plain node on ${transport === "" ? "the default transport" : transport}`,
      () =>
        Effect.gen(function*() {
          const emulator = yield* SagemakerEmulator.make({ endpoints: { "bundled-handler": { responder: echo } } })
          const { code, stderr, stdout } = yield* runBundle([emulator.url, transport])
          assert.strictEqual(code, 0, stderr)
          assert.deepStrictEqual(JSON.parse(stdout), ["bundled: What does a bundle hold?"])
          const requests = yield* emulator.requests
          assert.strictEqual(requests.length, 1)
          // The SDK sends its invocation id; the http transport does not.
          if (transport !== "") {
            assert.strictEqual(
              "amz-sdk-invocation-id" in requests[0]!.headers,
              transport === "sdk",
              JSON.stringify(Object.keys(requests[0]!.headers))
            )
          }
        }),
      60_000
    )
  }

  it("leaves out what the handler never uses", () => {
    assert.include(contributing, "src/SagemakerGenerator.ts")
    const unused = [
      // The emulator is a namespace of the entry, but its code only joins a bundle that starts it.
      /^src\/emulator\//,
      /^src\/cli\//,
      // `effect/Schema` imports `fast-check` for its arbitraries; nothing here uses them.
      /node_modules\/fast-check\//,
      /node_modules\/pure-rand\//,
      /node_modules\/effect\/dist\/esm\/(Arbitrary|FastCheck)\.js$/,
      /node_modules\/@effect\/(ai|platform|platform-node|opentelemetry)\//,
      /node_modules\/@opentelemetry\//
    ]
    for (const pattern of unused) {
      assert.deepStrictEqual(contributing.filter((file) => pattern.test(file)), [], String(pattern))
    }
  })
})
