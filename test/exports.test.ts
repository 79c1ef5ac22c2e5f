/**
 * The package's entry points: every public module is a subpath of its own (ESM only: `require`
 * gets a clear error) as well as a namespace of the root barrel, and importing one loads only the
 * modules it needs (never the barrel, never the emulator from a library module, never a service
 * from a data module).
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const root = join(import.meta.dirname, "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly exports: Record<
    string,
    { readonly types: string; readonly import: string; readonly require: string } | string | null
  >
}

/** The public modules: the barrel's namespaces, by name, with their source files. */
const barrel = readFileSync(join(root, "src", "index.ts"), "utf8")
const publicModules = [...barrel.matchAll(/^export \* as (\w+) from "\.\/(.+)\.js"$/gm)].map(([, name, file]) => ({
  name: name!,
  source: `src/${file}.ts`
}))

/** The modules a source file loads at run time (type-only imports load nothing). */
const runtimeGraph = (entry: string): ReadonlySet<string> => {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(join(root, file), "utf8")
    for (const [, spec] of text.matchAll(/^(?:import|export)\s+(?!type\b)[^"]*?from\s+"(\.[^"]+)"/gm)) {
      visit(relative(root, resolve(dirname(join(root, file)), spec!.replace(/\.js$/, ".ts"))))
    }
  }
  visit(entry)
  return seen
}

describe("entry points", () => {
  it("the barrel has every public module", () => {
    assert.deepStrictEqual(publicModules.map((m) => m.name).sort(), [
      "Payload",
      "RetryPolicy",
      "SagemakerAsync",
      "SagemakerBatch",
      "SagemakerClient",
      "SagemakerEmulator",
      "SagemakerError",
      "SagemakerGenerator",
      "Secret",
      "StreamChunk"
    ])
  })

  it("each public module is a subpath export pointing at its built file and types", () => {
    for (const { name, source } of publicModules) {
      const built = source.replace(/^src\//, "./dist/").replace(/\.ts$/, "")
      assert.deepStrictEqual(
        pkg.exports[`./${name}`],
        { types: `${built}.d.ts`, import: `${built}.js`, require: "./src/esm-only.cjs" },
        name
      )
    }
    assert.isNull(pkg.exports["./internal/*"])
  })

  it("importing a module loads neither the barrel nor modules it does not need", () => {
    const loads = Object.fromEntries(publicModules.map(({ name, source }) => {
      const graph = runtimeGraph(source)
      assert.isFalse(graph.has("src/index.ts"), `${name} loads the barrel`)
      return [name, publicModules.filter((other) => other.name !== name && graph.has(other.source)).map((m) => m.name)]
    }))
    assert.deepStrictEqual(loads, {
      Payload: ["SagemakerError"],
      RetryPolicy: [],
      SagemakerAsync: ["Payload", "RetryPolicy", "SagemakerClient", "SagemakerError"],
      SagemakerBatch: [
        "Payload",
        "RetryPolicy",
        "SagemakerAsync",
        "SagemakerClient",
        "SagemakerError",
        "SagemakerGenerator",
        "Secret",
        "StreamChunk"
      ],
      SagemakerClient: ["SagemakerError"],
      SagemakerEmulator: [],
      SagemakerError: [],
      SagemakerGenerator: ["Payload", "RetryPolicy", "SagemakerClient", "SagemakerError", "Secret", "StreamChunk"],
      Secret: [],
      StreamChunk: []
    })
  })
})

/** The packages the files of a runtime graph load (static imports and re-exports, and `import()`). */
const packagesLoadedBy = (graph: ReadonlySet<string>): ReadonlySet<string> => {
  const packages = new Set<string>()
  for (const file of graph) {
    const text = readFileSync(join(root, file), "utf8")
    for (const [, spec] of text.matchAll(/^(?:import|export)\s+(?!type\b)[^"]*?from\s+"([^."][^"]*)"/gm)) {
      packages.add(spec!)
    }
    for (const [, spec] of text.matchAll(/\bimport\(\s*"([^."][^"]*)"\s*\)/g)) packages.add(spec!)
  }
  return packages
}

describe("async inference", () => {
  it("loads @aws-sdk/client-s3 only with import(), when an async service is built", () => {
    const statically = new Set<string>()
    for (const file of runtimeGraph("src/index.ts")) {
      const text = readFileSync(join(root, file), "utf8")
      for (const [, spec] of text.matchAll(/^(?:import|export)\s+(?!type\b)[^"]*?from\s+"([^."][^"]*)"/gm)) {
        statically.add(spec!)
      }
    }
    assert.notInclude([...statically], "@aws-sdk/client-s3")
    assert.include([...packagesLoadedBy(runtimeGraph("src/SagemakerAsync.ts"))], "@aws-sdk/client-s3")
    const manifest = pkg as unknown as {
      readonly dependencies: Record<string, string>
      readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>
    }
    assert.strictEqual(manifest.peerDependenciesMeta["@aws-sdk/client-s3"]?.optional, true)
    assert.isUndefined(manifest.dependencies["@aws-sdk/client-s3"])
  })
})

const fromEffectAi = (packages: ReadonlySet<string>) => [...packages].filter((p) => p.startsWith("@effect/ai"))

describe("the @effect/ai language model", () => {
  it("is a subpath export of its own, not a namespace of the root barrel", () => {
    assert.deepStrictEqual(pkg.exports["./SagemakerLanguageModel"], {
      types: "./dist/SagemakerLanguageModel.d.ts",
      import: "./dist/SagemakerLanguageModel.js",
      require: "./src/esm-only.cjs"
    })
    assert.notInclude(publicModules.map((m) => m.name), "SagemakerLanguageModel")
  })

  it("loads @effect/ai and the client, never the barrel; the barrel's graph never loads @effect/ai", () => {
    const graph = runtimeGraph("src/SagemakerLanguageModel.ts")
    assert.isFalse(graph.has("src/index.ts"))
    assert.isTrue(graph.has("src/SagemakerClient.ts"))
    assert.isFalse(graph.has("src/SagemakerGenerator.ts"), "the generator's types only")
    assert.includeMembers(fromEffectAi(packagesLoadedBy(graph)), ["@effect/ai/LanguageModel", "@effect/ai/Tool"])
    assert.deepStrictEqual(fromEffectAi(packagesLoadedBy(runtimeGraph("src/index.ts"))), [])
  })
})
