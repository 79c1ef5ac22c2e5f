/**
 * The package as a user gets it: a copy of the checkout without `dist/` is packed (`prepack`
 * builds it), the tarball is installed into a new project with npm, and that project runs an ESM
 * program, `require()`s the package, typechecks against its declarations and runs its bin,
 * including the emulator started in the background and stopped with SIGTERM.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.join(import.meta.dirname, "..")
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
const npm = process.platform === "win32" ? "npm.cmd" : "npm"

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program in `cwd` with the test's environment plus `env`, minus the SDK warning switch. */
const exec = (file: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) =>
  Effect.async<Run>((resume) => {
    const base = { ...process.env }
    // The tests switch the SDK's Node 22 warning off for themselves; the consumer starts without it.
    delete base.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
    const child = execFile(
      file,
      args,
      { cwd, timeout: 120_000, env: { ...base, ...env } },
      (error, stdout, stderr) =>
        resume(Effect.succeed({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
          stdout,
          stderr
        }))
    )
    return Effect.sync(() => child.kill())
  })

let work = ""
let consumer = ""
let packed: { readonly files: ReadonlyArray<string> } = { files: [] }

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-package-"))
  // A clone as it is checked out: sources, no dist/; the checkout's node_modules for the build.
  const clone = path.join(work, "clone")
  fs.mkdirSync(clone)
  const entries = ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "tsconfig.json"]
  for (const entry of [...entries, "tsconfig.build.json"]) {
    fs.copyFileSync(path.join(root, entry), path.join(clone, entry))
  }
  fs.cpSync(path.join(root, "src"), path.join(clone, "src"), { recursive: true })
  fs.symlinkSync(path.join(root, "node_modules"), path.join(clone, "node_modules"), "dir")
  const report = execFileSync(npm, ["pack", "--json", "--pack-destination", work], {
    cwd: clone,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  const [tarball] = JSON.parse(report) as Array<{ filename: string; files: Array<{ path: string }> }>
  packed = { files: tarball!.files.map((file) => file.path) }

  consumer = path.join(work, "consumer")
  fs.mkdirSync(consumer)
  fs.writeFileSync(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" })
  )
  const effectVersion = (JSON.parse(
    fs.readFileSync(path.join(root, "node_modules", "effect", "package.json"), "utf8")
  ) as { version: string }).version
  execFileSync(npm, [
    "install",
    path.join(work, tarball!.filename),
    `effect@${effectVersion}`,
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error"
  ], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] })
}, 240_000)

afterAll(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true })
})

