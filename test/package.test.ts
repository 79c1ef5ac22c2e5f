/**
 * The package as a consumer gets it: `npm run build` emits dist/ with declarations, the entry
 * point exports the public namespaces, and a consumer's TypeScript program typechecks against the
 * declarations alone.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.join(import.meta.dirname, "..")
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")

const exec = (file: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.async<{ code: number; output: string }>((resume) => {
    execFile(
      file,
      args,
      { cwd, timeout: 120_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? -1), output: stdout + stderr }))
    )
  })

describe("the built package", () => {
  it.live(
    "builds to dist/, exports the namespaces, and its declarations serve a consumer",
    () =>
      Effect.gen(function*() {
        // Inside the checkout, so that the emitted modules resolve their dependencies.
        const cache = path.join(root, "node_modules", ".cache")
        fs.mkdirSync(cache, { recursive: true })
        const outDir = fs.mkdtempSync(path.join(cache, "effect-sagemaker-dist-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(outDir, { recursive: true, force: true })))
        const build = yield* exec(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", outDir], root)
        assert.strictEqual(build.code, 0, build.output)
        for (const file of ["index.js", "index.d.ts", "cli/bin.js", "emulator/SagemakerEmulator.d.ts"]) {
          assert.isTrue(fs.existsSync(path.join(outDir, file)), file)
        }

        const load = yield* exec(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `import(${
              JSON.stringify(path.join(outDir, "index.js"))
            }).then((m) => console.log(Object.keys(m).sort().join(",")))`
          ],
          root
        )
        assert.strictEqual(load.code, 0, load.output)
        assert.strictEqual(
          load.output.trim(),
          "Payload,SagemakerClient,SagemakerEmulator,SagemakerError,SagemakerGenerator,Secret"
        )

        // A consumer program, checked against the emitted declarations only.
        const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "effect-sagemaker-consumer-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(consumer, { recursive: true, force: true })))
        fs.writeFileSync(
          path.join(consumer, "main.ts"),
          `import * as Effect from "effect/Effect"
import { SagemakerEmulator, SagemakerError, SagemakerGenerator, Secret } from "effect-sagemaker"
const layer = SagemakerGenerator.layer({ model: "m", retry: { attempts: 2 }, awsAccessKeyId: Secret.fromEnvVar("K") })
export const program = SagemakerGenerator.run("hi").pipe(
  Effect.catchTag("SagemakerNotReadyError", (e) => Effect.succeed({ replies: [e.message], meta: [] })),
  Effect.provide(layer)
)
export const guard: (u: unknown) => boolean = SagemakerError.isSagemakerError
export const emulator = SagemakerEmulator.layer({ personality: "tgi" })
`
        )
        fs.writeFileSync(
          path.join(consumer, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              exactOptionalPropertyTypes: true,
              module: "NodeNext",
              moduleResolution: "NodeNext",
              target: "ES2022",
              noEmit: true,
              skipLibCheck: true,
              types: ["node"],
              typeRoots: [path.join(root, "node_modules", "@types")],
              baseUrl: ".",
              paths: {
                "effect-sagemaker": [path.join(outDir, "index.d.ts")],
                "effect/*": [path.join(root, "node_modules", "effect", "dist", "dts", "*")]
              }
            },
            files: ["main.ts"]
          })
        )
        const check = yield* exec(process.execPath, [tsc, "-p", "."], consumer)
        assert.strictEqual(check.code, 0, check.output)
      }).pipe(Effect.scoped),
    120_000
  )
})
