/**
 * The bundled cold-start contenders: each handler of `bench/bundled/` bundled by esbuild as a user
 * would ship a Lambda handler (`--bundle --platform=node --format=esm`), into the bench's cache
 * directory, at the start of a run. `bench/cold.ts --bundle <file>` then times one in a fresh
 * process, as it times the unbundled contenders.
 *
 * One option beyond those three: the `createRequire` banner. The SDK's packages resolve to their
 * CommonJS builds on `--platform=node`, and an ESM bundle has no `require` for the node built-ins
 * they load (esbuild's "Dynamic require of "node:https" is not supported"); the banner is the
 * usual cure (evanw/esbuild#1921, aws/aws-sam-cli#4827), and every bundle gets it alike.
 */
import * as esbuild from "esbuild"
import { join } from "node:path"

/** Bundled contender → its handler in `bench/bundled/` and the transport it names, if any. */
export const bundledContenders: Readonly<Record<string, { readonly handler: string; readonly transport?: string }>> = {
  "bundle-sdk": { handler: "sdk" },
  "bundle-sdk-effect": { handler: "sdk-effect" },
  "bundle-run": { handler: "run" },
  "bundle-run-sdk": { handler: "run", transport: "sdk" }
}

/** What a bundle holds, from esbuild's metafile. */
export interface BundleInfo {
  readonly file: string
  readonly bytes: number
  /** The input files that contribute bytes to the bundle, relative to the repository root. */
  readonly inputs: ReadonlyArray<string>
}

/** `import ... from "effect-sagemaker"` in a handler: this repository's sources (as tsconfig's paths say). */
export const packageAlias = (root: string): Record<string, string> => ({
  "effect-sagemaker": join(root, "src", "index.ts")
})

export const BANNER = "import { createRequire as __createRequire } from \"node:module\"; " +
  "const require = __createRequire(import.meta.url);"

/** Bundles one entry point into `outfile` the way the cold-start figures do. */
export const bundleOne = async (root: string, entry: string, outfile: string): Promise<BundleInfo> => {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    banner: { js: BANNER },
    alias: packageAlias(root),
    metafile: true,
    logLevel: "warning"
  })
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)
  if (output === undefined) throw new Error(`esbuild wrote no bundle for ${entry}`)
  return {
    file: outfile,
    bytes: output.bytes,
    inputs: Object.entries(output.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path)
  }
}

/** Bundles every handler of `bench/bundled/` into `<out>/bundled/`; handler name → its bundle. */
export const bundleHandlers = async (root: string, out: string): Promise<Record<string, BundleInfo>> => {
  const handlers = [...new Set(Object.values(bundledContenders).map((c) => c.handler))]
  const built = await Promise.all(
    handlers.map((name) =>
      bundleOne(root, join(root, "bench", "bundled", `${name}.ts`), join(out, "bundled", `${name}.mjs`))
    )
  )
  return Object.fromEntries(handlers.map((name, i) => [name, built[i]!]))
}