describe("the packed package, installed with npm", () => {
  it("an unbuilt clone packs dist/ (built by prepack), the LICENSE and no tests", () => {
    for (
      const file of [
        "dist/index.js",
        "dist/index.d.ts",
        "dist/cli/bin.js",
        "LICENSE",
        "src/esm-only.cjs",
        "CHANGELOG.md"
      ]
    ) {
      assert.include(packed.files, file)
    }
    assert.deepStrictEqual(packed.files.filter((file) => file.startsWith("test/")), [])
    const license = fs.readFileSync(path.join(consumer, "node_modules", "effect-sagemaker", "LICENSE"), "utf8")
    assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the effect-sagemaker authors\n/)
  })

  it.live("an ESM program imports the namespaces and the subpaths, and generates against the emulator", () =>
    Effect.gen(function*() {
      fs.writeFileSync(
        path.join(consumer, "main.mjs"),
        `import * as Effect from "effect/Effect"
import * as root from "effect-sagemaker"
import * as SagemakerEmulator from "effect-sagemaker/SagemakerEmulator"
import * as SagemakerGenerator from "effect-sagemaker/SagemakerGenerator"
import * as Secret from "effect-sagemaker/Secret"

console.log(Object.keys(root).sort().join(","))
const program = Effect.gen(function*() {
  const emulator = yield* SagemakerEmulator.make({})
  const result = yield* SagemakerGenerator.run("Hello", { max_new_tokens: 4 }).pipe(
    Effect.provide(SagemakerGenerator.layer({
      model: "ep",
      endpointUrl: emulator.url,
      awsAccessKeyId: Secret.fromToken("AKID"),
      awsSecretAccessKey: Secret.fromToken("secret"),
      awsRegionName: Secret.fromToken("us-east-1")
    }))
  )
  console.log(result.replies.length)
}).pipe(Effect.scoped)
Effect.runPromise(program)
`
      )
      const run = yield* exec(process.execPath, ["main.mjs"], consumer)
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(
        run.stdout,
        "Payload,RetryPolicy,SagemakerAsync,SagemakerBatch,SagemakerClient,SagemakerEmulator,SagemakerError,SagemakerGenerator,Secret,StreamChunk\n1\n"
      )
      // The library leaves the AWS SDK's Node 22 warning alone; its own switch silences it.
      if (Number(process.versions.node.split(".")[0]) < 22) assert.include(run.stderr, "NodeVersionSupportWarning")
      const quiet = yield* exec(process.execPath, ["main.mjs"], consumer, {
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
      })
      assert.strictEqual(quiet.code, 0, quiet.stderr)
      assert.strictEqual(quiet.stderr, "")
    }))

  it.live("require() fails with a clear message", () =>
    Effect.gen(function*() {
      for (const specifier of ["effect-sagemaker", "effect-sagemaker/SagemakerGenerator"]) {
        const run = yield* exec(process.execPath, ["-e", `require(${JSON.stringify(specifier)})`], consumer)
        assert.strictEqual(run.code, 1)
        assert.include(run.stderr, "Error: effect-sagemaker is ESM-only: use import")
      }
    }))

  it.live("its declarations serve a strict consumer, and need no @types/node", () =>
    Effect.gen(function*() {
      fs.writeFileSync(
        path.join(consumer, "main.ts"),
        `import * as Effect from "effect/Effect"
import { SagemakerClient, SagemakerEmulator, SagemakerError, SagemakerGenerator, Secret } from "effect-sagemaker"
const layer = SagemakerGenerator.layer({ model: "m", retry: { attempts: 2 }, awsAccessKeyId: Secret.fromEnvVar("K") })
export const program = SagemakerGenerator.run("hi").pipe(
  Effect.catchTag("SagemakerNotReadyError", (e) => Effect.succeed({ replies: [e.message], meta: [] })),
  Effect.provide(layer)
)
export const guard: (u: unknown) => boolean = SagemakerError.isSagemakerError
export const emulator = SagemakerEmulator.layer({ personality: "tgi" })
export const client = SagemakerClient.layer({ region: "us-east-1" })
`
      )
      const options = {
        strict: true,
        exactOptionalPropertyTypes: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        noEmit: true,
        // No @types/node is installed in the consumer: the default lib (with DOM) must do.
        types: []
      }
      for (const skipLibCheck of [false, true]) {
        fs.writeFileSync(
          path.join(consumer, "tsconfig.json"),
          JSON.stringify({ compilerOptions: { ...options, skipLibCheck }, files: ["main.ts"] })
        )
        const check = yield* exec(process.execPath, [tsc, "-p", "."], consumer)
        assert.strictEqual(check.code, 0, `skipLibCheck: ${skipLibCheck}\n${check.stdout}`)
      }
      assert.isFalse(fs.existsSync(path.join(consumer, "node_modules", "@types", "node")))
    }))

  it.live("the bin generates, and the emulator started directly in the background stops on SIGTERM", () =>
    Effect.gen(function*() {
      const bin = path.join(consumer, "node_modules", ".bin", "effect-sagemaker")
      const version = yield* exec(bin, ["--version"], consumer)
      assert.strictEqual(version.stdout, "0.1.0\n")
      const npx = yield* exec(npm, ["exec", "--no", "--", "effect-sagemaker", "--version"], consumer)
      assert.strictEqual(npx.stdout, "0.1.0\n", npx.stderr)
      const generate = yield* exec(bin, ["generate", "--param", "max_new_tokens=3", "Hello"], consumer)
      assert.strictEqual(generate.code, 0, generate.stderr)
      assert.isAbove(generate.stdout.trim().length, 0)

      // As in the README: `effect-sagemaker emulator &`, then `kill $!`.
      const emulator = spawn(bin, ["emulator", "--port", "0"], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => emulator.kill("SIGKILL")))
      const url = yield* Effect.async<string>((resume) => {
        let stderr = ""
        emulator.stderr.setEncoding("utf8").on("data", (text: string) => {
          stderr += text
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr)
          if (match !== null) resume(Effect.succeed(match[1]!))
        })
      })
      const exited = new Promise<number | null>((resolve) => emulator.on("close", (code) => resolve(code)))
      const answered = yield* Effect.promise(() =>
        fetch(`${url}/endpoints/any/invocations`, { method: "POST", body: JSON.stringify({ inputs: "hi" }) })
      )
      assert.strictEqual(answered.status, 200)
      yield* Effect.promise(() => answered.text())
      emulator.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => exited), 143)
      const after = yield* Effect.promise(() =>
        fetch(`${url}/endpoints/any/invocations`, { method: "POST", body: "{}" }).then(
          () => "answered",
          () => "refused"
        )
      )
      assert.strictEqual(after, "refused")
    }).pipe(Effect.scoped))
})
