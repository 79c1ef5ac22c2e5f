/**
 * Compiles `src/` and `bench/` to plain JavaScript in `node_modules/.cache/effect-sagemaker-bench/`
 * (outside what ESLint and tsc look at; bare imports still resolve to the repository's
 * `node_modules`), with TypeScript's
 * `transpileModule`, file by file, no type check), so that the measured processes run as the
 * published package does: plain `node`, no loader hook on every import, no source-map rewriting of
 * stack traces. Type checking is `npm run typecheck`'s job.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import ts from "typescript"

const SKIP = new Set(["results", "node_modules"])

const sources = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : []
  })

/** Transpiles `src/` and `bench/` of `root` into `out`; returns the number of files. */
export const build = (root: string, out: string): number => {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  // Node stops looking for a package scope at node_modules: say ESM here.
  writeFileSync(join(out, "package.json"), "{ \"type\": \"module\", \"private\": true }\n")
  const files = [...sources(join(root, "src")), ...sources(join(root, "bench"))]
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        isolatedModules: true,
        esModuleInterop: true,
        sourceMap: false
      }
    })
    const target = join(out, relative(root, file)).replace(/\.ts$/, ".js")
    mkdirSync(join(target, ".."), { recursive: true })
    writeFileSync(target, outputText)
  }
  return files.length
}
