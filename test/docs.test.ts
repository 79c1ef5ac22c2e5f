/**
 * The repository stands on its own: every document a comment, test or README cites is in `docs/`
 * (or `bench/`), every section cited by number is a heading of that document, and nothing cites
 * the design notes that live outside the repository.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = join(import.meta.dirname, "..")

const files = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (name === "node_modules" || name === "results" || name.startsWith(".")) return []
    return statSync(join(root, path)).isDirectory() ? files(path) : /\.(ts|md|cjs)$/.test(name) ? [path] : []
  })

const sources = [...files("src"), ...files("test"), ...files("bench"), ...files("examples"), "README.md"]
  .filter((file) => file !== relative(root, import.meta.filename))

describe("documentation cites", () => {
  it("no file cites the design notes kept outside the repository", () => {
    const outside = sources.flatMap((file) =>
      [...readFileSync(join(root, file), "utf8").matchAll(/(?<![\w/])(PROTOCOL|DESIGN|HAYSTACK|STYLE)\.md/g)]
        .map((match) => `${file}: ${match[0]}`)
    )
    assert.deepStrictEqual(outside, [])
  })

  it("every docs/*.md cited exists, and every section cited by number is one of its headings", () => {
    const broken: Array<string> = []
    for (const file of sources) {
      const text = readFileSync(join(root, file), "utf8").replace(/\n\s*\*\s*/g, " ")
      for (const [, doc, section] of text.matchAll(/docs\/([a-z-]+\.md)(?:,? §(\d+(?:\.\d+)*))?/g)) {
        const path = join(root, "docs", doc!)
        if (!existsSync(path)) {
          broken.push(`${file}: docs/${doc} does not exist`)
          continue
        }
        if (section === undefined) continue
        const headings = readFileSync(path, "utf8").split("\n").filter((line) => line.startsWith("#"))
        if (!headings.some((heading) => new RegExp(`^#+ ${section.replace(/\./g, "\\.")}[.\\s]`).test(heading))) {
          broken.push(`${file}: docs/${doc} has no section ${section}`)
        }
      }
    }
    assert.deepStrictEqual(broken, [])
  })
})
